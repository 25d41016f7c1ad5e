// Licensed under the Apache License, Version 2.0.

using Scst.Testing.Conformance;

namespace Scst.Integration.Tests.Conformance;

/// <summary>
/// libiscsi's whole SCSI family against every LUN configuration: totals printed per configuration and for the union,
/// every run must reach CUnit's summary, and no test may fail in any configuration unless tests/conformance/known-failures.txt
/// lists it (with its reason); a listed test that no longer fails anywhere must leave the list. The user-device LUN
/// really passes the same tests as the plain vdisk_fileio LUN, except the differences listed here (issue 5), and so does
/// the plain LUN behind mutual CHAP (issue 6), and the vdisk_blockio LUN on a loop device passes the same tests as the
/// thin vdisk_fileio LUN of the same geometry (issue 10). Each test runs only the configurations it reads, so that
/// <c>-method "*BlockIo*"</c> runs two.
/// </summary>
public sealed class ScsiFamilyConformanceTests(ScsiFamilyFixture fixture) : IClassFixture<ScsiFamilyFixture>
{
    private static readonly MustPassList KnownFailures = MustPassList.Load(
        Path.Combine(Path.GetDirectoryName(MustPassList.FindDefaultPath())!, "known-failures.txt"));

    // Tests whose own polling prints [FAILED] lines that a correct target must cause (e.g. "wait until all unit
    // attentions clear" after a reset): counted apart from the tests that really passed, never as really passed.
    private static readonly MustPassList ExpectedLines = MustPassList.Load(
        Path.Combine(Path.GetDirectoryName(MustPassList.FindDefaultPath())!, "family-expected-lines.txt"));

    // At least 205 of the 215 tests really pass on the union of the configurations (tgtd really passes 146). The floor
    // may only rise.
    private const int UnionReallyPassedFloor = 205;

    // Tests that really pass on exactly one of the plain vdisk_fileio LUN and the user-device LUN (same geometry), each
    // with its reason. Empty: the user-device LUN really passes exactly the plain LUN's tests. A listed test that no
    // longer differs must leave the list.
    private static readonly Dictionary<string, string> UserDeviceDifferences = new(StringComparer.Ordinal)
    {
    };

    // Tests that really pass on exactly one of the plain LUN and the same LUN behind mutual CHAP, each with its reason.
    // Empty: authentication changes nothing after login.
    private static readonly Dictionary<string, string> ChapDifferences = new(StringComparer.Ordinal)
    {
    };

    // Tests that really pass on exactly one of the thin vdisk_fileio LUN and the vdisk_blockio LUN (1 GiB in 512-byte
    // blocks, thin, write-back on both), each with its reason. A listed test that no longer differs must leave the list.
    private static readonly Dictionary<string, string> BlockIoDifferences = new(StringComparer.Ordinal)
    {
    };

    public static TheoryData<string> Configurations => new(ScsiFamilyConfiguration.All.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(Configurations))]
    public async Task ScsiFamily_InConfiguration_CompletesWithoutFailure(string configuration)
    {
        IscsiTestCuRun run = await fixture.RunAsync(configuration);
        string totals = Totals(configuration, run.Results);
        Report(totals + Environment.NewLine + Describe(run.Results.Where(r => r.Outcome != IscsiTestOutcome.ReallyPassed)));

        run.Completed.Should().BeTrue($"the run must reach CUnit's summary ({totals}){(run.Completed ? "" : run.StandardOutput)}");
        run.Results.Where(r => r.Outcome == IscsiTestOutcome.Failed && !KnownFailures.Contains(r.FullName)).Select(r => r.FullName)
            .Should().BeEmpty($"no test may fail unless known-failures.txt lists it ({totals})");
    }

    [Fact]
    public async Task KnownFailures_EachStillFailsSomewhere()
    {
        List<IscsiTestResult> results = [.. (await fixture.RunAllAsync()).Values.SelectMany(r => r.Results)];

        KnownFailures.Entries.Where(e => !results.Any(r => MustPassList.Matches(e, r.FullName) && r.Outcome == IscsiTestOutcome.Failed))
            .Should().BeEmpty("a known failure that no longer fails must be removed from known-failures.txt");
    }

    [Fact]
    public async Task ScsiFamily_Union_PrintsTotalsAndCoversEveryMustPassScsiEntry()
    {
        var best = new Dictionary<string, IscsiTestResult>(StringComparer.Ordinal);
        foreach (IscsiTestResult r in (await fixture.RunAllAsync()).Values.SelectMany(run => run.Results))
        {
            if (!best.TryGetValue(r.FullName, out IscsiTestResult? seen) || Rank(r) < Rank(seen))
            {
                best[r.FullName] = r;
            }
        }

        string totals = Totals("union", [.. best.Values]);
        Report(totals + Environment.NewLine + Describe(best.Values.Where(r => r.Outcome != IscsiTestOutcome.ReallyPassed)));

        best.Should().HaveCount(215, "libiscsi-bin 1.19 has 215 tests in the SCSI family");
        best.Values.Count(r => r.Outcome == IscsiTestOutcome.ReallyPassed).Should().BeGreaterThanOrEqualTo(
            UnionReallyPassedFloor, "the union of the configurations keeps at least this many tests really passing ({0})", totals);
        List<string> mustPass = [.. ConformanceFixture.List.Entries.Where(e => e.StartsWith("SCSI.", StringComparison.Ordinal))];
        mustPass.Where(e => !best.Values.Any(r => MustPassList.Matches(e, r.FullName) && r.Outcome == IscsiTestOutcome.ReallyPassed))
            .Should().BeEmpty("every SCSI entry of must-pass.txt really passes in at least one configuration");
    }

    [Fact]
    public async Task UserDevice_ReallyPassesTheSameTestsAsPlainVdiskFileIo()
    {
        (List<string> differing, Func<string, string> line) = await CompareAsync(ScsiFamilyConfiguration.Plain, ScsiFamilyConfiguration.UserDevice);

        differing.Where(n => !UserDeviceDifferences.ContainsKey(n)).Select(line).Should().BeEmpty(
            "the user-device LUN really passes the same tests as the plain vdisk_fileio LUN unless the difference is listed with its reason");
        UserDeviceDifferences.Keys.Where(n => !differing.Contains(n)).Should().BeEmpty("a listed difference that no longer differs must leave the list");
    }

    [Fact]
    public async Task Chap_ReallyPassesTheSameTestsAsPlain()
    {
        IscsiTestCuRun plain = await fixture.RunAsync(ScsiFamilyConfiguration.Plain);
        IscsiTestCuRun chap = await fixture.RunAsync(ScsiFamilyConfiguration.Chap);
        plain.Completed.Should().BeTrue("the plain run must reach CUnit's summary");
        chap.Completed.Should().BeTrue("the CHAP run must reach CUnit's summary");
        chap.Results.Select(r => r.FullName).Should().BeEquivalentTo(plain.Results.Select(r => r.FullName), "both configurations run the whole family");

        Dictionary<string, IscsiTestResult> chapByName = chap.Results.ToDictionary(r => r.FullName, StringComparer.Ordinal);
        static bool Really(IscsiTestResult r) => r.Outcome == IscsiTestOutcome.ReallyPassed;
        static string Outcome(IscsiTestResult r) => Really(r) ? "really passed" : $"{r.Outcome} ({r.Reason})";
        List<string> differing = [.. plain.Results.Where(p => chapByName.TryGetValue(p.FullName, out IscsiTestResult? c) && Really(p) != Really(c))
            .Select(p => $"  {p.FullName}: plain {Outcome(p)}, CHAP {Outcome(chapByName[p.FullName])}").Order(StringComparer.Ordinal)];
        Report($"SCSI family, CHAP vs plain: {differing.Count} test(s) really pass on one side only{string.Concat(differing.Select(d => Environment.NewLine + d))}");

        differing.Where(d => !ChapDifferences.Keys.Any(k => d.StartsWith($"  {k}:", StringComparison.Ordinal))).Should().BeEmpty(
            "mutual CHAP must not change which tests really pass unless the difference is listed with its reason");
        ChapDifferences.Keys.Where(k => !differing.Any(d => d.StartsWith($"  {k}:", StringComparison.Ordinal)))
            .Should().BeEmpty("a listed difference that no longer differs must leave the list");
    }

    [Fact]
    public async Task BlockIo_OnALoopDevice_CompletesWithoutFailure_AndReallyPassesTheSameTestsAsThinVdiskFileIo()
    {
        IscsiTestCuRun run = await fixture.RunAsync(ScsiFamilyConfiguration.BlockIo);
        string totals = Totals(ScsiFamilyConfiguration.BlockIo, run.Results);
        Report(totals + Environment.NewLine + Describe(run.Results.Where(r => r.Outcome != IscsiTestOutcome.ReallyPassed)));
        run.Completed.Should().BeTrue($"the run must reach CUnit's summary ({totals}){(run.Completed ? "" : run.StandardOutput)}");
        run.Results.Where(r => r.Outcome == IscsiTestOutcome.Failed && !KnownFailures.Contains(r.FullName)).Select(r => r.FullName)
            .Should().BeEmpty($"no test may fail unless known-failures.txt lists it ({totals})");

        (List<string> differing, Func<string, string> line) = await CompareAsync("thin", ScsiFamilyConfiguration.BlockIo);

        differing.Where(n => !BlockIoDifferences.ContainsKey(n)).Select(line).Should().BeEmpty(
            "the vdisk_blockio LUN really passes the same tests as the thin vdisk_fileio LUN unless the difference is listed with its reason");
        BlockIoDifferences.Keys.Where(n => !differing.Contains(n)).Should().BeEmpty("a listed difference that no longer differs must leave the list");
    }

    [Fact]
    public async Task Digests_NegotiatedOnEveryConnection_ReallyPassesExactlyThePlainTests()
    {
        (await fixture.HeaderDigestsCheckedAsync(ScsiFamilyConfiguration.Digests)).Should().BeGreaterThan(0, "the target checked header digests during the digests run");
        (await fixture.HeaderDigestsCheckedAsync(ScsiFamilyConfiguration.Plain)).Should().Be(0, "the plain run negotiated no digest");

        (List<string> differing, Func<string, string> line) = await CompareAsync(ScsiFamilyConfiguration.Plain, ScsiFamilyConfiguration.Digests);

        differing.Select(line).Should().BeEmpty("CRC32C header digests change nothing a SCSI test can see");
    }

    /// <summary>
    /// Compares a configuration with a reference one (plain, unless said otherwise): returns the tests that really pass
    /// on exactly one side, after printing them and every other outcome difference (a skip on one side, a flag on the
    /// other), and a function that describes one test's two outcomes.
    /// </summary>
    private async Task<(List<string> Differing, Func<string, string> Line)> CompareAsync(string reference, string configuration)
    {
        IscsiTestCuRun plain = await fixture.RunAsync(reference);
        IscsiTestCuRun other = await fixture.RunAsync(configuration);
        plain.Completed.Should().BeTrue($"the {reference} run must reach CUnit's summary");
        other.Completed.Should().BeTrue($"the {configuration} run must reach CUnit's summary");
        other.Results.Select(r => r.FullName).Should().BeEquivalentTo(plain.Results.Select(r => r.FullName), "both configurations run the whole family");

        Dictionary<string, IscsiTestResult> plainByName = plain.Results.ToDictionary(r => r.FullName, StringComparer.Ordinal);
        Dictionary<string, IscsiTestResult> otherByName = other.Results.ToDictionary(r => r.FullName, StringComparer.Ordinal);
        List<string> differing = [.. plainByName.Keys.Where(n => otherByName.ContainsKey(n) &&
            (plainByName[n].Outcome == IscsiTestOutcome.ReallyPassed) != (otherByName[n].Outcome == IscsiTestOutcome.ReallyPassed)).Order(StringComparer.Ordinal)];
        static string Outcome(IscsiTestResult r) => r.Outcome == IscsiTestOutcome.ReallyPassed ? "really passed" : $"{r.Outcome} ({r.Reason})";
        string Line(string n) => $"  {n}: {reference} {Outcome(plainByName[n])}, {configuration} {Outcome(otherByName[n])}";

        List<string> otherDifferences = [.. plainByName.Keys.Where(n => otherByName.ContainsKey(n) && !differing.Contains(n) &&
            plainByName[n].Outcome != otherByName[n].Outcome).Order(StringComparer.Ordinal)];
        Report($"SCSI family, {configuration} vs {reference}: {differing.Count} test(s) really pass on one side only, {otherDifferences.Count} other outcome difference(s)" +
            string.Concat(differing.Concat(otherDifferences).Select(n => Environment.NewLine + Line(n))));
        return (differing, Line);
    }

    private static int Rank(IscsiTestResult result) => result.Outcome switch
    {
        IscsiTestOutcome.ReallyPassed => 0,
        IscsiTestOutcome.Flagged when PassedWithExpectedLines(result) => 1,
        IscsiTestOutcome.Flagged => 2,
        IscsiTestOutcome.Skipped => 3,
        _ => 4,
    };

    /// <summary>
    /// A flagged test listed in family-expected-lines.txt whose every [FAILED] line contains the listed text: CUnit passed
    /// it, nothing was skipped, and each failure line is one the test provokes on purpose.
    /// </summary>
    private static bool PassedWithExpectedLines(IscsiTestResult result) =>
        result.Outcome == IscsiTestOutcome.Flagged &&
        ExpectedLines.ExpectedFailedLines.TryGetValue(result.FullName, out string? text) &&
        result.Messages.Where(IscsiTestCuOutput.IsFailureMessage).All(m => m.Contains(text, StringComparison.Ordinal));

    private static string Totals(string name, IReadOnlyCollection<IscsiTestResult> results) =>
        $"SCSI family, {name}: {results.Count} ran, {results.Count(r => r.Outcome == IscsiTestOutcome.ReallyPassed)} really passed, " +
        $"{results.Count(PassedWithExpectedLines)} passed with expected failure lines, " +
        $"{results.Count(r => r.Outcome == IscsiTestOutcome.Skipped)} skipped, " +
        $"{results.Count(r => r.Outcome == IscsiTestOutcome.Flagged && !PassedWithExpectedLines(r))} flagged, " +
        $"{results.Count(r => r.Outcome == IscsiTestOutcome.Failed)} failed";

    private static string Describe(IEnumerable<IscsiTestResult> results) =>
        string.Join(Environment.NewLine, results.OrderBy(r => r.FullName, StringComparer.Ordinal)
            .Select(r => $"  {(PassedWithExpectedLines(r) ? "Expected" : r.Outcome.ToString()),-8} {r.FullName} -- {r.Reason}"));

    private static void Report(string text)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(text);
        Console.WriteLine(text);
    }
}
