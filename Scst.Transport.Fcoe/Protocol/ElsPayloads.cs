// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Transport.Fcoe.Protocol;

/// <summary>
/// The 16-byte LOGO payload (FC-LS-3 section 4.2.9): 0 code 0x05, 1-4 reserved, 5-7 N_Port_ID, 8-15 port name.
/// Its accept is a bare LS_ACC (<see cref="Els.WriteAccept"/>).
/// </summary>
/// <param name="PortId">The N_Port_ID of the port logging out.</param>
/// <param name="PortName">Its port name.</param>
internal readonly record struct LogoPayload(uint PortId, ulong PortName)
{
    /// <summary>Bytes of the payload.</summary>
    public const int Length = 16;

    /// <summary>Decodes a LOGO payload; false when too short. The code is not checked.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out LogoPayload logo)
    {
        logo = default;
        if (payload.Length < Length)
        {
            return false;
        }

        logo = new LogoPayload(WireFormat.ReadUInt24(payload[5..]), WireFormat.ReadWwn(payload[8..]));
        return true;
    }

    /// <summary>Writes the payload; returns <see cref="Length"/>.</summary>
    public int WriteTo(Span<byte> destination)
    {
        var payload = Els.Begin(destination, ElsCode.Logo, Length);
        WireFormat.WriteUInt24(payload[5..], PortId);
        WireFormat.WriteWwn(payload[8..], PortName);
        return Length;
    }
}

/// <summary>
/// The 28-byte ADISC payload and its accept (FC-LS-3 section 4.2.3): 0 code (0x52, or LS_ACC), 1-4 reserved,
/// 5-7 hard address, 8-15 port name, 16-23 node name, 24 reserved, 25-27 N_Port_ID.
/// </summary>
/// <param name="HardAddress">The 24-bit hard address (0 in FCoE).</param>
/// <param name="PortName">The port name.</param>
/// <param name="NodeName">The node name.</param>
/// <param name="PortId">The N_Port_ID.</param>
internal readonly record struct AdiscPayload(uint HardAddress, ulong PortName, ulong NodeName, uint PortId)
{
    /// <summary>Bytes of the payload.</summary>
    public const int Length = 28;

    /// <summary>Decodes an ADISC payload or accept; false when too short. The code is not checked.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out AdiscPayload adisc)
    {
        adisc = default;
        if (payload.Length < Length)
        {
            return false;
        }

        adisc = new AdiscPayload(WireFormat.ReadUInt24(payload[5..]), WireFormat.ReadWwn(payload[8..]),
            WireFormat.ReadWwn(payload[16..]), WireFormat.ReadUInt24(payload[25..]));
        return true;
    }

    /// <summary>Writes the payload with ELS code <paramref name="code"/> (ADISC or LS_ACC); returns <see cref="Length"/>.</summary>
    public int WriteTo(Span<byte> destination, byte code)
    {
        var payload = Els.Begin(destination, code, Length);
        WireFormat.WriteUInt24(payload[5..], HardAddress);
        WireFormat.WriteWwn(payload[8..], PortName);
        WireFormat.WriteWwn(payload[16..], NodeName);
        WireFormat.WriteUInt24(payload[25..], PortId);
        return Length;
    }
}

/// <summary>
/// The 12-byte RRQ payload (FC-LS-3 section 4.2.21): 0 code 0x12, 1-4 reserved, 5-7 S_ID of the exchange originator,
/// 8-9 OX_ID, 10-11 RX_ID. Its accept is a bare LS_ACC.
/// </summary>
/// <param name="OriginatorId">The S_ID of the exchange's originator.</param>
/// <param name="OxId">The OX_ID of the exchange whose recovery qualifier is reinstated.</param>
/// <param name="RxId">Its RX_ID.</param>
internal readonly record struct RrqPayload(uint OriginatorId, ushort OxId, ushort RxId)
{
    /// <summary>Bytes of the payload.</summary>
    public const int Length = 12;

    /// <summary>Decodes an RRQ payload; false when too short. The code is not checked.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out RrqPayload rrq)
    {
        rrq = default;
        if (payload.Length < Length)
        {
            return false;
        }

        rrq = new RrqPayload(WireFormat.ReadUInt24(payload[5..]), BinaryPrimitives.ReadUInt16BigEndian(payload[8..]),
            BinaryPrimitives.ReadUInt16BigEndian(payload[10..]));
        return true;
    }

    /// <summary>Writes the payload; returns <see cref="Length"/>.</summary>
    public int WriteTo(Span<byte> destination)
    {
        var payload = Els.Begin(destination, ElsCode.Rrq, Length);
        WireFormat.WriteUInt24(payload[5..], OriginatorId);
        BinaryPrimitives.WriteUInt16BigEndian(payload[8..], OxId);
        BinaryPrimitives.WriteUInt16BigEndian(payload[10..], RxId);
        return Length;
    }
}

/// <summary>
/// RTV (FC-LS-3 section 4.2.24): the request is the bare command word 0x0E; the 16-byte accept carries
/// 4-7 R_A_TOV, 8-11 E_D_TOV and 12-15 the timeout qualifier.
/// </summary>
/// <param name="ResourceAllocationTimeout">R_A_TOV in milliseconds.</param>
/// <param name="ErrorDetectTimeout">E_D_TOV in milliseconds (nanoseconds with <see cref="EdTovResolution"/>).</param>
/// <param name="Qualifier">The timeout qualifier bits.</param>
internal readonly record struct RtvAccept(uint ResourceAllocationTimeout, uint ErrorDetectTimeout, uint Qualifier = 0)
{
    /// <summary>Bytes of the accept.</summary>
    public const int Length = 16;

    /// <summary>Qualifier bit 26: E_D_TOV is in nanoseconds.</summary>
    public const uint EdTovResolution = 1u << 26;

    /// <summary>Qualifier bit 19: R_T_TOV is 100 microseconds rather than 100 milliseconds.</summary>
    public const uint RtTov = 1u << 19;

    /// <summary>Decodes an RTV accept; false when too short or not an LS_ACC.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out RtvAccept accept)
    {
        accept = default;
        if (payload.Length < Length || payload[0] != ElsCode.LsAcc)
        {
            return false;
        }

        accept = new RtvAccept(BinaryPrimitives.ReadUInt32BigEndian(payload[4..]), BinaryPrimitives.ReadUInt32BigEndian(payload[8..]),
            BinaryPrimitives.ReadUInt32BigEndian(payload[12..]));
        return true;
    }

    /// <summary>Writes the accept; returns <see cref="Length"/>.</summary>
    public int WriteTo(Span<byte> destination)
    {
        var payload = Els.Begin(destination, ElsCode.LsAcc, Length);
        BinaryPrimitives.WriteUInt32BigEndian(payload[4..], ResourceAllocationTimeout);
        BinaryPrimitives.WriteUInt32BigEndian(payload[8..], ErrorDetectTimeout);
        BinaryPrimitives.WriteUInt32BigEndian(payload[12..], Qualifier);
        return Length;
    }
}

/// <summary>
/// ECHO (FC-LS-3 section 4.2.6): the request is the command word 0x10 and up to 2108 bytes of data; the accept is
/// LS_ACC followed by the same data.
/// </summary>
internal static class Echo
{
    /// <summary>The data of an ECHO request (after its command word); empty when the payload is shorter than 4 bytes.</summary>
    public static ReadOnlySpan<byte> GetData(ReadOnlySpan<byte> request) =>
        request.Length < Els.CommandLength ? default : request[Els.CommandLength..];

    /// <summary>Writes the accept of <paramref name="request"/>: LS_ACC and the request's data; returns its length.</summary>
    public static int WriteAccept(Span<byte> destination, ReadOnlySpan<byte> request)
    {
        var data = GetData(request);
        int length = Els.CommandLength + data.Length;
        Els.WriteCommand(destination, ElsCode.LsAcc);
        WireFormat.EnsureLength(destination, length);
        data.CopyTo(destination[Els.CommandLength..]);
        return length;
    }

    /// <summary>Writes an ECHO request with <paramref name="data"/>; returns its length.</summary>
    public static int WriteRequest(Span<byte> destination, ReadOnlySpan<byte> data)
    {
        int length = Els.CommandLength + data.Length;
        Els.WriteCommand(destination, ElsCode.Echo);
        WireFormat.EnsureLength(destination, length);
        data.CopyTo(destination[Els.CommandLength..]);
        return length;
    }
}

/// <summary>The link error status block (FC-LS-3 table 154): six counters of the port.</summary>
/// <param name="LinkFailureCount">Link failures.</param>
/// <param name="LossOfSyncCount">Losses of synchronisation.</param>
/// <param name="LossOfSignalCount">Losses of signal.</param>
/// <param name="PrimitiveSequenceErrorCount">Primitive sequence protocol errors.</param>
/// <param name="InvalidTransmissionWordCount">Invalid transmission words.</param>
/// <param name="InvalidCrcCount">Frames received with a bad CRC.</param>
internal readonly record struct LinkErrorStatus(uint LinkFailureCount, uint LossOfSyncCount, uint LossOfSignalCount,
    uint PrimitiveSequenceErrorCount, uint InvalidTransmissionWordCount, uint InvalidCrcCount);

/// <summary>
/// RLS (FC-LS-3 section 4.2.20): the 8-byte request (0 code 0x0F, 5-7 the N_Port_ID asked about) and the 28-byte
/// accept (LS_ACC and the link error status block).
/// </summary>
internal static class Rls
{
    /// <summary>Bytes of the request.</summary>
    public const int RequestLength = 8;

    /// <summary>Bytes of the accept.</summary>
    public const int AcceptLength = 28;

    /// <summary>Reads the N_Port_ID of an RLS request; false when too short.</summary>
    public static bool TryReadRequest(ReadOnlySpan<byte> payload, out uint portId)
    {
        portId = 0;
        if (payload.Length < RequestLength)
        {
            return false;
        }

        portId = WireFormat.ReadUInt24(payload[5..]);
        return true;
    }

    /// <summary>Writes an RLS request; returns <see cref="RequestLength"/>.</summary>
    public static int WriteRequest(Span<byte> destination, uint portId)
    {
        var payload = Els.Begin(destination, ElsCode.Rls, RequestLength);
        WireFormat.WriteUInt24(payload[5..], portId);
        return RequestLength;
    }

    /// <summary>Reads an RLS accept; false when too short or not an LS_ACC.</summary>
    public static bool TryReadAccept(ReadOnlySpan<byte> payload, out LinkErrorStatus status)
    {
        status = default;
        if (payload.Length < AcceptLength || payload[0] != ElsCode.LsAcc)
        {
            return false;
        }

        status = new LinkErrorStatus(
            BinaryPrimitives.ReadUInt32BigEndian(payload[4..]),
            BinaryPrimitives.ReadUInt32BigEndian(payload[8..]),
            BinaryPrimitives.ReadUInt32BigEndian(payload[12..]),
            BinaryPrimitives.ReadUInt32BigEndian(payload[16..]),
            BinaryPrimitives.ReadUInt32BigEndian(payload[20..]),
            BinaryPrimitives.ReadUInt32BigEndian(payload[24..]));
        return true;
    }

    /// <summary>Writes an RLS accept; returns <see cref="AcceptLength"/>.</summary>
    public static int WriteAccept(Span<byte> destination, in LinkErrorStatus status)
    {
        var payload = Els.Begin(destination, ElsCode.LsAcc, AcceptLength);
        BinaryPrimitives.WriteUInt32BigEndian(payload[4..], status.LinkFailureCount);
        BinaryPrimitives.WriteUInt32BigEndian(payload[8..], status.LossOfSyncCount);
        BinaryPrimitives.WriteUInt32BigEndian(payload[12..], status.LossOfSignalCount);
        BinaryPrimitives.WriteUInt32BigEndian(payload[16..], status.PrimitiveSequenceErrorCount);
        BinaryPrimitives.WriteUInt32BigEndian(payload[20..], status.InvalidTransmissionWordCount);
        BinaryPrimitives.WriteUInt32BigEndian(payload[24..], status.InvalidCrcCount);
        return AcceptLength;
    }
}

/// <summary>Registration functions of SCR (FC-LS-3 table 99).</summary>
internal static class ScrFunction
{
    /// <summary>Fabric detected registration: RSCNs for events the fabric sees.</summary>
    public const byte FabricDetected = 0x01;

    /// <summary>N_Port detected registration.</summary>
    public const byte NPortDetected = 0x02;

    /// <summary>Full registration.</summary>
    public const byte Full = 0x03;

    /// <summary>Clear registration.</summary>
    public const byte Clear = 0xFF;
}

/// <summary>
/// SCR (FC-LS-3 section 4.2.23), sent to the fabric controller: the 8-byte request (0 code 0x62, 7 registration
/// function); its accept is a bare LS_ACC.
/// </summary>
internal static class Scr
{
    /// <summary>Bytes of the request.</summary>
    public const int Length = 8;

    /// <summary>Reads the registration function; false when too short.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out byte function)
    {
        function = 0;
        if (payload.Length < Length)
        {
            return false;
        }

        function = payload[7];
        return true;
    }

    /// <summary>Writes the request; returns <see cref="Length"/>.</summary>
    public static int Write(Span<byte> destination, byte function)
    {
        var payload = Els.Begin(destination, ElsCode.Scr, Length);
        payload[7] = function;
        return Length;
    }
}

/// <summary>The address formats of an RSCN page (FC-LS-3 table 97): what the affected address names.</summary>
internal static class RscnAddressFormat
{
    /// <summary>One N_Port_ID.</summary>
    public const byte Port = 0;

    /// <summary>An area: the domain and area bytes count.</summary>
    public const byte Area = 1;

    /// <summary>A domain: the domain byte counts.</summary>
    public const byte Domain = 2;

    /// <summary>The whole fabric.</summary>
    public const byte Fabric = 3;
}

/// <summary>One page of an RSCN: the address format (<see cref="RscnAddressFormat"/>) and the affected address.</summary>
/// <param name="AddressFormat">Port, area, domain or fabric (bits 1-0 of the page's first byte).</param>
/// <param name="AffectedId">The affected N_Port_ID, area or domain (24 bits).</param>
internal readonly record struct RscnPage(byte AddressFormat, uint AffectedId);

/// <summary>
/// RSCN (FC-LS-3 section 4.2.22), from the fabric controller: 0 code 0x61, 1 page length (4), 2-3 payload length,
/// then 4-byte pages: byte 0 event qualifier and address format (bits 1-0: 0 port, 1 area, 2 domain, 3 fabric),
/// bytes 1-3 the affected N_Port_ID, area or domain.
/// </summary>
internal static class Rscn
{
    /// <summary>Bytes of the header and of each page.</summary>
    public const int PageLength = 4;

    /// <summary>The address format bits of a page's first byte.</summary>
    public const byte AddressFormatMask = 0x03;

    /// <summary>Checks the header; false unless page length 4 and a payload length of 4 + 4n that fits.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> payload, out int pageCount)
    {
        pageCount = 0;
        if (payload.Length < PageLength || payload[1] != PageLength)
        {
            return false;
        }

        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(payload[2..]);
        if (payloadLength < PageLength || payloadLength > payload.Length || payloadLength % PageLength != 0)
        {
            return false;
        }

        pageCount = (payloadLength / PageLength) - 1;
        return true;
    }

    /// <summary>Writes an RSCN with <paramref name="pages"/> (at most 16383); returns its length, 4 + 4 per page.</summary>
    public static int Write(Span<byte> destination, ReadOnlySpan<RscnPage> pages)
    {
        int length = PageLength * (pages.Length + 1);
        if (length > ushort.MaxValue)
        {
            WireFormat.ThrowOutOfRange(nameof(pages), "An RSCN payload length has 16 bits.");
        }

        var payload = Els.Begin(destination, ElsCode.Rscn, length);
        payload[1] = PageLength;
        BinaryPrimitives.WriteUInt16BigEndian(payload[2..], (ushort)length);
        for (int i = 0; i < pages.Length; i++)
        {
            int at = PageLength * (i + 1);
            payload[at] = (byte)(pages[i].AddressFormat & AddressFormatMask);
            WireFormat.WriteUInt24(payload[(at + 1)..], pages[i].AffectedId);
        }

        return length;
    }

    /// <summary>Page <paramref name="index"/>: the address format (0-3) and the affected 24-bit address.</summary>
    public static bool TryReadPage(ReadOnlySpan<byte> payload, int index, out byte addressFormat, out uint affectedId)
    {
        addressFormat = 0;
        affectedId = 0;
        int at = PageLength * (index + 1);
        if (index < 0 || at + PageLength > payload.Length)
        {
            return false;
        }

        addressFormat = (byte)(payload[at] & AddressFormatMask);
        affectedId = WireFormat.ReadUInt24(payload[(at + 1)..]);
        return true;
    }
}
