// Licensed under the Apache License, Version 2.0.

using Scst.Events;

namespace Scst.Core;

/// <summary>
/// A SCSI target port as a target driver exposes it: a name (an iSCSI IQN, a WWPN), a relative target port
/// identifier and a default LUN map. Sessions are opened on it by its driver.
/// </summary>
public sealed class ScsiTarget
{
    private readonly Lock _lock = new();
    private ScsiSession[] _sessions = [];

    internal ScsiTarget(ScstEngine engine, ITargetDriver driver, string name, ushort relativeTargetPortId)
    {
        Engine = engine;
        Driver = driver;
        Name = name;
        RelativeTargetPortId = relativeTargetPortId;
        Luns.Changed += (_, e) => OnLunsChanged(e);
    }

    /// <summary>The core the target belongs to.</summary>
    public ScstEngine Engine { get; }

    /// <summary>The target driver that serves it.</summary>
    public ITargetDriver Driver { get; }

    /// <summary>The target name.</summary>
    public string Name { get; }

    /// <summary>The relative target port identifier (SCST's rel_tgt_id), unique in the core, from 1.</summary>
    public ushort RelativeTargetPortId { get; }

    /// <summary>The target port group the port belongs to (VPD 83h). Defaults to 0 (no ALUA groups configured).</summary>
    public ushort TargetPortGroupId { get; set; }

    /// <summary>Whether initiators may log in. Defaults to true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The LUNs every initiator sees (the default security group).</summary>
    public LunMap Luns { get; } = new();

    /// <summary>The open sessions.</summary>
    public IReadOnlyList<ScsiSession> Sessions => Volatile.Read(ref _sessions);

    /// <summary>
    /// Opens a session (I_T nexus) for an initiator and publishes event 103 (session added); when the initiator sees no
    /// LUN at all, also event 2 (negative LUNs inquiry). Closing the session publishes event 104 (session removed). With
    /// <see cref="ScstOptions.UnitAttentionOnNewNexus"/> each LUN of the new nexus starts with POWER ON, RESET, OR BUS
    /// DEVICE RESET OCCURRED.
    /// </summary>
    /// <param name="initiatorName">The initiator port name (for iSCSI the initiator name, optionally with its ISID).</param>
    /// <param name="transportId">The initiator's SPC-4 TransportID.</param>
    /// <param name="transport">The driver's callbacks for this session.</param>
    /// <returns>The session.</returns>
    public ScsiSession OpenSession(string initiatorName, ReadOnlyMemory<byte> transportId, ISessionTransport transport)
    {
        ArgumentException.ThrowIfNullOrEmpty(initiatorName);
        ArgumentNullException.ThrowIfNull(transport);
        var session = new ScsiSession(this, initiatorName, transportId, transport, Luns, Engine.Options.MaxCommandsPerSession);
        lock (_lock)
        {
            _sessions = [.. _sessions, session];
        }

        Engine.Events.Publish(ScstEvents.SessionAdded(SessionEventOf(session)));
        if (session.Luns.Luns.Count == 0)
        {
            Engine.PublishNegativeLunsInquiry(initiatorName, Name);
        }

        foreach (LunMapping mapping in session.Luns.Luns)
        {
            if (Engine.Options.UnitAttentionOnNewNexus)
            {
                session.EstablishUnitAttention(mapping.Lun, SenseCode.PowerOnReset);
            }

            Engine.NotifyNexus(session, mapping, attached: true);
        }

        return session;
    }

    /// <summary>Whether an initiator would see at least one LUN (SCST's scst_initiator_has_luns).</summary>
    /// <param name="initiatorName">The initiator name.</param>
    /// <returns>True when the initiator's LUN map is not empty.</returns>
    public bool InitiatorHasLuns(string initiatorName) => Luns.Luns.Count > 0;

    // SPC-4 section 6.33: a LUN added to or removed from the map a session sees is REPORTED LUNS DATA HAS CHANGED for
    // that session, on each LUN it still has.
    // The device of the added or removed LUN learns of each nexus that gains or loses it; the event bus hears of the
    // change as event 101 or 102.
    private void OnLunsChanged(LunMapChangedEventArgs change)
    {
        var lun = new LunEvent(Driver.Name, Name, GroupName: "", (uint)change.Mapping.Lun, change.Mapping.Device.Name, change.Mapping.ReadOnly);
        Engine.Events.Publish(change.Added ? ScstEvents.LunAdded(lun) : ScstEvents.LunRemoved(lun));
        foreach (ScsiSession session in Sessions)
        {
            if (session.Luns == Luns && !session.IsClosed)
            {
                Engine.NotifyNexus(session, change.Mapping, change.Added);
            }

            foreach (LunMapping mapping in session.Luns.Luns)
            {
                session.EstablishUnitAttention(mapping.Lun, SenseCode.ReportedLunsDataChanged);
            }
        }
    }

    internal void RemoveSession(ScsiSession session)
    {
        bool removed;
        lock (_lock)
        {
            int i = Array.IndexOf(_sessions, session);
            removed = i >= 0;
            if (removed)
            {
                _sessions = [.. _sessions[..i], .. _sessions[(i + 1)..]];
            }
        }

        if (removed)
        {
            Engine.Events.Publish(ScstEvents.SessionRemoved(SessionEventOf(session)));
        }
    }

    // Events 103 and 104. SCST names a session after its initiator; so does this core (one session per initiator name
    // and target is the usual case).
    private SessionEvent SessionEventOf(ScsiSession session) => new(Driver.Name, Name, session.InitiatorName, session.InitiatorName);
}
