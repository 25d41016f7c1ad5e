// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Scst.Core;
using Scst.Integration.Tests.Fixtures;
using Scst.Integration.Tests.Iscsi;
using Scst.Integration.Tests.Spc;
using Scst.Testing;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Integration.Tests;

/// <summary>
/// The host stops while initiators keep 32 WRITEs in flight (4 sessions of 8, each command on a block of its own, every
/// block naming its LBA and the generation that wrote it). The stop must end within the fixture's budget, leave no
/// command inside the target, answer or drop every command (never leave one hanging), and keep every write an initiator
/// saw GOOD for: the backing file, read once the host is gone, holds for each block the last generation acknowledged,
/// or the one in flight after it, and never anything else. An initiator that logs out when asked (Asynchronous Message)
/// gets an answer for every command; one that ignores the request is dropped when its time is up.
/// </summary>
public sealed class GracefulStopTests(ITestOutputHelper output)
{
    private const int Sessions = 4;
    private const int Depth = 8;
    private const int BlocksPerSlot = 32;
    private const int Block = ScstTargetFixture.BlockSize;
    private const uint FirstLba = 1_000_000;
    private const int Blocks = Sessions * Depth * BlocksPerSlot;

    // Enough writes that every block was written and the ones in flight are rewrites of acknowledged ones.
    private const int WritesBeforeStop = 3 * Blocks;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("write_through=0", true)]
    [InlineData("write_through=0", false)]
    [InlineData("write_through=1", true)]
    [InlineData("write_through=1", false)]
    [InlineData("write_through=0 async=1", false)]
    [InlineData("write_through=0 io_engine=io_uring", false)]
    public async Task Stop_WithWritesInFlight_KeepsEveryAcknowledgedWrite(string device, bool initiatorsLogOut)
    {
        using var directory = new TempDirectory();
        string image = directory.File("disk.img");
        var fixture = new StopFixture(image, ParseParameters(device));
        await fixture.InitializeAsync();
        ScsiDevice disk = fixture.Engine.FindDevice("disk1")!;
        var ledger = new Ledger();
        var sessions = new List<LoadSession>();
        for (int s = 0; s < Sessions; s++)
        {
            sessions.Add(await LoadSession.StartAsync(fixture, s, ledger, initiatorsLogOut));
        }

        await WaitUntilAsync(() => ledger.Acknowledged >= WritesBeforeStop, sessions);
        long acknowledgedBeforeStop = ledger.Acknowledged;

        TimeSpan elapsed = await fixture.StopHostAsync();
        SessionEnd[] ends = await Task.WhenAll(sessions.Select(s => s.Completion.WaitAsync(Patience, Ct)));
        long inTaskSets = disk.CommandsInTaskSets;
        long buffers = fixture.Engine.OutstandingBuffers;
        int connections = fixture.IscsiDriver.ConnectionCount;
        fixture.DisposeHost();
        byte[] file = ReadBlocks(image);

        output.WriteLine($"{device}, initiators {(initiatorsLogOut ? "log out" : "ignore the logout request")}: stop took {elapsed.TotalMilliseconds:F0} ms; " +
            $"{acknowledgedBeforeStop} writes acknowledged before it, {ledger.Acknowledged} in all; {string.Join("; ", ends.Select(e => e.ToString()))}");
        elapsed.Should().BeLessThan(ScstTargetFixture.StopBudget);
        inTaskSets.Should().Be(0, "no command is left in the device's task sets once the host stopped");
        buffers.Should().Be(0, "every command returned its data buffer");
        connections.Should().Be(0);
        ends.Should().OnlyContain(e => e.Closed, "the target closes every connection when it stops");
        ends.SelectMany(e => e.OtherStatuses).Should().BeEmpty("a write ends GOOD or without an answer when its connection is dropped");
        if (initiatorsLogOut)
        {
            ends.Should().OnlyContain(e => e.LogoutRequested && e.LoggedOut && e.Unanswered == 0,
                "an initiator that logs out when asked has every command answered, then its logout");
        }
        else
        {
            ends.Should().OnlyContain(e => e.LogoutRequested, "the target asks every Normal session to log out");
        }

        ledger.Check(file).Should().BeEmpty("every acknowledged write is in the file, and nothing else is");
        await fixture.DisposeAsync();
    }

    [Fact]
    public async Task Stop_AptplRegistration_IsThereWhenANewHostStartsOnTheDevice()
    {
        const ulong Key = 0x5709_0000_0000_00A1;
        using var directory = new TempDirectory();
        string image = directory.File("disk.img");
        string state = directory.File("state");
        var first = new StopFixture(image, new Dictionary<string, string>(), state);
        await first.InitializeAsync();
        await using (IscsiTestInitiator a = await LoginAsync(first, 0x80_0000_57A1))
        {
            (await a.ExecuteAsync(0, Pr.OutCdb(Pr.RegisterAndIgnore, 0, 24), writeData: Pr.List(0, Key, Pr.Aptpl), cancellationToken: Ct))
                .Status.Should().Be(ScsiResult.Good);
            (await a.ExecuteAsync(0, Pr.OutCdb(Pr.Reserve, Pr.WriteExclusive, 24), writeData: Pr.List(Key, 0), cancellationToken: Ct))
                .Status.Should().Be(ScsiResult.Good);

            // The session is still open when the host stops: the stop asks it to log out and drops it.
            (await first.StopHostAsync()).Should().BeLessThan(ScstTargetFixture.StopBudget);
        }

        await first.DisposeAsync();

        var second = new StopFixture(image, new Dictionary<string, string>(), state);
        await second.InitializeAsync();
        await using IscsiTestInitiator b = await LoginAsync(second, 0x80_0000_57B2);
        ScsiResult keys = await b.ExecuteAsync(0, Pr.InCdb(0), readLength: 64, cancellationToken: Ct);
        ScsiResult reservation = await b.ExecuteAsync(0, Pr.InCdb(1), readLength: 64, cancellationToken: Ct);
        ScsiResult write = await b.ExecuteAsync(0, Cdbs.Write10(8, 1), writeData: new byte[Block], cancellationToken: Ct);

        keys.Status.Should().Be(ScsiResult.Good);
        BinaryPrimitives.ReadUInt32BigEndian(keys.Data.AsSpan(4)).Should().Be(8, "one registration came back");
        BinaryPrimitives.ReadUInt64BigEndian(keys.Data.AsSpan(8)).Should().Be(Key);
        BinaryPrimitives.ReadUInt32BigEndian(reservation.Data.AsSpan(4)).Should().Be(16, "the reservation came back");
        BinaryPrimitives.ReadUInt64BigEndian(reservation.Data.AsSpan(8)).Should().Be(Key);
        write.Status.Should().Be(0x18, "another initiator meets the restored Write Exclusive reservation");
        await second.DisposeAsync();
    }

    private static async Task<IscsiTestInitiator> LoginAsync(ScstTargetFixture fixture, ulong isid)
    {
        IscsiTestInitiator initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        initiator.Isid = isid;
        string name = $"{IscsiTestInitiator.DefaultInitiatorName}-{isid:x}";
        (await initiator.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, name), Ct)).Status.Should().Be(LoginStatus.Success);
        await initiator.ClearUnitAttentionAsync(0, Ct);
        return initiator;
    }

    private static Dictionary<string, string> ParseParameters(string text) =>
        text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=')).ToDictionary(p => p[0], p => p[1]);

    private static byte[] ReadBlocks(string image)
    {
        using FileStream stream = File.OpenRead(image);
        byte[] blocks = new byte[Blocks * Block];
        stream.Position = FirstLba * (long)Block;
        stream.ReadExactly(blocks);
        return blocks;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, List<LoadSession> sessions)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (sessions.FirstOrDefault(s => s.Completion.IsCompleted) is { } ended)
            {
                throw new TestAssertionException($"A session ended before the stop: {await ended.Completion}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TestAssertionException($"The load did not reach {WritesBeforeStop} acknowledged writes within {Patience}.");
            }

            await Task.Delay(10, Ct);
        }
    }

    /// <summary>The block written to <paramref name="lba"/> by generation <paramref name="generation"/>: a line naming both, repeated.</summary>
    private static byte[] Pattern(uint lba, int generation)
    {
        byte[] line = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"LBA {lba:D10} generation {generation:D6}\n"));
        byte[] block = new byte[Block];
        for (int offset = 0; offset < Block; offset += line.Length)
        {
            line.AsSpan(0, Math.Min(line.Length, Block - offset)).CopyTo(block.AsSpan(offset));
        }

        return block;
    }

    /// <summary>The generation whose pattern <paramref name="block"/> holds: 0 when it is all zeros, -1 when it is neither.</summary>
    private static int GenerationIn(ReadOnlySpan<byte> block, uint lba)
    {
        if (!block.ContainsAnyExcept((byte)0))
        {
            return 0;
        }

        string head = Encoding.ASCII.GetString(block[..32]);
        return head.StartsWith(string.Create(CultureInfo.InvariantCulture, $"LBA {lba:D10} generation "), StringComparison.Ordinal)
            && int.TryParse(head.AsSpan(26, 6), NumberStyles.None, CultureInfo.InvariantCulture, out int generation)
            && block.SequenceEqual(Pattern(lba, generation)) ? generation : -1;
    }

    /// <summary>How one session's load ended.</summary>
    private sealed record SessionEnd(int Session, bool LogoutRequested, bool LoggedOut, bool Closed, int Answered, int Unanswered, IReadOnlyList<string> OtherStatuses)
    {
        public override string ToString() =>
            $"session {Session}: {Answered} answered, {Unanswered} unanswered, logout {(LogoutRequested ? "requested" : "not requested")}" +
            $"{(LoggedOut ? ", logged out" : string.Empty)}{(Closed ? ", closed" : ", still open")}" +
            (OtherStatuses.Count > 0 ? $", other statuses: {string.Join(", ", OtherStatuses)}" : string.Empty);
    }

    /// <summary>
    /// For each block: the last generation sent to it and the last one acknowledged GOOD. Each block belongs to one slot of
    /// one session, which has at most one write in flight, so both only grow and differ by one at most.
    /// </summary>
    private sealed class Ledger
    {
        private readonly int[] _sent = new int[Blocks];
        private readonly int[] _acknowledged = new int[Blocks];
        private long _count;

        public long Acknowledged => Interlocked.Read(ref _count);

        public void Sent(int index, int generation) => Volatile.Write(ref _sent[index], generation);

        public void Good(int index, int generation)
        {
            Volatile.Write(ref _acknowledged[index], generation);
            Interlocked.Increment(ref _count);
        }

        /// <summary>Every block whose content is not the last acknowledged generation or the one sent after it.</summary>
        public List<string> Check(byte[] file)
        {
            var wrong = new List<string>();
            for (int i = 0; i < Blocks; i++)
            {
                uint lba = FirstLba + (uint)i;
                int found = GenerationIn(file.AsSpan(i * Block, Block), lba);
                int acknowledged = Volatile.Read(ref _acknowledged[i]);
                int sent = Volatile.Read(ref _sent[i]);
                if (found != acknowledged && found != sent)
                {
                    wrong.Add(found < 0
                        ? $"LBA {lba}: neither zeros nor a pattern of its own (acknowledged generation {acknowledged}, sent {sent})"
                        : $"LBA {lba}: generation {found}, but {acknowledged} was acknowledged and {sent} sent last");
                }
            }

            return wrong;
        }
    }

    /// <summary>
    /// One logged-in session keeping <see cref="Depth"/> writes in flight, one per slot; slot k of session s writes the
    /// blocks FirstLba + (s * Depth + k) * BlocksPerSlot onwards, in turn. When asked to log out it either stops sending,
    /// waits for its answers and logs out, or carries on until the target drops it.
    /// </summary>
    private sealed class LoadSession
    {
        private readonly IscsiTestInitiator _initiator;
        private readonly Ledger _ledger;
        private readonly int _session;
        private readonly List<string> _otherStatuses = [];
        private volatile bool _stopSending;
        private int _answered;
        private int _unanswered;

        private LoadSession(IscsiTestInitiator initiator, int session, Ledger ledger)
        {
            _initiator = initiator;
            _session = session;
            _ledger = ledger;
        }

        public Task<SessionEnd> Completion { get; private set; } = null!;

        public static async Task<LoadSession> StartAsync(ScstTargetFixture fixture, int session, Ledger ledger, bool logOut)
        {
            IscsiTestInitiator initiator = await LoginAsync(fixture, 0x80_0000_5700 + (ulong)session);
            var load = new LoadSession(initiator, session, ledger);
            load.Completion = Task.Run(() => load.RunAsync(logOut), Ct);
            return load;
        }

        private async Task<SessionEnd> RunAsync(bool logOut)
        {
            await using IscsiTestInitiator initiator = _initiator;
            using var pipeline = new PipelinedCommands(initiator, () => 0);
            Task[] slots = [.. Enumerable.Range(0, Depth).Select(k => Task.Run(() => SlotAsync(pipeline, k), Ct))];
            Task all = Task.WhenAll(slots);
            bool loggedOut = false;
            if (logOut)
            {
                await Task.WhenAny(pipeline.LogoutRequested, all);
                _stopSending = true;
                await all;
                if (pipeline.LogoutRequested.IsCompletedSuccessfully)
                {
                    await pipeline.StopAsync(Patience, Ct);
                    loggedOut = (await initiator.LogoutAsync(Ct)).Response == LogoutResponse.Success;
                }
            }
            else
            {
                await all;
            }

            bool closed;
            if (loggedOut)
            {
                closed = await initiator.WaitForCloseAsync(Patience, Ct);
            }
            else
            {
                // The receive loop is the connection's reader until the target closes it.
                Func<Task> receiving = () => pipeline.Receiving.WaitAsync(Patience, Ct);
                closed = (await receiving.Should().ThrowAsync<IOException>()).Which.Message.Contains("closed the connection", StringComparison.Ordinal);
            }

            return new SessionEnd(_session, pipeline.LogoutRequested.IsCompletedSuccessfully, loggedOut, closed, _answered, _unanswered, _otherStatuses);
        }

        private async Task SlotAsync(PipelinedCommands pipeline, int slot)
        {
            int first = ((_session * Depth) + slot) * BlocksPerSlot;
            for (int n = 0; !_stopSending; n++)
            {
                int index = first + (n % BlocksPerSlot);
                int generation = (n / BlocksPerSlot) + 1;
                uint lba = FirstLba + (uint)index;
                _ledger.Sent(index, generation);
                ScsiResult result;
                try
                {
                    PipelinedCommand command = await pipeline.SendAsync(Cdbs.Write10(lba, 1), Pattern(lba, generation), cancellationToken: Ct);
                    result = await command.Result.WaitAsync(Patience, Ct);
                }
                catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
                {
                    Interlocked.Increment(ref _unanswered); // the target closed the connection with this write in flight
                    return;
                }

                Interlocked.Increment(ref _answered);
                if (result.Status == ScsiResult.Good)
                {
                    _ledger.Good(index, generation);
                }
                else
                {
                    lock (_otherStatuses)
                    {
                        _otherStatuses.Add($"LBA {lba}: status 0x{result.Status:x2}, sense {result.SenseCodes}");
                    }

                    return;
                }
            }
        }
    }

    /// <summary>The whole stack on a backing file of the test's, with the device's parameters (and a state directory) of the test's.</summary>
    private sealed class StopFixture(string image, IReadOnlyDictionary<string, string> device, string? stateDirectory = null) : ScstTargetFixture
    {
        protected override void ConfigureDevice(IDictionary<string, string> parameters)
        {
            parameters["filename"] = image;
            foreach ((string key, string value) in device)
            {
                parameters[key] = value;
            }
        }

        protected override void ConfigureServices(IServiceCollection services)
        {
            if (stateDirectory is not null)
            {
                services.Configure<ScstOptions>(o => o.StateDirectory = stateDirectory);
            }
        }
    }
}
