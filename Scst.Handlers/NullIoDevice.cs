// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.Handlers;

/// <summary>
/// A disk with no backing store (SCST's vdisk_nullio): writes are accepted and dropped, reads return zeros. For
/// benchmarks of the command path and for initiator tests that need a large, cheap LUN.
/// </summary>
public sealed class NullIoDevice : BlockDevice
{
    private readonly int _blockSize;
    private readonly long _blockCount;
    private readonly bool _readOnly;
    private readonly bool _thinProvisioned;
    private readonly bool _removable;
    private readonly int _lbPerPbExponent;
    private readonly long _sanitizeBytesPerSecond;

    internal NullIoDevice(string name, int blockSize, long blockCount, bool readOnly, bool thinProvisioned, bool removable, int lbPerPbExponent, long sanitizeBytesPerSecond)
        : base(name, VdiskNullIoHandler.HandlerName)
    {
        _lbPerPbExponent = lbPerPbExponent;
        _sanitizeBytesPerSecond = sanitizeBytesPerSecond;
        _blockSize = blockSize;
        _blockCount = blockCount;
        _readOnly = readOnly;
        _thinProvisioned = thinProvisioned;
        _removable = removable;
    }

    /// <inheritdoc />
    public override bool ThinProvisioned => _thinProvisioned;

    /// <inheritdoc />
    public override bool Removable => _removable;

    /// <inheritdoc />
    public override int LogicalBlocksPerPhysicalBlockExponent => _lbPerPbExponent;

    /// <inheritdoc />
    public override long SanitizeBytesPerSecond => _sanitizeBytesPerSecond;

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> UnmapAsync(long offset, long length) => new(CommandOutcome.Good);

    /// <inheritdoc />
    public override int BlockSize => _blockSize;

    /// <inheritdoc />
    public override long BlockCount => _blockCount;

    /// <inheritdoc />
    public override bool ReadOnly => _readOnly;

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> ReadAsync(long offset, Memory<byte> destination)
    {
        destination.Span.Clear();
        return new(CommandOutcome.Good);
    }

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess) =>
        new(CommandOutcome.Good);

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> FlushAsync() => new(CommandOutcome.Good);
}

/// <summary>
/// SCST's vdisk_nullio handler. Parameters: <c>size</c> or <c>size_mb</c> (default 1 TiB), <c>blocksize</c>
/// (default 512), <c>read_only</c>, <c>thin_provisioned</c>, <c>removable</c>, <c>lb_per_pb_exp</c> and
/// <c>sanitize_rate_mb</c> (as for vdisk_fileio). GET LBA STATUS reports every block mapped, or deallocated when thin
/// provisioned (writes are dropped, reads return zeros).
/// </summary>
public sealed class VdiskNullIoHandler : IDeviceHandler
{
    /// <summary>The handler's name.</summary>
    public const string HandlerName = "vdisk_nullio";

    /// <inheritdoc />
    public string Name => HandlerName;

    /// <inheritdoc />
    public PeripheralDeviceType DeviceType => PeripheralDeviceType.DirectAccess;

    /// <inheritdoc />
    public ScsiDevice CreateDevice(string name, IReadOnlyDictionary<string, string> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var p = new DeviceParameters(name, parameters);
        long size = p.GetSize("size") ?? 1L << 40;
        string? sizeMb = p.GetString("size_mb");
        if (sizeMb is not null)
        {
            size = DeviceParameters.TryParseSize(sizeMb + "M", out long s) ? s : throw new ArgumentException($"Device {name}: parameter 'size_mb' has value '{sizeMb}'; expected a number.");
        }

        int blockSize = p.GetInt("blocksize", 512, 512, 1024, 2048, 4096);
        bool readOnly = p.GetBool("read_only", false);
        bool thin = p.GetBool("thin_provisioned", false);
        bool removable = p.GetBool("removable", false);
        int lbPerPbExponent = p.GetIntInRange(VdiskFileIoHandler.LbPerPbExpParameter, 0, 0, 15);
        long sanitizeRate = (long)p.GetIntInRange(VdiskFileIoHandler.SanitizeRateParameter, VdiskFileIoHandler.DefaultSanitizeRateMb, 0, int.MaxValue) << 20;
        p.RejectUnknown();
        if (size < blockSize)
        {
            throw new ArgumentException($"Device {name}: size {size} is smaller than one block.");
        }

        return new NullIoDevice(name, blockSize, size / blockSize, readOnly, thin, removable, lbPerPbExponent, sanitizeRate);
    }
}
