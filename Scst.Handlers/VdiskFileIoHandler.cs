// Licensed under the Apache License, Version 2.0.

using Microsoft.Win32.SafeHandles;
using Scst.Core;

namespace Scst.Handlers;

/// <summary>
/// SCST's vdisk_fileio handler: disks backed by files.
/// </summary>
/// <remarks>
/// Parameters: <c>filename</c> (required); <c>size</c> or <c>size_mb</c> (creates a sparse file of that size when the
/// file is missing, and is otherwise ignored); <c>blocksize</c> 512 (default), 1024, 2048 or 4096; <c>read_only</c>;
/// <c>nv_cache</c> (SYNCHRONIZE CACHE and FUA do nothing: only for storage that survives power loss);
/// <c>write_through</c> (every write is synced before it is acknowledged); <c>thin_provisioned</c> (UNMAP punches
/// holes in the file, which then read as zeros); <c>removable</c> (INQUIRY RMB=1: START STOP UNIT ejects and loads the
/// medium, PREVENT ALLOW MEDIUM REMOVAL holds it); <c>lb_per_pb_exp</c> (0 to 15, default 0: the physical block holds
/// 2^n logical blocks, as READ CAPACITY(16) and VPD B0h report it; SCST's attribute of that name switches reporting of
/// the backing block device's physical block on and off, and a file has none, so here the value is the exponent
/// itself); <c>sanitize_rate_mb</c> (MiB/s a SANITIZE writes at most, default 64, 0 for no limit: the operation runs in
/// the background while the unit answers NOT READY, SANITIZE IN PROGRESS, and the limit keeps it from starving
/// foreground I/O on the same storage).
/// </remarks>
public sealed class VdiskFileIoHandler : IDeviceHandler
{
    /// <summary>The handler's name.</summary>
    public const string HandlerName = "vdisk_fileio";

    /// <summary>The bandwidth limit of a SANITIZE when <c>sanitize_rate_mb</c> is not given, in MiB/s.</summary>
    internal const int DefaultSanitizeRateMb = 64;

    internal const string LbPerPbExpParameter = "lb_per_pb_exp";

    internal const string SanitizeRateParameter = "sanitize_rate_mb";

    /// <inheritdoc />
    public string Name => HandlerName;

    /// <inheritdoc />
    public PeripheralDeviceType DeviceType => PeripheralDeviceType.DirectAccess;

    /// <inheritdoc />
    public ScsiDevice CreateDevice(string name, IReadOnlyDictionary<string, string> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var p = new DeviceParameters(name, parameters);
        string path = p.GetString("filename") ?? throw new ArgumentException($"Device {name}: parameter 'filename' is required.");
        long? size = p.GetSize("size");
        string? sizeMb = p.GetString("size_mb");
        if (size is null && sizeMb is not null)
        {
            size = DeviceParameters.TryParseSize(sizeMb + "M", out long s) ? s : throw new ArgumentException($"Device {name}: parameter 'size_mb' has value '{sizeMb}'; expected a number.");
        }

        int blockSize = p.GetInt("blocksize", 512, 512, 1024, 2048, 4096);
        bool readOnly = p.GetBool("read_only", false);
        bool nvCache = p.GetBool("nv_cache", false);
        bool writeThrough = p.GetBool("write_through", false);
        bool thin = p.GetBool("thin_provisioned", false);
        bool removable = p.GetBool("removable", false);
        int lbPerPbExponent = p.GetIntInRange(LbPerPbExpParameter, 0, 0, 15);
        long sanitizeRate = (long)p.GetIntInRange(SanitizeRateParameter, DefaultSanitizeRateMb, 0, int.MaxValue) << 20;
        p.RejectUnknown();

        if (!File.Exists(path))
        {
            if (size is null or <= 0)
            {
                throw new ArgumentException($"Device {name}: file '{path}' does not exist and no size was given to create it.");
            }

            string? dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
            if (dir is not null)
            {
                Directory.CreateDirectory(dir);
            }

            using SafeFileHandle created = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite);
            RandomAccess.SetLength(created, size.Value);
        }

        SafeFileHandle file = File.OpenHandle(path, FileMode.Open, readOnly ? FileAccess.Read : FileAccess.ReadWrite, FileShare.ReadWrite);
        long length = RandomAccess.GetLength(file);
        long blocks = length / blockSize;
        if (blocks == 0)
        {
            file.Dispose();
            throw new ArgumentException($"Device {name}: file '{path}' holds {length} bytes, less than one {blockSize}-byte block.");
        }

        return new FileIoDevice(name, path, file, blockSize, blocks, readOnly, nvCache, writeThrough, thin, removable, lbPerPbExponent, sanitizeRate);
    }
}
