// Licensed under the Apache License, Version 2.0.

using Microsoft.Win32.SafeHandles;
using Scst.Handlers.Interop;
using static Scst.Handlers.Interop.Errno;

namespace Scst.Handlers.Io;

/// <summary>
/// The <c>io_uring</c> engine: one ring, shared by every device that uses it, with one completion thread.
/// </summary>
/// <remarks>
/// <para>Submission: under a short lock, the SQE at the ring's tail is filled in place and the tail published; the
/// lock is then released and io_uring_enter hands the entry to the kernel (any thread's enter submits every published
/// entry, so two submitters never wait for each other in the kernel). A page-cache hit is copied during that
/// io_uring_enter; anything else completes later from the kernel's workers or the device's interrupt. The completion
/// thread does not enter what its continuations submit one by one: its next enter, after it has taken every completion
/// there is, submits them together.</para>
/// <para>Completion: a dedicated thread blocks in io_uring_enter(GETEVENTS), takes each CQE and completes its
/// operation; the awaiting code's continuation runs there and then, with no second hop. A short read is continued
/// until the buffer is full or the file ends; a short write is continued with the rest; -EINTR and -EAGAIN are
/// submitted again, and so is -ECANCELED while the engine is open: the kernel cancels a thread's pending requests when
/// the thread exits. Continuations must not block on another operation of the same engine.</para>
/// <para>Back-pressure: at most as many operations are in the kernel as the completion ring holds (so that no
/// completion overflows); a submitter beyond that waits, except the completion thread itself, which must never wait for
/// itself. A full submission ring (entries published by others and not yet entered) is entered at once.</para>
/// <para>Shutdown: <see cref="Dispose"/> refuses new operations (-ECANCELED), lets those in the kernel complete, and
/// returns when the completion thread has closed the ring (at once when called on that thread; the thread then closes
/// it when the last operation ends).</para>
/// </remarks>
internal sealed class UringIoEngine : IoEngine, IDisposable
{
    /// <summary>The submission ring's size: a queue depth well beyond what one handler's initiators keep in flight.</summary>
    public const uint DefaultEntries = 256;

    // user_data of the NOP that wakes the completion thread at shutdown; an operation's user_data is a GCHandle, never 0.
    private const ulong WakeUp = 0;

    private readonly IoUringRing _ring;
    private readonly Lock _submitLock = new();
    private readonly object _capacityLock = new();
    private readonly OperationPool<UringOperation> _pool;
    private readonly Thread _completer;
    private readonly int _limit;
    private int _inKernel;
    private int _capacityWaiters;
    private long _completed;
    private volatile bool _disposed;
    private volatile bool _closed;

    private UringIoEngine(IoUringRing ring)
    {
        _ring = ring;
        _limit = (int)ring.CompletionEntries;
        _pool = new OperationPool<UringOperation>(_limit);
        _completer = new Thread(CompletionLoop) { IsBackground = true, Name = "io_uring completions" };
        _completer.Start();
    }

    /// <inheritdoc />
    public override string Name => UringName;

    /// <summary>Whether the calling thread is the completion thread (where continuations of this engine's operations run).</summary>
    public bool IsCompletionThread => Environment.CurrentManagedThreadId == _completer.ManagedThreadId;

    /// <summary>The operations finished so far (read on any thread; written by the completion thread only).</summary>
    public long Completed => Volatile.Read(ref _completed);

    /// <summary>The operations submitted and not yet finished.</summary>
    public int InFlight => Volatile.Read(ref _inKernel);

    /// <summary>Sets up a ring and starts its completion thread.</summary>
    /// <returns>The engine, or null with the errno of io_uring_setup (or mmap) in <paramref name="error"/>.</returns>
    public static UringIoEngine? TryCreate(uint entries, out int error)
    {
        IoUringRing? ring = IoUringRing.Create(entries, out error);
        return ring is null ? null : new UringIoEngine(ring);
    }

    /// <inheritdoc />
    public override ValueTask<int> ReadAsync(SafeFileHandle file, Memory<byte> buffer, long offset)
    {
        UringOperation op = Rent();
        return SubmitAsync(op, op.PrepareTransfer(UringOpcode.Read, file, buffer, offset));
    }

    /// <inheritdoc />
    public override ValueTask<int> WriteAsync(SafeFileHandle file, ReadOnlyMemory<byte> buffer, long offset) => WriteAsync(file, buffer, offset, dataSync: false);

    /// <summary>
    /// Writes all of <paramref name="buffer"/> at <paramref name="offset"/>; with <paramref name="dataSync"/> the data is
    /// stable when it completes (RWF_DSYNC), in the one request, where a write and a flush would be two.
    /// </summary>
    /// <returns>The buffer's length, or -errno.</returns>
    public ValueTask<int> WriteAsync(SafeFileHandle file, ReadOnlyMemory<byte> buffer, long offset, bool dataSync)
    {
        UringOperation op = Rent();
        return SubmitAsync(op, op.PrepareTransfer(UringOpcode.Write, file, buffer, offset, dataSync ? IoUringRing.RwfDataSync : 0));
    }

    /// <inheritdoc />
    public override ValueTask<int> WriteGatherAsync(SafeFileHandle file, IReadOnlyList<ReadOnlyMemory<byte>> buffers, long offset)
    {
        UringOperation op = Rent();
        return SubmitAsync(op, op.PrepareGather(file, buffers, offset));
    }

    /// <inheritdoc />
    public override ValueTask<int> FlushAsync(SafeFileHandle file)
    {
        UringOperation op = Rent();
        return SubmitAsync(op, op.PrepareFlush(file));
    }

    private UringOperation Rent() => _pool.TryRent() ?? new UringOperation(this);

    /// <summary>Takes back an operation whose result was read.</summary>
    internal void Return(UringOperation op)
    {
        if (_closed || !_pool.Return(op))
        {
            op.Free();
        }
        else if (_closed)
        {
            _pool.Drain(static o => o.Free());
        }
    }

    private ValueTask<int> SubmitAsync(UringOperation op, int prepared)
    {
        short version = op.Version;
        if (prepared != 0)
        {
            op.Complete(prepared);
            return new ValueTask<int>(op, version);
        }

        bool onCompleter = IsCompletionThread;
        while (true)
        {
            lock (_submitLock)
            {
                if (_disposed)
                {
                    op.Complete(-ECANCELED);
                    return new ValueTask<int>(op, version);
                }

                if (_inKernel < _limit || onCompleter)
                {
                    Interlocked.Increment(ref _inKernel);
                    while (!op.TryPrepare(_ring))
                    {
                        EnterPublished();
                    }

                    break;
                }
            }

            WaitForCapacity();
        }

        // On the completion thread (a command started from another's continuation) the entry stays published: the
        // thread's next io_uring_enter, once it has taken every completion there is, submits all that its
        // continuations published in one call.
        if (!onCompleter)
        {
            Enter();
        }

        return new ValueTask<int>(op, version);
    }

    // Submission side, under _submitLock, when the submission ring is full: enters what others published.
    private void EnterPublished() => _ = _ring.Enter(_ring.Pending, wait: false);

    private void Enter()
    {
        while (true)
        {
            int rc = _ring.Enter(1, wait: false);
            if (rc == -EINTR)
            {
                continue;
            }

            if (rc == -EAGAIN || rc == -EBUSY)
            {
                // Out of kernel memory for requests, or completions to reap first: the completion thread makes room.
                Thread.Yield();
                continue;
            }

            // Submitted, or taken by another thread's enter (0), or an error that leaves the entry published: the
            // completion thread's next enter submits it.
            return;
        }
    }

    private void WaitForCapacity()
    {
        lock (_capacityLock)
        {
            _capacityWaiters++;
            try
            {
                if (Volatile.Read(ref _inKernel) >= _limit && !_disposed)
                {
                    // The timeout covers a completion that freed room between the check and the wait.
                    Monitor.Wait(_capacityLock, 1);
                }
            }
            finally
            {
                _capacityWaiters--;
            }
        }
    }

    // On the completion thread: published, and submitted by the thread's next io_uring_enter.
    private void Resubmit(UringOperation op)
    {
        lock (_submitLock)
        {
            while (!op.TryPrepare(_ring))
            {
                EnterPublished();
            }
        }
    }

    private void CompletionLoop()
    {
        bool stopping = false;
        while (true)
        {
            bool took = false;
            while (_ring.TryTakeCompletion(out ulong userData, out int result))
            {
                took = true;
                if (userData == WakeUp)
                {
                    stopping = true;
                    continue;
                }

                UringOperation op = UringOperation.FromUserData(userData);

                // The kernel cancels the requests a thread submitted, among them those waiting in its io-wq workers,
                // when that thread exits (a thread pool thread retiring): the operation was not refused, it is handed
                // in again, from this thread, which lives as long as the ring.
                if ((result == -ECANCELED && !_disposed) || op.TryContinue(result, out int final))
                {
                    Resubmit(op);
                    continue;
                }

                // Counted out before the caller's continuation runs: it may submit again, or look at the counts.
                Volatile.Write(ref _completed, _completed + 1);
                Interlocked.Decrement(ref _inKernel);
                if (Volatile.Read(ref _capacityWaiters) > 0)
                {
                    lock (_capacityLock)
                    {
                        Monitor.PulseAll(_capacityLock);
                    }
                }

                op.Complete(final);
            }

            if (took)
            {
                continue;
            }

            if (stopping && Volatile.Read(ref _inKernel) == 0)
            {
                break;
            }

            // Entering what is published also rescues an entry whose submitter's enter failed.
            int rc = _ring.Enter(_ring.Pending, wait: true);
            if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
            {
                Thread.Sleep(1);
            }
        }

        _closed = true;
        _ring.Dispose();
        _pool.Drain(static o => o.Free());
    }

    /// <summary>
    /// Refuses new operations, waits for those in the kernel to complete (their callers get their results), and closes
    /// the ring. On the completion thread itself it returns at once and the thread closes the ring when the last
    /// operation ends.
    /// </summary>
    public void Dispose()
    {
        lock (_submitLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            while (!_ring.TryPrepare(UringOpcode.Nop, -1, 0, 0, 0, WakeUp))
            {
                EnterPublished();
            }
        }

        Enter();
        lock (_capacityLock)
        {
            Monitor.PulseAll(_capacityLock);
        }

        if (!IsCompletionThread)
        {
            _completer.Join();
        }
    }
}
