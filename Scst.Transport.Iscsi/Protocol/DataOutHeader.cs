// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>
/// SCSI Data-Out (opcode 0x05), RFC 7143 section 11.7.
/// <code>
///  Byte/      0       |       1       |       2       |       3       |
///      +---------------+---------------+---------------+---------------+
///     0|.|.| 0x05      |F| Reserved                                    |
///     4|TotalAHSLength | DataSegmentLength                             |
///     8| LUN or Reserved                                               |
///    12|                                                               |
///    16| Initiator Task Tag                                            |
///    20| Target Transfer Tag or 0xffffffff                             |
///    24| Reserved                                                      |
///    28| ExpStatSN                                                     |
///    32| Reserved                                                      |
///    36| DataSN                                                        |
///    40| Buffer Offset                                                 |
///    44| Reserved                                                      |
///    48+---------------------------------------------------------------+
/// </code>
/// </summary>
internal readonly record struct DataOutHeader
{
    private const int TargetTransferTagOffset = 20;
    private const int ExpStatSnOffset = 28;
    private const int DataSnOffset = 36;
    private const int BufferOffsetOffset = 40;

    /// <summary>F bit: last PDU of the sequence.</summary>
    public bool Final { get; init; }

    /// <summary>Length of the data in bytes.</summary>
    public int DataSegmentLength { get; init; }

    /// <summary>LUN field.</summary>
    public ulong Lun { get; init; }

    /// <summary>Initiator Task Tag.</summary>
    public uint InitiatorTaskTag { get; init; }

    /// <summary>Target Transfer Tag of the R2T answered, or 0xffffffff for unsolicited data.</summary>
    public uint TargetTransferTag { get; init; }

    /// <summary>ExpStatSN.</summary>
    public uint ExpStatSn { get; init; }

    /// <summary>DataSN within the sequence.</summary>
    public uint DataSn { get; init; }

    /// <summary>Offset of this data within the command's buffer, in bytes.</summary>
    public uint BufferOffset { get; init; }

    /// <summary>Writes this header into the first 48 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        var bhs = Bhs.Begin(destination, IscsiOpcode.DataOut, immediate: false, Final ? Bhs.FinalBit : (byte)0, DataSegmentLength);
        Bhs.WriteUInt64(bhs, Bhs.LunOffset, Lun);
        Bhs.WriteUInt32(bhs, Bhs.InitiatorTaskTagOffset, InitiatorTaskTag);
        Bhs.WriteUInt32(bhs, TargetTransferTagOffset, TargetTransferTag);
        Bhs.WriteUInt32(bhs, ExpStatSnOffset, ExpStatSn);
        Bhs.WriteUInt32(bhs, DataSnOffset, DataSn);
        Bhs.WriteUInt32(bhs, BufferOffsetOffset, BufferOffset);
    }

    /// <summary>Decodes a Data-Out BHS.</summary>
    public static DataOutHeader Read(ReadOnlySpan<byte> bhs)
    {
        Bhs.AssertOpcode(bhs, IscsiOpcode.DataOut);
        return new DataOutHeader
        {
            Final = (bhs[Bhs.FlagsOffset] & Bhs.FinalBit) != 0,
            DataSegmentLength = Bhs.ReadDataSegmentLength(bhs),
            Lun = Bhs.ReadUInt64(bhs, Bhs.LunOffset),
            InitiatorTaskTag = Bhs.ReadUInt32(bhs, Bhs.InitiatorTaskTagOffset),
            TargetTransferTag = Bhs.ReadUInt32(bhs, TargetTransferTagOffset),
            ExpStatSn = Bhs.ReadUInt32(bhs, ExpStatSnOffset),
            DataSn = Bhs.ReadUInt32(bhs, DataSnOffset),
            BufferOffset = Bhs.ReadUInt32(bhs, BufferOffsetOffset),
        };
    }
}
