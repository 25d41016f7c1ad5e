// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using Scst.Handlers.Io;

namespace Scst.Handlers.Tests.Io;

/// <summary>
/// The threads that run blocking file I/O for <c>async=1</c>: one per operation in progress up to the limit, queued
/// beyond it, idle threads ending, and the operation a work item queues kept for its own thread.
/// </summary>
public sealed class BlockingIoThreadsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public void OperationsThatBlock_EachGetAThread_AsManyAsAreQueued()
    {
        // 24 operations that each block until all 24 are running: the thread pool, which starts with one thread per
        // CPU and adds them slowly, would not run them all at once for seconds; here a thread starts per operation.
        var threads = new BlockingIoThreads(maxThreads: 64, idleTimeout: TimeSpan.FromSeconds(5));
        using var allRunning = new CountdownEvent(24);
        using var finished = new CountdownEvent(24);
        bool[] sawAll = new bool[24];

        for (int i = 0; i < 24; i++)
        {
            int n = i;
            threads.Queue(() =>
            {
                allRunning.Signal();
                sawAll[n] = allRunning.Wait(Patience);
                finished.Signal();
            });
        }

        finished.Wait(Patience, TestContext.Current.CancellationToken).Should().BeTrue();
        sawAll.Should().OnlyContain(b => b, "every operation was running while the others were");
        threads.ThreadCount.Should().Be(24);
    }

    [Fact]
    public void BeyondTheLimit_OperationsWait_AndAllRun()
    {
        var threads = new BlockingIoThreads(maxThreads: 2, idleTimeout: TimeSpan.FromSeconds(5));
        using var release = new ManualResetEventSlim(false);
        using var finished = new CountdownEvent(6);
        int running = 0;
        int most = 0;

        for (int i = 0; i < 6; i++)
        {
            threads.Queue(() =>
            {
                int now = Interlocked.Increment(ref running);
                InterlockedMax(ref most, now);
                release.Wait(Patience);
                Interlocked.Decrement(ref running);
                finished.Signal();
            });
        }

        SpinWait.SpinUntil(() => Volatile.Read(ref running) == 2, Patience).Should().BeTrue();
        release.Set();

        finished.Wait(Patience, TestContext.Current.CancellationToken).Should().BeTrue("the queued operations ran once threads were free");
        most.Should().Be(2);
        threads.ThreadCount.Should().Be(2);
    }

    [Fact]
    public void IdleThreads_End_AndNewOperationsStartThreadsAgain()
    {
        var threads = new BlockingIoThreads(maxThreads: 8, idleTimeout: TimeSpan.FromMilliseconds(50));
        using var done = new CountdownEvent(3);
        using var gate = new ManualResetEventSlim(false);
        for (int i = 0; i < 3; i++)
        {
            threads.Queue(() =>
            {
                gate.Wait(Patience);
                done.Signal();
            });
        }

        gate.Set();
        done.Wait(Patience, TestContext.Current.CancellationToken).Should().BeTrue();

        SpinWait.SpinUntil(() => threads.ThreadCount == 0, Patience).Should().BeTrue("idle threads end after the timeout");
        using var again = new ManualResetEventSlim(false);
        threads.Queue(again.Set);
        again.Wait(Patience, TestContext.Current.CancellationToken).Should().BeTrue("a new operation starts a thread");
    }

    [Fact]
    public void AnOperationQueuedByAWorkItem_RunsOnTheSameThread_AfterTheItemReturns()
    {
        var threads = new BlockingIoThreads(maxThreads: 8, idleTimeout: TimeSpan.FromSeconds(5));
        var order = new ConcurrentQueue<(string Step, int Thread)>();
        using var done = new ManualResetEventSlim(false);

        threads.Queue(() =>
        {
            threads.Queue(() =>
            {
                order.Enqueue(("second", Environment.CurrentManagedThreadId));
                done.Set();
            });
            Thread.Sleep(20); // the kept operation waits for this item to return
            order.Enqueue(("first done", Environment.CurrentManagedThreadId));
        });

        done.Wait(Patience, TestContext.Current.CancellationToken).Should().BeTrue();
        (string Step, int Thread)[] steps = [.. order];
        steps.Select(s => s.Step).Should().Equal("first done", "second");
        steps[1].Thread.Should().Be(steps[0].Thread);
    }

    [Fact]
    public void TheSecondOperationQueuedByAWorkItem_WakesAnotherThread()
    {
        var threads = new BlockingIoThreads(maxThreads: 8, idleTimeout: TimeSpan.FromSeconds(5));
        using var secondRan = new ManualResetEventSlim(false);
        using var done = new ManualResetEventSlim(false);
        bool sawSecond = false;

        threads.Queue(() =>
        {
            threads.Queue(() => { });
            threads.Queue(secondRan.Set);
            // Still inside the item: only another thread can run the second operation.
            sawSecond = secondRan.Wait(Patience);
            done.Set();
        });

        done.Wait(Patience, TestContext.Current.CancellationToken).Should().BeTrue();
        sawSecond.Should().BeTrue();
    }

    [Fact]
    public async Task SwitchTo_ContinuesOnOneOfTheThreads()
    {
        var threads = new BlockingIoThreads(maxThreads: 4, idleTimeout: TimeSpan.FromSeconds(5));

        await threads.SwitchTo();

        Thread.CurrentThread.Name.Should().Be("scst-blocking-io");
        Thread.CurrentThread.IsThreadPoolThread.Should().BeFalse();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen = Volatile.Read(ref target);
        while (value > seen)
        {
            int previous = Interlocked.CompareExchange(ref target, value, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }
}
