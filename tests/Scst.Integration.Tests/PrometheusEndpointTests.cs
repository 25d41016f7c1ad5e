// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Globalization;
using Scst.Integration.Tests.Tools;
using Scst.Testing;

namespace Scst.Integration.Tests;

/// <summary>
/// The sample target with <c>--metrics-port</c>: under libiscsi's iscsi-perf, its Prometheus endpoint on the loopback
/// answers with the documented metric names, and the read counter of the initiator's session grows.
/// </summary>
public sealed class PrometheusEndpointTests : IDisposable
{
    private const string TargetName = "iqn.2026-11.org.scst-dotnet:prometheus";
    private readonly TempDirectory _dir = new();
    private readonly List<Process> _processes = [];

    public void Dispose()
    {
        ChildProcesses.KillAll(_processes);
        _dir.Dispose();
    }

    [Fact]
    public async Task UnderLoad_TheEndpointAnswersWithTheDocumentedNames()
    {
        int port = SamplePrograms.FreeTcpPort(), metricsPort = SamplePrograms.FreeTcpPort();
        Start("--handler", "vdisk_nullio", "--size", "64M", "--portal", $"127.0.0.1:{port}", "--target", TargetName,
            "--metrics-port", metricsPort.ToString(CultureInfo.InvariantCulture));
        string url = $"iscsi://127.0.0.1:{port}/{TargetName}/0";
        (await WaitForTargetAsync(url)).Should().Be(0, Log());

        Task<(int ExitCode, string Output)> load = LibiscsiTool.RunAsync("iscsi-perf", "-m", "8", "-b", "8", "-r", "-t", "5", "-i", "iqn.2026-11.org.scst-dotnet:scraped", url);
        await Task.Delay(TimeSpan.FromSeconds(2.5), TestContext.Current.CancellationToken);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"), TestContext.Current.CancellationToken);
        (int exitCode, string perf) = await load;

        exitCode.Should().Be(0, perf);
        foreach (string name in new[]
        {
            "scst_commands_total", "scst_io_bytes_total", "scst_commands_in_flight", "scst_sessions", "scst_command_duration_seconds_bucket",
            "scst_iscsi_logins_total", "scst_iscsi_connections",
        })
        {
            text.Should().Contain(name + "{", $"the endpoint documents {name}:\n{text}");
        }

        string reads = text.Split('\n').Single(l => l.StartsWith("scst_commands_total{", StringComparison.Ordinal) &&
            l.Contains("scst_direction=\"read\"", StringComparison.Ordinal) && l.Contains("iqn.2026-11.org.scst-dotnet:scraped", StringComparison.Ordinal));
        long.Parse(reads[(reads.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture).Should().BeGreaterThan(1000, "iscsi-perf had been reading for 2.5 s");
    }

    private static async Task<int> WaitForTargetAsync(string url)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            (int exitCode, _) = await LibiscsiTool.RunAsync("iscsi-inq", url);
            if (exitCode == 0 || DateTime.UtcNow > deadline)
            {
                return exitCode;
            }

            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
    }


    private void Start(params string[] arguments) =>
        _processes.Add(SamplePrograms.StartLogged("Scst.Samples.Target", _dir.File("target.log"), null, arguments));

    private string Log()
    {
        string path = _dir.File("target.log");
        return File.Exists(path) ? File.ReadAllText(path) : string.Empty;
    }
}
