// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using System.Globalization;

namespace Scst.Samples.Admin.Commands;

/// <summary>
/// <c>list handlers|devices|drivers|targets|groups|luns|sessions|device-groups</c>: the running state as tables, read
/// by walking the management tree (scstadmin's -list_handler, -list_device, -list_driver, -list_target, -list_group,
/// -list_sessions, -list_dgrp).
/// </summary>
internal static class ListCommands
{
    public static Command Create() => CommandExtensions.Group(
        "list",
        "Show the running state as tables",
        Handlers(),
        Devices(),
        Drivers(),
        Targets(),
        Groups(),
        Luns(),
        Sessions(),
        DeviceGroups());

    private static Command Handlers() => new Command("handlers", "The device handlers, their SCSI type and their devices")
        .WithAdminAction(async (_, admin, ct) =>
        {
            var table = new Table("HANDLER", "TYPE", "DEVICES");
            foreach (string handler in await admin.DirectoriesAsync("handlers", "cannot list the handlers", ct))
            {
                string path = $"handlers/{handler}";
                string type = await admin.ReadValueAsync($"{path}/type", $"cannot read the type of handler {handler}", ct);
                table.Add(handler, TypeName(type), string.Join(", ", await admin.DirectoriesAsync(path, $"cannot list handler {handler}", ct)));
            }

            table.Write(Console.Out, "No handlers.");
        });

    private static Command Devices() => new Command("devices", "The devices: handler, size, block size and backing file where there is one")
        .WithAdminAction(async (_, admin, ct) =>
        {
            var table = new Table("DEVICE", "HANDLER", "SIZE", "BLOCKSIZE", "FILENAME");
            foreach (string device in await admin.DirectoriesAsync("devices", "cannot list the devices", ct))
            {
                var attributes = new Attributes(admin, $"devices/{device}", $"device {device}");
                await attributes.LoadAsync(ct);
                table.Add(
                    device,
                    await attributes.GetAsync("handler", ct),
                    Table.Size(await attributes.GetAsync("size", ct)),
                    await attributes.GetAsync("blocksize", ct),
                    await attributes.GetAsync("filename", ct));
            }

            table.Write(Console.Out, "No devices.");
        });

    private static Command Drivers() => new Command("drivers", "The target drivers and how many targets each has")
        .WithAdminAction(async (_, admin, ct) =>
        {
            var table = new Table("DRIVER", "ENABLED", "TARGETS");
            foreach (string driver in await admin.DirectoriesAsync("targets", "cannot list the target drivers", ct))
            {
                var attributes = new Attributes(admin, $"targets/{driver}", $"driver {driver}");
                await attributes.LoadAsync(ct);
                table.Add(driver, Table.YesNo(await attributes.GetAsync("enabled", ct)), Count(attributes.Directories));
            }

            table.Write(Console.Out, "No target drivers.");
        });

    private static Command Targets()
    {
        Option<string> driver = AdminOptions.Driver(required: false);
        return new Command("targets", "The targets: driver, name, enabled, LUNs, security groups and sessions") { driver }
            .WithAdminAction(async (parse, admin, ct) =>
            {
                var table = new Table("DRIVER", "TARGET", "ENABLED", "LUNS", "GROUPS", "SESSIONS");
                foreach ((string driverName, string target) in await TargetsAsync(admin, parse.GetValue(driver), null, ct))
                {
                    string path = $"targets/{driverName}/{target}";
                    string what = $"cannot read target {target}";
                    table.Add(
                        driverName,
                        target,
                        Table.YesNo(await admin.ReadValueAsync($"{path}/enabled", what, ct)),
                        Count(await admin.DirectoriesAsync($"{path}/luns", what, ct)),
                        Count(await admin.DirectoriesAsync($"{path}/ini_groups", what, ct)),
                        Count(await admin.DirectoriesAsync($"{path}/sessions", what, ct)));
                }

                table.Write(Console.Out, "No targets.");
            });
    }

    private static Command Groups()
    {
        Option<string> driver = AdminOptions.Driver();
        Option<string> target = AdminOptions.Target();
        return new Command("groups", "The security groups of a target: their initiator patterns and LUNs") { driver, target }
            .WithAdminAction(async (parse, admin, ct) =>
            {
                string driverName = parse.GetRequiredValue(driver);
                string targetName = parse.GetRequiredValue(target);
                string path = $"targets/{driverName}/{targetName}/ini_groups";
                var table = new Table("GROUP", "INITIATORS", "LUNS");
                foreach (string group in await admin.DirectoriesAsync(path, $"cannot list the groups of target {targetName}", ct))
                {
                    string what = $"cannot read group {group} of target {targetName}";
                    IReadOnlyList<string> initiators = Files(await admin.ListAsync($"{path}/{group}/initiators", what, ct));
                    IEnumerable<string> luns = (await LunsAsync(admin, $"{path}/{group}/luns", what, ct))
                        .Select(l => $"{l.Lun}:{l.Device}{(l.ReadOnly ? " (ro)" : string.Empty)}");
                    table.Add(group, string.Join(", ", initiators), string.Join(", ", luns));
                }

                table.Write(Console.Out, $"Target {targetName} has no security groups.");
            });
    }

    private static Command Luns()
    {
        Option<string> driver = AdminOptions.Driver();
        Option<string> target = AdminOptions.Target();
        Option<string> group = AdminOptions.Group(required: false);
        return new Command("luns", "The LUNs of a target, or of one of its security groups") { driver, target, group }
            .WithAdminAction(async (parse, admin, ct) =>
            {
                string targetName = parse.GetRequiredValue(target);
                string? groupName = parse.GetValue(group);
                string owner = AdminOptions.LunsOwner(targetName, groupName);
                string path = AdminOptions.LunsPath(parse.GetRequiredValue(driver), targetName, groupName);
                var table = new Table("LUN", "DEVICE", "READ_ONLY");
                foreach (LunEntry lun in await LunsAsync(admin, path, $"cannot list the LUNs of {owner}", ct))
                {
                    table.Add(lun.Lun, lun.Device, lun.ReadOnly ? "yes" : "no");
                }

                table.Write(Console.Out, $"No LUNs in {owner}.");
            });
    }

    private static Command Sessions()
    {
        Option<string> driver = AdminOptions.Driver(required: false);
        Option<string> target = AdminOptions.Target(required: false);
        return new Command("sessions", "The sessions: initiator, commands in progress and the LUNs it sees") { driver, target }
            .WithAdminAction(async (parse, admin, ct) =>
            {
                var table = new Table("DRIVER", "TARGET", "SESSION", "INITIATOR", "ACTIVE", "LUNS");
                foreach ((string driverName, string targetName) in await TargetsAsync(admin, parse.GetValue(driver), parse.GetValue(target), ct))
                {
                    string path = $"targets/{driverName}/{targetName}/sessions";
                    foreach (string session in await admin.DirectoriesAsync(path, $"cannot list the sessions of target {targetName}", ct))
                    {
                        string what = $"cannot read session {session} of target {targetName}";
                        table.Add(
                            driverName,
                            targetName,
                            session,
                            await admin.ReadValueAsync($"{path}/{session}/initiator_name", what, ct),
                            await admin.ReadValueAsync($"{path}/{session}/active_commands", what, ct),
                            (await admin.ReadValueAsync($"{path}/{session}/luns", what, ct)).Replace(' ', ','));
                    }
                }

                table.Write(Console.Out, "No sessions.");
            });
    }

    private static Command DeviceGroups() => new Command("device-groups", "The ALUA device groups: their devices and target groups (one row per target group)")
        .WithAdminAction(async (_, admin, ct) =>
        {
            var table = new Table("DEVICE_GROUP", "DEVICES", "TARGET_GROUP", "GROUP_ID", "STATE", "PREFERRED", "TARGETS");
            foreach (string dg in await admin.DirectoriesAsync("device_groups", "cannot list the device groups", ct))
            {
                string what = $"cannot read device group {dg}";
                string devices = string.Join(", ", Files(await admin.ListAsync($"device_groups/{dg}/devices", what, ct)));
                IReadOnlyList<string> targetGroups = await admin.DirectoriesAsync($"device_groups/{dg}/target_groups", what, ct);
                if (targetGroups.Count == 0)
                {
                    table.Add(dg, devices, string.Empty, string.Empty, string.Empty, string.Empty, string.Empty);
                }

                foreach (string tg in targetGroups)
                {
                    var attributes = new Attributes(admin, $"device_groups/{dg}/target_groups/{tg}", $"target group {tg}");
                    await attributes.LoadAsync(ct);
                    table.Add(
                        dg,
                        devices,
                        tg,
                        await attributes.GetAsync("group_id", ct),
                        await attributes.GetAsync("state", ct),
                        Table.YesNo(await attributes.GetAsync("preferred", ct)),
                        string.Join(", ", attributes.Directories));
                }
            }

            table.Write(Console.Out, "No device groups.");
        });

    // The targets of one driver or of all, optionally only those named `target`.
    private static async Task<List<(string Driver, string Target)>> TargetsAsync(AdminClient admin, string? driver, string? target, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> drivers = driver is null ? await admin.DirectoriesAsync("targets", "cannot list the target drivers", cancellationToken) : [driver];
        var targets = new List<(string, string)>();
        foreach (string d in drivers)
        {
            foreach (string t in await admin.DirectoriesAsync($"targets/{d}", $"cannot list the targets of driver {d}", cancellationToken))
            {
                if (target is null || t == target)
                {
                    targets.Add((d, t));
                }
            }
        }

        return targets;
    }

    private static async Task<List<LunEntry>> LunsAsync(AdminClient admin, string path, string what, CancellationToken cancellationToken)
    {
        var luns = new List<LunEntry>();
        foreach (string lun in await admin.DirectoriesAsync(path, what, cancellationToken))
        {
            luns.Add(new LunEntry(
                lun,
                await admin.ReadValueAsync($"{path}/{lun}/device", what, cancellationToken),
                await admin.ReadValueAsync($"{path}/{lun}/read_only", what, cancellationToken) == "1"));
        }

        return luns;
    }

    // The files of a listing other than its mgmt file: the initiator patterns of a group, the devices of a device group.
    private static List<string> Files(IReadOnlyList<string> entries) => [.. entries.Where(e => !e.EndsWith('/') && e != "mgmt")];

    private static string Count(IEnumerable<string> entries) => entries.Count().ToString(CultureInfo.InvariantCulture);

    // SPC's peripheral device types that the handlers serve.
    private static string TypeName(string type) => type switch
    {
        "0" => "0 (disk)",
        "1" => "1 (tape)",
        "3" => "3 (processor)",
        "5" => "5 (cd/dvd)",
        "8" => "8 (changer)",
        "12" => "12 (raid)",
        "13" => "13 (enclosure)",
        _ => type,
    };

    private sealed record LunEntry(string Lun, string Device, bool ReadOnly);

    // The entries of one directory, so that only the attributes it has are read (a device without a backing file has no filename).
    private sealed class Attributes(AdminClient admin, string path, string owner)
    {
        private IReadOnlyList<string> _entries = [];

        public IEnumerable<string> Directories => _entries.Where(e => e.EndsWith('/')).Select(e => e[..^1]);

        public async Task LoadAsync(CancellationToken cancellationToken) =>
            _entries = await admin.ListAsync(path, $"cannot list {owner}", cancellationToken);

        public async Task<string> GetAsync(string name, CancellationToken cancellationToken) =>
            _entries.Contains(name) ? await admin.ReadValueAsync($"{path}/{name}", $"cannot read {name} of {owner}", cancellationToken) : string.Empty;
    }
}
