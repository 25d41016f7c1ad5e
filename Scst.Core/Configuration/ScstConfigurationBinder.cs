// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using Microsoft.Extensions.Configuration;
using static Scst.Core.Configuration.ConfigKeywords;

namespace Scst.Core.Configuration;

/// <summary>
/// Builds a <see cref="ScstConfiguration"/> from a Microsoft.Extensions.Configuration section, so that the scst.conf
/// model can live in <c>appsettings.json</c>, environment variables or any other configuration provider.
/// </summary>
/// <remarks>
/// <para>The section's shape (every key is optional):</para>
/// <code>
/// "Scst": {
///   "Attributes": { "setup_id": "0x1234" },
///   "Handlers": {
///     "vdisk_fileio": {
///       "Attributes": { },
///       "Devices": { "disk1": { "filename": "/disk1", "nv_cache": "1" }, "disk2": { "filename": "/disk2" } } } },
///   "TargetDrivers": {
///     "iscsi": {
///       "Attributes": { "enabled": "1" },
///       "Targets": {
///         "iqn.2006-10.net.vlnb:tgt": {
///           "Attributes": { "IncomingUser": [ "joe 12charsecret" ], "HeaderDigest": "CRC32C,None", "enabled": "1" },
///           "Luns": { "0": "disk1", "1": { "Device": "disk2", "read_only": "1" } },
///           "Groups": {
///             "special": {
///               "Luns": { "0": { "Device": "disk1", "read_only": "1" } },
///               "Initiators": [ "iqn.2005-03.org.open-iscsi:*" ],
///               "Attributes": { } } } } } } },
///   "DeviceGroups": {
///     "dg1": {
///       "Devices": [ "disk1" ],
///       "TargetGroups": {
///         "tg1": { "group_id": "1", "state": "active", "Targets": [ "iqn.2006-10.net.vlnb:tgt" ] },
///         "tg2": { "group_id": "2", "Targets": { "iqn.2006-10.net.vlnb:remote": { "rel_tgt_id": "2" } } } } } }
/// }
/// </code>
/// <list type="bullet">
/// <item>An attribute's value is a string, or an array of strings for a multi-valued attribute (one attribute line per
/// element). <c>null</c> and <c>{}</c> give no line; <c>""</c> gives an empty value (and so does <c>[]</c> from the
/// JSON provider, which gives an empty array as <c>""</c>).</item>
/// <item>A device is an object of its attributes (or <c>""</c> when it has none). A LUN is the device's name, or an
/// object with <c>Device</c> and the LUN's attributes; its key is the LUN number (0 to 16383), so an array of device
/// names maps LUN 0, 1, 2...</item>
/// <item><c>Devices</c> of a device group and <c>Initiators</c> of a security group are arrays of names (or one
/// name). A target group's <c>Targets</c> are an array of names or an object of names to their attributes; its other
/// keys (and those under its <c>Attributes</c>) are its attributes.</item>
/// <item>The structural keys (<c>Handlers</c>, <c>Devices</c>, <c>Luns</c>...) are matched without regard to case, as
/// configuration keys are; names and attribute names are kept as the provider gives them. Any other key where a
/// structural one is expected is an error.</item>
/// </list>
/// <para>Names with colons: configuration keys use <c>:</c> as their separator, so the JSON key
/// <c>"iqn.2006-10.net.vlnb:tgt"</c> arrives as the key <c>iqn.2006-10.net.vlnb</c> holding <c>tgt</c>. Where a
/// target, security group, device or target-group member is expected, a key that holds only keys foreign to such an
/// entry (for a target: none of <c>Attributes</c>, <c>Luns</c>, <c>Groups</c>; for a device or member: no value, only
/// objects) is taken as the start of a name, and its keys continue it. So <c>iqn.2006-10.net.vlnb:tgt1</c> and
/// <c>iqn.2006-10.net.vlnb:tgt2</c> are two targets. A device or member whose name holds a colon must have at least
/// one attribute to be told from an attribute; a member without attributes goes in the array form, whose values may
/// hold anything. Handler, target driver, device group and target group names cannot hold a colon.</para>
/// <para>Order: configuration providers do not keep a file's order. Sections, entries and attributes come in the order
/// <see cref="IConfiguration.GetChildren"/> gives (keys sorted, numbers by value), array elements in array order. The
/// order of security groups is the one that may matter (the first group whose pattern matches claims an initiator):
/// where patterns of two groups overlap, name the groups in the order wanted, or use scst.conf.</para>
/// <para>Errors are reported as a <see cref="ScstConfigException"/> whose <see cref="ScstConfigException.SourceName"/>
/// is the configuration path of the faulty key, and whose message starts with it
/// (<c>Scst:TargetDrivers:iscsi:Targets:t1:Luns:abc: not a LUN number (0 to 16383)</c>). Elements carry line 0.
/// The binder walks the configuration itself, without reflection, so it is safe under trimming and native AOT.</para>
/// </remarks>
public static class ScstConfigurationBinder
{
    /// <summary>Builds the configuration that <paramref name="section"/> describes.</summary>
    /// <param name="section">The section (<c>configuration.GetSection("Scst")</c>), or a whole configuration root.</param>
    /// <returns>The configuration; empty when the section is.</returns>
    /// <exception cref="ScstConfigException">A key or value does not fit the shape.</exception>
    public static ScstConfiguration Bind(IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var config = new ScstConfiguration();
        var devices = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (Is(child, "Attributes"))
            {
                AddAttributes(config.Attributes, child);
            }
            else if (Is(child, "Handlers"))
            {
                foreach (IConfigurationSection handler in Entries(child))
                {
                    config.Handlers.Add(BindHandler(handler, devices));
                }
            }
            else if (Is(child, "TargetDrivers"))
            {
                foreach (IConfigurationSection driver in Entries(child))
                {
                    config.TargetDrivers.Add(BindTargetDriver(driver));
                }
            }
            else if (Is(child, "DeviceGroups"))
            {
                foreach (IConfigurationSection deviceGroup in Entries(child))
                {
                    config.DeviceGroups.Add(BindDeviceGroup(deviceGroup));
                }
            }
            else
            {
                throw Unknown(child, "Attributes, Handlers, TargetDrivers or DeviceGroups");
            }
        }

        return config;
    }

    private static HandlerConfiguration BindHandler(IConfigurationSection section, Dictionary<string, string> devices)
    {
        var handler = new HandlerConfiguration(section.Key);
        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (Is(child, "Attributes"))
            {
                AddAttributes(handler.Attributes, child);
            }
            else if (Is(child, "Devices"))
            {
                foreach ((string name, IConfigurationSection entry) in Named(child, IsValues))
                {
                    // Device names are one namespace across all handlers, as in SCST.
                    if (!devices.TryAdd(name, entry.Path))
                    {
                        throw Error(entry, $"device {name} is already defined at {devices[name]}");
                    }

                    var device = new DeviceConfiguration(name);
                    AddAttributes(device.Attributes, entry);
                    handler.Devices.Add(device);
                }
            }
            else
            {
                throw Unknown(child, "Attributes or Devices");
            }
        }

        return handler;
    }

    private static TargetDriverConfiguration BindTargetDriver(IConfigurationSection section)
    {
        var driver = new TargetDriverConfiguration(section.Key);
        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (Is(child, "Attributes"))
            {
                AddAttributes(driver.Attributes, child);
            }
            else if (Is(child, "Targets"))
            {
                foreach ((string name, IConfigurationSection target) in Named(child, IsTargetKey))
                {
                    driver.Targets.Add(BindTarget(name, target));
                }
            }
            else
            {
                throw Unknown(child, "Attributes or Targets");
            }
        }

        return driver;
    }

    private static bool IsTargetKey(IConfigurationSection key) => Is(key, "Attributes") || Is(key, "Luns") || Is(key, "Groups");

    private static TargetConfiguration BindTarget(string name, IConfigurationSection section)
    {
        NoValue(section, "a target is an object with Attributes, Luns and Groups");
        var target = new TargetConfiguration(name);
        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (Is(child, "Attributes"))
            {
                AddAttributes(target.Attributes, child);
            }
            else if (Is(child, "Luns"))
            {
                AddLuns(target.Luns, child);
            }
            else if (Is(child, "Groups"))
            {
                foreach ((string groupName, IConfigurationSection group) in Named(child, IsGroupKey))
                {
                    target.Groups.Add(BindGroup(groupName, group));
                }
            }
            else
            {
                throw Unknown(child, "Attributes, Luns or Groups");
            }
        }

        return target;
    }

    private static bool IsGroupKey(IConfigurationSection key) => Is(key, "Attributes") || Is(key, "Luns") || Is(key, "Initiators");

    private static GroupConfiguration BindGroup(string name, IConfigurationSection section)
    {
        NoValue(section, "a group is an object with Attributes, Luns and Initiators");
        var group = new GroupConfiguration(name);
        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (Is(child, "Attributes"))
            {
                AddAttributes(group.Attributes, child);
            }
            else if (Is(child, "Luns"))
            {
                AddLuns(group.Luns, child);
            }
            else if (Is(child, "Initiators"))
            {
                foreach (string pattern in Names(child))
                {
                    group.Initiators.Add(new ConfigAttribute(Initiator, pattern));
                }
            }
            else
            {
                throw Unknown(child, "Attributes, Luns or Initiators");
            }
        }

        return group;
    }

    private static DeviceGroupConfiguration BindDeviceGroup(IConfigurationSection section)
    {
        var deviceGroup = new DeviceGroupConfiguration(section.Key);
        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (Is(child, "Attributes"))
            {
                AddAttributes(deviceGroup.Attributes, child);
            }
            else if (Is(child, "Devices"))
            {
                foreach (string device in Names(child))
                {
                    deviceGroup.Devices.Add(new ConfigAttribute(Device, device));
                }
            }
            else if (Is(child, "TargetGroups"))
            {
                foreach (IConfigurationSection targetGroup in Entries(child))
                {
                    deviceGroup.TargetGroups.Add(BindTargetGroup(targetGroup));
                }
            }
            else
            {
                throw Unknown(child, "Attributes, Devices or TargetGroups");
            }
        }

        return deviceGroup;
    }

    // A target group's attributes stand beside its Targets (as in scst.conf), or under Attributes.
    private static TargetGroupConfiguration BindTargetGroup(IConfigurationSection section)
    {
        var targetGroup = new TargetGroupConfiguration(section.Key);
        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (Is(child, "Attributes"))
            {
                AddAttributes(targetGroup.Attributes, child);
            }
            else if (Is(child, "Targets"))
            {
                AddMembers(targetGroup.Targets, child);
            }
            else
            {
                AddAttribute(targetGroup.Attributes, child);
            }
        }

        return targetGroup;
    }

    // An array of names, or an object of names to their attributes.
    private static void AddMembers(IList<TargetGroupMemberConfiguration> members, IConfigurationSection section)
    {
        if (TryGetValues(section, out List<string>? names))
        {
            foreach (string name in CheckedNames(section, names))
            {
                members.Add(new TargetGroupMemberConfiguration(name));
            }

            return;
        }

        foreach ((string name, IConfigurationSection entry) in Named(section, IsValues))
        {
            var member = new TargetGroupMemberConfiguration(name);
            AddAttributes(member.Attributes, entry);
            members.Add(member);
        }
    }

    private static void AddLuns(IList<LunConfiguration> luns, IConfigurationSection section)
    {
        var numbers = new Dictionary<int, string>();
        foreach (IConfigurationSection entry in Entries(section).OrderBy(LunOrder))
        {
            if (!int.TryParse(entry.Key, NumberStyles.None, CultureInfo.InvariantCulture, out int number) || number > MaxLunNumber)
            {
                throw Error(entry, $"not a LUN number (0 to {MaxLunNumber})");
            }

            if (!numbers.TryAdd(number, entry.Path))
            {
                throw Error(entry, $"LUN {number} is already defined at {numbers[number]}");
            }

            LunConfiguration lun;
            if (entry.Value is { } device && !entry.GetChildren().Any())
            {
                lun = new LunConfiguration(number, NonEmpty(entry, device));
            }
            else
            {
                IConfigurationSection? deviceKey = entry.GetChildren().FirstOrDefault(c => Is(c, "Device"));
                if (deviceKey?.Value is not { } name)
                {
                    throw Error(entry, "a LUN needs a Device: write the device's name, or an object with Device and the LUN's attributes");
                }

                lun = new LunConfiguration(number, NonEmpty(deviceKey, name));
                foreach (IConfigurationSection attribute in entry.GetChildren())
                {
                    if (!Is(attribute, "Device"))
                    {
                        AddAttribute(lun.Attributes, attribute);
                    }
                }
            }

            luns.Add(lun);
        }
    }

    // LUN keys in number order (GetChildren sorts numbers by value already; keys that are no number sort last and fail).
    private static long LunOrder(IConfigurationSection entry) =>
        int.TryParse(entry.Key, NumberStyles.None, CultureInfo.InvariantCulture, out int number) ? number : long.MaxValue;

    // An object whose keys are attribute names.
    private static void AddAttributes(ConfigAttributeList attributes, IConfigurationSection section)
    {
        if (section.Value is { Length: > 0 } && !section.GetChildren().Any())
        {
            throw Error(section, "expected an object of attributes, not a value");
        }

        foreach (IConfigurationSection attribute in section.GetChildren())
        {
            AddAttribute(attributes, attribute);
        }
    }

    private static void AddAttribute(ConfigAttributeList attributes, IConfigurationSection attribute)
    {
        if (!TryGetValues(attribute, out List<string>? values))
        {
            throw Error(attribute, "expected a value or an array of values");
        }

        foreach (string value in values)
        {
            attributes.Add(attribute.Key, value);
        }
    }

    // A list of names: an array of strings, or one string.
    private static List<string> Names(IConfigurationSection section)
    {
        if (!TryGetValues(section, out List<string>? names))
        {
            throw Error(section, "expected a name or an array of names");
        }

        return CheckedNames(section, names);
    }

    private static List<string> CheckedNames(IConfigurationSection section, List<string> names)
    {
        if (names.Any(n => n.Length == 0))
        {
            throw Error(section, "a name is empty");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string name in names)
        {
            if (!seen.Add(name))
            {
                throw Error(section, $"{name} is listed twice");
            }
        }

        return names;
    }

    // The values of a key: none (null, {} or []), one (a string) or several (an array of strings). False when the key
    // is an object or an array holding objects.
    private static bool TryGetValues(IConfigurationSection section, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out List<string>? values)
    {
        List<IConfigurationSection> children = [.. section.GetChildren()];
        if (children.Count == 0)
        {
            values = section.Value is { } value ? [value] : [];
            return true;
        }

        var elements = new SortedDictionary<int, string>();
        foreach (IConfigurationSection child in children)
        {
            if (!int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out int index)
                || child.Value is not { } element
                || child.GetChildren().Any())
            {
                values = null;
                return false;
            }

            elements[index] = element;
        }

        // An array's keys are 0..n-1; an object whose keys merely look like numbers is not one.
        if (elements.Count != children.Count || elements.Keys.Last() != children.Count - 1)
        {
            values = null;
            return false;
        }

        values = [.. elements.Values];
        return true;
    }

    // The named entries of a collection. IConfiguration splits keys at ':', so a name that holds one
    // (iqn.2006-10.net.vlnb:tgt) arrives as nested keys. A key that has children, none of which is one of an entry's
    // own keys (isOwn) or a value (no entry is a bare value), and no value of its own is such a prefix: its children
    // continue the name.
    private static IEnumerable<(string Name, IConfigurationSection Entry)> Named(
        IConfigurationSection collection, Func<IConfigurationSection, bool> isOwn)
    {
        foreach (IConfigurationSection child in Entries(collection))
        {
            foreach ((string, IConfigurationSection) entry in Expand(child.Key, child, isOwn))
            {
                yield return entry;
            }
        }
    }

    private static IEnumerable<(string Name, IConfigurationSection Entry)> Expand(
        string name, IConfigurationSection node, Func<IConfigurationSection, bool> isOwn)
    {
        List<IConfigurationSection> children = [.. node.GetChildren()];
        if (node.Value is not null || children.Count == 0 || children.Any(c => isOwn(c) || c.Value is { Length: > 0 }))
        {
            yield return (name, node);
            yield break;
        }

        foreach (IConfigurationSection child in children)
        {
            foreach ((string, IConfigurationSection) entry in Expand($"{name}:{child.Key}", child, isOwn))
            {
                yield return entry;
            }
        }
    }

    // Whether a key holds an attribute's values (a value or an array of them) rather than an object.
    private static bool IsValues(IConfigurationSection key) => TryGetValues(key, out _);

    private static void NoValue(IConfigurationSection section, string what)
    {
        if (section.Value is { Length: > 0 })
        {
            throw Error(section, $"{what}, not a value");
        }
    }

    // The children of a key that holds named entries; "" or null (an empty object) holds none.
    private static IEnumerable<IConfigurationSection> Entries(IConfigurationSection section)
    {
        if (section.Value is { Length: > 0 })
        {
            throw Error(section, "expected an object of named entries, not a value");
        }

        return section.GetChildren();
    }

    private static string NonEmpty(IConfigurationSection section, string name) =>
        name.Length > 0 ? name : throw Error(section, "the device's name is empty");

    private static bool Is(IConfigurationSection section, string key) =>
        string.Equals(section.Key, key, StringComparison.OrdinalIgnoreCase);

    private static ScstConfigException Unknown(IConfigurationSection section, string expected) =>
        Error(section, $"unknown key; expected {expected}");

    private static ScstConfigException Error(IConfigurationSection section, string reason) =>
        new(section.Path, 0, 0, reason);
}
