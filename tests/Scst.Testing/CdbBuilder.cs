// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Testing;

/// <summary>Builds CDBs byte by byte as SPC-4 and SBC-3 lay them out, independently of the core's table.</summary>
public static class CdbBuilder
{
    public static byte[] TestUnitReady() => new byte[6];

    /// <summary>MODE SELECT(6) with PF set, for a parameter list of <paramref name="parameterListLength"/> bytes.</summary>
    public static byte[] ModeSelect6(byte parameterListLength) => [0x15, 0x10, 0, 0, parameterListLength, 0];

    /// <summary>
    /// A MODE SELECT parameter list: a 4-byte header without block descriptor and the control mode page (0Ah) with TST=1,
    /// the given QUEUE ALGORITHM MODIFIER, QERR and TAS, and the BUSY TIMEOUT PERIOD the core reports (FFFFh).
    /// </summary>
    public static byte[] ControlModePage(int queueAlgorithmModifier = 1, int qerr = 0, bool taskAbortedStatus = false) =>
        [0, 0, 0, 0, 0x0A, 0x0A, 0x20, (byte)((queueAlgorithmModifier << 4) | (qerr << 1)), 0, (byte)(taskAbortedStatus ? 0x40 : 0), 0, 0, 0xFF, 0xFF, 0, 0];

    public static byte[] Read6(uint lba, byte blocks) => Rw6(0x08, lba, blocks);

    public static byte[] Write6(uint lba, byte blocks) => Rw6(0x0A, lba, blocks);

    public static byte[] Read10(uint lba, ushort blocks, bool fua = false) => Rw10(0x28, lba, blocks, fua);

    public static byte[] Write10(uint lba, ushort blocks, bool fua = false) => Rw10(0x2A, lba, blocks, fua);

    public static byte[] Read12(uint lba, uint blocks, bool fua = false) => Rw12(0xA8, lba, blocks, fua);

    public static byte[] Write12(uint lba, uint blocks, bool fua = false) => Rw12(0xAA, lba, blocks, fua);

    public static byte[] Read16(ulong lba, uint blocks, bool fua = false) => Rw16(0x88, lba, blocks, fua);

    public static byte[] Write16(ulong lba, uint blocks, bool fua = false) => Rw16(0x8A, lba, blocks, fua);

    /// <summary>READ or WRITE in the given CDB size (6, 10, 12 or 16).</summary>
    public static byte[] ReadWrite(int cdbSize, bool write, ulong lba, uint blocks) => (cdbSize, write) switch
    {
        (6, false) => Read6((uint)lba, (byte)blocks),
        (6, true) => Write6((uint)lba, (byte)blocks),
        (10, false) => Read10((uint)lba, (ushort)blocks),
        (10, true) => Write10((uint)lba, (ushort)blocks),
        (12, false) => Read12((uint)lba, blocks),
        (12, true) => Write12((uint)lba, blocks),
        (16, false) => Read16(lba, blocks),
        (16, true) => Write16(lba, blocks),
        _ => throw new ArgumentOutOfRangeException(nameof(cdbSize)),
    };

    public static byte[] Inquiry(ushort allocationLength = 255, bool evpd = false, byte page = 0)
    {
        var cdb = new byte[6];
        cdb[0] = 0x12;
        cdb[1] = evpd ? (byte)0x01 : (byte)0;
        cdb[2] = page;
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(3), allocationLength);
        return cdb;
    }

    public static byte[] RequestSense(byte allocationLength = 252, bool descriptorFormat = false)
    {
        var cdb = new byte[6];
        cdb[0] = 0x03;
        cdb[1] = descriptorFormat ? (byte)0x01 : (byte)0;
        cdb[4] = allocationLength;
        return cdb;
    }

    public static byte[] ReportLuns(uint allocationLength = 4096, byte selectReport = 0)
    {
        var cdb = new byte[12];
        cdb[0] = 0xA0;
        cdb[2] = selectReport;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(6), allocationLength);
        return cdb;
    }

    /// <param name="pageControl">0 current, 1 changeable, 2 default, 3 saved.</param>
    public static byte[] ModeSense6(byte page, byte allocationLength = 255, int pageControl = 0, byte subpage = 0, bool dbd = false)
    {
        var cdb = new byte[6];
        cdb[0] = 0x1A;
        cdb[1] = dbd ? (byte)0x08 : (byte)0;
        cdb[2] = (byte)((pageControl << 6) | (page & 0x3F));
        cdb[3] = subpage;
        cdb[4] = allocationLength;
        return cdb;
    }

    public static byte[] ModeSense10(byte page, ushort allocationLength = 1024, int pageControl = 0, byte subpage = 0, bool dbd = false, bool llbaa = false)
    {
        var cdb = new byte[10];
        cdb[0] = 0x5A;
        cdb[1] = (byte)((dbd ? 0x08 : 0) | (llbaa ? 0x10 : 0));
        cdb[2] = (byte)((pageControl << 6) | (page & 0x3F));
        cdb[3] = subpage;
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), allocationLength);
        return cdb;
    }

    public static byte[] ReadCapacity10()
    {
        var cdb = new byte[10];
        cdb[0] = 0x25;
        return cdb;
    }

    public static byte[] ReadCapacity16(uint allocationLength = 32)
    {
        var cdb = new byte[16];
        cdb[0] = 0x9E;
        cdb[1] = 0x10;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(10), allocationLength);
        return cdb;
    }

    public static byte[] SynchronizeCache10(uint lba = 0, ushort blocks = 0)
    {
        var cdb = new byte[10];
        cdb[0] = 0x35;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), blocks);
        return cdb;
    }

    public static byte[] SynchronizeCache16(ulong lba = 0, uint blocks = 0)
    {
        var cdb = new byte[16];
        cdb[0] = 0x91;
        BinaryPrimitives.WriteUInt64BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(10), blocks);
        return cdb;
    }

    private static byte[] Rw6(byte opcode, uint lba, byte blocks)
    {
        if (lba > 0x1F_FFFF)
        {
            throw new ArgumentOutOfRangeException(nameof(lba), "READ(6)/WRITE(6) address 21 bits.");
        }

        var cdb = new byte[6];
        cdb[0] = opcode;
        cdb[1] = (byte)(lba >> 16);
        cdb[2] = (byte)(lba >> 8);
        cdb[3] = (byte)lba;
        cdb[4] = blocks;
        return cdb;
    }

    private static byte[] Rw10(byte opcode, uint lba, ushort blocks, bool fua)
    {
        var cdb = new byte[10];
        cdb[0] = opcode;
        cdb[1] = fua ? (byte)0x08 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), blocks);
        return cdb;
    }

    /// <summary>REPORT TARGET PORT GROUPS (MAINTENANCE IN A3h/0Ah); <paramref name="format"/> 1 is the extended header.</summary>
    public static byte[] ReportTargetPortGroups(int format = 0, uint allocationLength = 1024)
    {
        var cdb = new byte[12];
        cdb[0] = 0xA3;
        cdb[1] = (byte)((format << 5) | 0x0A);
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(6), allocationLength);
        return cdb;
    }

    /// <summary>SET TARGET PORT GROUPS (MAINTENANCE OUT A4h/0Ah) with a parameter list of <paramref name="parameterListLength"/> bytes.</summary>
    public static byte[] SetTargetPortGroups(int parameterListLength)
    {
        var cdb = new byte[12];
        cdb[0] = 0xA4;
        cdb[1] = 0x0A;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(6), (uint)parameterListLength);
        return cdb;
    }

    /// <summary>The parameter list of SET TARGET PORT GROUPS: four reserved bytes, then one descriptor per request.</summary>
    public static byte[] TargetPortGroupDescriptors(params (Scst.Core.Alua.AluaState State, int GroupId)[] requests)
    {
        var list = new byte[4 + (4 * requests.Length)];
        for (int i = 0; i < requests.Length; i++)
        {
            list[4 + (4 * i)] = (byte)requests[i].State;
            BinaryPrimitives.WriteUInt16BigEndian(list.AsSpan(6 + (4 * i)), (ushort)requests[i].GroupId);
        }

        return list;
    }

    private static byte[] Rw12(byte opcode, uint lba, uint blocks, bool fua)
    {
        var cdb = new byte[12];
        cdb[0] = opcode;
        cdb[1] = fua ? (byte)0x08 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(6), blocks);
        return cdb;
    }

    private static byte[] Rw16(byte opcode, ulong lba, uint blocks, bool fua)
    {
        var cdb = new byte[16];
        cdb[0] = opcode;
        cdb[1] = fua ? (byte)0x08 : (byte)0;
        BinaryPrimitives.WriteUInt64BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(10), blocks);
        return cdb;
    }
}
