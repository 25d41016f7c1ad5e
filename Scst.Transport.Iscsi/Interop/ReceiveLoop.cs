// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Scst.Transport.Iscsi.Interop;

/// <summary>
/// A thread that waits in <c>epoll</c> for the sockets of many connections and, when one has data, runs that
/// connection's receive loop on itself until the loop waits again: the kernel wakes this thread and the PDU is handled
/// where it woke. Through .NET's socket engine the same receive wakes the engine's epoll thread, which hands it to a
/// thread pool worker: two wake-ups and a thread hop per receive where this has one wake-up and none.
/// </summary>
/// <remarks>
/// The driver keeps one loop per CPU and spreads connections over them, so no connection has a thread of its own. A
/// connection that does slow work in its receive loop delays the others of its loop, as in a kernel target's receive
/// threads; the work a command hands to a device handler runs where the handler runs it.
/// </remarks>
internal sealed unsafe class ReceiveLoop : IDisposable
{
    private const int MaxEvents = 64;
    private const ulong WakeId = 0;

    private static long s_lastId;

    private readonly ConcurrentDictionary<ulong, ReceiveLoopStream> _streams = new();
    private readonly int _epoll;
    private readonly int _wake;
    private readonly Thread _thread;
    private volatile bool _stopping;

    public ReceiveLoop(string name)
    {
        _epoll = epoll_create1(EPOLL_CLOEXEC);
        if (_epoll < 0)
        {
            throw new IOException($"epoll_create1 failed: errno {errno}");
        }

        _wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (_wake < 0)
        {
            int error = errno;
            _ = close(_epoll);
            throw new IOException($"eventfd failed: errno {error}");
        }

        epoll_event wake = default;
        wake.events = EPOLLIN;
        wake.data.u64 = WakeId;
        if (epoll_ctl(_epoll, EPOLL_CTL_ADD, _wake, &wake) != 0)
        {
            int error = errno;
            _ = close(_wake);
            _ = close(_epoll);
            throw new IOException($"epoll_ctl failed: errno {error}");
        }

        _thread = new Thread(static state => ((ReceiveLoop)state!).Run()) { IsBackground = true, Name = name };
        _thread.UnsafeStart(this);
    }

    /// <summary>How many streams the loop serves now.</summary>
    public int Count => _streams.Count;

    /// <summary>Whether the caller runs on this loop's thread.</summary>
    public bool IsCurrentThread => Thread.CurrentThread == _thread;

    /// <summary>A stream over <paramref name="socket"/> whose reads this loop completes.</summary>
    public ReceiveLoopStream Open(Socket socket)
    {
        var stream = new ReceiveLoopStream(this, socket, (ulong)Interlocked.Increment(ref s_lastId));
        _streams[stream.Id] = stream;
        return stream;
    }

    /// <summary>Stops the thread; streams still open are completed with end of stream.</summary>
    public void Dispose()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        ulong one = 1;
        write(_wake, &one, sizeof(ulong));
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }

        foreach (ReceiveLoopStream stream in _streams.Values)
        {
            stream.Abandon();
        }

        _ = close(_wake);
        _ = close(_epoll);
    }

    internal bool Arm(ReceiveLoopStream stream, int fd, bool first)
    {
        epoll_event e = default;
        e.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
        e.data.u64 = stream.Id;
        return epoll_ctl(_epoll, first ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &e) == 0;
    }

    internal void Forget(ReceiveLoopStream stream, int fd)
    {
        _streams.TryRemove(stream.Id, out _);
        if (fd >= 0)
        {
            _ = epoll_ctl(_epoll, EPOLL_CTL_DEL, fd, null); // fails when never armed: nothing to remove
        }
    }

    private void Run()
    {
        epoll_event* events = (epoll_event*)NativeMemory.Alloc(MaxEvents, (nuint)sizeof(epoll_event));
        try
        {
            while (!_stopping)
            {
                int n = epoll_wait(_epoll, events, MaxEvents, -1);
                if (n < 0)
                {
                    if (errno == EINTR)
                    {
                        continue;
                    }

                    return;
                }

                for (int i = 0; i < n; i++)
                {
                    ulong id = events[i].data.u64;
                    if (id != WakeId && _streams.TryGetValue(id, out ReceiveLoopStream? stream))
                    {
                        stream.OnReadable();
                    }
                }
            }
        }
        finally
        {
            NativeMemory.Free(events);
        }
    }
}

/// <summary>
/// The receive side of one connection's socket, read by its <see cref="ReceiveLoop"/>: a read that finds data returns
/// it at once; one that finds none waits, and the loop's thread completes it (and runs the reader's continuation) when
/// data arrives. One read at a time. <see cref="Abandon"/> ends a waiting read before the socket is closed.
/// </summary>
internal sealed unsafe class ReceiveLoopStream : Stream, IValueTaskSource<int>
{
    // Idle: no read waits. Waiting: a read waits for the loop. Receiving: the loop's thread is in recv for it.
    // Done: abandoned or disposed; reads end at once.
    private const int Idle = 0;
    private const int Waiting = 1;
    private const int Receiving = 2;
    private const int Done = 3;

    // Reads that may complete at once, one after the other, on the loop's thread before the stream yields to others.
    private const int MaxBurst = 4;

    private readonly ReceiveLoop _loop;
    private readonly Socket _socket;
    private ManualResetValueTaskSourceCore<int> _core; // continuations run where the read completes: the loop's thread
    private int _burst;
    private Memory<byte> _buffer;
    private int _state;
    private bool _armed;

    internal ReceiveLoopStream(ReceiveLoop loop, Socket socket, ulong id)
    {
        _loop = loop;
        _socket = socket;
        Id = id;
    }

    internal ulong Id { get; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _state) == Done || buffer.IsEmpty)
        {
            return new ValueTask<int>(0);
        }

        // A connection that always has more to read would keep its loop's thread to itself: after a few reads in a
        // row on that thread, it waits its turn behind the other sockets that are ready.
        if (++_burst <= MaxBurst || !_loop.IsCurrentThread)
        {
            int received = TryReceive(buffer.Span, out int error);
            if (received >= 0)
            {
                return new ValueTask<int>(received);
            }

            if (error != EAGAIN)
            {
                return ValueTask.FromException<int>(Failure(error));
            }
        }

        _burst = 0;

        _buffer = buffer;
        _core.Reset();
        if (Interlocked.CompareExchange(ref _state, Waiting, Idle) != Idle)
        {
            _buffer = default;
            return new ValueTask<int>(0); // abandoned meanwhile
        }

        if (!Arm() && Interlocked.CompareExchange(ref _state, Done, Waiting) == Waiting)
        {
            // The socket is gone (closed under the read): end of stream.
            Complete(0, null);
        }

        return new ValueTask<int>(this, _core.Version);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    int IValueTaskSource<int>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    /// <summary>
    /// Ends a waiting read with end of stream, on the thread pool (the caller may hold locks that the reader's
    /// continuation takes), and stops the loop from reading the socket: call it before the socket is closed, since
    /// the kernel forgets a closed socket's readiness and a waiting read would wait forever.
    /// </summary>
    public void Abandon()
    {
        int was = Interlocked.Exchange(ref _state, Done);
        _loop.Forget(this, Descriptor());
        if (was == Waiting)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Complete(0, null), this, preferLocal: false);
        }

        // Receiving: the loop's thread completes the read when its recv returns.
    }

    /// <summary>The loop saw the socket readable (or shut down, or failed): completes the waiting read.</summary>
    internal void OnReadable()
    {
        if (Interlocked.CompareExchange(ref _state, Receiving, Waiting) != Waiting)
        {
            return;
        }

        int received = TryReceive(_buffer.Span, out int error);
        if (received < 0 && error == EAGAIN)
        {
            // Woken with nothing to read: wait again, unless the read was abandoned meanwhile.
            if (Interlocked.CompareExchange(ref _state, Waiting, Receiving) == Receiving)
            {
                if (Arm() || Interlocked.CompareExchange(ref _state, Done, Waiting) != Waiting)
                {
                    return;
                }
            }

            Complete(0, null);
            return;
        }

        // Idle again, or Done if abandoned during the recv: either way this thread completes the read.
        Interlocked.CompareExchange(ref _state, Idle, Receiving);
        Complete(received, received < 0 ? Failure(error) : null);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Volatile.Write(ref _state, Done);
            _loop.Forget(this, Descriptor());
        }

        base.Dispose(disposing);
    }

    private static IOException Failure(int error) =>
        new($"Receive failed: errno {error}", new SocketException(error == ECONNRESET ? (int)SocketError.ConnectionReset : (int)SocketError.SocketError));

    private void Complete(int received, Exception? failure)
    {
        _buffer = default;
        if (failure is null)
        {
            _core.SetResult(Math.Max(received, 0));
        }
        else
        {
            _core.SetException(failure);
        }
    }

    private bool Arm()
    {
        bool added = false;
        try
        {
            _socket.SafeHandle.DangerousAddRef(ref added);
            bool first = !_armed;
            _armed = true;
            return _loop.Arm(this, (int)_socket.SafeHandle.DangerousGetHandle(), first);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            if (added)
            {
                _socket.SafeHandle.DangerousRelease();
            }
        }
    }

    private int Descriptor()
    {
        bool added = false;
        try
        {
            _socket.SafeHandle.DangerousAddRef(ref added);
            return (int)_socket.SafeHandle.DangerousGetHandle();
        }
        catch (ObjectDisposedException)
        {
            return -1;
        }
        finally
        {
            if (added)
            {
                _socket.SafeHandle.DangerousRelease();
            }
        }
    }

    // recv without waiting: the count (0 at end of stream), or -1 with the errno.
    private int TryReceive(Span<byte> buffer, out int error)
    {
        bool added = false;
        try
        {
            _socket.SafeHandle.DangerousAddRef(ref added);
            int fd = (int)_socket.SafeHandle.DangerousGetHandle();
            fixed (byte* start = buffer)
            {
                while (true)
                {
                    long received = recv(fd, start, buffer.Length, MSG_DONTWAIT);
                    if (received >= 0)
                    {
                        error = 0;
                        return (int)received;
                    }

                    error = errno;
                    if (error != EINTR)
                    {
                        return -1;
                    }
                }
            }
        }
        catch (ObjectDisposedException)
        {
            error = 0;
            return 0;
        }
        finally
        {
            if (added)
            {
                _socket.SafeHandle.DangerousRelease();
            }
        }
    }
}

/// <summary>The driver's receive loops, one per CPU, started when the first connection needs one.</summary>
internal sealed class ReceiveLoopSet : IDisposable
{
    private readonly Lock _lock = new();
    private ReceiveLoop[]? _loops;
    private bool _disposed;

    /// <summary>The loop with the fewest connections.</summary>
    public ReceiveLoop Next()
    {
        ReceiveLoop[] loops = Volatile.Read(ref _loops) ?? Start();
        ReceiveLoop best = loops[0];
        for (int i = 1; i < loops.Length; i++)
        {
            if (loops[i].Count < best.Count)
            {
                best = loops[i];
            }
        }

        return best;
    }

    public void Dispose()
    {
        ReceiveLoop[]? loops;
        lock (_lock)
        {
            _disposed = true;
            loops = _loops;
            _loops = null;
        }

        foreach (ReceiveLoop loop in loops ?? [])
        {
            loop.Dispose();
        }
    }

    private ReceiveLoop[] Start()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_loops is null)
            {
                int count = Math.Clamp(Environment.ProcessorCount, 1, 64);
                var loops = new ReceiveLoop[count];
                for (int i = 0; i < count; i++)
                {
                    loops[i] = new ReceiveLoop($"iSCSI receive {i}");
                }

                Volatile.Write(ref _loops, loops);
            }

            return _loops;
        }
    }
}
