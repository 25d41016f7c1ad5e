// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Scst.Testing;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Integration.Tests.Spc;

/// <summary>
/// APTPL against a real crash: the sample target runs as a child process with a state directory, initiators talk to it
/// over iSCSI, and the process is ended with SIGKILL (no shutdown code runs). A restart over the same directory must
/// bring back exactly the persistent reservation state that was acknowledged, and a kill in the middle of a PERSISTENT
/// RESERVE OUT must leave the state of the command before it or of the command itself, never a torn file.
/// </summary>
/// <remarks>
/// An iSCSI initiator port is its name and its ISID, so each initiator here logs in again with the ISID it used before
/// the crash, as a real initiator does (open-iscsi keeps one ISID per interface): a registration belongs to that
/// I_T nexus, not to the session that made it.
/// </remarks>
public sealed class AptplCrashTests(ITestOutputHelper output) : IAsyncDisposable
{
    private const string TargetName = "iqn.2026-11.org.scst-dotnet:aptpl";
    private const string InitiatorA = "iqn.2026-01.test:aptpl-a";
    private const string InitiatorB = "iqn.2026-01.test:aptpl-b";
    private const string InitiatorC = "iqn.2026-01.test:aptpl-c";
    private const ulong IsidA = 0x80_0000_A001;
    private const ulong IsidB = 0x80_0000_B001;
    private const ulong IsidC = 0x80_0000_C001;
    private const byte ReservationConflict = 0x18;

    // What the core logs when it restores a state file, and when it refuses one (ReservationLog, event ids 1401 and 1400).
    private const string RestoredMessage = "Restored persistent reservation state of device disk1";
    private const string RefusedMessage = "Persistent reservation state of device disk1 in";
    private const string RefusedReason = "is refused";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _dir = new();
    private readonly List<Process> _processes = [];
    private readonly int _port = FreePort();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string StateDirectory => _dir.File("state");

    [Fact]
    public async Task RegistrationsAndReservation_WithAptpl_SurviveKill9()
    {
        Process target = await StartTargetAsync("before");
        byte[] statusBefore;
        (uint Generation, ulong[] Keys) keysBefore;
        (uint Generation, bool Reserved, ulong Key, int ScopeType) reservationBefore;
        await using (IscsiTestInitiator a = await LoginAsync(InitiatorA, IsidA))
        await using (IscsiTestInitiator b = await LoginAsync(InitiatorB, IsidB))
        {
            (await RegisterAsync(a, 0xA1A1_0000_0000_000A)).Should().Be(ScsiResult.Good);
            (await RegisterAsync(b, 0xB2B2_0000_0000_000B)).Should().Be(ScsiResult.Good);
            ScsiResult reserve = await a.ExecuteAsync(0, Pr.OutCdb(Pr.Reserve, Pr.WriteExclusiveRegistrantsOnly, 24), writeData: Pr.List(0xA1A1_0000_0000_000A, 0), cancellationToken: Ct);
            reserve.Status.Should().Be(ScsiResult.Good);

            keysBefore = await ReadKeysAsync(a);
            reservationBefore = await ReadReservationAsync(b);
            statusBefore = await ReadFullStatusAsync(a);
        }

        output.WriteLine($"before the kill: {Describe(statusBefore)}");
        keysBefore.Keys.Should().Equal(0xA1A1_0000_0000_000A, 0xB2B2_0000_0000_000B);
        reservationBefore.Should().Be((keysBefore.Generation, true, 0xA1A1_0000_0000_000AUL, Pr.WriteExclusiveRegistrantsOnly));

        await KillAsync(target);
        await StartTargetAsync("after");
        Log("after").Should().Contain($"{RestoredMessage}: 2 registrations, reserved: True").And.NotContain(RefusedReason);

        await using IscsiTestInitiator a2 = await LoginAsync(InitiatorA, IsidA);
        await using IscsiTestInitiator b2 = await LoginAsync(InitiatorB, IsidB);
        await using IscsiTestInitiator c2 = await LoginAsync(InitiatorC, IsidC);
        byte[] statusAfter = await ReadFullStatusAsync(c2);
        output.WriteLine($"after the restart: {Describe(statusAfter)}");

        // The same keys in the same order, the same holder and type, and the generation as it was (this core saves
        // PRGENERATION with the registrations and restores it).
        (await ReadKeysAsync(c2)).Should().BeEquivalentTo(keysBefore, o => o.WithStrictOrdering());
        (await ReadReservationAsync(c2)).Should().Be(reservationBefore);
        statusAfter.Should().Equal(statusBefore, "READ FULL STATUS names the same registrants, holder, type and TransportIDs");
        ScsiResult capabilities = await c2.ExecuteAsync(0, Pr.InCdb(2), readLength: 8, cancellationToken: Ct);
        (capabilities.Data[3] & 0x01).Should().Be(1, "PTPL_A: the restored state still persists through power loss");

        // Write Exclusive - Registrants Only: the holder and the other registrant write, the stranger only reads.
        (await WriteAsync(a2)).Status.Should().Be(ScsiResult.Good, "a holds the restored reservation");
        (await WriteAsync(b2)).Status.Should().Be(ScsiResult.Good, "b's restored registration lets it write");
        (await WriteAsync(c2)).Status.Should().Be(ReservationConflict, "c never registered");
        (await c2.ExecuteAsync(0, CdbBuilder.Read10(8, 1), readLength: 512, cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);

        // The holder is recognised by its nexus after the restart: it may release, and then c writes.
        ScsiResult release = await a2.ExecuteAsync(0, Pr.OutCdb(Pr.Release, Pr.WriteExclusiveRegistrantsOnly, 24), writeData: Pr.List(0xA1A1_0000_0000_000A, 0), cancellationToken: Ct);
        release.Status.Should().Be(ScsiResult.Good);
        (await ReadReservationAsync(c2)).Reserved.Should().BeFalse();
        await c2.ClearUnitAttentionAsync(0, Ct); // RESERVATIONS RELEASED
        (await WriteAsync(c2)).Status.Should().Be(ScsiResult.Good);
    }

    [Fact]
    public async Task Kill9DuringPersistentReserveOut_NeverLeavesATornState()
    {
        const int Rounds = 20;
        const ulong KeyBase = 0x5EED_0000_0000_0000;
        int seed = int.TryParse(Environment.GetEnvironmentVariable("SCST_APTPL_CRASH_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int given)
            ? given
            : Random.Shared.Next();
        output.WriteLine($"seed {seed} (set SCST_APTPL_CRASH_SEED to repeat a run)");
        var random = new Random(seed);
        var started = Stopwatch.StartNew();

        // Key n is KeyBase + n and is the n-th REGISTER AND IGNORE EXISTING KEY of the test, so PRGENERATION is n with it.
        ulong? acknowledged = null;
        ulong? inFlight = null;
        int totalAcknowledged = 0;
        // Each start checks what the kill before it left; the last start only checks.
        for (int round = 0; ; round++)
        {
            string log = $"round-{round}";
            Process target = await StartTargetAsync(log);
            string text = Log(log);
            text.Should().NotContain(RefusedReason, "round {0}: the state file must never be damaged", round);

            await using IscsiTestInitiator a = await LoginAsync(InitiatorA, IsidA);
            (uint generation, ulong[] keys) = await ReadKeysAsync(a);
            string found = keys.Length == 0 ? "no key" : $"key {keys[0] - KeyBase} (generation {generation})";
            string[] leftovers = Directory.Exists(StateDirectory)
                ? [.. Directory.EnumerateFileSystemEntries(StateDirectory).Select(e => Path.GetFileName(e)).Where(n => n != "disk1.pr").Order()]
                : [];
            output.WriteLine($"round {round}: found {found}; last acknowledged {KeyName(acknowledged)}, in flight {KeyName(inFlight)}" +
                (leftovers.Length > 0 ? $"; also in the state directory: {string.Join(", ", leftovers)}" : string.Empty));

            if (acknowledged is null && keys.Length == 0)
            {
                text.Should().NotContain(RestoredMessage);
            }
            else
            {
                keys.Should().ContainSingle("round {0}: one initiator port registered", round);
                keys[0].Should().BeOneOf(new[] { acknowledged, inFlight }.OfType<ulong>(), "round {0}: the state is the last acknowledged PR OUT or the one in flight", round);
                generation.Should().Be((uint)(keys[0] - KeyBase), "round {0}: the generation was saved with its key", round);
                text.Should().Contain($"{RestoredMessage}: 1 registrations, reserved: False");
            }

            acknowledged = keys.Length == 0 ? null : keys[0];
            inFlight = null;
            if (round == Rounds)
            {
                target.HasExited.Should().BeFalse("the state the last kill left must not stop a start either");
                break;
            }

            ulong next = (acknowledged ?? KeyBase) + 1;

            // Register new keys back to back until the process dies. The kill waits a random time, then for the next
            // PR OUT to leave, then a random fraction of the time a PR OUT has taken so far: it lands anywhere in the
            // target's handling of that command (decoding, the state file being written, flushed and renamed, the
            // response), not in the idle gap between two commands.
            int delayMs = random.Next(20, 150);
            double fraction = random.NextDouble() * 1.2;
            long sends = 0, latencyTicks = 0, answered = 0, offsetTicks = 0;
            Task kill = Task.Run(async () =>
            {
                await Task.Delay(delayMs, Ct);
                long seen = Interlocked.Read(ref sends);
                long giveUp = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
                while (Interlocked.Read(ref sends) == seen && Stopwatch.GetTimestamp() < giveUp)
                {
                    Thread.SpinWait(20);
                }

                long leftAt = Stopwatch.GetTimestamp();
                long count = Interlocked.Read(ref answered);
                long meanTicks = count == 0 ? Stopwatch.Frequency / 500 : Interlocked.Read(ref latencyTicks) / count;
                offsetTicks = (long)(fraction * meanTicks);
                while (Stopwatch.GetTimestamp() - leftAt < offsetTicks)
                {
                    Thread.SpinWait(10);
                }

                target.Kill();
            }, Ct);
            while (true)
            {
                inFlight = next;
                long sentAt = Stopwatch.GetTimestamp();
                Interlocked.Increment(ref sends);
                byte status;
                try
                {
                    status = await RegisterAsync(a, next);
                }
                catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
                {
                    break; // the target died with this command in flight
                }

                status.Should().Be(ScsiResult.Good, "round {0}: key {1} was refused while the target ran", round, next - KeyBase);
                Interlocked.Add(ref latencyTicks, Stopwatch.GetTimestamp() - sentAt);
                Interlocked.Increment(ref answered);
                acknowledged = next;
                inFlight = null;
                next++;
            }

            await kill;
            await target.WaitForExitAsync(Ct);
            totalAcknowledged += (int)answered;
            output.WriteLine($"round {round}: {answered} PR OUT acknowledged (mean {Micros(answered == 0 ? 0 : latencyTicks / answered)} µs); " +
                $"killed {Micros(offsetTicks)} µs after key {KeyName(inFlight)} left");
        }

        output.WriteLine($"{Rounds} kills, {totalAcknowledged} PR OUT acknowledged, {started.Elapsed.TotalSeconds:F1} s");

        static long Micros(long ticks) => ticks * 1_000_000 / Stopwatch.Frequency;

        string KeyName(ulong? key) => key is { } k ? (k - KeyBase).ToString(CultureInfo.InvariantCulture) : "none";
    }

    private static async Task<byte> RegisterAsync(IscsiTestInitiator initiator, ulong key)
    {
        ScsiResult r = await initiator.ExecuteAsync(0, Pr.OutCdb(Pr.RegisterAndIgnore, 0, 24), writeData: Pr.List(0, key, Pr.Aptpl), cancellationToken: Ct);
        return r.Status;
    }

    private static async Task<(uint Generation, ulong[] Keys)> ReadKeysAsync(IscsiTestInitiator initiator)
    {
        ScsiResult r = await initiator.ExecuteAsync(0, Pr.InCdb(0), readLength: 8192, cancellationToken: Ct);
        r.Status.Should().Be(ScsiResult.Good);
        int length = (int)BinaryPrimitives.ReadUInt32BigEndian(r.Data.AsSpan(4));
        ulong[] keys = [.. Enumerable.Range(0, length / 8).Select(i => BinaryPrimitives.ReadUInt64BigEndian(r.Data.AsSpan(8 + (8 * i))))];
        return (BinaryPrimitives.ReadUInt32BigEndian(r.Data), keys);
    }

    private static async Task<(uint Generation, bool Reserved, ulong Key, int ScopeType)> ReadReservationAsync(IscsiTestInitiator initiator)
    {
        ScsiResult r = await initiator.ExecuteAsync(0, Pr.InCdb(1), readLength: 8192, cancellationToken: Ct);
        r.Status.Should().Be(ScsiResult.Good);
        uint generation = BinaryPrimitives.ReadUInt32BigEndian(r.Data);
        return BinaryPrimitives.ReadUInt32BigEndian(r.Data.AsSpan(4)) == 0
            ? (generation, false, 0, 0)
            : (generation, true, BinaryPrimitives.ReadUInt64BigEndian(r.Data.AsSpan(8)), r.Data[21]);
    }

    // READ FULL STATUS, cut to the length the target reports.
    private static async Task<byte[]> ReadFullStatusAsync(IscsiTestInitiator initiator)
    {
        ScsiResult r = await initiator.ExecuteAsync(0, Pr.InCdb(3), readLength: 8192, cancellationToken: Ct);
        r.Status.Should().Be(ScsiResult.Good);
        return r.Data[..(8 + (int)BinaryPrimitives.ReadUInt32BigEndian(r.Data.AsSpan(4)))];
    }

    // One line per READ FULL STATUS descriptor: key, holder, ALL_TG_PT, scope/type, relative target port, initiator port.
    private static string Describe(byte[] status)
    {
        var lines = new List<string> { $"generation {BinaryPrimitives.ReadUInt32BigEndian(status)}" };
        for (int offset = 8; offset + 24 <= status.Length;)
        {
            ReadOnlySpan<byte> d = status.AsSpan(offset);
            int idLength = (int)BinaryPrimitives.ReadUInt32BigEndian(d[20..]);
            string id = System.Text.Encoding.ASCII.GetString(d.Slice(28, Math.Max(0, idLength - 4))).TrimEnd('\0');
            lines.Add($"key {BinaryPrimitives.ReadUInt64BigEndian(d):X16} holder {d[12] & 1} all_tg_pt {(d[12] >> 1) & 1} " +
                $"scope/type {d[13]:X2} port {BinaryPrimitives.ReadUInt16BigEndian(d[18..])} {id}");
            offset += 24 + idLength;
        }

        return string.Join("; ", lines);
    }

    private static async Task<ScsiResult> WriteAsync(IscsiTestInitiator initiator) =>
        await initiator.ExecuteAsync(0, CdbBuilder.Write10(8, 1), writeData: new byte[512], cancellationToken: Ct);

    // A session of one initiator port, with the unit attention of the new nexus (power on after a restart) consumed.
    private async Task<IscsiTestInitiator> LoginAsync(string initiatorName, ulong isid)
    {
        IscsiTestInitiator i = await IscsiTestInitiator.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _port), Ct);
        i.Isid = isid;
        Scst.Testing.Iscsi.LoginResult login = await i.LoginAsync(IscsiTestInitiator.NormalKeys(TargetName, initiatorName), Ct);
        login.Status.Should().Be(LoginStatus.Success);
        i.ReceiveTimeout = TimeSpan.FromSeconds(30);
        await i.ClearUnitAttentionAsync(0, Ct);
        return i;
    }

    private static async Task KillAsync(Process target)
    {
        target.Kill(); // SIGKILL: no shutdown code of the target runs
        await target.WaitForExitAsync(Ct);
    }

    // The sample target over a sparse image and the state directory of this test, on the same port each time; returns
    // once it serves (its log says so), or fails with its log.
    private async Task<Process> StartTargetAsync(string logName)
    {
        string exe = SamplePrograms.Find("Scst.Samples.Target", "Scst.Samples.Target");

        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardInput = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec \"$0\" \"$@\" >\"" + _dir.File(logName + ".log") + "\" 2>&1");
        foreach (string a in new[]
        {
            exe, "--file", _dir.File("disk.img"), "--size", "16M", "--portal", $"127.0.0.1:{_port}", "--target", TargetName,
            "--state-dir", StateDirectory, "--nop-in-interval", "0",
        })
        {
            info.ArgumentList.Add(a);
        }

        Process p = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {exe}");
        _processes.Add(p);
        var deadline = DateTime.UtcNow + Patience;
        while (!Log(logName).Contains("Serving", StringComparison.Ordinal))
        {
            if (p.HasExited || DateTime.UtcNow > deadline)
            {
                throw new TestAssertionException($"The target did not start ({(p.HasExited ? $"exit code {p.ExitCode}" : $"waited {Patience}")}).{Environment.NewLine}{Log(logName)}");
            }

            await Task.Delay(20, Ct);
        }

        return p;
    }

    private string Log(string name)
    {
        string path = _dir.File(name + ".log");
        return File.Exists(path) ? File.ReadAllText(path) : string.Empty;
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
