// Licensed under the Apache License, Version 2.0.

using System.CommandLine;

namespace Scst.Samples.Admin.Commands;

/// <summary>
/// <c>group add|remove</c> (a target's <c>ini_groups/mgmt</c>) and <c>initiator add|remove|move|clear</c> (a group's
/// <c>initiators/mgmt</c>): SCST's security groups, which give the initiators that match them their own LUNs.
/// </summary>
internal static class GroupCommands
{
    public static Command Create() => CommandExtensions.Group("group", "Create or remove a target's security groups (ini_groups)", Group(true), Group(false));

    public static Command CreateInitiator() => CommandExtensions.Group(
        "initiator",
        "Add, remove or move the initiator name patterns (wildcards * and ?, ! to exclude) of a security group",
        Initiator("add", "add"),
        Initiator("remove", "del"),
        Move(),
        Clear());

    private static Command Group(bool add)
    {
        var name = new Argument<string>("group") { Description = "The group's name" };
        Option<string> driver = AdminOptions.Driver();
        Option<string> target = AdminOptions.Target();
        string verb = add ? "add" : "remove";
        return new Command(verb, $"targets/DRIVER/TARGET/ini_groups/mgmt '{(add ? "create" : "del")} GROUP'") { name, driver, target }
            .WithAdminAction(async (parse, admin, ct) =>
            {
                string group = parse.GetRequiredValue(name);
                string targetName = parse.GetRequiredValue(target);
                await admin.WriteAsync(
                    $"targets/{parse.GetRequiredValue(driver)}/{targetName}/ini_groups/mgmt",
                    $"{(add ? "create" : "del")} {group}",
                    $"cannot {verb} group {group} of target {targetName}",
                    ct);
                Console.WriteLine($"Group {group} of target {targetName} {(add ? "added" : "removed")}.");
            });
    }

    private static Command Initiator(string verb, string scstVerb)
    {
        var pattern = new Argument<string>("pattern") { Description = "The initiator name or pattern" };
        var group = new GroupOptions();
        var command = new Command(verb, $"targets/DRIVER/TARGET/ini_groups/GROUP/initiators/mgmt '{scstVerb} PATTERN'") { pattern };
        group.AddTo(command);
        return command.WithAdminAction(async (parse, admin, ct) =>
        {
            string p = parse.GetRequiredValue(pattern);
            await group.WriteAsync(parse, admin, $"{scstVerb} {p}", $"cannot {verb} initiator {p}", ct);
            Console.WriteLine($"Initiator {p} {(verb == "add" ? "added to" : "removed from")} {group.Owner(parse)}.");
        });
    }

    private static Command Move()
    {
        var pattern = new Argument<string>("pattern") { Description = "The initiator name or pattern" };
        var to = new Option<string>("--to") { Description = "The group it moves to", HelpName = "group", Required = true };
        var group = new GroupOptions("The group it is in");
        var command = new Command("move", "targets/DRIVER/TARGET/ini_groups/GROUP/initiators/mgmt 'move PATTERN DEST_GROUP'") { pattern, to };
        group.AddTo(command);
        return command.WithAdminAction(async (parse, admin, ct) =>
        {
            string p = parse.GetRequiredValue(pattern);
            string destination = parse.GetRequiredValue(to);
            await group.WriteAsync(parse, admin, $"move {p} {destination}", $"cannot move initiator {p} to group {destination}", ct);
            Console.WriteLine($"Initiator {p} moved from {group.Owner(parse)} to group {destination}.");
        });
    }

    private static Command Clear()
    {
        var group = new GroupOptions();
        var command = new Command("clear", "targets/DRIVER/TARGET/ini_groups/GROUP/initiators/mgmt 'clear'");
        group.AddTo(command);
        return command.WithAdminAction(async (parse, admin, ct) =>
        {
            await group.WriteAsync(parse, admin, "clear", "cannot clear the initiators", ct);
            Console.WriteLine($"Every initiator removed from {group.Owner(parse)}.");
        });
    }

    // --driver, --target and --group that name a security group.
    private sealed class GroupOptions(string groupDescription = "The security group")
    {
        private readonly Option<string> _driver = AdminOptions.Driver();
        private readonly Option<string> _target = AdminOptions.Target();
        private readonly Option<string> _group = AdminOptions.Group(required: true, groupDescription);

        public void AddTo(Command command)
        {
            command.Options.Add(_driver);
            command.Options.Add(_target);
            command.Options.Add(_group);
        }

        public string Owner(ParseResult parse) => AdminOptions.LunsOwner(parse.GetRequiredValue(_target), parse.GetRequiredValue(_group));

        public Task WriteAsync(ParseResult parse, AdminClient admin, string line, string what, CancellationToken cancellationToken) =>
            admin.WriteAsync(
                $"targets/{parse.GetRequiredValue(_driver)}/{parse.GetRequiredValue(_target)}/ini_groups/{parse.GetRequiredValue(_group)}/initiators/mgmt",
                line,
                $"{what} of {Owner(parse)}",
                cancellationToken);
    }
}
