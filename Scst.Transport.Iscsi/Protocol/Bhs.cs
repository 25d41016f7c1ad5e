// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Diagnostics;

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>
/// Layout of the 48-byte Basic Header Segment shared by every PDU (RFC 7143 section 11.2.1), and the
/// helpers every PDU reader and writer uses for the common fields.
/// </summary>
/// <remarks>
/// <code>
///  Byte/      0       |       1       |       2       |       3       |
///      +---------------+---------------+---------------+---------------+
///     0|.|I| Opcode    |F|  Opcode-specific fields                     |
///     4|TotalAHSLength | DataSegmentLength (24 bits, bytes)            |
///     8| LUN or Opcode-specific fields (8 bytes)                       |
///    12|                                                               |
///    16| Initiator Task Tag or Opcode-specific fields                  |
///    20| Opcode-specific fields (28 bytes)                             |
///    ..|                                                               |
///    48+---------------------------------------------------------------+
/// </code>
/// TotalAHSLength counts 4-byte words; DataSegmentLength counts bytes and excludes the padding that
/// brings the segment to a multiple of 4 (RFC 7143 sections 11.2.1.5 and 11.2.1.6).
/// </remarks>
internal static class Bhs
{
    /// <summary>Size of the Basic Header Segment in bytes.</summary>
    public const int Length = 48;

    /// <summary>Offset of the byte holding the reserved bit, the Immediate bit and the opcode.</summary>
    public const int OpcodeOffset = 0;

    /// <summary>Offset of the byte whose top bit is the Final bit on most PDUs.</summary>
    public const int FlagsOffset = 1;

    /// <summary>Offset of the TotalAHSLength byte (4-byte words).</summary>
    public const int TotalAhsLengthWordsOffset = 4;

    /// <summary>Offset of the 24-bit DataSegmentLength.</summary>
    public const int DataSegmentLengthOffset = 5;

    /// <summary>Offset of the 8-byte LUN (or ISID + TSIH on login PDUs).</summary>
    public const int LunOffset = 8;

    /// <summary>Offset of the Initiator Task Tag.</summary>
    public const int InitiatorTaskTagOffset = 16;

    /// <summary>Mask of the opcode in byte 0.</summary>
    public const byte OpcodeMask = 0x3f;

    /// <summary>The Immediate delivery bit in byte 0 (initiator PDUs only).</summary>
    public const byte ImmediateBit = 0x40;

    /// <summary>The Final bit in byte 1.</summary>
    public const byte FinalBit = 0x80;

    /// <summary>The reserved tag value 0xffffffff (RFC 7143 section 11.2.1.8).</summary>
    public const uint ReservedTag = 0xffff_ffff;

    /// <summary>Largest value the 24-bit DataSegmentLength field can carry.</summary>
    public const int MaxDataSegmentLengthBytes = 0x00ff_ffff;

    /// <summary>Size of a header or data digest (CRC32C) when one is negotiated.</summary>
    public const int DigestLength = 4;

    /// <summary>Rounds a segment length up to the 4-byte boundary that the wire requires.</summary>
    public static int Padded(int lengthBytes) => (lengthBytes + 3) & ~3;

    /// <summary>Reads the 24-bit DataSegmentLength of a BHS.</summary>
    public static int ReadDataSegmentLength(ReadOnlySpan<byte> bhs) =>
        (bhs[DataSegmentLengthOffset] << 16) | (bhs[DataSegmentLengthOffset + 1] << 8) | bhs[DataSegmentLengthOffset + 2];

    /// <summary>Writes the 24-bit DataSegmentLength of a BHS.</summary>
    public static void WriteDataSegmentLength(Span<byte> bhs, int lengthBytes)
    {
        if ((uint)lengthBytes > MaxDataSegmentLengthBytes)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(lengthBytes));
        }

        bhs[DataSegmentLengthOffset] = (byte)(lengthBytes >> 16);
        bhs[DataSegmentLengthOffset + 1] = (byte)(lengthBytes >> 8);
        bhs[DataSegmentLengthOffset + 2] = (byte)lengthBytes;
    }

    /// <summary>
    /// Starts writing a BHS: checks the destination, zeroes all 48 bytes (so every reserved field is zero
    /// without naming it) and writes byte 0 and the two length fields.
    /// </summary>
    /// <returns>The 48-byte slice to write the remaining fields into.</returns>
    public static Span<byte> Begin(Span<byte> destination, IscsiOpcode opcode, bool immediate, byte flags,
        int dataSegmentLengthBytes, int totalAhsLengthWords = 0)
    {
        if (destination.Length < Length)
        {
            ThrowHelper.ThrowArgumentTooShort(nameof(destination));
        }

        if ((uint)totalAhsLengthWords > byte.MaxValue)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(totalAhsLengthWords));
        }

        var bhs = destination[..Length];
        bhs.Clear();
        bhs[OpcodeOffset] = (byte)((byte)opcode | (immediate ? ImmediateBit : 0));
        bhs[FlagsOffset] = flags;
        bhs[TotalAhsLengthWordsOffset] = (byte)totalAhsLengthWords;
        WriteDataSegmentLength(bhs, dataSegmentLengthBytes);
        return bhs;
    }

    /// <summary>Checks, in DEBUG builds, that a reader was given a BHS of the expected opcode.</summary>
    [Conditional("DEBUG")]
    public static void AssertOpcode(ReadOnlySpan<byte> bhs, IscsiOpcode expected) =>
        Debug.Assert(bhs.Length >= Length && (IscsiOpcode)(bhs[OpcodeOffset] & OpcodeMask) == expected,
            $"BHS is not a {expected} PDU.");

    /// <summary>Reads a big-endian 32-bit field at <paramref name="offset"/>.</summary>
    public static uint ReadUInt32(ReadOnlySpan<byte> bhs, int offset) => BinaryPrimitives.ReadUInt32BigEndian(bhs[offset..]);

    /// <summary>Writes a big-endian 32-bit field at <paramref name="offset"/>.</summary>
    public static void WriteUInt32(Span<byte> bhs, int offset, uint value) => BinaryPrimitives.WriteUInt32BigEndian(bhs[offset..], value);

    /// <summary>Reads a big-endian 16-bit field at <paramref name="offset"/>.</summary>
    public static ushort ReadUInt16(ReadOnlySpan<byte> bhs, int offset) => BinaryPrimitives.ReadUInt16BigEndian(bhs[offset..]);

    /// <summary>Writes a big-endian 16-bit field at <paramref name="offset"/>.</summary>
    public static void WriteUInt16(Span<byte> bhs, int offset, ushort value) => BinaryPrimitives.WriteUInt16BigEndian(bhs[offset..], value);

    /// <summary>Reads the 8-byte LUN field (or ISID + TSIH) as one big-endian integer.</summary>
    public static ulong ReadUInt64(ReadOnlySpan<byte> bhs, int offset) => BinaryPrimitives.ReadUInt64BigEndian(bhs[offset..]);

    /// <summary>Writes an 8-byte big-endian field.</summary>
    public static void WriteUInt64(Span<byte> bhs, int offset, ulong value) => BinaryPrimitives.WriteUInt64BigEndian(bhs[offset..], value);

    /// <summary>Reads the 48-bit ISID at bytes 8-13 of a login PDU.</summary>
    public static ulong ReadIsid(ReadOnlySpan<byte> bhs) => ReadUInt64(bhs, LunOffset) >> 16;

    /// <summary>Writes the 48-bit ISID and the TSIH at bytes 8-15 of a login PDU.</summary>
    public static void WriteIsidAndTsih(Span<byte> bhs, ulong isid, ushort tsih)
    {
        if (isid > 0xffff_ffff_ffffUL)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(isid));
        }

        WriteUInt64(bhs, LunOffset, (isid << 16) | tsih);
    }
}
