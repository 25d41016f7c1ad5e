// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>
/// Text Request (opcode 0x04), RFC 7143 section 11.10.
/// <code>
///  Byte/      0       |       1       |       2       |       3       |
///      +---------------+---------------+---------------+---------------+
///     0|.|I| 0x04      |F|C| Reserved                                  |
///     4|TotalAHSLength | DataSegmentLength                             |
///     8| LUN or Reserved                                               |
///    12|                                                               |
///    16| Initiator Task Tag                                            |
///    20| Target Transfer Tag or 0xffffffff                             |
///    24| CmdSN                                                         |
///    28| ExpStatSN                                                     |
///    32| Reserved (16 bytes)                                           |
///    48+---------------------------------------------------------------+
/// </code>
/// </summary>
internal readonly record struct TextRequestHeader
{
    /// <summary>C bit of Text Request and Text Response.</summary>
    public const byte ContinueBit = 0x40;

    private const int TargetTransferTagOffset = 20;
    private const int CmdSnOffset = 24;
    private const int ExpStatSnOffset = 28;

    /// <summary>Immediate delivery (I bit).</summary>
    public bool Immediate { get; init; }

    /// <summary>F bit: last request of the exchange.</summary>
    public bool Final { get; init; }

    /// <summary>C bit: the text continues in the next request.</summary>
    public bool Continue { get; init; }

    /// <summary>Length of the text in bytes.</summary>
    public int DataSegmentLength { get; init; }

    /// <summary>LUN field.</summary>
    public ulong Lun { get; init; }

    /// <summary>Initiator Task Tag.</summary>
    public uint InitiatorTaskTag { get; init; }

    /// <summary>Target Transfer Tag copied from the previous response, or 0xffffffff.</summary>
    public uint TargetTransferTag { get; init; }

    /// <summary>CmdSN.</summary>
    public uint CmdSn { get; init; }

    /// <summary>ExpStatSN.</summary>
    public uint ExpStatSn { get; init; }

    /// <summary>Writes this header into the first 48 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        var flags = (byte)((Final ? Bhs.FinalBit : 0) | (Continue ? ContinueBit : 0));
        var bhs = Bhs.Begin(destination, IscsiOpcode.TextRequest, Immediate, flags, DataSegmentLength);
        Bhs.WriteUInt64(bhs, Bhs.LunOffset, Lun);
        Bhs.WriteUInt32(bhs, Bhs.InitiatorTaskTagOffset, InitiatorTaskTag);
        Bhs.WriteUInt32(bhs, TargetTransferTagOffset, TargetTransferTag);
        Bhs.WriteUInt32(bhs, CmdSnOffset, CmdSn);
        Bhs.WriteUInt32(bhs, ExpStatSnOffset, ExpStatSn);
    }

    /// <summary>Decodes a Text Request BHS.</summary>
    public static TextRequestHeader Read(ReadOnlySpan<byte> bhs)
    {
        Bhs.AssertOpcode(bhs, IscsiOpcode.TextRequest);
        var flags = bhs[Bhs.FlagsOffset];
        return new TextRequestHeader
        {
            Immediate = (bhs[Bhs.OpcodeOffset] & Bhs.ImmediateBit) != 0,
            Final = (flags & Bhs.FinalBit) != 0,
            Continue = (flags & ContinueBit) != 0,
            DataSegmentLength = Bhs.ReadDataSegmentLength(bhs),
            Lun = Bhs.ReadUInt64(bhs, Bhs.LunOffset),
            InitiatorTaskTag = Bhs.ReadUInt32(bhs, Bhs.InitiatorTaskTagOffset),
            TargetTransferTag = Bhs.ReadUInt32(bhs, TargetTransferTagOffset),
            CmdSn = Bhs.ReadUInt32(bhs, CmdSnOffset),
            ExpStatSn = Bhs.ReadUInt32(bhs, ExpStatSnOffset),
        };
    }
}
