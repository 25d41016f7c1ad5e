// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>
/// NOP-Out (opcode 0x00), RFC 7143 section 11.18.
/// <code>
///  Byte/      0       |       1       |       2       |       3       |
///      +---------------+---------------+---------------+---------------+
///     0|.|I| 0x00      |1| Reserved                                    |
///     4|TotalAHSLength | DataSegmentLength                             |
///     8| LUN or Reserved                                               |
///    12|                                                               |
///    16| Initiator Task Tag or 0xffffffff                              |
///    20| Target Transfer Tag or 0xffffffff                             |
///    24| CmdSN                                                         |
///    28| ExpStatSN                                                     |
///    32| Reserved (16 bytes)                                           |
///    48+---------------------------------------------------------------+
/// </code>
/// </summary>
internal readonly record struct NopOutHeader
{
    private const int TargetTransferTagOffset = 20;
    private const int CmdSnOffset = 24;
    private const int ExpStatSnOffset = 28;

    /// <summary>Immediate delivery (I bit).</summary>
    public bool Immediate { get; init; }

    /// <summary>Length of the ping data in bytes.</summary>
    public int DataSegmentLength { get; init; }

    /// <summary>LUN field.</summary>
    public ulong Lun { get; init; }

    /// <summary>Initiator Task Tag; 0xffffffff when answering a target's NOP-In.</summary>
    public uint InitiatorTaskTag { get; init; }

    /// <summary>Target Transfer Tag copied from the NOP-In answered, else 0xffffffff.</summary>
    public uint TargetTransferTag { get; init; }

    /// <summary>CmdSN.</summary>
    public uint CmdSn { get; init; }

    /// <summary>ExpStatSN.</summary>
    public uint ExpStatSn { get; init; }

    /// <summary>Writes this header into the first 48 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        var bhs = Bhs.Begin(destination, IscsiOpcode.NopOut, Immediate, Bhs.FinalBit, DataSegmentLength);
        Bhs.WriteUInt64(bhs, Bhs.LunOffset, Lun);
        Bhs.WriteUInt32(bhs, Bhs.InitiatorTaskTagOffset, InitiatorTaskTag);
        Bhs.WriteUInt32(bhs, TargetTransferTagOffset, TargetTransferTag);
        Bhs.WriteUInt32(bhs, CmdSnOffset, CmdSn);
        Bhs.WriteUInt32(bhs, ExpStatSnOffset, ExpStatSn);
    }

    /// <summary>Decodes a NOP-Out BHS.</summary>
    public static NopOutHeader Read(ReadOnlySpan<byte> bhs)
    {
        Bhs.AssertOpcode(bhs, IscsiOpcode.NopOut);
        return new NopOutHeader
        {
            Immediate = (bhs[Bhs.OpcodeOffset] & Bhs.ImmediateBit) != 0,
            DataSegmentLength = Bhs.ReadDataSegmentLength(bhs),
            Lun = Bhs.ReadUInt64(bhs, Bhs.LunOffset),
            InitiatorTaskTag = Bhs.ReadUInt32(bhs, Bhs.InitiatorTaskTagOffset),
            TargetTransferTag = Bhs.ReadUInt32(bhs, TargetTransferTagOffset),
            CmdSn = Bhs.ReadUInt32(bhs, CmdSnOffset),
            ExpStatSn = Bhs.ReadUInt32(bhs, ExpStatSnOffset),
        };
    }
}
