// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using Scst.Events.Remote;

namespace Scst.Samples.Stpgd;

/// <summary>The command line of scst-stpgd, parsed and checked.</summary>
internal sealed record StpgdOptions
{
    /// <summary>How long a helper may run when <c>-t</c> is not given (17 s, as SCST's stpgd).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(17);

    public const string Usage =
        "Usage: scst-stpgd [--events-socket PATH] [--mgmt-socket PATH] [-p|--helper PATH] [-t|--timeout SECONDS] [-v]\n" +
        "\n" +
        "Carries out the explicit ALUA state changes (SET TARGET PORT GROUPS) a target hands to user space.\n" +
        "\n" +
        "  --events-socket PATH  the target's event socket (default " + ScstEventEndpointOptions.DefaultSocketPath + ")\n" +
        "  --mgmt-socket PATH    the target's management socket: without a helper the new states are written there;\n" +
        "                        with one, it is passed on as SCST_MGMT_SOCKET\n" +
        "  -p, --helper PATH     run PATH once per target group whose state changes (see README.md); without it the\n" +
        "                        states are written through --mgmt-socket\n" +
        "  -t, --timeout SECONDS how long a helper (or the writes of one event) may take (default 17)\n" +
        "  -v                    verbose: debug messages too\n" +
        "  -h, --help            this text";

    /// <summary>The event endpoint's socket.</summary>
    public string EventsSocket { get; init; } = ScstEventEndpointOptions.DefaultSocketPath;

    /// <summary>The management endpoint's socket, or <see langword="null"/>.</summary>
    public string? ManagementSocket { get; init; }

    /// <summary>The helper program, or <see langword="null"/> to write the states through <see cref="ManagementSocket"/>.</summary>
    public string? Helper { get; init; }

    /// <summary>How long a helper, or the writes of one event, may take.</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>Whether debug messages are logged.</summary>
    public bool Verbose { get; init; }

    /// <summary>Whether only the usage was asked for.</summary>
    public bool Help { get; init; }

    /// <summary>Parses the arguments.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="options">The options, when the command line is valid.</param>
    /// <param name="error">What is wrong with it, otherwise.</param>
    /// <returns>Whether the command line is valid.</returns>
    public static bool TryParse(string[] args, out StpgdOptions options, out string error)
    {
        options = new StpgdOptions();
        error = string.Empty;
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (name is "-h" or "--help")
            {
                options = options with { Help = true };
                return true;
            }

            if (name == "-v")
            {
                options = options with { Verbose = true };
                continue;
            }

            if (name is not ("--events-socket" or "--mgmt-socket" or "-p" or "--helper" or "-t" or "--timeout"))
            {
                error = $"unknown argument '{name}'";
                return false;
            }

            if (i + 1 >= args.Length || args[i + 1].Length == 0)
            {
                error = $"{name} needs a value";
                return false;
            }

            string value = args[++i];
            switch (name)
            {
                case "--events-socket":
                    options = options with { EventsSocket = value };
                    break;
                case "--mgmt-socket":
                    options = options with { ManagementSocket = value };
                    break;
                case "-p" or "--helper":
                    options = options with { Helper = value };
                    break;
                default:
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int seconds) || seconds is < 1 or > 3600)
                    {
                        error = $"{name} takes a whole number of seconds from 1 to 3600 (was '{value}')";
                        return false;
                    }

                    options = options with { Timeout = TimeSpan.FromSeconds(seconds) };
                    break;
            }
        }

        if (options.Helper is null && options.ManagementSocket is null)
        {
            error = "without a helper (-p) the new states are written through the management endpoint: give --mgmt-socket";
            return false;
        }

        if (options.Helper is { } helper)
        {
            if (!File.Exists(helper))
            {
                error = $"the helper '{helper}' does not exist";
                return false;
            }

            if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(helper) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) == 0)
            {
                error = $"the helper '{helper}' is not executable";
                return false;
            }

            // The helper runs with its own working directory and PATH: keep the path it was given absolute.
            options = options with { Helper = Path.GetFullPath(helper) };
        }

        return true;
    }
}
