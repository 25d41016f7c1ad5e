// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>Reason field of a Reject PDU (RFC 7143 section 11.17.1).</summary>
internal enum RejectReason : byte
{
    /// <summary>0x02: data (payload) digest error.</summary>
    DataDigestError = 0x02,

    /// <summary>0x03: SNACK reject.</summary>
    SnackReject = 0x03,

    /// <summary>0x04: protocol error.</summary>
    ProtocolError = 0x04,

    /// <summary>0x05: command not supported.</summary>
    CommandNotSupported = 0x05,

    /// <summary>0x06: immediate command rejected, too many immediate commands.</summary>
    ImmediateCommandRejected = 0x06,

    /// <summary>0x07: task in progress.</summary>
    TaskInProgress = 0x07,

    /// <summary>0x08: invalid data ack.</summary>
    InvalidDataAck = 0x08,

    /// <summary>0x09: invalid PDU field.</summary>
    InvalidPduField = 0x09,

    /// <summary>0x0a: long operation reject, out of resources.</summary>
    LongOperationReject = 0x0a,

    /// <summary>0x0b: deprecated (negotiation reset in RFC 3720).</summary>
    Deprecated = 0x0b,

    /// <summary>0x0c: waiting for logout.</summary>
    WaitingForLogout = 0x0c,
}

/// <summary>
/// Reject (opcode 0x3f), RFC 7143 section 11.17. The data segment is the rejected PDU's 48-byte BHS.
/// <code>
///  Byte/      0       |       1       |       2       |       3       |
///      +---------------+---------------+---------------+---------------+
///     0|.|.| 0x3f      |1| Reserved    | Reason        | Reserved      |
///     4|TotalAHSLength | DataSegmentLength                             |
///     8| Reserved (8 bytes)                                            |
///    16| 0xffffffff                                                    |
///    20| Reserved                                                      |
///    24| StatSN                                                        |
///    28| ExpCmdSN                                                      |
///    32| MaxCmdSN                                                      |
///    36| DataSN/R2TSN or Reserved                                      |
///    40| Reserved (8 bytes)                                            |
///    48+---------------------------------------------------------------+
/// </code>
/// </summary>
internal readonly record struct RejectHeader
{
    private const int ReasonOffset = 2;
    private const int StatSnOffset = 24;
    private const int ExpCmdSnOffset = 28;
    private const int MaxCmdSnOffset = 32;
    private const int DataSnOffset = 36;

    /// <summary>Reason.</summary>
    public RejectReason Reason { get; init; }

    /// <summary>Length of the data segment: 48 when the rejected BHS is quoted (the usual case).</summary>
    public int DataSegmentLength { get; init; }

    /// <summary>StatSN.</summary>
    public uint StatSn { get; init; }

    /// <summary>ExpCmdSN.</summary>
    public uint ExpCmdSn { get; init; }

    /// <summary>MaxCmdSN.</summary>
    public uint MaxCmdSn { get; init; }

    /// <summary>DataSN or R2TSN for a rejected SNACK, else 0.</summary>
    public uint DataSnOrR2TSn { get; init; }

    /// <summary>Writes this header (ITT field set to 0xffffffff) into the first 48 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        var bhs = Bhs.Begin(destination, IscsiOpcode.Reject, immediate: false, Bhs.FinalBit, DataSegmentLength);
        bhs[ReasonOffset] = (byte)Reason;
        Bhs.WriteUInt32(bhs, Bhs.InitiatorTaskTagOffset, Bhs.ReservedTag);
        Bhs.WriteUInt32(bhs, StatSnOffset, StatSn);
        Bhs.WriteUInt32(bhs, ExpCmdSnOffset, ExpCmdSn);
        Bhs.WriteUInt32(bhs, MaxCmdSnOffset, MaxCmdSn);
        Bhs.WriteUInt32(bhs, DataSnOffset, DataSnOrR2TSn);
    }

    /// <summary>
    /// Writes a complete Reject PDU quoting <paramref name="rejectedBhs"/>: 48 bytes of header followed by the
    /// 48 bytes of the rejected header (a multiple of 4, so no padding).
    /// </summary>
    /// <returns>The number of bytes written (96).</returns>
    public int WriteWithRejectedHeader(Span<byte> destination, ReadOnlySpan<byte> rejectedBhs)
    {
        if (rejectedBhs.Length < Bhs.Length || destination.Length < 2 * Bhs.Length)
        {
            ThrowHelper.ThrowArgument(nameof(destination), "A Reject PDU needs 96 bytes and a 48-byte rejected header.");
        }

        (this with { DataSegmentLength = Bhs.Length }).WriteTo(destination);
        rejectedBhs[..Bhs.Length].CopyTo(destination[Bhs.Length..]);
        return 2 * Bhs.Length;
    }

    /// <summary>Decodes a Reject BHS.</summary>
    public static RejectHeader Read(ReadOnlySpan<byte> bhs)
    {
        Bhs.AssertOpcode(bhs, IscsiOpcode.Reject);
        return new RejectHeader
        {
            Reason = (RejectReason)bhs[ReasonOffset],
            DataSegmentLength = Bhs.ReadDataSegmentLength(bhs),
            StatSn = Bhs.ReadUInt32(bhs, StatSnOffset),
            ExpCmdSn = Bhs.ReadUInt32(bhs, ExpCmdSnOffset),
            MaxCmdSn = Bhs.ReadUInt32(bhs, MaxCmdSnOffset),
            DataSnOrR2TSn = Bhs.ReadUInt32(bhs, DataSnOffset),
        };
    }
}
