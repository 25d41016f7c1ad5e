// Licensed under the Apache License, Version 2.0.

using System.Runtime.InteropServices;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Scst.Handlers.Interop;

/// <summary>
/// An io_uring instance: the descriptor from io_uring_setup(2) and its three shared mappings (the submission ring with
/// its index array, the completion ring, the SQE array). The submission ring's index array is filled once with the
/// identity (slot i holds SQE i), so that a submitter only writes the SQE at <c>tail &amp; mask</c> and moves the tail.
/// </summary>
/// <remarks>
/// Not thread-safe by itself: <see cref="Io.UringIoEngine"/> serialises the submission side under a lock and reads
/// the completion side from one thread. The mappings stay valid until <see cref="Dispose"/>; the descriptor is a
/// <see cref="SafeHandle"/>, so an io_uring_enter that races with the close sees a live descriptor or none, never a
/// recycled number.
/// </remarks>
internal sealed unsafe class IoUringRing : IDisposable
{
    private readonly RingHandle _fd;
    private readonly void* _sqRing;
    private readonly nuint _sqRingBytes;
    private readonly void* _cqRing;
    private readonly nuint _cqRingBytes;
    private readonly io_uring_sqe* _sqes;
    private readonly nuint _sqesBytes;
    private readonly uint* _sqHead;
    private readonly uint* _sqTail;
    private readonly uint* _cqHead;
    private readonly uint* _cqTail;
    private readonly io_uring_cqe* _cqes;
    private int _disposed;

    private IoUringRing(RingHandle fd, in io_uring_params p, void* sqRing, nuint sqRingBytes, void* cqRing, nuint cqRingBytes, io_uring_sqe* sqes, nuint sqesBytes)
    {
        _fd = fd;
        _sqRing = sqRing;
        _sqRingBytes = sqRingBytes;
        _cqRing = cqRing;
        _cqRingBytes = cqRingBytes;
        _sqes = sqes;
        _sqesBytes = sqesBytes;
        SubmissionEntries = p.sq_entries;
        CompletionEntries = p.cq_entries;
        SubmissionMask = *(uint*)((byte*)sqRing + p.sq_off.ring_mask);
        CompletionMask = *(uint*)((byte*)cqRing + p.cq_off.ring_mask);
        _sqHead = (uint*)((byte*)sqRing + p.sq_off.head);
        _sqTail = (uint*)((byte*)sqRing + p.sq_off.tail);
        _cqHead = (uint*)((byte*)cqRing + p.cq_off.head);
        _cqTail = (uint*)((byte*)cqRing + p.cq_off.tail);
        _cqes = (io_uring_cqe*)((byte*)cqRing + p.cq_off.cqes);
        uint* array = (uint*)((byte*)sqRing + p.sq_off.array);
        for (uint i = 0; i < p.sq_entries; i++)
        {
            array[i] = i;
        }
    }

    /// <summary>
    /// RWF_DSYNC: the write is stable when it completes, as if fdatasync followed it. On a block device opened with
    /// O_DIRECT it becomes a FUA write, which the block layer drops on a device without a volatile cache and otherwise
    /// carries out with the write itself (or a flush right after it), with no separate request.
    /// </summary>
    public const uint RwfDataSync = 0x2;

    /// <summary>The size of the submission ring (a power of two).</summary>
    public uint SubmissionEntries { get; }

    /// <summary>The size of the completion ring (twice the submission ring, as the kernel sizes it by default).</summary>
    public uint CompletionEntries { get; }

    private uint SubmissionMask { get; }

    private uint CompletionMask { get; }

    /// <summary>Creates a ring of <paramref name="entries"/> submission entries.</summary>
    /// <returns>The ring, or null with the errno in <paramref name="error"/> (ENOSYS: no io_uring in this kernel; EPERM:
    /// disabled by <c>kernel.io_uring_disabled</c> or a seccomp filter; ENOMEM: locked-memory limit).</returns>
    public static IoUringRing? Create(uint entries, out int error)
    {
        io_uring_params p = default;
        int fd = io_uring_setup(entries, &p);
        if (fd < 0)
        {
            error = errno;
            return null;
        }

        var handle = new RingHandle(fd);
        nuint sqRingBytes = p.sq_off.array + (p.sq_entries * sizeof(uint));
        nuint cqRingBytes = p.cq_off.cqes + (p.cq_entries * (uint)sizeof(io_uring_cqe));
        bool single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
        if (single)
        {
            sqRingBytes = cqRingBytes = Math.Max(sqRingBytes, cqRingBytes);
        }

        void* sqRing = Map(fd, sqRingBytes, IORING_OFF_SQ_RING);
        void* cqRing = single ? sqRing : sqRing == null ? null : Map(fd, cqRingBytes, IORING_OFF_CQ_RING);
        nuint sqesBytes = p.sq_entries * (nuint)sizeof(io_uring_sqe);
        void* sqes = cqRing == null ? null : Map(fd, sqesBytes, IORING_OFF_SQES);
        if (sqes == null)
        {
            error = errno;
            Unmap(sqRing, sqRingBytes);
            if (!single)
            {
                Unmap(cqRing, cqRingBytes);
            }

            handle.Dispose();
            return null;
        }

        error = 0;
        return new IoUringRing(handle, p, sqRing, single ? 0 : sqRingBytes, cqRing, cqRingBytes, (io_uring_sqe*)sqes, sqesBytes);
    }

    /// <summary>
    /// Fills the SQE at the tail in place and publishes it (a release store of the tail), or returns false when the
    /// submission ring is full (entries published by others and not yet entered). The caller holds the submission lock.
    /// </summary>
    /// <param name="opcode">What to do. <see cref="UringOpcode.Fsync"/> is an fdatasync (IORING_FSYNC_DATASYNC).</param>
    /// <param name="fd">The file.</param>
    /// <param name="offset">The file offset.</param>
    /// <param name="address">The buffer, or the iovec array of <see cref="UringOpcode.WriteV"/>.</param>
    /// <param name="length">The buffer's length, or the number of iovecs.</param>
    /// <param name="userData">Handed back with the completion.</param>
    /// <param name="rwFlags">The RWF_* flags of a read or write (<see cref="RwfDataSync"/>).</param>
    public bool TryPrepare(UringOpcode opcode, int fd, ulong offset, ulong address, uint length, ulong userData, uint rwFlags = 0)
    {
        uint tail = *_sqTail;
        if (tail - Volatile.Read(ref *_sqHead) >= SubmissionEntries)
        {
            return false;
        }

        io_uring_sqe* sqe = &_sqes[tail & SubmissionMask];
        *sqe = default;
        sqe->opcode = (byte)opcode;
        sqe->fd = fd;
        sqe->off = offset;
        sqe->addr = address;
        sqe->len = length;
        sqe->user_data = userData;
        if (opcode == UringOpcode.Fsync)
        {
            sqe->fsync_flags = IORING_FSYNC_DATASYNC;
        }
        else
        {
            sqe->rw_flags = (int)rwFlags;
        }

        Volatile.Write(ref *_sqTail, tail + 1);
        return true;
    }

    /// <summary>The entries published and not yet consumed by the kernel.</summary>
    public uint Pending => *_sqTail - Volatile.Read(ref *_sqHead);

    /// <summary>
    /// io_uring_enter(2): hands up to <paramref name="toSubmit"/> published entries to the kernel (whoever filled them),
    /// and with <paramref name="wait"/> blocks until a completion is posted.
    /// </summary>
    /// <returns>The entries consumed, or -errno.</returns>
    public int Enter(uint toSubmit, bool wait)
    {
        bool added = false;
        try
        {
            _fd.DangerousAddRef(ref added);
            int rc = io_uring_enter((int)_fd.DangerousGetHandle(), toSubmit, wait ? 1u : 0u, wait ? IORING_ENTER_GETEVENTS : 0u, null);
            return rc >= 0 ? rc : -errno;
        }
        catch (ObjectDisposedException)
        {
            return -EBADF;
        }
        finally
        {
            if (added)
            {
                _fd.DangerousRelease();
            }
        }
    }

    /// <summary>Takes the next completion, if one is posted (completion side: one thread only).</summary>
    public bool TryTakeCompletion(out ulong userData, out int result)
    {
        uint head = *_cqHead;
        if (head == Volatile.Read(ref *_cqTail))
        {
            userData = 0;
            result = 0;
            return false;
        }

        io_uring_cqe* cqe = &_cqes[head & CompletionMask];
        userData = cqe->user_data;
        result = cqe->res;
        Volatile.Write(ref *_cqHead, head + 1); // the slot is free for the kernel once its fields are read
        return true;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _fd.Dispose();
        Unmap(_sqes, _sqesBytes);
        Unmap(_cqRing, _cqRingBytes);
        Unmap(_sqRing, _sqRingBytes);
    }

    private static void* Map(int fd, nuint bytes, ulong offset)
    {
        void* p = mmap(null, (size_t)(ulong)bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, (long)offset);
        return p == MAP_FAILED ? null : p;
    }

    private static void Unmap(void* p, nuint bytes)
    {
        if (p != null && bytes != 0)
        {
            _ = munmap(p, (size_t)(ulong)bytes);
        }
    }

    /// <summary>The ring's descriptor.</summary>
    private sealed class RingHandle : SafeHandle
    {
        public RingHandle(int fd)
            : base(-1, ownsHandle: true) => SetHandle(fd);

        public override bool IsInvalid => handle == -1;

        protected override bool ReleaseHandle() => close((int)handle) == 0;
    }
}

/// <summary>The io_uring operations the engine submits (enum io_uring_op of linux/io_uring.h).</summary>
internal enum UringOpcode : byte
{
    Nop = 0,
    WriteV = 2,
    Fsync = 3,
    Read = 22,
    Write = 23,
}
