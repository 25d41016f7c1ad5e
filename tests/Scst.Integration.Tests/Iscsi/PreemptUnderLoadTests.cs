// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using Scst.Integration.Tests.Fixtures;
using Scst.Integration.Tests.Spc;
using Scst.Testing;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>
/// Over real TCP, two initiators write to their own blocks with several commands in flight each while B preempts A's
/// persistent reservation (PREEMPT, or PREEMPT AND ABORT with TAS set). A logical clock shared by both connections
/// orders what each initiator saw: a command sent after B had the preempt's GOOD must find the new state. Checks: every
/// A write sent after that ends RESERVATION CONFLICT, never GOOD; A writes answered before B sent the preempt are GOOD;
/// B's writes succeed once it holds the reservation (and, under Write Exclusive, conflict before); with PREEMPT AND
/// ABORT an A write waiting in the target for its data ends TASK ABORTED and nothing of A reaches the medium after the
/// preempt's GOOD; A finds REGISTRATIONS PREEMPTED on its first command that does not conflict; and A's blocks hold
/// only data of A writes that the target did not refuse.
/// </summary>
public sealed class PreemptUnderLoadTests(ScstTargetFixture fixture) : IClassFixture<ScstTargetFixture>
{
    private const int Block = ScstTargetFixture.BlockSize;
    private const int Blocks = 64;
    private const int Depth = 8;
    private const int WritesPerPhase = 96;
    private const uint FirstA = 300_000;
    private const uint FirstB = 300_200;
    private const ulong KeyA = 0xA0A0_0000_0000_000A;
    private const ulong KeyB = 0xB0B0_0000_0000_000B;
    private const int ParkedSequence = -1;
    private const byte Conflict = 0x18;
    private const byte TaskAborted = 0x40;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private long _clock;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(Pr.WriteExclusive, Pr.Preempt)]
    [InlineData(Pr.WriteExclusive, Pr.PreemptAndAbort)]
    [InlineData(Pr.ExclusiveAccessRegistrantsOnly, Pr.Preempt)]
    [InlineData(Pr.ExclusiveAccessRegistrantsOnly, Pr.PreemptAndAbort)]
    public async Task PreemptWhileBothWrite_ThePreemptedInitiatorGetsConflictNeverGood(int type, int serviceAction)
    {
        bool abort = serviceAction == Pr.PreemptAndAbort;
        byte caseId = (byte)((type << 4) | serviceAction);
        await using IscsiTestInitiator a = await LoginAsync($"iqn.2026-11.org.scst-dotnet:preempt-a-{caseId:x2}");
        await using IscsiTestInitiator b = await LoginAsync($"iqn.2026-11.org.scst-dotnet:preempt-b-{caseId:x2}");
        await StartCleanAsync(a, b);
        await GoodAsync(a, Pr.OutCdb(Pr.Reserve, type, 24), Pr.List(KeyA, 0));
        byte[][] initialA = await ReadBlocksAsync(b, FirstA, Blocks + 1);
        byte[][] initialB = await ReadBlocksAsync(b, FirstB, Blocks);

        using var pipeA = new PipelinedCommands(a, Tick);
        using var pipeB = new PipelinedCommands(b, Tick);
        var writerA = new Writer(0xA, caseId, FirstA, pipeA);
        var writerB = new Writer(0xB, caseId, FirstB, pipeB);
        using var stop = new CancellationTokenSource();
        Task loopA = Task.Run(() => WriteLoopAsync(writerA, stop.Token), Ct);
        Task loopB = Task.Run(() => WriteLoopAsync(writerB, stop.Token), Ct);
        await WaitUntilAsync(() => writerA.Answered(sentAfter: 0) >= WritesPerPhase && writerB.Answered(sentAfter: 0) >= WritesPerPhase, "both initiators write before the preempt", loopA, loopB);

        // One A write waits in the target for its data (R2T answered later, or never) while B preempts.
        PipelinedCommand parked = await pipeA.SendAsync(Cdbs.Write10(FirstA + Blocks, 1), Pattern(0xA, caseId, ParkedSequence), holdData: true, cancellationToken: Ct);
        await parked.DataRequested.WaitAsync(Timeout, Ct);
        PipelinedCommand preempt = await pipeB.SendAsync(Pr.OutCdb(serviceAction, type, 24), Pr.List(KeyB, KeyA), cancellationToken: Ct);
        ScsiResult preempted = await preempt.Result.WaitAsync(Timeout, Ct);
        PipelinedCommand afterPreempt = await pipeB.SendAsync(Cdbs.Read10(FirstA, Blocks + 1), readLength: (Blocks + 1) * Block, cancellationToken: Ct);
        if (!abort)
        {
            await pipeA.SendHeldDataAsync(parked, Ct);
        }

        ScsiResult parkedResult = await parked.Result.WaitAsync(Timeout, Ct);
        long preemptSent = preempt.SentAt;
        long preemptDone = preempt.AnsweredAt;
        await WaitUntilAsync(() => writerA.Answered(sentAfter: preemptDone) >= WritesPerPhase && writerB.Answered(sentAfter: preemptDone) >= WritesPerPhase, "both initiators write after the preempt", loopA, loopB);
        await stop.CancelAsync();
        await Task.WhenAll(loopA, loopB).WaitAsync(Timeout, Ct);
        await pipeA.StopAsync(Timeout, Ct);
        await pipeB.StopAsync(Timeout, Ct);
        ScsiResult snapshot = await afterPreempt.Result;

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"A: {writerA.Summary(preemptSent, preemptDone)}; parked write {Describe(parkedResult)}; B: {writerB.Summary(preemptSent, preemptDone)}");
        preempted.Status.Should().Be(ScsiResult.Good, "B holds a registration with its key and A's key is registered");
        snapshot.Status.Should().Be(ScsiResult.Good, "the holder may read");

        foreach ((int sequence, int block, PipelinedCommand command) in writerA.Writes())
        {
            ScsiResult r = await command.Result;
            string what = $"A write #{sequence} (block {block}, sent at {command.SentAt}, answered at {command.AnsweredAt}; preempt sent at {preemptSent}, GOOD at {preemptDone})";
            if (command.SentAt > preemptDone)
            {
                Describe(r).Should().Be("RESERVATION CONFLICT", "{0} was sent after the preempt completed", what);
            }
            else if (command.AnsweredAt < preemptSent)
            {
                Describe(r).Should().Be("GOOD", "{0} was answered before the preempt was sent", what);
            }
            else
            {
                r.Status.Should().BeOneOf(abort ? new[] { ScsiResult.Good, Conflict, TaskAborted } : new[] { ScsiResult.Good, Conflict }, "{0} ran while the preempt did, and ends {1}", what, Describe(r));
            }
        }

        if (abort)
        {
            Describe(parkedResult).Should().Be("TASK ABORTED", "PREEMPT AND ABORT aborts A's write waiting for its data, and TAS is set");
        }
        else
        {
            parkedResult.Status.Should().BeOneOf(new[] { ScsiResult.Good, Conflict }, "a write received before a PREEMPT may run or conflict, and ends {0}", Describe(parkedResult));
        }

        foreach ((int sequence, int block, PipelinedCommand command) in writerB.Writes())
        {
            ScsiResult r = await command.Result;
            string what = $"B write #{sequence} (block {block}, sent at {command.SentAt}, answered at {command.AnsweredAt}; preempt sent at {preemptSent}, GOOD at {preemptDone})";
            if (command.SentAt > preemptDone || type == Pr.ExclusiveAccessRegistrantsOnly)
            {
                Describe(r).Should().Be("GOOD", "{0}: B is the holder after the preempt, and a registrant under Exclusive Access - Registrants Only", what);
            }
            else if (command.AnsweredAt < preemptSent)
            {
                Describe(r).Should().Be("RESERVATION CONFLICT", "{0}: under Write Exclusive only the holder writes", what);
            }
            else
            {
                r.Status.Should().BeOneOf(new[] { ScsiResult.Good, Conflict }, "{0} ran while the preempt did, and ends {1}", what, Describe(r));
            }
        }

        ScsiResult unitAttention = await a.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct);
        Describe(unitAttention).Should().Be("CHECK CONDITION 6/2A/05", "A's registration was preempted, and its writes since conflicted");
        Describe(await a.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct)).Should().Be("GOOD");
        Describe(await b.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct)).Should().Be("GOOD", "nothing happened to B's nexus");

        byte[][] finalA = await ReadBlocksAsync(b, FirstA, Blocks + 1);
        byte[][] finalB = await ReadBlocksAsync(b, FirstB, Blocks);
        CheckBlocks("A", finalA, initialA, [.. writerA.Writes(), (ParkedSequence, Blocks, parked)], caseId, 0xA);
        CheckBlocks("B", finalB, initialB, writerB.Writes(), caseId, 0xB);
        if (abort)
        {
            for (int i = 0; i <= Blocks; i++)
            {
                Describe(finalA[i]).Should().Be(
                    Describe(snapshot.Data.AsSpan(i * Block, Block).ToArray()),
                    "A's block {0} read just after PREEMPT AND ABORT completed must not change afterwards: no aborted A write may still reach the medium", i);
            }
        }

        await GoodAsync(b, Pr.OutCdb(Pr.Clear, 0, 24), Pr.List(KeyB, 0));
    }

    private long Tick() => Interlocked.Increment(ref _clock);

    private async Task<IscsiTestInitiator> LoginAsync(string name)
    {
        var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        (await initiator.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, name), Ct)).Status.Should().Be(LoginStatus.Success);
        initiator.ReceiveTimeout = Timeout;
        await ClearUnitAttentionsAsync(initiator);
        return initiator;
    }

    // TAS set, so that A's aborted commands end with TASK ABORTED; no registration or reservation left by an earlier
    // case; A and B registered; no unit attention pending for either.
    private static async Task StartCleanAsync(IscsiTestInitiator a, IscsiTestInitiator b)
    {
        await GoodAsync(b, Pr.OutCdb(Pr.RegisterAndIgnore, 0, 24), Pr.List(0, KeyB));
        await GoodAsync(b, Pr.OutCdb(Pr.Clear, 0, 24), Pr.List(KeyB, 0));
        byte[] controlPage = CdbBuilder.ControlModePage(taskAbortedStatus: true);
        await GoodAsync(b, CdbBuilder.ModeSelect6((byte)controlPage.Length), controlPage);
        await GoodAsync(b, Pr.OutCdb(Pr.RegisterAndIgnore, 0, 24), Pr.List(0, KeyB));
        await ClearUnitAttentionsAsync(a);
        await GoodAsync(a, Pr.OutCdb(Pr.RegisterAndIgnore, 0, 24), Pr.List(0, KeyA));
    }

    private static async Task ClearUnitAttentionsAsync(IscsiTestInitiator initiator)
    {
        ScsiResult r = await initiator.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct);
        for (int i = 0; i < 4 && r.Status != ScsiResult.Good; i++)
        {
            r.SenseCodes.Key.Should().Be(0x06, "only unit attentions are pending");
            r = await initiator.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct);
        }

        Describe(r).Should().Be("GOOD");
    }

    private static async Task GoodAsync(IscsiTestInitiator initiator, byte[] cdb, byte[] data) =>
        Describe(await initiator.ExecuteAsync(0, cdb, writeData: data, cancellationToken: Ct)).Should().Be("GOOD", "CDB {0}", Convert.ToHexString(cdb));

    private static async Task<byte[][]> ReadBlocksAsync(IscsiTestInitiator initiator, uint lba, int count)
    {
        ScsiResult r = await initiator.ExecuteAsync(0, Cdbs.Read10(lba, (ushort)count), readLength: count * Block, cancellationToken: Ct);
        Describe(r).Should().Be("GOOD");
        return [.. Enumerable.Range(0, count).Select(i => r.Data.AsSpan(i * Block, Block).ToArray())];
    }

    // Keeps Depth writes in flight, each to the next block of the writer's range with its own pattern; a block's next
    // write leaves only once the previous write to that block has its answer, so that a block's writes are ordered.
    private static async Task WriteLoopAsync(Writer writer, CancellationToken stop)
    {
        using var window = new SemaphoreSlim(Depth);
        var lastToBlock = new Task[Blocks];
        for (int n = 0; ; n++)
        {
            await window.WaitAsync(Ct);
            if (stop.IsCancellationRequested)
            {
                break;
            }

            int block = n % Blocks;
            if (lastToBlock[block] is { } previous)
            {
                await previous;
            }

            PipelinedCommand command = await writer.Pipeline.SendAsync(Cdbs.Write10(writer.FirstLba + (uint)block, 1), Pattern(writer.Id, writer.CaseId, n), cancellationToken: Ct);
            writer.Add(n, block, command);
            lastToBlock[block] = command.Result.ContinueWith(_ => window.Release(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        await Task.WhenAll(lastToBlock.Where(t => t is not null)).WaitAsync(Timeout, Ct);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what, params Task[] loops)
    {
        DateTime deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            foreach (Task loop in loops.Where(l => l.IsCompleted))
            {
                await loop; // a writer that failed shows why
                throw new TestAssertionException($"A write loop ended while waiting until {what}.");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Not within {Timeout}: {what}.");
            }

            await Task.Delay(5, Ct);
        }
    }

    // Each block holds the pattern of the last GOOD write to it (its initial content when there is none), or the
    // pattern of a later write that ended TASK ABORTED: SAM-5 lets an aborted command have reached the medium before
    // it was aborted. Never that of a write refused with RESERVATION CONFLICT.
    private static void CheckBlocks(string name, byte[][] final, byte[][] initial, IEnumerable<(int Sequence, int Block, PipelinedCommand Command)> writes, byte caseId, byte writer)
    {
        var byBlock = writes.GroupBy(w => w.Block).ToDictionary(g => g.Key, g => g.OrderBy(w => w.Sequence == ParkedSequence ? int.MaxValue : w.Sequence).ToList());
        for (int i = 0; i < final.Length; i++)
        {
            List<(int Sequence, int Block, PipelinedCommand Command)> toBlock = byBlock.GetValueOrDefault(i) ?? [];
            int lastGood = toBlock.FindLastIndex(w => w.Command.Result.Result.Status == ScsiResult.Good);
            var allowed = new List<string> { Describe(lastGood < 0 ? initial[i] : Pattern(writer, caseId, toBlock[lastGood].Sequence)) };
            allowed.AddRange(toBlock.Skip(lastGood + 1).Where(w => w.Command.Result.Result.Status == TaskAborted).Select(w => Describe(Pattern(writer, caseId, w.Sequence))));
            string history = string.Join(", ", toBlock.Select(w => $"#{w.Sequence} {Describe(w.Command.Result.Result)}"));
            Describe(final[i]).Should().BeOneOf(allowed, "{0}'s block {1} was written by {2}", name, i, history);
        }
    }

    /// <summary>One block of data, unique to the writer, the case and the write's sequence number.</summary>
    private static byte[] Pattern(byte writer, byte caseId, int sequence)
    {
        var data = new byte[Block];
        "PRMT"u8.CopyTo(data);
        data[4] = writer;
        data[5] = caseId;
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(8), sequence);
        for (int i = 12; i < Block; i++)
        {
            data[i] = (byte)((i * 31) + (sequence * 7) + writer);
        }

        return data;
    }

    // What a block holds, in words: the write whose pattern it is (checked byte for byte), or its first bytes.
    private static string Describe(byte[] block)
    {
        if (block.AsSpan(0, 4).SequenceEqual("PRMT"u8))
        {
            int sequence = BinaryPrimitives.ReadInt32BigEndian(block.AsSpan(8));
            string name = $"write {block[4]:X}/{block[5]:x2}/#{sequence}";
            return block.AsSpan().SequenceEqual(Pattern(block[4], block[5], sequence)) ? name : $"{name}, damaged";
        }

        return block.AsSpan().IndexOfAnyExcept((byte)0) < 0 ? "zeros" : "other data " + Convert.ToHexString(block.AsSpan(0, 16));
    }

    private static string Describe(ScsiResult r) => r.Status switch
    {
        ScsiResult.Good => "GOOD",
        Conflict => "RESERVATION CONFLICT",
        TaskAborted => "TASK ABORTED",
        ScsiResult.CheckCondition => $"CHECK CONDITION {r.SenseCodes.Key:X}/{r.SenseCodes.Asc:X2}/{r.SenseCodes.Ascq:X2}",
        _ => $"status 0x{r.Status:x2}",
    };

    /// <summary>One initiator's write loop: its range, its pipeline and the writes it sent, in order.</summary>
    private sealed class Writer(byte id, byte caseId, uint firstLba, PipelinedCommands pipeline)
    {
        private readonly List<(int Sequence, int Block, PipelinedCommand Command)> _writes = [];

        public byte Id => id;

        public byte CaseId => caseId;

        public uint FirstLba => firstLba;

        public PipelinedCommands Pipeline => pipeline;

        public void Add(int sequence, int block, PipelinedCommand command)
        {
            lock (_writes)
            {
                _writes.Add((sequence, block, command));
            }
        }

        public List<(int Sequence, int Block, PipelinedCommand Command)> Writes()
        {
            lock (_writes)
            {
                return [.. _writes];
            }
        }

        /// <summary>Writes sent after the logical time <paramref name="sentAfter"/> that have their answer.</summary>
        public int Answered(long sentAfter)
        {
            lock (_writes)
            {
                return _writes.Count(w => w.Command.SentAt > sentAfter && w.Command.Result.IsCompleted);
            }
        }

        public string Summary(long preemptSent, long preemptDone)
        {
            List<(int Sequence, int Block, PipelinedCommand Command)> writes = Writes();
            string Count(Func<PipelinedCommand, bool> when) =>
                string.Join(", ", writes.Where(w => when(w.Command)).GroupBy(w => Describe(w.Command.Result.Result)).Select(g => $"{g.Count()} {g.Key}"));
            return $"before [{Count(c => c.AnsweredAt < preemptSent)}], during [{Count(c => c.AnsweredAt >= preemptSent && c.SentAt <= preemptDone)}], after [{Count(c => c.SentAt > preemptDone)}]";
        }
    }
}
