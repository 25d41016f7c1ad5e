// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Numerics;

namespace Scst.Core.Buffers;

/// <summary>
/// Pool of aligned data buffers in power-of-two size classes from 4 KiB up to <see cref="MaxBufferSize"/>.
/// </summary>
/// <remarks>
/// Each class keeps at most <c>retainPerClass</c> idle buffers; more are freed on return, so a burst of large commands
/// does not pin memory for ever. Rent and return take a short lock per size class and never allocate once the pool is
/// warm. Buffers are not cleared on return: every command overwrites the bytes it sends.
/// </remarks>
internal sealed class DataBufferPool : IDisposable
{
    public const int MinBufferSize = 4096;
    private const int MinShift = 12;

    private readonly SizeClass[] _classes;
    private long _outstanding;
    private long _outstandingBytes;

    public DataBufferPool(int maxBufferSize, int retainPerClass)
    {
        if (maxBufferSize < MinBufferSize)
        {
            maxBufferSize = MinBufferSize;
        }

        MaxBufferSize = (int)BitOperations.RoundUpToPowerOf2((uint)maxBufferSize);
        int count = BitOperations.Log2((uint)MaxBufferSize) - MinShift + 1;
        _classes = new SizeClass[count];
        for (int i = 0; i < count; i++)
        {
            _classes[i] = new SizeClass(MinBufferSize << i, retainPerClass);
        }
    }

    /// <summary>The largest buffer the pool hands out.</summary>
    public int MaxBufferSize { get; }

    /// <summary>Buffers rented and not yet returned (tests check it is zero after a run).</summary>
    public long Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>Bytes held by rented buffers (their size classes, not the sizes asked for).</summary>
    public long OutstandingBytes => Volatile.Read(ref _outstandingBytes);

    /// <summary>The size of the buffer <see cref="Rent"/> would return for <paramref name="size"/>.</summary>
    public static int ClassSize(int size) => size <= MinBufferSize ? MinBufferSize : (int)BitOperations.RoundUpToPowerOf2((uint)size);

    /// <summary>Rents a buffer of at least <paramref name="size"/> bytes.</summary>
    public DataBuffer Rent(int size)
    {
        Debug.Assert(size <= MaxBufferSize, "callers check the maximum transfer length first");
        int index = size <= MinBufferSize ? 0 : BitOperations.Log2(BitOperations.RoundUpToPowerOf2((uint)size)) - MinShift;
        Interlocked.Increment(ref _outstanding);
        Interlocked.Add(ref _outstandingBytes, MinBufferSize << index);
        return _classes[index].Rent(index);
    }

    /// <summary>Returns a buffer rented from this pool. The caller must not use it afterwards.</summary>
    public void Return(DataBuffer buffer)
    {
        Interlocked.Decrement(ref _outstanding);
        Interlocked.Add(ref _outstandingBytes, -(MinBufferSize << buffer.SizeClass));
        _classes[buffer.SizeClass].Return(buffer);
    }

    public void Dispose()
    {
        foreach (SizeClass c in _classes)
        {
            c.Dispose();
        }
    }

    private sealed class SizeClass(int bufferSize, int retain) : IDisposable
    {
        private readonly Lock _lock = new();
        private readonly DataBuffer[] _idle = new DataBuffer[retain];
        private int _count;

        public DataBuffer Rent(int index)
        {
            lock (_lock)
            {
                if (_count > 0)
                {
                    DataBuffer b = _idle[--_count];
                    _idle[_count] = null!;
#if DEBUG
                    Debug.Assert(b.InPool, "buffer rented twice");
                    b.InPool = false;
#endif
                    return b;
                }
            }

            return new DataBuffer(bufferSize, index);
        }

        public void Return(DataBuffer buffer)
        {
#if DEBUG
            Debug.Assert(!buffer.InPool, "buffer returned twice");
            buffer.InPool = true;
#endif
            lock (_lock)
            {
                if (_count < _idle.Length)
                {
                    _idle[_count++] = buffer;
                    return;
                }
            }

            buffer.Free();
        }

        public void Dispose()
        {
            lock (_lock)
            {
                for (int i = 0; i < _count; i++)
                {
                    _idle[i].Free();
                    _idle[i] = null!;
                }

                _count = 0;
            }
        }
    }
}
