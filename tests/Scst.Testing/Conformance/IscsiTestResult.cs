// Licensed under the Apache License, Version 2.0.

namespace Scst.Testing.Conformance;

/// <summary>The result of one iscsi-test-cu test.</summary>
/// <param name="Family">Test family (<c>SCSI</c> or <c>iSCSI</c>).</param>
/// <param name="Suite">CUnit suite, e.g. <c>Read10</c>.</param>
/// <param name="Test">Test name inside the suite, e.g. <c>BeyondEol</c>.</param>
/// <param name="Outcome">The outcome under the four-way counting.</param>
/// <param name="Messages">
/// What the test printed between its <c>Test:</c> line and the next test: <c>[SKIPPED]</c>/<c>[FAILED]</c> messages,
/// progress notes and CUnit's assertion lines, trimmed.
/// </param>
public sealed record IscsiTestResult(
    string Family,
    string Suite,
    string Test,
    IscsiTestOutcome Outcome,
    IReadOnlyList<string> Messages)
{
    /// <summary>The name as <c>iscsi-test-cu --list</c> and <c>-t</c> spell it: <c>Family.Suite.Test</c>.</summary>
    public string FullName => $"{Family}.{Suite}.{Test}";

    /// <summary>The first <c>[SKIPPED]</c> or <c>[FAILED]</c> message, or the first CUnit assertion line, if any.</summary>
    public string? Reason =>
        Messages.FirstOrDefault(m => m.Contains("[SKIPPED]", StringComparison.Ordinal) || IscsiTestCuOutput.IsFailureMessage(m))
        ?? (Messages.Count > 0 ? Messages[0] : null);
}
