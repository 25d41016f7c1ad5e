// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Text;
using Scst.Core.Alua;

namespace Scst.Core.Management;

/// <summary>
/// The management tree of the core, laid out as SCST's sysfs tree under <c>/sys/kernel/scst_tgt</c>: directories,
/// attribute files and <c>mgmt</c> files, addressed by paths relative to the root (<c>targets/iscsi/T/enabled</c>).
/// The tree is a view of the running core, built on each request: what it shows is what runs.
/// </summary>
/// <remarks>
/// <code>
/// version  setup_id
/// handlers/&lt;handler&gt;/ {mgmt, type, &lt;device&gt;/ (the device's directory)}
/// devices/&lt;device&gt;/ {type, handler, creation parameters, the device's attributes}
/// targets/&lt;driver&gt;/ {mgmt, enabled, driver attributes,
///    &lt;target&gt;/ {enabled, rel_tgt_id, driver's target attributes,
///       luns/ {mgmt, &lt;lun&gt;/ {device, read_only}},
///       ini_groups/ {mgmt, &lt;group&gt;/ {luns/..., initiators/ {mgmt, &lt;pattern&gt;}}},
///       sessions/ &lt;initiator&gt;[_n]/ {initiator_name, active_commands, commands, read/write/none_cmd_count, read/write_io_count_kb, luns,
///          the driver's session files and directories}}}
/// device_groups/ {mgmt, &lt;dg&gt;/ {devices/ {mgmt, &lt;device&gt;},
///    target_groups/ {mgmt, &lt;tg&gt;/ {mgmt, group_id, preferred, state, &lt;target&gt;/ {rel_tgt_id}}}}}
/// </code>
/// Reading an attribute gives its value and, for a key attribute, a last line <c>[key]</c>, as SCST does; reading a
/// <c>mgmt</c> file gives the commands it takes; a directory is listed, not read.
/// </remarks>
public sealed class ManagementTree
{
    private const int EINVAL = 22;
    private const int ENOENT = 2;
    private const int EISDIR = 21;
    private const int ENOTDIR = 20;
    private const int EACCES = 13;
    private const int EBUSY = 16;

    private readonly ScstEngine _engine;
    private readonly ManagementCommands _commands;

    /// <summary>Creates the tree of a core.</summary>
    /// <param name="engine">The core.</param>
    public ManagementTree(ScstEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _engine = engine;
        _commands = new ManagementCommands(engine);
    }

    /// <summary>Reads a file: an attribute's value (with <c>[key]</c> on a last line for a key attribute) or a <c>mgmt</c> file's help.</summary>
    /// <param name="path">The file's path relative to the root.</param>
    /// <returns>The text, or the error.</returns>
    public ManagementResult Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Resolve(path, out Node? node) switch
        {
            { Succeeded: false } error => error,
            _ => node switch
            {
                AttributeNode a => ManagementResult.Text(ReadAttribute(a)),
                MgmtNode m => ManagementResult.Text(m.Help + "\n"),
                _ => ManagementResult.Error(EISDIR, $"{path}: is a directory"),
            },
        };
    }

    /// <summary>Lists a directory: one entry per line, directories with a trailing '/'.</summary>
    /// <param name="path">The directory's path relative to the root; empty for the root.</param>
    /// <returns>The listing, or the error.</returns>
    public ManagementResult List(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        ManagementResult resolved = Resolve(path, out Node? node);
        if (!resolved.Succeeded)
        {
            return resolved;
        }

        if (node is not DirectoryNode directory)
        {
            return ManagementResult.Error(ENOTDIR, $"{path}: not a directory");
        }

        var text = new StringBuilder();
        foreach (Node entry in directory.Entries())
        {
            text.Append(entry.Name).Append(entry is DirectoryNode ? "/\n" : "\n");
        }

        return ManagementResult.Text(text.ToString());
    }

    /// <summary>
    /// Writes a file: a command line to a <c>mgmt</c> file (see <see cref="ManagementCommands"/>), or a new value to a
    /// writable attribute. Nothing changes when the write fails.
    /// </summary>
    /// <param name="path">The file's path relative to the root.</param>
    /// <param name="text">The text written (a trailing newline is ignored).</param>
    /// <returns>The outcome.</returns>
    public async ValueTask<ManagementResult> WriteAsync(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(text);
        text = text.TrimEnd('\n', '\r');
        ManagementResult resolved = Resolve(path, out Node? node);
        if (!resolved.Succeeded)
        {
            return resolved;
        }

        switch (node)
        {
            case MgmtNode:
                return await _commands.ExecuteAsync(path, text).ConfigureAwait(false);
            case AttributeNode { Attribute.Write: { } write } a when a.Index < 0:
                try
                {
                    write(text.Trim());
                    return ManagementResult.Ok;
                }
                catch (ArgumentException ex)
                {
                    return ManagementResult.Error(EINVAL, $"{path}: {ex.Message}");
                }
                catch (InvalidOperationException ex)
                {
                    return ManagementResult.Error(EBUSY, $"{path}: {ex.Message}");
                }

            case AttributeNode a:
                return ManagementResult.Error(EACCES, a.Attribute.IsMultiValued
                    ? $"{path}: a value of a multi-valued attribute; use the mgmt file's add_..._attribute and del_..._attribute"
                    : $"{path}: read-only attribute");
            default:
                return ManagementResult.Error(EISDIR, $"{path}: is a directory");
        }
    }

    /// <summary>
    /// Whether a write to <paramref name="path"/> may carry a secret, so that its text must not be logged: a write to a
    /// secret attribute, a driver's <c>add_attribute</c> / <c>add_target_attribute</c> (and their <c>del_</c> forms) of
    /// one or of a name that is no known attribute, any <c>add_target</c> with parameters, and a write to a path that
    /// names nothing (a mistyped target or driver name in front of <c>IncomingUser</c>, or a misspelt attribute, says
    /// nothing about what the text holds).
    /// </summary>
    /// <param name="path">The file's path.</param>
    /// <param name="text">The text written.</param>
    /// <returns>True when the text must be kept out of logs.</returns>
    public bool IsSecretWrite(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(text);
        if (!Resolve(path, out Node? node).Succeeded || node is AttributeNode { Attribute.IsSecret: true })
        {
            return true;
        }

        if (path.Trim('/').Split('/') is not ["targets", string driverName, "mgmt"] || !_engine.Drivers.TryGetValue(driverName, out ITargetDriver? driver))
        {
            return false;
        }

        // Only an attribute known not to be secret lets its value be logged: a misspelt name may still hold a password.
        static bool MayBeSecret(IEnumerable<ManagementAttribute> attributes, string name) =>
            !attributes.Any(a => !a.IsSecret && string.Equals(a.Name, name, StringComparison.Ordinal));
        return text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries) switch
        {
            ["add_target", _, _, ..] => true,
            ["add_attribute" or "del_attribute", string name, ..] => MayBeSecret(DriverAttributes(driver), name),
            ["add_target_attribute" or "del_target_attribute", string target, string name, ..] =>
                _engine.FindTarget(driverName, target) is not { } t || MayBeSecret(TargetAttributes(t), name),
            _ => false,
        };
    }

    private static string ReadAttribute(AttributeNode node)
    {
        ManagementAttribute a = node.Attribute;
        if (node.Index >= 0)
        {
            IReadOnlyList<string> values = a.ReadValues!();
            return node.Index < values.Count ? values[node.Index] + "\n[key]\n" : "\n";
        }

        string value = a.Value;
        return a.IsKey ? value + "\n[key]\n" : value + "\n";
    }

    private ManagementResult Resolve(string path, out Node? node)
    {
        node = Root();
        foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (node is not DirectoryNode directory)
            {
                node = null;
                return ManagementResult.Error(ENOTDIR, $"{path}: {part} is under a file");
            }

            node = directory.Entries().FirstOrDefault(e => string.Equals(e.Name, part, StringComparison.Ordinal));
            if (node is null)
            {
                return ManagementResult.Error(ENOENT, $"{path}: no such file or directory ({part})");
            }
        }

        return ManagementResult.Ok;
    }

    private DirectoryNode Root() => new(string.Empty, () =>
    [
        new AttributeNode("version", ManagementAttribute.ReadOnly("version", () => typeof(ScstEngine).Assembly.GetName().Version?.ToString(3) ?? "0")),
        new AttributeNode("setup_id", SetupIdAttribute()),
        new DirectoryNode("handlers", () => _engine.Handlers.Values.OrderBy(h => h.Name, StringComparer.Ordinal).Select(Handler)),
        new DirectoryNode("devices", () => _engine.Devices.OrderBy(d => d.Name, StringComparer.Ordinal).Select(Device)),
        new DirectoryNode("targets", () => _engine.Drivers.Values.OrderBy(d => d.Name, StringComparer.Ordinal).Select(Driver)),
        new DirectoryNode("device_groups", DeviceGroups),
    ]);

    private ManagementAttribute SetupIdAttribute() => new()
    {
        Name = "setup_id",
        Type = ManagementAttributeType.Integer,
        DefaultValue = "0x0",
        Read = () => "0x" + _engine.SetupId.ToString("x", CultureInfo.InvariantCulture),
        Write = text => _engine.SetupId = ParseUnsigned("setup_id", text),
    };

    private DirectoryNode Handler(IDeviceHandler handler) => new(handler.Name, () =>
    [
        new MgmtNode("mgmt", "Usage: echo \"add_device NAME [p1=v1; p2=v2; ...]\" >mgmt\n       echo \"del_device NAME\" >mgmt"),
        new AttributeNode("type", ManagementAttribute.ReadOnly("type", () => ((int)handler.DeviceType).ToString(CultureInfo.InvariantCulture), ManagementAttributeType.Integer)),
        .. _engine.Devices.Where(d => d.HandlerName == handler.Name).OrderBy(d => d.Name, StringComparer.Ordinal).Select(Device),
    ]);

    private DirectoryNode Device(ScsiDevice device) => new(device.Name, () => DeviceAttributes(device).Select(a => (Node)new AttributeNode(a.Name, a)));

    /// <summary>A device's attributes: type and handler, then its creation parameters, then its own (which win on a clash).</summary>
    internal static IEnumerable<ManagementAttribute> DeviceAttributes(ScsiDevice device)
    {
        var own = device.ManagementAttributes.ToDictionary(a => a.Name, StringComparer.Ordinal);
        yield return ManagementAttribute.ReadOnly("type", () => ((int)device.DeviceType).ToString(CultureInfo.InvariantCulture), ManagementAttributeType.Integer);
        yield return ManagementAttribute.ReadOnly("handler", () => device.HandlerName);
        foreach (KeyValuePair<string, string> p in device.CreationParameters.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            // An attribute of the device shows its live value (size in bytes where size_mb or 64M was given).
            if (own.Remove(p.Key, out ManagementAttribute? replaced))
            {
                yield return replaced.IsCreationParameter || replaced.IsWritable
                    ? replaced
                    : new ManagementAttribute { Name = replaced.Name, Type = replaced.Type, Read = replaced.Read, IsCreationParameter = true, DefaultValue = replaced.DefaultValue, KeyWhen = replaced.KeyWhen };
            }
            else
            {
                string value = p.Value;
                yield return new ManagementAttribute { Name = p.Key, Read = () => value, IsCreationParameter = true };
            }
        }

        foreach (ManagementAttribute a in device.ManagementAttributes)
        {
            if (own.ContainsKey(a.Name))
            {
                yield return a;
            }
        }
    }

    private DirectoryNode Driver(ITargetDriver driver) => new(driver.Name, () =>
    [
        new MgmtNode("mgmt",
            "Usage: echo \"add_target TARGET_NAME [p1=v1; ...]\" >mgmt\n       echo \"del_target TARGET_NAME\" >mgmt\n" +
            "       echo \"add_attribute ATTR VALUE\" >mgmt\n       echo \"del_attribute ATTR VALUE\" >mgmt\n" +
            "       echo \"add_target_attribute TARGET_NAME ATTR VALUE\" >mgmt\n       echo \"del_target_attribute TARGET_NAME ATTR VALUE\" >mgmt"),
        .. Attributes(DriverAttributes(driver)),
        .. _engine.Targets.Where(t => t.Driver == driver).Select(Target),
    ]);

    /// <summary>A driver's attributes: <c>enabled</c> (drivers here are always enabled), then the driver's own.</summary>
    internal static IEnumerable<ManagementAttribute> DriverAttributes(ITargetDriver driver) =>
    [
        new ManagementAttribute
        {
            Name = "enabled", Type = ManagementAttributeType.Boolean, DefaultValue = "0", Read = () => "1",
            Write = text =>
            {
                if (!ManagementAttribute.ParseBoolean("enabled", text))
                {
                    throw new InvalidOperationException($"driver {driver.Name} cannot be disabled here; disable its targets");
                }
            },
        },
        .. driver.GetManagementAttributes(null),
    ];

    /// <summary>A target's attributes: <c>enabled</c> and <c>rel_tgt_id</c>, then its driver's.</summary>
    internal static IEnumerable<ManagementAttribute> TargetAttributes(ScsiTarget target) =>
    [
        ManagementAttribute.Boolean("enabled", () => target.Enabled, v => target.Enabled = v, defaultValue: false),
        new ManagementAttribute
        {
            Name = "rel_tgt_id",
            Type = ManagementAttributeType.Integer,
            DefaultValue = "0",
            Read = () => target.RelativeTargetPortId.ToString(CultureInfo.InvariantCulture),
            Write = text =>
            {
                ulong id = ParseUnsigned("rel_tgt_id", text);
                target.RelativeTargetPortId = id is >= 1 and <= ushort.MaxValue ? (ushort)id : throw new ArgumentException($"rel_tgt_id must be 1 to 65535 (was {text.Trim()})");
            },
        },
        .. target.Driver.GetManagementAttributes(target),
    ];

    private DirectoryNode Target(ScsiTarget target) => new(target.Name, () =>
    [
        .. Attributes(TargetAttributes(target)),
        Luns(target.Luns),
        new DirectoryNode("ini_groups", () =>
        [
            new MgmtNode("mgmt", "Usage: echo \"create GROUP_NAME\" >mgmt\n       echo \"del GROUP_NAME\" >mgmt"),
            .. target.Groups.Select(Group),
        ]),
        new DirectoryNode("sessions", () => Sessions(target)),
    ]);

    private static DirectoryNode Group(SecurityGroup group) => new(group.Name, () =>
    [
        Luns(group.Luns),
        new DirectoryNode("initiators", () =>
        [
            new MgmtNode("mgmt", "Usage: echo \"add INITIATOR_NAME\" >mgmt\n       echo \"del INITIATOR_NAME\" >mgmt\n" +
                "       echo \"move INITIATOR_NAME DEST_GROUP_NAME\" >mgmt\n       echo \"clear\" >mgmt"),
            .. group.Initiators.Select(i => new AttributeNode(i, ManagementAttribute.ReadOnly(i, () => i))),
        ]),
    ]);

    private static DirectoryNode Luns(LunMap map) => new("luns", () =>
    [
        new MgmtNode("mgmt", "Usage: echo \"add VNAME LUN [read_only=1]\" >mgmt\n       echo \"del LUN\" >mgmt\n" +
            "       echo \"replace VNAME LUN [read_only=1]\" >mgmt\n       echo \"replace_no_ua VNAME LUN [read_only=1]\" >mgmt\n       echo \"clear\" >mgmt"),
        .. map.Luns.OrderBy(l => l.Lun).Select(l => new DirectoryNode(l.Lun.ToString(CultureInfo.InvariantCulture), () =>
        [
            new AttributeNode("device", ManagementAttribute.ReadOnly("device", () => l.Device.Name)),
            new AttributeNode("read_only", new ManagementAttribute
            {
                Name = "read_only", Type = ManagementAttributeType.Boolean, DefaultValue = "0", IsCreationParameter = true,
                Read = () => l.ReadOnly ? "1" : "0",
            }),
        ])),
    ]);

    private static IEnumerable<Node> Sessions(ScsiTarget target)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (ScsiSession session in target.Sessions)
        {
            string name = session.InitiatorName;
            int n = seen.TryGetValue(name, out int count) ? count : 0;
            seen[name] = n + 1;
            ScsiSession s = session;
            yield return new DirectoryNode(n == 0 ? name : $"{name}_{n}", () =>
            [
                new AttributeNode("initiator_name", ManagementAttribute.ReadOnly("initiator_name", () => s.InitiatorName)),
                new AttributeNode("active_commands", ManagementAttribute.ReadOnly("active_commands", () => s.CommandsInUse.ToString(CultureInfo.InvariantCulture), ManagementAttributeType.Integer)),
                Counter("commands", () => s.Statistics.Commands),
                Counter("read_cmd_count", () => s.Statistics.ReadCommands),
                Counter("write_cmd_count", () => s.Statistics.WriteCommands),
                Counter("none_cmd_count", () => s.Statistics.OtherCommands),
                Counter("read_io_count_kb", () => s.Statistics.ReadBytes >> 10),
                Counter("write_io_count_kb", () => s.Statistics.WriteBytes >> 10),
                new AttributeNode("luns", ManagementAttribute.ReadOnly("luns", () => string.Join(' ', s.Luns.Luns.Select(l => l.Lun).Order()))),
                .. Attributes(s.Transport.GetManagementAttributes()),
                .. s.Transport.GetManagementDirectories().Select(DriverDirectory),
            ]);
        }
    }

    private static DirectoryNode DriverDirectory(ManagementDirectory directory) =>
        new(directory.Name, () => [.. Attributes(directory.Attributes), .. directory.Directories.Select(DriverDirectory)]);

    private static AttributeNode Counter(string name, Func<long> read) =>
        new(name, ManagementAttribute.ReadOnly(name, () => read().ToString(CultureInfo.InvariantCulture), ManagementAttributeType.Integer));

    private IEnumerable<Node> DeviceGroups() =>
    [
        new MgmtNode("mgmt", "Usage: echo \"create GROUP_NAME\" >mgmt\n       echo \"del GROUP_NAME\" >mgmt"),
        .. _engine.DeviceGroups.Select(g => new DirectoryNode(g.Name, () =>
        [
            new DirectoryNode("devices", () =>
            [
                new MgmtNode("mgmt", "Usage: echo \"add DEVICE_NAME\" >mgmt\n       echo \"del DEVICE_NAME\" >mgmt"),
                .. g.Devices.Select(d => new AttributeNode(d, ManagementAttribute.ReadOnly(d, () => d))),
            ]),
            new DirectoryNode("target_groups", () =>
            [
                new MgmtNode("mgmt", "Usage: echo \"create GROUP_NAME\" >mgmt\n       echo \"del GROUP_NAME\" >mgmt"),
                .. g.TargetGroups.Select(TargetGroupNode),
            ]),
        ])),
    ];

    private static DirectoryNode TargetGroupNode(TargetGroup group) => new(group.Name, () =>
    [
        new MgmtNode("mgmt", "Usage: echo \"add TARGET_NAME\" >mgmt\n       echo \"del TARGET_NAME\" >mgmt"),
        .. Attributes(TargetGroupAttributes(group)),
        .. group.Targets.Select(m => new DirectoryNode(m.Name, () => Attributes([TargetGroupMemberAttribute(m)]))),
    ]);

    /// <summary>A target group's attributes: <c>group_id</c>, <c>preferred</c>, <c>state</c>.</summary>
    internal static IEnumerable<ManagementAttribute> TargetGroupAttributes(TargetGroup group) =>
    [
        new ManagementAttribute
        {
            Name = "group_id", Type = ManagementAttributeType.Integer, DefaultValue = "0",
            Read = () => group.GroupId.ToString(CultureInfo.InvariantCulture),
            Write = text =>
            {
                ulong id = ParseUnsigned("group_id", text);
                group.GroupId = id is >= 1 and <= ushort.MaxValue ? (int)id : throw new ArgumentException($"group_id must be 1 to 65535 (was {text.Trim()})");
            },
        },
        ManagementAttribute.Boolean("preferred", () => group.Preferred, v => group.Preferred = v, defaultValue: false),
        new ManagementAttribute
        {
            Name = "state", Type = ManagementAttributeType.Choice, Choices = TargetGroup.StateNames, DefaultValue = "active",
            Read = () => TargetGroup.StateName(group.State),
            Write = text => group.State = TargetGroup.TryParseState(text.Trim(), out AluaState state)
                ? state
                : throw new ArgumentException($"state must be one of {string.Join(", ", TargetGroup.StateNames)} (was '{text.Trim()}')"),
        },
    ];

    /// <summary>A target group member's <c>rel_tgt_id</c> (for a target of another node).</summary>
    internal static ManagementAttribute TargetGroupMemberAttribute(TargetGroupMember member) => new()
    {
        Name = "rel_tgt_id", Type = ManagementAttributeType.Integer, DefaultValue = "0",
        Read = () => member.RelativeTargetPortId.ToString(CultureInfo.InvariantCulture),
        Write = text =>
        {
            ulong id = ParseUnsigned("rel_tgt_id", text);
            member.RelativeTargetPortId = id <= ushort.MaxValue ? (int)id : throw new ArgumentException($"rel_tgt_id must be 0 to 65535 (was {text.Trim()})");
        },
    };

    // One file per attribute; a multi-valued one shows a file per value (NAME, NAME1, NAME2...).
    private static IEnumerable<Node> Attributes(IEnumerable<ManagementAttribute> attributes)
    {
        foreach (ManagementAttribute a in attributes)
        {
            if (a.ReadValues is { } values)
            {
                int count = values().Count;
                for (int i = 0; i < count; i++)
                {
                    yield return new AttributeNode(i == 0 ? a.Name : a.Name + i.ToString(CultureInfo.InvariantCulture), a, i);
                }
            }
            else
            {
                yield return new AttributeNode(a.Name, a);
            }
        }
    }

    /// <summary>Parses a decimal or 0x-prefixed hexadecimal unsigned number.</summary>
    internal static ulong ParseUnsigned(string name, string text)
    {
        string t = text.Trim();
        bool ok = t.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(t.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong value)
            : ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        return ok ? value : throw new ArgumentException($"{name}: '{t}' is not a number");
    }

    private abstract record Node(string Name);

    private sealed record DirectoryNode(string Name, Func<IEnumerable<Node>> Entries) : Node(Name);

    private sealed record AttributeNode(string Name, ManagementAttribute Attribute, int Index = -1) : Node(Name);

    private sealed record MgmtNode(string Name, string Help) : Node(Name);
}
