// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Buffers.Binary;

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>Digest negotiated for headers or data (RFC 7143 section 13.1).</summary>
internal enum DigestKind : byte
{
    /// <summary>No digest.</summary>
    None = 0,

    /// <summary>CRC32C, 4 bytes after the protected segment.</summary>
    Crc32C = 1,
}

/// <summary>Outcome of <see cref="IscsiPduReader.TryReadPdu(ref ReadOnlySequence{byte}, in IscsiPduReaderSettings, out IscsiPdu, out PduReadError)"/>.</summary>
internal enum PduReadResult
{
    /// <summary>The buffer does not yet hold a whole PDU; nothing was consumed.</summary>
    NeedMoreData,

    /// <summary>One PDU was decoded and the buffer advanced past it.</summary>
    Pdu,

    /// <summary>
    /// The header is sound (its digest, when negotiated, matched) but the data segment failed its digest. The buffer
    /// advanced past the whole PDU; the PDU's <see cref="IscsiPdu.DataSegment"/> is empty, so that data that failed its
    /// digest can never be used. RFC 7143 section 7.8: the receiver discards the PDU and answers with a Reject.
    /// </summary>
    DataDigestError,

    /// <summary>The PDU is invalid; the connection must be dropped (optionally after a Reject).</summary>
    ProtocolError,
}

/// <summary>Why a PDU was refused by the reader.</summary>
internal enum PduReadError
{
    /// <summary>No error.</summary>
    None,

    /// <summary>The opcode is reserved, vendor-specific, or one the other side sends.</summary>
    InvalidOpcode,

    /// <summary>DataSegmentLength exceeds the negotiated MaxRecvDataSegmentLength.</summary>
    DataSegmentTooLong,

    /// <summary>The header digest did not match.</summary>
    HeaderDigestMismatch,

    /// <summary>The data digest did not match (the result is <see cref="PduReadResult.DataDigestError"/>).</summary>
    DataDigestMismatch,
}

/// <summary>Limits and digests the reader applies; one value per connection, changed after login.</summary>
/// <param name="MaxDataSegmentLengthBytes">Our declared MaxRecvDataSegmentLength (8192 during login).</param>
/// <param name="HeaderDigest">Negotiated HeaderDigest.</param>
/// <param name="DataDigest">Negotiated DataDigest.</param>
/// <param name="AcceptTargetOpcodes">False on a target (accept initiator opcodes); true in a test initiator.</param>
internal readonly record struct IscsiPduReaderSettings(
    int MaxDataSegmentLengthBytes,
    DigestKind HeaderDigest = DigestKind.None,
    DigestKind DataDigest = DigestKind.None,
    bool AcceptTargetOpcodes = false);

/// <summary>
/// One decoded PDU. <see cref="AdditionalHeaderSegments"/> and <see cref="DataSegment"/> are slices of the
/// reader's input, not copies: they are valid only until the caller advances the pipe past them
/// (<c>PipeReader.AdvanceTo</c>). A consumer that must keep the data longer copies it into a buffer it owns.
/// </summary>
internal readonly struct IscsiPdu
{
    /// <summary>Creates a PDU view.</summary>
    public IscsiPdu(in IscsiPduHeader header, ReadOnlySequence<byte> additionalHeaderSegments, ReadOnlySequence<byte> dataSegment, long wireLengthBytes)
    {
        Header = header;
        AdditionalHeaderSegments = additionalHeaderSegments;
        DataSegment = dataSegment;
        WireLengthBytes = wireLengthBytes;
    }

    /// <summary>The decoded Basic Header Segment.</summary>
    public IscsiPduHeader Header { get; }

    /// <summary>The AHS bytes (TotalAHSLength × 4), empty when there are none.</summary>
    public ReadOnlySequence<byte> AdditionalHeaderSegments { get; }

    /// <summary>The data segment without its padding and digest.</summary>
    public ReadOnlySequence<byte> DataSegment { get; }

    /// <summary>Bytes the PDU occupied on the wire (header, AHS, digests, data, padding).</summary>
    public long WireLengthBytes { get; }
}

/// <summary>
/// Frames iSCSI PDUs out of a byte stream (RFC 7143 section 11.2): BHS, AHS, optional header digest, data
/// segment padded to 4 bytes, optional data digest.
/// </summary>
internal static class IscsiPduReader
{
    /// <summary>Reads one PDU with no digests; see the main overload.</summary>
    public static PduReadResult TryReadPdu(ref ReadOnlySequence<byte> buffer, int maxDataSegmentLengthBytes, out IscsiPdu pdu, out PduReadError error) =>
        TryReadPdu(ref buffer, new IscsiPduReaderSettings(maxDataSegmentLengthBytes), out pdu, out error);

    /// <summary>
    /// Tries to decode one PDU from the start of <paramref name="buffer"/>. Lengths and the opcode are
    /// validated as soon as the header can be trusted, before any wait for the payload: at once without a header
    /// digest, and once the header digest matched with one (a header that failed its digest says nothing reliable,
    /// not even its own length).
    /// </summary>
    /// <param name="buffer">
    /// Received bytes. Advanced past the PDU on <see cref="PduReadResult.Pdu"/> and
    /// <see cref="PduReadResult.DataDigestError"/>, left unchanged otherwise.
    /// </param>
    /// <param name="settings">Limits and digests of the connection.</param>
    /// <param name="pdu">
    /// The PDU. On <see cref="PduReadResult.ProtocolError"/> its header is set (for a Reject) and its segments are empty;
    /// <see cref="IscsiPdu.WireLengthBytes"/> is then the PDU's length on the wire when the header can be trusted (an
    /// invalid opcode), 0 otherwise.
    /// </param>
    /// <param name="error">Why the PDU was refused.</param>
    /// <remarks>Never throws for any input; never allocates.</remarks>
    public static PduReadResult TryReadPdu(ref ReadOnlySequence<byte> buffer, in IscsiPduReaderSettings settings, out IscsiPdu pdu, out PduReadError error)
    {
        pdu = default;
        error = PduReadError.None;
        if (buffer.Length < Bhs.Length)
        {
            return PduReadResult.NeedMoreData;
        }

        var first = buffer.FirstSpan;
        IscsiPduHeader header;
        if (first.Length >= Bhs.Length)
        {
            header = new IscsiPduHeader(first);
        }
        else
        {
            // The BHS straddles segments: stage it on the stack.
            Span<byte> staging = stackalloc byte[Bhs.Length];
            buffer.Slice(0, Bhs.Length).CopyTo(staging);
            header = new IscsiPduHeader(staging);
        }

        var ahsLength = header.TotalAhsLengthWords * 4;
        var headerDigestLength = settings.HeaderDigest == DigestKind.Crc32C ? Bhs.DigestLength : 0;
        if (headerDigestLength != 0)
        {
            // TotalAHSLength is one byte, so at most 1020 bytes are awaited before the header can be judged.
            if (buffer.Length < Bhs.Length + ahsLength + headerDigestLength)
            {
                return PduReadResult.NeedMoreData;
            }

            var computed = Crc32C.Append(Crc32C.Append(Crc32C.InitialState, header.Bytes), buffer.Slice(Bhs.Length, ahsLength));
            if (!DigestMatches(buffer.Slice(Bhs.Length + ahsLength, Bhs.DigestLength), Crc32C.Finish(computed)))
            {
                return Fail(header, PduReadError.HeaderDigestMismatch, 0, out pdu, out error);
            }
        }

        var dataLength = header.DataSegmentLengthBytes;
        var dataDigestLength = settings.DataDigest == DigestKind.Crc32C && dataLength > 0 ? Bhs.DigestLength : 0;
        var paddedDataLength = Bhs.Padded(dataLength);
        long dataStart = Bhs.Length + ahsLength + headerDigestLength;
        long total = dataStart + paddedDataLength + dataDigestLength;

        var opcode = header.Opcode;
        var opcodeValid = settings.AcceptTargetOpcodes ? opcode.IsTargetOpcode() : opcode.IsInitiatorOpcode();
        if (!opcodeValid)
        {
            return Fail(header, PduReadError.InvalidOpcode, dataLength > settings.MaxDataSegmentLengthBytes ? 0 : total, out pdu, out error);
        }

        if (dataLength > settings.MaxDataSegmentLengthBytes)
        {
            return Fail(header, PduReadError.DataSegmentTooLong, 0, out pdu, out error);
        }

        if (buffer.Length < total)
        {
            return PduReadResult.NeedMoreData;
        }

        var ahs = buffer.Slice(Bhs.Length, ahsLength);
        if (dataDigestLength != 0)
        {
            // The digest covers the data and its padding (RFC 7143 section 13.1).
            var computed = Crc32C.Append(Crc32C.InitialState, buffer.Slice(dataStart, paddedDataLength));
            if (!DigestMatches(buffer.Slice(dataStart + paddedDataLength, Bhs.DigestLength), Crc32C.Finish(computed)))
            {
                pdu = new IscsiPdu(header, ahs, default, total);
                error = PduReadError.DataDigestMismatch;
                buffer = buffer.Slice(total);
                return PduReadResult.DataDigestError;
            }
        }

        pdu = new IscsiPdu(header, ahs, buffer.Slice(dataStart, dataLength), total);
        buffer = buffer.Slice(total);
        return PduReadResult.Pdu;
    }

    private static PduReadResult Fail(in IscsiPduHeader header, PduReadError reason, long wireLengthBytes, out IscsiPdu pdu, out PduReadError error)
    {
        pdu = new IscsiPdu(header, default, default, wireLengthBytes);
        error = reason;
        return PduReadResult.ProtocolError;
    }

    private static bool DigestMatches(ReadOnlySequence<byte> digest, uint expected)
    {
        // iSCSI sends the CRC32C register least significant byte first (RFC 7143 section 13.1, appendix B.4).
        Span<byte> bytes = stackalloc byte[Bhs.DigestLength];
        digest.CopyTo(bytes);
        return BinaryPrimitives.ReadUInt32LittleEndian(bytes) == expected;
    }
}
