// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>
/// SCSI Data-In (opcode 0x25), RFC 7143 section 11.7.
/// <code>
///  Byte/      0       |       1       |       2       |       3       |
///      +---------------+---------------+---------------+---------------+
///     0|.|.| 0x25      |F|A|0 0 0|O|U|S| Reserved      | Status or Rsvd|
///     4|TotalAHSLength | DataSegmentLength                             |
///     8| LUN or Reserved                                               |
///    12|                                                               |
///    16| Initiator Task Tag                                            |
///    20| Target Transfer Tag or 0xffffffff                             |
///    24| StatSN or Reserved                                            |
///    28| ExpCmdSN                                                      |
///    32| MaxCmdSN                                                      |
///    36| DataSN                                                        |
///    40| Buffer Offset                                                 |
///    44| Residual Count                                                |
///    48+---------------------------------------------------------------+
/// </code>
/// With S=1 (status carried here, F must also be 1) Status, StatSN and the residual fields are valid.
/// </summary>
internal readonly record struct DataInHeader
{
    private const byte AcknowledgeBit = 0x40;
    private const byte OverflowBit = 0x04;
    private const byte UnderflowBit = 0x02;
    private const byte StatusBit = 0x01;
    private const int StatusOffset = 3;
    private const int TargetTransferTagOffset = 20;
    private const int StatSnOffset = 24;
    private const int ExpCmdSnOffset = 28;
    private const int MaxCmdSnOffset = 32;
    private const int DataSnOffset = 36;
    private const int BufferOffsetOffset = 40;
    private const int ResidualCountOffset = 44;

    /// <summary>F bit: last PDU of the sequence.</summary>
    public bool Final { get; init; }

    /// <summary>A bit: the target asks for a DataACK (ErrorRecoveryLevel &gt; 0).</summary>
    public bool Acknowledge { get; init; }

    /// <summary>O bit: residual overflow (with S).</summary>
    public bool Overflow { get; init; }

    /// <summary>U bit: residual underflow (with S).</summary>
    public bool Underflow { get; init; }

    /// <summary>S bit: the PDU carries the command's status.</summary>
    public bool HasStatus { get; init; }

    /// <summary>SCSI status (with S).</summary>
    public byte Status { get; init; }

    /// <summary>Length of the data in bytes.</summary>
    public int DataSegmentLength { get; init; }

    /// <summary>LUN (with A), else reserved.</summary>
    public ulong Lun { get; init; }

    /// <summary>Initiator Task Tag.</summary>
    public uint InitiatorTaskTag { get; init; }

    /// <summary>Target Transfer Tag (with A), else 0xffffffff.</summary>
    public uint TargetTransferTag { get; init; }

    /// <summary>StatSN (with S).</summary>
    public uint StatSn { get; init; }

    /// <summary>ExpCmdSN.</summary>
    public uint ExpCmdSn { get; init; }

    /// <summary>MaxCmdSN.</summary>
    public uint MaxCmdSn { get; init; }

    /// <summary>DataSN.</summary>
    public uint DataSn { get; init; }

    /// <summary>Offset of this data in the command's buffer, in bytes.</summary>
    public uint BufferOffset { get; init; }

    /// <summary>Residual count (with S).</summary>
    public uint ResidualCount { get; init; }

    /// <summary>Writes this header into the first 48 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        var flags = (byte)((Final ? Bhs.FinalBit : 0) | (Acknowledge ? AcknowledgeBit : 0) | (Overflow ? OverflowBit : 0)
            | (Underflow ? UnderflowBit : 0) | (HasStatus ? StatusBit : 0));
        var bhs = Bhs.Begin(destination, IscsiOpcode.DataIn, immediate: false, flags, DataSegmentLength);
        bhs[StatusOffset] = Status;
        Bhs.WriteUInt64(bhs, Bhs.LunOffset, Lun);
        Bhs.WriteUInt32(bhs, Bhs.InitiatorTaskTagOffset, InitiatorTaskTag);
        Bhs.WriteUInt32(bhs, TargetTransferTagOffset, TargetTransferTag);
        Bhs.WriteUInt32(bhs, StatSnOffset, StatSn);
        Bhs.WriteUInt32(bhs, ExpCmdSnOffset, ExpCmdSn);
        Bhs.WriteUInt32(bhs, MaxCmdSnOffset, MaxCmdSn);
        Bhs.WriteUInt32(bhs, DataSnOffset, DataSn);
        Bhs.WriteUInt32(bhs, BufferOffsetOffset, BufferOffset);
        Bhs.WriteUInt32(bhs, ResidualCountOffset, ResidualCount);
    }

    /// <summary>Decodes a Data-In BHS.</summary>
    public static DataInHeader Read(ReadOnlySpan<byte> bhs)
    {
        Bhs.AssertOpcode(bhs, IscsiOpcode.DataIn);
        var flags = bhs[Bhs.FlagsOffset];
        return new DataInHeader
        {
            Final = (flags & Bhs.FinalBit) != 0,
            Acknowledge = (flags & AcknowledgeBit) != 0,
            Overflow = (flags & OverflowBit) != 0,
            Underflow = (flags & UnderflowBit) != 0,
            HasStatus = (flags & StatusBit) != 0,
            Status = bhs[StatusOffset],
            DataSegmentLength = Bhs.ReadDataSegmentLength(bhs),
            Lun = Bhs.ReadUInt64(bhs, Bhs.LunOffset),
            InitiatorTaskTag = Bhs.ReadUInt32(bhs, Bhs.InitiatorTaskTagOffset),
            TargetTransferTag = Bhs.ReadUInt32(bhs, TargetTransferTagOffset),
            StatSn = Bhs.ReadUInt32(bhs, StatSnOffset),
            ExpCmdSn = Bhs.ReadUInt32(bhs, ExpCmdSnOffset),
            MaxCmdSn = Bhs.ReadUInt32(bhs, MaxCmdSnOffset),
            DataSn = Bhs.ReadUInt32(bhs, DataSnOffset),
            BufferOffset = Bhs.ReadUInt32(bhs, BufferOffsetOffset),
            ResidualCount = Bhs.ReadUInt32(bhs, ResidualCountOffset),
        };
    }
}
