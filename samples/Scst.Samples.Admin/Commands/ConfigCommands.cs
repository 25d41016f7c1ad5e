// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using Scst.Core.Management;

namespace Scst.Samples.Admin.Commands;

/// <summary>
/// <c>config apply|check|write</c>: scst.conf against the running target (scstadmin's -config, -check_config and
/// -write_config). The text is sent as it is; the endpoint parses it, says what it changes, or names the lines in error.
/// </summary>
internal static class ConfigCommands
{
    public static Command Create() => CommandExtensions.Group("config", "Apply, check or write scst.conf configurations", Apply(), Check(), Write());

    private static Argument<string> File(string description) => new("file") { Description = description };

    private static Command Apply()
    {
        Argument<string> file = File("The scst.conf file ('-' reads stdin)");
        var force = new Option<bool>("--force") { Description = "Also remove what the file does not list, and replace what is in use" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Only check the file and show the changes it would make (the endpoint's check)" };
        var command = new Command("apply", "Apply a configuration as a difference against the running state (what is unchanged keeps its sessions)") { file, force, dryRun };
        return command.WithConfigurationFile(file, async (parse, text, admin, ct) =>
        {
            string path = parse.GetRequiredValue(file);
            bool check = parse.GetValue(dryRun);
            ManagementResult result = check
                ? await admin.Client.CheckConfigurationAsync(text, ct)
                : await admin.Client.ApplyConfigurationAsync(text, parse.GetValue(force), ct);
            Report(result, check ? $"the configuration in {path} does not apply" : $"cannot apply {path}", check ? "Nothing to change." : "Nothing changed.");
        });
    }

    private static Command Check()
    {
        Argument<string> file = File("The scst.conf file ('-' reads stdin)");
        var command = new Command("check", "Check a configuration against the running state, changing nothing; shows the changes an apply would make") { file };
        return command.WithConfigurationFile(file, async (parse, text, admin, ct) =>
            Report(await admin.Client.CheckConfigurationAsync(text, ct), $"the configuration in {parse.GetRequiredValue(file)} does not apply", "The configuration matches the running state."));
    }

    // The file is read before the endpoint is reached: a file that cannot be read exits 4 whatever the endpoint's state.
    private static Command WithConfigurationFile(this Command command, Argument<string> file, Func<ParseResult, string, AdminClient, CancellationToken, Task> action)
    {
        command.SetAction(async (parse, cancellationToken) =>
        {
            string text;
            try
            {
                text = await ReadFileAsync(parse.GetRequiredValue(file), cancellationToken);
            }
            catch (AdminException ex)
            {
                return AdminClient.Fail(ex.ExitCode, ex.Message);
            }

            return await AdminClient.RunAsync(parse, (admin, ct) => action(parse, text, admin, ct), cancellationToken);
        });
        return command;
    }

    private static Command Write()
    {
        Argument<string> file = File("Where to write it ('-' writes stdout)");
        var nonKey = new Option<bool>("--nonkey") { Description = "Also write the attributes that have their default values" };
        return new Command("write", "Write the running state as scst.conf") { file, nonKey }
            .WithAdminAction(async (parse, admin, ct) =>
            {
                string path = parse.GetRequiredValue(file);
                ManagementResult result = AdminClient.Checked(await admin.Client.SaveConfigurationAsync(parse.GetValue(nonKey), ct), "cannot read the running configuration");
                if (path == "-")
                {
                    Console.Write(result.Message);
                    return;
                }

                await WriteFileAsync(path, result.Message, ct);
                Console.WriteLine($"Configuration written to {path}.");
            });
    }

    // The endpoint's answer: the changes (to stdout), or the errors with their lines (to stderr, exit 1).
    private static void Report(ManagementResult result, string failure, string unchanged)
    {
        if (!result.Succeeded)
        {
            string message = result.Message.TrimEnd();
            throw new AdminException(message.Contains('\n', StringComparison.Ordinal)
                ? $"{failure} ({AdminClient.Describe(result with { Message = string.Empty })}):\n{message}"
                : $"{failure}: {AdminClient.Describe(result)}");
        }

        Console.WriteLine(result.Message.Trim().Length == 0 ? unchanged : result.Message.TrimEnd());
    }

    private static async Task<string> ReadFileAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return path == "-" ? await Console.In.ReadToEndAsync(cancellationToken) : await System.IO.File.ReadAllTextAsync(path, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AdminException(ExitCodes.ConfigFile, $"cannot read {path}: {ex.Message}");
        }
    }

    // Written beside the file and renamed over it: a reader never sees half a configuration.
    private static async Task WriteFileAsync(string path, string text, CancellationToken cancellationToken)
    {
        string temporary = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        try
        {
            await System.IO.File.WriteAllTextAsync(temporary, text, cancellationToken);
            System.IO.File.Move(temporary, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            try
            {
                System.IO.File.Delete(temporary);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // Nothing more to do: the temporary file could not be made or cannot be removed either.
            }

            throw new AdminException(ExitCodes.ConfigFile, $"cannot write {path}: {ex.Message}");
        }
    }
}
