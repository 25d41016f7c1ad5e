// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using Scst.Core;
using Scst.Core.Management;

namespace Scst.Handlers;

/// <summary>
/// What SCST's vdisk handlers share (vdisk_fileio, vdisk_blockio, vdisk_nullio): the geometry and the flags given at creation
/// (<c>blocksize</c>, <c>read_only</c>, <c>removable</c>, <c>rotational</c>, <c>tst</c>, <c>thin_provisioned</c>),
/// <c>opt_trans_len</c>, the identity attributes with their SCST-derived defaults, and an online resize that tells
/// every initiator CAPACITY DATA HAS CHANGED. A handler adds its own attributes and its data path.
/// </summary>
/// <remarks>
/// Identity attributes (<c>t10_vend_id</c>, <c>vend_specific_id</c>, <c>prod_id</c>, <c>prod_rev_lvl</c>,
/// <c>scsi_device_name</c>, <c>t10_dev_id</c>, <c>usn</c>, <c>eui64_id</c>, <c>naa_id</c>, <c>inq_vend_specific</c>)
/// are creation parameters and writable at run time; a write raises INQUIRY DATA HAS CHANGED for every I_T nexus that
/// reaches the device. The identifiers not given are derived from the device name and the core's <c>setup_id</c> when
/// the device is registered, as SCST derives them when it creates a device (see <see cref="DeviceIdentity.FromName"/>);
/// a device whose unit serial number another device holds is refused.
/// </remarks>
public abstract class VdiskDevice : BlockDevice
{
    private readonly int _blockSize;
    private readonly bool _readOnly;
    private readonly bool _removable;
    private readonly bool _rotational;
    private readonly int _tst;
    private readonly bool _thinProvisioned;
    private readonly bool _thinProvisionedGiven;
    private readonly int _lbPerPbExponent;
    private readonly long _sanitizeBytesPerSecond;
    private readonly Lock _identityLock = new();
    private long _blockCount;
    private int _optimalTransferLength;
    private bool _optimalTransferLengthSet;
    private IdentityFields _identitySet;

    private protected VdiskDevice(string name, string handlerName, VdiskSettings settings, long blockCount)
        : base(name, handlerName, settings.Identity)
    {
        _blockSize = settings.BlockSize;
        _readOnly = settings.ReadOnly;
        _removable = settings.Removable;
        _rotational = settings.Rotational;
        _tst = settings.Tst;
        _thinProvisioned = settings.ThinProvisioned;
        _thinProvisionedGiven = settings.ThinProvisionedGiven;
        _lbPerPbExponent = settings.LogicalBlocksPerPhysicalBlockExponent;
        _sanitizeBytesPerSecond = settings.SanitizeBytesPerSecond;
        _optimalTransferLength = settings.OptimalTransferLength;
        _optimalTransferLengthSet = settings.OptimalTransferLengthGiven;
        _identitySet = settings.IdentitySet;
        _blockCount = blockCount;
        ExplicitAlua = settings.ExplicitAlua;
    }

    /// <summary>
    /// What SCST's <c>bind_alua_state</c> does with the backing store in an ALUA state of the device on this node: open
    /// it (true) in active/optimized and active/non-optimized, close it (false) in standby, unavailable, offline and
    /// transitioning, leave it (null) in logical block dependent.
    /// </summary>
    private protected static bool? ActiveInAluaState(Scst.Core.Alua.AluaState state) => state switch
    {
        Scst.Core.Alua.AluaState.ActiveOptimized or Scst.Core.Alua.AluaState.ActiveNonOptimized => true,
        Scst.Core.Alua.AluaState.Standby or Scst.Core.Alua.AluaState.Unavailable or Scst.Core.Alua.AluaState.Offline
            or Scst.Core.Alua.AluaState.Transitioning => false,
        _ => null,
    };

    /// <inheritdoc />
    public override int BlockSize => _blockSize;

    /// <inheritdoc />
    public override long BlockCount => Volatile.Read(ref _blockCount);

    /// <inheritdoc />
    public override bool ReadOnly => _readOnly;

    /// <inheritdoc />
    public override bool Removable => _removable;

    /// <summary>Whether the device reports a rotating medium (SCST's <c>rotational</c>, default 1): VPD B1h says 15000 rpm, else non-rotating.</summary>
    public override bool Rotational => _rotational;

    /// <summary>SCST's <c>tst</c> 0: one task set for every I_T nexus (control page TST=0). Defaults to false (<c>tst</c> 1).</summary>
    public override bool SingleTaskSet => _tst == 0;

    /// <inheritdoc />
    public override bool ThinProvisioned => _thinProvisioned;

    /// <inheritdoc />
    public override int LogicalBlocksPerPhysicalBlockExponent => _lbPerPbExponent;

    /// <inheritdoc />
    public override long SanitizeBytesPerSecond => _sanitizeBytesPerSecond;

    /// <summary>
    /// SCST's <c>opt_trans_len</c> (bytes, default 524288): VPD B0h's OPTIMAL TRANSFER LENGTH. A change at run time
    /// raises INQUIRY DATA HAS CHANGED.
    /// </summary>
    public override int OptimalTransferLengthBytes => Volatile.Read(ref _optimalTransferLength);

    /// <summary>The identity attributes set by hand so far.</summary>
    internal IdentityFields IdentitySetFields => _identitySet;

    /// <inheritdoc />
    public override IReadOnlyList<ManagementAttribute> ManagementAttributes =>
    [
        .. SizeAttributes(),
        CreationParameter(VdiskSettings.BlockSizeName, BlockSize.ToString(CultureInfo.InvariantCulture), "512", ManagementAttributeType.Integer),
        CreationFlag(VdiskSettings.ReadOnlyName, ReadOnly, false),
        CreationFlag(VdiskSettings.RemovableName, Removable, false),
        CreationFlag(VdiskSettings.RotationalName, Rotational, true),
        CreationParameter(VdiskSettings.TstName, SingleTaskSet ? "0" : "1", "1", ManagementAttributeType.Integer),
        new ManagementAttribute
        {
            Name = VdiskSettings.ThinProvisionedName, Type = ManagementAttributeType.Boolean, IsCreationParameter = true,
            Read = () => ThinProvisioned ? "1" : "0", KeyWhen = () => _thinProvisionedGiven,
        },
        CreationParameter(VdiskFileIoHandler.LbPerPbExpParameter, LogicalBlocksPerPhysicalBlockExponent.ToString(CultureInfo.InvariantCulture), "0", ManagementAttributeType.Integer),
        CreationParameter(VdiskFileIoHandler.SanitizeRateParameter, (SanitizeBytesPerSecond >> 20).ToString(CultureInfo.InvariantCulture),
            VdiskFileIoHandler.DefaultSanitizeRateMb.ToString(CultureInfo.InvariantCulture), ManagementAttributeType.Integer),
        new ManagementAttribute
        {
            Name = VdiskSettings.OptimalTransferLengthName, Type = ManagementAttributeType.Integer,
            Read = () => OptimalTransferLengthBytes.ToString(CultureInfo.InvariantCulture),
            Write = SetOptimalTransferLength,
            KeyWhen = () => Volatile.Read(ref _optimalTransferLengthSet),
        },
        ManagementAttribute.Boolean(VdiskSettings.ExplicitAluaName, () => ExplicitAlua, value => ExplicitAlua = value, defaultValue: false),
        .. SoftThresholdAttribute(),
        .. VdiskIdentity.Attributes(this),
        .. HandlerAttributes(),
    ];

    /// <summary>
    /// Whether the device has SCST's write-only <c>gen_tp_soft_threshold_reached_UA</c> while thin provisioned: a
    /// device with storage behind it (vdisk_fileio, vdisk_blockio), whose administrator or monitoring learns that the
    /// storage runs out.
    /// </summary>
    private protected virtual bool HasStorage => true;

    // Writing anything queues THIN PROVISIONING SOFT THRESHOLD REACHED for every I_T nexus of the device, as SCST does.
    private IEnumerable<ManagementAttribute> SoftThresholdAttribute()
    {
        if (HasStorage && ThinProvisioned)
        {
            yield return new ManagementAttribute
            {
                Name = "gen_tp_soft_threshold_reached_UA",
                Write = _ => EstablishUnitAttention(SenseCode.ThinProvisioningSoftThresholdReached),
            };
        }
    }

    /// <summary>The handler's own attributes, listed after the common ones.</summary>
    private protected abstract IEnumerable<ManagementAttribute> HandlerAttributes();

    /// <summary>
    /// <c>size</c> and <c>size_mb</c>: the capacity in bytes and MiB. <c>size</c> is a key attribute as SCST marks it
    /// (always, except vdisk_nullio's default size); <c>size_mb</c> never is, so that a saved configuration holds the
    /// exact byte count.
    /// </summary>
    private protected IEnumerable<ManagementAttribute> SizeAttributes()
    {
        yield return new ManagementAttribute
        {
            Name = "size", Type = ManagementAttributeType.Integer,
            Read = () => (BlockCount * BlockSize).ToString(CultureInfo.InvariantCulture),
            Write = SizeWritable ? text => Resize(ParseSize("size", text, 1)) : null,
            KeyWhen = () => SizeIsKey,
        };
        yield return new ManagementAttribute
        {
            Name = "size_mb", Type = ManagementAttributeType.Integer,
            Read = () => (BlockCount * BlockSize >> 20).ToString(CultureInfo.InvariantCulture),
            Write = SizeWritable ? text => Resize(ParseSize("size_mb", text, 1L << 20)) : null,
            KeyWhen = static () => false,
        };
    }

    /// <summary>Whether <c>size</c> is a key attribute now.</summary>
    private protected virtual bool SizeIsKey => true;

    /// <summary>
    /// Whether <c>size</c> and <c>size_mb</c> can be written (true by default); false where the capacity is that of a
    /// device the handler does not size (vdisk_blockio).
    /// </summary>
    private protected virtual bool SizeWritable => true;

    /// <summary>
    /// Changes the capacity to <paramref name="bytes"/> (a multiple of the block size, at least one block), then tells
    /// every I_T nexus CAPACITY DATA HAS CHANGED and publishes the core's capacity event; the same capacity changes
    /// nothing. Throws
    /// <see cref="ArgumentException"/> for a bad size and <see cref="InvalidOperationException"/> when the device
    /// cannot change now.
    /// </summary>
    /// <param name="bytes">The new capacity in bytes.</param>
    public void Resize(long bytes)
    {
        if (bytes < BlockSize || bytes % BlockSize != 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"Device {Name}: size {bytes} is not a positive multiple of the block size {BlockSize}."));
        }

        if (bytes == BlockCount * BlockSize)
        {
            // Nothing changes, and no initiator is told otherwise (a configuration applied again sets the same size).
            return;
        }

        ResizeStore(bytes);
        NotifyCapacityChanged();
    }

    /// <summary>Required. Changes the backing store to <paramref name="bytes"/> and calls <see cref="SetBlockCount"/>.</summary>
    /// <param name="bytes">The new capacity in bytes, validated.</param>
    private protected abstract void ResizeStore(long bytes);

    /// <summary>Sets the capacity the command path checks LBAs against.</summary>
    /// <param name="blocks">The number of logical blocks.</param>
    private protected void SetBlockCount(long blocks) => Volatile.Write(ref _blockCount, blocks);

    /// <summary>Sets one identity attribute and raises INQUIRY DATA HAS CHANGED.</summary>
    internal void SetIdentityAttribute(string name, string value)
    {
        lock (_identityLock)
        {
            IdentityFields set = _identitySet;
            Identity = VdiskIdentity.Apply(Identity, name, value, ref set, Name);
            _identitySet = set;
        }

        NotifyInquiryDataChanged();
    }

    /// <summary>
    /// Derives the identifiers not set by hand with the core's <c>setup_id</c>, and refuses a unit serial number that
    /// another registered device reports (as SCST refuses a new vdisk whose <c>usn</c> is taken).
    /// </summary>
    /// <param name="engine">The core.</param>
    protected override void OnRegistering(ScstEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        base.OnRegistering(engine);
        lock (_identityLock)
        {
            Identity = VdiskIdentity.Rederive(Identity, Name, (uint)engine.SetupId, _identitySet);
        }

        string serial = Identity.SerialNumber;
        foreach (ScsiDevice other in engine.Devices)
        {
            if (other != this && string.Equals(other.Identity.SerialNumber, serial, StringComparison.Ordinal))
            {
                throw new ArgumentException($"Device {Name}: unit serial number '{serial}' is that of device {other.Name}.");
            }
        }
    }

    /// <summary>Parses a size written to an attribute: digits with an optional K, M, G or T suffix, times <paramref name="unit"/>.</summary>
    private protected long ParseSize(string attribute, string text, long unit)
    {
        if (!DeviceParameters.TryParseSize(text, out long value) || value > long.MaxValue / unit)
        {
            throw new ArgumentException($"Device {Name}: '{attribute}' has value '{text}'; expected a byte count{(unit == 1 ? " with an optional K, M, G or T suffix" : " in MiB")}.");
        }

        return value * unit;
    }

    /// <summary>A read-only attribute given at creation, a key when it differs from SCST's default.</summary>
    private protected static ManagementAttribute CreationParameter(string name, string value, string defaultValue, ManagementAttributeType type = ManagementAttributeType.Text) =>
        new() { Name = name, Type = type, Read = () => value, DefaultValue = defaultValue, IsCreationParameter = true };

    /// <summary>A read-only boolean given at creation.</summary>
    private protected static ManagementAttribute CreationFlag(string name, bool value, bool defaultValue) =>
        CreationParameter(name, value ? "1" : "0", defaultValue ? "1" : "0", ManagementAttributeType.Boolean);

    private void SetOptimalTransferLength(string text)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int bytes) || bytes % BlockSize != 0)
        {
            throw new ArgumentException($"Device {Name}: '{VdiskSettings.OptimalTransferLengthName}' has value '{text}'; expected a multiple of the block size {BlockSize}.");
        }

        int before = Interlocked.Exchange(ref _optimalTransferLength, bytes);
        Volatile.Write(ref _optimalTransferLengthSet, true);
        if (before != bytes)
        {
            // VPD page B0h is INQUIRY data too.
            NotifyInquiryDataChanged();
        }
    }
}
