// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Core;

/// <summary>
/// Builds and reads SPC-4 sense data in the fixed (70h) and descriptor (72h) formats.
/// </summary>
/// <remarks>
/// Fixed format (SPC-4 section 4.5.3), 18 bytes as written here:
/// <code>
///  byte 0     VALID(7) | RESPONSE CODE 70h
///  byte 2     SENSE KEY (bits 3-0)
///  bytes 3-6  INFORMATION (big-endian, low 32 bits)
///  byte 7     ADDITIONAL SENSE LENGTH (10)
///  bytes 8-11 COMMAND-SPECIFIC INFORMATION
///  byte 12    ASC
///  byte 13    ASCQ
///  bytes 15-17 SENSE KEY SPECIFIC: SKSV(7) C/D(6) BPV(3) BIT POINTER(2-0), FIELD POINTER
/// </code>
/// Descriptor format (SPC-4 section 4.5.2): 8-byte header (72h, key, ASC, ASCQ, additional length at byte 7) followed by
/// an information descriptor (type 00h, 12 bytes), a command-specific information descriptor (type 01h, 12 bytes) and a
/// sense-key-specific descriptor (type 02h, 8 bytes) when present.
/// </remarks>
public static class SenseData
{
    /// <summary>The largest sense data this writer produces.</summary>
    public const int MaxLength = 32;

    /// <summary>Length of fixed-format sense data as written here.</summary>
    public const int FixedLength = 18;

    private const byte FixedCurrent = 0x70;
    private const byte DescriptorCurrent = 0x72;
    private const byte InformationDescriptorType = 0x00;
    private const byte CommandSpecificDescriptorType = 0x01;
    private const byte SenseKeySpecificDescriptorType = 0x02;

    /// <summary>Writes sense data for <paramref name="outcome"/>.</summary>
    /// <param name="destination">At least <see cref="MaxLength"/> bytes.</param>
    /// <param name="outcome">A CHECK CONDITION outcome.</param>
    /// <param name="descriptorFormat">True for descriptor format (D_SENSE=1 in the control mode page).</param>
    /// <returns>The number of bytes written.</returns>
    public static int Write(Span<byte> destination, in CommandOutcome outcome, bool descriptorFormat)
    {
        return descriptorFormat ? WriteDescriptor(destination, outcome) : WriteFixed(destination, outcome);
    }

    private static int WriteFixed(Span<byte> d, in CommandOutcome o)
    {
        d = d[..FixedLength];
        d.Clear();
        d[0] = FixedCurrent;
        d[2] = (byte)o.Sense.Key;
        if (o.HasInformation)
        {
            d[0] |= 0x80;
            BinaryPrimitives.WriteUInt32BigEndian(d[3..], (uint)o.Information);
        }

        d[7] = FixedLength - 8;
        if (o.HasCommandSpecificInformation)
        {
            BinaryPrimitives.WriteUInt32BigEndian(d[8..], o.CommandSpecificInformation);
        }

        d[12] = o.Sense.Asc;
        d[13] = o.Sense.Ascq;
        if (o.HasFieldPointer)
        {
            WriteSenseKeySpecific(d[15..], o);
        }

        return FixedLength;
    }

    private static int WriteDescriptor(Span<byte> d, in CommandOutcome o)
    {
        int length = 8;
        d[..8].Clear();
        d[0] = DescriptorCurrent;
        d[1] = (byte)o.Sense.Key;
        d[2] = o.Sense.Asc;
        d[3] = o.Sense.Ascq;
        if (o.HasInformation)
        {
            Span<byte> info = d.Slice(length, 12);
            info.Clear();
            info[0] = InformationDescriptorType;
            info[1] = 0x0A;
            info[2] = 0x80;
            BinaryPrimitives.WriteUInt64BigEndian(info[4..], o.Information);
            length += 12;
        }

        if (o.HasCommandSpecificInformation)
        {
            Span<byte> specific = d.Slice(length, 12);
            specific.Clear();
            specific[0] = CommandSpecificDescriptorType;
            specific[1] = 0x0A;
            BinaryPrimitives.WriteUInt32BigEndian(specific[4..], o.CommandSpecificInformation);
            length += 12;
        }

        if (o.HasFieldPointer)
        {
            Span<byte> sks = d.Slice(length, 8);
            sks.Clear();
            sks[0] = SenseKeySpecificDescriptorType;
            sks[1] = 0x06;
            WriteSenseKeySpecific(sks[4..], o);
            length += 8;
        }

        d[7] = (byte)(length - 8);
        return length;
    }

    private static void WriteSenseKeySpecific(Span<byte> sks, in CommandOutcome o)
    {
        byte b = 0x80;
        if (o.FieldInCdb)
        {
            b |= 0x40;
        }

        if (o.BitPointer >= 0)
        {
            b |= (byte)(0x08 | (o.BitPointer & 0x07));
        }

        sks[0] = b;
        BinaryPrimitives.WriteUInt16BigEndian(sks[1..], o.FieldPointer);
    }

    /// <summary>Reads the sense key, ASC and ASCQ from sense data in either format.</summary>
    /// <param name="sense">The sense data.</param>
    /// <param name="code">The decoded sense code.</param>
    /// <returns>False when the data is too short or its response code is not 70h-73h.</returns>
    public static bool TryReadCode(ReadOnlySpan<byte> sense, out SenseCode code)
    {
        code = default;
        if (sense.Length < 4)
        {
            return false;
        }

        int responseCode = sense[0] & 0x7F;
        switch (responseCode)
        {
            case 0x70 or 0x71 when sense.Length >= 14:
                code = new SenseCode((SenseKey)(sense[2] & 0x0F), sense[12], sense[13]);
                return true;
            case 0x72 or 0x73:
                code = new SenseCode((SenseKey)(sense[1] & 0x0F), sense[2], sense[3]);
                return true;
            default:
                return false;
        }
    }
}
