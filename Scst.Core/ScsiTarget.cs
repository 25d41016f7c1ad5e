// Licensed under the Apache License, Version 2.0.

using Scst.Events;

namespace Scst.Core;

/// <summary>
/// A SCSI target port as a target driver exposes it: a name (an iSCSI IQN, a WWPN), a relative target port
/// identifier, a default LUN map and security groups (SCST's access control). Sessions are opened on it by its driver.
/// </summary>
/// <remarks>
/// <para>Access control as SCST has it: each session sees one LUN map, that of the first <see cref="SecurityGroup"/>
/// (in creation order) with an initiator pattern that matches its initiator name, or else the default map
/// <see cref="Luns"/>. An initiator that sees no LUN at all is one the target does not serve: a driver asks
/// <see cref="InitiatorHasLuns"/> before it lists or admits it (the iSCSI driver hides the target from its
/// SendTargets and refuses its login).</para>
/// <para>A change of a group's initiators re-evaluates the open sessions at once, as SCST does (sessions are not
/// closed; their LUN inventory changes under them with the unit attentions SPC-4 asks for). A change of a map's
/// LUNs reaches the sessions that see that map.</para>
/// </remarks>
public sealed class ScsiTarget
{
    private readonly Lock _lock = new();
    private ScsiSession[] _sessions = [];
    private SecurityGroup[] _groups = [];
    private bool _enabled = true;
    private ushort _relativeTargetPortId;

    internal ScsiTarget(ScstEngine engine, ITargetDriver driver, string name, ushort relativeTargetPortId)
    {
        Engine = engine;
        Driver = driver;
        Name = name;
        _relativeTargetPortId = relativeTargetPortId;
        Luns.Changed += (_, e) => OnLunsChanged(Luns, string.Empty, e);
    }

    /// <summary>The core the target belongs to.</summary>
    public ScstEngine Engine { get; }

    /// <summary>The target driver that serves it.</summary>
    public ITargetDriver Driver { get; }

    /// <summary>The target name.</summary>
    public string Name { get; }

    /// <summary>
    /// The relative target port identifier (SCST's rel_tgt_id), unique in the core, from 1. It may change only while
    /// the target has no session.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">0.</exception>
    /// <exception cref="ArgumentException">Another target has it.</exception>
    /// <exception cref="InvalidOperationException">The target has sessions.</exception>
    public ushort RelativeTargetPortId
    {
        get => Volatile.Read(ref _relativeTargetPortId);
        set
        {
            ArgumentOutOfRangeException.ThrowIfZero(value);
            if (value == RelativeTargetPortId)
            {
                return;
            }

            if (!Engine.RelativeTargetPortIdFree(value, this))
            {
                throw new ArgumentException($"rel_tgt_id {value} is used by another target");
            }

            if (Sessions.Count > 0)
            {
                throw new InvalidOperationException($"target {Name} has sessions: its rel_tgt_id cannot change now");
            }

            Volatile.Write(ref _relativeTargetPortId, value);
        }
    }

    /// <summary>The target port group the port belongs to (VPD 83h). Defaults to 0 (no ALUA groups configured).</summary>
    public ushort TargetPortGroupId { get; set; }

    /// <summary>
    /// Whether initiators may log in. Defaults to true. A change is passed to the driver
    /// (<see cref="ITargetDriver.OnTargetEnabledChanged"/>), which ends the sessions of a disabled target.
    /// </summary>
    public bool Enabled
    {
        get => Volatile.Read(ref _enabled);
        set
        {
            if (Interlocked.Exchange(ref _enabled, value) != value)
            {
                Driver.OnTargetEnabledChanged(this, value);
            }
        }
    }

    /// <summary>
    /// The default LUN map: the LUNs of every initiator that no security group of <see cref="Groups"/> claims (SCST's
    /// <c>luns</c> of the target). Leave it empty to admit only the initiators of the groups.
    /// </summary>
    public LunMap Luns { get; } = new();

    /// <summary>The security groups (SCST's <c>ini_groups</c>), in the order they were created.</summary>
    public IReadOnlyList<SecurityGroup> Groups => Volatile.Read(ref _groups);

    /// <summary>The open sessions.</summary>
    public IReadOnlyList<ScsiSession> Sessions => Volatile.Read(ref _sessions);

    /// <summary>
    /// Opens a session (I_T nexus) for an initiator and publishes event 103 (session added); when the initiator sees no
    /// LUN at all, also event 2 (negative LUNs inquiry). The session sees the LUNs of its initiator's security group
    /// (see <see cref="GroupOf"/>), or the default LUNs. Closing the session publishes event 104 (session removed). With
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
        ScsiSession session;
        lock (_lock)
        {
            // The map is chosen under the lock that group changes take, so that a change made meanwhile finds the
            // session and re-evaluates it.
            session = new ScsiSession(this, initiatorName, transportId, transport, LunsForLocked(initiatorName), Engine.Options.MaxCommandsPerSession);
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

    /// <summary>
    /// Whether an initiator would see at least one LUN (SCST's scst_initiator_has_luns): the LUN map of its security
    /// group, or the default map, is not empty. When it is empty, event 2 (negative LUNs inquiry) is published, as
    /// SCST does; a target driver asks this before it lists the target to the initiator or lets it log in.
    /// </summary>
    /// <param name="initiatorName">The initiator name.</param>
    /// <returns>True when the initiator's LUN map is not empty.</returns>
    public bool InitiatorHasLuns(string initiatorName)
    {
        ArgumentNullException.ThrowIfNull(initiatorName);
        if (LunsFor(initiatorName).Luns.Count > 0)
        {
            return true;
        }

        Engine.PublishNegativeLunsInquiry(initiatorName, Name);
        return false;
    }

    /// <summary>
    /// The security group whose LUNs an initiator sees: the first group, in creation order, with a pattern that
    /// matches the name (SCST scans the groups the same way). Null when no group claims the initiator; it then sees
    /// <see cref="Luns"/>.
    /// </summary>
    /// <param name="initiatorName">The initiator name.</param>
    /// <returns>The group, or null.</returns>
    public SecurityGroup? GroupOf(string initiatorName)
    {
        ArgumentNullException.ThrowIfNull(initiatorName);
        foreach (SecurityGroup group in Volatile.Read(ref _groups))
        {
            if (group.Matches(initiatorName))
            {
                return group;
            }
        }

        return null;
    }

    /// <summary>The LUN map an initiator sees: its group's (see <see cref="GroupOf"/>), or <see cref="Luns"/>.</summary>
    /// <param name="initiatorName">The initiator name.</param>
    /// <returns>The LUN map.</returns>
    public LunMap LunsFor(string initiatorName) => GroupOf(initiatorName)?.Luns ?? Luns;

    /// <summary>Creates an empty security group (SCST's <c>ini_groups/mgmt create</c>), last in the scan order.</summary>
    /// <param name="name">The group name: not empty, without white space or '/'.</param>
    /// <returns>The group.</returns>
    /// <exception cref="ArgumentException">The name is not valid, or the target already has a group of that name.</exception>
    public SecurityGroup CreateGroup(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.AsSpan().IndexOfAny(" \t\r\n/") >= 0)
        {
            throw new ArgumentException($"Group name '{name}' holds white space or '/'.", nameof(name));
        }

        var group = new SecurityGroup(this, name);
        lock (_lock)
        {
            if (FindGroup(name) is not null)
            {
                throw new ArgumentException($"Target {Name} already has a group named {name}.", nameof(name));
            }

            Volatile.Write(ref _groups, [.. _groups, group]);
        }

        // A group's LUN changes reach the sessions of that group, and name it in events 101 and 102.
        group.Luns.Changed += (_, e) => OnLunsChanged(group.Luns, group.Name, e);
        Log.GroupCreated(Engine.Logger, Name, name);
        return group;
    }

    /// <summary>Finds a security group by name.</summary>
    /// <param name="name">The group name.</param>
    /// <returns>The group, or null.</returns>
    public SecurityGroup? FindGroup(string name)
    {
        foreach (SecurityGroup group in Volatile.Read(ref _groups))
        {
            if (string.Equals(group.Name, name, StringComparison.Ordinal))
            {
                return group;
            }
        }

        return null;
    }

    /// <summary>
    /// Removes a security group with its initiator patterns (SCST's <c>ini_groups/mgmt del</c>). As in SCST, a group
    /// that open sessions see cannot be removed: close them, or move their initiators to another group, first.
    /// </summary>
    /// <param name="name">The group name.</param>
    /// <returns>False when the target has no such group.</returns>
    /// <exception cref="InvalidOperationException">A session sees the group's LUNs.</exception>
    public bool RemoveGroup(string name)
    {
        lock (_lock)
        {
            if (FindGroup(name) is not { } group)
            {
                return false;
            }

            foreach (ScsiSession session in _sessions)
            {
                if (session.Luns == group.Luns && !session.IsClosed)
                {
                    throw new InvalidOperationException($"Group {name} of target {Name} is in use by the session of {session.InitiatorName}.");
                }
            }

            int i = Array.IndexOf(_groups, group);
            Volatile.Write(ref _groups, [.. _groups[..i], .. _groups[(i + 1)..]]);
            group.Removed = true;
        }

        Log.GroupRemoved(Engine.Logger, Name, name);
        return true;
    }

    /// <summary>The default LUN map and the map of each group.</summary>
    internal IEnumerable<LunMap> AllLunMaps()
    {
        yield return Luns;
        foreach (SecurityGroup group in Groups)
        {
            yield return group.Luns;
        }
    }

    /// <summary>
    /// Performs a change of the initiator patterns of <paramref name="group"/> (and <paramref name="other"/>) under
    /// the group lock, then moves every open session whose group changed to its new LUN map, as SCST's
    /// scst_check_reassign_sessions does: a LUN with the same number, device and write protection stays as it was; a
    /// LUN number that now reaches another device is replaced (INQUIRY DATA HAS CHANGED); LUNs gained and lost attach
    /// and detach the nexus; a session whose LUNs changed at all gets REPORTED LUNS DATA HAS CHANGED on each LUN it has.
    /// </summary>
    /// <returns>What <paramref name="change"/> returned.</returns>
    internal bool ChangeInitiators(Func<bool> change, SecurityGroup group, SecurityGroup? other = null)
    {
        var moved = new List<(ScsiSession Session, LunMap From, LunMap To)>();
        lock (_lock)
        {
            if (group.Removed || other?.Removed == true)
            {
                throw new InvalidOperationException($"Group {(group.Removed ? group.Name : other!.Name)} was removed from target {Name}.");
            }

            if (!change())
            {
                return false;
            }

            foreach (ScsiSession session in _sessions)
            {
                LunMap to = LunsForLocked(session.InitiatorName);
                LunMap from = session.Luns;
                if (to != from && !session.IsClosed)
                {
                    session.SwitchLuns(to);
                    moved.Add((session, from, to));
                }
            }
        }

        foreach ((ScsiSession session, LunMap from, LunMap to) in moved)
        {
            string fromName = GroupNameOf(from);
            string toName = GroupNameOf(to);
            Log.SessionRegrouped(Engine.Logger, session.InitiatorName, Name, fromName, toName);

            Regroup(session, from, to);
        }

        return true;
    }

    // A session that closes meanwhile detaches from the map it saw last; a device that was told of an attach after that
    // is told of the detach again (a device takes a second detach of a nexus as a no-op).
    private void Regroup(ScsiSession session, LunMap from, LunMap to)
    {
        if (session.IsClosed)
        {
            return;
        }

        bool changed = false;
        List<int>? replaced = null;
        foreach (LunMapping old in from.Luns)
        {
            LunMapping? now = to.Find(old.Lun);
            if (now is null || now.Device != old.Device || now.ReadOnly != old.ReadOnly)
            {
                changed = true;
                Engine.NotifyNexus(session, old, attached: false);
                if (now is not null)
                {
                    (replaced ??= []).Add(old.Lun);
                }
            }
        }

        foreach (LunMapping now in to.Luns)
        {
            LunMapping? old = from.Find(now.Lun);
            if (old is null || now.Device != old.Device || now.ReadOnly != old.ReadOnly)
            {
                changed = true;
                Engine.NotifyNexus(session, now, attached: true);
                if (session.IsClosed)
                {
                    Engine.NotifyNexus(session, now, attached: false);
                }
            }
        }

        if (!changed)
        {
            return;
        }

        foreach (LunMapping mapping in to.Luns)
        {
            session.EstablishUnitAttention(mapping.Lun, SenseCode.ReportedLunsDataChanged);
        }

        foreach (int lun in replaced ?? [])
        {
            session.EstablishUnitAttention(lun, SenseCode.InquiryDataChanged);
        }
    }

    private LunMap LunsForLocked(string initiatorName) => GroupOf(initiatorName)?.Luns ?? Luns;

    private string GroupNameOf(LunMap map)
    {
        foreach (SecurityGroup group in Groups)
        {
            if (group.Luns == map)
            {
                return group.Name;
            }
        }

        return string.Empty;
    }

    // SPC-4 section 6.33: a LUN added to or removed from the map a session sees is REPORTED LUNS DATA HAS CHANGED for
    // that session, on each LUN it still has. Only the sessions that see this map (its group's, or the default map's)
    // learn of it. The device of the added or removed LUN learns of each nexus that gains or loses it; the event bus
    // hears of the change as event 101 or 102, with the group's name (empty for the default map).
    private void OnLunsChanged(LunMap map, string groupName, LunMapChangedEventArgs change)
    {
        if (change.Replaced is { } previous)
        {
            // A replacement: the inventory is the same; the old device loses the nexus and the new one gains it.
            var old = new LunEvent(Driver.Name, Name, groupName, (uint)previous.Lun, previous.Device.Name, previous.ReadOnly);
            var now = new LunEvent(Driver.Name, Name, groupName, (uint)change.Mapping.Lun, change.Mapping.Device.Name, change.Mapping.ReadOnly);
            Engine.Events.Publish(ScstEvents.LunRemoved(old));
            Engine.Events.Publish(ScstEvents.LunAdded(now));
            foreach (ScsiSession session in Sessions)
            {
                if (session.Luns == map && !session.IsClosed)
                {
                    Engine.NotifyNexus(session, previous, attached: false);
                    Engine.NotifyNexus(session, change.Mapping, attached: true);
                }
            }

            return;
        }

        var lun = new LunEvent(Driver.Name, Name, groupName, (uint)change.Mapping.Lun, change.Mapping.Device.Name, change.Mapping.ReadOnly);
        Engine.Events.Publish(change.Added ? ScstEvents.LunAdded(lun) : ScstEvents.LunRemoved(lun));
        foreach (ScsiSession session in Sessions)
        {
            if (session.Luns != map || session.IsClosed)
            {
                continue;
            }

            Engine.NotifyNexus(session, change.Mapping, change.Added);
            foreach (LunMapping mapping in map.Luns)
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
