// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
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
[Collection(LinuxGuests.Name)]
public sealed partial class LinuxInitiatorTests : IDisposable
{
    /// <summary>How the guest logs in: mutual CHAP and CRC32C header and data digests, as issue 6 asks.</summary>
    private static readonly GuestLogin Login = GuestLogin.MutualChapWithDigests;

    private const int Port = 3274;
    private const string TargetName = "iqn.2026-11.org.scst-dotnet:linux-initiator";
    private const long LunBytes = 256L << 20;
    private static readonly TimeSpan TargetPatience = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan GuestPatience = TimeSpan.FromMinutes(12);

    private static readonly string[] Steps =
    [
        "setup", "discovery", "node", "login-1", "fio-write-verify", "dd-write", "dd-verify-1", "logout-1",
        "login-2", "fio-verify-only", "dd-verify-2", "logout-2",
    ];

    private readonly GuestRun _run = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task LinuxInitiator_DiscoversLogsInWritesAndVerifies_AcrossTwoSessions()
    {
        var total = Stopwatch.StartNew();

        // The guest image: cached after the first build on this machine.
        string image = await _run.ImageAsync();

        // The target: a sparse file LUN in this test's directory.
        var clock = Stopwatch.StartNew();
        EnsurePortIsFree();
        string lun = _run.Directory.File("lun0.img");
        Process target = _run.StartTarget(
            ["--file", lun, "--size", "256M", "--portal", $"127.0.0.1:{Port}", "--target", TargetName, .. Login.TargetArguments()]);
        await WaitForPortAsync(target);
        GuestRun.Report($"target on 127.0.0.1:{Port} ({Login}): {clock.Elapsed.TotalSeconds:F1} s");

        // The guest: qemu user networking, where 10.0.2.2 is the host's 127.0.0.1.
        await File.WriteAllLinesAsync(
            Path.Combine(_run.RunDirectory, "params.sh"),
            [$"PORTAL=10.0.2.2:{Port}", $"TARGET={TargetName}", $"LUN_BYTES={LunBytes}", .. Login.GuestParameters()],
            Ct);
        (int qemuExit, string log, string qemuOutput) = await _run.BootAsync(
            image, new Dictionary<string, string> { ["RUN"] = "iscsi-initiator.sh", ["NAME"] = "linux-initiator" }, GuestPatience);
        GuestRun.Report($"total: {total.Elapsed.TotalSeconds:F1} s");

        List<string> missing = GuestRun.CheckSteps(qemuExit, qemuOutput, log, Steps);
        void Expect(bool condition, string what)
        {
            if (!condition)
            {
                missing.Add(what);
            }
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
        _run.ThrowIfMissing($"The Linux initiator run ({Login})", missing, log);

        target.HasExited.Should().BeFalse("the target serves on after the initiator's logouts{0}{1}", Environment.NewLine, _run.TargetLog());
    }

    [GeneratedRegex(@"^NEGOTIATED \S+ header_digest=(?<header>\d+) data_digest=(?<data>\d+).*$", RegexOptions.Multiline)]
    private static partial Regex NegotiatedLine();

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
                throw new TestAssertionException($"The sample target exited with code {target.ExitCode} before listening on port {Port}.{Environment.NewLine}{_run.TargetLog()}");
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

    public void Dispose() => _run.Dispose();
}
