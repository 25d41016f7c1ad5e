// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Runtime.InteropServices;

namespace Scst.Core.Buffers;

/// <summary>
/// A block of native memory aligned to 4096 bytes, so that it can be handed to O_DIRECT I/O and to the kernel's
/// socket calls without pinning. Instances are owned by a <see cref="DataBufferPool"/>: whoever rents one returns it
/// exactly once with <see cref="DataBufferPool.Return"/>, and must not touch it afterwards.
/// </summary>
internal sealed unsafe class DataBuffer : MemoryManager<byte>
{
    public const int Alignment = 4096;

    private byte* _pointer;
#if DEBUG
    internal bool InPool;
#endif

    public DataBuffer(int capacity, int sizeClass)
    {
        Capacity = capacity;
        SizeClass = sizeClass;
        _pointer = (byte*)NativeMemory.AlignedAlloc((nuint)capacity, Alignment);
    }

    /// <summary>Size of the block in bytes.</summary>
    public int Capacity { get; }

    /// <summary>Index of the pool's size class this block belongs to.</summary>
    public int SizeClass { get; }

    public byte* Pointer => _pointer;

    public override Span<byte> GetSpan() => new(_pointer, Capacity);

    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (_pointer != null)
        {
            NativeMemory.AlignedFree(_pointer);
            _pointer = null;
        }
    }

    public void Free() => ((IDisposable)this).Dispose();
}
