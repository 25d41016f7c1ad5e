// Licensed under the Apache License, Version 2.0.

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Scst.Core.Buffers;

namespace Scst.Core.Tests;

public sealed class DataBufferPoolTests
{
    [Theory]
    [InlineData(1, 4096, 0)]
    [InlineData(4096, 4096, 0)]
    [InlineData(4097, 8192, 1)]
    [InlineData(8192, 8192, 1)]
    [InlineData(65535, 65536, 4)]
    [InlineData(1 << 20, 1 << 20, 8)]
    public void Rent_Size_MapsToPowerOfTwoClass(int size, int capacity, int sizeClass)
    {
        using var pool = new DataBufferPool(1 << 20, 4);

        DataBuffer buffer = pool.Rent(size);

        buffer.Capacity.Should().Be(capacity);
        buffer.SizeClass.Should().Be(sizeClass);
        buffer.Memory.Length.Should().Be(capacity);
        pool.Return(buffer);
    }

    [Fact]
    public void Rent_Buffer_IsAlignedTo4096()
    {
        using var pool = new DataBufferPool(1 << 20, 4);

        DataBuffer a = pool.Rent(512);
        DataBuffer b = pool.Rent(300_000);

        AddressOf(a).Should().Be(0, "O_DIRECT needs page-aligned buffers");
        AddressOf(b).Should().Be(0);
        pool.Return(a);
        pool.Return(b);

        static long AddressOf(DataBuffer buffer) =>
            Unsafe.ByteOffset(ref Unsafe.NullRef<byte>(), ref MemoryMarshal.GetReference(buffer.Memory.Span)) % DataBuffer.Alignment;
    }

    [Theory]
    [InlineData(1 << 20, 1 << 20)]
    [InlineData(100_000, 131072)]
    [InlineData(1000, 4096)]
    public void MaxBufferSize_RoundsUpToPowerOfTwoAtLeast4096(int requested, int expected)
    {
        using var pool = new DataBufferPool(requested, 1);

        pool.MaxBufferSize.Should().Be(expected);
        DataBuffer largest = pool.Rent(expected);
        largest.Capacity.Should().Be(expected);
        pool.Return(largest);
    }

    [Fact]
    public void Return_ThenRentSameClass_ReusesTheBuffer()
    {
        using var pool = new DataBufferPool(1 << 20, 4);
        DataBuffer first = pool.Rent(10_000);
        pool.Return(first);

        DataBuffer second = pool.Rent(16_384);

        second.Should().BeSameAs(first);
        pool.Return(second);
    }

    [Fact]
    public void Rent_DifferentClass_DoesNotReuseAnotherClassesBuffer()
    {
        using var pool = new DataBufferPool(1 << 20, 4);
        DataBuffer small = pool.Rent(4096);
        pool.Return(small);

        DataBuffer large = pool.Rent(8192);

        large.Should().NotBeSameAs(small);
        pool.Return(large);
    }

    [Fact]
    public void Outstanding_CountsRentedNotReturned()
    {
        using var pool = new DataBufferPool(1 << 20, 4);

        DataBuffer a = pool.Rent(100);
        DataBuffer b = pool.Rent(100_000);
        pool.Outstanding.Should().Be(2);
        pool.Return(a);
        pool.Outstanding.Should().Be(1);
        pool.Return(b);

        pool.Outstanding.Should().Be(0);
    }

    [Fact]
    public void Return_BeyondRetentionCap_FreesTheExtraBuffers()
    {
        using var pool = new DataBufferPool(1 << 20, retainPerClass: 1, partitions: 1);
        DataBuffer a = pool.Rent(4096);
        DataBuffer b = pool.Rent(4096);
        pool.Return(a);
        pool.Return(b);

        DataBuffer c = pool.Rent(4096);
        DataBuffer d = pool.Rent(4096);

        c.Should().BeSameAs(a, "one idle buffer is kept");
        d.Should().NotBeSameAs(a).And.NotBeSameAs(b, "the second returned buffer was freed, not kept");
        pool.Outstanding.Should().Be(2);
        pool.Return(c);
        pool.Return(d);
    }

    [Fact]
    public void Return_ToAFullPartition_KeepsTheBufferInAnother()
    {
        // Two partitions keep one idle 4 KiB buffer each: whichever CPU the test runs on, both returns are kept.
        using var pool = new DataBufferPool(1 << 20, retainPerClass: 2, partitions: 2);
        DataBuffer a = pool.Rent(4096);
        DataBuffer b = pool.Rent(4096);
        DataBuffer c = pool.Rent(4096);
        pool.Return(a);
        pool.Return(b);
        pool.Return(c);

        pool.HeldBytes.Should().Be(2 * 4096, "the third buffer found both partitions full and was freed");
        DataBuffer d = pool.Rent(4096);
        DataBuffer e = pool.Rent(4096);
        new[] { d, e }.Should().BeEquivalentTo(new[] { a, b }, o => o.WithoutStrictOrdering(), "a rent takes from any partition before it allocates");
        pool.Outstanding.Should().Be(2);
        pool.Return(d);
        pool.Return(e);
        pool.Outstanding.Should().Be(0);
    }

    [Fact]
    public void TryRent_PastTheMemoryCap_FreesIdleBuffersFirst()
    {
        using var pool = new DataBufferPool(1 << 20, retainPerClass: 4, maxBytes: 12 << 10, partitions: 1);
        DataBuffer big = pool.TryRent(8192)!;
        DataBuffer small = pool.TryRent(4096)!;
        pool.HeldBytes.Should().Be(12 << 10);

        pool.TryRent(4096).Should().BeNull("a third buffer would hold 16 KiB");

        pool.Return(big);
        pool.HeldBytes.Should().Be(12 << 10, "an idle buffer still holds its memory");
        DataBuffer another = pool.TryRent(4096)!;
        another.Should().NotBeNull("the idle 8 KiB buffer is freed to make room");
        pool.HeldBytes.Should().Be(8 << 10);
        pool.Return(small);
        pool.Return(another);
        pool.Outstanding.Should().Be(0);
    }

    [Fact]
    public void Return_WithZeroRetention_NeverReuses()
    {
        using var pool = new DataBufferPool(1 << 20, retainPerClass: 0);
        DataBuffer a = pool.Rent(4096);
        pool.Return(a);

        DataBuffer b = pool.Rent(4096);

        b.Should().NotBeSameAs(a);
        pool.Return(b);
        pool.Outstanding.Should().Be(0);
    }

    [Fact]
    public void Rent_WarmPool_DoesNotAllocate()
    {
        using var pool = new DataBufferPool(1 << 20, 4);
        pool.Return(pool.Rent(4096));

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            pool.Return(pool.Rent(4096));
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        allocated.Should().Be(0);
    }
}
