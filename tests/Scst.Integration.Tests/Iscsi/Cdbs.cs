// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>The few CDBs the scenarios need.</summary>
internal static class Cdbs
{
    public static byte[] Read10(uint lba, ushort blocks)
    {
        var cdb = new byte[10];
        cdb[0] = 0x28;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), blocks);
        return cdb;
    }

    public static byte[] Write10(uint lba, ushort blocks)
    {
        var cdb = Read10(lba, blocks);
        cdb[0] = 0x2a;
        return cdb;
    }

    public static byte[] TestUnitReady() => new byte[6];

    /// <summary>A deterministic, position-dependent pattern so that misplaced bytes are caught.</summary>
    public static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        for (var i = 0; i < length; i++)
        {
            data[i] = (byte)((i * 31) ^ (i >> 9) ^ seed);
        }

        return data;
    }
}
