// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using Scst.Integration.Tests.Tools;
using Scst.Testing;

namespace Scst.Integration.Tests;

/// <summary>
/// The sample target started with <c>--config scst.conf</c>: SIGHUP reads the file again and applies the difference (a
/// LUN added to the file appears); a file that does not read is logged with its line and changes nothing.
/// </summary>
public sealed class SighupReloadTests : IDisposable
{
    private const string TargetName = "iqn.2026-11.org.scst-dotnet:reload";
    private readonly TempDirectory _dir = new();
    private readonly List<Process> _processes = [];

    public void Dispose()
    {
        ChildProcesses.KillAll(_processes);
        _dir.Dispose();
    }

    [Fact]
    public async Task Sighup_AppliesTheEditedFile_AndABrokenOneChangesNothing()
    {
        string conf = _dir.File("scst.conf");
        await File.WriteAllTextAsync(conf, Config(withSecondLun: false), TestContext.Current.CancellationToken);
        int port = SamplePrograms.FreeTcpPort();
        Process target = SamplePrograms.StartLogged(
            "Scst.Samples.Target", _dir.File("target.log"), null, "--no-lun", "1", "--config", conf, "--portal", $"127.0.0.1:{port}");
        _processes.Add(target);
        string lun0 = $"iscsi://127.0.0.1:{port}/{TargetName}/0", lun1 = $"iscsi://127.0.0.1:{port}/{TargetName}/1";
        (await WaitForAsync(async () => (await LibiscsiTool.RunAsync("iscsi-inq", lun0)).ExitCode == 0)).Should().BeTrue(Log());
        (await LibiscsiTool.RunAsync("iscsi-inq", lun1)).ExitCode.Should().NotBe(0, "the file maps LUN 0 only");

        await File.WriteAllTextAsync(conf, Config(withSecondLun: true), TestContext.Current.CancellationToken);
        await SignalAsync(target, "HUP");

        (await WaitForAsync(() => Task.FromResult(Log().Contains($"SIGHUP: {conf} applied again", StringComparison.Ordinal)))).Should().BeTrue(Log());
        (await LibiscsiTool.RunAsync("iscsi-inq", lun1)).ExitCode.Should().Be(0, "the LUN added to the file is served");

        await File.WriteAllTextAsync(conf, "HANDLER vdisk_nullio {\n  DEVICE null0 {\n", TestContext.Current.CancellationToken);
        await SignalAsync(target, "HUP");

        (await WaitForAsync(() => Task.FromResult(Log().Contains($"SIGHUP: {conf} not applied", StringComparison.Ordinal)))).Should().BeTrue(Log());
        target.HasExited.Should().BeFalse("a broken file is reported, and the target runs on");
        (await LibiscsiTool.RunAsync("iscsi-inq", lun1)).ExitCode.Should().Be(0, "what ran stays as it was");
    }

    private static string Config(bool withSecondLun) => $$"""
        HANDLER vdisk_nullio {
            DEVICE null0 {
                size 64M
            }
            DEVICE null1 {
                size 32M
            }
        }
        TARGET_DRIVER iscsi {
            enabled 1
            TARGET {{TargetName}} {
                enabled 1
                LUN 0 null0
                {{(withSecondLun ? "LUN 1 null1" : string.Empty)}}
            }
        }
        """;

    private static async Task SignalAsync(Process process, string signal)
    {
        using Process kill = Process.Start("kill", [$"-{signal}", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
    }

    private static async Task<bool> WaitForAsync(Func<Task<bool>> condition)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(200, TestContext.Current.CancellationToken);
        }

        return true;
    }

    private string Log()
    {
        string path = _dir.File("target.log");
        return File.Exists(path) ? File.ReadAllText(path) : string.Empty;
    }
}
