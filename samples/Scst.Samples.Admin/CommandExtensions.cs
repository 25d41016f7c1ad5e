// Licensed under the Apache License, Version 2.0.

using System.CommandLine;

namespace Scst.Samples.Admin;

/// <summary>Wiring of a command's action to <see cref="AdminClient.RunAsync"/>.</summary>
internal static class CommandExtensions
{
    /// <summary>Makes <paramref name="action"/> the command's action, run with a connected <see cref="AdminClient"/>.</summary>
    public static Command WithAdminAction(this Command command, Func<ParseResult, AdminClient, CancellationToken, Task> action)
    {
        command.SetAction((parse, cancellationToken) => AdminClient.RunAsync(parse, (admin, ct) => action(parse, admin, ct), cancellationToken));
        return command;
    }

    /// <summary>A command that only groups subcommands.</summary>
    public static Command Group(string name, string description, params Command[] subcommands)
    {
        var command = new Command(name, description);
        foreach (Command subcommand in subcommands)
        {
            command.Subcommands.Add(subcommand);
        }

        return command;
    }
}
