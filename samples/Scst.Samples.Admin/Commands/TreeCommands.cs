// Licensed under the Apache License, Version 2.0.

using System.CommandLine;

namespace Scst.Samples.Admin.Commands;

/// <summary><c>show PATH</c> and <c>set PATH VALUE</c>: the management tree as SCST's sysfs shows it, read and written as it is.</summary>
internal static class TreeCommands
{
    private const string SysfsRoot = "/sys/kernel/scst_tgt";
    private const int EISDIR = 21;

    public static Command CreateShow()
    {
        var path = new Argument<string>("path")
        {
            Description = $"A path in the tree (targets/iscsi/T/enabled), relative to its root; a {SysfsRoot}/ prefix is allowed",
            DefaultValueFactory = _ => string.Empty,
        };
        return new Command("show", "Read a file of the management tree (an attribute's value, [key] when set; a mgmt file's help) or list a directory") { path }
            .WithAdminAction(async (parse, admin, ct) =>
            {
                string p = Normalize(parse.GetValue(path) ?? string.Empty);
                if (p.Length > 0)
                {
                    var read = await admin.TryReadAsync(p, ct);
                    if (read.Status != -EISDIR)
                    {
                        Console.Write(AdminClient.Checked(read, $"cannot read {p}").Message);
                        return;
                    }
                }

                foreach (string entry in await admin.ListAsync(p, $"cannot list {(p.Length == 0 ? "the root" : p)}", ct))
                {
                    Console.WriteLine(entry);
                }
            });
    }

    public static Command CreateSet()
    {
        var path = new Argument<string>("path") { Description = "An attribute or a mgmt file of the tree" };
        var value = new Argument<string[]>("value") { Description = "The value or command; several words are joined with spaces", Arity = ArgumentArity.OneOrMore };
        return new Command("set", "Write a file of the management tree: a value to an attribute, or a command to a mgmt file") { path, value }
            .WithAdminAction(async (parse, admin, ct) =>
            {
                string p = Normalize(parse.GetRequiredValue(path));
                await admin.WriteAsync(p, string.Join(' ', parse.GetRequiredValue(value)), $"cannot write {p}", ct);
                Console.WriteLine($"Written: {p}");
            });
    }

    // "/sys/kernel/scst_tgt/targets/" and "/targets/" both mean "targets".
    private static string Normalize(string path)
    {
        string p = path.StartsWith(SysfsRoot, StringComparison.Ordinal) ? path[SysfsRoot.Length..] : path;
        return p.Trim('/');
    }
}
