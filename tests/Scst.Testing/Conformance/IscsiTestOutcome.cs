// Licensed under the Apache License, Version 2.0.

namespace Scst.Testing.Conformance;

/// <summary>
/// The four outcomes of one iscsi-test-cu test, counted honestly: CUnit reports a test that skipped itself, or that
/// printed a failure message without failing an assertion, as "passed"; only <see cref="ReallyPassed"/> is a pass.
/// </summary>
public enum IscsiTestOutcome
{
    /// <summary>CUnit printed <c>FAILED</c> for the test (an assertion failed), or the run ended inside the test.</summary>
    Failed,

    /// <summary>CUnit says passed, but the test printed <c>[SKIPPED]</c>: it did not exercise the target.</summary>
    Skipped,

    /// <summary>CUnit says passed, no skip, but the test printed a <c>[FAILED] ...</c> (or <c>[FAILURE] ...</c>) message.</summary>
    Flagged,

    /// <summary>CUnit says passed and the test printed neither <c>[SKIPPED]</c> nor <c>[FAILED]</c>.</summary>
    ReallyPassed,
}
