// Licensed under the Apache License, Version 2.0.

namespace Scst.Core.Configuration;

/// <summary>
/// A configuration in the shape of SCST's <c>scst.conf</c>: core attributes, handlers with their devices, target drivers
/// with their targets (LUNs, security groups, initiators) and device groups with their target groups. Read from
/// scst.conf text (<see cref="ScstConfigReader"/>), bound from Microsoft.Extensions.Configuration
/// (<see cref="ScstConfigurationBinder"/>), taken from the running core (<see cref="ScstConfigApplier.Capture"/>), and
/// written back as scst.conf text (<see cref="ScstConfigWriter"/>).
/// </summary>
/// <remarks>
/// Every element remembers the line it came from (0 when it did not come from a file), so that a problem found when the
/// configuration is checked against the running core names the line.
/// </remarks>
public sealed class ScstConfiguration
{
    /// <summary>The core's own attributes (<c>setup_id</c>, <c>cluster_name</c>...), in file order.</summary>
    public ConfigAttributeList Attributes { get; } = new();

    /// <summary>The <c>HANDLER</c> sections, in file order.</summary>
    public IList<HandlerConfiguration> Handlers { get; } = [];

    /// <summary>The <c>TARGET_DRIVER</c> sections, in file order.</summary>
    public IList<TargetDriverConfiguration> TargetDrivers { get; } = [];

    /// <summary>The <c>DEVICE_GROUP</c> sections, in file order.</summary>
    public IList<DeviceGroupConfiguration> DeviceGroups { get; } = [];
}

/// <summary>One attribute line: a name and its value, as written (quotes and escapes removed).</summary>
/// <param name="Name">The attribute's name.</param>
/// <param name="Value">Its value; may be empty or hold blanks.</param>
/// <param name="Line">The 1-based line it came from, or 0.</param>
public sealed record ConfigAttribute(string Name, string Value, int Line = 0);

/// <summary>
/// The attribute lines of a section, in order. A name may appear several times: a multi-valued attribute
/// (<c>IncomingUser</c>, <c>INITIATOR</c>-like lists) keeps each value.
/// </summary>
public sealed class ConfigAttributeList : IReadOnlyList<ConfigAttribute>
{
    private readonly List<ConfigAttribute> _items = [];

    /// <inheritdoc />
    public int Count => _items.Count;

    /// <inheritdoc />
    public ConfigAttribute this[int index] => _items[index];

    /// <summary>Appends an attribute line.</summary>
    /// <param name="name">The name.</param>
    /// <param name="value">The value.</param>
    /// <param name="line">The line it came from, or 0.</param>
    public void Add(string name, string value, int line = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        _items.Add(new ConfigAttribute(name, value, line));
    }

    /// <summary>The last value given for <paramref name="name"/>, or null when none is.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The value or null.</returns>
    public string? Get(string name)
    {
        for (int i = _items.Count - 1; i >= 0; i--)
        {
            if (string.Equals(_items[i].Name, name, StringComparison.Ordinal))
            {
                return _items[i].Value;
            }
        }

        return null;
    }

    /// <summary>The attribute line for <paramref name="name"/> (the last one), or null.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The attribute or null.</returns>
    public ConfigAttribute? Find(string name)
    {
        for (int i = _items.Count - 1; i >= 0; i--)
        {
            if (string.Equals(_items[i].Name, name, StringComparison.Ordinal))
            {
                return _items[i];
            }
        }

        return null;
    }

    /// <summary>Every value given for <paramref name="name"/>, in order.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The values; empty when none.</returns>
    public IReadOnlyList<string> GetAll(string name) =>
        [.. _items.Where(a => string.Equals(a.Name, name, StringComparison.Ordinal)).Select(a => a.Value)];

    /// <summary>Removes every line of <paramref name="name"/>.</summary>
    /// <param name="name">The name.</param>
    /// <returns>Whether any was removed.</returns>
    public bool Remove(string name) => _items.RemoveAll(a => string.Equals(a.Name, name, StringComparison.Ordinal)) > 0;

    /// <inheritdoc />
    public IEnumerator<ConfigAttribute> GetEnumerator() => _items.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary><c>HANDLER name { DEVICE ... }</c>: a device handler and the devices it makes.</summary>
/// <param name="name">The handler's name (<c>vdisk_fileio</c>).</param>
/// <param name="line">The line of the section, or 0.</param>
public sealed class HandlerConfiguration(string name, int line = 0)
{
    /// <summary>The handler's name.</summary>
    public string Name { get; } = name;

    /// <summary>The line of the section, or 0.</summary>
    public int Line { get; } = line;

    /// <summary>The handler's own attributes.</summary>
    public ConfigAttributeList Attributes { get; } = new();

    /// <summary>The <c>DEVICE</c> entries, in order.</summary>
    public IList<DeviceConfiguration> Devices { get; } = [];
}

/// <summary><c>DEVICE name [{ attributes }]</c>: a device, with the parameters it is created with and its attributes.</summary>
/// <param name="name">The device's name.</param>
/// <param name="line">The line of the entry, or 0.</param>
public sealed class DeviceConfiguration(string name, int line = 0)
{
    /// <summary>The device's name.</summary>
    public string Name { get; } = name;

    /// <summary>The line of the entry, or 0.</summary>
    public int Line { get; } = line;

    /// <summary>The device's attributes (<c>filename</c>, <c>blocksize</c>, <c>nv_cache</c>...).</summary>
    public ConfigAttributeList Attributes { get; } = new();
}

/// <summary><c>TARGET_DRIVER name { attributes; TARGET ... }</c>: a target driver, its attributes and its targets.</summary>
/// <param name="name">The driver's name (<c>iscsi</c>).</param>
/// <param name="line">The line of the section, or 0.</param>
public sealed class TargetDriverConfiguration(string name, int line = 0)
{
    /// <summary>The driver's name.</summary>
    public string Name { get; } = name;

    /// <summary>The line of the section, or 0.</summary>
    public int Line { get; } = line;

    /// <summary>The driver's attributes (<c>enabled</c>, iSCSI's discovery <c>IncomingUser</c>...).</summary>
    public ConfigAttributeList Attributes { get; } = new();

    /// <summary>The <c>TARGET</c> sections, in order.</summary>
    public IList<TargetConfiguration> Targets { get; } = [];
}

/// <summary><c>TARGET name { attributes; LUN ...; GROUP ... }</c>: a target.</summary>
/// <param name="name">The target's name.</param>
/// <param name="line">The line of the entry, or 0.</param>
public sealed class TargetConfiguration(string name, int line = 0)
{
    /// <summary>The target's name.</summary>
    public string Name { get; } = name;

    /// <summary>The line of the entry, or 0.</summary>
    public int Line { get; } = line;

    /// <summary>The target's attributes (<c>enabled</c>, <c>rel_tgt_id</c>, the driver's target attributes).</summary>
    public ConfigAttributeList Attributes { get; } = new();

    /// <summary>The default LUN map: the LUNs of initiators that no group claims.</summary>
    public IList<LunConfiguration> Luns { get; } = [];

    /// <summary>The security groups (<c>GROUP</c>), in order: the order in which they claim initiators.</summary>
    public IList<GroupConfiguration> Groups { get; } = [];
}

/// <summary><c>LUN number device [{ read_only 1 }]</c>: a LUN of a target or of a group.</summary>
/// <param name="number">The LUN number.</param>
/// <param name="device">The device's name.</param>
/// <param name="line">The line of the entry, or 0.</param>
public sealed class LunConfiguration(int number, string device, int line = 0)
{
    /// <summary>The LUN number.</summary>
    public int Number { get; } = number;

    /// <summary>The device's name.</summary>
    public string Device { get; } = device;

    /// <summary>The line of the entry, or 0.</summary>
    public int Line { get; } = line;

    /// <summary>The LUN's attributes (<c>read_only</c>).</summary>
    public ConfigAttributeList Attributes { get; } = new();
}

/// <summary><c>GROUP name { LUN ...; INITIATOR pattern; attributes }</c>: a security group (SCST's ini_group).</summary>
/// <param name="name">The group's name.</param>
/// <param name="line">The line of the entry, or 0.</param>
public sealed class GroupConfiguration(string name, int line = 0)
{
    /// <summary>The group's name.</summary>
    public string Name { get; } = name;

    /// <summary>The line of the entry, or 0.</summary>
    public int Line { get; } = line;

    /// <summary>The group's attributes.</summary>
    public ConfigAttributeList Attributes { get; } = new();

    /// <summary>The group's LUNs.</summary>
    public IList<LunConfiguration> Luns { get; } = [];

    /// <summary>The <c>INITIATOR</c> patterns, in order, each with its line.</summary>
    public IList<ConfigAttribute> Initiators { get; } = [];
}

/// <summary><c>DEVICE_GROUP name { DEVICE d; TARGET_GROUP ... }</c>: an ALUA device group.</summary>
/// <param name="name">The device group's name.</param>
/// <param name="line">The line of the section, or 0.</param>
public sealed class DeviceGroupConfiguration(string name, int line = 0)
{
    /// <summary>The device group's name.</summary>
    public string Name { get; } = name;

    /// <summary>The line of the section, or 0.</summary>
    public int Line { get; } = line;

    /// <summary>The device group's attributes.</summary>
    public ConfigAttributeList Attributes { get; } = new();

    /// <summary>The member devices (<c>DEVICE name</c>), each with its line.</summary>
    public IList<ConfigAttribute> Devices { get; } = [];

    /// <summary>The target groups, in order.</summary>
    public IList<TargetGroupConfiguration> TargetGroups { get; } = [];
}

/// <summary><c>TARGET_GROUP name { group_id n; preferred 0|1; state s; TARGET t [{ rel_tgt_id n }] }</c>.</summary>
/// <param name="name">The target group's name.</param>
/// <param name="line">The line of the section, or 0.</param>
public sealed class TargetGroupConfiguration(string name, int line = 0)
{
    /// <summary>The target group's name.</summary>
    public string Name { get; } = name;

    /// <summary>The line of the section, or 0.</summary>
    public int Line { get; } = line;

    /// <summary>The target group's attributes (<c>group_id</c>, <c>preferred</c>, <c>state</c>).</summary>
    public ConfigAttributeList Attributes { get; } = new();

    /// <summary>The member targets.</summary>
    public IList<TargetGroupMemberConfiguration> Targets { get; } = [];
}

/// <summary><c>TARGET name [{ rel_tgt_id n }]</c> in a target group: a local target, or a remote one with its relative port id.</summary>
/// <param name="name">The target's name.</param>
/// <param name="line">The line of the entry, or 0.</param>
public sealed class TargetGroupMemberConfiguration(string name, int line = 0)
{
    /// <summary>The target's name.</summary>
    public string Name { get; } = name;

    /// <summary>The line of the entry, or 0.</summary>
    public int Line { get; } = line;

    /// <summary>The member's attributes (<c>rel_tgt_id</c> for a target of another node).</summary>
    public ConfigAttributeList Attributes { get; } = new();
}
