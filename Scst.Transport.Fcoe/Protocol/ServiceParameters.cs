// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Transport.Fcoe.Protocol;

/// <summary>Common features bits of the common service parameters (FC-LS-3 table 144).</summary>
internal static class CommonFeatures
{
    /// <summary>Bit 15: continuously increasing relative offset (PLOGI); NPIV supported / clean address (FLOGI and its ACC).</summary>
    public const ushort ContinuouslyIncreasingOffset = 0x8000;

    /// <summary>Bit 15 of an FLOGI or FDISC: the N_Port supports multiple N_Port_IDs (NPIV) and may ask for more with FDISC.</summary>
    public const ushort MultipleNPortIdSupport = 0x8000;

    /// <summary>Bit 14: random relative offset (PLOGI).</summary>
    public const ushort RandomOffset = 0x4000;

    /// <summary>Bit 13: the vendor version level field is valid (PLOGI); multiple N_Port_ID support (FLOGI ACC).</summary>
    public const ushort ValidVendorVersion = 0x2000;

    /// <summary>Bit 13 of an FLOGI LS_ACC: the F_Port assigns further N_Port_IDs to FDISC (NPIV).</summary>
    public const ushort MultipleNPortIdAssignment = 0x2000;

    /// <summary>Bit 12: N_Port (0) / F_Port (1). Must be clear in an N_Port's FLOGI and its ACC in VN2VN mode.</summary>
    public const ushort FPort = 0x1000;

    /// <summary>Bit 11: alternate BB credit management.</summary>
    public const ushort AlternateBbCredit = 0x0800;

    /// <summary>Bit 10: E_D_TOV resolution in nanoseconds rather than milliseconds.</summary>
    public const ushort EdTovResolution = 0x0400;

    /// <summary>Bit 9: multicast supported (FLOGI ACC).</summary>
    public const ushort Multicast = 0x0200;

    /// <summary>Bit 8: broadcast supported (FLOGI ACC).</summary>
    public const ushort Broadcast = 0x0100;

    /// <summary>Bit 5: security bit.</summary>
    public const ushort Security = 0x0020;

    /// <summary>Bit 4: clock synchronisation capable.</summary>
    public const ushort ClockSync = 0x0010;

    /// <summary>Bit 3: R_T_TOV value is 100 microseconds.</summary>
    public const ushort RtTov = 0x0008;

    /// <summary>Bit 2: dynamic half duplex supported.</summary>
    public const ushort DynamicHalfDuplex = 0x0004;

    /// <summary>Bit 0: payload length (PLOGI: 256-byte payload).</summary>
    public const ushort PayloadLength = 0x0001;
}

/// <summary>Service options bits of a class service parameters block (FC-LS-3 table 151).</summary>
internal static class ClassServiceOptions
{
    /// <summary>Bit 15: the class is supported (the block is valid).</summary>
    public const ushort Valid = 0x8000;

    /// <summary>Bit 11: sequential delivery.</summary>
    public const ushort SequentialDelivery = 0x0800;
}

/// <summary>
/// The 116-byte payload of PLOGI, FLOGI, FDISC and their LS_ACC (FC-LS-3 section 4.2):
/// <code>
///   0  ELS code (PLOGI 0x03, FLOGI 0x04, FDISC 0x51, LS_ACC 0x02), 3 reserved
///   4  common service parameters (16): 4 highest / 5 lowest FC-PH version, 6-7 BB credit, 8-9 common features,
///      10-11 BB_SC_N (bits 15-12) and receive data field size (bits 11-0), 12-13 total concurrent sequences and
///      14-15 relative offset by category (PLOGI) or 12-15 R_A_TOV (FLOGI ACC), 16-19 E_D_TOV
///  20  port name (8)     28  node name (8)
///  36 / 52 / 68 / 84  class 1 / 2 / 3 / 4 service parameters (16 each)
///      class 3: +0 service options, +2 initiator control, +4 recipient control, +6 receive data field size,
///      +8 concurrent sequences, +10 end-to-end credit, +13 open sequences per exchange
/// 100  vendor version level (16)
/// </code>
/// Classes 1, 2 and 4 and the vendor version are written as zeros and not kept by <see cref="TryRead"/>: FCoE carries
/// class 3 only.
/// </summary>
internal readonly record struct ServiceParameters
{
    /// <summary>Bytes of the payload, ELS code included.</summary>
    public const int Length = 116;

    /// <summary>The FC-PH version both fields carry in practice (FC-PH-3 and later report 0x20).</summary>
    public const byte FcPhVersion = 0x20;

    /// <summary>The receive data field size bits of <see cref="ReceiveDataFieldSize"/>.</summary>
    public const ushort ReceiveDataFieldSizeMask = 0x0FFF;

    private const int CommonOffset = 4;
    private const int PortNameOffset = 20;
    private const int NodeNameOffset = 28;
    private const int Class3Offset = 68;

    /// <summary>Highest FC-PH version supported.</summary>
    public byte HighestVersion { get; init; }

    /// <summary>Lowest FC-PH version supported.</summary>
    public byte LowestVersion { get; init; }

    /// <summary>Buffer-to-buffer credit.</summary>
    public ushort BbCredit { get; init; }

    /// <summary>Common features (<see cref="Protocol.CommonFeatures"/>).</summary>
    public ushort CommonFeatures { get; init; }

    /// <summary>BB_SC_N (bits 15-12) and the receive data field size (bits 11-0): the largest payload this port takes.</summary>
    public ushort ReceiveDataFieldSize { get; init; }

    /// <summary>Total concurrent sequences (PLOGI); the upper half of R_A_TOV in an FLOGI ACC.</summary>
    public ushort TotalConcurrentSequences { get; init; }

    /// <summary>Relative offset by information category (PLOGI); the lower half of R_A_TOV in an FLOGI ACC.</summary>
    public ushort RelativeOffsetByCategory { get; init; }

    /// <summary>E_D_TOV in milliseconds (or nanoseconds with <see cref="Protocol.CommonFeatures.EdTovResolution"/>).</summary>
    public uint ErrorDetectTimeout { get; init; }

    /// <summary>Port name (WWPN).</summary>
    public ulong PortName { get; init; }

    /// <summary>Node name (WWNN).</summary>
    public ulong NodeName { get; init; }

    /// <summary>Class 3 service options (<see cref="ClassServiceOptions"/>).</summary>
    public ushort Class3ServiceOptions { get; init; }

    /// <summary>Class 3 initiator control.</summary>
    public ushort Class3InitiatorControl { get; init; }

    /// <summary>Class 3 recipient control.</summary>
    public ushort Class3RecipientControl { get; init; }

    /// <summary>Class 3 receive data field size.</summary>
    public ushort Class3ReceiveDataFieldSize { get; init; }

    /// <summary>Class 3 concurrent sequences.</summary>
    public ushort Class3ConcurrentSequences { get; init; }

    /// <summary>Class 3 end-to-end credit.</summary>
    public ushort Class3EndToEndCredit { get; init; }

    /// <summary>Class 3 open sequences per exchange.</summary>
    public byte Class3OpenSequencesPerExchange { get; init; }

    /// <summary>R_A_TOV in milliseconds: bytes 12-15 as one number, as an FLOGI ACC carries it.</summary>
    public uint ResourceAllocationTimeout
    {
        get => ((uint)TotalConcurrentSequences << 16) | RelativeOffsetByCategory;
        init
        {
            TotalConcurrentSequences = (ushort)(value >> 16);
            RelativeOffsetByCategory = (ushort)value;
        }
    }

    /// <summary>The largest payload the port receives: the low 12 bits of <see cref="ReceiveDataFieldSize"/>.</summary>
    public int MaxPayload => ReceiveDataFieldSize & ReceiveDataFieldSizeMask;

    /// <summary>Decodes the payload; false when it is shorter than <see cref="Length"/>. The ELS code is not checked.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out ServiceParameters parameters)
    {
        parameters = default;
        if (payload.Length < Length)
        {
            return false;
        }

        var common = payload[CommonOffset..];
        var class3 = payload[Class3Offset..];
        parameters = new ServiceParameters
        {
            HighestVersion = common[0],
            LowestVersion = common[1],
            BbCredit = BinaryPrimitives.ReadUInt16BigEndian(common[2..]),
            CommonFeatures = BinaryPrimitives.ReadUInt16BigEndian(common[4..]),
            ReceiveDataFieldSize = BinaryPrimitives.ReadUInt16BigEndian(common[6..]),
            TotalConcurrentSequences = BinaryPrimitives.ReadUInt16BigEndian(common[8..]),
            RelativeOffsetByCategory = BinaryPrimitives.ReadUInt16BigEndian(common[10..]),
            ErrorDetectTimeout = BinaryPrimitives.ReadUInt32BigEndian(common[12..]),
            PortName = WireFormat.ReadWwn(payload[PortNameOffset..]),
            NodeName = WireFormat.ReadWwn(payload[NodeNameOffset..]),
            Class3ServiceOptions = BinaryPrimitives.ReadUInt16BigEndian(class3),
            Class3InitiatorControl = BinaryPrimitives.ReadUInt16BigEndian(class3[2..]),
            Class3RecipientControl = BinaryPrimitives.ReadUInt16BigEndian(class3[4..]),
            Class3ReceiveDataFieldSize = BinaryPrimitives.ReadUInt16BigEndian(class3[6..]),
            Class3ConcurrentSequences = BinaryPrimitives.ReadUInt16BigEndian(class3[8..]),
            Class3EndToEndCredit = BinaryPrimitives.ReadUInt16BigEndian(class3[10..]),
            Class3OpenSequencesPerExchange = class3[13],
        };
        return true;
    }

    /// <summary>Writes the 116-byte payload with ELS code <paramref name="code"/>; returns <see cref="Length"/>.</summary>
    public int WriteTo(Span<byte> destination, byte code)
    {
        var payload = Els.Begin(destination, code, Length);
        var common = payload[CommonOffset..];
        common[0] = HighestVersion;
        common[1] = LowestVersion;
        BinaryPrimitives.WriteUInt16BigEndian(common[2..], BbCredit);
        BinaryPrimitives.WriteUInt16BigEndian(common[4..], CommonFeatures);
        BinaryPrimitives.WriteUInt16BigEndian(common[6..], ReceiveDataFieldSize);
        BinaryPrimitives.WriteUInt16BigEndian(common[8..], TotalConcurrentSequences);
        BinaryPrimitives.WriteUInt16BigEndian(common[10..], RelativeOffsetByCategory);
        BinaryPrimitives.WriteUInt32BigEndian(common[12..], ErrorDetectTimeout);
        WireFormat.WriteWwn(payload[PortNameOffset..], PortName);
        WireFormat.WriteWwn(payload[NodeNameOffset..], NodeName);
        var class3 = payload[Class3Offset..];
        BinaryPrimitives.WriteUInt16BigEndian(class3, Class3ServiceOptions);
        BinaryPrimitives.WriteUInt16BigEndian(class3[2..], Class3InitiatorControl);
        BinaryPrimitives.WriteUInt16BigEndian(class3[4..], Class3RecipientControl);
        BinaryPrimitives.WriteUInt16BigEndian(class3[6..], Class3ReceiveDataFieldSize);
        BinaryPrimitives.WriteUInt16BigEndian(class3[8..], Class3ConcurrentSequences);
        BinaryPrimitives.WriteUInt16BigEndian(class3[10..], Class3EndToEndCredit);
        class3[13] = Class3OpenSequencesPerExchange;
        return Length;
    }
}
