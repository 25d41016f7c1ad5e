// Licensed under the Apache License, Version 2.0.

namespace Scst.Testing.Conformance;

/// <summary>
/// The iscsi-test-cu tests that must really pass (tests/conformance/must-pass.txt): one <c>Family.Suite.Test</c> per
/// line; <c>#</c> starts a comment; blank lines are ignored. An entry may end in <c>.*</c> to mean every test of a
/// suite (or family), but the checked-in list spells out tests so that a new libiscsi test does not join silently.
/// </summary>
public sealed class MustPassList
{
    private MustPassList(IReadOnlyList<string> entries) => Entries = entries;

    /// <summary>The entries in file order, without comments.</summary>
    public IReadOnlyList<string> Entries { get; }

    /// <summary>Parses the text of a must-pass file.</summary>
    public static MustPassList Parse(string text)
    {
        var entries = new List<string>();
        foreach (var raw in text.Split('\n'))
        {
            var hash = raw.IndexOf('#', StringComparison.Ordinal);
            var line = (hash >= 0 ? raw[..hash] : raw).Trim();
            if (line.Length > 0 && !entries.Contains(line, StringComparer.Ordinal))
            {
                entries.Add(line);
            }
        }

        return new MustPassList(entries);
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
        foreach (var entry in Entries)
        {
            if (entry.EndsWith(".*", StringComparison.Ordinal))
            {
                var matched = byName.Values.Where(r => Matches(entry, r.FullName)).ToList();
                if (matched.Count == 0)
                {
                    missing.Add(new ConformanceShortfall(entry, null, null));
                }

                missing.AddRange(matched
                    .Where(r => r.Outcome != IscsiTestOutcome.ReallyPassed)
                    .Select(r => new ConformanceShortfall(r.FullName, r.Outcome, r.Reason)));
            }
            else if (!byName.TryGetValue(entry, out var result))
            {
                missing.Add(new ConformanceShortfall(entry, null, null));
            }
            else if (result.Outcome != IscsiTestOutcome.ReallyPassed)
            {
                missing.Add(new ConformanceShortfall(entry, result.Outcome, result.Reason));
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
            NotReallyPassed: missing.DistinctBy(m => m.Name, StringComparer.Ordinal).ToList());
    }
}
