// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Scst.Testing;

/// <summary>
/// The samples' build output, in the configuration of the running test assembly (its directory is
/// <c>.../bin/CONFIGURATION/net10.0/</c>); the test projects that start a sample build it first.
/// </summary>
public static class SamplePrograms
{
    private static readonly Lazy<string> s_dotnet = new(FindDotnet);

    /// <summary>The configuration the running test assembly was built in (Release, Debug).</summary>
    public static string Configuration { get; } =
        Path.GetFileName(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory))!);

    /// <summary>The dotnet host's full path, for a child that runs with a PATH of its own.</summary>
    public static string Dotnet => s_dotnet.Value;

    /// <summary>
    /// Finds <c>samples/PROJECT/bin/CONFIGURATION/net10.0/FILE</c> in the first directory above the test assembly that
    /// has it.
    /// </summary>
    /// <param name="project">The sample's project directory, e.g. <c>Scst.Samples.Target</c>.</param>
    /// <param name="file">The executable or assembly, e.g. <c>Scst.Samples.Target</c> or <c>scst-admin.dll</c>.</param>
    /// <returns>The full path.</returns>
    /// <exception cref="TestAssertionException">The sample is not built.</exception>
    public static string Find(string project, string file) => FindBuilt("samples", project, file);

    /// <summary>
    /// Finds <c>FOLDER/PROJECT/bin/CONFIGURATION/net10.0/FILE</c> in the first directory above the test assembly that
    /// has it: a built program of the repository outside samples/, such as <c>benchmarks/Scst.Benchmarks</c>.
    /// </summary>
    /// <param name="folder">The folder of the project directory, e.g. <c>benchmarks</c>.</param>
    /// <param name="project">The project directory.</param>
    /// <param name="file">The executable or assembly.</param>
    /// <returns>The full path.</returns>
    /// <exception cref="TestAssertionException">The program is not built.</exception>
    public static string FindBuilt(string folder, string project, string file)
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, folder, project, "bin", Configuration, "net10.0", file);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new TestAssertionException($"{file} is not built: build {folder}/{project} ({Configuration}) first.");
    }

    /// <summary>
    /// Starts a built sample with its standard output and error appended to <paramref name="logFile"/> (through
    /// <c>/bin/sh -c exec</c>, so the process is the sample itself: its id is the one to signal).
    /// </summary>
    /// <param name="project">The sample's project directory, e.g. <c>Scst.Samples.Target</c>.</param>
    /// <param name="logFile">Where its output goes.</param>
    /// <param name="environment">Variables to add to its environment, or null.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <returns>The process; the caller kills it when done (<see cref="ChildProcesses.KillAll"/>).</returns>
    public static Process StartLogged(string project, string logFile, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        string exe = Find(project, project);
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardInput = true };
        foreach (KeyValuePair<string, string> variable in environment ?? new Dictionary<string, string>())
        {
            info.Environment[variable.Key] = variable.Value;
        }

        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec \"$0\" \"$@\" >>\"" + logFile + "\" 2>&1");
        info.ArgumentList.Add(exe);
        foreach (string a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"cannot start {exe}");
    }

    /// <summary>A TCP port of the loopback that was free a moment ago (for a child process to listen on).</summary>
    public static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindDotnet()
    {
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, "dotnet");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new TestAssertionException("dotnet is not on PATH.");
    }
}
