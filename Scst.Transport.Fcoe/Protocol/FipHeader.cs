// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Transport.Fcoe.Protocol;

/// <summary>FIP operation codes (FC-BB-5 table 25, FC-BB-6).</summary>
internal enum FipOperation : ushort
{
    /// <summary>Discovery: solicitation (1) and advertisement (2).</summary>
    Discovery = 1,

    /// <summary>Virtual link instantiation: encapsulated FLOGI/FDISC/LOGO/ELP request (1) and reply (2).</summary>
    LinkService = 2,

    /// <summary>Virtual link maintenance: keep-alive (1) and clear virtual links (2).</summary>
    Control = 3,

    /// <summary>VLAN discovery: request (1), notification (2), VN2VN notification (3).</summary>
    Vlan = 4,

    /// <summary>VN2VN (FC-BB-6): probe request (1), probe reply (2), claim notification (3), claim response (4), beacon (5).</summary>
    Vn2Vn = 5,

    /// <summary>Vendor specific.</summary>
    Vendor = 0xFFF8,
}

/// <summary>
/// A FIP operation and subcode in one value (operation in the high byte, subcode in the low byte), so that a switch
/// over received frames reads as the list of FIP messages.
/// </summary>
internal enum FipMessage : ushort
{
    /// <summary>Discovery Solicitation (1/1): ENode or VN_Port to ALL-FCF-MACs or one FCF.</summary>
    DiscoverySolicitation = 0x0101,

    /// <summary>Discovery Advertisement (1/2): FCF, multicast or solicited unicast.</summary>
    DiscoveryAdvertisement = 0x0102,

    /// <summary>Link service request (2/1): FIP-encapsulated FLOGI, FDISC, LOGO or ELP.</summary>
    LinkServiceRequest = 0x0201,

    /// <summary>Link service reply (2/2): the encapsulated answer.</summary>
    LinkServiceReply = 0x0202,

    /// <summary>Keep Alive (3/1): ENode or VN_Port to its FCF.</summary>
    KeepAlive = 0x0301,

    /// <summary>Clear Virtual Links (3/2): FCF to ENode.</summary>
    ClearVirtualLinks = 0x0302,

    /// <summary>VLAN Request (4/1).</summary>
    VlanRequest = 0x0401,

    /// <summary>VLAN Notification (4/2).</summary>
    VlanNotification = 0x0402,

    /// <summary>VN2VN VLAN Notification (4/3, FC-BB-6).</summary>
    Vn2VnVlanNotification = 0x0403,

    /// <summary>VN2VN Probe Request (5/1).</summary>
    ProbeRequest = 0x0501,

    /// <summary>VN2VN Probe Reply (5/2).</summary>
    ProbeReply = 0x0502,

    /// <summary>VN2VN Claim Notification (5/3).</summary>
    ClaimNotification = 0x0503,

    /// <summary>VN2VN Claim Response (5/4).</summary>
    ClaimResponse = 0x0504,

    /// <summary>VN2VN Beacon (5/5).</summary>
    Beacon = 0x0505,
}

/// <summary>Flags of the FIP header (FC-BB-5 table 24, FC-BB-6).</summary>
internal static class FipFlags
{
    /// <summary>FP: fabric provided MAC addresses supported / granted.</summary>
    public const ushort Fpma = 0x8000;

    /// <summary>SP: server provided MAC addresses supported / granted.</summary>
    public const ushort Spma = 0x4000;

    /// <summary>REC (fabric mode, reserved for FC-BB-6 recorded) / P2P (VN2VN point-to-point mode).</summary>
    public const ushort RecOrP2P = 0x0008;

    /// <summary>A: the FCF is available for logins.</summary>
    public const ushort Available = 0x0004;

    /// <summary>S: the advertisement answers a solicitation.</summary>
    public const ushort Solicited = 0x0002;

    /// <summary>F: the advertisement comes from an FCF (F_Port), not from an ENode.</summary>
    public const ushort FPort = 0x0001;
}

/// <summary>
/// The 10-byte FIP header that follows the Ethernet header (FC-BB-5 section 7.8.2):
/// <code>
///  0  version (bits 7-4 = 1)   1  reserved   2-3  operation
///  4  reserved   5  subcode    6-7  descriptor list length in 32-bit words
///  8-9  flags
/// </code>
/// </summary>
internal readonly record struct FipHeader
{
    /// <summary>Bytes of the header.</summary>
    public const int Length = 10;

    /// <summary>The FIP version this codec speaks (the high nibble of the first byte).</summary>
    public const int Version = 1;

    private const int OperationOffset = 2;
    private const int SubcodeOffset = 5;
    private const int DescriptorListLengthOffset = 6;
    private const int FlagsOffset = 8;

    /// <summary>The operation code.</summary>
    public FipOperation Operation { get; init; }

    /// <summary>The subcode within the operation.</summary>
    public byte Subcode { get; init; }

    /// <summary>Length of the descriptor list in 32-bit words.</summary>
    public ushort DescriptorListLengthWords { get; init; }

    /// <summary>The flags (<see cref="FipFlags"/>).</summary>
    public ushort Flags { get; init; }

    /// <summary>Operation and subcode as one value.</summary>
    public FipMessage Message => (FipMessage)(((int)Operation << 8) | Subcode);

    /// <summary>Length of the descriptor list in bytes.</summary>
    public int DescriptorListLength => DescriptorListLengthWords * 4;

    /// <summary>The header for <paramref name="message"/>.</summary>
    public static FipHeader For(FipMessage message, ushort flags, ushort descriptorListLengthWords) => new()
    {
        Operation = (FipOperation)((ushort)message >> 8),
        Subcode = (byte)message,
        Flags = flags,
        DescriptorListLengthWords = descriptorListLengthWords,
    };

    /// <summary>Decodes a header; false when <paramref name="source"/> is too short or the version is not 1.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out FipHeader header)
    {
        header = default;
        if (source.Length < Length || source[0] >> 4 != Version)
        {
            return false;
        }

        header = new FipHeader
        {
            Operation = (FipOperation)BinaryPrimitives.ReadUInt16BigEndian(source[OperationOffset..]),
            Subcode = source[SubcodeOffset],
            DescriptorListLengthWords = BinaryPrimitives.ReadUInt16BigEndian(source[DescriptorListLengthOffset..]),
            Flags = BinaryPrimitives.ReadUInt16BigEndian(source[FlagsOffset..]),
        };
        return true;
    }

    /// <summary>Writes the header (reserved bytes zero) into the first <see cref="Length"/> bytes.</summary>
    public void WriteTo(Span<byte> destination)
    {
        WireFormat.EnsureLength(destination, Length);
        destination[0] = Version << 4;
        destination[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(destination[OperationOffset..], (ushort)Operation);
        destination[4] = 0;
        destination[SubcodeOffset] = Subcode;
        BinaryPrimitives.WriteUInt16BigEndian(destination[DescriptorListLengthOffset..], DescriptorListLengthWords);
        BinaryPrimitives.WriteUInt16BigEndian(destination[FlagsOffset..], Flags);
    }
}
