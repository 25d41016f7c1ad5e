// Licensed under the Apache License, Version 2.0.

using Scst.Core;
using Scst.Core.Management;

namespace Scst.Handlers;

/// <summary>
/// A disk with no backing store (SCST's vdisk_nullio): writes are accepted and dropped. For benchmarks of the command
/// path and for initiator tests that need a large, cheap LUN.
/// </summary>
/// <remarks>
/// A read returns zeros with <c>read_zero</c> 1. With <c>read_zero</c> 0 (SCST's default) it costs nothing: the data
/// is whatever the command's buffer held, which may be data another command carried before; set <c>read_zero</c>
/// when the initiators must not see that. <c>dummy</c> makes the LUN a placeholder: INQUIRY reports peripheral
/// qualifier 001b, device type 1Fh. <c>size</c> and <c>size_mb</c> are writable: the new capacity takes effect at
/// once, with CAPACITY DATA HAS CHANGED for every initiator.
/// </remarks>
public sealed class NullIoDevice : VdiskDevice
{
    /// <summary>SCST's default capacity of a vdisk_nullio device: 2.5 TiB.</summary>
    public const long DefaultSize = 5L * 1024 * 1024 * 1024 * 1024 / 2;

    internal const string DummyName = "dummy";
    internal const string ReadZeroName = "read_zero";

    private readonly bool _dummy;
    private volatile bool _readZero;

    internal NullIoDevice(string name, VdiskSettings settings, long blockCount, bool dummy, bool readZero)
        : base(name, VdiskNullIoHandler.HandlerName, settings, blockCount)
    {
        _dummy = dummy;
        _readZero = readZero;
    }

    /// <summary>SCST's <c>dummy</c>: the LUN is a placeholder (INQUIRY peripheral qualifier 001b, device type 1Fh).</summary>
    public override bool Dummy => _dummy;

    /// <summary>SCST's <c>read_zero</c>: reads return zeros; otherwise the buffer is left as it is.</summary>
    public bool ReadZero => _readZero;

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> UnmapAsync(long offset, long length) => new(CommandOutcome.Good);

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> ReadAsync(long offset, Memory<byte> destination)
    {
        if (_readZero)
        {
            destination.Span.Clear();
        }

        return new(CommandOutcome.Good);
    }

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess) =>
        new(CommandOutcome.Good);

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> FlushAsync() => new(CommandOutcome.Good);

    /// <inheritdoc />
    private protected override bool SizeIsKey => BlockCount * BlockSize != DefaultSize;

    /// <inheritdoc />
    private protected override bool HasStorage => false;

    /// <inheritdoc />
    private protected override IEnumerable<ManagementAttribute> HandlerAttributes()
    {
        yield return CreationFlag(DummyName, _dummy, false);
        yield return ManagementAttribute.Boolean(ReadZeroName, () => _readZero, value => _readZero = value, defaultValue: false);
    }

    /// <inheritdoc />
    private protected override void ResizeStore(long bytes) => SetBlockCount(bytes / BlockSize);
}

/// <summary>
/// SCST's vdisk_nullio handler. Parameters: <c>size</c> or <c>size_mb</c> (default 2.5 TiB, as SCST), the common vdisk
/// parameters (see <see cref="VdiskDevice"/>), <c>dummy</c> and <c>read_zero</c>. GET LBA STATUS reports every block
/// mapped, or deallocated when thin provisioned (writes are dropped).
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
        long size = VdiskSettings.ReadSize(p, name) ?? NullIoDevice.DefaultSize;
        VdiskSettings settings = VdiskSettings.Read(p, name, DeviceIdentity.DefaultVendorId);
        bool dummy = p.GetBool(NullIoDevice.DummyName, false);
        bool readZero = p.GetBool(NullIoDevice.ReadZeroName, false);
        p.RejectUnknown();
        if (size < settings.BlockSize || size % settings.BlockSize != 0)
        {
            throw new ArgumentException($"Device {name}: size {size} is not a positive multiple of the block size {settings.BlockSize}.");
        }

        return new NullIoDevice(name, settings, size / settings.BlockSize, dummy, readZero);
    }
}
