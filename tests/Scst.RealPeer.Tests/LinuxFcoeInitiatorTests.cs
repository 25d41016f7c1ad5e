// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Scst.Testing;

namespace Scst.RealPeer.Tests;

/// <summary>
/// The Linux kernel's FCoE initiator (fcoe, libfcoe, libfc; Debian's kernel in a qemu guest) in VN2VN mode against
/// the sample target's FCoE port: both on one tap device in a network namespace the test makes. The guest finds the
/// target through FIP (probe, claim, beacons), logs in (FLOGI in FIP, PLOGI, PRLI), writes 64 MiB with fio and
/// verifies it, resets the LUN, and verifies again; then it disables its port. tshark reads the target's capture of
/// the run: no malformed frame, no bad CRC, and FCP commands, data, responses and the LUN reset dissected as such.
/// The guest side is tests/vm/guest/fcoe-initiator.sh; tests/vm/run-fcoe.sh does the same by hand. Needs root, qemu,
/// mmdebstrap and tshark (./test.sh installs them); without them the test fails.
/// </summary>
[Collection(LinuxGuests.Name)]
public sealed partial class LinuxFcoeInitiatorTests : IDisposable
{
    private const string Tap = "fcoetap0";
    private const string GuestMac = "52:54:00:fc:0e:01";
    private const string TargetWwpn = "20:00:00:00:5c:57:fc:01";
    private const long LunBytes = 256L << 20;

    // The iSCSI portal the sample always opens, inside the namespace: harmless there, and a sign that the target is up.
    private const int IscsiPort = 3275;
    private static readonly TimeSpan TargetPatience = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan GuestPatience = TimeSpan.FromMinutes(12);
    private static readonly TimeSpan TsharkPatience = TimeSpan.FromMinutes(3);

    private static readonly string[] Steps = ["setup", "vn2vn", "login", "fio-write-verify", "dd-write", "dd-verify-1", "lun-reset", "fio-verify-only", "dd-verify-2", "disable"];

    /// <summary>What tshark must not find: a frame it could not dissect, an expert error, or an FCoE CRC it found bad.</summary>
    private const string BadFrames = "_ws.malformed || _ws.expert.severity >= error || fcoe.crc.status == 2";

    /// <summary>What tshark must find, each at least once: the frames were dissected as FIP, FCP and SCSI.</summary>
    private static readonly (string What, string Filter)[] Expected =
    [
        ("FIP VN2VN claim notifications", "fip.opcode == 5 && fip.vn2vn_subcode == 3"),
        ("FIP-encapsulated FLOGIs", "fip.opcode == 2 && fip.ls.subcode == 1 && fcels.opcode == 0x04"),
        ("FIP-encapsulated LS_ACCs", "fip.opcode == 2 && fip.ls.subcode == 2 && fcels.opcode == 0x02"),
        ("PLOGIs", "fcels.opcode == 0x03"),
        ("PRLIs", "fcels.opcode == 0x20"),
        ("FCP_CMND", "fcp.dl"),
        ("FCP_XFER_RDY", "fcp.burstlen"),
        ("FCP_DATA dissected as SCSI data", "fc.r_ctl == 0x01 && fc.type == 0x08 && scsi"),
        ("FCP_RSP", "fcp.status"),
        ("LUN resets", "fcp.mgmt.flags.lu_reset == 1"),
        ("FCP_RSP with a task management response code", "fcp.rsp.flags.res_vld == 1 && fcp.rspcode == 0"),
    ];

    private readonly GuestRun _run = new();
    private NetworkNamespace? _netns;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task LinuxFcoeInitiator_Vn2Vn_LogsInWritesVerifiesResetsTheLunAndVerifiesAgain()
    {
        var total = Stopwatch.StartNew();
        string image = await _run.ImageAsync();

        // The link: one tap in a namespace of our own; the target opens it with an AF_PACKET socket, qemu by name.
        var clock = Stopwatch.StartNew();
        _netns = await NetworkNamespace.CreateAsync(_run, "scst-fcoe");
        // A tap has no flow control (a real FCoE link is lossless through PFC pause frames): its queue towards the guest
        // stands in for it. 1000 frames, the default, overflow when the target answers a few 1 MiB reads at once.
        await _netns.AddTapAsync(Tap, mtu: 9000, queueLength: 10000);

        string capture = _run.Directory.File("fcoe.pcap");
        Process target = _run.StartTarget(
            [
                "--file", _run.Directory.File("lun0.img"), "--size", "256M", "--portal", $"127.0.0.1:{IscsiPort}",
                "--fcoe", Tap, "--fcoe-mode", "vn2vn", "--fcoe-wwpn", TargetWwpn, "--fcoe-capture", capture,
            ],
            _netns.Exec);
        await WaitForTargetAsync(target);
        GuestRun.Report($"namespace {_netns.Name}, target on {Tap} (WWPN {TargetWwpn}): {clock.Elapsed.TotalSeconds:F1} s");

        await File.WriteAllLinesAsync(
            Path.Combine(_run.RunDirectory, "params.sh"),
            [$"LUN_BYTES={LunBytes}", $"TARGET_WWPN={SysfsName(TargetWwpn)}", "LOGIN_S=60"],
            Ct);
        (int qemuExit, string log, string qemuOutput) = await _run.BootAsync(
            image,
            new Dictionary<string, string>
            {
                ["RUN"] = "fcoe-initiator.sh", ["NAME"] = "linux-fcoe-initiator",
                ["NET"] = "tap", ["TAP"] = Tap, ["NETNS"] = _netns.Name, ["MAC"] = GuestMac,
            },
            GuestPatience);

        // The target must still be serving; then it ends, so that its capture is complete. Before that, its packet
        // socket's memory counters: "d" counts the frames the kernel dropped because the socket's buffer was full.
        bool targetRanThrough = !target.HasExited;
        (_, string sockets, _) = await _run.RunAsync(_netns.Exec[0], [.. _netns.Exec.Skip(1), "ss", "-0", "-m", "-n", "-p"], null, TimeSpan.FromSeconds(10));
        string socketMemory = string.Join(" ", SocketMemory().Matches(sockets).Select(m => m.Value));
        GuestRun.Report($"target's packet sockets: {socketMemory}");

        // The tap's counters: TX is towards the guest (dropped: qemu did not read the tap's queue in time).
        (_, string tapStatistics, _) = await _run.RunAsync("ip", ["-n", _netns.Name, "-s", "link", "show", Tap], null, TimeSpan.FromSeconds(10));
        Match tx = TapTransmitted().Match(tapStatistics);
        GuestRun.Report($"tap towards the guest: {(tx.Success ? $"{tx.Groups["packets"].Value} frames, {tx.Groups["dropped"].Value} dropped" : tapStatistics)}");
        int targetExit = await _run.StopTargetAsync(target, TimeSpan.FromSeconds(20));

        List<string> missing = GuestRun.CheckSteps(qemuExit, qemuOutput, log, Steps);
        void Expect(bool condition, string what)
        {
            if (!condition)
            {
                missing.Add(what);
            }
        }

        Match rport = RportLine().Match(log);
        Expect(
            rport.Success && rport.Groups["wwpn"].Value == SysfsName(TargetWwpn) && rport.Groups["state"].Value == "Online" &&
            rport.Groups["roles"].Value.Contains("FCP Target", StringComparison.Ordinal),
            $"RPORT wwpn={SysfsName(TargetWwpn)} state=Online roles=FCP Target (found \"{(rport.Success ? rport.Value.Trim() : "no RPORT line")}\")");
        Expect(FchostLine().IsMatch(log), "an FCHOST line with the guest's port_id and port_name");
        Expect(log.Contains("LINUX-FCOE-INITIATOR PASS", StringComparison.Ordinal), "LINUX-FCOE-INITIATOR PASS");
        Expect(log.Contains("VM-SCRIPT-EXIT rc=0", StringComparison.Ordinal), "VM-SCRIPT-EXIT rc=0");
        Expect(targetRanThrough, "the target still running after the guest powered off");
        Expect(targetExit == 0, $"the target exits with 0 on SIGTERM (it exited with {targetExit})");

        // The capture, as tshark dissects it: one pass counts the frames of every filter (a second lists the bad ones).
        string tsharkLog = string.Empty;
        if (!File.Exists(capture))
        {
            missing.Add($"the target's capture {capture}");
        }
        else
        {
            string[] filters = ["frame", BadFrames, .. Expected.Select(e => e.Filter)];
            (int[]? counts, string error) = await CountFramesAsync(capture, filters);
            if (counts is null)
            {
                missing.Add($"tshark's frame counts of the capture ({error})");
            }
            else
            {
                tsharkLog = $"{counts[0]} frames, {counts[1]} bad: " +
                    string.Join(", ", Expected.Select((e, i) => $"{e.What} {counts[i + 2]}"));
                GuestRun.Report($"capture: {tsharkLog}");
                if (counts[1] > 0)
                {
                    (_, string bad, _) = await _run.RunAsync("tshark", ["-r", capture, "-Y", BadFrames], null, TsharkPatience);
                    missing.Add($"no frame matches \"{BadFrames}\"; {counts[1]} do, the first:{Environment.NewLine}{Head(bad, 40)}");
                }

                for (int i = 0; i < Expected.Length; i++)
                {
                    Expect(counts[i + 2] > 0, $"{Expected[i].What} in the capture ({Expected[i].Filter})");
                }
            }
        }

        GuestRun.Report($"total: {total.Elapsed.TotalSeconds:F1} s");
        if (missing.Count > 0 && File.Exists(capture))
        {
            // The run's directory goes with the test: the capture of the last failed run is worth keeping for Wireshark.
            foreach (string old in Directory.EnumerateFiles(Path.GetTempPath(), "scst-fcoe-*.pcap"))
            {
                File.Delete(old);
            }

            string kept = Path.Combine(Path.GetTempPath(), $"scst-fcoe-{DateTime.UtcNow:yyyyMMdd-HHmmss}.pcap");
            File.Copy(capture, kept, overwrite: true);
            tsharkLog += $"{Environment.NewLine}capture kept in {kept}";
        }

        _run.ThrowIfMissing("The Linux FCoE initiator run (VN2VN)", missing, log, ("capture", tsharkLog), ("target's packet sockets (ss -0 -m)", sockets), ("tap (ip -s link)", tapStatistics));
    }

    // fc_remote_ports and fc_host show a port name as 0x and 16 lower-case hex digits.
    private static string SysfsName(string wwpn) => "0x" + wwpn.Replace(":", string.Empty, StringComparison.Ordinal).ToLowerInvariant();

    private static string Head(string text, int lines) => string.Join(Environment.NewLine, text.Split('\n').Take(lines));

    // tshark -z io,stat with one interval over the whole capture and a column per filter; its one row of numbers holds
    // the frames and bytes of each column: "|   0.0 <> 122.2 |      0 |     0 |      2 |   464 |".
    private async Task<(int[]? Counts, string Error)> CountFramesAsync(string capture, string[] filters)
    {
        (int exit, string output, string errors) = await _run.RunAsync(
            "tshark", ["-r", capture, "-q", "-z", "io,stat,0," + string.Join(',', filters)], null, TsharkPatience);
        string? row = output.Split('\n').LastOrDefault(l => l.Contains("<>", StringComparison.Ordinal));
        if (exit != 0 || row is null)
        {
            return (null, $"exit code {exit}: {errors.Trim()}{Environment.NewLine}{output}");
        }

        string[] cells = row.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (cells.Length != 1 + (2 * filters.Length))
        {
            return (null, $"unexpected row \"{row}\"");
        }

        return (filters.Select((_, i) => int.Parse(cells[1 + (2 * i)], CultureInfo.InvariantCulture)).ToArray(), string.Empty);
    }

    // The target is up when its iSCSI portal listens inside the namespace (the test's own sockets are outside it).
    private async Task WaitForTargetAsync(Process target)
    {
        var deadline = DateTime.UtcNow + TargetPatience;
        string probe = $"exec 3<>/dev/tcp/127.0.0.1/{IscsiPort.ToString(CultureInfo.InvariantCulture)}";
        while (true)
        {
            if (target.HasExited)
            {
                throw new TestAssertionException($"The sample target exited with code {target.ExitCode} before it was up.{Environment.NewLine}{_run.TargetLog()}");
            }

            (int exit, _, _) = await _run.RunAsync(_netns!.Exec[0], [.. _netns.Exec.Skip(1), "bash", "-c", probe], null, TimeSpan.FromSeconds(10));
            if (exit == 0)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TestAssertionException($"The sample target did not listen on 127.0.0.1:{IscsiPort} in {_netns.Name} within {TargetPatience}.{Environment.NewLine}{_run.TargetLog()}");
            }

            await Task.Delay(200, Ct);
        }
    }

    // "TX:  bytes packets errors dropped carrier collsns" and the numbers on the next line.
    [GeneratedRegex(@"TX:[^\n]*\n\s*(?<bytes>\d+)\s+(?<packets>\d+)\s+(?<errors>\d+)\s+(?<dropped>\d+)")]
    private static partial Regex TapTransmitted();

    [GeneratedRegex(@"skmem:\([^)]*\)")]
    private static partial Regex SocketMemory();

    [GeneratedRegex(@"^RPORT id=(?<id>\S+) wwpn=(?<wwpn>\S+) state=(?<state>\S+) roles=(?<roles>.*)$", RegexOptions.Multiline)]
    private static partial Regex RportLine();

    [GeneratedRegex(@"^FCHOST port_id=0x[0-9a-f]+ port_name=0x[0-9a-f]{16} ", RegexOptions.Multiline)]
    private static partial Regex FchostLine();

    public void Dispose()
    {
        // The processes in the namespace end first, or they would keep it alive.
        _run.Dispose();
        _netns?.Dispose();
    }
}
