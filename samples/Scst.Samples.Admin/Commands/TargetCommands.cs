// Licensed under the Apache License, Version 2.0.

using System.CommandLine;

namespace Scst.Samples.Admin.Commands;

/// <summary>
/// <c>target add|remove|enable|disable</c> and <c>target-attribute add|remove</c>: a driver's <c>add_target</c>,
/// <c>del_target</c>, <c>add_target_attribute</c>, <c>del_target_attribute</c>, and a target's <c>enabled</c>.
/// </summary>
internal static class TargetCommands
{
    public static Command Create() => CommandExtensions.Group("target", "Create, remove, enable or disable targets", Add(), Remove(), Enable(true), Enable(false));

    public static Command CreateAttribute() => CommandExtensions.Group(
        "target-attribute",
        "Add or remove a value of a target's multi-valued attribute (IncomingUser, OutgoingUser, allowed_portal...)",
        Attribute(true),
        Attribute(false));

    private static Command Add()
    {
        var name = new Argument<string>("name") { Description = "The target's name" };
        Option<string> driver = AdminOptions.Driver();
        Option<string?> attributes = AdminOptions.Attributes();
        return new Command("add", "Create a target, disabled: targets/DRIVER/mgmt 'add_target NAME k=v; ...'") { name, driver, attributes }
            .WithAdminAction(async (parse, admin, ct) =>
            {
                string target = parse.GetRequiredValue(name);
                string driverName = parse.GetRequiredValue(driver);
                await admin.WriteAsync($"targets/{driverName}/mgmt", AdminOptions.WithAttributes($"add_target {target}", parse.GetValue(attributes)), $"cannot add target {target}", ct);
                Console.WriteLine($"Target {target} added to driver {driverName} (disabled).");
            });
    }

    private static Command Remove()
    {
        var name = new Argument<string>("name") { Description = "The target's name" };
        Option<string> driver = AdminOptions.Driver();
        return new Command("remove", "Remove a target and its sessions: targets/DRIVER/mgmt 'del_target NAME'") { name, driver }
            .WithAdminAction(async (parse, admin, ct) =>
            {
                string target = parse.GetRequiredValue(name);
                string driverName = parse.GetRequiredValue(driver);
                await admin.WriteAsync($"targets/{driverName}/mgmt", $"del_target {target}", $"cannot remove target {target}", ct);
                Console.WriteLine($"Target {target} removed from driver {driverName}.");
            });
    }

    private static Command Enable(bool enable)
    {
        var name = new Argument<string>("name") { Description = "The target's name" };
        Option<string> driver = AdminOptions.Driver();
        string verb = enable ? "enable" : "disable";
        return new Command(verb, $"{(enable ? "Enable" : "Disable")} a target: targets/DRIVER/NAME/enabled {(enable ? 1 : 0)}") { name, driver }
            .WithAdminAction(async (parse, admin, ct) =>
            {
                string target = parse.GetRequiredValue(name);
                string driverName = parse.GetRequiredValue(driver);
                await admin.WriteAsync($"targets/{driverName}/{target}/enabled", enable ? "1" : "0", $"cannot {verb} target {target}", ct);
                Console.WriteLine($"Target {target} {verb}d.");
            });
    }

    private static Command Attribute(bool add)
    {
        var name = new Argument<string>("name") { Description = "The target's name" };
        var attribute = new Argument<string>("attribute") { Description = "The attribute (IncomingUser...)" };
        var value = new Argument<string[]>("value") { Description = "The value; several words are joined with spaces (IncomingUser joe secret12345)", Arity = ArgumentArity.OneOrMore };
        Option<string> driver = AdminOptions.Driver();
        string verb = add ? "add" : "remove";
        return new Command(verb, $"targets/DRIVER/mgmt '{(add ? "add" : "del")}_target_attribute NAME ATTRIBUTE VALUE'") { name, attribute, value, driver }
            .WithAdminAction(async (parse, admin, ct) =>
            {
                string target = parse.GetRequiredValue(name);
                string attributeName = parse.GetRequiredValue(attribute);
                string text = string.Join(' ', parse.GetRequiredValue(value));
                await admin.WriteAsync(
                    $"targets/{parse.GetRequiredValue(driver)}/mgmt",
                    $"{(add ? "add" : "del")}_target_attribute {target} {attributeName} {text}",
                    $"cannot {verb} a value of {attributeName} of target {target}",
                    ct);

                // The value may be a secret (a CHAP password): it is not echoed.
                Console.WriteLine(add ? $"Value added to {attributeName} of target {target}." : $"Value removed from {attributeName} of target {target}.");
            });
    }
}
