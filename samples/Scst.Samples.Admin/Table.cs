// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Text;

namespace Scst.Samples.Admin;

/// <summary>A text table: a header row and aligned columns, two spaces apart; an empty cell shows as '-'.</summary>
internal sealed class Table(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public int Count => _rows.Count;

    public void Add(params string[] cells)
    {
        if (cells.Length != headers.Length)
        {
            throw new ArgumentException($"A row of this table has {headers.Length} cells (was {cells.Length}).", nameof(cells));
        }

        _rows.Add([.. cells.Select(c => string.IsNullOrEmpty(c) ? "-" : c)]);
    }

    /// <summary>Writes the table, or <paramref name="empty"/> when it has no row.</summary>
    public void Write(TextWriter writer, string empty)
    {
        if (_rows.Count == 0)
        {
            writer.WriteLine(empty);
            return;
        }

        int[] widths = [.. headers.Select((h, i) => Math.Max(h.Length, _rows.Max(r => r[i].Length)))];
        var line = new StringBuilder();
        foreach (string[] row in _rows.Prepend(headers))
        {
            line.Clear();
            for (int i = 0; i < row.Length; i++)
            {
                line.Append(i == row.Length - 1 ? row[i] : row[i].PadRight(widths[i] + 2));
            }

            writer.WriteLine(line.ToString().TrimEnd());
        }
    }

    /// <summary>A size in bytes as a person reads it: <c>64 MiB</c>, <c>1.5 GiB</c>; other text as it is.</summary>
    public static string Size(string bytes)
    {
        if (!ulong.TryParse(bytes, NumberStyles.None, CultureInfo.InvariantCulture, out ulong value))
        {
            return bytes;
        }

        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double scaled = value;
        int unit = 0;
        while (scaled >= 1024 && unit < units.Length - 1)
        {
            scaled /= 1024;
            unit++;
        }

        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{value} B")
            : string.Create(CultureInfo.InvariantCulture, $"{scaled:0.##} {units[unit]}");
    }

    /// <summary>A boolean attribute's value as yes or no.</summary>
    public static string YesNo(string value) => value switch
    {
        "1" => "yes",
        "0" => "no",
        _ => value,
    };
}
