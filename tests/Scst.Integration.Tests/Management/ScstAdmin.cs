// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using Scst.Testing;

namespace Scst.Integration.Tests.Management;

/// <summary>Runs the scst-admin sample (samples/Scst.Samples.Admin, built before this project) as a child process.</summary>
internal static class ScstAdmin
{
    private static readonly Lazy<string> s_program = new(() => SamplePrograms.Find("Scst.Samples.Admin", "scst-admin.dll"));

    /// <summary>Runs scst-admin with SCST_MGMT_SOCKET naming <paramref name="socket"/>; at most 30 seconds.</summary>
    public static async Task<AdminCliTests.Run> RunAsync(string? socket, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        info.ArgumentList.Add(s_program.Value);
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["SCST_MGMT_SOCKET"] = socket;
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var processes = new List<Process>();
        try
        {
            Process process = Process.Start(info)!;
            processes.Add(process);
            process.StandardInput.Close();
            Task<string> output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            Task<string> error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(timeout.Token);
            return new AdminCliTests.Run(process.ExitCode, await output, await error);
        }
        finally
        {
            ChildProcesses.KillAll(processes);
        }
    }

}
