// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Transport.Fcoe.Protocol;

/// <summary>Flags byte of a PRLI/PRLO service parameter page (FC-LS-3 table 104).</summary>
internal static class PrliFlags
{
    /// <summary>The originator process associator field is meaningful.</summary>
    public const byte OriginatorPaValid = 0x80;

    /// <summary>The responder process associator field is meaningful.</summary>
    public const byte ResponderPaValid = 0x40;

    /// <summary>Establish image pair (request); image pair established (accept).</summary>
    public const byte EstablishImagePair = 0x20;

    /// <summary>The accept's response code (<see cref="PrliResponseCode"/>) in the low nibble.</summary>
    public const byte ResponseCodeMask = 0x0F;
}

/// <summary>Accept response codes of a PRLI/PRLO page (FC-LS-3 table 106).</summary>
internal static class PrliResponseCode
{
    /// <summary>Request executed.</summary>
    public const byte Executed = 0x1;

    /// <summary>The responder has no resources for the image pair.</summary>
    public const byte NoResources = 0x2;

    /// <summary>Initialisation of the FC-4 is not complete.</summary>
    public const byte InitializationNotComplete = 0x3;

    /// <summary>The target image named by the responder PA does not exist.</summary>
    public const byte NoSuchTargetImage = 0x4;

    /// <summary>Predefined preconditions are not met (e.g. no PLOGI).</summary>
    public const byte PreconditionsNotMet = 0x5;

    /// <summary>Executed, but some service parameters were changed.</summary>
    public const byte ExecutedConditionally = 0x6;

    /// <summary>Multiple pages are not supported.</summary>
    public const byte MultiplePagesNotSupported = 0x7;

    /// <summary>The service parameters are invalid.</summary>
    public const byte InvalidServiceParameters = 0x8;
}

/// <summary>FCP service parameter bits of a PRLI page of TYPE 8 (FCP-4 table 21).</summary>
internal static class FcpServiceParameters
{
    /// <summary>Task retry identification requested.</summary>
    public const uint TaskRetryIdentification = 0x200;

    /// <summary>Retry (FCP sequence level error recovery: REC, SRR).</summary>
    public const uint Retry = 0x100;

    /// <summary>Confirmed completion allowed (FCP_CONF).</summary>
    public const uint ConfirmedCompletion = 0x080;

    /// <summary>Data overlay allowed.</summary>
    public const uint DataOverlay = 0x040;

    /// <summary>Initiator function.</summary>
    public const uint InitiatorFunction = 0x020;

    /// <summary>Target function.</summary>
    public const uint TargetFunction = 0x010;

    /// <summary>Obsolete: command/data mixed allowed.</summary>
    public const uint CommandDataMixed = 0x008;

    /// <summary>Obsolete: data/response mixed allowed.</summary>
    public const uint DataResponseMixed = 0x004;

    /// <summary>READ FCP_XFER_RDY disabled (always set by FCP-4 ports).</summary>
    public const uint ReadTransferReadyDisabled = 0x002;

    /// <summary>WRITE FCP_XFER_RDY disabled: the initiator may send write data without waiting for an XFER_RDY.</summary>
    public const uint WriteTransferReadyDisabled = 0x001;
}

/// <summary>
/// One 16-byte service parameter page of PRLI, PRLO and their accepts (FC-LS-3 section 4.2.28):
/// <code>
///  0  TYPE   1  TYPE code extension   2  flags (accept: response code in bits 3-0)   3  reserved
///  4-7  originator process associator   8-11  responder process associator
/// 12-15  service parameters (FCP: <see cref="FcpServiceParameters"/>; reserved in PRLO)
/// </code>
/// </summary>
internal readonly record struct PrliPage
{
    /// <summary>Bytes of a page.</summary>
    public const int Length = 16;

    /// <summary>The FC-4 TYPE (<see cref="FcType.Fcp"/>).</summary>
    public byte Type { get; init; }

    /// <summary>The TYPE code extension.</summary>
    public byte TypeExtension { get; init; }

    /// <summary>The flags (<see cref="PrliFlags"/>), with the response code in an accept.</summary>
    public byte Flags { get; init; }

    /// <summary>Originator process associator.</summary>
    public uint OriginatorProcessAssociator { get; init; }

    /// <summary>Responder process associator.</summary>
    public uint ResponderProcessAssociator { get; init; }

    /// <summary>The TYPE-specific service parameters (<see cref="FcpServiceParameters"/> for FCP).</summary>
    public uint Parameters { get; init; }

    /// <summary>The response code of an accept page.</summary>
    public byte ResponseCode => (byte)(Flags & PrliFlags.ResponseCodeMask);

    /// <summary>Decodes a page from the first <see cref="Length"/> bytes; false when shorter.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out PrliPage page)
    {
        page = default;
        if (source.Length < Length)
        {
            return false;
        }

        page = new PrliPage
        {
            Type = source[0],
            TypeExtension = source[1],
            Flags = source[2],
            OriginatorProcessAssociator = BinaryPrimitives.ReadUInt32BigEndian(source[4..]),
            ResponderProcessAssociator = BinaryPrimitives.ReadUInt32BigEndian(source[8..]),
            Parameters = BinaryPrimitives.ReadUInt32BigEndian(source[12..]),
        };
        return true;
    }

    /// <summary>Writes the page; returns <see cref="Length"/>.</summary>
    public int WriteTo(Span<byte> destination)
    {
        WireFormat.EnsureLength(destination, Length);
        destination[0] = Type;
        destination[1] = TypeExtension;
        destination[2] = Flags;
        destination[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], OriginatorProcessAssociator);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], ResponderProcessAssociator);
        BinaryPrimitives.WriteUInt32BigEndian(destination[12..], Parameters);
        return Length;
    }
}

/// <summary>
/// PRLI and PRLO payloads and their accepts (FC-LS-3 sections 4.2.28, 4.2.29): byte 0 the ELS code, byte 1 the page
/// length (16), bytes 2-3 the payload length (4 + 16 per page), then the pages.
/// </summary>
internal static class Prli
{
    /// <summary>Bytes before the first page.</summary>
    public const int HeaderLength = 4;

    /// <summary>Bytes of a one-page payload.</summary>
    public const int SinglePageLength = HeaderLength + PrliPage.Length;

    /// <summary>
    /// Checks the header of a PRLI/PRLO (or accept) payload: page length 16, a payload length of 4 + 16n (n ≥ 1) that
    /// fits in <paramref name="payload"/>. Never throws.
    /// </summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> payload, out byte code, out int pageCount)
    {
        code = 0;
        pageCount = 0;
        if (payload.Length < HeaderLength)
        {
            return false;
        }

        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(payload[2..]);
        if (payload[1] != PrliPage.Length || payloadLength < SinglePageLength || payloadLength > payload.Length
            || (payloadLength - HeaderLength) % PrliPage.Length != 0)
        {
            return false;
        }

        code = payload[0];
        pageCount = (payloadLength - HeaderLength) / PrliPage.Length;
        return true;
    }

    /// <summary>Page <paramref name="index"/> of a payload whose header <see cref="TryReadHeader"/> accepted.</summary>
    public static bool TryReadPage(ReadOnlySpan<byte> payload, int index, out PrliPage page)
    {
        page = default;
        int at = HeaderLength + (index * PrliPage.Length);
        return index >= 0 && at + PrliPage.Length <= payload.Length && PrliPage.TryRead(payload[at..], out page);
    }

    /// <summary>
    /// Reads a one-page (or first page of a) PRLI/PRLO payload or accept; false when the header is malformed.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out byte code, out PrliPage page)
    {
        page = default;
        return TryReadHeader(payload, out code, out _) && TryReadPage(payload, 0, out page);
    }

    /// <summary>Writes a one-page payload with ELS code <paramref name="code"/> (PRLI, PRLO or LS_ACC); returns 20.</summary>
    public static int Write(Span<byte> destination, byte code, PrliPage page)
    {
        WriteHeader(destination, code, 1);
        page.WriteTo(destination[HeaderLength..]);
        return SinglePageLength;
    }

    /// <summary>Writes the 4-byte header of a payload of <paramref name="pageCount"/> pages; the pages follow at 4 + 16i.</summary>
    public static int WriteHeader(Span<byte> destination, byte code, int pageCount)
    {
        int length = HeaderLength + (pageCount * PrliPage.Length);
        if (pageCount < 1 || length > ushort.MaxValue)
        {
            WireFormat.ThrowOutOfRange(nameof(pageCount), "A PRLI carries 1 to 4095 pages.");
        }

        WireFormat.EnsureLength(destination, HeaderLength);
        destination[0] = code;
        destination[1] = PrliPage.Length;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)length);
        return HeaderLength;
    }
}
