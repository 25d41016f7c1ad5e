// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Scst.Core;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests;

/// <summary>
/// Several sessions send thousands of mixed reads and writes with random ORDERED and HEAD OF QUEUE attributes to one LU
/// whose I/O completes at random (synchronously, after a yield, after a short delay), while task management functions
/// (ABORT TASK, ABORT TASK SET, LOGICAL UNIT RESET, I_T NEXUS RESET) arrive at random. The test ends by itself and
/// checks: every command completed exactly once (with status, or aborted); the device ran every command at most once;
/// SAM-5's ordering held for every command the device ran; every pooled command and buffer went back.
/// </summary>
public sealed class TaskManagementStressTests
{
    private const int Sessions = 4;
    private const int CommandsPerSession = 2500;
    private const int Window = 16;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>What the device saw of one command: the global order in which it started and ended.</summary>
    private sealed record Execution(ScsiSession Session, ulong Tag, TaskAttribute Attribute, long Start, long End);

    private sealed class RecordingDevice(string name, int seed) : BlockDevice(name, "test_recording")
    {
        private readonly Random _random = new(seed);
        private readonly Lock _randomLock = new();
        private long _clock;

        public ConcurrentDictionary<(ScsiSession, ulong), Execution> Executions { get; } = new();

        public int Duplicates;

        public override long BlockCount => 4096;

        public override async ValueTask<CommandOutcome> ExecuteAsync(ScsiCommand command)
        {
            long start = Interlocked.Increment(ref _clock);
            ScsiSession session = command.Session;
            ulong tag = command.Tag;
            TaskAttribute attribute = command.Attribute;
            CommandOutcome outcome = await base.ExecuteAsync(command);
            long end = Interlocked.Increment(ref _clock);
            if (!Executions.TryAdd((session, tag), new Execution(session, tag, attribute, start, end)))
            {
                Interlocked.Increment(ref Duplicates);
            }

            return outcome;
        }

        protected override ValueTask<CommandOutcome> ReadAsync(long offset, Memory<byte> destination) => Latency();

        protected override ValueTask<CommandOutcome> WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess) => Latency();

        protected override ValueTask<CommandOutcome> FlushAsync() => new(CommandOutcome.Good);

        private ValueTask<CommandOutcome> Latency()
        {
            int pick;
            lock (_randomLock)
            {
                pick = _random.Next(3);
            }

            return pick switch
            {
                0 => new(CommandOutcome.Good),
                1 => YieldAsync(),
                _ => DelayAsync(),
            };
        }

        private static async ValueTask<CommandOutcome> YieldAsync()
        {
            await Task.Yield();
            return CommandOutcome.Good;
        }

        private static async ValueTask<CommandOutcome> DelayAsync()
        {
            await Task.Delay(1);
            return CommandOutcome.Good;
        }
    }

    private sealed record Sent(ulong Tag, TaskAttribute Attribute, Task<LocalResult> Result);

    [Fact]
    public async Task MixedCommandsAndTaskManagement_KeepEveryPromise()
    {
        const int Seed = 20261125;
        var device = new RecordingDevice("stress0", Seed);
        ScstStack stack = ScstStack.Create(b => b.AddTarget("scst_local", ScstStack.TargetName), o => o.MaxCommandsPerSession = 64);
        await using (stack)
        {
            await stack.StartAsync();
            stack.Engine.RegisterDevice(device);
            stack.Engine.MapLun(stack.Target(), 0, device.Name);
            LocalSession[] sessions = [.. Enumerable.Range(0, Sessions).Select(i => stack.OpenSession(initiator: $"iqn.2024-01.test:stress{i}"))];
            List<Sent>[] sent = [.. Enumerable.Range(0, Sessions).Select(_ => new List<Sent>())];
            using var done = CancellationTokenSource.CreateLinkedTokenSource(Ct);

            Task[] senders = [.. Enumerable.Range(0, Sessions).Select(i => Task.Run(() => SendAsync(sessions[i], Seed + i, sent[i]), Ct))];
            Task<(int Aborts, int Resets)> tmfs = Task.Run(() => ManageAsync(sessions, sent, Seed, done.Token), Ct);

            await Task.WhenAll(senders).WaitAsync(TimeSpan.FromMinutes(2), Ct);
            await done.CancelAsync();
            (int aborts, int resets) = await tmfs.WaitAsync(TimeSpan.FromMinutes(1), Ct);

            // Every command completed exactly once: with a status, or aborted without one.
            LocalResult[][] results = new LocalResult[Sessions][];
            for (int i = 0; i < Sessions; i++)
            {
                results[i] = await Task.WhenAll(sent[i].Select(s => s.Result)).WaitAsync(TimeSpan.FromMinutes(1), Ct);
                results[i].Should().OnlyContain(r => r.Aborted || r.Status == ScsiStatus.Good || r.Status == ScsiStatus.CheckCondition || r.Status == ScsiStatus.TaskAborted);
            }

            device.Duplicates.Should().Be(0, "the device runs a command once");
            int ran = device.Executions.Count;
            int aborted = results.Sum(r => r.Count(x => x.Aborted));
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"seed {Seed}: {Sessions * CommandsPerSession} commands, {ran} ran in the device, {aborted} aborted, {aborts} ABORT TASK/SET and {resets} resets sent");
            ran.Should().BeGreaterThan(Sessions * CommandsPerSession / 2, "most commands run");
            aborted.Should().BeGreaterThan(0, "task management did abort commands");

            for (int i = 0; i < Sessions; i++)
            {
                CheckOrdering(sessions[i].Session, sent[i], device);
            }

            foreach (LocalSession s in sessions)
            {
                s.Dispose();
            }

            stack.AssertNoLeaks();
        }
    }

    // One sender per session, so the order of submission is the order of the tags and of the task set.
    private static async Task SendAsync(LocalSession session, int seed, List<Sent> sent)
    {
        var random = new Random(seed);
        var window = new Queue<Task<LocalResult>>();
        for (int n = 0; n < CommandsPerSession; n++)
        {
            int roll = random.Next(100);
            TaskAttribute attribute = roll < 5 ? TaskAttribute.Ordered : roll < 9 ? TaskAttribute.HeadOfQueue : TaskAttribute.Simple;
            uint lba = (uint)random.Next(4000);
            ushort blocks = (ushort)random.Next(1, 9);
            bool write = random.Next(2) == 0;
            var data = new byte[blocks * 512];
            Task<LocalResult> result = write
                ? session.ExecuteAsync(0, CdbBuilder.Write10(lba, blocks), DataDirection.Write, data, attribute).AsTask()
                : session.ExecuteAsync(0, CdbBuilder.Read10(lba, blocks), DataDirection.Read, data, attribute).AsTask();
            lock (sent)
            {
                sent.Add(new Sent((ulong)(sent.Count + 1), attribute, result));
            }

            window.Enqueue(result);
            if (window.Count >= Window)
            {
                await window.Dequeue();
            }
        }

        await Task.WhenAll(window);
    }

    private static async Task<(int Aborts, int Resets)> ManageAsync(LocalSession[] sessions, List<Sent>[] sent, int seed, CancellationToken stop)
    {
        var random = new Random(seed * 7);
        int aborts = 0, resets = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(random.Next(1, 4), stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            LocalSession s = sessions[random.Next(sessions.Length)];
            int roll = random.Next(100);
            if (roll < 70)
            {
                ulong tag;
                List<Sent> list = sent[Array.IndexOf(sessions, s)];
                lock (list)
                {
                    tag = list.Count == 0 ? 1 : (ulong)Math.Max(1, list.Count - random.Next(Window));
                }

                await s.AbortTaskAsync(tag);
                aborts++;
            }
            else if (roll < 85)
            {
                await s.Session.ExecuteTaskManagementAsync(TaskManagementFunction.AbortTaskSet, LunAddress.Encode(0), 0);
                aborts++;
            }
            else if (roll < 95)
            {
                await s.ResetLogicalUnitAsync(0);
                resets++;
            }
            else
            {
                await s.Session.ExecuteTaskManagementAsync(TaskManagementFunction.ItNexusReset, 0, 0);
                resets++;
            }
        }

        return (aborts, resets);
    }

    // SAM-5 section 8.6, checked on what the device ran: an ORDERED command started after every older command of its
    // task set ended, and every newer command but HEAD OF QUEUE started after it ended; a SIMPLE command started after
    // every older HEAD OF QUEUE command ended.
    private static void CheckOrdering(ScsiSession session, List<Sent> sent, RecordingDevice device)
    {
        var ran = sent.Select(s => device.Executions.TryGetValue((session, s.Tag), out Execution? e) ? e : null).ToList();
        var violations = new List<string>();
        for (int i = 0; i < ran.Count; i++)
        {
            if (ran[i] is not { } x || x.Attribute == TaskAttribute.HeadOfQueue)
            {
                continue;
            }

            for (int j = 0; j < ran.Count; j++)
            {
                if (ran[j] is not { } y || i == j)
                {
                    continue;
                }

                bool older = j < i;
                if (x.Attribute == TaskAttribute.Ordered && older && y.End > x.Start)
                {
                    violations.Add($"ORDERED tag {x.Tag} started before older tag {y.Tag} ({y.Attribute}) ended");
                }
                else if (x.Attribute == TaskAttribute.Ordered && !older && y.Attribute != TaskAttribute.HeadOfQueue && y.Start < x.End)
                {
                    violations.Add($"newer tag {y.Tag} ({y.Attribute}) started before ORDERED tag {x.Tag} ended");
                }
                else if (x.Attribute == TaskAttribute.Simple && older && y.Attribute == TaskAttribute.HeadOfQueue && y.End > x.Start)
                {
                    violations.Add($"SIMPLE tag {x.Tag} started before older HEAD OF QUEUE tag {y.Tag} ended");
                }
            }
        }

        violations.Should().BeEmpty();
    }
}
