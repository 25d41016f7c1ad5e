// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using Scst.Integration.Tests.Tools;
using Scst.Testing;

namespace Scst.Integration.Tests;

/// <summary>
/// The sample target as an administrator runs it: <c>--handler vcdrom --file x.iso</c> serves a CD-ROM LUN that
/// libiscsi's iscsi-inq sees as a removable MMC device, and a missing image stops the start with the reason, without
/// creating the file.
/// </summary>
public sealed class VcdromSampleTargetTests : IDisposable
{
    private const string TargetName = "iqn.2026-11.org.scst-dotnet:cdrom";
    private readonly TempDirectory _dir = new();
    private readonly List<Process> _processes = [];

    public void Dispose()
    {
        ChildProcesses.KillAll(_processes);
        _dir.Dispose();
    }

    [Fact]
    public async Task HandlerVcdrom_WithAnIso_ServesARemovableMmcLun()
    {
        string image = IsoImageFile.Write(_dir.File("disc.iso"), 64);
        int port = SamplePrograms.FreeTcpPort();
        Start("--handler", "vcdrom", "--file", image, "--portal", $"127.0.0.1:{port}", "--target", TargetName);
        string url = $"iscsi://127.0.0.1:{port}/{TargetName}/0";

        (int exitCode, string output) = await WaitForInquiryAsync(url);

        exitCode.Should().Be(0, Log());
        output.Should().Contain("Peripheral Device Type:MMC").And.Contain("Removable:1");
        (await WaitForLogAsync($"Serving vcdrom {image}")).Should().BeTrue(Log());
    }

    [Fact]
    public async Task HandlerVcdrom_WithAMissingImage_StopsWithTheReason_AndCreatesNothing()
    {
        string missing = _dir.File("missing.iso");
        Process target = Start("--handler", "vcdrom", "--file", missing, "--portal", $"127.0.0.1:{SamplePrograms.FreeTcpPort()}");

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await target.WaitForExitAsync(timeout.Token);

        target.ExitCode.Should().Be(1);
        Log().Should().Contain($"image file '{missing}' does not exist");
        File.Exists(missing).Should().BeFalse();
    }

    private async Task<(int ExitCode, string Output)> WaitForInquiryAsync(string url)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            (int exitCode, string output) = await LibiscsiTool.RunAsync("iscsi-inq", url);
            if (exitCode == 0 || DateTime.UtcNow > deadline)
            {
                return (exitCode, output);
            }

            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
    }

    // The console logger writes from a queue of its own: the line may follow the listening socket by a moment.
    private async Task<bool> WaitForLogAsync(string text)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!Log().Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        return true;
    }


    // The sample built with the solution, from the same configuration as this test assembly; its output goes to a log.
    private Process Start(params string[] arguments)
    {
        Process p = SamplePrograms.StartLogged("Scst.Samples.Target", _dir.File("target.log"), null, arguments);
        _processes.Add(p);
        return p;
    }

    private string Log()
    {
        string path = _dir.File("target.log");
        return File.Exists(path) ? File.ReadAllText(path) : string.Empty;
    }
}
