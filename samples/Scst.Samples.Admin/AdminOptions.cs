// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using System.CommandLine.Parsing;

namespace Scst.Samples.Admin;

/// <summary>The options that several commands share, and the parsing of <c>--attributes</c>.</summary>
internal static class AdminOptions
{
    /// <summary>The default socket of the management endpoint (ManagementEndpointOptions' default).</summary>
    public const string DefaultSocket = "/run/scst/mgmt.sock";

    /// <summary>The environment variable that names the socket when <c>--socket</c> is not given.</summary>
    public const string SocketVariable = "SCST_MGMT_SOCKET";

    /// <summary><c>--socket PATH</c>, on every command.</summary>
    public static readonly Option<string> Socket = new("--socket", "-s")
    {
        Description = $"The target's management socket (without it: ${SocketVariable}, else {DefaultSocket})",
        HelpName = "path",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(SocketVariable) is { Length: > 0 } path ? path : DefaultSocket,
    };

    /// <summary><c>--driver D</c>: a target driver (iscsi, scst_local, fcst...).</summary>
    public static Option<string> Driver(bool required = true) => new("--driver", "-d")
    {
        Description = "The target driver (iscsi, scst_local, fcst...)",
        HelpName = "driver",
        Required = required,
    };

    /// <summary><c>--target T</c>.</summary>
    public static Option<string> Target(bool required = true) => new("--target", "-t")
    {
        Description = "The target's name",
        HelpName = "target",
        Required = required,
    };

    /// <summary><c>--group G</c>: a security group (ini_group) of the target.</summary>
    public static Option<string> Group(bool required, string description = "The security group (ini_group); without it, the target's own LUNs") => new("--group", "-g")
    {
        Description = description,
        HelpName = "group",
        Required = required,
    };

    /// <summary>
    /// <c>--attributes "k=v,k=v"</c>, given to add_device and add_target as SCST's <c>k=v; k=v</c>. A piece without '='
    /// continues the value before it, so <c>HeaderDigest=CRC32C,None</c> stays one value.
    /// </summary>
    public static Option<string?> Attributes() => new("--attributes", "-a")
    {
        Description = "Creation attributes as k=v,k=v (a comma followed by no '=' stays in the value: HeaderDigest=CRC32C,None)",
        HelpName = "k=v,...",
        CustomParser = ParseAttributes,
    };

    /// <summary>A command line for a mgmt file: the verb, the name, then the attributes if any.</summary>
    public static string WithAttributes(string command, string? attributes) =>
        string.IsNullOrEmpty(attributes) ? command : $"{command} {attributes}";

    /// <summary>The path of a target's LUN map: its own, or a security group's.</summary>
    public static string LunsPath(string driver, string target, string? group) =>
        group is null ? $"targets/{driver}/{target}/luns" : $"targets/{driver}/{target}/ini_groups/{group}/luns";

    /// <summary>How a LUN map is named in messages.</summary>
    public static string LunsOwner(string target, string? group) =>
        group is null ? $"target {target}" : $"group {group} of target {target}";

    // "k=v,k=v" to "k=v; k=v"; a parse error (exit 2) when a name is missing.
    private static string? ParseAttributes(ArgumentResult result)
    {
        var pairs = new List<string>();
        foreach (Token token in result.Tokens)
        {
            foreach (string piece in token.Value.Split(',', StringSplitOptions.TrimEntries))
            {
                if (piece.Length == 0)
                {
                    continue;
                }

                int eq = piece.IndexOf('=', StringComparison.Ordinal);
                if (eq < 0 && pairs.Count > 0)
                {
                    pairs[^1] += "," + piece;
                }
                else if (eq <= 0 || piece.Contains(';', StringComparison.Ordinal))
                {
                    result.AddError($"--attributes: '{piece}' is not name=value (give k=v,k=v)");
                    return null;
                }
                else
                {
                    pairs.Add($"{piece[..eq].Trim()}={piece[(eq + 1)..].Trim()}");
                }
            }
        }

        return string.Join("; ", pairs);
    }
}
