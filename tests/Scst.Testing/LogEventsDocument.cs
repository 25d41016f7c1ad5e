// Licensed under the Apache License, Version 2.0.

using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Scst.Testing;

/// <summary>
/// docs/log-events.md read as data (its ranges and its table of events) beside a package's <c>[LoggerMessage]</c>
/// methods read by reflection, so that a test of each package can check that the page lists every log event of the
/// package as the code declares it. Uses nothing of the Scst packages, so a test project that does not reference
/// Scst.Testing can compile this file alone.
/// </summary>
public static class LogEventsDocument
{
    /// <summary>One log event: where it is declared or listed, and what it says.</summary>
    /// <param name="Package">The package (assembly) name.</param>
    /// <param name="Id">The event id.</param>
    /// <param name="Name">The event's name: the method's name.</param>
    /// <param name="Level">The level's name (Information, Warning...).</param>
    /// <param name="Message">The message template.</param>
    public sealed record Entry(string Package, int Id, string Name, string Level, string Message);

    /// <summary>The path of docs/log-events.md, found from the test's directory upwards.</summary>
    public static string Path
    {
        get
        {
            for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                string candidate = System.IO.Path.Combine(dir.FullName, "docs", "log-events.md");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new FileNotFoundException("docs/log-events.md is not in any directory above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>The rows of the page's event table (six columns, the second a number).</summary>
    public static IReadOnlyList<Entry> Rows()
    {
        var rows = new List<Entry>();
        foreach (string[] cells in TableRows())
        {
            if (cells.Length == 6 && int.TryParse(cells[1], out int id))
            {
                rows.Add(new Entry(cells[0], id, cells[2], cells[3], cells[4]));
            }
        }

        return rows;
    }

    /// <summary>The range the page's ranges table gives <paramref name="package"/> (e.g. 7000-7999).</summary>
    public static (int First, int Last) RangeOf(string package)
    {
        foreach (string[] cells in TableRows())
        {
            if (cells.Length == 3 && cells[0] == package && cells[1].Split('-') is [string first, string last] &&
                int.TryParse(first, out int f) && int.TryParse(last, out int l))
            {
                return (f, l);
            }
        }

        throw new InvalidOperationException($"docs/log-events.md gives no range to {package}.");
    }

    /// <summary>Every <c>[LoggerMessage]</c> method of <paramref name="assembly"/>, as the code declares it.</summary>
    public static IReadOnlyList<Entry> DeclaredIn(Assembly assembly)
    {
        string package = assembly.GetName().Name!;
        var entries = new List<Entry>();
        foreach (Type type in assembly.GetTypes())
        {
            foreach (MethodInfo method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                if (method.GetCustomAttribute<LoggerMessageAttribute>() is { } a)
                {
                    entries.Add(new Entry(package, a.EventId, method.Name, a.Level.ToString(), a.Message));
                }
            }
        }

        return entries;
    }

    /// <summary>
    /// What the page gets wrong about <paramref name="assembly"/>'s log events: an event it does not list or lists
    /// differently, a row for an event the code does not have, an id used twice, an id outside the package's range.
    /// Also a problem: a package with no event at all (the check would prove nothing).
    /// </summary>
    public static IReadOnlyList<string> Problems(Assembly assembly)
    {
        string package = assembly.GetName().Name!;
        IReadOnlyList<Entry> declared = DeclaredIn(assembly);
        List<Entry> listed = [.. Rows().Where(r => r.Package == package)];
        (int first, int last) = RangeOf(package);
        var problems = new List<string>();
        if (declared.Count == 0)
        {
            problems.Add($"{package} declares no [LoggerMessage] method");
        }

        foreach (IGrouping<int, Entry> twice in declared.GroupBy(static e => e.Id).Where(static g => g.Count() > 1))
        {
            problems.Add($"id {twice.Key} is used by {string.Join(", ", twice.Select(static e => e.Name))}");
        }

        foreach (Entry e in declared)
        {
            if (e.Id < first || e.Id > last)
            {
                problems.Add($"{e.Name} has id {e.Id}, outside {package}'s range {first}-{last}");
            }

            if (!listed.Contains(e))
            {
                problems.Add($"not listed as declared: | {e.Package} | {e.Id} | {e.Name} | {e.Level} | {e.Message} |");
            }
        }

        foreach (Entry row in listed.Where(r => !declared.Contains(r)))
        {
            problems.Add($"listed, but not declared so: | {row.Package} | {row.Id} | {row.Name} | {row.Level} | {row.Message} |");
        }

        return problems;
    }

    private static IEnumerable<string[]> TableRows() =>
        File.ReadLines(Path)
            .Where(static line => line.StartsWith('|'))
            .Select(static line => line.Trim().Trim('|').Split(" | ").Select(static c => c.Trim()).ToArray());
}
