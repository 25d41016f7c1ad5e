// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Transport.Fcoe.Protocol;

/// <summary>ABTS (FC-FS-3 section 15.3.2): R_CTL 0x81, TYPE 0 (BLS), no payload.</summary>
internal static class Abts
{
    /// <summary>Parameter bit 0 of an ABTS: abort only the sequence, not the whole exchange.</summary>
    public const uint AbortSequenceOnly = 0x1;
}

/// <summary>BA_RJT reason codes (FC-FS-3 table 135).</summary>
internal static class BaRjtReason
{
    /// <summary>Invalid command code.</summary>
    public const byte InvalidCommand = 0x01;

    /// <summary>Logical error.</summary>
    public const byte LogicalError = 0x03;

    /// <summary>Logical busy.</summary>
    public const byte LogicalBusy = 0x05;

    /// <summary>Protocol error.</summary>
    public const byte ProtocolError = 0x07;

    /// <summary>Unable to perform command request.</summary>
    public const byte UnableToPerform = 0x09;

    /// <summary>Vendor unique.</summary>
    public const byte VendorUnique = 0xFF;
}

/// <summary>BA_RJT reason explanations (FC-FS-3 table 136).</summary>
internal static class BaRjtExplanation
{
    /// <summary>No additional explanation.</summary>
    public const byte None = 0x00;

    /// <summary>Invalid OX_ID-RX_ID combination.</summary>
    public const byte InvalidExchangeIds = 0x03;

    /// <summary>Sequence aborted, no sequence information provided.</summary>
    public const byte SequenceAborted = 0x05;
}

/// <summary>
/// The 12-byte BA_ACC payload (FC-FS-3 section 15.3.4.1): 0 SEQ_ID validity (0x80), 1 SEQ_ID of the last deliverable
/// sequence, 2-3 reserved, 4-5 OX_ID, 6-7 RX_ID, 8-9 low SEQ_CNT, 10-11 high SEQ_CNT.
/// </summary>
/// <param name="SeqIdValid">Whether <paramref name="SeqId"/> names the last deliverable sequence.</param>
/// <param name="SeqId">SEQ_ID of the last deliverable sequence.</param>
/// <param name="OxId">OX_ID of the aborted exchange.</param>
/// <param name="RxId">RX_ID of the aborted exchange.</param>
/// <param name="LowSeqCnt">Lowest SEQ_CNT of the aborted range.</param>
/// <param name="HighSeqCnt">Highest SEQ_CNT of the aborted range (0xFFFF: the whole exchange).</param>
internal readonly record struct BaAcc(bool SeqIdValid, byte SeqId, ushort OxId, ushort RxId, ushort LowSeqCnt, ushort HighSeqCnt)
{
    /// <summary>Bytes of the payload.</summary>
    public const int Length = 12;

    /// <summary>The validity bit of byte 0.</summary>
    public const byte SeqIdValidBit = 0x80;

    /// <summary>Decodes a BA_ACC payload; false when too short.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out BaAcc accept)
    {
        accept = default;
        if (payload.Length < Length)
        {
            return false;
        }

        accept = new BaAcc((payload[0] & SeqIdValidBit) != 0, payload[1],
            BinaryPrimitives.ReadUInt16BigEndian(payload[4..]), BinaryPrimitives.ReadUInt16BigEndian(payload[6..]),
            BinaryPrimitives.ReadUInt16BigEndian(payload[8..]), BinaryPrimitives.ReadUInt16BigEndian(payload[10..]));
        return true;
    }

    /// <summary>Writes the payload; returns <see cref="Length"/>.</summary>
    public int WriteTo(Span<byte> destination)
    {
        WireFormat.EnsureLength(destination, Length);
        destination[0] = SeqIdValid ? SeqIdValidBit : (byte)0;
        destination[1] = SeqId;
        destination[2] = 0;
        destination[3] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], OxId);
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], RxId);
        BinaryPrimitives.WriteUInt16BigEndian(destination[8..], LowSeqCnt);
        BinaryPrimitives.WriteUInt16BigEndian(destination[10..], HighSeqCnt);
        return Length;
    }
}

/// <summary>
/// The 4-byte BA_RJT payload (FC-FS-3 section 15.3.4.2): 0 reserved, 1 reason code, 2 reason explanation,
/// 3 vendor unique.
/// </summary>
/// <param name="Reason">The reason (<see cref="BaRjtReason"/>).</param>
/// <param name="Explanation">The explanation (<see cref="BaRjtExplanation"/>).</param>
/// <param name="Vendor">The vendor unique byte.</param>
internal readonly record struct BaRjt(byte Reason, byte Explanation, byte Vendor = 0)
{
    /// <summary>Bytes of the payload.</summary>
    public const int Length = 4;

    /// <summary>Decodes a BA_RJT payload; false when too short.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out BaRjt reject)
    {
        reject = default;
        if (payload.Length < Length)
        {
            return false;
        }

        reject = new BaRjt(payload[1], payload[2], payload[3]);
        return true;
    }

    /// <summary>Writes the payload; returns <see cref="Length"/>.</summary>
    public int WriteTo(Span<byte> destination)
    {
        WireFormat.EnsureLength(destination, Length);
        destination[0] = 0;
        destination[1] = Reason;
        destination[2] = Explanation;
        destination[3] = Vendor;
        return Length;
    }
}
