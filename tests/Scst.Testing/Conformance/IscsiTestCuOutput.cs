// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Text.RegularExpressions;

namespace Scst.Testing.Conformance;

/// <summary>
/// Parser for the verbose (<c>-v</c>) output of libiscsi's <c>iscsi-test-cu</c>.
/// </summary>
/// <remarks>
/// The shape, as printed by libiscsi 1.19 with CUnit 2.1-3 (see the fixture in Scst.Testing.Tests):
/// <code>
/// Suite: Read10
///   Test: Simple ...passed
///   Test: BeyondEol ...    [FAILED] READ10 successful but should have failed ...
/// FAILED
///     1. test_read10_beyond_eol.c:38  - CU_ASSERT_EQUAL(_r,0)
///   Test: DpoFua ...    [SKIPPED] ...
/// passed
/// ...
/// Run Summary:    Type  Total    Ran Passed Failed Inactive
///               suites     47     47    n/a      0        0
///                tests    215    215    208      7        0
/// </code>
/// A test's own messages follow the <c>...</c> of its <c>Test:</c> line and take whole lines; CUnit then prints
/// <c>passed</c> or <c>FAILED</c> without a newline, either right after the <c>...</c> (when the test printed nothing) or
/// at the start of a line, and after <c>FAILED</c> one numbered line per failed assertion.
/// <para>
/// Text printed after the verdict and before the next <c>  Test:</c> line does NOT belong to the finished test, and is
/// kept apart in <see cref="IscsiTestCuParseResult.BetweenTests"/>. CUnit 2.1's basic runner calls the test's setup,
/// the test and its teardown, and only then prints the verdict; the suite's cleanup function (after the last test of
/// a suite) and the next suite's init function (CUnit prints <c>Suite: X</c> lazily, when the suite's first test
/// starts, so after the init) run after that verdict. libiscsi 1.19's suite cleanup/init probe the LU (PERSISTENT
/// RESERVE IN to clear registrations, re-login), so a line such as
/// <c>  Test: iSCSICmdSnTooLow ...passed    [SKIPPED] PERSISTENT RESERVE IN is not implemented.</c> (seen against our
/// target, also with a single-suite <c>-t iSCSI.iSCSIcmdsn</c> run) or tgtd's
/// <c>  Test: LUNReset ...passed    [FAILED] PRIN command: ... UNIT_ATTENTION</c> says nothing about CmdSnTooLow or
/// LUNReset. Attributing it to them would turn a real pass into a skip or a flag. The exception is <c>FAILED</c>:
/// the numbered assertion lines CUnit prints after it are CUnit's own and stay with the test. The family (SCSI,
/// iSCSI) is not printed: the caller supplies it, or a suite-to-family map built from <c>--list</c>.
/// </para>
/// </remarks>
public static partial class IscsiTestCuOutput
{
    private const string SuitePrefix = "Suite: ";
    private const string TestPrefix = "  Test: ";
    private const string Ellipsis = " ...";
    private const string CunitPassed = "passed";
    private const string CunitFailed = "FAILED";

    /// <summary>Parses verbose output in which every suite belongs to <paramref name="family"/>.</summary>
    public static IscsiTestCuParseResult Parse(string output, string family) => Parse(output, _ => family);

    /// <summary>Parses verbose output, asking <paramref name="familyOfSuite"/> for the family of each suite.</summary>
    public static IscsiTestCuParseResult Parse(string output, Func<string, string> familyOfSuite)
    {
        var results = new List<IscsiTestResult>();
        var between = new List<string>();
        CunitSummary? summary = null;
        string? suite = null;
        string? family = null;
        PendingTest? pending = null;
        var lines = output.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');

        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.StartsWith(SuitePrefix, StringComparison.Ordinal))
            {
                Flush();
                suite = line[SuitePrefix.Length..].Trim();
                family = familyOfSuite(suite);
            }
            else if (line.StartsWith(TestPrefix, StringComparison.Ordinal) && suite is not null)
            {
                Flush();
                var rest = line[TestPrefix.Length..];
                var dots = rest.IndexOf(Ellipsis, StringComparison.Ordinal);
                var name = (dots < 0 ? rest : rest[..dots]).Trim();
                pending = new PendingTest(family!, suite, name);
                if (dots >= 0)
                {
                    pending.Consume(rest[(dots + Ellipsis.Length)..], between);
                }
            }
            else if (line.StartsWith("Run Summary:", StringComparison.Ordinal))
            {
                Flush();
                summary = ParseSummary(lines, i + 1);
                break;
            }
            else if (pending is not null)
            {
                pending.Consume(line, between);
            }
            else if (line.Trim().Length > 0)
            {
                between.Add(line.Trim());
            }
        }

        Flush();
        return new IscsiTestCuParseResult(results, summary) { BetweenTests = between };

        void Flush()
        {
            if (pending is not null)
            {
                results.Add(pending.ToResult());
                pending = null;
            }
        }
    }

    /// <summary>Parses <c>iscsi-test-cu --list</c> output into the names of individual tests (three components).</summary>
    public static IReadOnlyList<string> ParseList(string listOutput) =>
        listOutput.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith("ALL", StringComparison.Ordinal) && l.Count(c => c == '.') == 2)
            .ToList();

    private static CunitSummary? ParseSummary(string[] lines, int start)
    {
        for (var i = start; i < lines.Length && i < start + 4; i++)
        {
            var match = SummaryTestsRow().Match(lines[i]);
            if (match.Success)
            {
                return new CunitSummary(
                    int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture),
                    int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture),
                    int.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture),
                    int.Parse(match.Groups[4].Value, CultureInfo.InvariantCulture));
            }
        }

        return null;
    }

    [GeneratedRegex(@"^\s*tests\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)")]
    private static partial Regex SummaryTestsRow();

    /// <summary>A CUnit assertion line after <c>FAILED</c>: <c>1. test_read10_beyond_eol.c:38  - CU_ASSERT_EQUAL(_r,0)</c>.</summary>
    [GeneratedRegex(@"^\d+\. \S+:\d+ ")]
    private static partial Regex AssertionLine();

    /// <summary>
    /// A failure message printed by the test itself: <c>[FAILED] ...</c>, and also libiscsi's other spelling
    /// <c>[FAILURE] ...</c> (used by some tests next to their assertions); counting both flags more, never less.
    /// </summary>
    internal static bool IsFailureMessage(string message) =>
        message.Contains("[FAILED]", StringComparison.Ordinal) || message.Contains("[FAILURE]", StringComparison.Ordinal);

    private sealed class PendingTest(string family, string suite, string name)
    {
        private readonly List<string> _messages = [];
        private bool? _cunitPassed;
        private bool _afterFailedAssertions;

        public void Consume(string text, List<string> between)
        {
            var trimmed = text.Trim();
            if (_cunitPassed == true || _afterFailedAssertions)
            {
                // After the verdict: suite cleanup or the next suite's init (see the type's remarks), not this test.
                if (trimmed.Length > 0)
                {
                    between.Add(trimmed);
                }

                return;
            }

            if (_cunitPassed is null)
            {
                string? rest = null;
                if (trimmed.StartsWith(CunitPassed, StringComparison.Ordinal))
                {
                    _cunitPassed = true;
                    rest = trimmed[CunitPassed.Length..].Trim();
                }
                else if (trimmed.StartsWith(CunitFailed, StringComparison.Ordinal))
                {
                    _cunitPassed = false;
                    rest = trimmed[CunitFailed.Length..].Trim();
                }

                if (rest is not null)
                {
                    // CUnit's verdict ends without a newline: what shares its line was printed after the test ended.
                    if (rest.Length > 0)
                    {
                        between.Add(rest);
                        _afterFailedAssertions = _cunitPassed == false;
                    }

                    return;
                }
            }
            else if (!AssertionLine().IsMatch(trimmed))
            {
                // FAILED: CUnit's numbered assertion lines ("1. file.c:38  - CU_ASSERT...") are the test's; the first
                // other line was printed after the verdict.
                if (trimmed.Length > 0)
                {
                    _afterFailedAssertions = true;
                    between.Add(trimmed);
                }

                return;
            }

            if (trimmed.Length > 0)
            {
                _messages.Add(trimmed);
            }
        }

        public IscsiTestResult ToResult()
        {
            IscsiTestOutcome outcome;
            var messages = _messages;
            if (_cunitPassed != true)
            {
                outcome = IscsiTestOutcome.Failed;
                if (_cunitPassed is null)
                {
                    messages = [.. _messages, "[NO RESULT] the run ended inside this test (crash, hang or kill)"];
                }
            }
            else if (_messages.Any(m => m.Contains("[SKIPPED]", StringComparison.Ordinal)))
            {
                outcome = IscsiTestOutcome.Skipped;
            }
            else if (_messages.Any(IsFailureMessage))
            {
                outcome = IscsiTestOutcome.Flagged;
            }
            else
            {
                outcome = IscsiTestOutcome.ReallyPassed;
            }

            return new IscsiTestResult(family, suite, name, outcome, messages);
        }
    }
}

/// <summary>Parsed iscsi-test-cu output.</summary>
/// <param name="Results">One entry per test that started, in output order.</param>
/// <param name="Summary">CUnit's own counts; <see langword="null"/> when the run ended before printing them.</param>
public sealed record IscsiTestCuParseResult(IReadOnlyList<IscsiTestResult> Results, CunitSummary? Summary)
{
    /// <summary>
    /// Non-blank lines printed outside any test, trimmed: before the first test (start-up probing, CUnit's banner)
    /// and after a test's verdict (suite cleanup, next suite's init). Never counted against a test.
    /// </summary>
    public IReadOnlyList<string> BetweenTests { get; init; } = [];
}

/// <summary>The <c>tests</c> row of CUnit's run summary (CUnit counts skipped and flagged tests as passed).</summary>
public sealed record CunitSummary(int Total, int Ran, int Passed, int Failed);
