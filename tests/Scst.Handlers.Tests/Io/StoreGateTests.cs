// Licensed under the Apache License, Version 2.0.

using Scst.Handlers.Io;

namespace Scst.Handlers.Tests.Io;

public sealed class StoreGateTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static Task OnThread(Action action) =>
        Task.Factory.StartNew(action, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    [Fact]
    public async Task EnterWrite_WaitsForTheReadersInside()
    {
        var gate = new StoreGate();
        StoreGate.ReadScope reader = gate.EnterRead();
        bool writing = false;

        Task writer = OnThread(
            () =>
            {
                using StoreGate.WriteScope held = gate.EnterWrite();
                Volatile.Write(ref writing, true);
            });

        await Task.Delay(100, TestContext.Current.CancellationToken);
        Volatile.Read(ref writing).Should().BeFalse("a reader holds the gate");
        reader.Dispose();
        await writer.WaitAsync(Patience, TestContext.Current.CancellationToken);
        Volatile.Read(ref writing).Should().BeTrue();
    }

    [Fact]
    public async Task EnterRead_WaitsForTheWriterInside()
    {
        var gate = new StoreGate();
        using var entered = new ManualResetEventSlim();
        using var leave = new ManualResetEventSlim();
        bool writerReads = false;
        Task writer = OnThread(
            () =>
            {
                using StoreGate.WriteScope held = gate.EnterWrite();
                entered.Set();
                leave.Wait(Patience);
                using StoreGate.ReadScope own = gate.EnterRead(); // the writer's own thread may read
                writerReads = true;
            });
        entered.Wait(Patience, TestContext.Current.CancellationToken).Should().BeTrue();

        bool reading = false;
        Task reader = OnThread(
            () =>
            {
                using StoreGate.ReadScope held = gate.EnterRead();
                Volatile.Write(ref reading, true);
            });

        await Task.Delay(100, TestContext.Current.CancellationToken);
        Volatile.Read(ref reading).Should().BeFalse("a writer holds the gate");
        leave.Set();
        await Task.WhenAll(writer, reader).WaitAsync(Patience, TestContext.Current.CancellationToken);
        writerReads.Should().BeTrue();
        Volatile.Read(ref reading).Should().BeTrue();
    }

    [Fact]
    public async Task TryEnterRead_WhileAnotherThreadWrites_IsRefused()
    {
        var gate = new StoreGate();
        using var entered = new ManualResetEventSlim();
        using var leave = new ManualResetEventSlim();
        Task writer = OnThread(
            () =>
            {
                using StoreGate.WriteScope held = gate.EnterWrite();
                entered.Set();
                leave.Wait(Patience);
            });
        entered.Wait(Patience, TestContext.Current.CancellationToken).Should().BeTrue();

        gate.TryEnterRead(out _).Should().BeFalse();

        leave.Set();
        await writer.WaitAsync(Patience, TestContext.Current.CancellationToken);
        gate.TryEnterRead(out StoreGate.ReadScope after).Should().BeTrue();
        after.Dispose();
    }

    [Fact]
    public void EnterWrite_OnTheWritersThread_EntersAgain()
    {
        var gate = new StoreGate();
        using (gate.EnterWrite())
        {
            using (gate.EnterWrite())
            using (gate.EnterRead())
            {
            }
        }

        gate.TryEnterRead(out StoreGate.ReadScope reader).Should().BeTrue("every hold was released");
        reader.Dispose();
    }

    [Fact]
    public async Task ReadersAndWriters_NeverOverlap()
    {
        // Readers on every CPU check that no writer is inside; writers check that no reader and no other writer is.
        var gate = new StoreGate();
        int readers = 0;
        int writers = 0;
        int violations = 0;
        long reads = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));

        Task[] tasks = new Task[Environment.ProcessorCount * 2 + 2];
        for (int i = 0; i < tasks.Length; i++)
        {
            bool writer = i < 2;
            tasks[i] = OnThread(
                () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        if (writer)
                        {
                            using (gate.EnterWrite())
                            {
                                if (Interlocked.Increment(ref writers) != 1 || Volatile.Read(ref readers) != 0)
                                {
                                    Interlocked.Increment(ref violations);
                                }

                                Thread.SpinWait(100);
                                Interlocked.Decrement(ref writers);
                            }

                            Thread.Sleep(1);
                        }
                        else
                        {
                            using (gate.EnterRead())
                            {
                                Interlocked.Increment(ref readers);
                                if (Volatile.Read(ref writers) != 0)
                                {
                                    Interlocked.Increment(ref violations);
                                }

                                Interlocked.Decrement(ref readers);
                                Interlocked.Increment(ref reads);
                            }
                        }
                    }
                });
        }

        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        violations.Should().Be(0);
        reads.Should().BeGreaterThan(0);
    }
}
