// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using System.CommandLine.Parsing;
using Scst.Samples.Admin;
using Scst.Samples.Admin.Commands;

// scst-admin: SCST's scstadmin for this target, speaking to its management socket (ManagementClient). Each command maps
// to the management tree and SCST's mgmt verbs; README.md lists them. Parse errors exit 2, as the --help text says.
var root = new RootCommand("Administers a running Scst for .NET target through its management socket, in scstadmin's manner.\n\n" + ExitCodes.Help)
{
    AdminOptions.Socket,
    ConfigCommands.Create(),
    ListCommands.Create(),
    TreeCommands.CreateShow(),
    TreeCommands.CreateSet(),
    DeviceCommands.Create(),
    TargetCommands.Create(),
    TargetCommands.CreateAttribute(),
    LunCommands.Create(),
    GroupCommands.Create(),
    GroupCommands.CreateInitiator(),
    AluaCommands.CreateDeviceGroup(),
    AluaCommands.CreateTargetGroup(),
};

ParseResult parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (ParseError error in parse.Errors)
    {
        Console.Error.WriteLine($"scst-admin: {error.Message}");
    }

    Console.Error.WriteLine($"See '{Usage.CommandPath(parse)} --help'.");
    return ExitCodes.BadUsage;
}

return await parse.InvokeAsync();
