// Licensed under the Apache License, Version 2.0.

using System.Threading.Tasks.Sources;
using Microsoft.Win32.SafeHandles;
using Scst.Handlers.Interop;
using static Scst.Handlers.Interop.Errno;

namespace Scst.Handlers.Io;

/// <summary>
/// The <c>pread</c> engine: pread/pwrite/pwritev/fdatasync on the calling thread (<see cref="Inline"/>), or on the
/// blocking-I/O threads (<see cref="ThreadPool"/>, what vdisk_fileio's <c>async=1</c> selects).
/// </summary>
/// <remarks>
/// Inline, an operation is finished when the method returns: the <see cref="ValueTask{TResult}"/> is already complete
/// and nothing is allocated or scheduled. That is the cheapest way to a page-cache hit (a copy of a few microseconds,
/// against 25-30 µs for a hop to another thread on a small machine), but it holds the caller's thread for as long as
/// the storage takes. Off the caller's thread, a pooled work item runs the call on one of the
/// <see cref="BlockingIoThreads"/> (a thread per operation in progress, where the .NET thread pool would add threads
/// slowly) and completes the pending value, and the caller's continuation runs on that thread.
/// </remarks>
internal sealed class PositionalIoEngine : IoEngine
{
    private readonly bool _onThreadPool;
    private readonly OperationPool<Operation> _pool = new(256);

    private PositionalIoEngine(bool onThreadPool) => _onThreadPool = onThreadPool;

    /// <summary>Runs each operation on the calling thread.</summary>
    public static PositionalIoEngine Inline { get; } = new(false);

    /// <summary>Runs each operation on one of the shared <see cref="BlockingIoThreads"/>.</summary>
    public static PositionalIoEngine ThreadPool { get; } = new(true);

    /// <inheritdoc />
    public override string Name => PositionalName;

    /// <summary>Whether operations run off the caller's thread.</summary>
    public bool OnThreadPool => _onThreadPool;

    /// <inheritdoc />
    public override ValueTask<int> ReadAsync(SafeFileHandle file, Memory<byte> buffer, long offset) =>
        _onThreadPool ? QueueAsync(OperationKind.Read, file, buffer, default, null, offset) : new(Read(file, buffer.Span, offset));

    /// <inheritdoc />
    public override ValueTask<int> WriteAsync(SafeFileHandle file, ReadOnlyMemory<byte> buffer, long offset) =>
        _onThreadPool ? QueueAsync(OperationKind.Write, file, default, buffer, null, offset) : new(Write(file, buffer.Span, offset));

    /// <inheritdoc />
    public override ValueTask<int> WriteGatherAsync(SafeFileHandle file, IReadOnlyList<ReadOnlyMemory<byte>> buffers, long offset) =>
        _onThreadPool ? QueueAsync(OperationKind.WriteGather, file, default, default, buffers, offset) : new(PositionalIo.WriteGather(file, buffers, offset));

    /// <inheritdoc />
    public override ValueTask<int> FlushAsync(SafeFileHandle file) =>
        _onThreadPool ? QueueAsync(OperationKind.Flush, file, default, default, null, 0) : new(PositionalIo.DataSync(file));

    private static int Read(SafeFileHandle file, Span<byte> buffer, long offset)
    {
        try
        {
            return (int)DirectFile.Read(file, buffer, offset);
        }
        catch (ObjectDisposedException)
        {
            return -EBADF;
        }
    }

    private static int Write(SafeFileHandle file, ReadOnlySpan<byte> buffer, long offset)
    {
        try
        {
            int error = DirectFile.Write(file, buffer, offset);
            return error == 0 ? buffer.Length : error;
        }
        catch (ObjectDisposedException)
        {
            return -EBADF;
        }
    }

    private ValueTask<int> QueueAsync(OperationKind kind, SafeFileHandle file, Memory<byte> destination, ReadOnlyMemory<byte> source, IReadOnlyList<ReadOnlyMemory<byte>>? buffers, long offset)
    {
        Operation op = _pool.TryRent() ?? new Operation(this);
        op.Set(kind, file, destination, source, buffers, offset);
        BlockingIoThreads.Shared.Queue(op.ExecuteAction);
        return new ValueTask<int>(op, op.Version);
    }

    private enum OperationKind
    {
        Read,
        Write,
        WriteGather,
        Flush,
    }

    /// <summary>One operation off the caller's thread: the work item and the pending value in one pooled object.</summary>
    private sealed class Operation : IValueTaskSource<int>
    {
        private readonly PositionalIoEngine _engine;
        private ManualResetValueTaskSourceCore<int> _core;
        private OperationKind _kind;
        private SafeFileHandle? _file;
        private Memory<byte> _destination;
        private ReadOnlyMemory<byte> _source;
        private IReadOnlyList<ReadOnlyMemory<byte>>? _buffers;
        private long _offset;

        public Operation(PositionalIoEngine engine)
        {
            _engine = engine;
            ExecuteAction = Execute;
        }

        /// <summary>The cached delegate of <see cref="Execute"/>, queued without an allocation.</summary>
        public Action ExecuteAction { get; }

        public short Version => _core.Version;

        public void Set(OperationKind kind, SafeFileHandle file, Memory<byte> destination, ReadOnlyMemory<byte> source, IReadOnlyList<ReadOnlyMemory<byte>>? buffers, long offset)
        {
            _kind = kind;
            _file = file;
            _destination = destination;
            _source = source;
            _buffers = buffers;
            _offset = offset;
        }

        public void Execute()
        {
            SafeFileHandle file = _file!;
            int result = _kind switch
            {
                OperationKind.Read => Read(file, _destination.Span, _offset),
                OperationKind.Write => Write(file, _source.Span, _offset),
                OperationKind.WriteGather => PositionalIo.WriteGather(file, _buffers!, _offset),
                _ => PositionalIo.DataSync(file),
            };
            _file = null;
            _destination = default;
            _source = default;
            _buffers = null;
            _core.SetResult(result);
        }

        public int GetResult(short token)
        {
            try
            {
                return _core.GetResult(token);
            }
            finally
            {
                _core.Reset();
                _engine._pool.Return(this);
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
