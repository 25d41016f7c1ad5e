// Licensed under the Apache License, Version 2.0.

namespace Scst.Core.Alua;

/// <summary>An ALUA asymmetric access state (SPC-4 6.37), with SCST's names for its <c>state</c> attribute.</summary>
public enum AluaState : byte
{
    /// <summary>Active/optimized (<c>active</c>).</summary>
    ActiveOptimized = 0x0,

    /// <summary>Active/non-optimized (<c>nonoptimized</c>).</summary>
    ActiveNonOptimized = 0x1,

    /// <summary>Standby (<c>standby</c>).</summary>
    Standby = 0x2,

    /// <summary>Unavailable (<c>unavailable</c>).</summary>
    Unavailable = 0x3,

    /// <summary>Logical block dependent (<c>lba_dependent</c>).</summary>
    LogicalBlockDependent = 0x4,

    /// <summary>Offline (<c>offline</c>).</summary>
    Offline = 0xE,

    /// <summary>Transitioning (<c>transitioning</c>).</summary>
    Transitioning = 0xF,
}

/// <summary>
/// A device group (SCST's <c>device_groups/&lt;dg&gt;</c>): devices whose target port groups are managed together, and
/// the target groups that reach them. Created through <see cref="ScstEngine.CreateDeviceGroup"/>.
/// </summary>
public sealed class DeviceGroup
{
    private readonly Lock _lock = new();
    private string[] _devices = [];
    private TargetGroup[] _targetGroups = [];
    private Port[] _ports = [];
    private ScsiSession? _stpgIssuer;

    internal DeviceGroup(ScstEngine engine, string name)
    {
        Engine = engine;
        Name = name;
    }

    /// <summary>The core.</summary>
    public ScstEngine Engine { get; }

    /// <summary>The group's name.</summary>
    public string Name { get; }

    /// <summary>The member devices, by name, in the order they were added.</summary>
    public IReadOnlyList<string> Devices => Volatile.Read(ref _devices);

    /// <summary>The target groups, in the order they were created.</summary>
    public IReadOnlyList<TargetGroup> TargetGroups => Volatile.Read(ref _targetGroups);

    /// <summary>Adds a registered device. A device belongs to one device group at most.</summary>
    /// <param name="device">The device's name.</param>
    /// <exception cref="ArgumentException">No such device, or it already belongs to a device group.</exception>
    public void AddDevice(string device)
    {
        ArgumentException.ThrowIfNullOrEmpty(device);
        if (Engine.FindDevice(device) is null)
        {
            throw new ArgumentException($"device {device} does not exist");
        }

        lock (Engine.DeviceGroupLock)
        {
            foreach (DeviceGroup other in Engine.DeviceGroups)
            {
                if (other.Devices.Contains(device, StringComparer.Ordinal))
                {
                    throw new ArgumentException($"device {device} already belongs to device group {other.Name}");
                }
            }

            lock (_lock)
            {
                Volatile.Write(ref _devices, [.. _devices, device]);
            }

            if (Engine.FindDevice(device) is { } registered && Engine.DeviceGroups.Contains(this))
            {
                registered.DeviceGroup = this;
            }
        }
    }

    /// <summary>Removes a device from the group.</summary>
    /// <param name="device">The device's name.</param>
    /// <returns>Whether it was a member.</returns>
    public bool RemoveDevice(string device)
    {
        lock (_lock)
        {
            int i = Array.IndexOf(_devices, device);
            if (i < 0)
            {
                return false;
            }

            Volatile.Write(ref _devices, [.. _devices[..i], .. _devices[(i + 1)..]]);
        }

        if (Engine.FindDevice(device) is { } registered && registered.DeviceGroup == this)
        {
            registered.DeviceGroup = null;
        }

        return true;
    }

    /// <summary>Creates a target group.</summary>
    /// <param name="name">Its name: not empty, without white space or '/'.</param>
    /// <returns>The target group.</returns>
    /// <exception cref="ArgumentException">Bad or taken name.</exception>
    public TargetGroup CreateTargetGroup(string name)
    {
        ScstEngine.ValidateObjectName(name, "target group");
        lock (_lock)
        {
            if (FindTargetGroup(name) is not null)
            {
                throw new ArgumentException($"target group {name} of device group {Name} already exists");
            }

            var group = new TargetGroup(this, name);
            Volatile.Write(ref _targetGroups, [.. _targetGroups, group]);
            RebuildPorts();
            return group;
        }
    }

    /// <summary>Removes a target group.</summary>
    /// <param name="name">Its name.</param>
    /// <returns>Whether it existed.</returns>
    public bool RemoveTargetGroup(string name)
    {
        lock (_lock)
        {
            if (FindTargetGroup(name) is not { } group)
            {
                return false;
            }

            int i = Array.IndexOf(_targetGroups, group);
            Volatile.Write(ref _targetGroups, [.. _targetGroups[..i], .. _targetGroups[(i + 1)..]]);
            RebuildPorts();
            return true;
        }
    }

    /// <summary>Finds a target group by name.</summary>
    /// <param name="name">Its name.</param>
    /// <returns>The target group or null.</returns>
    public TargetGroup? FindTargetGroup(string name) =>
        Volatile.Read(ref _targetGroups).FirstOrDefault(g => string.Equals(g.Name, name, StringComparison.Ordinal));

    /// <summary>
    /// The target group whose members name <paramref name="target"/>, or null. Cheap enough for the command path: it
    /// reads a snapshot of (target, group) pairs, rebuilt when a target group or a member comes or goes, without a
    /// lock or an allocation.
    /// </summary>
    /// <param name="target">The target's name.</param>
    /// <returns>The target group or null.</returns>
    public TargetGroup? TargetGroupOf(string target)
    {
        foreach (Port port in Volatile.Read(ref _ports))
        {
            if (string.Equals(port.Target, target, StringComparison.Ordinal))
            {
                return port.Group;
            }
        }

        return null;
    }

    /// <summary>Rebuilds the snapshot that <see cref="TargetGroupOf"/> reads; called when the target groups or their members change.</summary>
    internal void RebuildPorts()
    {
        lock (_lock)
        {
            var ports = new List<Port>();
            foreach (TargetGroup group in _targetGroups)
            {
                foreach (TargetGroupMember member in group.Targets)
                {
                    ports.Add(new Port(member.Name, group));
                }
            }

            Volatile.Write(ref _ports, [.. ports]);
        }
    }

    /// <summary>
    /// SET TARGET PORT GROUPS commands for the group's devices run one at a time: the state changes an agent makes while
    /// one waits belong to it.
    /// </summary>
    internal SemaphoreSlim StpgGate { get; } = new(1, 1);

    /// <summary>
    /// The session whose SET TARGET PORT GROUPS is being carried out, or null: the state changes made meanwhile report
    /// status code 01h in REPORT TARGET PORT GROUPS, and that session gets no unit attention for them.
    /// </summary>
    internal ScsiSession? StpgIssuer
    {
        get => Volatile.Read(ref _stpgIssuer);
        set => Volatile.Write(ref _stpgIssuer, value);
    }

    /// <summary>
    /// Tells every session that reaches a device of the group that a target group's access state changed (ASYMMETRIC
    /// ACCESS STATE CHANGED), except the one whose SET TARGET PORT GROUPS made the change (SPC-4 5.15.2.3). Entering
    /// the transitioning state tells no one: the unit attention comes with the state the transition ends in. A group
    /// not in the core (a scratch copy) has no one to tell.
    /// </summary>
    /// <remarks>
    /// When <paramref name="group"/> holds a target of this node (a member with relative target port id 0), the
    /// state is the devices' own state on this node, and each device hears of it first
    /// (<see cref="ScsiDevice.OnAluaStateChanged"/>): a handler that binds its backing store to the state (SCST's
    /// <c>bind_alua_state</c>) opens or closes it before any initiator is told.
    /// </remarks>
    internal void OnStateChanged(TargetGroup group, AluaState state)
    {
        if (!Engine.DeviceGroups.Contains(this))
        {
            return;
        }

        if (group.Targets.Any(static t => t.RelativeTargetPortId == 0))
        {
            foreach (string name in Devices)
            {
                if (Engine.FindDevice(name) is not { } device)
                {
                    continue;
                }

                try
                {
                    device.OnAluaStateChanged(state);
                }
                catch (Exception ex) when (ex is InvalidOperationException or IOException or ArgumentException)
                {
                    Log.AluaStateBindFailed(Engine.Logger, ex, name, group.Name, TargetGroup.StateName(state));
                }
            }
        }

        if (state == AluaState.Transitioning)
        {
            return;
        }

        ScsiSession? issuer = StpgIssuer;
        foreach (string name in Devices)
        {
            if (Engine.FindDevice(name) is { } device)
            {
                Engine.EstablishUnitAttention(device, SenseCode.AsymmetricAccessStateChanged, except: issuer);
            }
        }
    }

    // A member target of a target group, as the lookup reads it.
    private readonly record struct Port(string Target, TargetGroup Group);
}

/// <summary>
/// A target port group of a device group (SCST's <c>target_groups/&lt;tg&gt;</c>): its id, ALUA state and preference,
/// and the target ports in it, local targets by name or targets of another node with their relative port ids.
/// </summary>
public sealed class TargetGroup
{
    // STATUS CODE of REPORT TARGET PORT GROUPS: the last state change came from SET TARGET PORT GROUPS, or from the
    // device server itself (implicit asymmetric access, here a management write).
    private const int StatusAlteredBySetTargetPortGroups = 0x01;
    private const int StatusAlteredImplicitly = 0x02;

    private readonly Lock _lock = new();
    private TargetGroupMember[] _targets = [];
    private int _groupId;
    private int _state = (int)AluaState.ActiveOptimized;
    private bool _preferred;
    private int _statusCode;

    internal TargetGroup(DeviceGroup deviceGroup, string name)
    {
        DeviceGroup = deviceGroup;
        Name = name;
    }

    /// <summary>The device group it belongs to.</summary>
    public DeviceGroup DeviceGroup { get; }

    /// <summary>The target group's name.</summary>
    public string Name { get; }

    /// <summary>The target port group id (1 to 65535), 0 until set.</summary>
    public int GroupId
    {
        get => Volatile.Read(ref _groupId);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, ushort.MaxValue);
            Volatile.Write(ref _groupId, value);
        }
    }

    /// <summary>
    /// The asymmetric access state. Defaults to active/optimized. Setting another state establishes ASYMMETRIC ACCESS
    /// STATE CHANGED for every session that reaches a device of the device group (but the one whose SET TARGET PORT
    /// GROUPS asked for it, and none on entering the transitioning state).
    /// </summary>
    public AluaState State
    {
        get => (AluaState)Volatile.Read(ref _state);
        set
        {
            if (Interlocked.Exchange(ref _state, (int)value) == (int)value)
            {
                return;
            }

            Volatile.Write(ref _statusCode, DeviceGroup.StpgIssuer is null ? StatusAlteredImplicitly : StatusAlteredBySetTargetPortGroups);
            DeviceGroup.OnStateChanged(this, value);
        }
    }

    /// <summary>
    /// Whether <see cref="State"/> has changed since the group was created: REPORT TARGET PORT GROUPS then reports status
    /// code 01h (altered by SET TARGET PORT GROUPS) or 02h (altered by implicit asymmetric logical unit access behaviour).
    /// </summary>
    public bool StateChanged => Volatile.Read(ref _statusCode) != 0;

    /// <summary>The STATUS CODE of REPORT TARGET PORT GROUPS (SPC-4 table 203): 0, 01h or 02h.</summary>
    internal byte StatusCode => (byte)Volatile.Read(ref _statusCode);

    /// <summary>Whether the group is the preferred path (the PREF bit of REPORT TARGET PORT GROUPS).</summary>
    public bool Preferred
    {
        get => Volatile.Read(ref _preferred);
        set => Volatile.Write(ref _preferred, value);
    }

    /// <summary>The member target ports, in the order they were added.</summary>
    public IReadOnlyList<TargetGroupMember> Targets => Volatile.Read(ref _targets);

    /// <summary>Adds a target port by name: a local target, or a target of another node.</summary>
    /// <param name="target">The target's name.</param>
    /// <returns>The member.</returns>
    /// <exception cref="ArgumentException">Already a member.</exception>
    public TargetGroupMember AddTarget(string target)
    {
        ArgumentException.ThrowIfNullOrEmpty(target);
        TargetGroupMember member;
        lock (_lock)
        {
            if (FindTarget(target) is not null)
            {
                throw new ArgumentException($"target {target} is already in target group {Name}");
            }

            member = new TargetGroupMember(target);
            Volatile.Write(ref _targets, [.. _targets, member]);
        }

        DeviceGroup.RebuildPorts();
        return member;
    }

    /// <summary>Removes a target port.</summary>
    /// <param name="target">The target's name.</param>
    /// <returns>Whether it was a member.</returns>
    public bool RemoveTarget(string target)
    {
        lock (_lock)
        {
            if (FindTarget(target) is not { } member)
            {
                return false;
            }

            int i = Array.IndexOf(_targets, member);
            Volatile.Write(ref _targets, [.. _targets[..i], .. _targets[(i + 1)..]]);
        }

        DeviceGroup.RebuildPorts();
        return true;
    }

    /// <summary>Finds a member by target name.</summary>
    /// <param name="target">The target's name.</param>
    /// <returns>The member or null.</returns>
    public TargetGroupMember? FindTarget(string target) =>
        Volatile.Read(ref _targets).FirstOrDefault(m => string.Equals(m.Name, target, StringComparison.Ordinal));

    /// <summary>SCST's name of a state (<c>active</c>, <c>nonoptimized</c>, <c>standby</c>...).</summary>
    /// <param name="state">The state.</param>
    /// <returns>The name.</returns>
    public static string StateName(AluaState state) => state switch
    {
        AluaState.ActiveOptimized => "active",
        AluaState.ActiveNonOptimized => "nonoptimized",
        AluaState.Standby => "standby",
        AluaState.Unavailable => "unavailable",
        AluaState.LogicalBlockDependent => "lba_dependent",
        AluaState.Offline => "offline",
        AluaState.Transitioning => "transitioning",
        _ => ((byte)state).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>The state SCST names <paramref name="name"/>.</summary>
    /// <param name="name">The name.</param>
    /// <param name="state">The state.</param>
    /// <returns>Whether the name is known.</returns>
    public static bool TryParseState(string name, out AluaState state)
    {
        foreach (AluaState s in Enum.GetValues<AluaState>())
        {
            if (string.Equals(StateName(s), name, StringComparison.Ordinal))
            {
                state = s;
                return true;
            }
        }

        state = default;
        return false;
    }

    /// <summary>The names of every state, in SCST's spelling.</summary>
    public static IReadOnlyList<string> StateNames { get; } = [.. Enum.GetValues<AluaState>().Select(StateName)];
}

/// <summary>A target port in a target group: a local target by name, or one of another node with its relative port id.</summary>
/// <param name="name">The target's name.</param>
public sealed class TargetGroupMember(string name)
{
    private int _relativeTargetPortId;

    /// <summary>The target's name.</summary>
    public string Name { get; } = name;

    /// <summary>The relative target port id of a target of another node (SCST's <c>rel_tgt_id</c> of the member), 0 for a local one.</summary>
    public int RelativeTargetPortId
    {
        get => Volatile.Read(ref _relativeTargetPortId);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, ushort.MaxValue);
            Volatile.Write(ref _relativeTargetPortId, value);
        }
    }
}
