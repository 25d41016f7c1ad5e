// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Text;

namespace Scst.Testing;

/// <summary>
/// Writes image files for CD-ROM tests: whole 2048-byte sectors, each starting with its own LBA (8 bytes, big-endian)
/// followed by a pattern derived from it, so that a read shows which sector it returned. Sector 16 holds an ISO 9660
/// primary volume descriptor (type 1, "CD001", the volume identifier, the volume space size, 2048-byte blocks) and
/// sector 17 the descriptor set terminator, as in any ISO image; no directory follows (a vcdrom never parses it).
/// </summary>
public static class IsoImageFile
{
    public const int SectorSize = 2048;

    /// <summary>The sector of the primary volume descriptor.</summary>
    public const int VolumeDescriptorSector = 16;

    /// <summary>Writes an image of <paramref name="sectors"/> sectors (at least 18) to <paramref name="path"/>.</summary>
    public static string Write(string path, int sectors, string volumeId = "SCST_TEST")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sectors, VolumeDescriptorSector + 2);
        byte[] image = new byte[sectors * SectorSize];
        for (int lba = 0; lba < sectors; lba++)
        {
            Sector(lba).CopyTo(image.AsSpan(lba * SectorSize));
        }

        Span<byte> pvd = image.AsSpan(VolumeDescriptorSector * SectorSize, SectorSize);
        pvd.Clear();
        pvd[0] = 1;
        Encoding.ASCII.GetBytes("CD001", pvd[1..]);
        pvd[6] = 1;
        pvd.Slice(8, 32).Fill((byte)' ');
        pvd.Slice(40, 32).Fill((byte)' ');
        Encoding.ASCII.GetBytes(volumeId, pvd[40..]);
        BinaryPrimitives.WriteInt32LittleEndian(pvd[80..], sectors);
        BinaryPrimitives.WriteInt32BigEndian(pvd[84..], sectors);
        BinaryPrimitives.WriteInt16LittleEndian(pvd[120..], 1);
        BinaryPrimitives.WriteInt16BigEndian(pvd[122..], 1);
        BinaryPrimitives.WriteInt16LittleEndian(pvd[124..], 1);
        BinaryPrimitives.WriteInt16BigEndian(pvd[126..], 1);
        BinaryPrimitives.WriteInt16LittleEndian(pvd[128..], SectorSize);
        BinaryPrimitives.WriteInt16BigEndian(pvd[130..], SectorSize);
        pvd[881] = 1;

        Span<byte> terminator = image.AsSpan((VolumeDescriptorSector + 1) * SectorSize, SectorSize);
        terminator.Clear();
        terminator[0] = 0xFF;
        Encoding.ASCII.GetBytes("CD001", terminator[1..]);
        terminator[6] = 1;

        File.WriteAllBytes(path, image);
        return path;
    }

    /// <summary>The contents <see cref="Write"/> gives sector <paramref name="lba"/> (other than 16 and 17).</summary>
    public static byte[] Sector(long lba)
    {
        byte[] sector = new byte[SectorSize];
        BinaryPrimitives.WriteInt64BigEndian(sector, lba);
        for (int i = 8; i < SectorSize; i++)
        {
            sector[i] = (byte)((lba * 31) + i);
        }

        return sector;
    }
}
