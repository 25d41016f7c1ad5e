// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Numerics;

namespace Scst.Core.Buffers;

/// <summary>
/// Pool of aligned data buffers in power-of-two size classes from 4 KiB up to <see cref="MaxBufferSize"/>.
/// </summary>
/// <remarks>
/// <para>
/// The idle buffers sit in one partition per CPU. A rent or a return touches the partition of the CPU it runs on,
/// under that partition's lock: on the command path no cache line is written that another CPU writes too, which would
/// cost a cache miss per command and grow with the number of CPUs. A partition that has no buffer of the class asked
/// for takes one from another partition before a new one is allocated; a full partition passes a returned buffer to
/// another one before it frees it. So buffers rented on one CPU and returned on another (a receive thread and a
/// completion thread) move between partitions instead of being allocated and freed.
/// </para>
/// <para>
/// Each partition keeps at most its share of <c>retainPerClass</c> idle buffers per class. Memory is counted when a
/// buffer is allocated or freed, not when it is rented: <see cref="TryRent"/> refuses a buffer that would take the
/// memory the pool holds (rented and idle) past its cap, after freeing idle buffers to make room. Rent and return
/// never allocate once the pool is warm. Buffers are not cleared on return: every command overwrites the bytes it
/// sends.
/// </para>
/// </remarks>
internal sealed class DataBufferPool : IDisposable
{
    public const int MinBufferSize = 4096;
    private const int MinShift = 12;

    private readonly Partition[] _partitions;
    private readonly long _maxBytes;
    private long _heldBytes;
    private long _buffers;

    /// <summary>Creates a pool.</summary>
    /// <param name="maxBufferSize">The largest buffer asked for; rounded up to a power of two, at least 4 KiB.</param>
    /// <param name="retainPerClass">Idle buffers kept per size class, shared out among the partitions.</param>
    /// <param name="maxBytes">The most memory the buffers may hold, rented and idle, for <see cref="TryRent"/>.</param>
    /// <param name="partitions">The number of partitions; 0 for one per CPU.</param>
    public DataBufferPool(int maxBufferSize, int retainPerClass, long maxBytes = long.MaxValue, int partitions = 0)
    {
        if (maxBufferSize < MinBufferSize)
        {
            maxBufferSize = MinBufferSize;
        }

        MaxBufferSize = (int)BitOperations.RoundUpToPowerOf2((uint)maxBufferSize);
        int classes = BitOperations.Log2((uint)MaxBufferSize) - MinShift + 1;
        if (partitions <= 0)
        {
            partitions = Math.Clamp(Environment.ProcessorCount, 1, 64);
        }

        int share = retainPerClass == 0 ? 0 : (retainPerClass + partitions - 1) / partitions;
        _partitions = new Partition[partitions];
        for (int i = 0; i < partitions; i++)
        {
            _partitions[i] = new Partition(classes, share);
        }

        _maxBytes = maxBytes;
    }

    /// <summary>The largest buffer the pool hands out.</summary>
    public int MaxBufferSize { get; }

    /// <summary>
    /// Buffers rented and not yet returned (tests check it is zero after a run). Counts the idle buffers under each
    /// partition's lock: exact while nothing rents or returns, meant for diagnostics.
    /// </summary>
    public long Outstanding
    {
        get
        {
            long idle = 0;
            foreach (Partition p in _partitions)
            {
                idle += p.IdleCount();
            }

            return Volatile.Read(ref _buffers) - idle;
        }
    }

    /// <summary>Bytes of memory the pool's buffers hold, rented and idle (their size classes, not the sizes asked for).</summary>
    public long HeldBytes => Volatile.Read(ref _heldBytes);

    /// <summary>The size of the buffer <see cref="Rent"/> would return for <paramref name="size"/>.</summary>
    public static int ClassSize(int size) => size <= MinBufferSize ? MinBufferSize : (int)BitOperations.RoundUpToPowerOf2((uint)size);

    /// <summary>Rents a buffer of at least <paramref name="size"/> bytes, past the memory cap if need be.</summary>
    public DataBuffer Rent(int size)
    {
        int index = ClassIndex(size);
        return TakeIdle(index) ?? Allocate(index);
    }

    /// <summary>
    /// Rents a buffer of at least <paramref name="size"/> bytes, or returns null when a new buffer would take the memory
    /// the pool holds past its cap even after the idle buffers are freed.
    /// </summary>
    public DataBuffer? TryRent(int size)
    {
        int index = ClassIndex(size);
        if (TakeIdle(index) is { } idle)
        {
            return idle;
        }

        long bytes = MinBufferSize << index;
        if (Interlocked.Add(ref _heldBytes, bytes) > _maxBytes)
        {
            Interlocked.Add(ref _heldBytes, -bytes);
            Trim();
            if (Interlocked.Add(ref _heldBytes, bytes) > _maxBytes)
            {
                Interlocked.Add(ref _heldBytes, -bytes);
                return null;
            }
        }

        Interlocked.Increment(ref _buffers);
        return new DataBuffer(MinBufferSize << index, index);
    }

    /// <summary>Returns a buffer rented from this pool. The caller must not use it afterwards.</summary>
    public void Return(DataBuffer buffer)
    {
#if DEBUG
        Debug.Assert(!buffer.InPool, "buffer returned twice");
        buffer.InPool = true;
#endif
        int home = Home();
        for (int i = 0; i < _partitions.Length; i++)
        {
            if (_partitions[(home + i) % _partitions.Length].TryPut(buffer))
            {
                return;
            }
        }

        Free(buffer);
    }

    /// <summary>Frees every idle buffer.</summary>
    public void Trim()
    {
        foreach (Partition p in _partitions)
        {
            while (p.TakeAny() is { } b)
            {
                Free(b);
            }
        }
    }

    public void Dispose() => Trim();

    private static int ClassIndex(int size)
    {
        Debug.Assert(size <= int.MaxValue / 2, "callers check the maximum transfer length first");
        return size <= MinBufferSize ? 0 : BitOperations.Log2(BitOperations.RoundUpToPowerOf2((uint)size)) - MinShift;
    }

    private int Home() => Thread.GetCurrentProcessorId() % _partitions.Length;

    private DataBuffer? TakeIdle(int index)
    {
        Debug.Assert(index < _partitions[0].Classes, "callers check the maximum transfer length first");
        int home = Home();
        for (int i = 0; i < _partitions.Length; i++)
        {
            if (_partitions[(home + i) % _partitions.Length].TryTake(index) is { } b)
            {
#if DEBUG
                Debug.Assert(b.InPool, "buffer rented twice");
                b.InPool = false;
#endif
                return b;
            }
        }

        return null;
    }

    private DataBuffer Allocate(int index)
    {
        Interlocked.Add(ref _heldBytes, MinBufferSize << index);
        Interlocked.Increment(ref _buffers);
        return new DataBuffer(MinBufferSize << index, index);
    }

    private void Free(DataBuffer buffer)
    {
        Interlocked.Add(ref _heldBytes, -(MinBufferSize << buffer.SizeClass));
        Interlocked.Decrement(ref _buffers);
        buffer.Free();
    }

    // One CPU's idle buffers. Its objects are allocated together, and the counts array, allocated last, ends in 64
    // unused bytes: what one partition writes and what the next one writes never share a cache line.
    private sealed class Partition(int classes, int retain)
    {
        private readonly Lock _lock = new();
        private readonly DataBuffer?[][] _idle = CreateStacks(classes, retain);
        private readonly int[] _counts = new int[classes + 16];
        private int _total;

        public int Classes => _idle.Length;

        public DataBuffer? TryTake(int index)
        {
            // Read without the lock: an empty class is the usual case of the partitions other than the home one.
            if (Volatile.Read(ref _counts[index]) == 0)
            {
                return null;
            }

            lock (_lock)
            {
                int n = _counts[index];
                if (n == 0)
                {
                    return null;
                }

                DataBuffer b = _idle[index][--n]!;
                _idle[index][n] = null;
                _counts[index] = n;
                _total--;
                return b;
            }
        }

        public bool TryPut(DataBuffer buffer)
        {
            int index = buffer.SizeClass;
            lock (_lock)
            {
                int n = _counts[index];
                if (n == _idle[index].Length)
                {
                    return false;
                }

                _idle[index][n] = buffer;
                _counts[index] = n + 1;
                _total++;
                return true;
            }
        }

        public DataBuffer? TakeAny()
        {
            lock (_lock)
            {
                for (int i = 0; i < _idle.Length; i++)
                {
                    int n = _counts[i];
                    if (n > 0)
                    {
                        DataBuffer b = _idle[i][--n]!;
                        _idle[i][n] = null;
                        _counts[i] = n;
                        _total--;
                        return b;
                    }
                }

                return null;
            }
        }

        public int IdleCount()
        {
            lock (_lock)
            {
                return _total;
            }
        }

        private static DataBuffer?[][] CreateStacks(int classes, int retain)
        {
            var stacks = new DataBuffer?[classes][];
            for (int i = 0; i < classes; i++)
            {
                stacks[i] = new DataBuffer?[retain];
            }

            return stacks;
        }
    }
}
