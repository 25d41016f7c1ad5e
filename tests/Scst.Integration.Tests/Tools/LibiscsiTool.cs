// Licensed under the Apache License, Version 2.0.

using System.ComponentModel;
using System.Diagnostics;

namespace Scst.Integration.Tests.Tools;

/// <summary>Runs one of libiscsi's tools (Debian libiscsi-bin) to its end, at most 30 seconds. A missing tool fails.</summary>
internal static class LibiscsiTool
{
    /// <summary>Runs <paramref name="tool"/> and returns its exit code and its standard output and error together.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string tool, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException($"Cannot start '{tool}': install libiscsi-bin. A test without its tool fails.", ex);
        }

        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            throw new TimeoutException($"{tool} did not finish within 30 s: {await stdout}{await stderr}");
        }

        var output = await stdout + await stderr;
        TestContext.Current.TestOutputHelper?.WriteLine($"$ {tool} {string.Join(' ', arguments)} -> exit {process.ExitCode}\n{output}");
        return (process.ExitCode, output);
    }
}
