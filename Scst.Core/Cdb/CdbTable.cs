// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Core.Cdb;

/// <summary>
/// The table of operation codes the suite understands (SPC-4, SBC-3 and the MMC-6 commands of a CD-ROM) and the
/// decoder built on it.
/// </summary>
/// <remarks>
/// Opcodes with service actions (9Eh, A3h, A4h, 7Fh...) have one descriptor per service action. The decoder never
/// throws: a CDB shorter than its opcode's length or an unknown opcode is reported as a result value.
/// </remarks>
public static class CdbTable
{
    private const int ServiceActionOpcodes = 256;

    private static readonly CdbDescriptor?[] s_byOpcode = new CdbDescriptor?[256];
    private static readonly CdbDescriptor?[][] s_byServiceAction = new CdbDescriptor?[ServiceActionOpcodes][];
    private static readonly List<CdbDescriptor> s_all = [];

    // Placeholders for the commands a device decodes that the table does not have, one per operation code group
    // (SPC-4 section 4.2.5.1): they carry the group's CDB length, 16 for the reserved and vendor-specific groups.
    private static readonly CdbDescriptor[] s_deviceDefined =
        [.. new[] { 6, 10, 10, 16, 16, 12, 16, 16 }.Select((length, group) =>
            new CdbDescriptor((byte)(group << 5), -1, "device-defined", length, DataDirection.None, 0, 0, 0, 0, TransferLengthUnit.Bytes, CdbFlags.None, 0))];

    static CdbTable()
    {
        const DataDirection R = DataDirection.Read;
        const DataDirection W = DataDirection.Write;
        const DataDirection N = DataDirection.None;
        const TransferLengthUnit Blk = TransferLengthUnit.Blocks;
        const TransferLengthUnit Byt = TransferLengthUnit.Bytes;
        const TransferLengthUnit No = TransferLengthUnit.None;
        const CdbFlags Core = CdbFlags.CoreOwned;
        const CdbFlags Wm = CdbFlags.WritesMedium | CdbFlags.BlockCommand;
        const CdbFlags Bc = CdbFlags.BlockCommand;
        const CdbFlags NoUa = CdbFlags.CoreOwned | CdbFlags.SkipsUnitAttention | CdbFlags.AllowedWithoutLun;
        const uint Disk = 1u << (int)PeripheralDeviceType.DirectAccess;
        const uint Cd = 1u << (int)PeripheralDeviceType.CdDvd;
        const uint DiskAndCd = Disk | Cd;

        // SPC-4
        Add(0x00, "TEST UNIT READY", 6, N, 0, 0, 0, 0, No, Core);
        Add(0x03, "REQUEST SENSE", 6, R, 0, 0, 4, 1, Byt, NoUa);
        Add(0x12, "INQUIRY", 6, R, 0, 0, 3, 2, Byt, NoUa);
        Add(0x15, "MODE SELECT(6)", 6, W, 0, 0, 4, 1, Byt, Core);
        Add(0x16, "RESERVE(6)", 6, N, 0, 0, 0, 0, No, Core);
        Add(0x17, "RELEASE(6)", 6, N, 0, 0, 0, 0, No, Core);
        Add(0x1A, "MODE SENSE(6)", 6, R, 0, 0, 4, 1, Byt, Core);
        Add(0x1D, "SEND DIAGNOSTIC", 6, W, 0, 0, 3, 2, Byt, CdbFlags.None);
        Add(0x3B, "WRITE BUFFER", 10, W, 0, 0, 6, 3, Byt, CdbFlags.None);
        Add(0x3C, "READ BUFFER", 10, R, 0, 0, 6, 3, Byt, CdbFlags.None);
        Add(0x4C, "LOG SELECT", 10, W, 0, 0, 7, 2, Byt, CdbFlags.None);
        Add(0x4D, "LOG SENSE", 10, R, 0, 0, 7, 2, Byt, CdbFlags.None);
        Add(0x55, "MODE SELECT(10)", 10, W, 0, 0, 7, 2, Byt, Core);
        Add(0x56, "RESERVE(10)", 10, N, 0, 0, 0, 0, No, Core);
        Add(0x57, "RELEASE(10)", 10, N, 0, 0, 0, 0, No, Core);
        Add(0x5A, "MODE SENSE(10)", 10, R, 0, 0, 7, 2, Byt, Core);
        AddServiceAction(0x5E, 0x00, "PERSISTENT RESERVE IN READ KEYS", 10, R, 7, 2, Core);
        AddServiceAction(0x5E, 0x01, "PERSISTENT RESERVE IN READ RESERVATION", 10, R, 7, 2, Core);
        AddServiceAction(0x5E, 0x02, "PERSISTENT RESERVE IN REPORT CAPABILITIES", 10, R, 7, 2, Core);
        AddServiceAction(0x5E, 0x03, "PERSISTENT RESERVE IN READ FULL STATUS", 10, R, 7, 2, Core);
        AddServiceAction(0x5F, 0x00, "PERSISTENT RESERVE OUT REGISTER", 10, W, 5, 4, Core);
        AddServiceAction(0x5F, 0x01, "PERSISTENT RESERVE OUT RESERVE", 10, W, 5, 4, Core);
        AddServiceAction(0x5F, 0x02, "PERSISTENT RESERVE OUT RELEASE", 10, W, 5, 4, Core);
        AddServiceAction(0x5F, 0x03, "PERSISTENT RESERVE OUT CLEAR", 10, W, 5, 4, Core);
        AddServiceAction(0x5F, 0x04, "PERSISTENT RESERVE OUT PREEMPT", 10, W, 5, 4, Core);
        AddServiceAction(0x5F, 0x05, "PERSISTENT RESERVE OUT PREEMPT AND ABORT", 10, W, 5, 4, Core);
        AddServiceAction(0x5F, 0x06, "PERSISTENT RESERVE OUT REGISTER AND IGNORE EXISTING KEY", 10, W, 5, 4, Core);
        AddServiceAction(0x5F, 0x07, "PERSISTENT RESERVE OUT REGISTER AND MOVE", 10, W, 5, 4, Core);
        AddServiceAction(0x83, 0x00, "EXTENDED COPY(LID1)", 16, W, 10, 4, Core);
        AddServiceAction(0x84, 0x00, "RECEIVE COPY STATUS(LID1)", 16, R, 10, 4, Core);
        AddServiceAction(0x84, 0x03, "RECEIVE COPY OPERATING PARAMETERS", 16, R, 10, 4, Core);
        AddServiceAction(0x84, 0x04, "RECEIVE COPY FAILURE DETAILS(LID1)", 16, R, 10, 4, Core);
        Add(0xA0, "REPORT LUNS", 12, R, 0, 0, 6, 4, Byt, NoUa);
        AddServiceAction(0xA3, 0x0A, "REPORT TARGET PORT GROUPS", 12, R, 6, 4, Core);
        AddServiceAction(0xA3, 0x0C, "REPORT SUPPORTED OPERATION CODES", 12, R, 6, 4, Core);
        AddServiceAction(0xA3, 0x0D, "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS", 12, R, 6, 4, Core);
        AddServiceAction(0xA4, 0x0A, "SET TARGET PORT GROUPS", 12, W, 6, 4, Core);

        // SBC-3. Disk rows; those MMC shares (READ(10), READ CAPACITY, START STOP UNIT...) are CD/DVD rows too, so that
        // a CD-ROM logical unit answers them and refuses the writes with DATA PROTECT rather than an unknown opcode.
        Add(0x04, "FORMAT UNIT", 6, W, 0, 0, 0, 0, No, Wm, types: DiskAndCd);
        Add(0x08, "READ(6)", 6, R, 1, 3, 4, 1, Blk, Bc | CdbFlags.ZeroMeans256, types: Disk);
        Add(0x0A, "WRITE(6)", 6, W, 1, 3, 4, 1, Blk, Wm | CdbFlags.ZeroMeans256, types: Disk);
        Add(0x1B, "START STOP UNIT", 6, N, 0, 0, 0, 0, No, Bc | CdbFlags.WorksWithoutMedium, types: DiskAndCd);
        Add(0x1E, "PREVENT ALLOW MEDIUM REMOVAL", 6, N, 0, 0, 0, 0, No, Bc | CdbFlags.WorksWithoutMedium, types: DiskAndCd);
        Add(0x25, "READ CAPACITY(10)", 10, R, 2, 4, 0, 0, TransferLengthUnit.Fixed, Bc, fixedLength: 8, types: DiskAndCd);
        Add(0x28, "READ(10)", 10, R, 2, 4, 7, 2, Blk, Bc | CdbFlags.HasFua, types: DiskAndCd);
        Add(0x2A, "WRITE(10)", 10, W, 2, 4, 7, 2, Blk, Wm | CdbFlags.HasFua, types: DiskAndCd);
        Add(0x2E, "WRITE AND VERIFY(10)", 10, W, 2, 4, 7, 2, Blk, Wm, types: DiskAndCd);
        Add(0x2F, "VERIFY(10)", 10, W, 2, 4, 7, 2, TransferLengthUnit.ByteCheck, Bc, types: DiskAndCd);
        Add(0x34, "PRE-FETCH(10)", 10, N, 2, 4, 7, 2, TransferLengthUnit.NoDataBlocks, Bc, types: Disk);
        Add(0x35, "SYNCHRONIZE CACHE(10)", 10, N, 2, 4, 7, 2, TransferLengthUnit.NoDataBlocks, Bc, types: DiskAndCd);
        Add(0x37, "READ DEFECT DATA(10)", 10, R, 0, 0, 7, 2, Byt, Bc, types: Disk);
        Add(0x41, "WRITE SAME(10)", 10, W, 2, 4, 7, 2, TransferLengthUnit.SingleBlock, Wm, types: Disk);
        Add(0x42, "UNMAP", 10, W, 0, 0, 7, 2, Byt, Wm, types: Disk);
        Add(0x88, "READ(16)", 16, R, 2, 8, 10, 4, Blk, Bc | CdbFlags.HasFua, types: Disk);
        Add(0x89, "COMPARE AND WRITE", 16, W, 2, 8, 13, 1, TransferLengthUnit.DoubleBlocks, Wm | CdbFlags.HasFua, types: Disk);
        Add(0x8A, "WRITE(16)", 16, W, 2, 8, 10, 4, Blk, Wm | CdbFlags.HasFua, types: Disk);
        Add(0x8B, "ORWRITE(16)", 16, W, 2, 8, 10, 4, Blk, Wm, types: Disk);
        Add(0x8E, "WRITE AND VERIFY(16)", 16, W, 2, 8, 10, 4, Blk, Wm, types: Disk);
        Add(0x8F, "VERIFY(16)", 16, W, 2, 8, 10, 4, TransferLengthUnit.ByteCheck, Bc, types: Disk);
        Add(0x90, "PRE-FETCH(16)", 16, N, 2, 8, 10, 4, TransferLengthUnit.NoDataBlocks, Bc, types: Disk);
        Add(0x91, "SYNCHRONIZE CACHE(16)", 16, N, 2, 8, 10, 4, TransferLengthUnit.NoDataBlocks, Bc, types: Disk);
        Add(0x93, "WRITE SAME(16)", 16, W, 2, 8, 10, 4, TransferLengthUnit.SingleBlock, Wm, types: Disk);
        Add(0x9C, "WRITE ATOMIC(16)", 16, W, 2, 8, 12, 2, Blk, Wm | CdbFlags.HasFua, types: Disk);
        AddServiceAction(0x48, 0x01, "SANITIZE OVERWRITE", 10, W, 7, 2, Wm, types: Disk);
        AddServiceAction(0x48, 0x02, "SANITIZE BLOCK ERASE", 10, W, 7, 2, Wm, types: Disk);
        AddServiceAction(0x48, 0x1F, "SANITIZE EXIT FAILURE MODE", 10, W, 7, 2, Wm, types: Disk);
        AddServiceAction(0x9E, 0x10, "READ CAPACITY(16)", 16, R, 10, 4, Bc, lbaOffset: 2, lbaLength: 8, types: Disk);
        AddServiceAction(0x9E, 0x12, "GET LBA STATUS", 16, R, 10, 4, Bc, lbaOffset: 2, lbaLength: 8, types: Disk);
        Add(0xA8, "READ(12)", 12, R, 2, 4, 6, 4, Blk, Bc | CdbFlags.HasFua, types: DiskAndCd);
        Add(0xAA, "WRITE(12)", 12, W, 2, 4, 6, 4, Blk, Wm | CdbFlags.HasFua, types: DiskAndCd);
        Add(0xAE, "WRITE AND VERIFY(12)", 12, W, 2, 4, 6, 4, Blk, Wm, types: Disk);
        Add(0xAF, "VERIFY(12)", 12, W, 2, 4, 6, 4, TransferLengthUnit.ByteCheck, Bc, types: Disk);
        Add(0xB7, "READ DEFECT DATA(12)", 12, R, 0, 0, 6, 4, Byt, Bc, types: Disk);

        // MMC-6, executed by a CD/DVD block device. GET CONFIGURATION, GET EVENT STATUS NOTIFICATION and MECHANISM
        // STATUS answer without a medium (they report it missing); the first two are answered with a unit attention
        // pending and leave it pending (MMC-6 section 4.1.6.1), so that polling for media events does not consume it.
        Add(0x43, "READ TOC/PMA/ATIP", 10, R, 0, 0, 7, 2, Byt, Bc, types: Cd);
        Add(0x46, "GET CONFIGURATION", 10, R, 0, 0, 7, 2, Byt, Bc | CdbFlags.WorksWithoutMedium | CdbFlags.SkipsUnitAttention, types: Cd);
        Add(0x4A, "GET EVENT STATUS NOTIFICATION", 10, R, 0, 0, 7, 2, Byt, Bc | CdbFlags.WorksWithoutMedium | CdbFlags.SkipsUnitAttention, types: Cd);
        Add(0x51, "READ DISC INFORMATION", 10, R, 0, 0, 7, 2, Byt, Bc, types: Cd);
        Add(0xBD, "MECHANISM STATUS", 12, R, 0, 0, 8, 2, Byt, Bc | CdbFlags.WorksWithoutMedium, types: Cd);
    }

    /// <summary>Every descriptor, in table order.</summary>
    public static IReadOnlyList<CdbDescriptor> All => s_all;

    private static void Add(
        byte opcode, string name, int length, DataDirection direction, int lbaOffset, int lbaLength, int lengthOffset,
        int lengthLength, TransferLengthUnit unit, CdbFlags flags, int fixedLength = 0, uint types = CdbDescriptor.AllDeviceTypes)
    {
        var d = new CdbDescriptor(opcode, -1, name, length, direction, lbaOffset, lbaLength, lengthOffset, lengthLength, unit, flags, fixedLength, types);
        s_byOpcode[opcode] = d;
        s_all.Add(d);
    }

    private static void AddServiceAction(
        byte opcode, int serviceAction, string name, int length, DataDirection direction, int lengthOffset, int lengthLength,
        CdbFlags flags, int lbaOffset = 0, int lbaLength = 0, uint types = CdbDescriptor.AllDeviceTypes)
    {
        var d = new CdbDescriptor(opcode, serviceAction, name, length, direction, lbaOffset, lbaLength, lengthOffset, lengthLength, TransferLengthUnit.Bytes, flags, 0, types);
        (s_byServiceAction[opcode] ??= new CdbDescriptor?[32])[serviceAction] = d;
        s_all.Add(d);
    }

    /// <summary>
    /// Whether a logical unit supports a command: the one rule that CDB checking (INVALID COMMAND OPERATION CODE) and
    /// REPORT SUPPORTED OPERATION CODES share. A command outside the command set of the unit's peripheral device type
    /// (<see cref="CdbDescriptor.DeviceTypes"/>) is not; core-owned commands are supported when the core implements
    /// them; block commands on block devices (UNMAP only when thin provisioned); the few remaining SPC commands when the
    /// device handles them.
    /// </summary>
    /// <param name="descriptor">The command.</param>
    /// <param name="device">The logical unit.</param>
    /// <returns>True when the command is executed rather than refused as unsupported.</returns>
    public static bool IsSupported(CdbDescriptor descriptor, ScsiDevice device)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        ArgumentNullException.ThrowIfNull(device);
        if (!descriptor.AppliesTo(device.DeviceType))
        {
            return false;
        }

        if ((descriptor.Flags & CdbFlags.CoreOwned) != 0)
        {
            // REPORT TARGET PORT GROUPS goes with asymmetric access (INQUIRY's TPGS): a device in a device group; SET
            // TARGET PORT GROUPS with explicit asymmetric access.
            return Spc.SpcCommands.Implements(descriptor) && descriptor switch
            {
                { Opcode: 0xA3, ServiceAction: 0x0A } => device.DeviceGroup is not null,
                { Opcode: 0xA4, ServiceAction: 0x0A } => device.DeviceGroup is not null && device.ExplicitAlua,
                _ => true,
            };
        }

        if ((descriptor.Flags & CdbFlags.BlockCommand) != 0)
        {
            // UNMAP and SANITIZE BLOCK ERASE deallocate blocks: only a thin-provisioned device can.
            bool deallocates = descriptor.Opcode == 0x42 || (descriptor.Opcode == 0x48 && descriptor.ServiceAction == 0x02);
            return device is BlockDevice block && (!deallocates || block.ThinProvisioned);
        }

        // SEND DIAGNOSTIC (self-test, a no-op for a virtual disk) is the one non-core SPC command block devices take.
        return descriptor.Opcode == 0x1D && device is BlockDevice;
    }

    /// <summary>The placeholder entry of a command that its device decodes and the table does not have.</summary>
    internal static CdbDescriptor DeviceDefined(byte opcode) => s_deviceDefined[opcode >> 5];

    /// <summary>Whether the opcode's command is identified by a service action in byte 1.</summary>
    /// <param name="opcode">The operation code.</param>
    /// <returns>True for opcodes such as 9Eh and A3h.</returns>
    public static bool HasServiceActions(byte opcode) => s_byServiceAction[opcode] is not null;

    /// <summary>Finds the descriptor of a CDB.</summary>
    /// <param name="cdb">The CDB; at least one byte.</param>
    /// <returns>The descriptor, or null for an operation code (or service action) that is not in the table.</returns>
    public static CdbDescriptor? Find(ReadOnlySpan<byte> cdb)
    {
        if (cdb.IsEmpty)
        {
            return null;
        }

        byte opcode = cdb[0];
        CdbDescriptor?[]? actions = s_byServiceAction[opcode];
        if (actions is null)
        {
            return s_byOpcode[opcode];
        }

        return cdb.Length > 1 ? actions[cdb[1] & 0x1F] : null;
    }

    /// <summary>Finds a descriptor by operation code and service action.</summary>
    /// <param name="opcode">The operation code.</param>
    /// <param name="serviceAction">The service action, or -1.</param>
    /// <returns>The descriptor or null.</returns>
    public static CdbDescriptor? Find(byte opcode, int serviceAction)
    {
        CdbDescriptor?[]? actions = s_byServiceAction[opcode];
        if (actions is null)
        {
            return serviceAction < 0 ? s_byOpcode[opcode] : null;
        }

        return serviceAction is >= 0 and < 32 ? actions[serviceAction] : null;
    }

    /// <summary>Decodes the LBA and transfer length of a CDB.</summary>
    /// <param name="cdb">The whole CDB.</param>
    /// <param name="blockSize">The logical block size of the device, to turn block counts into bytes.</param>
    /// <param name="decoded">The result when the method returns <see cref="CdbDecodeResult.Ok"/>.</param>
    /// <returns>The outcome of decoding.</returns>
    public static CdbDecodeResult TryDecode(ReadOnlySpan<byte> cdb, int blockSize, out DecodedCdb decoded)
    {
        decoded = default;
        CdbDescriptor? d = Find(cdb);
        if (d is null)
        {
            return cdb.Length > 1 && HasServiceActions(cdb[0]) ? CdbDecodeResult.InvalidServiceAction : CdbDecodeResult.UnknownOpcode;
        }

        if (cdb.Length < d.CdbLength)
        {
            return CdbDecodeResult.TooShort;
        }

        ulong lba = d.LbaLength switch
        {
            3 => ((uint)(cdb[1] & 0x1F) << 16) | ((uint)cdb[2] << 8) | cdb[3],
            4 => BinaryPrimitives.ReadUInt32BigEndian(cdb[d.LbaOffset..]),
            8 => BinaryPrimitives.ReadUInt64BigEndian(cdb[d.LbaOffset..]),
            _ => 0,
        };

        uint length = d.LengthLength switch
        {
            1 => cdb[d.LengthOffset],
            2 => BinaryPrimitives.ReadUInt16BigEndian(cdb[d.LengthOffset..]),
            3 => ((uint)cdb[d.LengthOffset] << 16) | BinaryPrimitives.ReadUInt16BigEndian(cdb[(d.LengthOffset + 1)..]),
            4 => BinaryPrimitives.ReadUInt32BigEndian(cdb[d.LengthOffset..]),
            _ => 0,
        };

        if (length == 0 && (d.Flags & CdbFlags.ZeroMeans256) != 0)
        {
            length = 256;
        }

        ulong bytes = d.Unit switch
        {
            TransferLengthUnit.Blocks => (ulong)length * (uint)blockSize,
            TransferLengthUnit.ByteCheck => ((cdb[1] >> 1) & 0x03) switch
            {
                0 => 0UL,                                   // BYTCHK 0: medium verification only, no data
                3 => (uint)blockSize,                       // BYTCHK 3: one block compared with every block
                _ => (ulong)length * (uint)blockSize,       // BYTCHK 1 (2 is reserved; the device rejects it)
            },
            TransferLengthUnit.SingleBlock => (cdb[1] & 0x01) != 0 ? 0UL : (uint)blockSize, // NDOB: no data-out buffer
            TransferLengthUnit.DoubleBlocks => 2UL * length * (uint)blockSize,
            TransferLengthUnit.Bytes => length,
            TransferLengthUnit.Fixed => (ulong)d.FixedLength,
            _ => 0,
        };

        if (bytes > int.MaxValue)
        {
            if (d.Unit != TransferLengthUnit.Bytes || d.Direction != DataDirection.Read)
            {
                return CdbDecodeResult.TransferTooLong;
            }

            // An allocation length is a maximum, not a demand (SPC-4 section 4.2.5.6).
            bytes = int.MaxValue;
        }

        bool fua = (d.Flags & CdbFlags.HasFua) != 0 && (cdb[1] & 0x08) != 0;
        decoded = new DecodedCdb(d, lba, length, (int)bytes, bytes == 0 ? DataDirection.None : d.Direction, fua);
        return CdbDecodeResult.Ok;
    }
}

/// <summary>The result of <see cref="CdbTable.TryDecode"/>.</summary>
public enum CdbDecodeResult : byte
{
    /// <summary>The CDB was decoded.</summary>
    Ok = 0,

    /// <summary>The operation code is not supported (INVALID COMMAND OPERATION CODE).</summary>
    UnknownOpcode,

    /// <summary>The service action is not supported (INVALID FIELD IN CDB, byte 1).</summary>
    InvalidServiceAction,

    /// <summary>The CDB is shorter than its operation code requires.</summary>
    TooShort,

    /// <summary>The transfer length does not fit in memory (INVALID FIELD IN CDB).</summary>
    TransferTooLong,
}

/// <summary>A CDB's decoded fields.</summary>
/// <param name="Descriptor">The table entry of the command.</param>
/// <param name="Lba">The logical block address (0 when the command has none).</param>
/// <param name="TransferLength">The length field as counted by <see cref="CdbDescriptor.Unit"/>.</param>
/// <param name="DataLength">The number of bytes the command transfers according to the CDB.</param>
/// <param name="Direction">The data direction (None when <paramref name="DataLength"/> is 0).</param>
/// <param name="ForceUnitAccess">The FUA bit.</param>
public readonly record struct DecodedCdb(
    CdbDescriptor Descriptor, ulong Lba, uint TransferLength, int DataLength, DataDirection Direction, bool ForceUnitAccess);
