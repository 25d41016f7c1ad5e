// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.IO.Hashing;

namespace Scst.Transport.Fcoe.Protocol;

/// <summary>Start-of-frame delimiters as FCoE encodes them (FC-BB-5 table 21).</summary>
internal static class Sof
{
    /// <summary>SOFf: fabric frame.</summary>
    public const byte SofF = 0x28;

    /// <summary>SOFi4: first frame of a class 4 sequence.</summary>
    public const byte SofI4 = 0x29;

    /// <summary>SOFi2: first frame of a class 2 sequence.</summary>
    public const byte SofI2 = 0x2D;

    /// <summary>SOFi3: first frame of a class 3 sequence (every first frame this driver sends).</summary>
    public const byte SofI3 = 0x2E;

    /// <summary>SOFn4: later frame of a class 4 sequence.</summary>
    public const byte SofN4 = 0x31;

    /// <summary>SOFn2: later frame of a class 2 sequence.</summary>
    public const byte SofN2 = 0x35;

    /// <summary>SOFn3: later frame of a class 3 sequence.</summary>
    public const byte SofN3 = 0x36;

    /// <summary>SOFc4: class 4 circuit activation.</summary>
    public const byte SofC4 = 0x39;

    /// <summary>Whether <paramref name="sof"/> is one of the eight FCoE start-of-frame values.</summary>
    public static bool IsValid(byte sof) => sof is SofF or SofI4 or SofI2 or SofI3 or SofN4 or SofN2 or SofN3 or SofC4;

    /// <summary>Whether <paramref name="sof"/> opens a sequence (SOFi*, SOFf).</summary>
    public static bool IsInitiate(byte sof) => sof is SofI3 or SofI2 or SofI4 or SofF;
}

/// <summary>End-of-frame delimiters as FCoE encodes them (FC-BB-5 table 22).</summary>
internal static class Eof
{
    /// <summary>EOFn: normal, not the last frame of the sequence.</summary>
    public const byte EofN = 0x41;

    /// <summary>EOFt: terminate, the last frame of the sequence.</summary>
    public const byte EofT = 0x42;

    /// <summary>EOFrt: remove-terminate (class 1/4).</summary>
    public const byte EofRt = 0x44;

    /// <summary>EOFdt: disconnect-terminate (class 1/4).</summary>
    public const byte EofDt = 0x46;

    /// <summary>EOFni: normal-invalid.</summary>
    public const byte EofNi = 0x49;

    /// <summary>EOFdti: disconnect-terminate-invalid.</summary>
    public const byte EofDti = 0x4E;

    /// <summary>EOFrti: remove-terminate-invalid.</summary>
    public const byte EofRti = 0x4F;

    /// <summary>EOFa: abort.</summary>
    public const byte EofA = 0x50;

    /// <summary>Whether <paramref name="eof"/> is one of the eight FCoE end-of-frame values.</summary>
    public static bool IsValid(byte eof) => eof is EofN or EofT or EofRt or EofDt or EofNi or EofDti or EofRti or EofA;
}

/// <summary>Outcome of <see cref="FcoeFrame.TryRead"/>.</summary>
internal enum FcoeReadResult
{
    /// <summary>A well-formed FCoE frame with a good CRC.</summary>
    Success,

    /// <summary>Shorter than the smallest FCoE frame (Ethernet + FCoE header + FC header + trailer).</summary>
    Truncated,

    /// <summary>The ethertype is not 0x8906.</summary>
    NotFcoe,

    /// <summary>The FCoE version (high nibble of the first byte) is not 0.</summary>
    UnsupportedVersion,

    /// <summary>The SOF byte is not one of the FCoE SOF values.</summary>
    InvalidSof,

    /// <summary>The EOF byte is not one of the FCoE EOF values.</summary>
    InvalidEof,

    /// <summary>The FC header and payload are not a whole number of 4-byte words.</summary>
    InvalidLength,

    /// <summary>The payload is longer than 2112 bytes.</summary>
    TooLong,

    /// <summary>The CRC-32 over the FC header and payload does not match the trailer.</summary>
    CrcError,

    /// <summary>The F_CTL fill count is larger than the payload.</summary>
    InvalidFill,
}

/// <summary>
/// An FCoE frame (FC-BB-5 section 7.8), offsets from the end of the Ethernet header:
/// <code>
///   0  version (bits 7-4, 0) and 12 reserved bytes
///  13  SOF
///  14  FC frame header (24 bytes)
///  38  FC payload, 0-2112 bytes, padded with 0-3 zero fill bytes (count in F_CTL bits 1-0)
///  end-8  CRC-32 (IEEE 802.3) over FC header + payload + fill, least significant byte first
///  end-4  EOF and 3 reserved bytes
/// </code>
/// The receiver checks the CRC over the padded payload, so a payload whose length is not a multiple of 4 must be sent
/// with its fill bytes and count; the Linux initiator logs "CRC error on data frame" otherwise.
/// </summary>
internal static class FcoeFrame
{
    /// <summary>Bytes of the FCoE header (version, reserved, SOF).</summary>
    public const int HeaderLength = 14;

    /// <summary>Bytes of the FCoE trailer (CRC, EOF, reserved).</summary>
    public const int TrailerLength = 8;

    /// <summary>Largest FC payload (FC-FS-3): the receive data field size of every port is at most this.</summary>
    public const int MaxPayloadLength = 2112;

    /// <summary>Largest FCoE frame without VLAN tag and FCS: 14 + 14 + 24 + 2112 + 8.</summary>
    public const int MaxFrameLength = Ethernet.HeaderLength + HeaderLength + FcFrameHeader.Length + MaxPayloadLength + TrailerLength;

    /// <summary>Largest FCoE frame with a VLAN tag, without FCS.</summary>
    public const int MaxTaggedFrameLength = MaxFrameLength + Ethernet.VlanTagLength;

    /// <summary>The Ethernet payload of the largest FCoE frame: the "Max FCoE size" a FIP descriptor advertises (2158).</summary>
    public const int MaxFcoeSize = MaxFrameLength - Ethernet.HeaderLength;

    /// <summary>Smallest FCoE frame without VLAN tag: an empty payload.</summary>
    public const int MinFrameLength = Ethernet.HeaderLength + HeaderLength + FcFrameHeader.Length + TrailerLength;

    /// <summary>The FCoE version this codec speaks.</summary>
    public const int Version = 0;

    private const int SofOffset = 13;
    private const int CrcLength = 4;

    /// <summary>The offset of the FC payload in a frame written with or without a VLAN tag.</summary>
    public static int GetPayloadOffset(bool tagged) => Ethernet.GetHeaderLength(tagged) + HeaderLength + FcFrameHeader.Length;

    /// <summary>The length of a frame that carries <paramref name="payloadLength"/> payload bytes (fill included).</summary>
    public static int GetFrameLength(bool tagged, int payloadLength) => GetPayloadOffset(tagged) + WireFormat.PadToWord(payloadLength) + TrailerLength;

    /// <summary>The fill bytes that pad <paramref name="payloadLength"/> to a multiple of 4.</summary>
    public static int GetFillCount(int payloadLength) => -payloadLength & 3;

    /// <summary>
    /// Writes a whole FCoE frame: Ethernet header (tagged when <paramref name="vlanTag"/> is set), FCoE header, FC header
    /// with the fill count put into F_CTL bits 1-0, the payload and its zero fill, the CRC and the EOF.
    /// </summary>
    /// <param name="destination">Receives the frame; <see cref="GetFrameLength"/> tells how long it must be.</param>
    /// <param name="destinationMac">The peer's MAC.</param>
    /// <param name="sourceMac">This port's MAC.</param>
    /// <param name="vlanTag">802.1Q tag control information (a VLAN id, with the priority in bits 15-13 if wanted), or null.</param>
    /// <param name="sof">The start-of-frame delimiter (<see cref="Sof"/>).</param>
    /// <param name="header">The FC header; its fill count bits are replaced.</param>
    /// <param name="payload">The FC payload, at most <see cref="MaxPayloadLength"/> bytes.</param>
    /// <param name="eof">The end-of-frame delimiter (<see cref="Eof"/>).</param>
    /// <returns>The frame length (no Ethernet FCS).</returns>
    public static int Write(Span<byte> destination, MacAddress destinationMac, MacAddress sourceMac, ushort? vlanTag, byte sof,
        FcFrameHeader header, ReadOnlySpan<byte> payload, byte eof)
    {
        int payloadOffset = GetPayloadOffset(vlanTag.HasValue);
        CheckPayloadLength(payload.Length);
        WireFormat.EnsureLength(destination, GetFrameLength(vlanTag.HasValue, payload.Length));
        payload.CopyTo(destination[payloadOffset..]);
        return WriteAroundPayload(destination, destinationMac, sourceMac, vlanTag, sof, header, payload.Length, eof);
    }

    /// <summary>
    /// Completes a frame whose payload the caller has already placed at <see cref="GetPayloadOffset"/> (a Data-In frame
    /// filled straight from the command's buffer): writes everything but the payload, the fill and the CRC over both.
    /// </summary>
    /// <returns>The frame length (no Ethernet FCS).</returns>
    public static int WriteAroundPayload(Span<byte> destination, MacAddress destinationMac, MacAddress sourceMac, ushort? vlanTag, byte sof,
        FcFrameHeader header, int payloadLength, byte eof)
    {
        CheckPayloadLength(payloadLength);
        int fill = GetFillCount(payloadLength);
        int frameLength = GetFrameLength(vlanTag.HasValue, payloadLength);
        WireFormat.EnsureLength(destination, frameLength);

        int fcoeHeader = Ethernet.WriteHeader(destination, destinationMac, sourceMac, vlanTag, EtherType.Fcoe);
        var fcoe = destination.Slice(fcoeHeader, HeaderLength);
        fcoe[..SofOffset].Clear();
        fcoe[0] = Version << 4;
        fcoe[SofOffset] = sof;

        int fcStart = fcoeHeader + HeaderLength;
        (header with { FCtl = (header.FCtl & ~FCtl.FillMask) | (uint)fill }).WriteTo(destination[fcStart..]);

        int fillStart = fcStart + FcFrameHeader.Length + payloadLength;
        destination.Slice(fillStart, fill).Clear();
        int crcOffset = fillStart + fill;
        uint crc = Crc32.HashToUInt32(destination[fcStart..crcOffset]);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[crcOffset..], crc);
        var eofField = destination.Slice(crcOffset + CrcLength, TrailerLength - CrcLength);
        eofField.Clear();
        eofField[0] = eof;
        return frameLength;
    }

    private static void CheckPayloadLength(int payloadLength)
    {
        if ((uint)payloadLength > MaxPayloadLength)
        {
            WireFormat.ThrowOutOfRange(nameof(payloadLength), "An FC payload is 0 to 2112 bytes.");
        }
    }

    /// <summary>
    /// Decodes and checks an FCoE frame (one VLAN tag accepted): ethertype, version, lengths, SOF, EOF, CRC and fill.
    /// Never throws; <paramref name="frame"/> is valid only when <see cref="FcoeReadResult.Success"/> is returned.
    /// </summary>
    /// <param name="ethernetFrame">The frame as the socket returned it, without FCS.</param>
    /// <param name="frame">A view over <paramref name="ethernetFrame"/>.</param>
    public static FcoeReadResult TryRead(ReadOnlySpan<byte> ethernetFrame, out FcoeFrameView frame)
    {
        frame = default;
        if (!Ethernet.TryReadHeader(ethernetFrame, out var etherType, out var vlanTag, out int fcoeHeader))
        {
            return FcoeReadResult.Truncated;
        }

        if (etherType != EtherType.Fcoe)
        {
            return FcoeReadResult.NotFcoe;
        }

        int fcStart = fcoeHeader + HeaderLength;
        if (ethernetFrame.Length < fcStart + FcFrameHeader.Length + TrailerLength)
        {
            return FcoeReadResult.Truncated;
        }

        if (ethernetFrame[fcoeHeader] >> 4 != Version)
        {
            return FcoeReadResult.UnsupportedVersion;
        }

        byte sof = ethernetFrame[fcoeHeader + SofOffset];
        if (!Sof.IsValid(sof))
        {
            return FcoeReadResult.InvalidSof;
        }

        int crcOffset = ethernetFrame.Length - TrailerLength;
        byte eof = ethernetFrame[crcOffset + CrcLength];
        if (!Eof.IsValid(eof))
        {
            return FcoeReadResult.InvalidEof;
        }

        int contentLength = crcOffset - fcStart;
        if ((contentLength & 3) != 0)
        {
            return FcoeReadResult.InvalidLength;
        }

        if (contentLength - FcFrameHeader.Length > MaxPayloadLength)
        {
            return FcoeReadResult.TooLong;
        }

        var content = ethernetFrame.Slice(fcStart, contentLength);
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(ethernetFrame[crcOffset..]);
        if (Crc32.HashToUInt32(content) != crc)
        {
            return FcoeReadResult.CrcError;
        }

        var header = FcFrameHeader.Read(content);
        int payloadLength = contentLength - FcFrameHeader.Length - header.FillCount;
        if (payloadLength < 0)
        {
            return FcoeReadResult.InvalidFill;
        }

        frame = new FcoeFrameView(ethernetFrame, vlanTag, fcStart, header, payloadLength, sof, eof, crc);
        return FcoeReadResult.Success;
    }
}

/// <summary>A decoded FCoE frame: a view over the received bytes, valid as long as they are.</summary>
internal readonly ref struct FcoeFrameView
{
    private readonly ReadOnlySpan<byte> _frame;
    private readonly int _fcStart;
    private readonly int _payloadLength;

    internal FcoeFrameView(ReadOnlySpan<byte> frame, ushort? vlanTag, int fcStart, FcFrameHeader header, int payloadLength, byte sof, byte eof, uint crc)
    {
        _frame = frame;
        VlanTag = vlanTag;
        _fcStart = fcStart;
        Header = header;
        _payloadLength = payloadLength;
        Sof = sof;
        Eof = eof;
        Crc = crc;
    }

    /// <summary>The destination MAC.</summary>
    public MacAddress Destination => MacAddress.Read(_frame);

    /// <summary>The source MAC.</summary>
    public MacAddress Source => MacAddress.Read(_frame[MacAddress.Length..]);

    /// <summary>The 802.1Q tag control information, null when the frame is untagged.</summary>
    public ushort? VlanTag { get; }

    /// <summary>The VLAN id (low 12 bits of the tag), null when the frame is untagged.</summary>
    public ushort? VlanId => VlanTag is ushort tag ? (ushort)(tag & Ethernet.VlanIdMask) : null;

    /// <summary>The SOF delimiter.</summary>
    public byte Sof { get; }

    /// <summary>The EOF delimiter.</summary>
    public byte Eof { get; }

    /// <summary>The CRC from the trailer (already checked).</summary>
    public uint Crc { get; }

    /// <summary>The FC frame header.</summary>
    public FcFrameHeader Header { get; }

    /// <summary>The FC payload without its fill bytes.</summary>
    public ReadOnlySpan<byte> Payload => _frame.Slice(_fcStart + FcFrameHeader.Length, _payloadLength);

    /// <summary>The FC header and payload with fill: what the CRC covers.</summary>
    public ReadOnlySpan<byte> FcContent => _frame[_fcStart..(_frame.Length - FcoeFrame.TrailerLength)];

    /// <summary>The whole Ethernet frame.</summary>
    public ReadOnlySpan<byte> Frame => _frame;
}
