// Licensed under the Apache License, Version 2.0.

namespace Scst.Core;

/// <summary>
/// A SCSI device as a device handler provides it: a backing store with a peripheral type and an identity. The core
/// executes the commands it owns (INQUIRY, REPORT LUNS, REQUEST SENSE, MODE SENSE, TEST UNIT READY...) for every
/// device and hands every other command to <see cref="ExecuteAsync"/>.
/// </summary>
/// <remarks>
/// Outcomes are values: return a CHECK CONDITION <see cref="CommandOutcome"/>, never throw. An exception escaping
/// <see cref="ExecuteAsync"/> is a bug in the handler; the core logs it and answers that command alone with HARDWARE
/// ERROR / INTERNAL TARGET FAILURE.
/// </remarks>
public abstract class ScsiDevice : IAsyncDisposable
{
    /// <summary>Creates a device.</summary>
    /// <param name="name">The device name, unique in the core; no '/' and no '.'.</param>
    /// <param name="handlerName">The name of the handler that made it (vdisk_fileio...).</param>
    /// <param name="deviceType">The SCSI peripheral device type.</param>
    /// <param name="identity">Identifiers; derived from the name when null.</param>
    protected ScsiDevice(string name, string handlerName, PeripheralDeviceType deviceType, DeviceIdentity? identity = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        HandlerName = handlerName;
        DeviceType = deviceType;
        Identity = identity ?? DeviceIdentity.FromName(name);
    }

    /// <summary>The device name.</summary>
    public string Name { get; }

    /// <summary>The handler that created the device.</summary>
    public string HandlerName { get; }

    /// <summary>The SCSI peripheral device type.</summary>
    public PeripheralDeviceType DeviceType { get; }

    /// <summary>INQUIRY and VPD identifiers.</summary>
    public DeviceIdentity Identity { get; }

    /// <summary>The logical block size in bytes; 512 unless a handler says otherwise.</summary>
    public virtual int BlockSize => 512;

    /// <summary>Whether the whole device is write-protected.</summary>
    public virtual bool ReadOnly => false;

    /// <summary>Whether the medium is removable (INQUIRY RMB).</summary>
    public virtual bool Removable => false;

    /// <summary>Whether the device is rotational (VPD B1h).</summary>
    public virtual bool Rotational => false;

    /// <summary>
    /// Whether a medium is loaded. When false, TEST UNIT READY and every medium-access command get NOT READY, MEDIUM
    /// NOT PRESENT. Defaults to true.
    /// </summary>
    public virtual bool MediumPresent => true;

    /// <summary>Whether a write cache is enabled (caching mode page WCE); SYNCHRONIZE CACHE then matters.</summary>
    public virtual bool WriteCacheEnabled => false;

    /// <summary>Whether sense data is returned in descriptor format (control mode page D_SENSE). Defaults to false.</summary>
    public bool DescriptorSense { get; set; }

    /// <summary>
    /// Required. Executes a command that the core does not own. Called after the core decoded the CDB, checked the
    /// LBA range of block commands, refused writes to read-only units and received the write data.
    /// </summary>
    /// <remarks>
    /// Called on the thread that advanced the command (often the driver's receive loop): complete synchronously when the
    /// work is cheap, and return an incomplete <see cref="ValueTask{TResult}"/> rather than block when it is not. For a
    /// read, write the result into <see cref="ScsiCommand.Data"/> and, when it is shorter than the buffer, call
    /// <see cref="ScsiCommand.SetResponseLength"/>. The command and its buffer are owned by the core.
    /// </remarks>
    /// <param name="command">The command.</param>
    /// <returns>The outcome.</returns>
    public abstract ValueTask<CommandOutcome> ExecuteAsync(ScsiCommand command);

    /// <summary>Optional. Releases the backing store. Called once, when the device is removed or the core stops.</summary>
    /// <returns>A task that completes when the device is closed.</returns>
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}
