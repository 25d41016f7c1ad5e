// Licensed under the Apache License, Version 2.0.

using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;
using Scst.Core;
using Scst.Core.Alua;
using Scst.Core.Management;
using Scst.Handlers.Interop;
using Scst.Handlers.Io;

namespace Scst.Handlers;

/// <summary>
/// A disk backed by a file (SCST's vdisk_fileio), read and written through the page cache with positional I/O, or
/// around it with <c>o_direct</c>.
/// </summary>
/// <remarks>
/// <para>I/O runs synchronously on the thread that executes the command: on a page-cache hit that is a copy of a few
/// microseconds, far cheaper than a hop to another thread. With <c>async</c> it runs on the handlers' blocking-I/O
/// threads instead (<see cref="BlockingIoThreads"/>: one per operation in progress, unlike the thread pool), so that
/// slow storage (O_DIRECT) does not hold the transport's thread. A write with FUA, or any write while the write
/// cache is off (<c>write_through</c>, or WCE cleared by MODE SELECT), is followed by fdatasync before GOOD is
/// returned; SYNCHRONIZE CACHE runs fdatasync unless <c>nv_cache</c> is set.</para>
/// <para>The backing file can change under a running device: <c>size</c> resizes it, <c>resync_size</c> takes the
/// size of a file resized by someone else, <c>active</c> 0 closes it (commands that need the medium then get NOT
/// READY, MEDIUM NOT PRESENT, as SCST answers for a closed device) and 1 opens it again, from <c>filename</c>, which
/// may change while the device is inactive. Each of these waits for the I/O in progress on the device and holds new
/// I/O back while it runs, so that no command reads or writes a file being closed or cut. Before the file is closed
/// (<c>active</c> 0, or the device disposed when the target stops) it is flushed with fdatasync, so that writes
/// acknowledged from the page cache survive a power loss after a clean stop.</para>
/// <para><c>io_engine</c> chooses how the bytes move: <c>pread</c> (the default: positional system calls, inline or on
/// the thread pool as <c>async</c> says) or <c>io_uring</c> (the handler's shared ring: the command's thread submits
/// and goes on, the ring's completion thread finishes the command; <c>async</c> does not apply). Without
/// <c>io_engine</c>, a device with <c>o_direct</c> takes <c>io_uring</c> when the machine has it, and <c>pread</c> on
/// the thread pool (<c>async</c> 1 unless given) when it does not; other devices take <c>pread</c>.</para>
/// </remarks>
public sealed class FileIoDevice : VdiskDevice
{
    /// <summary>Names of the vdisk_fileio parameters beside the common ones.</summary>
    internal const string FileNameName = "filename";
    internal const string NvCacheName = "nv_cache";
    internal const string WriteThroughName = "write_through";
    internal const string DirectIoName = "o_direct";
    internal const string AsyncName = "async";
    internal const string ActiveName = "active";
    internal const string BindAluaStateName = "bind_alua_state";
    internal const string IoEngineName = "io_engine";

    /// <summary>
    /// The default <c>io_engine</c> of a device without <c>o_direct</c>: <c>pread</c>. With <c>o_direct</c> the default
    /// is <c>io_uring</c> when the machine has it (<c>pread</c> with <c>async</c> otherwise); the device shows the
    /// default it got (<see cref="FileIoSettings.DefaultIoEngine"/>). Measured on the reference machine (2 vCPUs,
    /// kernel 6.18; see benchmarks/README.md), pread on the command's thread moves a page-cache hit three to four times
    /// faster than io_uring, whose completion reaches the command through another thread. With O_DIRECT, pread inline
    /// would hold the transport's thread for the disk's latency, and pread with <c>async</c> holds a thread per
    /// operation in progress. Through the whole command path both reach the disk's throughput at depth; io_uring spends
    /// less CPU per operation at depth (a third less at 4 KiB QD32) and for 128 KiB transfers, pread with <c>async</c>
    /// is ahead by about 15 % at QD1 (Scst.Handlers README, "I/O engines").
    /// </summary>
    internal const string DefaultIoEngine = IoEngine.PositionalName;

    // Held for reading by every I/O, for writing while the file is opened, closed, resized or replaced.
    private readonly StoreGate _gate = new();
    private readonly bool _nvCache;
    private readonly bool _writeThrough;
    private readonly bool _directIo;
    private SafeFileHandle? _file;
    private SafeFileHandle[] _spread = [];
    private int[] _spreadFds = [];
    private SafeFileHandle? _direct;
    private string _path;
    private volatile bool _active;
    private volatile bool _async;
    private volatile bool _bindAluaState;
    private readonly string _defaultIoEngine;
    private readonly bool _asyncDefault;

    // With io_engine=io_uring: the handler's shared ring, and the admission of operations to it beside _gate (see
    // RingIoGate); a section that takes _gate for writing waits for the operations in flight (WaitForRingIo).
    private readonly UringIoEngine? _ring;
    private readonly SharedUring? _ringOwner;
    private readonly RingIoGate? _ringGate;
    private readonly Func<long, RingIo>? _admitRingIo;
    private int _ringReleased;

    internal FileIoDevice(string name, VdiskSettings settings, FileIoSettings file, BackingFile? backing, long blockCount)
        : base(name, VdiskFileIoHandler.HandlerName, settings, blockCount)
    {
        _path = file.Path;
        _nvCache = file.NvCache;
        _writeThrough = file.WriteThrough;
        _directIo = file.DirectIo;
        _async = file.Async;
        _asyncDefault = file.AsyncDefault;
        _defaultIoEngine = file.DefaultIoEngine;
        _bindAluaState = file.BindAluaState;
        _active = backing is not null;
        if (backing is not null)
        {
            TakeFiles(backing);
        }

        _ring = file.Ring;
        _ringOwner = file.RingOwner;
        if (_ring is not null)
        {
            _ringGate = new RingIoGate(_gate);
            _admitRingIo = AdmitRingIo;
        }
    }

    /// <summary>With <c>io_engine=io_uring</c>, the handler's ring this device uses.</summary>
    internal UringIoEngine? Ring => _ring;

    /// <summary>The I/O engine (SCST has no such attribute): <c>pread</c> or <c>io_uring</c>.</summary>
    internal string IoEngineValue => _ring is null ? IoEngine.PositionalName : IoEngine.UringName;

    /// <summary>The backing file (SCST's <c>filename</c>); it can change while the device is inactive.</summary>
    public string Path => Volatile.Read(ref _path);

    /// <summary>Whether the backing file is open (SCST's <c>active</c>, default 1).</summary>
    public bool Active => _active;

    /// <inheritdoc />
    protected override bool WriteCacheEnabledByDefault => !(_writeThrough || _nvCache);

    /// <inheritdoc />
    public override bool WriteCacheChangeable => !_nvCache;

    /// <summary>
    /// Executes a command; while the device is inactive, every command that needs the backing file gets NOT READY,
    /// MEDIUM NOT PRESENT (those SCST serves without it, READ CAPACITY and the like, still run).
    /// </summary>
    /// <param name="command">The command.</param>
    /// <returns>The outcome.</returns>
    public override ValueTask<CommandOutcome> ExecuteAsync(ScsiCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (!_active && !WorksWithoutFile(command.Cdb))
        {
            return new(CommandOutcome.CheckCondition(SenseCode.MediumNotPresent));
        }

        return base.ExecuteAsync(command);
    }

    // The commands SCST executes on a device whose backing file is closed (those the core owns never reach a handler).
    internal static bool WorksWithoutFile(ReadOnlySpan<byte> cdb) => cdb[0] switch
    {
        0x25 or 0x1C or 0x1D or 0x3B or 0x3C or 0x4C or 0x4D => true, // READ CAPACITY(10), diagnostics, buffers, log pages
        0x9E => (cdb[1] & 0x1F) == 0x10,                               // READ CAPACITY(16)
        _ => false,
    };

    /// <inheritdoc />
    protected override long GetProvisioningExtent(long offset, long maxLength, out bool mapped)
    {
        mapped = true;
        if (!ThinProvisioned)
        {
            return maxLength;
        }

        StoreGate.ReadScope held = _gate.EnterRead();
        try
        {
            long run = _file is { } file ? FileSpace.FindExtent(file, offset, maxLength, out mapped) : 0;
            if (run <= 0)
            {
                mapped = true;
                return maxLength;
            }

            return run;
        }
        finally
        {
            held.Dispose();
        }
    }

    /// <inheritdoc />
    protected override void Prefetch(long offset, long length)
    {
        StoreGate.ReadScope held = _gate.EnterRead();
        try
        {
            if (_file is { } file)
            {
                FileSpace.WillNeed(file, offset, length);
            }
        }
        finally
        {
            held.Dispose();
        }
    }

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> UnmapAsync(long offset, long length)
    {
        StoreGate.ReadScope held = _gate.EnterRead();
        try
        {
            if (_file is not { } file)
            {
                return new(CommandOutcome.CheckCondition(SenseCode.MediumNotPresent));
            }

            int error = FileSpace.PunchHole(file, offset, length);
            return new(error == 0 ? CommandOutcome.Good : CommandOutcome.CheckCondition(SenseCode.WriteError));
        }
        finally
        {
            held.Dispose();
        }
    }

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> ReadAsync(long offset, Memory<byte> destination) =>
        _ring is { } ring ? ReadOnRingAsync(ring, offset, destination)
        : _async ? ReadOnPoolAsync(offset, destination) : new(Read(offset, destination.Span));

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess) =>
        _ring is { } ring ? WriteOnRingAsync(ring, offset, source, forceUnitAccess)
        : _async ? WriteOnPoolAsync(offset, source, forceUnitAccess) : new(Write(offset, source.Span, forceUnitAccess));

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> FlushAsync() =>
        _ring is { } ring ? FlushOnRingAsync(ring) : _async ? FlushOnPoolAsync() : new(Flush());

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<CommandOutcome> ReadOnRingAsync(UringIoEngine ring, long offset, Memory<byte> destination)
    {
        RingIo io = await BeginRingIoAsync(-1).ConfigureAwait(false);
        if (io.Refusal is { } refusal)
        {
            return refusal;
        }

        try
        {
            int n = -Errno.EINVAL; // stays so unless the O_DIRECT descriptor takes the request
            if (io.Direct is { } direct && DirectFile.IsAligned(destination.Span, offset))
            {
                n = await ring.ReadAsync(direct, destination, offset).ConfigureAwait(false);
            }

            if (n == -Errno.EINVAL) // the kernel refused it as unaligned: buffered instead
            {
                n = await ring.ReadAsync(io.File!, destination, offset).ConfigureAwait(false);
            }

            if (n < 0)
            {
                return CommandOutcome.CheckCondition(SenseCode.UnrecoveredReadError);
            }

            destination.Span[n..].Clear(); // past the end of a file shorter than the device: zeros
            return CommandOutcome.Good;
        }
        finally
        {
            EndRingIo();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<CommandOutcome> WriteOnRingAsync(UringIoEngine ring, long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess)
    {
        RingIo io = await BeginRingIoAsync(offset + source.Length).ConfigureAwait(false);
        if (io.Refusal is { } refusal)
        {
            return refusal;
        }

        try
        {
            int n = -Errno.EINVAL; // stays so unless the O_DIRECT descriptor takes the request
            if (io.Direct is { } direct && DirectFile.IsAligned(source.Span, offset))
            {
                n = await ring.WriteAsync(direct, source, offset).ConfigureAwait(false);
            }

            if (n == -Errno.EINVAL) // the kernel refused it as unaligned: buffered instead
            {
                n = await ring.WriteAsync(io.File!, source, offset).ConfigureAwait(false);
            }

            // As on the pread path: without a write cache, or with FUA, the write is made stable before GOOD.
            if (n >= 0 && (forceUnitAccess || !WriteCacheEnabled) && !_nvCache)
            {
                n = await ring.FlushAsync(io.File!).ConfigureAwait(false);
            }

            return n < 0 ? CommandOutcome.CheckCondition(SenseCode.WriteError) : CommandOutcome.Good;
        }
        finally
        {
            EndRingIo();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<CommandOutcome> FlushOnRingAsync(UringIoEngine ring)
    {
        if (_nvCache)
        {
            return CommandOutcome.Good;
        }

        RingIo io = await BeginRingIoAsync(-1).ConfigureAwait(false);
        if (io.Refusal is { } refusal)
        {
            return refusal;
        }

        try
        {
            int n = await ring.FlushAsync(io.File!).ConfigureAwait(false);
            return n < 0 ? CommandOutcome.CheckCondition(SenseCode.WriteError) : CommandOutcome.Good;
        }
        finally
        {
            EndRingIo();
        }
    }

    /// <summary>The descriptors an operation on the ring uses, or why it cannot start.</summary>
    private readonly record struct RingIo(SafeFileHandle? File, SafeFileHandle? Direct, CommandOutcome? Refusal);

    private ValueTask<RingIo> BeginRingIoAsync(long end) => _ringGate!.AdmitAsync(_admitRingIo!, end);

    // Admits an operation on the ring, with _gate held for reading: counts it in flight and takes the descriptors, or
    // refuses it (no file; a write that ends past `end` the device's capacity).
    private RingIo AdmitRingIo(long end)
    {
        if (_file is not { } file)
        {
            return new(null, null, CommandOutcome.CheckCondition(SenseCode.MediumNotPresent));
        }

        if (end > BlockCount * BlockSize)
        {
            // Admitted before a shrink that ran first: the file must not grow again behind it.
            return new(null, null, CommandOutcome.CheckCondition(SenseCode.LbaOutOfRange));
        }

        _ringGate!.Enter();
        return new(file, _direct, null);
    }

    private void EndRingIo() => _ringGate!.Exit();

    // With _gate held for writing: waits until no operation of this device is on the ring.
    private void WaitForRingIo() => _ringGate?.WaitForNone();

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<CommandOutcome> ReadOnPoolAsync(long offset, Memory<byte> destination)
    {
        await BlockingIoThreads.Shared.SwitchTo();
        return Read(offset, destination.Span);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<CommandOutcome> WriteOnPoolAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess)
    {
        await BlockingIoThreads.Shared.SwitchTo();
        return Write(offset, source.Span, forceUnitAccess);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<CommandOutcome> FlushOnPoolAsync()
    {
        await BlockingIoThreads.Shared.SwitchTo();
        return Flush();
    }

    private CommandOutcome Read(long offset, Span<byte> span)
    {
        StoreGate.ReadScope held = _gate.EnterRead();
        try
        {
            if (_file is null)
            {
                return CommandOutcome.CheckCondition(SenseCode.MediumNotPresent);
            }

            // The gate keeps the file open: the descriptor is used without the handle's reference count, an atomic
            // operation on a cache line that every CPU's I/O would write.
            if (_direct is { } direct && DirectFile.IsAligned(span, offset))
            {
                long n = DirectFile.Read((int)direct.DangerousGetHandle(), span, offset);
                if (n >= 0)
                {
                    span[(int)n..].Clear(); // past the end of a file shorter than the device: zeros
                    return CommandOutcome.Good;
                }

                if (!DirectFile.IsRefused(n))
                {
                    return CommandOutcome.CheckCondition(SenseCode.UnrecoveredReadError);
                }
            }

            long read = DirectFile.Read(SpreadDescriptor(), span, offset);
            if (read < 0)
            {
                return CommandOutcome.CheckCondition(SenseCode.UnrecoveredReadError);
            }

            // Past the end of a file shorter than the device (truncated behind our back), the rest reads as zeros.
            span[(int)read..].Clear();
            return CommandOutcome.Good;
        }
        finally
        {
            held.Dispose();
        }
    }

    private CommandOutcome Write(long offset, ReadOnlySpan<byte> data, bool forceUnitAccess)
    {
        StoreGate.ReadScope held = _gate.EnterRead();
        try
        {
            if (_file is not { } file)
            {
                return CommandOutcome.CheckCondition(SenseCode.MediumNotPresent);
            }

            if (offset + data.Length > BlockCount * BlockSize)
            {
                // Admitted before a shrink that ran first: the file must not grow again behind it.
                return CommandOutcome.CheckCondition(SenseCode.LbaOutOfRange);
            }

            bool written = false;
            if (_direct is { } direct && DirectFile.IsAligned(data, offset))
            {
                int error = DirectFile.Write((int)direct.DangerousGetHandle(), data, offset);
                if (error != 0 && !DirectFile.IsRefused(error))
                {
                    return CommandOutcome.CheckCondition(SenseCode.WriteError);
                }

                written = error == 0;
            }

            if (!written && DirectFile.Write(SpreadDescriptor(), data, offset) != 0)
            {
                return CommandOutcome.CheckCondition(SenseCode.WriteError);
            }

            // Without a write cache (write_through, or WCE cleared by MODE SELECT) every write is made stable. O_DIRECT
            // bypasses the page cache, not the drive's cache: a FUA write is flushed there too.
            if ((forceUnitAccess || !WriteCacheEnabled) && !_nvCache)
            {
                RandomAccess.FlushToDisk(file);
            }

            return CommandOutcome.Good;
        }
        catch (IOException)
        {
            return CommandOutcome.CheckCondition(SenseCode.WriteError);
        }
        finally
        {
            held.Dispose();
        }
    }

    private CommandOutcome Flush()
    {
        if (_nvCache)
        {
            return CommandOutcome.Good;
        }

        StoreGate.ReadScope held = _gate.EnterRead();
        try
        {
            if (_file is not { } file)
            {
                return CommandOutcome.CheckCondition(SenseCode.MediumNotPresent);
            }

            RandomAccess.FlushToDisk(file);
            return CommandOutcome.Good;
        }
        catch (IOException)
        {
            return CommandOutcome.CheckCondition(SenseCode.WriteError);
        }
        finally
        {
            held.Dispose();
        }
    }

    /// <inheritdoc />
    private protected override IEnumerable<ManagementAttribute> HandlerAttributes()
    {
        yield return new ManagementAttribute
        {
            Name = FileNameName, Read = () => Path, Write = SetPath, KeyWhen = static () => true,
        };
        yield return CreationFlag(NvCacheName, _nvCache, false);
        // The current setting: MODE SELECT changes it through the caching page's WCE, unless nv_cache fixes it.
        yield return new ManagementAttribute
        {
            Name = WriteThroughName, Type = ManagementAttributeType.Boolean, IsCreationParameter = true, DefaultValue = "0",
            Read = () => (_nvCache ? _writeThrough : !WriteCacheEnabled) ? "1" : "0",
        };
        yield return CreationFlag(DirectIoName, _directIo, false);
        yield return CreationParameter(IoEngineName, IoEngineValue, _defaultIoEngine);
        yield return ManagementAttribute.Boolean(AsyncName, () => _async, value => _async = value, defaultValue: _asyncDefault);
        yield return ManagementAttribute.Boolean(ActiveName, () => _active, SetActive, defaultValue: true);
        yield return ManagementAttribute.Boolean(BindAluaStateName, () => _bindAluaState, value => _bindAluaState = value, defaultValue: false);
        yield return new ManagementAttribute { Name = "resync_size", Write = _ => ResyncSize() };
        yield return new ManagementAttribute { Name = "sync", Write = _ => Sync() };
    }

    /// <inheritdoc />
    private protected override void ResizeStore(long bytes)
    {
        if (ReadOnly)
        {
            throw new InvalidOperationException($"Device {Name} is read-only: its file is not resized.");
        }

        StoreGate.WriteScope held = _gate.EnterWrite();
        try
        {
            WaitForRingIo();
            SafeFileHandle file = _file ?? throw Inactive();
            try
            {
                RandomAccess.SetLength(file, bytes);
            }
            catch (IOException ex)
            {
                throw new InvalidOperationException($"Device {Name}: resizing '{Path}' failed: {ex.Message}", ex);
            }

            SetBlockCount(bytes / BlockSize);
        }
        finally
        {
            held.Dispose();
        }
    }

    /// <summary>Takes the size of a file resized by someone else (SCST's <c>resync_size</c>); CAPACITY DATA HAS CHANGED when it changed.</summary>
    private void ResyncSize()
    {
        bool changed;
        StoreGate.WriteScope held = _gate.EnterWrite();
        try
        {
            SafeFileHandle file = _file ?? throw Inactive();
            long blocks = RandomAccess.GetLength(file) / BlockSize;
            if (blocks == 0)
            {
                throw new InvalidOperationException($"Device {Name}: '{Path}' now holds less than one {BlockSize}-byte block.");
            }

            changed = blocks != BlockCount;
            SetBlockCount(blocks);
        }
        finally
        {
            held.Dispose();
        }

        if (changed)
        {
            NotifyCapacityChanged();
        }
    }

    /// <summary>Flushes the file to stable storage (SCST's <c>sync</c>).</summary>
    private void Sync()
    {
        StoreGate.ReadScope held = _gate.EnterRead();
        try
        {
            RandomAccess.FlushToDisk(_file ?? throw Inactive());
        }
        catch (IOException ex)
        {
            throw new InvalidOperationException($"Device {Name}: flushing '{Path}' failed: {ex.Message}", ex);
        }
        finally
        {
            held.Dispose();
        }
    }

    /// <summary>
    /// Opens (true) or closes (false) the backing file, SCST's <c>active</c>: an active/passive pair keeps the passive
    /// side closed (a DRBD secondary cannot be opened). Opening takes the file's size again, and raises CAPACITY DATA
    /// HAS CHANGED when it differs.
    /// </summary>
    private void SetActive(bool active)
    {
        bool changed = false;
        StoreGate.WriteScope held = _gate.EnterWrite();
        try
        {
            if (active == _active)
            {
                return;
            }

            if (!active)
            {
                WaitForRingIo();
                FlushBeforeClose();
                CloseFiles();
                _active = false;
                return;
            }

            BackingFile backing;
            try
            {
                backing = BackingFile.Open(Path, ReadOnly, _directIo);
            }
            catch (IOException ex)
            {
                throw new InvalidOperationException($"Device {Name}: activating failed: {ex.Message}", ex);
            }
            catch (UnauthorizedAccessException ex)
            {
                throw new InvalidOperationException($"Device {Name}: activating failed: {ex.Message}", ex);
            }

            long blocks = RandomAccess.GetLength(backing.File) / BlockSize;
            if (blocks == 0)
            {
                backing.Dispose();
                throw new InvalidOperationException($"Device {Name}: '{Path}' holds less than one {BlockSize}-byte block.");
            }

            TakeFiles(backing);
            changed = blocks != BlockCount;
            SetBlockCount(blocks);
            _active = true;
        }
        finally
        {
            held.Dispose();
        }

        if (changed)
        {
            NotifyCapacityChanged();
        }
    }

    /// <summary>
    /// With <c>bind_alua_state</c>, the backing file follows the device's access state on this node, as SCST's does:
    /// opened when the state becomes active/optimized or active/non-optimized, closed when it becomes standby,
    /// unavailable, offline or transitioning (the passive side of an active/passive pair must not hold a replicated
    /// volume open). Logical block dependent leaves it as it is.
    /// </summary>
    /// <param name="state">The new state.</param>
    protected override void OnAluaStateChanged(AluaState state)
    {
        if (_bindAluaState && ActiveInAluaState(state) is { } active)
        {
            SetActive(active);
        }
    }

    /// <summary>Changes the backing file; only while the device is inactive, as SCST allows.</summary>
    private void SetPath(string path)
    {
        if (!System.IO.Path.IsPathFullyQualified(path))
        {
            throw new ArgumentException($"Device {Name}: filename '{path}' is not an absolute path.");
        }

        StoreGate.WriteScope held = _gate.EnterWrite();
        try
        {
            if (_active)
            {
                throw new InvalidOperationException($"Device {Name} is active: set active to 0 before changing its filename.");
            }

            Volatile.Write(ref _path, path);
        }
        finally
        {
            held.Dispose();
        }
    }

    private InvalidOperationException Inactive() => new($"Device {Name} is inactive: its file is closed.");

    // With _gate held for writing, or before the device is shared.
    private void TakeFiles(BackingFile backing)
    {
        _file = backing.File;
        _spread = backing.Spread;
        _spreadFds = backing.SpreadDescriptors();
        _direct = backing.Direct;
    }

    // With _gate held for writing and no I/O in progress: makes stable what the page cache holds of the file before it
    // is closed (a clean stop, active set to 0). With the write cache on, a WRITE is GOOD once its data is in the page
    // cache, and closing a file does not write its dirty pages: without this, writes that initiators were told are done
    // would be lost to a power failure after a clean stop. Done in every mode but read-only, since WCE may have been on
    // before MODE SELECT turned it off, and nv_cache only spares the per-command flushes. A failure has no one to go to
    // (no command is waiting); the file is closed all the same.
    private void FlushBeforeClose()
    {
        if (!ReadOnly && _file is { } file)
        {
            _ = PositionalIo.DataSync(file);
        }
    }

    private void CloseFiles()
    {
        _direct?.Dispose();
        foreach (SafeFileHandle h in _spread)
        {
            h.Dispose();
        }

        _direct = null;
        _file = null;
        _spread = [];
        _spreadFds = [];
    }

    // The buffered descriptor for a command's I/O on this CPU (see BackingFile); with _gate held, and a file open.
    private int SpreadDescriptor()
    {
        int[] fds = _spreadFds;
        return fds[(uint)Thread.GetCurrentProcessorId() % (uint)fds.Length];
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        // The base stops a running sanitize first, so that nothing writes to the file once it is closed. The file is
        // flushed before it is closed (FlushBeforeClose). Commands that arrive later find no file (NOT READY, MEDIUM NOT
        // PRESENT).
        await base.DisposeAsync().ConfigureAwait(false);
        if (_ring is { IsCompletionThread: true })
        {
            // The wait below needs the ring's completion thread to finish this device's operations: not from it.
            await Task.Yield();
        }

        StoreGate.WriteScope held = _gate.EnterWrite();
        try
        {
            WaitForRingIo();
            FlushBeforeClose();
            CloseFiles();
            _active = false;
        }
        finally
        {
            held.Dispose();
        }

        if (_ring is not null && Interlocked.Exchange(ref _ringReleased, 1) == 0)
        {
            _ringOwner?.Release(_ring);
        }
    }
}

/// <summary>
/// The vdisk_fileio parameters beside the common ones. With <c>io_engine=io_uring</c>, <c>Ring</c> is the handler's
/// ring, acquired from <c>RingOwner</c>; the device releases it when it is disposed.
/// </summary>
internal sealed record FileIoSettings(
    string Path, bool NvCache, bool WriteThrough, bool DirectIo, bool Async, bool BindAluaState = false, UringIoEngine? Ring = null, SharedUring? RingOwner = null)
{
    /// <summary>The <c>io_engine</c> this device gets when none is given (<see cref="FileIoDevice.DefaultIoEngine"/>).</summary>
    public string DefaultIoEngine { get; init; } = FileIoDevice.DefaultIoEngine;

    /// <summary>The <c>async</c> this device gets when none is given: 1 for <c>o_direct</c> on <c>pread</c> by default.</summary>
    public bool AsyncDefault { get; init; }
}

/// <summary>
/// The open descriptors of a backing file: buffered, and with O_DIRECT when asked for. The buffered file is opened
/// once per CPU, up to <see cref="MaxSpread"/> times (<see cref="Spread"/>): in a process with several threads, every
/// read or write takes and drops a reference on the kernel's open file, an atomic operation on a cache line of that
/// file; with one open file per CPU, I/O on different CPUs never writes the same one.
/// </summary>
internal sealed class BackingFile(SafeFileHandle file, SafeFileHandle[] spread, SafeFileHandle? direct) : IDisposable
{
    /// <summary>The most times the buffered file is opened.</summary>
    public const int MaxSpread = 8;

    /// <summary>The buffered file, for everything but the I/O of commands.</summary>
    public SafeFileHandle File { get; } = file;

    /// <summary>The buffered file's descriptors for the I/O of commands, one per CPU; the first is <see cref="File"/>.</summary>
    public SafeFileHandle[] Spread { get; } = spread;

    public SafeFileHandle? Direct { get; } = direct;

    /// <summary>Opens <paramref name="path"/>; throws <see cref="IOException"/> (or <see cref="UnauthorizedAccessException"/>) saying why it cannot.</summary>
    public static BackingFile Open(string path, bool readOnly, bool directIo)
    {
        FileAccess access = readOnly ? FileAccess.Read : FileAccess.ReadWrite;
        var spread = new SafeFileHandle[Math.Clamp(Environment.ProcessorCount, 1, MaxSpread)];
        int opened = 0;
        try
        {
            for (; opened < spread.Length; opened++)
            {
                spread[opened] = System.IO.File.OpenHandle(path, FileMode.Open, access, FileShare.ReadWrite);
            }

            SafeFileHandle? direct = null;
            if (directIo)
            {
                direct = DirectFile.Open(path, readOnly, out int error);
                if (direct is null)
                {
                    throw new IOException($"'{path}' cannot be opened with O_DIRECT: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(error)}");
                }
            }

            return new BackingFile(spread[0], spread, direct);
        }
        catch
        {
            for (int i = 0; i < opened; i++)
            {
                spread[i].Dispose();
            }

            throw;
        }
    }

    /// <summary>The raw descriptors of <see cref="Spread"/>, valid while this stays open.</summary>
    public int[] SpreadDescriptors()
    {
        var fds = new int[Spread.Length];
        for (int i = 0; i < fds.Length; i++)
        {
            fds[i] = (int)Spread[i].DangerousGetHandle();
        }

        return fds;
    }

    public void Dispose()
    {
        Direct?.Dispose();
        foreach (SafeFileHandle h in Spread)
        {
            h.Dispose();
        }
    }
}
