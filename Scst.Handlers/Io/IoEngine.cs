// Licensed under the Apache License, Version 2.0.

using Microsoft.Win32.SafeHandles;

namespace Scst.Handlers.Io;

/// <summary>
/// How a device's reads, writes and flushes reach its backing file: positional system calls
/// (<see cref="PositionalIoEngine"/>, the device parameter <c>io_engine=pread</c>) or a shared io_uring
/// (<see cref="UringIoEngine"/>, <c>io_engine=io_uring</c>).
/// </summary>
/// <remarks>
/// <para>Every operation names its file and offset (nothing depends on a file position), and returns a count of bytes
/// or <c>-errno</c>: failures are values, not exceptions, so that a device turns them into sense data without a throw on
/// the command path. Steady state allocates nothing per operation: the pending state is a pooled
/// <see cref="System.Threading.Tasks.Sources.IValueTaskSource{TResult}"/>, so each returned
/// <see cref="ValueTask{TResult}"/> must be awaited (or read) exactly once.</para>
/// <para>Buffer ownership: the caller owns every buffer and must keep it alive and unmoved until the operation
/// completes (the command's data buffer satisfies that: it is pinned native memory that lives as long as the
/// command); the engine pins managed memory for the duration. The caller also keeps the file handle open until then;
/// the engine holds a reference on it, so that a close that races with the operation is deferred, not reused.</para>
/// </remarks>
internal abstract class IoEngine
{
    /// <summary>The parameter value of <see cref="PositionalIoEngine"/>.</summary>
    public const string PositionalName = "pread";

    /// <summary>The parameter value of <see cref="UringIoEngine"/>.</summary>
    public const string UringName = "io_uring";

    /// <summary>The name the device parameter <c>io_engine</c> gives this engine.</summary>
    public abstract string Name { get; }

    /// <summary>Reads from <paramref name="offset"/> until <paramref name="buffer"/> is full or the file ends.</summary>
    /// <returns>The bytes read (fewer than the buffer holds only at the end of the file; the rest is left untouched), or -errno.</returns>
    public abstract ValueTask<int> ReadAsync(SafeFileHandle file, Memory<byte> buffer, long offset);

    /// <summary>Writes all of <paramref name="buffer"/> at <paramref name="offset"/> in one operation (a short write is continued).</summary>
    /// <returns>The buffer's length, or -errno.</returns>
    public abstract ValueTask<int> WriteAsync(SafeFileHandle file, ReadOnlyMemory<byte> buffer, long offset);

    /// <summary>
    /// Writes <paramref name="buffers"/> one after another from <paramref name="offset"/> in one operation (pwritev,
    /// IORING_OP_WRITEV): a command whose data is in several buffers costs one system call and no staging copy. The list
    /// and its buffers must stay unchanged until completion.
    /// </summary>
    /// <returns>The total length, or -errno.</returns>
    public abstract ValueTask<int> WriteGatherAsync(SafeFileHandle file, IReadOnlyList<ReadOnlyMemory<byte>> buffers, long offset);

    /// <summary>Makes the file's written data stable (fdatasync).</summary>
    /// <returns>0, or -errno.</returns>
    public abstract ValueTask<int> FlushAsync(SafeFileHandle file);
}
