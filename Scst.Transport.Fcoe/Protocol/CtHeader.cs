// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Transport.Fcoe.Protocol;

/// <summary>FC-GS service types and subtypes of the CT IU header.</summary>
internal static class CtServiceType
{
    /// <summary>GS type: directory service (the name server lives here).</summary>
    public const byte DirectoryService = 0xFC;

    /// <summary>GS type: management service.</summary>
    public const byte ManagementService = 0xFA;

    /// <summary>GS subtype of the directory service: name server.</summary>
    public const byte NameServer = 0x02;
}

/// <summary>Command codes of the name server (FC-GS-7 table 137) and the two response codes of every CT IU.</summary>
internal static class CtCommand
{
    /// <summary>GPN_ID: get port name of a port id.</summary>
    public const ushort GpnId = 0x0112;

    /// <summary>GNN_ID: get node name of a port id.</summary>
    public const ushort GnnId = 0x0113;

    /// <summary>GFT_ID: get FC-4 TYPEs of a port id.</summary>
    public const ushort GftId = 0x0117;

    /// <summary>GFF_ID: get FC-4 features of a port id.</summary>
    public const ushort GffId = 0x011F;

    /// <summary>GID_PN: get port id of a port name.</summary>
    public const ushort GidPn = 0x0121;

    /// <summary>GID_FT: get port ids of an FC-4 TYPE.</summary>
    public const ushort GidFt = 0x0171;

    /// <summary>GPN_FT: get port ids and names of an FC-4 TYPE.</summary>
    public const ushort GpnFt = 0x0172;

    /// <summary>RPN_ID: register port name.</summary>
    public const ushort RpnId = 0x0212;

    /// <summary>RNN_ID: register node name.</summary>
    public const ushort RnnId = 0x0213;

    /// <summary>RFT_ID: register FC-4 TYPEs.</summary>
    public const ushort RftId = 0x0217;

    /// <summary>RSPN_ID: register symbolic port name.</summary>
    public const ushort RspnId = 0x0218;

    /// <summary>RFF_ID: register FC-4 features.</summary>
    public const ushort RffId = 0x021F;

    /// <summary>RSNN_NN: register symbolic node name.</summary>
    public const ushort RsnnNn = 0x0239;

    /// <summary>Response: reject (FS_RJT).</summary>
    public const ushort Reject = 0x8001;

    /// <summary>Response: accept (FS_ACC).</summary>
    public const ushort Accept = 0x8002;
}

/// <summary>CT reject reason codes (FC-GS-7 table 9).</summary>
internal static class CtReason
{
    /// <summary>Invalid command code.</summary>
    public const byte InvalidCommand = 0x01;

    /// <summary>Invalid version level.</summary>
    public const byte InvalidVersion = 0x02;

    /// <summary>Logical error.</summary>
    public const byte LogicalError = 0x03;

    /// <summary>Invalid CT IU size.</summary>
    public const byte InvalidSize = 0x04;

    /// <summary>Logical busy.</summary>
    public const byte LogicalBusy = 0x05;

    /// <summary>Protocol error.</summary>
    public const byte ProtocolError = 0x07;

    /// <summary>Unable to perform the command request.</summary>
    public const byte UnableToPerform = 0x09;

    /// <summary>Command not supported.</summary>
    public const byte CommandNotSupported = 0x0B;
}

/// <summary>Name server reject explanations (FC-GS-7 table 138).</summary>
internal static class CtExplanation
{
    /// <summary>No additional explanation.</summary>
    public const byte None = 0x00;

    /// <summary>Port id not registered.</summary>
    public const byte PortIdNotRegistered = 0x01;

    /// <summary>Port name not registered.</summary>
    public const byte PortNameNotRegistered = 0x02;

    /// <summary>Node name not registered.</summary>
    public const byte NodeNameNotRegistered = 0x03;

    /// <summary>Class of service not registered.</summary>
    public const byte ClassOfServiceNotRegistered = 0x04;

    /// <summary>FC-4 TYPEs not registered.</summary>
    public const byte Fc4TypesNotRegistered = 0x07;
}

/// <summary>
/// The 16-byte CT IU preamble (FC-GS-7 section 4.3):
/// <code>
///  0  revision (1)   1-3  IN_ID   4  GS type   5  GS subtype   6  options   7  reserved
///  8-9  command/response code   10-11  maximum/residual size in words
/// 12  reserved   13  reason code   14  reason code explanation   15  vendor unique
/// </code>
/// </summary>
internal readonly record struct CtHeader
{
    /// <summary>Bytes of the header.</summary>
    public const int Length = 16;

    /// <summary>The CT revision this codec writes.</summary>
    public const byte CurrentRevision = 0x01;

    /// <summary>The revision.</summary>
    public byte Revision { get; init; }

    /// <summary>IN_ID, 24 bits (0 from a client).</summary>
    public uint InId { get; init; }

    /// <summary>GS type (<see cref="CtServiceType"/>).</summary>
    public byte GsType { get; init; }

    /// <summary>GS subtype (<see cref="CtServiceType.NameServer"/>).</summary>
    public byte GsSubtype { get; init; }

    /// <summary>Options.</summary>
    public byte Options { get; init; }

    /// <summary>Command code of a request, <see cref="CtCommand.Accept"/> or <see cref="CtCommand.Reject"/> of a response.</summary>
    public ushort CommandResponse { get; init; }

    /// <summary>Maximum (request) or residual (response) size in words.</summary>
    public ushort MaxResidualSize { get; init; }

    /// <summary>Reject reason code (<see cref="CtReason"/>).</summary>
    public byte Reason { get; init; }

    /// <summary>Reject explanation (<see cref="CtExplanation"/>).</summary>
    public byte Explanation { get; init; }

    /// <summary>Vendor unique byte.</summary>
    public byte Vendor { get; init; }

    /// <summary>A name server request header for <paramref name="command"/>.</summary>
    public static CtHeader NameServerRequest(ushort command, ushort maxSizeWords = 0) => new()
    {
        Revision = CurrentRevision,
        GsType = CtServiceType.DirectoryService,
        GsSubtype = CtServiceType.NameServer,
        CommandResponse = command,
        MaxResidualSize = maxSizeWords,
    };

    /// <summary>Decodes a header; false when shorter than <see cref="Length"/>.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out CtHeader header)
    {
        header = default;
        if (source.Length < Length)
        {
            return false;
        }

        header = new CtHeader
        {
            Revision = source[0],
            InId = WireFormat.ReadUInt24(source[1..]),
            GsType = source[4],
            GsSubtype = source[5],
            Options = source[6],
            CommandResponse = BinaryPrimitives.ReadUInt16BigEndian(source[8..]),
            MaxResidualSize = BinaryPrimitives.ReadUInt16BigEndian(source[10..]),
            Reason = source[13],
            Explanation = source[14],
            Vendor = source[15],
        };
        return true;
    }

    /// <summary>Writes the header; returns <see cref="Length"/>.</summary>
    public int WriteTo(Span<byte> destination)
    {
        WireFormat.EnsureLength(destination, Length);
        destination[0] = Revision;
        WireFormat.WriteUInt24(destination[1..], InId);
        destination[4] = GsType;
        destination[5] = GsSubtype;
        destination[6] = Options;
        destination[7] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(destination[8..], CommandResponse);
        BinaryPrimitives.WriteUInt16BigEndian(destination[10..], MaxResidualSize);
        destination[12] = 0;
        destination[13] = Reason;
        destination[14] = Explanation;
        destination[15] = Vendor;
        return Length;
    }
}

/// <summary>
/// Bodies of the name server requests an FCP target sends (FC-GS-7 section 5.2), written after the CT header. The
/// port id field is 4 bytes: a reserved byte and the 24-bit N_Port_ID.
/// </summary>
internal static class NameServer
{
    /// <summary>Bytes of an RFT_ID body: port id and the 32-byte FC-4 TYPEs bitmap.</summary>
    public const int RftIdLength = 4 + Fc4Bitmap.TypesLength;

    /// <summary>Bytes of an RFF_ID body: port id, 2 reserved, FC-4 features, FC-4 TYPE.</summary>
    public const int RffIdLength = 8;

    /// <summary>Bytes of an RNN_ID body: port id and node name.</summary>
    public const int RnnIdLength = 12;

    /// <summary>Bytes of a GPN_FT body: reserved, domain scope, area scope, FC-4 TYPE.</summary>
    public const int GpnFtLength = 4;

    /// <summary>Bytes of one GPN_FT accept entry: control (bit 7 = last), port id, 4 reserved, port name.</summary>
    public const int GpnFtEntryLength = 16;

    /// <summary>Bytes of one GID_FT accept entry: control (bit 7 = last) and port id.</summary>
    public const int GidFtEntryLength = 4;

    /// <summary>The control bit of the last entry of a GPN_FT or GID_FT accept.</summary>
    public const byte LastEntry = 0x80;

    /// <summary>Longest symbolic port name.</summary>
    public const int MaxSymbolicNameLength = 255;

    /// <summary>RFT_ID: register the FC-4 TYPEs of <paramref name="portId"/>.</summary>
    public static int WriteRftId(Span<byte> destination, uint portId, ReadOnlySpan<byte> fc4Types)
    {
        var body = Begin(destination, portId, RftIdLength);
        foreach (byte type in fc4Types)
        {
            Fc4Bitmap.SetType(body.Slice(4, Fc4Bitmap.TypesLength), type);
        }

        return RftIdLength;
    }

    /// <summary>Reads an RFT_ID body; the bitmap is queried with <see cref="Fc4Bitmap.IsTypeSet"/>.</summary>
    public static bool TryReadRftId(ReadOnlySpan<byte> body, out uint portId, out ReadOnlySpan<byte> fc4Types)
    {
        portId = 0;
        fc4Types = default;
        if (body.Length < RftIdLength)
        {
            return false;
        }

        portId = WireFormat.ReadUInt24(body[1..]);
        fc4Types = body.Slice(4, Fc4Bitmap.TypesLength);
        return true;
    }

    /// <summary>RFF_ID: register the FC-4 features of one TYPE (<see cref="Fc4FeatureBits"/>).</summary>
    public static int WriteRffId(Span<byte> destination, uint portId, byte features, byte fc4Type)
    {
        var body = Begin(destination, portId, RffIdLength);
        body[6] = features;
        body[7] = fc4Type;
        return RffIdLength;
    }

    /// <summary>Reads an RFF_ID body.</summary>
    public static bool TryReadRffId(ReadOnlySpan<byte> body, out uint portId, out byte features, out byte fc4Type)
    {
        portId = 0;
        features = 0;
        fc4Type = 0;
        if (body.Length < RffIdLength)
        {
            return false;
        }

        portId = WireFormat.ReadUInt24(body[1..]);
        features = body[6];
        fc4Type = body[7];
        return true;
    }

    /// <summary>RSPN_ID: register a symbolic port name (bytes, at most 255); returns 5 + its length (unpadded).</summary>
    public static int WriteRspnId(Span<byte> destination, uint portId, ReadOnlySpan<byte> symbolicName)
    {
        if (symbolicName.Length > MaxSymbolicNameLength)
        {
            WireFormat.ThrowOutOfRange(nameof(symbolicName), "A symbolic name is at most 255 bytes.");
        }

        int length = 5 + symbolicName.Length;
        var body = Begin(destination, portId, length);
        body[4] = (byte)symbolicName.Length;
        symbolicName.CopyTo(body[5..]);
        return length;
    }

    /// <summary>Reads an RSPN_ID body: the port id and the symbolic name (its length byte honoured); false when short.</summary>
    public static bool TryReadRspnId(ReadOnlySpan<byte> body, out uint portId, out ReadOnlySpan<byte> symbolicName)
    {
        portId = 0;
        symbolicName = default;
        if (body.Length < 5 || body.Length < 5 + body[4])
        {
            return false;
        }

        portId = WireFormat.ReadUInt24(body[1..]);
        symbolicName = body.Slice(5, body[4]);
        return true;
    }

    /// <summary>RNN_ID: register the node name of <paramref name="portId"/>.</summary>
    public static int WriteRnnId(Span<byte> destination, uint portId, ulong nodeName)
    {
        var body = Begin(destination, portId, RnnIdLength);
        WireFormat.WriteWwn(body[4..], nodeName);
        return RnnIdLength;
    }

    /// <summary>GPN_FT: ask for the ports of FC-4 TYPE <paramref name="fc4Type"/> (domain and area scope 0: the whole fabric).</summary>
    public static int WriteGpnFt(Span<byte> destination, byte fc4Type, byte domainScope = 0, byte areaScope = 0)
    {
        WireFormat.EnsureLength(destination, GpnFtLength);
        destination[0] = 0;
        destination[1] = domainScope;
        destination[2] = areaScope;
        destination[3] = fc4Type;
        return GpnFtLength;
    }

    /// <summary>Reads a GPN_FT or GID_FT request body; false when short.</summary>
    public static bool TryReadGpnFt(ReadOnlySpan<byte> body, out byte fc4Type, out byte domainScope, out byte areaScope)
    {
        fc4Type = 0;
        domainScope = 0;
        areaScope = 0;
        if (body.Length < GpnFtLength)
        {
            return false;
        }

        domainScope = body[1];
        areaScope = body[2];
        fc4Type = body[3];
        return true;
    }

    /// <summary>Writes one GPN_FT accept entry (<paramref name="isLast"/> sets the control bit 7); returns 16.</summary>
    public static int WriteGpnFtEntry(Span<byte> destination, uint portId, ulong portName, bool isLast)
    {
        var entry = Begin(destination, portId, GpnFtEntryLength);
        entry[0] = isLast ? LastEntry : (byte)0;
        WireFormat.WriteWwn(entry[8..], portName);
        return GpnFtEntryLength;
    }

    /// <summary>Writes one GID_FT accept entry: control (bit 7 = last) and the port id; returns 4.</summary>
    public static int WriteGidFtEntry(Span<byte> destination, uint portId, bool isLast)
    {
        var entry = Begin(destination, portId, GidFtEntryLength);
        entry[0] = isLast ? LastEntry : (byte)0;
        return GidFtEntryLength;
    }

    /// <summary>Entry <paramref name="index"/> of a GID_FT accept body (after the CT header); false past the body.</summary>
    public static bool TryReadGidFtEntry(ReadOnlySpan<byte> body, int index, out uint portId, out bool isLast)
    {
        portId = 0;
        isLast = false;
        int at = index * GidFtEntryLength;
        if (index < 0 || at + GidFtEntryLength > body.Length)
        {
            return false;
        }

        isLast = (body[at] & LastEntry) != 0;
        portId = WireFormat.ReadUInt24(body[(at + 1)..]);
        return true;
    }

    /// <summary>Entry <paramref name="index"/> of a GPN_FT accept body (after the CT header); false past the body.</summary>
    public static bool TryReadGpnFtEntry(ReadOnlySpan<byte> body, int index, out uint portId, out ulong portName, out bool isLast)
    {
        portId = 0;
        portName = 0;
        isLast = false;
        int at = index * GpnFtEntryLength;
        if (index < 0 || at + GpnFtEntryLength > body.Length)
        {
            return false;
        }

        isLast = (body[at] & LastEntry) != 0;
        portId = WireFormat.ReadUInt24(body[(at + 1)..]);
        portName = WireFormat.ReadWwn(body[(at + 8)..]);
        return true;
    }

    private static Span<byte> Begin(Span<byte> destination, uint portId, int length)
    {
        WireFormat.EnsureLength(destination, length);
        var body = destination[..length];
        body.Clear();
        WireFormat.WriteUInt24(body[1..], portId);
        return body;
    }
}
