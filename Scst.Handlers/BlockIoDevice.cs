// Licensed under the Apache License, Version 2.0.

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Scst.Core;
using Scst.Core.Alua;
using Scst.Core.Management;
using Scst.Handlers.Interop;
using Scst.Handlers.Io;

namespace Scst.Handlers;

/// <summary>
/// A disk backed by a block device (SCST's vdisk_blockio), read and written around the page cache: the device is opened
/// once with O_DIRECT, and every READ and WRITE is one pread or pwrite on it.
/// </summary>
/// <remarks>
/// <para>I/O runs synchronously on the thread that executes the command. The command's buffer comes from the core's
/// pool, aligned to 4096 bytes, so it goes to the device as it is; a buffer, offset or length that is not aligned to the
/// device's logical block size (a sub-range of a larger buffer, a temporary buffer of the core) goes through an aligned
/// bounce buffer allocated for that call.</para>
/// <para>A write with FUA, or any write while the write cache is off (<c>write_through</c>, or WCE cleared by MODE
/// SELECT), is stable before GOOD: on io_uring it is one RWF_DSYNC write, which the block layer turns into a FUA write
/// (nothing more on a device without a volatile cache); with <c>pread</c> it is followed by fdatasync, which flushes the
/// device's volatile cache. SYNCHRONIZE CACHE runs fdatasync unless <c>nv_cache</c> is set.</para>
/// <para>UNMAP and WRITE SAME with UNMAP discard the range (BLKDISCARD). The core reports LBPRZ for a thin-provisioned
/// disk, so the range must then read as zeros: a loop device's discard punches a hole in its backing file, which reads
/// as zeros, and nothing more is done; on any other device, whose discard may leave the old data or garbage, the
/// range is then zeroed with BLKZEROOUT (sysfs has no reliable sign that a discard zeroes: <c>discard_zeroes_data</c>
/// reads 0 on every kernel since 4.12). A device that cannot discard gets the BLKZEROOUT alone. A WRITE SAME of an
/// all-zero block without UNMAP is one BLKZEROOUT.</para>
/// <para>GET LBA STATUS on a loop device reports the holes of its backing file as deallocated (SEEK_DATA and
/// SEEK_HOLE through sysfs's <c>loop/backing_file</c> and <c>loop/offset</c>); on any other device every block is
/// "mapped or unknown", since the block layer does not say what a device deallocated.</para>
/// <para><c>active</c> 0 closes the device (commands that need it get NOT READY, MEDIUM NOT PRESENT) and 1 opens it
/// again, from <c>filename</c>, which may change while the device is inactive; <c>resync_size</c> takes the size of a
/// device that grew or shrank. Each waits for the I/O in progress and holds new I/O back while it runs. Before the
/// device is closed (<c>active</c> 0, or the device disposed when the target stops) its cache is flushed with
/// fdatasync, so that writes acknowledged from a volatile cache survive a power loss after a clean stop.</para>
/// </remarks>
public sealed class BlockIoDevice : VdiskDevice
{
    internal const string FileNameName = "filename";
    internal const string NvCacheName = "nv_cache";
    internal const string WriteThroughName = "write_through";
    internal const string ActiveName = "active";
    internal const string BindAluaStateName = "bind_alua_state";
    internal const string IoEngineName = "io_engine";

    // Held for reading by every I/O, for writing while the device is opened, closed or its size re-read.
    private readonly StoreGate _gate = new();
    private readonly bool _nvCache;
    private readonly bool _writeThrough;
    private readonly bool _writeThroughDefault;
    private SafeFileHandle? _device;
    private LoopBackingFile? _loopBacking;
    private int _deviceBlockSize;
    private bool _discardZeroes;
    private string _path;
    private volatile bool _active;
    private volatile bool _bindAluaState;

    // With io_engine=io_uring: the handler's shared ring, and the admission of operations to it beside _gate (see
    // RingIoGate); a section that takes _gate for writing waits for the operations in flight.
    private readonly UringIoEngine? _ring;
    private readonly SharedUring? _ringOwner;
    private readonly RingIoGate? _ringGate;
    private readonly Func<long, SafeFileHandle?>? _admitRingIo;
    private int _ringReleased;

    internal BlockIoDevice(string name, VdiskSettings settings, BlockIoSettings block, OpenBlockDevice? device, long blockCount)
        : base(name, VdiskBlockIoHandler.HandlerName, settings, blockCount)
    {
        _path = block.Path;
        _nvCache = block.NvCache;
        _writeThrough = block.WriteThrough;
        _writeThroughDefault = block.WriteThroughDefault;
        _active = device is not null;
        _device = device?.Handle;
        _loopBacking = device?.LoopBacking;
        _deviceBlockSize = device?.LogicalBlockSize ?? settings.BlockSize;
        _discardZeroes = device?.DiscardZeroes ?? false;
        _bindAluaState = block.BindAluaState;
        _ring = block.Ring;
        _ringOwner = block.RingOwner;
        if (_ring is not null)
        {
            _ringGate = new RingIoGate(_gate);
            _admitRingIo = AdmitRingIo;
        }
    }

    /// <summary>The handler's ring with <c>io_engine=io_uring</c>; null with pread.</summary>
    internal UringIoEngine? Ring => _ring;

    /// <summary>The engine the device's reads, writes and flushes go through (<c>io_engine</c>).</summary>
    internal string IoEngineValue => _ring is null ? IoEngine.PositionalName : IoEngine.UringName;

    /// <summary>The block device (SCST's <c>filename</c>); it can change while the device is inactive.</summary>
    public string Path => Volatile.Read(ref _path);

    /// <summary>Whether the block device is open (SCST's <c>active</c>, default 1).</summary>
    public bool Active => _active;

    /// <summary>
    /// Whether a discard leaves zeros, so that UNMAP needs no BLKZEROOUT after BLKDISCARD: true for a loop device.
    /// Settable for tests, which check the zeroing path on a loop device.
    /// </summary>
    internal bool DiscardZeroes
    {
        get => Volatile.Read(ref _discardZeroes);
        set => Volatile.Write(ref _discardZeroes, value);
    }

    /// <inheritdoc />
    protected override bool WriteCacheEnabledByDefault => !(_writeThrough || _nvCache);

    /// <inheritdoc />
    public override bool WriteCacheChangeable => !_nvCache;

    /// <inheritdoc />
    private protected override bool SizeIsKey => false;

    /// <inheritdoc />
    private protected override bool SizeWritable => false;

    /// <summary>
    /// Executes a command; while the device is inactive, every command that needs the block device gets NOT READY,
    /// MEDIUM NOT PRESENT (those SCST serves without it, READ CAPACITY and the like, still run).
    /// </summary>
    /// <param name="command">The command.</param>
    /// <returns>The outcome.</returns>
    public override ValueTask<CommandOutcome> ExecuteAsync(ScsiCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (!_active && !FileIoDevice.WorksWithoutFile(command.Cdb))
        {
            return new(CommandOutcome.CheckCondition(SenseCode.MediumNotPresent));
        }

        return base.ExecuteAsync(command);
    }

    /// <summary>
    /// Reports the provisioning of a loop device from its backing file, whose holes are the deallocated blocks (found
    /// with SEEK_DATA and SEEK_HOLE, as vdisk_fileio finds them); on any other device every block is reported mapped,
    /// SBC's "mapped or unknown", since a block device does not say what it deallocated.
    /// </summary>
    /// <inheritdoc />
    protected override long GetProvisioningExtent(long offset, long maxLength, out bool mapped)
    {
        mapped = true;
        StoreGate.ReadScope held = _gate.EnterRead();
        try
        {
            long run = _loopBacking is { } loop ? FileSpace.FindExtent(loop.File, loop.Offset + offset, maxLength, out mapped) : 0;
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
    protected override ValueTask<CommandOutcome> ReadAsync(long offset, Memory<byte> destination) =>
        _ring is { } ring && IsAligned(destination.Span, offset) ? ReadOnRingAsync(ring, offset, destination) : new(Read(offset, destination.Span));

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess) =>
        _ring is { } ring && IsAligned(source.Span, offset)
            ? WriteOnRingAsync(ring, offset, source, forceUnitAccess)
            : new(Write(offset, source.Span, forceUnitAccess));

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> FlushAsync() =>
        _ring is { } ring && !_nvCache ? FlushOnRingAsync(ring) : new(Flush());

    // The ring's data path: the same operations as Read, Write and Flush, each a request on the handler's io_uring that
    // completes on the ring's thread; the command's thread is free meanwhile. A buffer O_DIRECT cannot take goes the
    // bounced way of Read and Write instead.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<CommandOutcome> ReadOnRingAsync(UringIoEngine ring, long offset, Memory<byte> destination)
    {
        if (await _ringGate!.AdmitAsync(_admitRingIo!, -1).ConfigureAwait(false) is not { } device)
        {
            return CommandOutcome.CheckCondition(SenseCode.MediumNotPresent);
        }

        try
        {
            int n = await ring.ReadAsync(device, destination, offset).ConfigureAwait(false);
            if (n < 0)
            {
                return CommandOutcome.CheckCondition(SenseCode.UnrecoveredReadError);
            }

            destination.Span[n..].Clear(); // past the end of a device that shrank under us: zeros
            return CommandOutcome.Good;
        }
        finally
        {
            _ringGate.Exit();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<CommandOutcome> WriteOnRingAsync(UringIoEngine ring, long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess)
    {
        long end = offset + source.Length;
        if (await _ringGate!.AdmitAsync(_admitRingIo!, end).ConfigureAwait(false) is not { } device)
        {
            return CommandOutcome.CheckCondition(_device is null ? SenseCode.MediumNotPresent : SenseCode.LbaOutOfRange);
        }

        try
        {
            // Without a write cache, or with FUA, the write is stable before GOOD: one RWF_DSYNC write, which the block
            // layer turns into a FUA write (nothing more on a device without a volatile cache), instead of a write and
            // an fdatasync that the kernel would hand to a worker thread.
            bool stable = (forceUnitAccess || !WriteCacheEnabled) && !_nvCache;
            int n = await ring.WriteAsync(device, source, offset, dataSync: stable).ConfigureAwait(false);

            return n < 0 ? CommandOutcome.CheckCondition(SenseCode.WriteError) : CommandOutcome.Good;
        }
        finally
        {
            _ringGate.Exit();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<CommandOutcome> FlushOnRingAsync(UringIoEngine ring)
    {
        if (await _ringGate!.AdmitAsync(_admitRingIo!, -1).ConfigureAwait(false) is not { } device)
        {
            return CommandOutcome.CheckCondition(SenseCode.MediumNotPresent);
        }

        try
        {
            int n = await ring.FlushAsync(device).ConfigureAwait(false);
            return n < 0 ? CommandOutcome.CheckCondition(SenseCode.WriteError) : CommandOutcome.Good;
        }
        finally
        {
            _ringGate.Exit();
        }
    }

    // Admits an operation on the ring, with _gate held for reading: counts it in flight and gives the descriptor, or
    // null when the device is closed or a write would end past `end` the capacity (a resync found the device smaller).
    private SafeFileHandle? AdmitRingIo(long end)
    {
        if (_device is not { } device || end > BlockCount * BlockSize)
        {
            return null;
        }

        _ringGate!.Enter();
        return device;
    }

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> UnmapAsync(long offset, long length) => new(Unmap(offset, length));

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome?> WriteZerosAsync(long offset, long length) => new(ZeroRange(offset, length));

    // The data path: a few small methods, each one system call (or two) on the calling thread.
    internal CommandOutcome Read(long offset, Span<byte> span)
    {
        StoreGate.ReadScope held = _gate.EnterRead();
        try
        {
            if (_device is not { } device)
            {
                return CommandOutcome.CheckCondition(SenseCode.MediumNotPresent);
            }

            // The gate keeps the device open: its descriptor is used without the handle's reference count.
            int fd = (int)device.DangerousGetHandle();
            long n = IsAligned(span, offset) ? DirectFile.Read(fd, span, offset) : ReadBounced(fd, span, offset);
            if (n < 0)
            {
                return CommandOutcome.CheckCondition(SenseCode.UnrecoveredReadError);
            }

            span[(int)n..].Clear(); // past the end of a device that shrank under us: zeros
            return CommandOutcome.Good;
        }
        finally
        {
            held.Dispose();
        }
    }

    internal CommandOutcome Write(long offset, ReadOnlySpan<byte> data, bool forceUnitAccess)
    {
        StoreGate.ReadScope held = _gate.EnterRead();
        try
        {
            if (_device is not { } device)
            {
                return CommandOutcome.CheckCondition(SenseCode.MediumNotPresent);
            }

            if (offset + data.Length > BlockCount * BlockSize)
            {
                // Admitted before a resync that found the device smaller.
                return CommandOutcome.CheckCondition(SenseCode.LbaOutOfRange);
            }

            int fd = (int)device.DangerousGetHandle();
            int error = IsAligned(data, offset) ? DirectFile.Write(fd, data, offset) : WriteBounced(fd, data, offset);
            if (error != 0)
            {
                return CommandOutcome.CheckCondition(SenseCode.WriteError);
            }

            // Without a write cache (write_through, or WCE cleared by MODE SELECT) every write is made stable; O_DIRECT
            // bypasses the page cache, not the device's own cache, so a FUA write is flushed there too.
            return (forceUnitAccess || !WriteCacheEnabled) && !_nvCache && PositionalIo.DataSync(device) != 0
                ? CommandOutcome.CheckCondition(SenseCode.WriteError)
                : CommandOutcome.Good;
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
            if (_device is not { } device)
            {
                return CommandOutcome.CheckCondition(SenseCode.MediumNotPresent);
            }

            return PositionalIo.DataSync(device) == 0 ? CommandOutcome.Good : CommandOutcome.CheckCondition(SenseCode.WriteError);
        }
        finally
        {
            held.Dispose();
        }
    }

    // BLKDISCARD, then BLKZEROOUT unless the discard is known to leave zeros (see the remarks): an unmapped range reads
    // as zeros (LBPRZ) on any device.
    private CommandOutcome Unmap(long offset, long length)
    {
        StoreGate.ReadScope held = _gate.EnterRead();
        try
        {
            if (_device is not { } device)
            {
                return CommandOutcome.CheckCondition(SenseCode.MediumNotPresent);
            }

            int error = BlockDeviceNode.Discard(device, offset, length);
            if (error == 0 && DiscardZeroes)
            {
                return CommandOutcome.Good;
            }

            if (error is not (0 or NotSupported))
            {
                return CommandOutcome.CheckCondition(SenseCode.WriteError);
            }

            return BlockDeviceNode.ZeroOut(device, offset, length) == 0 ? CommandOutcome.Good : CommandOutcome.CheckCondition(SenseCode.WriteError);
        }
        finally
        {
            held.Dispose();
        }
    }

    private CommandOutcome ZeroRange(long offset, long length)
    {
        StoreGate.ReadScope held = _gate.EnterRead();
        try
        {
            if (_device is not { } device)
            {
                return CommandOutcome.CheckCondition(SenseCode.MediumNotPresent);
            }

            if (BlockDeviceNode.ZeroOut(device, offset, length) != 0)
            {
                return CommandOutcome.CheckCondition(SenseCode.WriteError);
            }

            // A WRITE SAME is a write: without a write cache it is made stable before GOOD.
            return !WriteCacheEnabled && !_nvCache && PositionalIo.DataSync(device) != 0
                ? CommandOutcome.CheckCondition(SenseCode.WriteError)
                : CommandOutcome.Good;
        }
        finally
        {
            held.Dispose();
        }
    }

    // EOPNOTSUPP: the device has no discard.
    private const int NotSupported = 95;

    private unsafe bool IsAligned(ReadOnlySpan<byte> buffer, long offset)
    {
        int alignment = Volatile.Read(ref _deviceBlockSize);
        fixed (byte* p = buffer)
        {
            return (nuint)p % (nuint)alignment == 0 && offset % alignment == 0 && buffer.Length % alignment == 0;
        }
    }

    // The rare path of a buffer that O_DIRECT cannot take: an aligned copy, allocated for this call and freed after it.
    // The core's offsets and lengths are whole blocks of at least the device's logical block size, so only the address
    // can be off.
    private static unsafe long ReadBounced(int device, Span<byte> span, long offset)
    {
        void* bounce = NativeMemory.AlignedAlloc((nuint)span.Length, DataAlignment);
        try
        {
            var aligned = new Span<byte>(bounce, span.Length);
            long n = DirectFile.Read(device, aligned, offset);
            if (n > 0)
            {
                aligned[..(int)n].CopyTo(span);
            }

            return n;
        }
        finally
        {
            NativeMemory.AlignedFree(bounce);
        }
    }

    private static unsafe int WriteBounced(int device, ReadOnlySpan<byte> data, long offset)
    {
        void* bounce = NativeMemory.AlignedAlloc((nuint)data.Length, DataAlignment);
        try
        {
            var aligned = new Span<byte>(bounce, data.Length);
            data.CopyTo(aligned);
            return DirectFile.Write(device, aligned, offset);
        }
        finally
        {
            NativeMemory.AlignedFree(bounce);
        }
    }

    // The alignment of a bounce buffer: a page, which satisfies every logical block size up to 4096.
    private const int DataAlignment = 4096;

    /// <inheritdoc />
    private protected override IEnumerable<ManagementAttribute> HandlerAttributes()
    {
        yield return new ManagementAttribute
        {
            Name = FileNameName, Read = () => Path, Write = SetPath, KeyWhen = static () => true,
        };
        yield return CreationFlag(NvCacheName, _nvCache, false);
        // The current setting: MODE SELECT changes it through the caching page's WCE, unless nv_cache fixes it. Its
        // default is the device's own: write-through when the device has no volatile write cache.
        yield return new ManagementAttribute
        {
            Name = WriteThroughName, Type = ManagementAttributeType.Boolean, IsCreationParameter = true,
            DefaultValue = _writeThroughDefault ? "1" : "0",
            Read = () => (_nvCache ? _writeThrough : !WriteCacheEnabled) ? "1" : "0",
        };
        yield return ManagementAttribute.Boolean(ActiveName, () => _active, SetActive, defaultValue: true);
        yield return ManagementAttribute.Boolean(BindAluaStateName, () => _bindAluaState, value => _bindAluaState = value, defaultValue: true);
        yield return CreationParameter(IoEngineName, IoEngineValue, VdiskBlockIoHandler.DefaultIoEngine);
        yield return new ManagementAttribute { Name = "resync_size", Write = _ => ResyncSize() };
        yield return new ManagementAttribute { Name = "sync", Write = _ => Sync() };
    }

    /// <summary>
    /// Takes the capacity the device has now (the base's resize path, reached from <see cref="ResyncSize"/> only:
    /// <c>size</c> cannot be written on a block device).
    /// </summary>
    private protected override void ResizeStore(long bytes)
    {
        StoreGate.WriteScope held = _gate.EnterWrite();
        try
        {
            SafeFileHandle device = _device ?? throw Inactive();
            long size = BlockDeviceNode.GetSize(device);
            if (size < bytes)
            {
                throw new InvalidOperationException($"Device {Name}: '{Path}' holds {size} bytes, not {bytes}; its size is that of the block device.");
            }

            SetBlockCount(bytes / BlockSize);
        }
        finally
        {
            held.Dispose();
        }
    }

    /// <summary>
    /// Takes the size of a device that grew or shrank (SCST's <c>resync_size</c>), through the base's resize path:
    /// CAPACITY DATA HAS CHANGED when it changed.
    /// </summary>
    private void ResyncSize()
    {
        long size;
        StoreGate.ReadScope held = _gate.EnterRead();
        try
        {
            size = BlockDeviceNode.GetSize(_device ?? throw Inactive());
        }
        finally
        {
            held.Dispose();
        }

        if (size < 0)
        {
            throw new InvalidOperationException($"Device {Name}: reading the size of '{Path}' failed: {Marshal.GetPInvokeErrorMessage((int)-size)}");
        }

        if (size < BlockSize)
        {
            throw new InvalidOperationException($"Device {Name}: '{Path}' now holds less than one {BlockSize}-byte block.");
        }

        Resize(size / BlockSize * BlockSize);
    }

    /// <summary>Flushes the device's cache (SCST's <c>sync</c>).</summary>
    private void Sync()
    {
        StoreGate.ReadScope held = _gate.EnterRead();
        try
        {
            int error = -PositionalIo.DataSync(_device ?? throw Inactive());
            if (error != 0)
            {
                throw new InvalidOperationException($"Device {Name}: flushing '{Path}' failed: {Marshal.GetPInvokeErrorMessage(error)}");
            }
        }
        finally
        {
            held.Dispose();
        }
    }

    /// <summary>
    /// Opens (true) or closes (false) the block device, SCST's <c>active</c>. Opening takes the device's size again,
    /// and raises CAPACITY DATA HAS CHANGED when it differs.
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
                _ringGate?.WaitForNone();
                FlushBeforeClose();
                CloseDevice();
                _active = false;
                return;
            }

            OpenBlockDevice opened;
            try
            {
                opened = OpenBlockDevice.Open(Path, ReadOnly);
            }
            catch (IOException ex)
            {
                throw new InvalidOperationException($"Device {Name}: activating failed: {ex.Message}", ex);
            }

            if (opened.LogicalBlockSize > BlockSize || opened.Size < BlockSize)
            {
                opened.Dispose();
                throw new InvalidOperationException(opened.LogicalBlockSize > BlockSize
                    ? $"Device {Name}: '{Path}' has {opened.LogicalBlockSize}-byte logical blocks, larger than the disk's {BlockSize}."
                    : $"Device {Name}: '{Path}' holds less than one {BlockSize}-byte block.");
            }

            long blocks = opened.Size / BlockSize;
            _device = opened.Handle;
            _loopBacking = opened.LoopBacking;
            Volatile.Write(ref _deviceBlockSize, opened.LogicalBlockSize);
            DiscardZeroes = opened.DiscardZeroes;
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

    /// <summary>Changes the block device; only while the device is inactive, as SCST allows.</summary>
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

    private InvalidOperationException Inactive() => new($"Device {Name} is inactive: its block device is closed.");

    // With _gate held for writing and no I/O in progress: flushes the device's volatile cache before it is closed (a
    // clean stop, active set to 0). With the write cache on, a WRITE is GOOD once the device took it into its cache,
    // and closing a block device does not flush that cache: without this, writes that initiators were told are done
    // would be lost to a power failure after a clean stop. Done in every mode but read-only, since WCE may have been on
    // before MODE SELECT turned it off. A failure has no one to go to (no command is waiting); the device is closed
    // all the same.
    private void FlushBeforeClose()
    {
        if (!ReadOnly && _device is { } device)
        {
            _ = PositionalIo.DataSync(device);
        }
    }

    private void CloseDevice()
    {
        _loopBacking?.File.Dispose();
        _device?.Dispose();
        _loopBacking = null;
        _device = null;
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        // The base stops a running sanitize first, so that nothing writes to the device once it is closed.
        await base.DisposeAsync().ConfigureAwait(false);
        if (_ring is { IsCompletionThread: true })
        {
            // The wait below needs the ring's completion thread to finish this device's operations: not from it.
            await Task.Yield();
        }

        StoreGate.WriteScope held = _gate.EnterWrite();
        try
        {
            _ringGate?.WaitForNone();
            FlushBeforeClose();
            CloseDevice();
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

    /// <summary>
    /// With <c>bind_alua_state</c> (vdisk_blockio's default, as in SCST), the block device follows the device's access
    /// state on this node: opened when the state becomes active/optimized or active/non-optimized, closed when it
    /// becomes standby, unavailable, offline or transitioning (the passive side of a pair must not hold a replicated
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
}

/// <summary>
/// The vdisk_blockio parameters beside the common ones. With <c>io_engine=io_uring</c>, <c>Ring</c> is the handler's
/// ring, acquired from <c>RingOwner</c>; the device releases it when it is disposed.
/// </summary>
internal sealed record BlockIoSettings(
    string Path, bool NvCache, bool WriteThrough, bool WriteThroughDefault, bool BindAluaState = true, UringIoEngine? Ring = null, SharedUring? RingOwner = null);

/// <summary>The backing file of a loop device, opened for reading where its holes are, and the device's offset in it.</summary>
internal sealed record LoopBackingFile(SafeFileHandle File, long Offset);

/// <summary>A block device opened for vdisk_blockio, with what it says of itself.</summary>
internal sealed record OpenBlockDevice(
    SafeFileHandle Handle, long Size, int LogicalBlockSize, int PhysicalBlockSize, bool DiscardZeroes, LoopBackingFile? LoopBacking) : IDisposable
{
    public void Dispose()
    {
        LoopBacking?.File.Dispose();
        Handle.Dispose();
    }

    /// <summary>
    /// Opens <paramref name="path"/> with O_DIRECT and reads its geometry; throws <see cref="IOException"/> saying why it
    /// cannot (not a block device, no access, an ioctl refused).
    /// </summary>
    public static OpenBlockDevice Open(string path, bool readOnly)
    {
        (uint major, uint minor) = BlockDeviceNode.Identify(path) ?? throw new IOException($"'{path}' is not a block device.");
        SafeFileHandle handle = BlockDeviceNode.Open(path, readOnly, out int error)
            ?? throw new IOException($"'{path}' cannot be opened with O_DIRECT: {Marshal.GetPInvokeErrorMessage(error)}");
        long size = BlockDeviceNode.GetSize(handle);
        int logical = BlockDeviceNode.GetLogicalBlockSize(handle);
        int physical = BlockDeviceNode.GetPhysicalBlockSize(handle);
        if (size < 0 || logical <= 0 || physical <= 0)
        {
            int failed = (int)-Math.Min(size, Math.Min(logical, physical));
            handle.Dispose();
            throw new IOException($"'{path}': reading its size and block sizes failed: {Marshal.GetPInvokeErrorMessage(failed)}");
        }

        bool discardZeroes = BlockDeviceNode.IsLoop(BlockDeviceNode.QueueDirectory(major, minor));
        LoopBackingFile? backing = null;
        if (BlockDeviceNode.LoopBacking(major, minor) is { } loop)
        {
            try
            {
                backing = new LoopBackingFile(System.IO.File.OpenHandle(loop.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite), loop.Offset);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Not readable here: GET LBA STATUS then reports every block mapped, as on any other device.
            }
        }

        return new OpenBlockDevice(handle, size, logical, physical, discardZeroes, backing);
    }
}
