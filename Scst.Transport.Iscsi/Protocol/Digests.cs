// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>The digests a target accepts for HeaderDigest or DataDigest (RFC 7143 sections 13.1 and 13.2).</summary>
[Flags]
internal enum DigestSet : byte
{
    /// <summary>Nothing: no login can agree on the key.</summary>
    Empty = 0,

    /// <summary>No digest.</summary>
    None = 1 << DigestKind.None,

    /// <summary>CRC32C.</summary>
    Crc32C = 1 << DigestKind.Crc32C,

    /// <summary>Either.</summary>
    Any = None | Crc32C,
}

/// <summary>Names, parsing and selection of digests.</summary>
internal static class Digests
{
    /// <summary>The key value of a digest: <c>None</c> or <c>CRC32C</c>.</summary>
    public static string Name(DigestKind kind) => kind == DigestKind.Crc32C ? "CRC32C" : "None";

    /// <summary>Whether <paramref name="set"/> holds <paramref name="kind"/>.</summary>
    public static bool Contains(this DigestSet set, DigestKind kind) => ((int)set & (1 << (int)kind)) != 0;

    /// <summary>
    /// Parses an option value in SCST's syntax: a comma-separated list of <c>None</c> and <c>CRC32C</c> (any case, blanks
    /// around items ignored), e.g. <c>CRC32C,None</c>. The order does not matter: the initiator's order decides.
    /// </summary>
    /// <returns>False when the text is empty or names anything else.</returns>
    public static bool TryParse(string? text, out DigestSet set)
    {
        set = DigestSet.Empty;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        foreach (string item in text.Split(','))
        {
            string name = item.Trim();
            if (name.Equals("None", StringComparison.OrdinalIgnoreCase))
            {
                set |= DigestSet.None;
            }
            else if (name.Equals("CRC32C", StringComparison.OrdinalIgnoreCase))
            {
                set |= DigestSet.Crc32C;
            }
            else
            {
                set = DigestSet.Empty;
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The first value of the initiator's list (<paramref name="offer"/>, RFC 7143 section 6.2.1) that
    /// <paramref name="accepted"/> holds, or null. Values are case-sensitive; unknown ones are skipped.
    /// </summary>
    public static DigestKind? Select(string offer, DigestSet accepted)
    {
        foreach (string item in offer.Split(','))
        {
            DigestKind? kind = item switch
            {
                "None" => DigestKind.None,
                "CRC32C" => DigestKind.Crc32C,
                _ => null,
            };
            if (kind is { } k && accepted.Contains(k))
            {
                return k;
            }
        }

        return null;
    }
}
