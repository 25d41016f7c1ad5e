// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Scst.Transport.Fcoe.Protocol;

/// <summary>
/// A 48-bit Ethernet MAC address held in one value (no array), with the addresses FCoE and FIP reserve and the two
/// ways an FC-BB MAC is made from an N_Port_ID: FPMA (FC-MAP || N_Port_ID, FC-BB-5) and the VN2VN MAC
/// (0E:FD:00 || N_Port_ID, FC-BB-6).
/// </summary>
internal readonly struct MacAddress : IEquatable<MacAddress>, ISpanFormattable
{
    /// <summary>Bytes of a MAC address.</summary>
    public const int Length = 6;

    /// <summary>The default FC-MAP of fabric mode: an FPMA is 0E:FC:00 followed by the N_Port_ID.</summary>
    public const uint DefaultFcMap = 0x0E_FC_00;

    /// <summary>The FC-MAP of VN2VN mode (FC-BB-6): a VN_Port MAC is 0E:FD:00 followed by the N_Port_ID.</summary>
    public const uint Vn2VnFcMap = 0x0E_FD_00;

    private const ulong Mask = 0xFFFF_FFFF_FFFF;
    private const uint PortIdMask = 0xFF_FFFF;

    // The six bytes as a big-endian number: byte 0 of the address in bits 47-40.
    private readonly ulong _value;

    private MacAddress(ulong value) => _value = value & Mask;

    /// <summary>ALL-FCoE-MACs, 01:10:18:01:00:00.</summary>
    public static MacAddress AllFcoeMacs => new(0x0110_1801_0000);

    /// <summary>ALL-ENode-MACs, 01:10:18:01:00:01: FCFs advertise to it; an ENode in fabric mode joins it.</summary>
    public static MacAddress AllENodeMacs => new(0x0110_1801_0001);

    /// <summary>ALL-FCF-MACs, 01:10:18:01:00:02: solicitations and VLAN requests go to it.</summary>
    public static MacAddress AllFcfMacs => new(0x0110_1801_0002);

    /// <summary>ALL-VN2VN-MACs, 01:10:18:01:00:04 (FC-BB-6): probes, claims and beacons go to it.</summary>
    public static MacAddress AllVn2VnMacs => new(0x0110_1801_0004);

    /// <summary>ALL-P2P-MACs, 01:10:18:01:00:05 (FC-BB-6 point-to-point).</summary>
    public static MacAddress AllP2PMacs => new(0x0110_1801_0005);

    /// <summary>The deprecated MAC of a non-FIP FLOGI, 0E:FC:00:FF:FF:FE.</summary>
    public static MacAddress LegacyFlogiMac => new(0x0EFC_00FF_FFFE);

    /// <summary>The broadcast address FF:FF:FF:FF:FF:FF.</summary>
    public static MacAddress Broadcast => new(Mask);

    /// <summary>Whether all six bytes are zero.</summary>
    public bool IsZero => _value == 0;

    /// <summary>The I/G bit: a group (multicast or broadcast) address.</summary>
    public bool IsMulticast => (_value & 0x0100_0000_0000) != 0;

    /// <summary>The upper three bytes, the FC-MAP when this is an FPMA or VN2VN MAC.</summary>
    public uint Prefix => (uint)(_value >> 24);

    /// <summary>The lower three bytes, the N_Port_ID when this is an FPMA or VN2VN MAC.</summary>
    public uint PortId => (uint)(_value & PortIdMask);

    /// <summary>The address from its 48-bit big-endian value (byte 0 of the address in bits 47-40).</summary>
    public static MacAddress FromUInt64(ulong value) => new(value);

    /// <summary>The address as its 48-bit big-endian value.</summary>
    public ulong ToUInt64() => _value;

    /// <summary>An FPMA (fabric provided MAC address, FC-BB-5): <paramref name="fcMap"/> || <paramref name="portId"/>.</summary>
    /// <param name="fcMap">The 24-bit FC-MAP the FCF advertised (default <see cref="DefaultFcMap"/>).</param>
    /// <param name="portId">The 24-bit N_Port_ID the FLOGI/FDISC accept granted.</param>
    public static MacAddress FromFpma(uint fcMap, uint portId) => new(((ulong)(fcMap & PortIdMask) << 24) | (portId & PortIdMask));

    /// <summary>The VN_Port MAC of VN2VN mode (FC-BB-6): 0E:FD:00 || <paramref name="portId"/>.</summary>
    public static MacAddress FromVn2VnPortId(uint portId) => FromFpma(Vn2VnFcMap, portId);

    /// <summary>Reads six bytes. <paramref name="source"/> must hold at least <see cref="Length"/> bytes.</summary>
    public static MacAddress Read(ReadOnlySpan<byte> source)
    {
        ulong high = BinaryPrimitives.ReadUInt16BigEndian(source);
        ulong low = BinaryPrimitives.ReadUInt32BigEndian(source[2..]);
        return new((high << 32) | low);
    }

    /// <summary>Writes the six bytes to the start of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], (uint)_value);
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(_value >> 32));
    }

    /// <summary>Parses <c>aa:bb:cc:dd:ee:ff</c> (also with <c>-</c> between the bytes; either case).</summary>
    /// <exception cref="FormatException">The text is not a MAC address.</exception>
    public static MacAddress Parse(string text) =>
        TryParse(text, out var address) ? address : throw new FormatException($"'{text}' is not a MAC address (aa:bb:cc:dd:ee:ff).");

    /// <summary>Parses <c>aa:bb:cc:dd:ee:ff</c> (also with <c>-</c> between the bytes; either case).</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out MacAddress address) => TryParse(text.AsSpan(), out address);

    /// <summary>Parses <c>aa:bb:cc:dd:ee:ff</c> (also with <c>-</c> between the bytes; either case).</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out MacAddress address)
    {
        address = default;
        if (text.Length != 17)
        {
            return false;
        }

        ulong value = 0;
        for (int i = 0; i < Length; i++)
        {
            int at = i * 3;
            if (i > 0 && text[at - 1] != ':' && text[at - 1] != '-')
            {
                return false;
            }

            int high = HexValue(text[at]);
            int low = HexValue(text[at + 1]);
            if (high < 0 || low < 0)
            {
                return false;
            }

            value = (value << 8) | (uint)((high << 4) | low);
        }

        address = new(value);
        return true;
    }

    /// <summary>The address as <c>aa:bb:cc:dd:ee:ff</c>.</summary>
    public override string ToString() => string.Create(17, _value, static (chars, value) => Format(value, chars));

    /// <inheritdoc/>
    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    /// <inheritdoc/>
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        if (destination.Length < 17)
        {
            charsWritten = 0;
            return false;
        }

        Format(_value, destination);
        charsWritten = 17;
        return true;
    }

    /// <inheritdoc/>
    public bool Equals(MacAddress other) => _value == other._value;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is MacAddress other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => _value.GetHashCode();

    /// <summary>Equality of the six bytes.</summary>
    public static bool operator ==(MacAddress left, MacAddress right) => left._value == right._value;

    /// <summary>Inequality of the six bytes.</summary>
    public static bool operator !=(MacAddress left, MacAddress right) => left._value != right._value;

    private static void Format(ulong value, Span<char> chars)
    {
        const string Digits = "0123456789abcdef";
        for (int i = 0; i < Length; i++)
        {
            int b = (int)(value >> (40 - (8 * i))) & 0xFF;
            int at = i * 3;
            chars[at] = Digits[b >> 4];
            chars[at + 1] = Digits[b & 0xF];
            if (i < Length - 1)
            {
                chars[at + 2] = ':';
            }
        }
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
