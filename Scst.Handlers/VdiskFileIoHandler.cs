// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Scst.Core;
using Scst.Handlers.Io;

namespace Scst.Handlers;

/// <summary>
/// SCST's vdisk_fileio handler: disks backed by files.
/// </summary>
/// <remarks>
/// Parameters: <c>filename</c> (required; created sparse when missing and a <c>size</c> or <c>size_mb</c> is given,
/// which is otherwise ignored at creation); the common vdisk parameters (see <see cref="VdiskDevice"/> and the
/// package README: <c>blocksize</c>, <c>read_only</c>, <c>removable</c>, <c>rotational</c>, <c>tst</c>,
/// <c>thin_provisioned</c>, <c>opt_trans_len</c>, <c>lb_per_pb_exp</c>, <c>sanitize_rate_mb</c>, <c>expl_alua</c> and
/// the identity attributes); <c>nv_cache</c> (SYNCHRONIZE CACHE and FUA do nothing, WCE is reported off: only for
/// storage that survives power loss); <c>write_through</c> (every write is synced before it is acknowledged; WCE off);
/// <c>o_direct</c> (the file is read and written around the page cache; requires <c>async</c>, as in SCST);
/// <c>async</c> (I/O runs on the thread pool, not on the command's thread); <c>active</c> (0: the file stays closed
/// until <c>active</c> is set to 1); <c>bind_alua_state</c> (the file is open only while the device's ALUA state on
/// this node is active, see <see cref="FileIoDevice"/>); <c>io_engine</c> (<c>pread</c> or <c>io_uring</c>: I/O
/// through one io_uring shared by the handler's devices, made with the first such device and closed with the last; a
/// machine without io_uring refuses <c>io_engine=io_uring</c>, saying why; the default is <c>io_uring</c> with
/// <c>o_direct</c> when the machine has it, <c>pread</c> otherwise, see <see cref="FileIoDevice"/>). A read-only device takes neither
/// <c>write_through</c> nor <c>nv_cache</c>.
/// </remarks>
public sealed class VdiskFileIoHandler : IDeviceHandler
{
    /// <summary>The handler's name.</summary>
    public const string HandlerName = "vdisk_fileio";

    /// <summary>The bandwidth limit of a SANITIZE when <c>sanitize_rate_mb</c> is not given, in MiB/s.</summary>
    internal const int DefaultSanitizeRateMb = 64;

    internal const string LbPerPbExpParameter = "lb_per_pb_exp";

    internal const string SanitizeRateParameter = "sanitize_rate_mb";

    private readonly SharedUring _uring;

    /// <summary>Creates the handler; its devices share one io_uring, made when the first one needs it.</summary>
    public VdiskFileIoHandler()
        : this(new SharedUring())
    {
    }

    /// <summary>Creates the handler with the given ring owner (one that cannot make a ring stands for a machine without io_uring).</summary>
    internal VdiskFileIoHandler(SharedUring uring) => _uring = uring;

    /// <inheritdoc />
    public string Name => HandlerName;

    /// <inheritdoc />
    public PeripheralDeviceType DeviceType => PeripheralDeviceType.DirectAccess;

    /// <inheritdoc />
    public ScsiDevice CreateDevice(string name, IReadOnlyDictionary<string, string> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var p = new DeviceParameters(name, parameters);
        string path = p.GetString(FileIoDevice.FileNameName) ?? throw new ArgumentException($"Device {name}: parameter 'filename' is required.");
        path = System.IO.Path.GetFullPath(path);
        long? size = VdiskSettings.ReadSize(p, name);
        VdiskSettings settings = VdiskSettings.Read(p, name, DeviceIdentity.DefaultVendorId);
        bool directIo = p.GetBool(FileIoDevice.DirectIoName, false);
        bool? asyncGiven = p.GetString(FileIoDevice.AsyncName) is null ? null : p.GetBool(FileIoDevice.AsyncName, false);
        var file = new FileIoSettings(
            path,
            NvCache: p.GetBool(FileIoDevice.NvCacheName, false),
            WriteThrough: p.GetBool(FileIoDevice.WriteThroughName, false),
            DirectIo: directIo,
            Async: asyncGiven ?? false,
            BindAluaState: p.GetBool(FileIoDevice.BindAluaStateName, false));
        bool active = p.GetBool(FileIoDevice.ActiveName, true);
        string? engineGiven = p.GetString(FileIoDevice.IoEngineName);
        p.RejectUnknown();

        if (engineGiven is not (null or IoEngine.PositionalName or IoEngine.UringName))
        {
            throw new ArgumentException($"Device {name}: parameter '{FileIoDevice.IoEngineName}' has value '{engineGiven}'; expected {IoEngine.PositionalName} or {IoEngine.UringName}.");
        }

        if (settings.ReadOnly && (file.WriteThrough || file.NvCache))
        {
            throw new ArgumentException($"Device {name}: write_through and nv_cache do not apply to a read-only device.");
        }

        int blockSize = settings.BlockSize;
        if (size is { } s && s % blockSize != 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Device {name}: size {s} is not a multiple of the block size {blockSize}."));
        }

        // The engine: the one asked for, else the device's default (FileIoDevice.DefaultIoEngine): io_uring for o_direct
        // when the machine has it, pread otherwise. With o_direct, the ring is tried even when pread is asked for, so that
        // the default the device shows (and scst.conf leaves out) is the one it would get without the parameter.
        UringIoEngine? ring = null;
        string? failure = null;
        string defaultEngine = IoEngine.PositionalName;
        if (directIo || engineGiven == IoEngine.UringName)
        {
            ring = _uring.TryAcquire(out failure);
            if (directIo && ring is not null)
            {
                defaultEngine = IoEngine.UringName;
            }

            if (ring is null && engineGiven == IoEngine.UringName)
            {
                throw new ArgumentException($"Device {name}: io_engine=io_uring is not available on this machine: {failure}. Use io_engine=pread.");
            }

            if (ring is not null && engineGiven == IoEngine.PositionalName)
            {
                _uring.Release(ring);
                ring = null;
            }
        }

        file = file with { DefaultIoEngine = defaultEngine };
        if (ring is not null)
        {
            file = file with { Ring = ring, RingOwner = _uring };
        }
        else if (directIo && engineGiven is null)
        {
            // o_direct on pread because the machine has no io_uring: on the thread pool unless async says otherwise.
            file = file with { Async = asyncGiven ?? true, AsyncDefault = true };
        }

        // SCST wants O_DIRECT's waits off the command's thread; io_uring never makes them there.
        if (file.DirectIo && !file.Async && ring is null)
        {
            throw new ArgumentException(engineGiven is null
                ? $"Device {name}: o_direct requires async=1 here (io_uring, its default engine with o_direct, is not available: {failure})."
                : $"Device {name}: o_direct requires async=1 (or io_engine=io_uring).");
        }

        try
        {
            if (!File.Exists(path))
            {
                if (size is null or <= 0)
                {
                    throw new ArgumentException($"Device {name}: file '{path}' does not exist and no size was given to create it.");
                }

                string? dir = System.IO.Path.GetDirectoryName(path);
                if (dir is not null)
                {
                    Directory.CreateDirectory(dir);
                }

                using SafeFileHandle created = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite);
                RandomAccess.SetLength(created, size.Value);
            }

            BackingFile? backing = null;
            long length;
            if (active)
            {
                try
                {
                    backing = BackingFile.Open(path, settings.ReadOnly, file.DirectIo);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw new ArgumentException($"Device {name}: {ex.Message}", ex);
                }

                length = RandomAccess.GetLength(backing.File);
            }
            else
            {
                // Created inactive (the passive side of a pair): the file is not opened, only its size is read.
                length = new FileInfo(path).Length;
            }

            long blocks = length / blockSize;
            if (blocks == 0)
            {
                backing?.Dispose();
                throw new ArgumentException($"Device {name}: file '{path}' holds {length} bytes, less than one {blockSize}-byte block.");
            }

            return new FileIoDevice(name, settings, file, backing, blocks);
        }
        catch
        {
            if (ring is not null)
            {
                _uring.Release(ring);
            }

            throw;
        }
    }
}
