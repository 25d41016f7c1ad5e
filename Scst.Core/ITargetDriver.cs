// Licensed under the Apache License, Version 2.0.

namespace Scst.Core;

/// <summary>
/// A fabric (target driver), as registered with the core: iSCSI, FCoE, SRP, QLogic, Local. The driver owns its
/// listeners or ports; it opens sessions on <see cref="ScsiTarget"/>s with an <see cref="ISessionTransport"/> that
/// carries the per-command callbacks.
/// </summary>
public interface ITargetDriver
{
    /// <summary>The driver's name, as SCST spells it (for example <c>iscsi</c>, <c>scst_local</c>).</summary>
    string Name { get; }

    /// <summary>
    /// The SPC-4 protocol identifier of the fabric (SPC-4 table 444), used in TransportIDs and in VPD page 83h
    /// designators: 0 FC, 4 SRP, 5 iSCSI, 0xF none.
    /// </summary>
    byte ProtocolIdentifier { get; }

    /// <summary>
    /// Optional. A target of this driver was enabled or disabled (<see cref="ScsiTarget.Enabled"/>). A driver ends the
    /// sessions of a disabled target as its fabric does it gracefully (iSCSI asks the initiators to log out); the core
    /// only stops new logins, which the driver checks. Called on the thread that changed the property.
    /// </summary>
    /// <param name="target">The target.</param>
    /// <param name="enabled">Its new state.</param>
    void OnTargetEnabledChanged(ScsiTarget target, bool enabled)
    {
    }

    /// <summary>
    /// Optional. A target of this driver was added to the core (<see cref="ScstEngine.AddTarget"/>): the driver may give
    /// it what it numbers in creation order (iSCSI's <c>tid</c>). Called after the target is in the core, on the thread
    /// that added it.
    /// </summary>
    /// <param name="target">The target.</param>
    void OnTargetAdded(ScsiTarget target)
    {
    }

    /// <summary>
    /// Optional. A target of this driver was removed from the core (<see cref="ScstEngine.RemoveTargetAsync"/>), after
    /// its sessions ended: the driver forgets what it kept for it (credentials, settings).
    /// </summary>
    /// <param name="target">The target.</param>
    void OnTargetRemoved(ScsiTarget target)
    {
    }

    /// <summary>
    /// Optional. The driver's management attributes: the driver's own when <paramref name="target"/> is null (SCST's
    /// <c>targets/&lt;driver&gt;/</c> files), else those of one of its targets (iSCSI's <c>HeaderDigest</c>,
    /// <c>IncomingUser</c>...). The core adds <c>enabled</c> and <c>rel_tgt_id</c> of targets itself. The default has none.
    /// </summary>
    /// <param name="target">A target of this driver, or null.</param>
    /// <returns>The attributes.</returns>
    IReadOnlyList<Management.ManagementAttribute> GetManagementAttributes(ScsiTarget? target) => [];
}
