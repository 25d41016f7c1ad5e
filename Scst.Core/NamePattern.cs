// Licensed under the Apache License, Version 2.0.

namespace Scst.Core;

/// <summary>
/// The name patterns SCST matches initiator names (a security group's initiators) and portal addresses (the iSCSI
/// <c>allowed_portal</c> attribute) with: DOS-style wildcards, compared without regard to ASCII case.
/// </summary>
/// <remarks>
/// <para><c>*</c> stands for any run of characters (also none), <c>?</c> for exactly one character; every other
/// character stands for itself. <c>iqn.1994-05.com.redhat:*</c> matches every open-iscsi initiator of a Red Hat
/// host; <c>10.0.0.?</c> matches the portals 10.0.0.0 to 10.0.0.9.</para>
/// <para>The first <c>!</c> negates what follows it: the text before the <c>!</c> must match the start of the name,
/// and the rest of the pattern must not match the rest of the name (the start being the shortest one the text
/// before the <c>!</c> matches). So <c>!iqn.2005-03.org.example:host1</c> matches every name but that one, and
/// <c>iqn.2005-03.org.example:!host1*</c> every name of that naming authority whose host part does not begin with
/// <c>host1</c>. A second <c>!</c> is an ordinary character, as in SCST.</para>
/// </remarks>
public static class NamePattern
{
    /// <summary>Whether <paramref name="name"/> matches <paramref name="pattern"/>.</summary>
    /// <param name="pattern">The pattern.</param>
    /// <param name="name">The name (an initiator name, a portal address).</param>
    /// <returns>True on a match.</returns>
    public static bool IsMatch(ReadOnlySpan<char> pattern, ReadOnlySpan<char> name)
    {
        int bang = pattern.IndexOf('!');
        if (bang < 0)
        {
            return Wildcard(pattern, name);
        }

        ReadOnlySpan<char> head = pattern[..bang];
        ReadOnlySpan<char> negated = pattern[(bang + 1)..];
        for (int split = 0; split <= name.Length; split++)
        {
            if (Wildcard(head, name[..split]))
            {
                return !Wildcard(negated, name[split..]);
            }
        }

        return false;
    }

    // '*' and '?' over the whole name. Linear backtracking: on a mismatch, the last '*' takes one more character.
    private static bool Wildcard(ReadOnlySpan<char> pattern, ReadOnlySpan<char> name)
    {
        int p = 0;
        int n = 0;
        int star = -1;
        int starName = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                starName = n;
            }
            else if (p < pattern.Length && (pattern[p] == '?' || SameLetter(pattern[p], name[n])))
            {
                p++;
                n++;
            }
            else if (star >= 0)
            {
                p = star + 1;
                n = ++starName;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    private static bool SameLetter(char a, char b) =>
        a == b || (char.IsAsciiLetter(a) && char.IsAsciiLetter(b) && (a | 0x20) == (b | 0x20));
}
