// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Transport.Fcoe.Protocol;

/// <summary>
/// The 24-byte Fibre Channel frame header (FC-FS-3 section 9), big-endian:
/// <code>
///  Byte/      0       |       1       |       2       |       3       |
///      +---------------+---------------+---------------+---------------+
///     0| R_CTL         | D_ID                                          |
///     4| CS_CTL/Prio   | S_ID                                          |
///     8| TYPE          | F_CTL                                         |
///    12| SEQ_ID        | DF_CTL        | SEQ_CNT                       |
///    16| OX_ID                         | RX_ID                         |
///    20| Parameter (relative offset when F_CTL REL_OFF is set)         |
///      +---------------------------------------------------------------+
/// </code>
/// </summary>
internal readonly record struct FcFrameHeader
{
    /// <summary>Bytes of the header.</summary>
    public const int Length = 24;

    /// <summary>The RX_ID (and OX_ID) value that means "not assigned".</summary>
    public const ushort UnassignedExchangeId = 0xFFFF;

    private const int DestinationIdOffset = 1;
    private const int CsCtlOffset = 4;
    private const int SourceIdOffset = 5;
    private const int TypeOffset = 8;
    private const int FCtlOffset = 9;
    private const int SeqIdOffset = 12;
    private const int DfCtlOffset = 13;
    private const int SeqCntOffset = 14;
    private const int OxIdOffset = 16;
    private const int RxIdOffset = 18;
    private const int ParameterOffset = 20;

    /// <summary>R_CTL: routing and information category (<see cref="Protocol.RCtl"/>).</summary>
    public byte RCtl { get; init; }

    /// <summary>D_ID, 24 bits.</summary>
    public uint DestinationId { get; init; }

    /// <summary>CS_CTL / priority.</summary>
    public byte CsCtl { get; init; }

    /// <summary>S_ID, 24 bits.</summary>
    public uint SourceId { get; init; }

    /// <summary>TYPE: the data structure type (<see cref="FcType"/>).</summary>
    public byte Type { get; init; }

    /// <summary>F_CTL, 24 bits (<see cref="Protocol.FCtl"/>); bits 1-0 count the fill bytes of the payload.</summary>
    public uint FCtl { get; init; }

    /// <summary>SEQ_ID.</summary>
    public byte SeqId { get; init; }

    /// <summary>DF_CTL: optional headers present (0 in FCP and the link services here).</summary>
    public byte DfCtl { get; init; }

    /// <summary>SEQ_CNT: the frame's number within its sequence.</summary>
    public ushort SeqCnt { get; init; }

    /// <summary>OX_ID: the originator's exchange id.</summary>
    public ushort OxId { get; init; }

    /// <summary>RX_ID: the responder's exchange id, <see cref="UnassignedExchangeId"/> until assigned.</summary>
    public ushort RxId { get; init; }

    /// <summary>Parameter: the relative offset of the payload when F_CTL REL_OFF is set, else command specific.</summary>
    public uint Parameter { get; init; }

    /// <summary>The fill byte count from F_CTL bits 1-0.</summary>
    public int FillCount => (int)(FCtl & Protocol.FCtl.FillMask);

    /// <summary>Decodes a header; false when <paramref name="source"/> is shorter than <see cref="Length"/>.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out FcFrameHeader header)
    {
        if (source.Length < Length)
        {
            header = default;
            return false;
        }

        header = Read(source);
        return true;
    }

    /// <summary>Decodes a header from the first <see cref="Length"/> bytes of <paramref name="source"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is shorter than <see cref="Length"/>.</exception>
    public static FcFrameHeader Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < Length)
        {
            throw new ArgumentException($"An FC frame header is {Length} bytes.", nameof(source));
        }

        return new FcFrameHeader
        {
            RCtl = source[0],
            DestinationId = WireFormat.ReadUInt24(source[DestinationIdOffset..]),
            CsCtl = source[CsCtlOffset],
            SourceId = WireFormat.ReadUInt24(source[SourceIdOffset..]),
            Type = source[TypeOffset],
            FCtl = WireFormat.ReadUInt24(source[FCtlOffset..]),
            SeqId = source[SeqIdOffset],
            DfCtl = source[DfCtlOffset],
            SeqCnt = BinaryPrimitives.ReadUInt16BigEndian(source[SeqCntOffset..]),
            OxId = BinaryPrimitives.ReadUInt16BigEndian(source[OxIdOffset..]),
            RxId = BinaryPrimitives.ReadUInt16BigEndian(source[RxIdOffset..]),
            Parameter = BinaryPrimitives.ReadUInt32BigEndian(source[ParameterOffset..]),
        };
    }

    /// <summary>Writes the header into the first <see cref="Length"/> bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        WireFormat.EnsureLength(destination, Length);
        destination[0] = RCtl;
        WireFormat.WriteUInt24(destination[DestinationIdOffset..], DestinationId);
        destination[CsCtlOffset] = CsCtl;
        WireFormat.WriteUInt24(destination[SourceIdOffset..], SourceId);
        destination[TypeOffset] = Type;
        WireFormat.WriteUInt24(destination[FCtlOffset..], FCtl);
        destination[SeqIdOffset] = SeqId;
        destination[DfCtlOffset] = DfCtl;
        BinaryPrimitives.WriteUInt16BigEndian(destination[SeqCntOffset..], SeqCnt);
        BinaryPrimitives.WriteUInt16BigEndian(destination[OxIdOffset..], OxId);
        BinaryPrimitives.WriteUInt16BigEndian(destination[RxIdOffset..], RxId);
        BinaryPrimitives.WriteUInt32BigEndian(destination[ParameterOffset..], Parameter);
    }

    /// <summary>
    /// The header of the reply to this frame in the same exchange: D_ID and S_ID swapped, OX_ID kept, RX_ID given, the
    /// other fields as passed (SEQ_ID, SEQ_CNT, parameter 0 unless set with <c>with</c>).
    /// </summary>
    public FcFrameHeader ToReply(byte rCtl, uint fCtl, ushort rxId, byte seqId = 0) => new()
    {
        RCtl = rCtl,
        DestinationId = SourceId,
        SourceId = DestinationId,
        Type = Type,
        FCtl = fCtl,
        SeqId = seqId,
        OxId = OxId,
        RxId = rxId,
    };
}
