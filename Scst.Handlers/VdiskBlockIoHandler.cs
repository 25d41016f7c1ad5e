// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using Scst.Core;
using Scst.Handlers.Interop;
using Scst.Handlers.Io;

namespace Scst.Handlers;

/// <summary>
/// SCST's vdisk_blockio handler: disks backed by block devices, read and written with O_DIRECT.
/// </summary>
/// <remarks>
/// Parameters: <c>filename</c> (required; a block device, such as a partition, a logical volume or a loop device); the
/// common vdisk parameters (see <see cref="VdiskDevice"/> and the package README), with defaults taken from the device
/// where SCST takes them: <c>blocksize</c> (the device's logical block size, BLKSSZGET; a smaller one is refused),
/// <c>rotational</c> (the queue's <c>rotational</c> in sysfs, the whole disk's for a partition),
/// <c>thin_provisioned</c> (whether the device can discard: the queue's <c>discard_max_bytes</c> is not 0) and
/// <c>lb_per_pb_exp</c> (the physical block size, BLKPBSZGET, over the logical one); <c>nv_cache</c>;
/// <c>write_through</c> (default: 1 when the device has no volatile write cache, the queue's <c>write_cache</c> reading
/// "write through"); <c>active</c>; <c>bind_alua_state</c> (default 1, as in SCST: the device is open only while its
/// ALUA state on this node is active); <c>io_engine</c> (default <c>io_uring</c>, see <see cref="DefaultIoEngine"/>, or
/// <c>pread</c>). The default T10 vendor identification is SCST's "SCST_BIO". The capacity is the
/// device's (BLKGETSIZE64): <c>size</c> is not a parameter, and after the device grew or shrank <c>resync_size</c>
/// takes its new size.
/// </remarks>
public sealed class VdiskBlockIoHandler : IDeviceHandler
{
    /// <summary>The handler's name.</summary>
    public const string HandlerName = "vdisk_blockio";

    /// <summary>SCST's default T10 vendor identification of a vdisk_blockio device.</summary>
    public const string DefaultVendorId = "SCST_BIO";

    /// <summary>
    /// The default <c>io_engine</c>: <c>io_uring</c>. Every request on a block device is O_DIRECT and waits for the
    /// device; on the ring the wait holds no thread, where pread would hold the command's thread (for iSCSI, the
    /// connection's receive loop) for each request. A machine without io_uring serves the device with pread.
    /// </summary>
    internal const string DefaultIoEngine = IoEngine.UringName;

    private readonly SharedUring _uring = new();

    /// <inheritdoc />
    public string Name => HandlerName;

    /// <inheritdoc />
    public PeripheralDeviceType DeviceType => PeripheralDeviceType.DirectAccess;

    /// <inheritdoc />
    public ScsiDevice CreateDevice(string name, IReadOnlyDictionary<string, string> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var p = new DeviceParameters(name, parameters);
        string path = p.GetString(BlockIoDevice.FileNameName) ?? throw new ArgumentException($"Device {name}: parameter 'filename' is required.");
        path = System.IO.Path.GetFullPath(path);
        bool active = p.GetBool(BlockIoDevice.ActiveName, true);
        bool readOnly = p.GetBool(VdiskSettings.ReadOnlyName, false);

        (uint major, uint minor) device;
        try
        {
            device = BlockDeviceNode.Identify(path)
                ?? throw new ArgumentException($"Device {name}: '{path}' is not a block device; vdisk_blockio serves block devices (vdisk_fileio serves files).");
        }
        catch (IOException ex)
        {
            throw new ArgumentException($"Device {name}: {ex.Message}", ex);
        }

        string? queue = BlockDeviceNode.QueueDirectory(device.major, device.minor);
        OpenBlockDevice? opened = null;
        try
        {
            DeviceGeometry geometry;
            long size;
            if (active)
            {
                try
                {
                    opened = OpenBlockDevice.Open(path, readOnly);
                }
                catch (IOException ex)
                {
                    throw new ArgumentException($"Device {name}: {ex.Message}", ex);
                }

                geometry = new DeviceGeometry(opened.LogicalBlockSize, opened.PhysicalBlockSize, Rotational(queue));
                size = opened.Size;
            }
            else
            {
                // Created inactive (the passive side of a pair, which may refuse to open): the geometry from sysfs.
                geometry = new DeviceGeometry(
                    QueueInt(queue, "logical_block_size") ?? 512, QueueInt(queue, "physical_block_size") ?? 512, Rotational(queue));
                size = SysfsSize(device.major, device.minor);
            }

            bool canDiscard = QueueLong(queue, "discard_max_bytes") is > 0;
            VdiskSettings settings = VdiskSettings.Read(p, name, DefaultVendorId, thinDefault: canDiscard, device: geometry);
            bool writeThroughDefault = BlockDeviceNode.ReadQueueValue(queue, "write_cache") == "write through";
            bool writeThroughGiven = p.GetString(BlockIoDevice.WriteThroughName) is not null;
            var block = new BlockIoSettings(
                path,
                NvCache: p.GetBool(BlockIoDevice.NvCacheName, false),
                WriteThrough: p.GetBool(BlockIoDevice.WriteThroughName, writeThroughDefault),
                WriteThroughDefault: writeThroughDefault,
                BindAluaState: p.GetBool(BlockIoDevice.BindAluaStateName, true));
            string? engine = p.GetString(BlockIoDevice.IoEngineName);
            p.RejectUnknown();
            if (engine is not (null or IoEngine.PositionalName or IoEngine.UringName))
            {
                throw new ArgumentException($"Device {name}: parameter '{BlockIoDevice.IoEngineName}' has value '{engine}'; expected {IoEngine.PositionalName} or {IoEngine.UringName}.");
            }

            if (settings.ReadOnly && (writeThroughGiven && block.WriteThrough || block.NvCache))
            {
                throw new ArgumentException($"Device {name}: write_through and nv_cache do not apply to a read-only device.");
            }

            long blocks = size / settings.BlockSize;
            if (blocks == 0)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"Device {name}: '{path}' holds {size} bytes, less than one {settings.BlockSize}-byte block."));
            }

            // The ring last, once nothing else can refuse the device: it is released only by the device's disposal.
            if ((engine ?? DefaultIoEngine) == IoEngine.UringName)
            {
                UringIoEngine? ring = _uring.TryAcquire(out string? failure);
                if (ring is null && engine is not null)
                {
                    throw new ArgumentException($"Device {name}: io_engine=io_uring is not available on this machine: {failure}. Use io_engine=pread.");
                }

                block = block with { Ring = ring, RingOwner = ring is null ? null : _uring };
            }

            var created = new BlockIoDevice(name, settings, block, opened, blocks);
            opened = null;
            return created;
        }
        finally
        {
            opened?.Dispose();
        }
    }

    // The queue's rotational flag; a device whose queue sysfs does not show counts as rotating (SCST's default).
    private static bool Rotational(string? queue) => BlockDeviceNode.ReadQueueValue(queue, "rotational") != "0";

    private static int? QueueInt(string? queue, string name) =>
        int.TryParse(BlockDeviceNode.ReadQueueValue(queue, name), NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value > 0 ? value : null;

    private static long? QueueLong(string? queue, string name) =>
        long.TryParse(BlockDeviceNode.ReadQueueValue(queue, name), NumberStyles.None, CultureInfo.InvariantCulture, out long value) ? value : null;

    // /sys/dev/block/MAJ:MIN/size counts 512-byte sectors whatever the logical block size.
    private static long SysfsSize(uint major, uint minor)
    {
        string node = string.Create(CultureInfo.InvariantCulture, $"/sys/dev/block/{major}:{minor}");
        return long.TryParse(BlockDeviceNode.ReadQueueValue(node, "size"), NumberStyles.None, CultureInfo.InvariantCulture, out long sectors) ? sectors * 512 : 0;
    }
}
