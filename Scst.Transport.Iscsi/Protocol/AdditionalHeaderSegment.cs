// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Buffers.Binary;

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>AHSType values (RFC 7143 section 11.2.2.1).</summary>
internal enum AhsType : byte
{
    /// <summary>Extended CDB.</summary>
    ExtendedCdb = 1,

    /// <summary>Bidirectional Read Expected Data Transfer Length.</summary>
    BidirectionalReadLength = 2,
}

/// <summary>
/// Additional Header Segments (RFC 7143 section 11.2.2). Each AHS is
/// <code>
///  Byte/      0       |       1       |       2       |       3       |
///      +---------------+---------------+---------------+---------------+
///     0| AHSLength (bytes after byte 3)| AHSType       | AHS-Specific  |
///     4| AHS-Specific (AHSLength - 1 more bytes, padded to 4)          |
///      +---------------------------------------------------------------+
/// </code>
/// An Extended CDB AHS has AHSLength = CDB length - 15 and carries CDB bytes 16 and up (section 11.3.4);
/// a Bidirectional Read AHS has AHSLength 5 and a 4-byte length at byte 4 (section 11.3.5).
/// </summary>
internal static class AdditionalHeaderSegment
{
    /// <summary>Size of the AHSLength + AHSType + first specific byte.</summary>
    public const int HeaderLength = 4;

    /// <summary>Largest CDB iSCSI can carry: 16 in the BHS plus an AHS of up to 65535 - 1 bytes.</summary>
    public const int MaxCdbLength = ScsiCommandHeader.CdbLength + ushort.MaxValue - 1;

    private const int BidirectionalReadLengthAhsLength = 5;
    private const int BidirectionalReadLengthOffset = 4;

    /// <summary>
    /// Assembles the full CDB of a SCSI Command: the BHS's 16 bytes plus an Extended CDB AHS when present.
    /// </summary>
    /// <param name="command">The decoded command header.</param>
    /// <param name="ahs">The PDU's AHS bytes.</param>
    /// <param name="destination">Receives the CDB; 16 bytes suffice without an extended CDB.</param>
    /// <param name="cdbLength">Length of the CDB written.</param>
    /// <returns>False when the AHS area is malformed or <paramref name="destination"/> is too short.</returns>
    public static bool TryGetCdb(in ScsiCommandHeader command, ReadOnlySequence<byte> ahs, Span<byte> destination, out int cdbLength)
    {
        cdbLength = 0;
        if (!TryFind(ahs, AhsType.ExtendedCdb, out var extended, out var ahsLength))
        {
            return false;
        }

        var extra = extended.IsEmpty ? 0 : ahsLength - 1;
        if (destination.Length < ScsiCommandHeader.CdbLength + extra)
        {
            return false;
        }

        var cdb = command.Cdb;
        ((ReadOnlySpan<byte>)cdb).CopyTo(destination);
        if (extra > 0)
        {
            extended.Slice(HeaderLength, extra).CopyTo(destination[ScsiCommandHeader.CdbLength..]);
        }

        cdbLength = ScsiCommandHeader.CdbLength + extra;
        return true;
    }

    /// <summary>Reads the Bidirectional Read Expected Data Transfer Length AHS, if present.</summary>
    public static bool TryGetBidirectionalReadLength(ReadOnlySequence<byte> ahs, out uint readLength)
    {
        readLength = 0;
        if (!TryFind(ahs, AhsType.BidirectionalReadLength, out var segment, out var ahsLength)
            || segment.IsEmpty || ahsLength != BidirectionalReadLengthAhsLength)
        {
            return false;
        }

        Span<byte> value = stackalloc byte[sizeof(uint)];
        segment.Slice(BidirectionalReadLengthOffset, sizeof(uint)).CopyTo(value);
        readLength = BinaryPrimitives.ReadUInt32BigEndian(value);
        return true;
    }

    /// <summary>Writes an Extended CDB AHS carrying <paramref name="cdb"/>[16..].</summary>
    /// <returns>Bytes written (a multiple of 4); add them / 4 to TotalAHSLength.</returns>
    public static int WriteExtendedCdb(Span<byte> destination, ReadOnlySpan<byte> cdb)
    {
        if (cdb.Length <= ScsiCommandHeader.CdbLength || cdb.Length > MaxCdbLength)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(cdb));
        }

        var extra = cdb.Length - ScsiCommandHeader.CdbLength;
        var total = Bhs.Padded(HeaderLength + extra);
        if (destination.Length < total)
        {
            ThrowHelper.ThrowArgument(nameof(destination), "The destination cannot hold the AHS.");
        }

        destination[..total].Clear();
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(extra + 1));
        destination[2] = (byte)AhsType.ExtendedCdb;
        cdb[ScsiCommandHeader.CdbLength..].CopyTo(destination[HeaderLength..]);
        return total;
    }

    /// <summary>
    /// Finds the first AHS of <paramref name="type"/>. Returns false only when the AHS area is malformed;
    /// a missing AHS gives true with an empty <paramref name="segment"/>.
    /// </summary>
    private static bool TryFind(ReadOnlySequence<byte> ahs, AhsType type, out ReadOnlySequence<byte> segment, out int ahsLength)
    {
        segment = default;
        ahsLength = 0;
        Span<byte> head = stackalloc byte[HeaderLength];
        while (!ahs.IsEmpty)
        {
            if (ahs.Length < HeaderLength)
            {
                return false;
            }

            ahs.Slice(0, HeaderLength).CopyTo(head);
            int length = BinaryPrimitives.ReadUInt16BigEndian(head);
            long size = Bhs.Padded(3 + length);
            if (length == 0 || ahs.Length < size)
            {
                return false;
            }

            if (head[2] == (byte)type)
            {
                segment = ahs.Slice(0, size);
                ahsLength = length;
                return true;
            }

            ahs = ahs.Slice(size);
        }

        return true;
    }
}
