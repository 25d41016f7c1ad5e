// Licensed under the Apache License, Version 2.0.

using System.Text;
using System.Text.Unicode;

namespace Scst.Events;

/// <summary>
/// NUL-terminated strings in fixed-size fields, as SCST's payloads carry names (<c>char name[N]</c>).
/// </summary>
internal static class FixedString
{
    /// <summary>
    /// Writes <paramref name="value"/> as UTF-8 into <paramref name="field"/>: at most <c>field.Length - 1</c> bytes,
    /// cut at a character boundary (SCST's <c>strscpy</c> cuts at a byte, which is the same for the ASCII names SCST
    /// sees), then NUL bytes up to the end of the field, so no stale byte leaks into the payload.
    /// </summary>
    public static void Write(Span<byte> field, string? value)
    {
        field.Clear();
        if (string.IsNullOrEmpty(value))
        {
            return;
        }

        // DestinationTooSmall is the truncation case: FromUtf16 stops before the first scalar that does not fit.
        _ = Utf8.FromUtf16(value, field[..^1], out _, out _, replaceInvalidSequences: true, isFinalBlock: true);
    }

    /// <summary>Reads the string up to the first NUL, or the whole field when it has none.</summary>
    public static string Read(ReadOnlySpan<byte> field)
    {
        var length = field.IndexOf((byte)0);
        if (length < 0)
        {
            length = field.Length;
        }

        return length == 0 ? string.Empty : Encoding.UTF8.GetString(field[..length]);
    }
}
