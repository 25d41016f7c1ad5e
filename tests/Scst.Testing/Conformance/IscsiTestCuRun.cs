// Licensed under the Apache License, Version 2.0.

namespace Scst.Testing.Conformance;

/// <summary>One finished (or killed) run of <c>iscsi-test-cu</c>.</summary>
/// <param name="Options">What was run.</param>
/// <param name="Results">Per-test results parsed from the verbose output.</param>
/// <param name="Summary">CUnit's run summary, or <see langword="null"/> if the run ended before printing it.</param>
/// <param name="ExitCode">Process exit code (meaningless when <paramref name="TimedOut"/>).</param>
/// <param name="TimedOut">The run exceeded <see cref="IscsiTestCuOptions.Timeout"/> and was killed.</param>
/// <param name="Elapsed">Wall-clock time of the run.</param>
/// <param name="StandardOutput">The raw standard output.</param>
/// <param name="StandardError">The raw standard error.</param>
public sealed record IscsiTestCuRun(
    IscsiTestCuOptions Options,
    IReadOnlyList<IscsiTestResult> Results,
    CunitSummary? Summary,
    int ExitCode,
    bool TimedOut,
    TimeSpan Elapsed,
    string StandardOutput,
    string StandardError)
{
    /// <summary>
    /// The run reached its end: not killed and CUnit printed its summary. An incomplete run means the target crashed
    /// or hung the tool, and every test that did not run counts as not passed.
    /// </summary>
    public bool Completed => !TimedOut && Summary is not null;

    /// <summary>Lines printed outside any test (start-up, suite cleanup and init); see <see cref="IscsiTestCuParseResult.BetweenTests"/>.</summary>
    public IReadOnlyList<string> BetweenTests { get; init; } = [];
}
