// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Scst.Core.Spc.Reservations;

/// <summary>
/// SPC-4 TransportIDs (section 7.6.4): the names of initiator ports that persistent reservations record. This class
/// measures one in a parameter list, checks its form, and decides whether two name the same initiator port.
/// </summary>
/// <remarks>
/// <code>
///  byte 0     FORMAT CODE (7-6) | PROTOCOL IDENTIFIER (3-0)
///  iSCSI (5h), and the name form the Local transport uses with 0Fh:
///  bytes 2-3  ADDITIONAL LENGTH (n - 3), a multiple of 4
///  bytes 4-n  format 00b: the iSCSI name, NUL-terminated and padded
///             format 01b: the name, ",i,0x", the ISID in hex, NUL-terminated and padded (an initiator port)
///  Fibre Channel (0h), SRP (4h), SAS (6h): 24 bytes, format 00b.
/// </code>
/// Two iSCSI TransportIDs name the same initiator port when their names are equal ignoring case (iSCSI names are
/// case-insensitive, RFC 3722) and, when both carry an ISID, their ISIDs are equal. A name-only TransportID thus
/// matches every port of that initiator, which is what a SPEC_I_PT registration by name means.
/// </remarks>
internal static class TransportIdentifier
{
    public const byte ProtocolFibreChannel = 0x0;
    public const byte ProtocolSrp = 0x4;
    public const byte ProtocolIscsi = 0x5;
    public const byte ProtocolSas = 0x6;
    public const byte ProtocolNone = 0xF;

    /// <summary>The shortest TransportID: a 4-byte header and one 4-byte unit of name.</summary>
    public const int MinLength = 8;

    /// <summary>The longest TransportID accepted: a 223-byte iSCSI name with its port suffix, padded, and the header.</summary>
    public const int MaxLength = 256;

    private const int FixedLength = 24;
    private static ReadOnlySpan<byte> PortSeparator => ",i,0x"u8;

    /// <summary>
    /// Measures the TransportID at the start of <paramref name="data"/> and checks its form. Returns the length, or 0
    /// when it is malformed, of an unsupported protocol or format, or longer than <paramref name="data"/>.
    /// </summary>
    public static int Measure(ReadOnlySpan<byte> data)
    {
        if (data.Length < 4)
        {
            return 0;
        }

        int format = data[0] >> 6;
        int protocol = data[0] & 0x0F;
        switch (protocol)
        {
            case ProtocolFibreChannel or ProtocolSrp or ProtocolSas:
                return format == 0 && data.Length >= FixedLength ? FixedLength : 0;
            case ProtocolIscsi or ProtocolNone:
                int additional = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
                int length = 4 + additional;
                if (format > 1 || additional < 4 || additional % 4 != 0 || length > MaxLength || length > data.Length)
                {
                    return 0;
                }

                ReadOnlySpan<byte> text = data[4..length];
                int nul = text.IndexOf((byte)0);
                if (nul <= 0)
                {
                    return 0;
                }

                int separator = text[..nul].IndexOf(PortSeparator);
                bool hasIsid = separator > 0 && TryParseIsid(text[(separator + PortSeparator.Length)..nul], out _);
                return hasIsid == (format == 1) ? length : 0;
            default:
                return 0;
        }
    }

    /// <summary>Whether <paramref name="data"/> is exactly one well-formed TransportID.</summary>
    public static bool IsValid(ReadOnlySpan<byte> data) => data.Length >= 4 && Measure(data) == data.Length;

    /// <summary>Whether two TransportIDs name the same initiator port (see the remarks of the class). Never allocates.</summary>
    public static bool SameInitiatorPort(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.Length < 4 || b.Length < 4 || (a[0] & 0x0F) != (b[0] & 0x0F))
        {
            return false;
        }

        int protocol = a[0] & 0x0F;
        if (protocol is not (ProtocolIscsi or ProtocolNone))
        {
            return a.Length >= FixedLength && b.Length >= FixedLength && a[1..FixedLength].SequenceEqual(b[1..FixedLength]);
        }

        Split(a, out ReadOnlySpan<byte> nameA, out ulong? isidA);
        Split(b, out ReadOnlySpan<byte> nameB, out ulong? isidB);
        if (!nameA.SequenceEqual(nameB) && !Ascii.EqualsIgnoreCase(nameA, nameB))
        {
            return false;
        }

        return isidA is null || isidB is null || isidA == isidB;
    }

    /// <summary>A readable form for logs: the name (with ",i,0x" and the ISID), or the hex bytes of other protocols.</summary>
    public static string Describe(ReadOnlySpan<byte> id)
    {
        if (id.Length >= 4 && (id[0] & 0x0F) is ProtocolIscsi or ProtocolNone)
        {
            ReadOnlySpan<byte> text = id[4..];
            int nul = text.IndexOf((byte)0);
            return Encoding.UTF8.GetString(nul < 0 ? text : text[..nul]);
        }

        return Convert.ToHexString(id);
    }

    // The name part and, for format 01b, the ISID of a variable-length TransportID that Measure accepted.
    private static void Split(ReadOnlySpan<byte> id, out ReadOnlySpan<byte> name, out ulong? isid)
    {
        int length = Math.Min(id.Length, 4 + BinaryPrimitives.ReadUInt16BigEndian(id[2..]));
        ReadOnlySpan<byte> text = id[4..length];
        int nul = text.IndexOf((byte)0);
        if (nul >= 0)
        {
            text = text[..nul];
        }

        isid = null;
        int separator = text.IndexOf(PortSeparator);
        if (separator > 0 && TryParseIsid(text[(separator + PortSeparator.Length)..], out ulong value))
        {
            isid = value;
            text = text[..separator];
        }

        name = text;
    }

    private static bool TryParseIsid(ReadOnlySpan<byte> hex, out ulong isid)
    {
        isid = 0;
        return hex.Length is > 0 and <= 12 && ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out isid);
    }
}
