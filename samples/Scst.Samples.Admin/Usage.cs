// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using System.CommandLine.Parsing;

namespace Scst.Samples.Admin;

/// <summary>What the usage hint of a parse error names.</summary>
internal static class Usage
{
    /// <summary>The words of the command that was parsed, from the program's name: <c>scst-admin lun add</c>.</summary>
    public static string CommandPath(ParseResult parse)
    {
        var names = new Stack<string>();
        for (SymbolResult? r = parse.CommandResult; r is not null; r = r.Parent)
        {
            if (r is CommandResult command)
            {
                names.Push(command.Parent is null ? "scst-admin" : command.Command.Name);
            }
        }

        return string.Join(' ', names);
    }
}
