// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Scst.Handlers.Interop;

/// <summary>
/// A block device node for vdisk_blockio: what <c>stat</c> says of a path, the device's geometry through the block
/// layer's ioctls (BLKGETSIZE64, BLKSSZGET, BLKPBSZGET), its queue limits from sysfs
/// (<c>/sys/dev/block/MAJ:MIN/queue</c>), and the discard and zeroing ioctls (BLKDISCARD, BLKZEROOUT).
/// </summary>
internal static unsafe class BlockDeviceNode
{
    // Request numbers of <linux/fs.h>: _IO(0x12, n), and _IOR(0x12, 114, size_t) for BLKGETSIZE64 (8-byte size_t).
    private const uint BlkSectorSizeGet = 0x1268;       // BLKSSZGET: int, the logical block size
    private const uint BlkDiscard = 0x1277;             // BLKDISCARD: uint64[2], byte start and length
    private const uint BlkPhysicalSectorSizeGet = 0x127B; // BLKPBSZGET: unsigned int, the physical block size
    private const uint BlkZeroOut = 0x127F;             // BLKZEROOUT: uint64[2], byte start and length
    private const uint BlkGetSize64 = 0x80081272;       // BLKGETSIZE64: uint64, the size in bytes

    private const uint FileTypeMask = 0xF000;  // S_IFMT
    private const uint BlockDeviceType = 0x6000; // S_IFBLK

    /// <summary>
    /// Returns the device number of the block device at <paramref name="path"/> (following links), or null when the path
    /// names something else; throws <see cref="IOException"/> when it cannot be examined (missing, no access).
    /// </summary>
    public static (uint Major, uint Minor)? Identify(string path)
    {
        byte[] name = NullTerminated(path);
        stat st;
        fixed (byte* p = name)
        {
            if (stat(p, &st) != 0)
            {
                int error = errno;
                throw new IOException($"'{path}': {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(error)}");
            }
        }

        if (((uint)st.st_mode & FileTypeMask) != BlockDeviceType)
        {
            return null;
        }

        ulong dev = st.st_rdev;
        uint major = (uint)(((dev >> 8) & 0xFFF) | ((dev >> 32) & ~0xFFFUL));
        uint minor = (uint)((dev & 0xFF) | ((dev >> 12) & ~0xFFUL));
        return (major, minor);
    }

    /// <summary>Opens a block device with O_DIRECT (O_RDWR, or O_RDONLY for a read-only disk) and O_CLOEXEC.</summary>
    /// <returns>The handle, or null with the errno in <paramref name="error"/>.</returns>
    public static SafeFileHandle? Open(string path, bool readOnly, out int error) => DirectFile.Open(path, readOnly, out error);

    /// <summary>The size of the device in bytes (BLKGETSIZE64).</summary>
    /// <returns>The size, or -errno.</returns>
    public static long GetSize(SafeFileHandle device)
    {
        ulong size = 0;
        int rc = Ioctl(device, BlkGetSize64, &size);
        return rc != 0 ? -rc : (long)size;
    }

    /// <summary>The logical block size (BLKSSZGET).</summary>
    /// <returns>The size, or -errno.</returns>
    public static int GetLogicalBlockSize(SafeFileHandle device)
    {
        int size = 0;
        int rc = Ioctl(device, BlkSectorSizeGet, &size);
        return rc != 0 ? -rc : size;
    }

    /// <summary>The physical block size (BLKPBSZGET).</summary>
    /// <returns>The size, or -errno.</returns>
    public static int GetPhysicalBlockSize(SafeFileHandle device)
    {
        uint size = 0;
        int rc = Ioctl(device, BlkPhysicalSectorSizeGet, &size);
        return rc != 0 ? -rc : (int)size;
    }

    /// <summary>Discards a byte range (BLKDISCARD); both numbers are multiples of the logical block size.</summary>
    /// <returns>0, or the errno (EOPNOTSUPP when the device cannot discard).</returns>
    public static int Discard(SafeFileHandle device, long offset, long length)
    {
        ulong* range = stackalloc ulong[2];
        range[0] = (ulong)offset;
        range[1] = (ulong)length;
        return Ioctl(device, BlkDiscard, range);
    }

    /// <summary>
    /// Zeroes a byte range (BLKZEROOUT): the device's WRITE ZEROES offload where it has one, else the kernel writes zero
    /// pages. The blocks stay allocated. Both numbers are multiples of the logical block size.
    /// </summary>
    /// <returns>0, or the errno.</returns>
    public static int ZeroOut(SafeFileHandle device, long offset, long length)
    {
        ulong* range = stackalloc ulong[2];
        range[0] = (ulong)offset;
        range[1] = (ulong)length;
        return Ioctl(device, BlkZeroOut, range);
    }

    /// <summary>
    /// The sysfs directory of the device's request queue: <c>/sys/dev/block/MAJ:MIN/queue</c>, or that of the whole disk
    /// for a partition (a partition has no queue of its own). Null when sysfs does not show it.
    /// </summary>
    public static string? QueueDirectory(uint major, uint minor)
    {
        string node = string.Create(CultureInfo.InvariantCulture, $"/sys/dev/block/{major}:{minor}");
        if (Directory.Exists(Path.Combine(node, "queue")))
        {
            return Path.Combine(node, "queue");
        }

        // /sys/dev/block/MAJ:MIN links to .../block/DISK/PART; the disk's directory holds the queue.
        if (File.Exists(Path.Combine(node, "partition")) && Directory.ResolveLinkTarget(node, returnFinalTarget: true) is { } target)
        {
            string? parent = Path.GetDirectoryName(target.FullName);
            if (parent is not null && Directory.Exists(Path.Combine(parent, "queue")))
            {
                return Path.Combine(parent, "queue");
            }
        }

        return null;
    }

    /// <summary>Whether the device is a loop device (its sysfs directory has <c>loop/</c>, or its whole disk's has).</summary>
    public static bool IsLoop(string? queueDirectory) =>
        queueDirectory is not null && Path.GetDirectoryName(queueDirectory) is { } disk && Directory.Exists(Path.Combine(disk, "loop"));

    /// <summary>
    /// The backing file of a whole loop device and the byte offset of the device in it (sysfs's <c>loop/backing_file</c>
    /// and <c>loop/offset</c>); null for any other device, a partition of a loop device, or a backing file that is gone.
    /// </summary>
    public static (string Path, long Offset)? LoopBacking(uint major, uint minor)
    {
        string loop = string.Create(CultureInfo.InvariantCulture, $"/sys/dev/block/{major}:{minor}/loop");
        if (ReadQueueValue(loop, "backing_file") is not { Length: > 0 } file || !File.Exists(file) ||
            !long.TryParse(ReadQueueValue(loop, "offset"), NumberStyles.None, CultureInfo.InvariantCulture, out long offset))
        {
            return null;
        }

        return (file, offset);
    }

    /// <summary>Reads one value of a queue directory, trimmed; null when missing or unreadable.</summary>
    public static string? ReadQueueValue(string? queueDirectory, string name)
    {
        if (queueDirectory is null)
        {
            return null;
        }

        try
        {
            return File.ReadAllText(Path.Combine(queueDirectory, name)).Trim();
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static int Ioctl(SafeFileHandle device, uint request, void* argument)
    {
        bool added = false;
        try
        {
            device.DangerousAddRef(ref added);
            int fd = (int)device.DangerousGetHandle();
            while (true)
            {
                if (ioctl(fd, (int)request, argument) == 0)
                {
                    return 0;
                }

                int error = errno;
                if (error != EINTR)
                {
                    return error;
                }
            }
        }
        finally
        {
            if (added)
            {
                device.DangerousRelease();
            }
        }
    }

    private static byte[] NullTerminated(string path)
    {
        byte[] name = new byte[Encoding.UTF8.GetByteCount(path) + 1];
        Encoding.UTF8.GetBytes(path, name);
        return name;
    }
}
