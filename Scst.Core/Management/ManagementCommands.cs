// Licensed under the Apache License, Version 2.0.

using System.Globalization;

namespace Scst.Core.Management;

/// <summary>
/// SCST's management verbs, addressed as SCST addresses them: a write of a command line to a <c>mgmt</c> file of the
/// tree under <c>/sys/kernel/scst_tgt</c>, given here as a path relative to that root
/// (<c>targets/iscsi/iqn.2026-11.example:t1/luns/mgmt</c>) and the line (<c>add disk1 0 read_only=1</c>).
/// </summary>
/// <remarks>
/// The verbs: a handler's <c>add_device</c> / <c>del_device</c>; a driver's <c>targets/DRIVER/mgmt</c> with
/// <c>add_target</c>, <c>del_target</c>, <c>add_attribute</c>, <c>del_attribute</c>, <c>add_target_attribute</c> and
/// <c>del_target_attribute</c>; a target's <c>luns/mgmt</c> and a security group's <c>ini_groups/GROUP/luns/mgmt</c>
/// with <c>add</c>, <c>replace</c>, <c>replace_no_ua</c>, <c>del</c> and <c>clear</c>; a target's
/// <c>ini_groups/mgmt</c> with <c>create</c> and <c>del</c>; a group's <c>ini_groups/GROUP/initiators/mgmt</c> with
/// <c>add</c>, <c>del</c>, <c>move</c> and <c>clear</c>; <c>device_groups/mgmt</c> (<c>create</c>/<c>add</c>,
/// <c>del</c>), a device group's <c>devices/mgmt</c> (<c>add</c>, <c>del</c>) and <c>target_groups/mgmt</c>
/// (<c>create</c>/<c>add</c>, <c>del</c>), and a target group's <c>mgmt</c> (<c>add</c>, <c>del</c> of a target). Any
/// other path or verb is answered with an error that names it; nothing is changed by a command that fails.
/// </remarks>
public sealed class ManagementCommands(ScstEngine engine)
{
    private const int EINVAL = 22;
    private const int ENOENT = 2;
    private const int EEXIST = 17;
    private const int EBUSY = 16;

    /// <summary>Performs one management command.</summary>
    /// <param name="path">The <c>mgmt</c> file, relative to the tree's root.</param>
    /// <param name="line">The command line written to it.</param>
    /// <returns>The outcome: 0, or a negative errno with a message that says what failed and why.</returns>
    public async ValueTask<ManagementResult> ExecuteAsync(string path, string line)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(line);
        string[] parts = path.Trim('/').Split('/');
        string[] words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            return ManagementResult.Error(EINVAL, $"{path}: empty command");
        }

        try
        {
            return parts switch
            {
                ["handlers", string handler, "mgmt"] => await HandlerCommandAsync(handler, words, line).ConfigureAwait(false),
                ["targets", string driver, "mgmt"] => await DriverCommandAsync(driver, words, line).ConfigureAwait(false),
                ["device_groups", "mgmt"] => DeviceGroupCommand(words),
                ["device_groups", string group, "devices", "mgmt"] => DeviceGroupDevicesCommand(group, words),
                ["device_groups", string group, "target_groups", "mgmt"] => TargetGroupCommand(group, words),
                ["device_groups", string group, "target_groups", string targetGroup, "mgmt"] => TargetGroupTargetsCommand(group, targetGroup, words),
                ["targets", string driver, string target, "luns", "mgmt"] => LunCommand(driver, target, group: null, words),
                ["targets", string driver, string target, "ini_groups", "mgmt"] => GroupCommand(driver, target, words),
                ["targets", string driver, string target, "ini_groups", string group, "luns", "mgmt"] => LunCommand(driver, target, group, words),
                ["targets", string driver, string target, "ini_groups", string group, "initiators", "mgmt"] => InitiatorCommand(driver, target, group, words),
                _ => ManagementResult.Error(ENOENT, $"{path}: no such management file"),
            };
        }
        catch (ArgumentException ex)
        {
            return ManagementResult.Error(EINVAL, ex.Message);
        }
        catch (InvalidOperationException ex)
        {
            return ManagementResult.Error(EBUSY, ex.Message);
        }
    }

    // handlers/<handler>/mgmt: add_device NAME [p=v; ...] | del_device NAME
    private async ValueTask<ManagementResult> HandlerCommandAsync(string handler, string[] words, string line)
    {
        if (!engine.Handlers.ContainsKey(handler))
        {
            return ManagementResult.Error(ENOENT, $"handlers/{handler}: no such handler");
        }

        switch (words)
        {
            case ["add_device", string name, ..]:
            {
                if (engine.FindDevice(name) is not null)
                {
                    return ManagementResult.Error(EEXIST, $"device {name} already exists");
                }

                // The parameters are everything after the name: "p1=v1; p2=v2".
                int start = line.IndexOf(name, line.IndexOf("add_device", StringComparison.Ordinal) + 10, StringComparison.Ordinal) + name.Length;
                engine.AddDevice(handler, name, ParseParameters(line[start..]));
                return ManagementResult.Ok;
            }

            case ["del_device", string name]:
                return await engine.RemoveDeviceAsync(name).ConfigureAwait(false)
                    ? ManagementResult.Ok
                    : ManagementResult.Error(ENOENT, $"device {name} does not exist");
            default:
                return ManagementResult.Error(EINVAL, $"handlers/{handler}/mgmt: unknown command '{words[0]}' (add_device NAME [p=v; ...], del_device NAME)");
        }
    }

    // targets/<driver>/mgmt: add_target NAME [p=v; ...] | del_target NAME | add_attribute A V | del_attribute A V
    // | add_target_attribute TARGET A V | del_target_attribute TARGET A V
    private async ValueTask<ManagementResult> DriverCommandAsync(string driverName, string[] words, string line)
    {
        if (!engine.Drivers.TryGetValue(driverName, out ITargetDriver? driver))
        {
            return ManagementResult.Error(ENOENT, $"targets/{driverName}: no such target driver");
        }

        switch (words)
        {
            case ["add_target", string name, ..]:
            {
                if (engine.FindTarget(driverName, name) is not null)
                {
                    return ManagementResult.Error(EEXIST, $"target {name} of {driverName} already exists");
                }

                Dictionary<string, string> parameters = ParseParameters(RestOfLine(line, 2));
                ScsiTarget target = engine.AddTarget(driver, name);

                // As in SCST, a target made here starts disabled: it is enabled once its LUNs and groups are in place.
                target.Enabled = false;
                foreach (KeyValuePair<string, string> p in parameters)
                {
                    ManagementResult set = SetTargetAttribute(target, p.Key, p.Value, add: true);
                    if (!set.Succeeded)
                    {
                        await engine.RemoveTargetAsync(target).ConfigureAwait(false);
                        return set;
                    }
                }

                return ManagementResult.Ok;
            }

            case ["del_target", string name]:
                return engine.FindTarget(driverName, name) is { } removed && await engine.RemoveTargetAsync(removed).ConfigureAwait(false)
                    ? ManagementResult.Ok
                    : ManagementResult.Error(ENOENT, $"target {name} of {driverName} does not exist");
            case ["add_attribute" or "del_attribute", string attribute, _, ..]:
                return ChangeValues(ManagementTree.DriverAttributes(driver), $"driver {driverName}", attribute, RestOfLine(line, 2), words[0] == "add_attribute");
            case ["add_target_attribute" or "del_target_attribute", string name, string attribute, _, ..]:
                return engine.FindTarget(driverName, name) is { } named
                    ? ChangeValues(ManagementTree.TargetAttributes(named), $"target {name}", attribute, RestOfLine(line, 3), words[0] == "add_target_attribute")
                    : ManagementResult.Error(ENOENT, $"target {name} of {driverName} does not exist");
            default:
                return ManagementResult.Error(EINVAL, $"targets/{driverName}/mgmt: unknown command '{words[0]}' (add_target NAME [p=v; ...], del_target NAME, " +
                    "add_attribute A V, del_attribute A V, add_target_attribute TARGET A V, del_target_attribute TARGET A V)");
        }
    }

    /// <summary>Sets a target's attribute by name: a single value is written; a multi-valued one gains (or loses) a value.</summary>
    internal static ManagementResult SetTargetAttribute(ScsiTarget target, string name, string value, bool add) =>
        SetAttribute(ManagementTree.TargetAttributes(target), $"target {target.Name}", name, value, add);

    /// <summary>Sets an attribute by name among <paramref name="attributes"/>.</summary>
    internal static ManagementResult SetAttribute(IEnumerable<ManagementAttribute> attributes, string owner, string name, string value, bool add)
    {
        ManagementAttribute? attribute = attributes.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.Ordinal));
        if (attribute is null)
        {
            return ManagementResult.Error(ENOENT, $"{owner} has no attribute {name}");
        }

        try
        {
            if (attribute.IsMultiValued)
            {
                Action<string>? change = add ? attribute.AddValue : attribute.RemoveValue;
                if (change is null)
                {
                    return ManagementResult.Error(EINVAL, $"{owner}: attribute {name} is read-only");
                }

                change(value);
            }
            else if (attribute.Write is { } write)
            {
                write(value);
            }
            else
            {
                return ManagementResult.Error(EINVAL, $"{owner}: attribute {name} is read-only");
            }

            return ManagementResult.Ok;
        }
        catch (ArgumentException ex)
        {
            return ManagementResult.Error(EINVAL, $"{owner}: {ex.Message}");
        }
        catch (InvalidOperationException ex)
        {
            return ManagementResult.Error(EBUSY, $"{owner}: {ex.Message}");
        }
    }

    private static ManagementResult ChangeValues(IEnumerable<ManagementAttribute> attributes, string owner, string name, string value, bool add)
    {
        ManagementAttribute? attribute = attributes.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.Ordinal));
        return attribute is { IsMultiValued: false }
            ? ManagementResult.Error(EINVAL, $"{owner}: attribute {name} holds one value; write it to its file")
            : SetAttribute(attributes, owner, name, value, add);
    }

    // device_groups/mgmt: create|add GROUP | del GROUP
    private ManagementResult DeviceGroupCommand(string[] words)
    {
        switch (words)
        {
            case ["create" or "add", string name]:
                engine.CreateDeviceGroup(name);
                return ManagementResult.Ok;
            case ["del", string name]:
                return engine.RemoveDeviceGroup(name) ? ManagementResult.Ok : ManagementResult.Error(ENOENT, $"device group {name} does not exist");
            default:
                return ManagementResult.Error(EINVAL, $"device_groups/mgmt: unknown command '{string.Join(' ', words)}' (create GROUP, del GROUP)");
        }
    }

    // device_groups/<dg>/devices/mgmt: add DEVICE | del DEVICE
    private ManagementResult DeviceGroupDevicesCommand(string groupName, string[] words)
    {
        if (engine.FindDeviceGroup(groupName) is not { } group)
        {
            return ManagementResult.Error(ENOENT, $"device group {groupName} does not exist");
        }

        switch (words)
        {
            case ["add", string device]:
                group.AddDevice(device);
                return ManagementResult.Ok;
            case ["del", string device]:
                return group.RemoveDevice(device) ? ManagementResult.Ok : ManagementResult.Error(ENOENT, $"device {device} is not in device group {groupName}");
            default:
                return ManagementResult.Error(EINVAL, $"devices/mgmt: unknown command '{string.Join(' ', words)}' (add DEVICE, del DEVICE)");
        }
    }

    // device_groups/<dg>/target_groups/mgmt: create|add GROUP | del GROUP
    private ManagementResult TargetGroupCommand(string groupName, string[] words)
    {
        if (engine.FindDeviceGroup(groupName) is not { } group)
        {
            return ManagementResult.Error(ENOENT, $"device group {groupName} does not exist");
        }

        switch (words)
        {
            case ["create" or "add", string name]:
                group.CreateTargetGroup(name);
                return ManagementResult.Ok;
            case ["del", string name]:
                return group.RemoveTargetGroup(name) ? ManagementResult.Ok : ManagementResult.Error(ENOENT, $"target group {name} of {groupName} does not exist");
            default:
                return ManagementResult.Error(EINVAL, $"target_groups/mgmt: unknown command '{string.Join(' ', words)}' (create GROUP, del GROUP)");
        }
    }

    // device_groups/<dg>/target_groups/<tg>/mgmt: add TARGET | del TARGET
    private ManagementResult TargetGroupTargetsCommand(string groupName, string targetGroupName, string[] words)
    {
        if (engine.FindDeviceGroup(groupName)?.FindTargetGroup(targetGroupName) is not { } targetGroup)
        {
            return ManagementResult.Error(ENOENT, $"target group {targetGroupName} of device group {groupName} does not exist");
        }

        switch (words)
        {
            case ["add", string target]:
                targetGroup.AddTarget(target);
                return ManagementResult.Ok;
            case ["del", string target]:
                return targetGroup.RemoveTarget(target) ? ManagementResult.Ok : ManagementResult.Error(ENOENT, $"target {target} is not in target group {targetGroupName}");
            default:
                return ManagementResult.Error(EINVAL, $"target group mgmt: unknown command '{string.Join(' ', words)}' (add TARGET, del TARGET)");
        }
    }

    // The text after the first `skip` words of a line, trimmed, without surrounding double quotes.
    private static string RestOfLine(string line, int skip)
    {
        int i = 0;
        for (int w = 0; w < skip; w++)
        {
            while (i < line.Length && char.IsWhiteSpace(line[i]))
            {
                i++;
            }

            while (i < line.Length && !char.IsWhiteSpace(line[i]))
            {
                i++;
            }
        }

        string rest = line[i..].Trim();
        return rest.Length >= 2 && rest[0] == '"' && rest[^1] == '"' ? rest[1..^1] : rest;
    }

    // targets/<driver>/<target>/luns/mgmt and targets/<driver>/<target>/ini_groups/<group>/luns/mgmt:
    // add VNAME LUN [read_only=1] | replace ... | replace_no_ua ... | del LUN | clear
    private ManagementResult LunCommand(string driver, string targetName, string? group, string[] words)
    {
        ScsiTarget? target = engine.FindTarget(driver, targetName);
        if (target is null)
        {
            return ManagementResult.Error(ENOENT, $"targets/{driver}/{targetName}: no such target");
        }

        LunMap map = target.Luns;
        string owner = targetName;
        if (group is not null)
        {
            if (target.FindGroup(group) is not { } found)
            {
                return ManagementResult.Error(ENOENT, $"targets/{driver}/{targetName}/ini_groups/{group}: no such group");
            }

            map = found.Luns;
            owner = $"group {group} of {targetName}";
        }

        switch (words)
        {
            case ["add" or "replace" or "replace_no_ua", string device, string lunText, .. string[] options]:
            {
                if (!TryParseLun(lunText, out int lun))
                {
                    return ManagementResult.Error(EINVAL, $"'{lunText}' is not a LUN number (0 to {LunMap.MaxLun})");
                }

                bool readOnly = false;
                foreach (KeyValuePair<string, string> o in ParseParameters(string.Join(' ', options)))
                {
                    if (o.Key != "read_only" || o.Value is not ("0" or "1"))
                    {
                        return ManagementResult.Error(EINVAL, $"unknown LUN parameter '{o.Key}={o.Value}' (read_only=0|1)");
                    }

                    readOnly = o.Value == "1";
                }

                ScsiDevice? found = engine.FindDevice(device);
                if (found is null)
                {
                    return ManagementResult.Error(ENOENT, $"device {device} does not exist");
                }

                LunMapping? existing = map.Find(lun);
                if (words[0] == "add" && existing is not null)
                {
                    return ManagementResult.Error(EEXIST, $"LUN {lun} of {owner} is already mapped (to {existing.Device.Name})");
                }

                if (existing is not null)
                {
                    map.Replace(lun, found, readOnly);
                }
                else
                {
                    map.Add(lun, found, readOnly);
                }

                if (existing is not null && words[0] == "replace")
                {
                    // SCST's replace: the initiators that saw the LUN learn that what answers there changed.
                    foreach (ScsiSession session in target.Sessions)
                    {
                        if (session.Luns == map)
                        {
                            session.EstablishUnitAttention(lun, SenseCode.InquiryDataChanged);
                        }
                    }
                }

                return ManagementResult.Ok;
            }

            case ["del", string lunText]:
                return TryParseLun(lunText, out int removed) && map.Remove(removed)
                    ? ManagementResult.Ok
                    : ManagementResult.Error(ENOENT, $"LUN {lunText} of {owner} is not mapped");
            case ["clear"]:
                foreach (LunMapping m in map.Luns)
                {
                    map.Remove(m.Lun);
                }

                return ManagementResult.Ok;
            default:
                return ManagementResult.Error(EINVAL, $"luns/mgmt: unknown command '{string.Join(' ', words)}' (add DEVICE LUN [read_only=1], replace, replace_no_ua, del LUN, clear)");
        }
    }

    // targets/<driver>/<target>/ini_groups/mgmt: create GROUP | del GROUP
    private ManagementResult GroupCommand(string driver, string targetName, string[] words)
    {
        ScsiTarget? target = engine.FindTarget(driver, targetName);
        if (target is null)
        {
            return ManagementResult.Error(ENOENT, $"targets/{driver}/{targetName}: no such target");
        }

        switch (words)
        {
            case ["create", string name]:
                if (target.FindGroup(name) is not null)
                {
                    return ManagementResult.Error(EEXIST, $"group {name} of {targetName} already exists");
                }

                target.CreateGroup(name);
                return ManagementResult.Ok;
            case ["del", string name]:
                // A group that sessions see answers EBUSY (InvalidOperationException), as in SCST.
                return target.RemoveGroup(name)
                    ? ManagementResult.Ok
                    : ManagementResult.Error(ENOENT, $"group {name} of {targetName} does not exist");
            default:
                return ManagementResult.Error(EINVAL, $"ini_groups/mgmt: unknown command '{string.Join(' ', words)}' (create GROUP, del GROUP)");
        }
    }

    // targets/<driver>/<target>/ini_groups/<group>/initiators/mgmt: add PATTERN | del PATTERN | move PATTERN DEST_GROUP | clear
    private ManagementResult InitiatorCommand(string driver, string targetName, string groupName, string[] words)
    {
        ScsiTarget? target = engine.FindTarget(driver, targetName);
        if (target is null)
        {
            return ManagementResult.Error(ENOENT, $"targets/{driver}/{targetName}: no such target");
        }

        if (target.FindGroup(groupName) is not { } group)
        {
            return ManagementResult.Error(ENOENT, $"targets/{driver}/{targetName}/ini_groups/{groupName}: no such group");
        }

        switch (words)
        {
            case ["add", string pattern]:
                return group.AddInitiator(pattern)
                    ? ManagementResult.Ok
                    : ManagementResult.Error(EEXIST, $"initiator '{pattern}' is already in group {groupName}");
            case ["del", string pattern]:
                return group.RemoveInitiator(pattern)
                    ? ManagementResult.Ok
                    : ManagementResult.Error(ENOENT, $"initiator '{pattern}' is not in group {groupName}");
            case ["move", string pattern, string destinationName]:
            {
                if (!group.Initiators.Contains(pattern))
                {
                    return ManagementResult.Error(ENOENT, $"initiator '{pattern}' is not in group {groupName}");
                }

                if (target.FindGroup(destinationName) is not { } destination)
                {
                    return ManagementResult.Error(ENOENT, $"group {destinationName} of {targetName} does not exist");
                }

                if (destination.Initiators.Contains(pattern))
                {
                    return ManagementResult.Error(EEXIST, $"initiator '{pattern}' is already in group {destinationName}");
                }

                return group.MoveInitiator(pattern, destination)
                    ? ManagementResult.Ok
                    : ManagementResult.Error(ENOENT, $"initiator '{pattern}' is not in group {groupName}");
            }

            case ["clear"]:
                group.ClearInitiators();
                return ManagementResult.Ok;
            default:
                return ManagementResult.Error(EINVAL, $"initiators/mgmt: unknown command '{string.Join(' ', words)}' (add PATTERN, del PATTERN, move PATTERN DEST_GROUP, clear)");
        }
    }

    private static bool TryParseLun(string text, out int lun) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out lun) && lun <= LunMap.MaxLun;

    // SCST's parameter syntax: "name=value" pairs separated by ';' (spaces around them ignored).
    private static Dictionary<string, string> ParseParameters(string text)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string pair in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ArgumentException($"parameter '{pair}' is not name=value");
            }

            parameters[pair[..eq].Trim()] = pair[(eq + 1)..].Trim();
        }

        return parameters;
    }
}

/// <summary>
/// The outcome of a management request: 0 with the text read (empty for a write), or a negative errno and a message
/// that says what failed and why.
/// </summary>
/// <param name="Status">0 on success, else a negative errno value (as SCST's <c>last_sysfs_mgmt_res</c>).</param>
/// <param name="Message">On success the text the request returns (empty for a write); otherwise what failed and why.</param>
public readonly record struct ManagementResult(int Status, string Message)
{
    /// <summary>Success without text.</summary>
    public static ManagementResult Ok => new(0, string.Empty);

    /// <summary>Success with text.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The result.</returns>
    public static ManagementResult Text(string text) => new(0, text);

    /// <summary>Whether the command succeeded.</summary>
    public bool Succeeded => Status == 0;

    /// <summary>A failure.</summary>
    /// <param name="errno">The positive errno value.</param>
    /// <param name="message">What failed and why.</param>
    /// <returns>The result.</returns>
    public static ManagementResult Error(int errno, string message) => new(-errno, message);
}
