// Licensed under the Apache License, Version 2.0.

using System.CommandLine;

namespace Scst.Samples.Admin.Commands;

/// <summary>
/// ALUA: <c>device-group add|remove</c>, <c>device-group device add|remove</c>, <c>target-group add|remove</c>,
/// <c>target-group target add|remove</c> and <c>target-group set</c>, on the mgmt files and attributes under
/// <c>device_groups/</c>.
/// </summary>
internal static class AluaCommands
{
    public static Command CreateDeviceGroup() => CommandExtensions.Group(
        "device-group",
        "Create or remove ALUA device groups, and add or remove their devices",
        DeviceGroup(true),
        DeviceGroup(false),
        CommandExtensions.Group("device", "Add or remove a device of a device group", Device(true), Device(false)));

    public static Command CreateTargetGroup() => CommandExtensions.Group(
        "target-group",
        "Create or remove the target groups of a device group, add or remove their targets, set their attributes",
        TargetGroup(true),
        TargetGroup(false),
        CommandExtensions.Group("target", "Add or remove a target of a target group", Target(true), Target(false)),
        Set());

    private static Argument<string> DeviceGroupName() => new("device-group") { Description = "The device group" };

    private static Argument<string> TargetGroupName() => new("target-group") { Description = "The target group" };

    private static Command DeviceGroup(bool add)
    {
        Argument<string> dg = DeviceGroupName();
        string verb = add ? "add" : "remove";
        return new Command(verb, $"device_groups/mgmt '{(add ? "create" : "del")} DG'") { dg }
            .WithAdminAction(async (parse, admin, ct) =>
            {
                string name = parse.GetRequiredValue(dg);
                await admin.WriteAsync("device_groups/mgmt", $"{(add ? "create" : "del")} {name}", $"cannot {verb} device group {name}", ct);
                Console.WriteLine($"Device group {name} {(add ? "added" : "removed")}.");
            });
    }

    private static Command Device(bool add)
    {
        Argument<string> dg = DeviceGroupName();
        var device = new Argument<string>("device") { Description = "The device" };
        string verb = add ? "add" : "remove";
        return new Command(verb, $"device_groups/DG/devices/mgmt '{(add ? "add" : "del")} DEVICE'") { dg, device }
            .WithAdminAction(async (parse, admin, ct) =>
            {
                string name = parse.GetRequiredValue(dg);
                string deviceName = parse.GetRequiredValue(device);
                await admin.WriteAsync($"device_groups/{name}/devices/mgmt", $"{(add ? "add" : "del")} {deviceName}", $"cannot {verb} device {deviceName} of device group {name}", ct);
                Console.WriteLine($"Device {deviceName} {(add ? "added to" : "removed from")} device group {name}.");
            });
    }

    private static Command TargetGroup(bool add)
    {
        Argument<string> dg = DeviceGroupName();
        Argument<string> tg = TargetGroupName();
        string verb = add ? "add" : "remove";
        return new Command(verb, $"device_groups/DG/target_groups/mgmt '{(add ? "create" : "del")} TG'") { dg, tg }
            .WithAdminAction(async (parse, admin, ct) =>
            {
                string name = parse.GetRequiredValue(dg);
                string group = parse.GetRequiredValue(tg);
                await admin.WriteAsync($"device_groups/{name}/target_groups/mgmt", $"{(add ? "create" : "del")} {group}", $"cannot {verb} target group {group} of device group {name}", ct);
                Console.WriteLine($"Target group {group} of device group {name} {(add ? "added" : "removed")}.");
            });
    }

    private static Command Target(bool add)
    {
        Argument<string> dg = DeviceGroupName();
        Argument<string> tg = TargetGroupName();
        var target = new Argument<string>("target") { Description = "The target (of this node, or of another one)" };
        string verb = add ? "add" : "remove";
        return new Command(verb, $"device_groups/DG/target_groups/TG/mgmt '{(add ? "add" : "del")} TARGET'") { dg, tg, target }
            .WithAdminAction(async (parse, admin, ct) =>
            {
                string name = parse.GetRequiredValue(dg);
                string group = parse.GetRequiredValue(tg);
                string targetName = parse.GetRequiredValue(target);
                await admin.WriteAsync(
                    $"device_groups/{name}/target_groups/{group}/mgmt",
                    $"{(add ? "add" : "del")} {targetName}",
                    $"cannot {verb} target {targetName} of target group {group}",
                    ct);
                Console.WriteLine($"Target {targetName} {(add ? "added to" : "removed from")} target group {group} of device group {name}.");
            });
    }

    private static Command Set()
    {
        Argument<string> dg = DeviceGroupName();
        Argument<string> tg = TargetGroupName();
        var attribute = new Argument<string>("attribute") { Description = "group_id, preferred or state" };
        var value = new Argument<string>("value") { Description = "The value (state: active, nonoptimized, standby, unavailable, lba_dependent, offline, transitioning)" };
        return new Command("set", "Write an attribute of a target group: device_groups/DG/target_groups/TG/ATTRIBUTE") { dg, tg, attribute, value }
            .WithAdminAction(async (parse, admin, ct) =>
            {
                string group = parse.GetRequiredValue(tg);
                string name = parse.GetRequiredValue(attribute);
                string text = parse.GetRequiredValue(value);
                await admin.WriteAsync($"device_groups/{parse.GetRequiredValue(dg)}/target_groups/{group}/{name}", text, $"cannot set {name} of target group {group}", ct);
                Console.WriteLine($"{name} of target group {group} set to {text}.");
            });
    }
}
