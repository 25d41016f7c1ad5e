// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.Handlers;

/// <summary>
/// The creation parameters every vdisk handler takes (vdisk_fileio, vdisk_nullio and those built on
/// <see cref="VdiskDevice"/>), with SCST's defaults; each handler reads its own beside them.
/// </summary>
internal sealed class VdiskSettings
{
    public const string BlockSizeName = "blocksize";
    public const string ReadOnlyName = "read_only";
    public const string RemovableName = "removable";
    public const string RotationalName = "rotational";
    public const string TstName = "tst";
    public const string ThinProvisionedName = "thin_provisioned";
    public const string OptimalTransferLengthName = "opt_trans_len";
    public const string ExplicitAluaName = "expl_alua";
    public const string ClusterModeName = "cluster_mode";
    public const string NumaNodeIdName = "numa_node_id";

    /// <summary>SCST's default OPTIMAL TRANSFER LENGTH (<c>opt_trans_len</c>), in bytes.</summary>
    public const int DefaultOptimalTransferLength = 524_288;

    public required int BlockSize { get; init; }

    public required bool ReadOnly { get; init; }

    public required bool Removable { get; init; }

    public required bool Rotational { get; init; }

    /// <summary>SCST's <c>tst</c>: 0 for one task set for every I_T nexus, 1 (the default) for one per nexus.</summary>
    public required int Tst { get; init; }

    public required bool ThinProvisioned { get; init; }

    /// <summary>Whether <c>thin_provisioned</c> was given (SCST then marks it a key attribute).</summary>
    public required bool ThinProvisionedGiven { get; init; }

    public required int LogicalBlocksPerPhysicalBlockExponent { get; init; }

    public required long SanitizeBytesPerSecond { get; init; }

    public required int OptimalTransferLength { get; init; }

    public required bool OptimalTransferLengthGiven { get; init; }

    public required bool ExplicitAlua { get; init; }

    public required DeviceIdentity Identity { get; init; }

    public required IdentityFields IdentitySet { get; init; }

    /// <summary>Reads the common parameters; throws <see cref="ArgumentException"/> naming a bad one.</summary>
    /// <param name="p">The parameters.</param>
    /// <param name="name">The device name.</param>
    /// <param name="vendorId">The handler's default T10 vendor identification.</param>
    /// <param name="thinDefault">The handler's default for <c>thin_provisioned</c>.</param>
    /// <param name="device">
    /// What a block device says of itself (vdisk_blockio), which gives the defaults of <c>blocksize</c> (its logical
    /// block size, and no smaller), <c>rotational</c> and <c>lb_per_pb_exp</c> (its physical block size); null for SCST's
    /// fixed defaults.
    /// </param>
    public static VdiskSettings Read(DeviceParameters p, string name, string vendorId, bool thinDefault = false, DeviceGeometry? device = null)
    {
        int blockSize = p.GetInt(BlockSizeName, device?.LogicalBlockSize ?? 512, 512, 1024, 2048, 4096);
        if (device is not null && blockSize < device.LogicalBlockSize)
        {
            throw new ArgumentException($"Device {name}: parameter '{BlockSizeName}' has value '{blockSize}'; the device's logical block size is {device.LogicalBlockSize}, and a block cannot be smaller.");
        }

        int lbPerPbDefault = device is not null && device.PhysicalBlockSize > blockSize
            ? Math.Min(15, System.Numerics.BitOperations.Log2((uint)(device.PhysicalBlockSize / blockSize)))
            : 0;
        bool thinGiven = p.GetString(ThinProvisionedName) is not null;
        int optimal = p.GetIntInRange(OptimalTransferLengthName, DefaultOptimalTransferLength, 0, int.MaxValue);
        if (optimal % blockSize != 0)
        {
            throw new ArgumentException($"Device {name}: parameter '{OptimalTransferLengthName}' has value '{optimal}'; expected a multiple of the block size {blockSize}.");
        }

        if (p.GetIntInRange(ClusterModeName, 0, 0, 1) != 0)
        {
            throw new ArgumentException($"Device {name}: parameter '{ClusterModeName}' 1 (persistent reservations shared through a cluster) is not supported.");
        }

        // numa_node_id places SCST's kernel memory; a user-space process leaves that to the kernel.
        _ = p.GetIntInRange(NumaNodeIdName, -1, -1, 1023);

        DeviceIdentity identity = VdiskIdentity.Create(name, vendorId, p, out IdentityFields set);
        return new VdiskSettings
        {
            BlockSize = blockSize,
            ReadOnly = p.GetBool(ReadOnlyName, false),
            Removable = p.GetBool(RemovableName, false),
            Rotational = p.GetBool(RotationalName, device?.Rotational ?? true),
            Tst = p.GetInt(TstName, 1, 0, 1),
            ThinProvisioned = p.GetBool(ThinProvisionedName, thinDefault),
            ThinProvisionedGiven = thinGiven,
            LogicalBlocksPerPhysicalBlockExponent = p.GetIntInRange(VdiskFileIoHandler.LbPerPbExpParameter, lbPerPbDefault, 0, 15),
            SanitizeBytesPerSecond = (long)p.GetIntInRange(VdiskFileIoHandler.SanitizeRateParameter, VdiskFileIoHandler.DefaultSanitizeRateMb, 0, int.MaxValue) << 20,
            OptimalTransferLength = optimal,
            OptimalTransferLengthGiven = p.GetString(OptimalTransferLengthName) is not null,
            ExplicitAlua = p.GetBool(ExplicitAluaName, false),
            Identity = identity,
            IdentitySet = set,
        };
    }

    /// <summary>Reads <c>size</c> or <c>size_mb</c> (size wins), in bytes; null when neither was given.</summary>
    public static long? ReadSize(DeviceParameters p, string name)
    {
        long? size = p.GetSize("size");
        string? sizeMb = p.GetString("size_mb");
        if (sizeMb is not null)
        {
            long mb = DeviceParameters.TryParseSize(sizeMb + "M", out long s) ? s : throw new ArgumentException($"Device {name}: parameter 'size_mb' has value '{sizeMb}'; expected a number.");
            size ??= mb;
        }

        return size;
    }
}

/// <summary>What a block device reports of itself, for vdisk_blockio's defaults.</summary>
/// <param name="LogicalBlockSize">BLKSSZGET (or the queue's <c>logical_block_size</c>).</param>
/// <param name="PhysicalBlockSize">BLKPBSZGET (or the queue's <c>physical_block_size</c>).</param>
/// <param name="Rotational">The queue's <c>rotational</c>.</param>
internal sealed record DeviceGeometry(int LogicalBlockSize, int PhysicalBlockSize, bool Rotational);
