// Licensed under the Apache License, Version 2.0.

using Microsoft.Win32.SafeHandles;
using Scst.Core;

namespace Scst.Handlers;

/// <summary>
/// A disk backed by a file (SCST's vdisk_fileio), read and written through the page cache with positional I/O.
/// </summary>
/// <remarks>
/// I/O runs synchronously on the thread that executes the command: on a page-cache hit that is a copy of a few
/// microseconds, far cheaper than a hop to another thread. A write with FUA, or any write with write_through, is
/// followed by fdatasync before GOOD is returned; SYNCHRONIZE CACHE runs fdatasync unless nv_cache is set.
/// </remarks>
public sealed class FileIoDevice : BlockDevice
{
    private readonly SafeFileHandle _file;
    private readonly int _blockSize;
    private readonly long _blockCount;
    private readonly bool _readOnly;
    private readonly bool _nvCache;
    private readonly bool _writeThrough;
    private readonly bool _thinProvisioned;
    private readonly bool _removable;
    private readonly int _lbPerPbExponent;
    private readonly long _sanitizeBytesPerSecond;

    internal FileIoDevice(string name, string path, SafeFileHandle file, int blockSize, long blockCount, bool readOnly, bool nvCache, bool writeThrough, bool thinProvisioned, bool removable, int lbPerPbExponent, long sanitizeBytesPerSecond)
        : base(name, VdiskFileIoHandler.HandlerName)
    {
        _lbPerPbExponent = lbPerPbExponent;
        _sanitizeBytesPerSecond = sanitizeBytesPerSecond;
        Path = path;
        _file = file;
        _blockSize = blockSize;
        _blockCount = blockCount;
        _readOnly = readOnly;
        _nvCache = nvCache;
        _writeThrough = writeThrough;
        _thinProvisioned = thinProvisioned;
        _removable = removable;
    }

    /// <summary>The backing file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public override int BlockSize => _blockSize;

    /// <inheritdoc />
    public override long BlockCount => _blockCount;

    /// <inheritdoc />
    public override bool ReadOnly => _readOnly;

    /// <inheritdoc />
    public override bool Rotational => false;

    /// <inheritdoc />
    protected override bool WriteCacheEnabledByDefault => !(_writeThrough || _nvCache);

    /// <inheritdoc />
    public override bool WriteCacheChangeable => !_nvCache;

    /// <inheritdoc />
    public override bool ThinProvisioned => _thinProvisioned;

    /// <inheritdoc />
    public override bool Removable => _removable;

    /// <inheritdoc />
    public override int LogicalBlocksPerPhysicalBlockExponent => _lbPerPbExponent;

    /// <inheritdoc />
    public override long SanitizeBytesPerSecond => _sanitizeBytesPerSecond;

    /// <inheritdoc />
    protected override long GetProvisioningExtent(long offset, long maxLength, out bool mapped)
    {
        if (!_thinProvisioned)
        {
            mapped = true;
            return maxLength;
        }

        long run = Interop.FileSpace.FindExtent(_file, offset, maxLength, out mapped);
        if (run <= 0)
        {
            mapped = true;
            return maxLength;
        }

        return run;
    }

    /// <inheritdoc />
    protected override void Prefetch(long offset, long length) => Interop.FileSpace.WillNeed(_file, offset, length);

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> UnmapAsync(long offset, long length)
    {
        int error = Interop.FileSpace.PunchHole(_file, offset, length);
        return new(error == 0 ? CommandOutcome.Good : CommandOutcome.CheckCondition(SenseCode.WriteError));
    }

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> ReadAsync(long offset, Memory<byte> destination)
    {
        try
        {
            Span<byte> span = destination.Span;
            while (!span.IsEmpty)
            {
                int n = RandomAccess.Read(_file, span, offset);
                if (n == 0)
                {
                    // The file is shorter than the device (it was truncated behind our back): the rest reads as zeros.
                    span.Clear();
                    break;
                }

                span = span[n..];
                offset += n;
            }

            return new(CommandOutcome.Good);
        }
        catch (IOException)
        {
            return new(CommandOutcome.CheckCondition(SenseCode.UnrecoveredReadError));
        }
    }

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess)
    {
        try
        {
            RandomAccess.Write(_file, source.Span, offset);
            // Without a write cache (write_through, or WCE cleared by MODE SELECT) every write is made stable.
            if ((forceUnitAccess || !WriteCacheEnabled) && !_nvCache)
            {
                RandomAccess.FlushToDisk(_file);
            }

            return new(CommandOutcome.Good);
        }
        catch (IOException)
        {
            return new(CommandOutcome.CheckCondition(SenseCode.WriteError));
        }
    }

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> FlushAsync()
    {
        if (_nvCache)
        {
            return new(CommandOutcome.Good);
        }

        try
        {
            RandomAccess.FlushToDisk(_file);
            return new(CommandOutcome.Good);
        }
        catch (IOException)
        {
            return new(CommandOutcome.CheckCondition(SenseCode.WriteError));
        }
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        // The base stops a running sanitize first, so that nothing writes to the file once it is closed.
        await base.DisposeAsync().ConfigureAwait(false);
        _file.Dispose();
    }
}
