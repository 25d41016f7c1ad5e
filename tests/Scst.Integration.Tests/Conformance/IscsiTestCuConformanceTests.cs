// Licensed under the Apache License, Version 2.0.

using Scst.Testing.Conformance;

namespace Scst.Integration.Tests.Conformance;

/// <summary>
/// libiscsi's iscsi-test-cu against the in-process target: every entry of tests/conformance/must-pass.txt must really
/// pass. A missing iscsi-test-cu fails (IscsiTestCuNotFoundException), it never skips.
/// </summary>
public sealed class IscsiTestCuConformanceTests(ConformanceFixture fixture) : IClassFixture<ConformanceFixture>
{
    public static TheoryData<string> MustPassEntries => new(ConformanceFixture.List.Entries);

    [Fact]
    public async Task MustPassList_EveryEntryReallyPasses_AndReportIsPrinted()
    {
        var run = await fixture.RunAsync();

        var text = $"iscsi-test-cu against {fixture.Url}\n{run.Format()}";
        TestContext.Current.TestOutputHelper?.WriteLine(text);
        Console.WriteLine(text);
        TestContext.Current.SendDiagnosticMessage(text);
        run.Runs.Should().OnlyContain(r => r.Completed, "every suite run must reach CUnit's summary (no crash or hang)");
        run.Report.NotReallyPassed.Should().BeEmpty(run.Format());
    }

    [Theory]
    [MemberData(nameof(MustPassEntries))]
    public async Task MustPassEntry_ReallyPasses(string entry)
    {
        var run = await fixture.RunAsync();

        var results = run.Runs.SelectMany(r => r.Results).Where(r => MustPassList.Matches(entry, r.FullName)).ToList();
        results.Should().NotBeEmpty($"{entry} must have run");
        var shortfall = run.Report.NotReallyPassed.FirstOrDefault(s => MustPassList.Matches(entry, s.Name) || s.Name == entry);
        var messages = string.Join(Environment.NewLine, results.SelectMany(r => r.Messages));
        TestContext.Current.TestOutputHelper?.WriteLine($"{entry}: {string.Join(", ", results.Select(r => r.Outcome))}{Environment.NewLine}{messages}");
        shortfall.Should().BeNull($"{entry} must really pass ({shortfall?.Outcome}: {shortfall?.Reason})");
    }
}
