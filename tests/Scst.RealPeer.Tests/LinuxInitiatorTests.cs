// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Scst.Testing;

namespace Scst.RealPeer.Tests;

/// <summary>
/// The Linux kernel's iSCSI initiator (open-iscsi and iscsi_tcp, Debian's kernel in a qemu guest) against the sample
/// target: SendTargets discovery, login, fio writes with CRC32C verification and a dd pattern, logout, a second login
/// that verifies everything again, logout. The guest side is tests/vm/guest/iscsi-initiator.sh; the image is built
/// by tests/vm/image.sh on first use and cached. Needs root, qemu and mmdebstrap (./test.sh installs them); without
/// them the test fails.
/// </summary>
public sealed partial class LinuxInitiatorTests : IDisposable
{
    /// <summary>How the guest logs in: mutual CHAP and CRC32C header and data digests, as issue 6 asks.</summary>
    private static readonly GuestLogin Login = GuestLogin.MutualChapWithDigests;

    private const int Port = 3274;
    private const string TargetName = "iqn.2026-11.org.scst-dotnet:linux-initiator";
    private const long LunBytes = 256L << 20;
    private static readonly TimeSpan ImagePatience = TimeSpan.FromMinutes(20);
    private static readonly TimeSpan TargetPatience = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan GuestPatience = TimeSpan.FromMinutes(12);

    private static readonly string[] Steps =
    [
        "setup", "discovery", "node", "login-1", "fio-write-verify", "dd-write", "dd-verify-1", "logout-1",
        "login-2", "fio-verify-only", "dd-verify-2", "logout-2",
    ];

    private readonly TempDirectory _dir = new();
    private readonly List<Process> _processes = [];
    private readonly StringBuilder _targetLog = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task LinuxInitiator_DiscoversLogsInWritesAndVerifies_AcrossTwoSessions()
    {
        string vm = Path.Combine(RepositoryRoot(), "tests", "vm");
        var total = Stopwatch.StartNew();

        // The guest image: cached after the first build on this machine.
        var clock = Stopwatch.StartNew();
        (int imageExit, string imageDir, string imageLog) = await RunAsync(Path.Combine(vm, "image.sh"), new Dictionary<string, string>(), ImagePatience);
        if (imageExit != 0)
        {
            throw new TestAssertionException($"tests/vm/image.sh failed with exit code {imageExit}: no guest image.{Environment.NewLine}{imageLog}");
        }

        imageDir = imageDir.Trim();
        Report($"image {imageDir}: {clock.Elapsed.TotalSeconds:F1} s ({(imageLog.Contains("built", StringComparison.Ordinal) ? "built now" : "cached")})");

        // The target: a sparse file LUN in this test's directory.
        clock.Restart();
        EnsurePortIsFree();
        string lun = _dir.File("lun0.img");
        Process target = StartTarget(
            ["--file", lun, "--size", "256M", "--portal", $"127.0.0.1:{Port}", "--target", TargetName, .. Login.TargetArguments()]);
        await WaitForPortAsync(target);
        Report($"target on 127.0.0.1:{Port} ({Login}): {clock.Elapsed.TotalSeconds:F1} s");

        // The guest: qemu user networking, where 10.0.2.2 is the host's 127.0.0.1.
        string run = Directory.CreateDirectory(_dir.File("run")).FullName;
        await File.WriteAllLinesAsync(
            Path.Combine(run, "params.sh"),
            [$"PORTAL=10.0.2.2:{Port}", $"TARGET={TargetName}", $"LUN_BYTES={LunBytes}", .. Login.GuestParameters()],
            Ct);
        string console = Path.Combine(run, "console.log");
        clock.Restart();
        (int qemuExit, string qemuOutput, string qemuErrors) = await RunAsync(
            Path.Combine(vm, "boot.sh"),
            new Dictionary<string, string> { ["VMDIR"] = imageDir, ["RUNDIR"] = run, ["RUN"] = "iscsi-initiator.sh", ["CONSOLE"] = console, ["NAME"] = "linux-initiator" },
            GuestPatience);
        string log = File.Exists(console) ? await File.ReadAllTextAsync(console, Ct) : "(no console log)";
        Report($"guest: {clock.Elapsed.TotalSeconds:F1} s, qemu exit code {qemuExit}");
        foreach (Match m in TimingLine().Matches(log))
        {
            Report("  " + m.Value.Trim());
        }

        Report($"total: {total.Elapsed.TotalSeconds:F1} s");

        var missing = new List<string>();
        void Expect(bool condition, string what)
        {
            if (!condition)
            {
                missing.Add(what);
            }
        }

        Expect(qemuExit == 0, $"qemu exits with 0 (it exited with {qemuExit}: {qemuOutput}{qemuErrors})");
        foreach (string step in Steps)
        {
            Expect(Regex.IsMatch(log, $"^STEP {step} OK ", RegexOptions.Multiline), $"STEP {step} OK");
        }

        // One line per connection of each session; every one negotiated the digests asked for.
        MatchCollection negotiated = NegotiatedLine().Matches(log);
        Expect(negotiated.Count == 2, $"two NEGOTIATED lines, one per login (found {negotiated.Count})");
        foreach (Match m in negotiated)
        {
            string want = Login.NegotiatedDigest.ToString(CultureInfo.InvariantCulture);
            Expect(m.Groups["header"].Value == want && m.Groups["data"].Value == want, $"header_digest={want} data_digest={want} in \"{m.Value.Trim()}\"");
        }

        if (Login.MutualChap)
        {
            Expect(log.Contains("STEP discovery OK", StringComparison.Ordinal) && log.Contains("auth=chap", StringComparison.Ordinal), "discovery with CHAP");
            Expect(
                Regex.Count(log, $"^AUTH session\\d+ username={GuestLogin.InitiatorUser} username_in={GuestLogin.TargetUser}\\s*$", RegexOptions.Multiline) == 2,
                $"both sessions log in as {GuestLogin.InitiatorUser} and authenticate the target as {GuestLogin.TargetUser}");
        }

        Expect(log.Contains("LINUX-INITIATOR PASS", StringComparison.Ordinal), "LINUX-INITIATOR PASS");
        Expect(log.Contains("VM-SCRIPT-EXIT rc=0", StringComparison.Ordinal), "VM-SCRIPT-EXIT rc=0");
        if (missing.Count > 0)
        {
            throw new TestAssertionException(
                $"The Linux initiator run ({Login}) did not show:{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", missing)}{Environment.NewLine}" +
                $"--- guest console ---{Environment.NewLine}{log}{Environment.NewLine}--- target log ---{Environment.NewLine}{TargetLog()}");
        }

        target.HasExited.Should().BeFalse("the target serves on after the initiator's logouts{0}{1}", Environment.NewLine, TargetLog());
    }

    [GeneratedRegex(@"^(VM-READY .*|STEP \S+ OK [0-9.]+ s.*)$", RegexOptions.Multiline)]
    private static partial Regex TimingLine();

    [GeneratedRegex(@"^NEGOTIATED \S+ header_digest=(?<header>\d+) data_digest=(?<data>\d+).*$", RegexOptions.Multiline)]
    private static partial Regex NegotiatedLine();

    private static void Report(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);

    private static string RepositoryRoot()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Scst.sln")))
        {
            root = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(root)) ?? throw new InvalidOperationException("Scst.sln not found above the test assembly.");
        }

        return root;
    }

    // The sample target built with the solution, in the configuration of this test assembly (.../bin/Release/net10.0/).
    private Process StartTarget(IEnumerable<string> arguments)
    {
        string configuration = Path.GetFileName(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory))!);
        string exe = Path.Combine(RepositoryRoot(), "samples", "Scst.Samples.Target", "bin", configuration, "net10.0", "Scst.Samples.Target");
        if (!File.Exists(exe))
        {
            throw new InvalidOperationException($"{exe} is missing: build Scst.sln ({configuration}) first.");
        }

        var info = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        var p = new Process { StartInfo = info };
        p.OutputDataReceived += (_, e) => AppendTargetLog(e.Data);
        p.ErrorDataReceived += (_, e) => AppendTargetLog(e.Data);
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _processes.Add(p);
        return p;
    }

    private void AppendTargetLog(string? line)
    {
        if (line is not null)
        {
            lock (_targetLog)
            {
                _targetLog.AppendLine(line);
            }
        }
    }

    private string TargetLog()
    {
        lock (_targetLog)
        {
            return _targetLog.ToString();
        }
    }

    // The port is fixed (the guest's params name it), so another listener on it would answer in the target's place.
    private static void EnsurePortIsFree()
    {
        using var listener = new TcpListener(IPAddress.Loopback, Port);
        try
        {
            listener.Start();
        }
        catch (SocketException ex)
        {
            throw new TestAssertionException($"Port {Port} on 127.0.0.1 is taken ({ex.SocketErrorCode}): the Linux initiator test needs it for the sample target.");
        }
        finally
        {
            listener.Stop();
        }
    }

    private async Task WaitForPortAsync(Process target)
    {
        var deadline = DateTime.UtcNow + TargetPatience;
        while (true)
        {
            if (target.HasExited)
            {
                throw new TestAssertionException($"The sample target exited with code {target.ExitCode} before listening on port {Port}.{Environment.NewLine}{TargetLog()}");
            }

            using var probe = new TcpClient();
            try
            {
                await probe.ConnectAsync(IPAddress.Loopback, Port, Ct);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, Ct);
            }
        }
    }

    // Runs a script to its end within the given time (the whole process tree is killed after it) and returns its exit
    // code, standard output and standard error.
    private async Task<(int ExitCode, string Output, string Errors)> RunAsync(string script, IReadOnlyDictionary<string, string> environment, TimeSpan patience)
    {
        var info = new ProcessStartInfo(script) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach ((string name, string value) in environment)
        {
            info.Environment[name] = value;
        }

        using Process p = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {script}");
        _processes.Add(p);
        p.StandardInput.Close();
        Task<string> output = p.StandardOutput.ReadToEndAsync(Ct);
        Task<string> errors = p.StandardError.ReadToEndAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(patience);
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
        {
            return (-1, string.Empty, $"{script} did not finish within {patience} and was killed.");
        }
        finally
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                await p.WaitForExitAsync(CancellationToken.None);
            }

            _processes.Remove(p);
        }

        return (p.ExitCode, await output, await errors);
    }

    public void Dispose()
    {
        foreach (Process p in _processes)
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
            }

            p.Dispose();
        }

        _dir.Dispose();
    }
}
