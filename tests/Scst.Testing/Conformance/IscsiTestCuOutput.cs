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
/// at the start of a line, and after <c>FAILED</c> one numbered line per failed assertion. Whatever is printed after the
/// verdict and before the next <c>Test:</c> (teardown and suite-cleanup output, e.g. tgtd's
/// <c>  Test: LUNReset ...passed    [FAILED] PRIN command: ...</c>) is attributed to the test just finished, so a
/// <c>[FAILED]</c> message there flags it: the conservative reading. The family (SCSI, iSCSI) is not printed: the caller
/// supplies it, or a suite-to-family map built from <c>--list</c>.
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
                    pending.Consume(rest[(dots + Ellipsis.Length)..]);
                }
            }
            else if (line.StartsWith("Run Summary:", StringComparison.Ordinal))
            {
                Flush();
                summary = ParseSummary(lines, i + 1);
                break;
            }
            else
            {
                pending?.Consume(line);
            }
        }

        Flush();
        return new IscsiTestCuParseResult(results, summary);

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

        public void Consume(string text)
        {
            var trimmed = text.Trim();
            if (_cunitPassed is null)
            {
                // CUnit's verdict ends without a newline, so output printed after the test (teardown, suite cleanup)
                // can share its line: "passed    [FAILED] PRIN command: ...". That trailing text stays with this test.
                if (trimmed.StartsWith(CunitPassed, StringComparison.Ordinal))
                {
                    _cunitPassed = true;
                    trimmed = trimmed[CunitPassed.Length..].Trim();
                }
                else if (trimmed.StartsWith(CunitFailed, StringComparison.Ordinal))
                {
                    _cunitPassed = false;
                    trimmed = trimmed[CunitFailed.Length..].Trim();
                }
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
public sealed record IscsiTestCuParseResult(IReadOnlyList<IscsiTestResult> Results, CunitSummary? Summary);

/// <summary>The <c>tests</c> row of CUnit's run summary (CUnit counts skipped and flagged tests as passed).</summary>
public sealed record CunitSummary(int Total, int Ran, int Passed, int Failed);
