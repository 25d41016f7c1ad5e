// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Scst.Core;
using Scst.Events;
using Scst.Events.Remote;
using Scst.Integration.Tests.Iscsi;
using Scst.Testing;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Integration.Tests.UserDevice;

/// <summary>
/// The scenario the suite exists for, with every part a separate process as in production: the sample target starts with
/// no LUN, the platform watcher listens to its events from outside and maps devices by a policy file, and fileio
/// user-device apps (the "containers") register their devices. libiscsi writes and reads a user-device LUN; the app is
/// killed with SIGKILL; the target, the other app's LUN and its session keep working while the LUN disappears; the app
/// starts again, event 6 arrives again, the watcher maps it again, and every write acknowledged before the kill reads
/// back.
/// </summary>
public sealed class ContainerScenarioTests : IAsyncDisposable
{
    private const string TargetName = "iqn.2026-11.org.scst-dotnet:platform";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _dir = new();
    private readonly List<Process> _processes = [];
    private readonly int _port = FreePort();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Socket(string name) => _dir.File(name);

    [Fact]
    public async Task UserDeviceApp_MappedByTheWatcher_SurvivesKill9_AndComesBackWithEveryAcknowledgedWrite()
    {
        // The target: no LUN of its own; user devices, events and management on Unix sockets.
        Start("Scst.Samples.Target", "target",
            "--handler", "vdisk_nullio", "--no-lun", "1", "--portal", $"127.0.0.1:{_port}", "--target", TargetName,
            "--user-socket", Socket("user.sock"), "--user-auto-lun", "0", "--events-socket", Socket("events.sock"), "--mgmt-socket", Socket("mgmt.sock"));
        await WaitForAsync(() => File.Exists(Socket("events.sock")) && File.Exists(Socket("mgmt.sock")) && File.Exists(Socket("user.sock")), "the target's sockets");

        // The platform: the watcher maps app-1 as LUN 0 and app-2 as LUN 1.
        string policy = _dir.File("watcher.policy");
        await File.WriteAllTextAsync(policy, $"app-1 iscsi {TargetName} 0\napp-2 iscsi {TargetName} 1\n", Ct);
        Process watcher = Start("Scst.Samples.Watcher", "watcher", "--events", Socket("events.sock"), "--mgmt", Socket("mgmt.sock"), "--policy", policy);
        await WaitForAsync(() => Log("watcher").Contains("Watching", StringComparison.Ordinal), "the watcher to subscribe");

        // This test's own view of the events, from outside as well.
        await using ScstEventClient events = await ScstEventClient.ConnectAsync(Socket("events.sock"), Ct);
        (await events.AllowAsync(new ScstEventFilter(ScstEventCode.VirtualDeviceRegistered), observer: true, Ct)).Should().BeTrue();
        var registered = new List<string>();
        Task reading = Task.Run(async () =>
        {
            await foreach (ScstEvent e in events.ReadAllAsync(Ct))
            {
                lock (registered)
                {
                    registered.Add(VirtualDeviceRegisteredEvent.Parse(e.Payload.Span).DeviceName);
                }
            }
        }, Ct);

        Process app1 = StartApp("app-1");
        StartApp("app-2");
        await WaitForAsync(() => Count(registered, "app-1") == 1 && Count(registered, "app-2") == 1, "event 6 for both apps");

        // The watcher maps each app once it hears event 6; a login before that would see no LUN and be refused.
        await WaitForAsync(() => Log("watcher").Contains("mapped app-1 as LUN 0", StringComparison.Ordinal) &&
            Log("watcher").Contains("mapped app-2 as LUN 1", StringComparison.Ordinal), "the watcher to map both apps");

        await using IscsiTestInitiator a = await LoginAsync("iqn.2026-11.org.scst-dotnet:platform-a");
        await using IscsiTestInitiator b = await LoginAsync("iqn.2026-11.org.scst-dotnet:platform-b");
        await WaitForAsync(async () => (await ReportLunsAsync(a)).SequenceEqual([0, 1]), "the watcher to map LUNs 0 and 1");

        // libiscsi writes and reads the user-device LUN.
        (int exit, string output) = await RunToolAsync("iscsi-test-cu", "-d", "-t", "SCSI.Write10.Simple,SCSI.Read10.Simple", $"iscsi://127.0.0.1:{_port}/{TargetName}/0");
        exit.Should().Be(0, output);
        output.Should().NotContain("[FAILED]").And.NotContain("[SKIPPED]");

        // Acknowledged writes to app-1 (the apps write through: GOOD means on the file).
        await a.ClearUnitAttentionAsync(0, Ct);
        var written = new Dictionary<uint, byte[]>();
        for (uint lba = 0; lba < 64; lba++)
        {
            byte[] data = Cdbs.Pattern(512, (int)lba + 4242);
            ScsiResult w = await a.ExecuteAsync(0, Cdbs.Write10(lba, 1), writeData: data, cancellationToken: Ct);
            w.Status.Should().Be(ScsiResult.Good);
            written[lba] = data;
        }

        // Session b keeps using app-2's LUN while app-1 dies and comes back (its new-nexus unit attention cleared first).
        await b.ClearUnitAttentionAsync(LunAddress.Encode(1), Ct);
        using var stopB = new CancellationTokenSource();
        Task<(int Commands, List<string> Unexpected)> other = Task.Run(() => KeepUsingAsync(b, stopB.Token), Ct);

        app1.Kill();
        await app1.WaitForExitAsync(Ct);
        await WaitForAsync(async () => (await ReportLunsAsync(a)).SequenceEqual([1]), "LUN 0 to disappear after SIGKILL");
        ScsiResult gone = await a.ExecuteAsync(0, Cdbs.Read10(0, 1), readLength: 512, cancellationToken: Ct);
        gone.Status.Should().Be(ScsiResult.CheckCondition);
        gone.SenseCodes.Key.Should().BeOneOf((byte)0x05, (byte)0x06); // LOGICAL UNIT NOT SUPPORTED, or a unit attention first

        // The app restarts: event 6 again, mapped again, every acknowledged write intact.
        StartApp("app-1");
        await WaitForAsync(() => Count(registered, "app-1") == 2, "event 6 again after the restart");
        await WaitForAsync(async () => (await ReportLunsAsync(a)).SequenceEqual([0, 1]), "the watcher to map LUN 0 again");
        await a.ClearUnitAttentionAsync(0, Ct);
        foreach ((uint lba, byte[] data) in written)
        {
            ScsiResult r = await a.ExecuteAsync(0, Cdbs.Read10(lba, 1), readLength: 512, cancellationToken: Ct);
            r.Status.Should().Be(ScsiResult.Good);
            r.Data.Should().Equal(data, $"block {lba} was acknowledged before the kill");
        }

        await stopB.CancelAsync();
        (int commands, List<string> unexpected) = await other;
        commands.Should().BeGreaterThan(0);
        unexpected.Should().BeEmpty("the other device's session only learns that the LUN inventory changed (of {0} commands){1}{2}", commands, Environment.NewLine, AllLogs());
        watcher.HasExited.Should().BeFalse();
        Log("watcher").Should().Contain("mapped app-1 as LUN 0").And.Contain("unmapped app-1 from LUN 0");
        _ = reading;
    }

    // Writes and reads back one block of LUN 1 in a loop: every command must end GOOD, or with REPORTED LUNS DATA HAS
    // CHANGED (the LUN inventory changed twice), and the data must read back.
    private static async Task<(int Commands, List<string> Unexpected)> KeepUsingAsync(IscsiTestInitiator b, CancellationToken stop)
    {
        var unexpected = new List<string>();
        int commands = 0;
        for (int n = 0; !stop.IsCancellationRequested; n++)
        {
            byte[] data = Cdbs.Pattern(512, n);
            ScsiResult w = await b.ExecuteAsync(LunAddress.Encode(1), Cdbs.Write10(7, 1), writeData: data, cancellationToken: CancellationToken.None);
            ScsiResult r = await b.ExecuteAsync(LunAddress.Encode(1), Cdbs.Read10(7, 1), readLength: 512, cancellationToken: CancellationToken.None);
            commands += 2;
            foreach ((string op, ScsiResult result) in new[] { ("WRITE", w), ("READ", r) })
            {
                if (result.Status != ScsiResult.Good && !(result.SenseCodes.Key == 0x06 && result.SenseCodes.Asc == 0x3F && result.SenseCodes.Ascq == 0x0E))
                {
                    unexpected.Add($"{op} {n}: status {result.Status:X2} sense {result.SenseCodes.Key:X2}/{result.SenseCodes.Asc:X2}/{result.SenseCodes.Ascq:X2}");
                }
            }

            if (w.Status == ScsiResult.Good && r.Status == ScsiResult.Good && !r.Data.AsSpan().SequenceEqual(data))
            {
                unexpected.Add($"block 7 of LUN 1 did not read back after write {n}");
            }
        }

        return (commands, unexpected);
    }

    private async Task<IscsiTestInitiator> LoginAsync(string initiator)
    {
        var i = await IscsiTestInitiator.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _port), Ct);
        (await i.LoginAsync(IscsiTestInitiator.NormalKeys(TargetName, initiator), Ct)).Status.Should().Be(LoginStatus.Success);
        i.ReceiveTimeout = TimeSpan.FromSeconds(30);
        return i;
    }

    private static async Task<List<int>> ReportLunsAsync(IscsiTestInitiator initiator)
    {
        ScsiResult r = await initiator.ExecuteAsync(0, CdbBuilder.ReportLuns(), readLength: 4096, cancellationToken: Ct);
        if (r.Status != ScsiResult.Good)
        {
            return [-1]; // a unit attention: ask again
        }

        int length = (int)BinaryPrimitives.ReadUInt32BigEndian(r.Data);
        var luns = new List<int>();
        for (int offset = 8; offset < 8 + length && offset + 8 <= r.Data.Length; offset += 8)
        {
            luns.Add(r.Data[offset + 1] | ((r.Data[offset] & 0x3F) << 8));
        }

        return luns;
    }

    private static int Count(List<string> names, string name)
    {
        lock (names)
        {
            return names.Count(n => n == name);
        }
    }

    private Process StartApp(string name) =>
        Start("Scst.Samples.UserFileIo", name, "--socket", Socket("user.sock"), "-t", "--size", "64M", name, _dir.File(name + ".img"));

    // A sample built with the solution, from the same configuration as this test assembly.
    private Process Start(string sample, string logName, params string[] arguments)
    {
        string configuration = Path.GetFileName(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory))!); // .../bin/Release/net10.0/
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Scst.sln")))
        {
            root = Path.GetDirectoryName(root.TrimEnd('/')) ?? throw new InvalidOperationException("Scst.sln not found above the test assembly.");
        }

        string exe = Path.Combine(root, "samples", sample, "bin", configuration, "net10.0", sample);
        if (!File.Exists(exe))
        {
            throw new InvalidOperationException($"{exe} is missing: build Scst.sln ({configuration}) first.");
        }

        var info = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec \"$0\" \"$@\" >>\"" + _dir.File(logName + ".log") + "\" 2>&1");
        info.ArgumentList.Add(exe);
        foreach (string a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        Process p = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {exe}");
        _processes.Add(p);
        return p;
    }

    private string Log(string name)
    {
        string path = _dir.File(name + ".log");
        return File.Exists(path) ? File.ReadAllText(path) : string.Empty;
    }

    private string AllLogs() =>
        string.Join(Environment.NewLine, new[] { "target", "watcher", "app-1", "app-2" }.Select(n => $"--- {n}.log ---{Environment.NewLine}{Log(n)}"));

    private Task WaitForAsync(Func<bool> condition, string what) => WaitForAsync(() => Task.FromResult(condition()), what);

    private async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TestAssertionException($"Waited {Patience} for {what}.{Environment.NewLine}{AllLogs()}");
            }

            await Task.Delay(100, Ct);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunToolAsync(string tool, params string[] arguments)
    {
        var info = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        Process p;
        try
        {
            p = Process.Start(info)!;
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException($"Cannot start '{tool}': install libiscsi-bin. A test without its tool fails.", ex);
        }

        using (p)
        {
            Task<string> stdout = p.StandardOutput.ReadToEndAsync(Ct);
            Task<string> stderr = p.StandardError.ReadToEndAsync(Ct);
            await p.WaitForExitAsync(Ct);
            return (p.ExitCode, await stdout + await stderr);
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        ChildProcesses.KillAll(_processes);
        _dir.Dispose();
        return ValueTask.CompletedTask;
    }
}
