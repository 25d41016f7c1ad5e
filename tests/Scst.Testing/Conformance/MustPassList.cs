// Licensed under the Apache License, Version 2.0.

namespace Scst.Testing.Conformance;

/// <summary>
/// The iscsi-test-cu tests that must really pass (tests/conformance/must-pass.txt): one <c>Family.Suite.Test</c> per
/// line; <c>#</c> starts a comment; blank lines are ignored. An entry may end in <c>.*</c> to mean every test of a
/// suite (or family), but the checked-in list spells out tests so that a new libiscsi test does not join silently.
/// </summary>
/// <remarks>
/// An entry may carry one annotation after the name: <c>expect-failed-lines: TEXT</c>. It is for a test whose libiscsi
/// helper prints <c>[FAILED] ...</c> for a command the test WANTS to fail (iSCSI.iSCSIdatasn.iSCSIDataSnInvalid asks
/// the target to fail writes with a wrong DataSN, and the WRITE10 helper prints
/// <c>[FAILED] WRITE10 command failed with status ...</c> for each), so a correct target is always "flagged". Such an
/// entry is satisfied when CUnit passed the test, it printed no <c>[SKIPPED]</c>, and every <c>[FAILED]</c> /
/// <c>[FAILURE]</c> line it printed contains TEXT; the report lists it apart ("passed with expected failure lines")
/// rather than as really passed. Any other flagged line, a skip or a CUnit failure is still a shortfall.
/// </remarks>
public sealed class MustPassList
{
    /// <summary>The annotation keyword (with its colon) for expected failure lines.</summary>
    public const string ExpectFailedLinesKeyword = "expect-failed-lines:";

    private MustPassList(IReadOnlyList<string> entries, IReadOnlyDictionary<string, string> expectedFailedLines)
    {
        Entries = entries;
        ExpectedFailedLines = expectedFailedLines;
    }

    /// <summary>The entries in file order, without comments and annotations.</summary>
    public IReadOnlyList<string> Entries { get; }

    /// <summary>Entries annotated <c>expect-failed-lines: TEXT</c>: entry to TEXT.</summary>
    public IReadOnlyDictionary<string, string> ExpectedFailedLines { get; }

    /// <summary>Parses the text of a must-pass file.</summary>
    public static MustPassList Parse(string text)
    {
        var entries = new List<string>();
        var expected = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var hash = raw.IndexOf('#', StringComparison.Ordinal);
            var line = (hash >= 0 ? raw[..hash] : raw).Trim();
            if (line.Length == 0)
            {
                continue;
            }

            var space = line.IndexOfAny([' ', '\t']);
            var name = space < 0 ? line : line[..space];
            var annotation = space < 0 ? string.Empty : line[space..].Trim();
            if (annotation.Length > 0)
            {
                if (!annotation.StartsWith(ExpectFailedLinesKeyword, StringComparison.Ordinal)
                    || annotation[ExpectFailedLinesKeyword.Length..].Trim() is not { Length: > 0 } expectedText)
                {
                    throw new FormatException($"must-pass entry '{line}': the only annotation is '{ExpectFailedLinesKeyword} TEXT'.");
                }

                expected[name] = expectedText;
            }

            if (!entries.Contains(name, StringComparer.Ordinal))
            {
                entries.Add(name);
            }
        }

        return new MustPassList(entries, expected);
    }

    /// <summary>The distinct <c>Family.Suite</c> prefixes of the entries, in file order (one iscsi-test-cu run each).</summary>
    public IReadOnlyList<string> Suites =>
        Entries.Select(e => e.Split('.')).Where(p => p.Length >= 2 && p[1] != "*").Select(p => $"{p[0]}.{p[1]}").Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Reads and parses a must-pass file.</summary>
    public static MustPassList Load(string path) => Parse(File.ReadAllText(path));

    /// <summary>
    /// Finds tests/conformance/must-pass.txt by walking up from <paramref name="startDirectory"/> (default: the
    /// test assembly's directory) to the repository root.
    /// </summary>
    public static string FindDefaultPath(string? startDirectory = null)
    {
        for (var dir = new DirectoryInfo(startDirectory ?? AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "conformance", "must-pass.txt");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("tests/conformance/must-pass.txt not found above " + (startDirectory ?? AppContext.BaseDirectory));
    }

    /// <summary>Whether <paramref name="fullName"/> (<c>Family.Suite.Test</c>) matches <paramref name="entry"/>.</summary>
    public static bool Matches(string entry, string fullName) =>
        entry.EndsWith(".*", StringComparison.Ordinal)
            ? fullName.StartsWith(entry[..^1], StringComparison.Ordinal)
            : string.Equals(entry, fullName, StringComparison.Ordinal);

    private string ExpectedTextOfWildcard(string fullName) =>
        ExpectedFailedLines.Where(p => Matches(p.Key, fullName)).Select(p => p.Value).FirstOrDefault() ?? string.Empty;

    /// <summary>Whether <paramref name="fullName"/> is on the list.</summary>
    public bool Contains(string fullName) => Entries.Any(e => Matches(e, fullName));

    /// <summary>
    /// Compares a run's results against the list. Entries with a wildcard are expanded against the results; an exact
    /// entry that no result matches is reported as not run.
    /// </summary>
    public ConformanceReport Compare(IEnumerable<IscsiTestResult> results)
    {
        var all = results.ToList();
        var byName = new Dictionary<string, IscsiTestResult>(StringComparer.Ordinal);
        foreach (var result in all)
        {
            byName[result.FullName] = result; // several runs: the last word wins
        }

        var missing = new List<ConformanceShortfall>();
        var withExpectedLines = new List<string>();
        foreach (var entry in Entries)
        {
            ExpectedFailedLines.TryGetValue(entry, out var expectedText);
            if (entry.EndsWith(".*", StringComparison.Ordinal))
            {
                var matched = byName.Values.Where(r => Matches(entry, r.FullName)).ToList();
                if (matched.Count == 0)
                {
                    missing.Add(new ConformanceShortfall(entry, null, null));
                }

                foreach (var result in matched)
                {
                    Judge(result.FullName, result, expectedText);
                }
            }
            else
            {
                Judge(entry, byName.GetValueOrDefault(entry), expectedText);
            }
        }

        void Judge(string name, IscsiTestResult? result, string? expectedText)
        {
            if (result is null)
            {
                missing.Add(new ConformanceShortfall(name, null, null));
            }
            else if (result.Outcome == IscsiTestOutcome.ReallyPassed)
            {
                // passed
            }
            else if (expectedText is not null && result.Outcome == IscsiTestOutcome.Flagged)
            {
                var unexpected = result.Messages.FirstOrDefault(m =>
                    IscsiTestCuOutput.IsFailureMessage(m) && !m.Contains(expectedText, StringComparison.Ordinal));
                if (unexpected is null)
                {
                    withExpectedLines.Add(name);
                }
                else
                {
                    missing.Add(new ConformanceShortfall(name, result.Outcome, unexpected));
                }
            }
            else
            {
                missing.Add(new ConformanceShortfall(name, result.Outcome, result.Reason));
            }
        }

        var counted = byName.Values.ToList();
        return new ConformanceReport(
            Ran: counted.Count,
            ReallyPassed: counted.Count(r => r.Outcome == IscsiTestOutcome.ReallyPassed),
            Skipped: counted.Count(r => r.Outcome == IscsiTestOutcome.Skipped),
            Flagged: counted.Count(r => r.Outcome == IscsiTestOutcome.Flagged),
            Failed: counted.Count(r => r.Outcome == IscsiTestOutcome.Failed),
            MustPassCount: Entries.Count,
            NotReallyPassed: missing.DistinctBy(m => m.Name, StringComparer.Ordinal).ToList())
        {
            PassedWithExpectedFailureLines = withExpectedLines
                .Distinct(StringComparer.Ordinal)
                .Select(n => new ExpectedFailureLinesPass(n, ExpectedFailedLines.GetValueOrDefault(n) ?? ExpectedTextOfWildcard(n)))
                .ToList(),
        };
    }
}
