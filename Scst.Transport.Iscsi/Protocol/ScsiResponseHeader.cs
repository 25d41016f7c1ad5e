// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Buffers.Binary;

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>
/// SCSI Response (opcode 0x21), RFC 7143 section 11.4.
/// <code>
///  Byte/      0       |       1       |       2       |       3       |
///      +---------------+---------------+---------------+---------------+
///     0|.|.| 0x21      |1|. .|o|u|O|U|.| Response      | Status        |
///     4|TotalAHSLength | DataSegmentLength                             |
///     8| Reserved (8 bytes)                                            |
///    16| Initiator Task Tag                                            |
///    20| SNACK Tag or Reserved                                         |
///    24| StatSN                                                        |
///    28| ExpCmdSN                                                      |
///    32| MaxCmdSN                                                      |
///    36| ExpDataSN or Reserved                                         |
///    40| Bidirectional Read Residual Count or Reserved                 |
///    44| Residual Count or Reserved                                    |
///    48+---------------------------------------------------------------+
/// </code>
/// The data segment, when present, is SenseLength (2 bytes, big-endian) + sense data + response data
/// (RFC 7143 section 11.4.7).
/// </summary>
internal readonly record struct ScsiResponseHeader
{
    /// <summary>Size of the SenseLength prefix of the data segment.</summary>
    public const int SenseLengthFieldBytes = 2;

    private const byte BidiOverflowBit = 0x10;
    private const byte BidiUnderflowBit = 0x08;
    private const byte OverflowBit = 0x04;
    private const byte UnderflowBit = 0x02;
    private const int ResponseOffset = 2;
    private const int StatusOffset = 3;
    private const int SnackTagOffset = 20;
    private const int StatSnOffset = 24;
    private const int ExpCmdSnOffset = 28;
    private const int MaxCmdSnOffset = 32;
    private const int ExpDataSnOffset = 36;
    private const int BidiReadResidualCountOffset = 40;
    private const int ResidualCountOffset = 44;

    /// <summary>o bit: bidirectional read residual overflow.</summary>
    public bool BidiReadOverflow { get; init; }

    /// <summary>u bit: bidirectional read residual underflow.</summary>
    public bool BidiReadUnderflow { get; init; }

    /// <summary>O bit: residual overflow.</summary>
    public bool Overflow { get; init; }

    /// <summary>U bit: residual underflow.</summary>
    public bool Underflow { get; init; }

    /// <summary>iSCSI service response: 0x00 command completed at target, 0x01 target failure.</summary>
    public byte Response { get; init; }

    /// <summary>SCSI status byte (valid when <see cref="Response"/> is 0).</summary>
    public byte Status { get; init; }

    /// <summary>Length of the data segment (2 + sense length + response data), 0 when there is none.</summary>
    public int DataSegmentLength { get; init; }

    /// <summary>Initiator Task Tag of the command.</summary>
    public uint InitiatorTaskTag { get; init; }

    /// <summary>SNACK Tag (R-Data SNACK), else 0.</summary>
    public uint SnackTag { get; init; }

    /// <summary>StatSN.</summary>
    public uint StatSn { get; init; }

    /// <summary>ExpCmdSN.</summary>
    public uint ExpCmdSn { get; init; }

    /// <summary>MaxCmdSN.</summary>
    public uint MaxCmdSn { get; init; }

    /// <summary>Number of Data-In (and R2T) PDUs sent for the command, or 0.</summary>
    public uint ExpDataSn { get; init; }

    /// <summary>Residual of the read part of a bidirectional command.</summary>
    public uint BidiReadResidualCount { get; init; }

    /// <summary>Residual count in bytes.</summary>
    public uint ResidualCount { get; init; }

    /// <summary>Writes this header into the first 48 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        var flags = (byte)(Bhs.FinalBit | (BidiReadOverflow ? BidiOverflowBit : 0) | (BidiReadUnderflow ? BidiUnderflowBit : 0)
            | (Overflow ? OverflowBit : 0) | (Underflow ? UnderflowBit : 0));
        var bhs = Bhs.Begin(destination, IscsiOpcode.ScsiResponse, immediate: false, flags, DataSegmentLength);
        bhs[ResponseOffset] = Response;
        bhs[StatusOffset] = Status;
        Bhs.WriteUInt32(bhs, Bhs.InitiatorTaskTagOffset, InitiatorTaskTag);
        Bhs.WriteUInt32(bhs, SnackTagOffset, SnackTag);
        Bhs.WriteUInt32(bhs, StatSnOffset, StatSn);
        Bhs.WriteUInt32(bhs, ExpCmdSnOffset, ExpCmdSn);
        Bhs.WriteUInt32(bhs, MaxCmdSnOffset, MaxCmdSn);
        Bhs.WriteUInt32(bhs, ExpDataSnOffset, ExpDataSn);
        Bhs.WriteUInt32(bhs, BidiReadResidualCountOffset, BidiReadResidualCount);
        Bhs.WriteUInt32(bhs, ResidualCountOffset, ResidualCount);
    }

    /// <summary>Decodes a SCSI Response BHS.</summary>
    public static ScsiResponseHeader Read(ReadOnlySpan<byte> bhs)
    {
        Bhs.AssertOpcode(bhs, IscsiOpcode.ScsiResponse);
        var flags = bhs[Bhs.FlagsOffset];
        return new ScsiResponseHeader
        {
            BidiReadOverflow = (flags & BidiOverflowBit) != 0,
            BidiReadUnderflow = (flags & BidiUnderflowBit) != 0,
            Overflow = (flags & OverflowBit) != 0,
            Underflow = (flags & UnderflowBit) != 0,
            Response = bhs[ResponseOffset],
            Status = bhs[StatusOffset],
            DataSegmentLength = Bhs.ReadDataSegmentLength(bhs),
            InitiatorTaskTag = Bhs.ReadUInt32(bhs, Bhs.InitiatorTaskTagOffset),
            SnackTag = Bhs.ReadUInt32(bhs, SnackTagOffset),
            StatSn = Bhs.ReadUInt32(bhs, StatSnOffset),
            ExpCmdSn = Bhs.ReadUInt32(bhs, ExpCmdSnOffset),
            MaxCmdSn = Bhs.ReadUInt32(bhs, MaxCmdSnOffset),
            ExpDataSn = Bhs.ReadUInt32(bhs, ExpDataSnOffset),
            BidiReadResidualCount = Bhs.ReadUInt32(bhs, BidiReadResidualCountOffset),
            ResidualCount = Bhs.ReadUInt32(bhs, ResidualCountOffset),
        };
    }

    /// <summary>
    /// Writes the data segment that carries <paramref name="sense"/>: SenseLength then the sense bytes.
    /// </summary>
    /// <returns>The DataSegmentLength to put in the header (padding not included).</returns>
    public static int WriteSenseSegment(Span<byte> destination, ReadOnlySpan<byte> sense)
    {
        if (sense.Length > ushort.MaxValue)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(sense));
        }

        var length = SenseLengthFieldBytes + sense.Length;
        if (destination.Length < length)
        {
            ThrowHelper.ThrowArgument(nameof(destination), "The destination cannot hold the sense data.");
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)sense.Length);
        sense.CopyTo(destination[SenseLengthFieldBytes..]);
        return length;
    }

    /// <summary>
    /// Reads the SenseLength prefix of a SCSI Response data segment and returns the sense bytes as a slice.
    /// </summary>
    /// <returns>False when the segment is shorter than the SenseLength it declares.</returns>
    public static bool TryReadSense(ReadOnlySequence<byte> dataSegment, out ReadOnlySequence<byte> sense)
    {
        sense = default;
        if (dataSegment.Length < SenseLengthFieldBytes)
        {
            return dataSegment.Length == 0;
        }

        Span<byte> prefix = stackalloc byte[SenseLengthFieldBytes];
        dataSegment.Slice(0, SenseLengthFieldBytes).CopyTo(prefix);
        int senseLength = BinaryPrimitives.ReadUInt16BigEndian(prefix);
        if (dataSegment.Length < SenseLengthFieldBytes + senseLength)
        {
            return false;
        }

        sense = dataSegment.Slice(SenseLengthFieldBytes, senseLength);
        return true;
    }
}
