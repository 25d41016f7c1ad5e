// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>Type field of a SNACK Request (RFC 7143 section 11.16.1).</summary>
internal enum SnackType : byte
{
    /// <summary>Data/R2T SNACK.</summary>
    DataOrR2T = 0,

    /// <summary>Status SNACK.</summary>
    Status = 1,

    /// <summary>DataACK.</summary>
    DataAck = 2,

    /// <summary>R-Data SNACK.</summary>
    ResegmentedData = 3,
}

/// <summary>
/// SNACK Request (opcode 0x10), RFC 7143 section 11.16.
/// <code>
///  Byte/      0       |       1       |       2       |       3       |
///      +---------------+---------------+---------------+---------------+
///     0|.|.| 0x10      |1|.|.|.| Type  | Reserved                      |
///     4|TotalAHSLength | DataSegmentLength                             |
///     8| LUN or Reserved                                               |
///    12|                                                               |
///    16| Initiator Task Tag or 0xffffffff                              |
///    20| Target Transfer Tag or SNACK Tag or 0xffffffff                |
///    24| Reserved                                                      |
///    28| ExpStatSN                                                     |
///    32| Reserved (8 bytes)                                            |
///    40| BegRun                                                        |
///    44| RunLength                                                     |
///    48+---------------------------------------------------------------+
/// </code>
/// </summary>
internal readonly record struct SnackRequestHeader
{
    private const byte TypeMask = 0x0f;
    private const int TargetTransferTagOffset = 20;
    private const int ExpStatSnOffset = 28;
    private const int BegRunOffset = 40;
    private const int RunLengthOffset = 44;

    /// <summary>Type.</summary>
    public SnackType Type { get; init; }

    /// <summary>LUN field (DataACK).</summary>
    public ulong Lun { get; init; }

    /// <summary>Initiator Task Tag.</summary>
    public uint InitiatorTaskTag { get; init; }

    /// <summary>Target Transfer Tag (DataACK) or SNACK Tag (R-Data), else 0xffffffff.</summary>
    public uint TargetTransferTagOrSnackTag { get; init; }

    /// <summary>ExpStatSN.</summary>
    public uint ExpStatSn { get; init; }

    /// <summary>First DataSN, R2TSN or StatSN requested.</summary>
    public uint BegRun { get; init; }

    /// <summary>Number of PDUs requested; 0 means all from BegRun on.</summary>
    public uint RunLength { get; init; }

    /// <summary>Writes this header into the first 48 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        var bhs = Bhs.Begin(destination, IscsiOpcode.SnackRequest, immediate: false,
            (byte)(Bhs.FinalBit | ((byte)Type & TypeMask)), dataSegmentLengthBytes: 0);
        Bhs.WriteUInt64(bhs, Bhs.LunOffset, Lun);
        Bhs.WriteUInt32(bhs, Bhs.InitiatorTaskTagOffset, InitiatorTaskTag);
        Bhs.WriteUInt32(bhs, TargetTransferTagOffset, TargetTransferTagOrSnackTag);
        Bhs.WriteUInt32(bhs, ExpStatSnOffset, ExpStatSn);
        Bhs.WriteUInt32(bhs, BegRunOffset, BegRun);
        Bhs.WriteUInt32(bhs, RunLengthOffset, RunLength);
    }

    /// <summary>Decodes a SNACK Request BHS.</summary>
    public static SnackRequestHeader Read(ReadOnlySpan<byte> bhs)
    {
        Bhs.AssertOpcode(bhs, IscsiOpcode.SnackRequest);
        return new SnackRequestHeader
        {
            Type = (SnackType)(bhs[Bhs.FlagsOffset] & TypeMask),
            Lun = Bhs.ReadUInt64(bhs, Bhs.LunOffset),
            InitiatorTaskTag = Bhs.ReadUInt32(bhs, Bhs.InitiatorTaskTagOffset),
            TargetTransferTagOrSnackTag = Bhs.ReadUInt32(bhs, TargetTransferTagOffset),
            ExpStatSn = Bhs.ReadUInt32(bhs, ExpStatSnOffset),
            BegRun = Bhs.ReadUInt32(bhs, BegRunOffset),
            RunLength = Bhs.ReadUInt32(bhs, RunLengthOffset),
        };
    }
}
