// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using System.Globalization;

namespace Scst.Samples.Admin.Commands;

/// <summary>
/// <c>lun add|remove|replace|clear</c>: the verbs of a LUN map's mgmt file, the target's own
/// (<c>targets/D/T/luns/mgmt</c>) or a security group's (<c>targets/D/T/ini_groups/G/luns/mgmt</c>).
/// </summary>
internal static class LunCommands
{
    public static Command Create() => CommandExtensions.Group("lun", "Map, unmap or replace the LUNs of a target or of one of its groups", Add(), Remove(), Replace(), Clear());

    private static Command Add()
    {
        var map = new MapOptions();
        var lun = Lun();
        var device = Device();
        var readOnly = ReadOnly();
        var command = new Command("add", "Map a device as a LUN: .../luns/mgmt 'add DEVICE LUN [read_only=1]'") { lun, device, readOnly };
        map.AddTo(command);
        return command.WithAdminAction(async (parse, admin, ct) =>
        {
            int n = parse.GetRequiredValue(lun);
            string deviceName = parse.GetRequiredValue(device);
            await map.WriteAsync(parse, admin, MapLine("add", deviceName, n, parse.GetValue(readOnly)), $"cannot add LUN {n}", ct);
            Console.WriteLine($"LUN {n} of {map.Owner(parse)} maps device {deviceName}{(parse.GetValue(readOnly) ? " read-only" : string.Empty)}.");
        });
    }

    private static Command Remove()
    {
        var map = new MapOptions();
        var lun = Lun();
        var command = new Command("remove", "Unmap a LUN: .../luns/mgmt 'del LUN'") { lun };
        map.AddTo(command);
        return command.WithAdminAction(async (parse, admin, ct) =>
        {
            int n = parse.GetRequiredValue(lun);
            await map.WriteAsync(parse, admin, string.Create(CultureInfo.InvariantCulture, $"del {n}"), $"cannot remove LUN {n}", ct);
            Console.WriteLine($"LUN {n} of {map.Owner(parse)} removed.");
        });
    }

    private static Command Replace()
    {
        var map = new MapOptions();
        var lun = Lun();
        var device = Device();
        var readOnly = ReadOnly();
        var noUa = new Option<bool>("--no-ua") { Description = "Do not tell the initiators (no INQUIRY DATA HAS CHANGED unit attention): replace_no_ua" };
        var command = new Command("replace", "Map another device at a LUN: .../luns/mgmt 'replace DEVICE LUN [read_only=1]' (or replace_no_ua)") { lun, device, readOnly, noUa };
        map.AddTo(command);
        return command.WithAdminAction(async (parse, admin, ct) =>
        {
            int n = parse.GetRequiredValue(lun);
            string deviceName = parse.GetRequiredValue(device);
            string verb = parse.GetValue(noUa) ? "replace_no_ua" : "replace";
            await map.WriteAsync(parse, admin, MapLine(verb, deviceName, n, parse.GetValue(readOnly)), $"cannot replace LUN {n}", ct);
            Console.WriteLine($"LUN {n} of {map.Owner(parse)} now maps device {deviceName}{(parse.GetValue(readOnly) ? " read-only" : string.Empty)}.");
        });
    }

    private static Command Clear()
    {
        var map = new MapOptions();
        var command = new Command("clear", "Unmap every LUN: .../luns/mgmt 'clear'");
        map.AddTo(command);
        return command.WithAdminAction(async (parse, admin, ct) =>
        {
            await map.WriteAsync(parse, admin, "clear", "cannot clear the LUNs", ct);
            Console.WriteLine($"Every LUN of {map.Owner(parse)} removed.");
        });
    }

    private static Argument<int> Lun() => new("lun") { Description = "The LUN number" };

    private static Option<string> Device() => new("--device") { Description = "The device to map", HelpName = "device", Required = true };

    private static Option<bool> ReadOnly() => new("--read-only") { Description = "Map it read-only (read_only=1)" };

    private static string MapLine(string verb, string device, int lun, bool readOnly) =>
        string.Create(CultureInfo.InvariantCulture, $"{verb} {device} {lun}{(readOnly ? " read_only=1" : string.Empty)}");

    // --driver, --target and the optional --group that name a LUN map.
    private sealed class MapOptions
    {
        private readonly Option<string> _driver = AdminOptions.Driver();
        private readonly Option<string> _target = AdminOptions.Target();
        private readonly Option<string> _group = AdminOptions.Group(required: false);

        public void AddTo(Command command)
        {
            command.Options.Add(_driver);
            command.Options.Add(_target);
            command.Options.Add(_group);
        }

        public string Owner(ParseResult parse) => AdminOptions.LunsOwner(parse.GetRequiredValue(_target), parse.GetValue(_group));

        public Task WriteAsync(ParseResult parse, AdminClient admin, string line, string what, CancellationToken cancellationToken)
        {
            string path = AdminOptions.LunsPath(parse.GetRequiredValue(_driver), parse.GetRequiredValue(_target), parse.GetValue(_group)) + "/mgmt";
            return admin.WriteAsync(path, line, $"{what} of {Owner(parse)}", cancellationToken);
        }
    }
}
