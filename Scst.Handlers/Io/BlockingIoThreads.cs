// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Scst.Handlers.Io;

/// <summary>
/// Threads for blocking file I/O (pread/pwrite/fdatasync off the command's thread: vdisk_fileio's <c>async=1</c>), in
/// the manner of SCST's per-device I/O threads. There are as many as operations have been waiting at once, up to
/// <see cref="MaxThreads"/>; a thread idle for <see cref="IdleTimeout"/> ends.
/// </summary>
/// <remarks>
/// Why not the .NET thread pool: a pool thread blocked in a system call does not count as blocked for the pool, which
/// starts with one thread per CPU and adds threads slowly (hill climbing, starvation injection about twice a second), so
/// with slow storage far fewer operations reach the kernel at once than the initiators keep in flight. Here a thread is
/// started as soon as an operation is queued while every thread is taken. The continuation of an awaited
/// <see cref="SwitchTo"/> runs on one of these threads, and so does whatever it completes in turn (the rest of the
/// command, and often the submission of the initiator's next one), as it would on a pool thread. The first operation
/// queued by a work item on one of the threads is kept for that thread, which runs it as soon as the item returns (no
/// wake-up, no switch); a work item that then blocked until that operation completed would wait for ever, so code on
/// these threads must not block on I/O it submits (the command path never waits synchronously). Queuing allocates
/// nothing in steady state.
/// </remarks>
internal sealed class BlockingIoThreads
{
    /// <summary>The most threads: operations beyond it wait in the queue.</summary>
    public const int MaxThreads = 128;

    /// <summary>How long a thread waits for work before it ends.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(20);

    private readonly ConcurrentQueue<Action> _queue = new();

    // The threads waiting for work, each on its own event, most recently idle last: an operation wakes exactly one, the
    // one whose cache is warmest, and no two threads contend for a shared wait object.
    private readonly Lock _idleLock = new();
    private readonly List<Waiter> _idle = [];
    private readonly int _maxThreads;
    private readonly TimeSpan _idleTimeout;
    private int _threads;

    // On one of the threads: the set it belongs to, and whether the work item running now has queued an operation that
    // the thread keeps for itself.
    [ThreadStatic]
    private static BlockingIoThreads? t_running;
    [ThreadStatic]
    private static bool t_kept;

    /// <summary>Creates a thread set; its threads start with the first operations.</summary>
    public BlockingIoThreads(int maxThreads = MaxThreads, TimeSpan? idleTimeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxThreads, 1);
        _maxThreads = maxThreads;
        _idleTimeout = idleTimeout ?? IdleTimeout;
    }

    /// <summary>The set the handlers share.</summary>
    public static BlockingIoThreads Shared { get; } = new();

    /// <summary>The threads that exist now.</summary>
    public int ThreadCount => Volatile.Read(ref _threads);

    /// <summary>An awaitable whose continuation runs on one of the threads.</summary>
    public SwitchAwaitable SwitchTo() => new(this);

    /// <summary>Runs <paramref name="work"/> on one of the threads: an idle one, else a new one (up to the limit).</summary>
    public void Queue(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        _queue.Enqueue(work);
        if (t_running == this && !t_kept)
        {
            // Queued by a work item on one of the threads (a completion that submits the next command): this thread
            // takes it when the item returns, which saves a wake-up and a switch per operation. One per item; the
            // others wake an idle thread.
            t_kept = true;
            return;
        }

        Waiter? idle = null;
        lock (_idleLock)
        {
            if (_idle.Count > 0)
            {
                idle = _idle[^1];
                _idle.RemoveAt(_idle.Count - 1);
            }
        }

        if (idle is not null)
        {
            idle.Event.Set();
            return;
        }

        while (true)
        {
            int threads = Volatile.Read(ref _threads);
            if (threads >= _maxThreads)
            {
                return; // every thread is taken: the operation waits for the first that is done
            }

            if (Interlocked.CompareExchange(ref _threads, threads + 1, threads) == threads)
            {
                new Thread(Run) { IsBackground = true, Name = "scst-blocking-io" }.UnsafeStart();
                return;
            }
        }
    }

    private void Run()
    {
        using var waiter = new Waiter();
        t_running = this;
        while (true)
        {
            while (_queue.TryDequeue(out Action? work))
            {
                work();
                t_kept = false;
            }

            lock (_idleLock)
            {
                _idle.Add(waiter);
            }

            // An operation queued before the line above found no idle thread and may have found the limit reached.
            if (!_queue.IsEmpty && TryLeaveIdle(waiter))
            {
                continue;
            }

            if (waiter.Event.Wait(_idleTimeout))
            {
                waiter.Event.Reset();
                continue;
            }

            if (!TryLeaveIdle(waiter))
            {
                // Taken off the list by an operation at the last moment: its Set is on the way.
                waiter.Event.Wait();
                waiter.Event.Reset();
                continue;
            }

            Interlocked.Decrement(ref _threads);
            // An operation queued just before the decrement saw this thread counted and no idle one: serve it.
            if (_queue.IsEmpty || !TryTakeThreadBack())
            {
                return;
            }
        }
    }

    private bool TryLeaveIdle(Waiter waiter)
    {
        lock (_idleLock)
        {
            return _idle.Remove(waiter);
        }
    }

    private bool TryTakeThreadBack()
    {
        while (true)
        {
            int threads = Volatile.Read(ref _threads);
            if (threads >= _maxThreads)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _threads, threads + 1, threads) == threads)
            {
                return true;
            }
        }
    }

    /// <summary>An idle thread's wake-up.</summary>
    private sealed class Waiter : IDisposable
    {
        public ManualResetEventSlim Event { get; } = new(false, spinCount: 0);

        public void Dispose() => Event.Dispose();
    }

    /// <summary>The awaitable of <see cref="SwitchTo"/>.</summary>
    internal readonly struct SwitchAwaitable(BlockingIoThreads threads)
    {
        public SwitchAwaiter GetAwaiter() => new(threads);
    }

    /// <summary>Queues the continuation to the threads; never complete at once.</summary>
    internal readonly struct SwitchAwaiter(BlockingIoThreads threads) : ICriticalNotifyCompletion
    {
        public bool IsCompleted => false;

        public void GetResult()
        {
        }

        public void OnCompleted(Action continuation)
        {
            // The caller's execution context flows to the continuation (UnsafeOnCompleted, which the async builders
            // call, leaves that to them).
            ExecutionContext? context = ExecutionContext.Capture();
            threads.Queue(context is null ? continuation : () => ExecutionContext.Run(context, static c => ((Action)c!)(), continuation));
        }

        public void UnsafeOnCompleted(Action continuation) => threads.Queue(continuation);
    }
}
