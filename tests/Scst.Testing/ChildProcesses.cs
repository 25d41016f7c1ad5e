// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;

namespace Scst.Testing;

/// <summary>Runs the programs a test needs, and ends the processes a test started (a target, a device process, qemu).</summary>
public static class ChildProcesses
{
    /// <summary>
    /// Runs <paramref name="file"/> to its end and returns its exit code with its standard output and error together;
    /// kills it (and its children) and throws <see cref="TimeoutException"/> past <paramref name="timeout"/>.
    /// </summary>
    /// <param name="file">The program.</param>
    /// <param name="workingDirectory">Where it runs, or null for the test's.</param>
    /// <param name="environment">Variables to add to its environment, or null.</param>
    /// <param name="timeout">How long it may take.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <returns>The exit code and the output.</returns>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string file, string? workingDirectory, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout, params string[] arguments)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }

        foreach (KeyValuePair<string, string> variable in environment ?? new Dictionary<string, string>())
        {
            info.Environment[variable.Key] = variable.Value;
        }

        foreach (string a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        using Process process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        Task<string> stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} took more than {timeout}");
        }

        string output = await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false);
        return (process.ExitCode, output);
    }

    /// <summary>Kills each process that still runs, with its children, waits up to 5 s for it, disposes it, and clears the list.</summary>
    public static void KillAll(List<Process> processes)
    {
        ArgumentNullException.ThrowIfNull(processes);
        foreach (Process p in processes)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                    p.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
                // Never started, or already reaped.
            }

            p.Dispose();
        }

        processes.Clear();
    }
}
