// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Text;

namespace Scst.Testing.Conformance;

/// <summary>A must-pass entry that did not really pass.</summary>
/// <param name="Name">The test (<c>Family.Suite.Test</c>), or a wildcard entry that matched nothing.</param>
/// <param name="Outcome">Its outcome, or <see langword="null"/> when it did not run at all.</param>
/// <param name="Reason">The first skip/failure message, if any.</param>
public sealed record ConformanceShortfall(string Name, IscsiTestOutcome? Outcome, string? Reason);

/// <summary>
/// A must-pass entry annotated <c>expect-failed-lines: TEXT</c> that CUnit passed without a skip and whose every
/// <c>[FAILED]</c> line contains <paramref name="ExpectedText"/>: not a shortfall, but not "really passed" either.
/// </summary>
/// <param name="Name">The test (<c>Family.Suite.Test</c>).</param>
/// <param name="ExpectedText">The text every failure line contained.</param>
public sealed record ExpectedFailureLinesPass(string Name, string ExpectedText);

/// <summary>Totals of one or more iscsi-test-cu runs and the must-pass entries that did not really pass.</summary>
/// <param name="Ran">Distinct tests that ran (started).</param>
/// <param name="ReallyPassed">Tests that really passed.</param>
/// <param name="Skipped">Tests that printed <c>[SKIPPED]</c>.</param>
/// <param name="Flagged">Tests that passed CUnit but printed <c>[FAILED]</c>.</param>
/// <param name="Failed">Tests that CUnit failed (or in which the run ended).</param>
/// <param name="MustPassCount">Entries on the must-pass list.</param>
/// <param name="NotReallyPassed">Must-pass entries that did not really pass, in list order.</param>
public sealed record ConformanceReport(
    int Ran,
    int ReallyPassed,
    int Skipped,
    int Flagged,
    int Failed,
    int MustPassCount,
    IReadOnlyList<ConformanceShortfall> NotReallyPassed)
{
    /// <summary>
    /// Must-pass entries that passed only with their documented failure lines (see <see cref="MustPassList"/>); they are
    /// counted as <see cref="Flagged"/> in the totals and are not in <see cref="NotReallyPassed"/>.
    /// </summary>
    public IReadOnlyList<ExpectedFailureLinesPass> PassedWithExpectedFailureLines { get; init; } = [];

    /// <summary>Every must-pass entry really passed (or passed with its documented failure lines only).</summary>
    public bool MustPassSatisfied => NotReallyPassed.Count == 0;

    /// <summary>A human-readable report: one totals line, then one line per shortfall.</summary>
    public string Format()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture,
            $"iscsi-test-cu: {Ran} ran, {ReallyPassed} really passed, {Skipped} skipped, {Flagged} flagged, {Failed} failed");
        text.AppendLine();
        var expected = PassedWithExpectedFailureLines.Count;
        text.Append(CultureInfo.InvariantCulture,
            $"must-pass: {MustPassCount - NotReallyPassed.Count - expected} of {MustPassCount} really passed");
        if (expected > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", {expected} passed with expected failure lines");
        }

        text.AppendLine();
        foreach (var pass in PassedWithExpectedFailureLines)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"  {"ExpectedFailureLines",-12} {pass.Name} -- CUnit passed, no skip, every [FAILED] line contains \"{pass.ExpectedText}\"");
            text.AppendLine();
        }

        foreach (var shortfall in NotReallyPassed)
        {
            var outcome = shortfall.Outcome?.ToString() ?? "NotRun";
            text.Append(CultureInfo.InvariantCulture, $"  {outcome,-12} {shortfall.Name}");
            if (!string.IsNullOrEmpty(shortfall.Reason))
            {
                text.Append(" -- ").Append(shortfall.Reason);
            }

            text.AppendLine();
        }

        return text.ToString();
    }
}

/// <summary>The outcome of <see cref="IscsiTestCuRunner.RunMustPassAsync"/>: the report and the individual runs.</summary>
/// <param name="Report">Totals and shortfalls against the must-pass list.</param>
/// <param name="Runs">One run per suite; a run that did not complete (<see cref="IscsiTestCuRun.Completed"/>) is a hang or crash.</param>
public sealed record MustPassRun(ConformanceReport Report, IReadOnlyList<IscsiTestCuRun> Runs)
{
    /// <summary>The report, followed by one line per run that did not complete.</summary>
    public string Format()
    {
        var text = new StringBuilder(Report.Format());
        foreach (var run in Runs.Where(r => !r.Completed))
        {
            text.Append(CultureInfo.InvariantCulture,
                $"  incomplete run -t {run.Options.Filter}: {(run.TimedOut ? "killed after " + run.Options.Timeout : "exit " + run.ExitCode)}, no CUnit summary");
            text.AppendLine();
        }

        return text.ToString();
    }
}
