// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>
/// Text Response (opcode 0x24), RFC 7143 section 11.11.
/// <code>
///  Byte/      0       |       1       |       2       |       3       |
///      +---------------+---------------+---------------+---------------+
///     0|.|.| 0x24      |F|C| Reserved                                  |
///     4|TotalAHSLength | DataSegmentLength                             |
///     8| LUN or Reserved                                               |
///    12|                                                               |
///    16| Initiator Task Tag                                            |
///    20| Target Transfer Tag or 0xffffffff                             |
///    24| StatSN                                                        |
///    28| ExpCmdSN                                                      |
///    32| MaxCmdSN                                                      |
///    36| Reserved (12 bytes)                                           |
///    48+---------------------------------------------------------------+
/// </code>
/// </summary>
internal readonly record struct TextResponseHeader
{
    private const int TargetTransferTagOffset = 20;
    private const int StatSnOffset = 24;
    private const int ExpCmdSnOffset = 28;
    private const int MaxCmdSnOffset = 32;

    /// <summary>F bit: the target has finished the exchange.</summary>
    public bool Final { get; init; }

    /// <summary>C bit: the text continues in the next response.</summary>
    public bool Continue { get; init; }

    /// <summary>Length of the text in bytes.</summary>
    public int DataSegmentLength { get; init; }

    /// <summary>LUN field.</summary>
    public ulong Lun { get; init; }

    /// <summary>Initiator Task Tag echoed from the request.</summary>
    public uint InitiatorTaskTag { get; init; }

    /// <summary>Target Transfer Tag: 0xffffffff when final, else a tag the initiator echoes.</summary>
    public uint TargetTransferTag { get; init; }

    /// <summary>StatSN.</summary>
    public uint StatSn { get; init; }

    /// <summary>ExpCmdSN.</summary>
    public uint ExpCmdSn { get; init; }

    /// <summary>MaxCmdSN.</summary>
    public uint MaxCmdSn { get; init; }

    /// <summary>Writes this header into the first 48 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        var flags = (byte)((Final ? Bhs.FinalBit : 0) | (Continue ? TextRequestHeader.ContinueBit : 0));
        var bhs = Bhs.Begin(destination, IscsiOpcode.TextResponse, immediate: false, flags, DataSegmentLength);
        Bhs.WriteUInt64(bhs, Bhs.LunOffset, Lun);
        Bhs.WriteUInt32(bhs, Bhs.InitiatorTaskTagOffset, InitiatorTaskTag);
        Bhs.WriteUInt32(bhs, TargetTransferTagOffset, TargetTransferTag);
        Bhs.WriteUInt32(bhs, StatSnOffset, StatSn);
        Bhs.WriteUInt32(bhs, ExpCmdSnOffset, ExpCmdSn);
        Bhs.WriteUInt32(bhs, MaxCmdSnOffset, MaxCmdSn);
    }

    /// <summary>Decodes a Text Response BHS.</summary>
    public static TextResponseHeader Read(ReadOnlySpan<byte> bhs)
    {
        Bhs.AssertOpcode(bhs, IscsiOpcode.TextResponse);
        var flags = bhs[Bhs.FlagsOffset];
        return new TextResponseHeader
        {
            Final = (flags & Bhs.FinalBit) != 0,
            Continue = (flags & TextRequestHeader.ContinueBit) != 0,
            DataSegmentLength = Bhs.ReadDataSegmentLength(bhs),
            Lun = Bhs.ReadUInt64(bhs, Bhs.LunOffset),
            InitiatorTaskTag = Bhs.ReadUInt32(bhs, Bhs.InitiatorTaskTagOffset),
            TargetTransferTag = Bhs.ReadUInt32(bhs, TargetTransferTagOffset),
            StatSn = Bhs.ReadUInt32(bhs, StatSnOffset),
            ExpCmdSn = Bhs.ReadUInt32(bhs, ExpCmdSnOffset),
            MaxCmdSn = Bhs.ReadUInt32(bhs, MaxCmdSnOffset),
        };
    }
}
