// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using Scst.Core;
using Scst.Handlers.Interop;

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
/// "write through"); <c>active</c>. The default T10 vendor identification is SCST's "SCST_BIO". The capacity is the
/// device's (BLKGETSIZE64): <c>size</c> is not a parameter, and after the device grew or shrank <c>resync_size</c>
/// takes its new size.
/// </remarks>
public sealed class VdiskBlockIoHandler : IDeviceHandler
{
    /// <summary>The handler's name.</summary>
    public const string HandlerName = "vdisk_blockio";

    /// <summary>SCST's default T10 vendor identification of a vdisk_blockio device.</summary>
    public const string DefaultVendorId = "SCST_BIO";

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
                WriteThroughDefault: writeThroughDefault);
            p.RejectUnknown();

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
