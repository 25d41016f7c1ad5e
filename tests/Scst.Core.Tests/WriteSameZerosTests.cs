// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Scst.Core;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Core.Tests;

/// <summary>
/// WRITE SAME of an all-zero block asks the device's <c>WriteZerosAsync</c> first (BLKZEROOUT for vdisk_blockio), and
/// writes the zeros itself only when the device declines; any other block is written from a staging buffer aligned to
/// 4096 bytes, so that a device opened with O_DIRECT takes it as it is.
/// </summary>
public sealed class WriteSameZerosTests
{
    private const int Block = 512;

    [Fact]
    public async Task WriteSame_OfAZeroBlock_GoesToTheDevicesZeroingAndWritesNothing()
    {
        var device = new ZeroingDevice { Zeroing = CommandOutcome.Good };
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();

        SenseAssert.IsGood(await session.ExecuteAsync(0, WriteSame16(100, 300, ndob: false), DataDirection.Write, new byte[Block]));
        SenseAssert.IsGood(await session.ExecuteAsync(0, WriteSame16(1000, 8, ndob: true), DataDirection.None, Memory<byte>.Empty));

        device.Zeroed.Should().Equal((100L * Block, 300L * Block), (1000L * Block, 8L * Block));
        device.Writes.Should().BeEmpty();
    }

    [Fact]
    public async Task WriteSame_OfAZeroBlock_WhenTheDeviceDeclines_WritesZerosFromAnAlignedBuffer()
    {
        var device = new ZeroingDevice { Zeroing = null };
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();

        SenseAssert.IsGood(await session.ExecuteAsync(0, WriteSame16(0, 4096, ndob: false), DataDirection.Write, new byte[Block]));

        device.Zeroed.Should().Equal((0L, 4096L * Block));
        device.Writes.Sum(w => w.Length).Should().Be(4096 * Block);
        device.Writes.Should().OnlyContain(w => w.AllZero && w.Address % 4096 == 0);
    }

    [Fact]
    public async Task WriteSame_OfAPatternBlock_IsWrittenFromAnAlignedBuffer_WithoutAskingForZeroing()
    {
        var device = new ZeroingDevice { Zeroing = CommandOutcome.Good };
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        byte[] block = new byte[Block];
        block[17] = 0x5A;

        SenseAssert.IsGood(await session.ExecuteAsync(0, WriteSame16(64, 16, ndob: false), DataDirection.Write, block));

        device.Zeroed.Should().BeEmpty();
        device.Writes.Should().ContainSingle().Which.Should().Be((64L * Block, 16 * Block, false, device.Writes[0].Address));
        (device.Writes[0].Address % 4096).Should().Be(0);
    }

    [Fact]
    public async Task WriteSame_OfAZeroBlock_ReportsTheDevicesZeroingFailure()
    {
        var device = new ZeroingDevice { Zeroing = CommandOutcome.CheckCondition(SenseCode.WriteError) };
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();

        LocalResult result = await session.ExecuteAsync(0, WriteSame16(0, 8, ndob: false), DataDirection.Write, new byte[Block]);

        SenseAssert.IsCheckCondition(result, SenseCode.WriteError);
        device.Writes.Should().BeEmpty();
    }

    private static byte[] WriteSame16(ulong lba, uint blocks, bool ndob)
    {
        byte[] cdb = new byte[16];
        cdb[0] = 0x93;
        cdb[1] = ndob ? (byte)0x01 : (byte)0;
        BinaryPrimitives.WriteUInt64BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(10), blocks);
        return cdb;
    }

    /// <summary>A block device that records its zeroing requests and its writes (offset, length, all zeros, buffer address).</summary>
    private sealed class ZeroingDevice() : BlockDevice("zeroing", "test_zeroing")
    {
        public CommandOutcome? Zeroing { get; init; }

        public List<(long Offset, long Length)> Zeroed { get; } = [];

        public List<(long Offset, int Length, bool AllZero, long Address)> Writes { get; } = [];

        public override long BlockCount => 1 << 16;

        protected override ValueTask<CommandOutcome?> WriteZerosAsync(long offset, long length)
        {
            Zeroed.Add((offset, length));
            return new(Zeroing);
        }

        protected override ValueTask<CommandOutcome> ReadAsync(long offset, Memory<byte> destination) => new(CommandOutcome.Good);

        protected override ValueTask<CommandOutcome> WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess)
        {
            long address = Unsafe.ByteOffset(ref Unsafe.NullRef<byte>(), ref MemoryMarshal.GetReference(source.Span));
            Writes.Add((offset, source.Length, !source.Span.ContainsAnyExcept((byte)0), address));
            return new(CommandOutcome.Good);
        }

        protected override ValueTask<CommandOutcome> FlushAsync() => new(CommandOutcome.Good);
    }
}
