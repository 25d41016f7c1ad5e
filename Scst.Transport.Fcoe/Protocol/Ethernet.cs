// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Transport.Fcoe.Protocol;

/// <summary>Ethertypes this driver sees.</summary>
internal static class EtherType
{
    /// <summary>FCoE (FC-BB-5): an encapsulated Fibre Channel frame.</summary>
    public const ushort Fcoe = 0x8906;

    /// <summary>FIP, the FCoE Initialization Protocol (FC-BB-5/FC-BB-6).</summary>
    public const ushort Fip = 0x8914;

    /// <summary>An IEEE 802.1Q VLAN tag.</summary>
    public const ushort Vlan = 0x8100;
}

/// <summary>
/// The Ethernet header: destination MAC, source MAC, an optional 802.1Q tag (TPID 0x8100 and the tag control
/// information: priority in bits 15-13, DEI bit 12, VLAN id in bits 11-0), and the ethertype. The frame check sequence
/// is not part of what an AF_PACKET socket hands over, so no code here reads or writes it.
/// </summary>
internal static class Ethernet
{
    /// <summary>Bytes of an untagged header.</summary>
    public const int HeaderLength = 14;

    /// <summary>Bytes an 802.1Q tag adds.</summary>
    public const int VlanTagLength = 4;

    /// <summary>Smallest Ethernet frame without its FCS; shorter frames are padded with zeros.</summary>
    public const int MinimumFrameLength = 60;

    /// <summary>The VLAN id bits of the tag control information.</summary>
    public const ushort VlanIdMask = 0x0FFF;

    /// <summary>Bytes of the header with or without a VLAN tag.</summary>
    public static int GetHeaderLength(bool tagged) => tagged ? HeaderLength + VlanTagLength : HeaderLength;

    /// <summary>
    /// Writes the header and returns its length. <paramref name="vlanTag"/> is the whole tag control information
    /// (a bare VLAN id is a priority 0 tag); null writes an untagged header.
    /// </summary>
    public static int WriteHeader(Span<byte> destination, MacAddress destinationMac, MacAddress sourceMac, ushort? vlanTag, ushort etherType)
    {
        int length = GetHeaderLength(vlanTag.HasValue);
        WireFormat.EnsureLength(destination, length);
        destinationMac.WriteTo(destination);
        sourceMac.WriteTo(destination[MacAddress.Length..]);
        int at = 2 * MacAddress.Length;
        if (vlanTag is ushort tag)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[at..], EtherType.Vlan);
            BinaryPrimitives.WriteUInt16BigEndian(destination[(at + 2)..], tag);
            at += VlanTagLength;
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination[at..], etherType);
        return length;
    }

    /// <summary>
    /// Reads the header: false when the frame is shorter than its header. One 802.1Q tag is taken off; its tag control
    /// information is returned in <paramref name="vlanTag"/>.
    /// </summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> frame, out ushort etherType, out ushort? vlanTag, out int headerLength)
    {
        vlanTag = null;
        headerLength = HeaderLength;
        etherType = 0;
        if (frame.Length < HeaderLength)
        {
            return false;
        }

        int at = 2 * MacAddress.Length;
        etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[at..]);
        if (etherType == EtherType.Vlan)
        {
            if (frame.Length < HeaderLength + VlanTagLength)
            {
                return false;
            }

            vlanTag = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 2)..]);
            etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + VlanTagLength)..]);
            headerLength = HeaderLength + VlanTagLength;
        }

        return true;
    }
}
