// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>
/// Ready To Transfer, R2T (opcode 0x31), RFC 7143 section 11.8.
/// <code>
///  Byte/      0       |       1       |       2       |       3       |
///      +---------------+---------------+---------------+---------------+
///     0|.|.| 0x31      |1| Reserved                                    |
///     4|TotalAHSLength | DataSegmentLength                             |
///     8| LUN                                                           |
///    12|                                                               |
///    16| Initiator Task Tag                                            |
///    20| Target Transfer Tag                                           |
///    24| StatSN                                                        |
///    28| ExpCmdSN                                                      |
///    32| MaxCmdSN                                                      |
///    36| R2TSN                                                         |
///    40| Buffer Offset                                                 |
///    44| Desired Data Transfer Length                                  |
///    48+---------------------------------------------------------------+
/// </code>
/// </summary>
internal readonly record struct ReadyToTransferHeader
{
    private const int TargetTransferTagOffset = 20;
    private const int StatSnOffset = 24;
    private const int ExpCmdSnOffset = 28;
    private const int MaxCmdSnOffset = 32;
    private const int R2TSnOffset = 36;
    private const int BufferOffsetOffset = 40;
    private const int DesiredDataTransferLengthOffset = 44;

    /// <summary>LUN.</summary>
    public ulong Lun { get; init; }

    /// <summary>Initiator Task Tag of the command.</summary>
    public uint InitiatorTaskTag { get; init; }

    /// <summary>Target Transfer Tag the initiator copies into its Data-Out PDUs.</summary>
    public uint TargetTransferTag { get; init; }

    /// <summary>StatSN (the next StatSN, not advanced by an R2T).</summary>
    public uint StatSn { get; init; }

    /// <summary>ExpCmdSN.</summary>
    public uint ExpCmdSn { get; init; }

    /// <summary>MaxCmdSN.</summary>
    public uint MaxCmdSn { get; init; }

    /// <summary>R2TSN within the command.</summary>
    public uint R2TSn { get; init; }

    /// <summary>Offset of the requested data in the command's buffer, in bytes.</summary>
    public uint BufferOffset { get; init; }

    /// <summary>Number of bytes requested.</summary>
    public uint DesiredDataTransferLength { get; init; }

    /// <summary>Writes this header into the first 48 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        var bhs = Bhs.Begin(destination, IscsiOpcode.ReadyToTransfer, immediate: false, Bhs.FinalBit, dataSegmentLengthBytes: 0);
        Bhs.WriteUInt64(bhs, Bhs.LunOffset, Lun);
        Bhs.WriteUInt32(bhs, Bhs.InitiatorTaskTagOffset, InitiatorTaskTag);
        Bhs.WriteUInt32(bhs, TargetTransferTagOffset, TargetTransferTag);
        Bhs.WriteUInt32(bhs, StatSnOffset, StatSn);
        Bhs.WriteUInt32(bhs, ExpCmdSnOffset, ExpCmdSn);
        Bhs.WriteUInt32(bhs, MaxCmdSnOffset, MaxCmdSn);
        Bhs.WriteUInt32(bhs, R2TSnOffset, R2TSn);
        Bhs.WriteUInt32(bhs, BufferOffsetOffset, BufferOffset);
        Bhs.WriteUInt32(bhs, DesiredDataTransferLengthOffset, DesiredDataTransferLength);
    }

    /// <summary>Decodes an R2T BHS.</summary>
    public static ReadyToTransferHeader Read(ReadOnlySpan<byte> bhs)
    {
        Bhs.AssertOpcode(bhs, IscsiOpcode.ReadyToTransfer);
        return new ReadyToTransferHeader
        {
            Lun = Bhs.ReadUInt64(bhs, Bhs.LunOffset),
            InitiatorTaskTag = Bhs.ReadUInt32(bhs, Bhs.InitiatorTaskTagOffset),
            TargetTransferTag = Bhs.ReadUInt32(bhs, TargetTransferTagOffset),
            StatSn = Bhs.ReadUInt32(bhs, StatSnOffset),
            ExpCmdSn = Bhs.ReadUInt32(bhs, ExpCmdSnOffset),
            MaxCmdSn = Bhs.ReadUInt32(bhs, MaxCmdSnOffset),
            R2TSn = Bhs.ReadUInt32(bhs, R2TSnOffset),
            BufferOffset = Bhs.ReadUInt32(bhs, BufferOffsetOffset),
            DesiredDataTransferLength = Bhs.ReadUInt32(bhs, DesiredDataTransferLengthOffset),
        };
    }
}
