// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using Scst.Core;
using Scst.Core.Alua;
using Scst.Core.Management;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Handlers.Tests;

/// <summary>
/// vdisk_blockio on loop devices the tests set up themselves (<see cref="LoopDevice"/>: root and losetup are required;
/// without them these tests fail): geometry and defaults from the device, the data path over the local transport, and
/// the device's attributes.
/// </summary>
public sealed class VdiskBlockIoHandlerTests : IAsyncDisposable
{
    private const long DiskBytes = 64L << 20;

    private readonly List<LoopDevice> _loops = [];
    private readonly List<IAsyncDisposable> _stacks = [];

    // Asynchronous, never blocking: a test's last await may resume on the io_uring's completion thread, which a
    // blocking wait for the devices' disposal (which waits for that thread) would hold for ever.
    public async ValueTask DisposeAsync()
    {
        // Stacks first, so that no device is detached while the target still holds it open.
        foreach (IAsyncDisposable s in _stacks)
        {
            await s.DisposeAsync();
        }

        foreach (LoopDevice l in _loops)
        {
            l.Dispose();
        }
    }

    private LoopDevice Loop(int sectorSize = 512, long bytes = DiskBytes)
    {
        LoopDevice loop = LoopDevice.Create(bytes, sectorSize);
        _loops.Add(loop);
        return loop;
    }

    private async Task<(ScstStack Stack, LocalSession Session, BlockIoDevice Device)> StartAsync(LoopDevice loop, Dictionary<string, string>? parameters = null)
    {
        var all = new Dictionary<string, string> { ["filename"] = loop.Path };
        foreach (KeyValuePair<string, string> p in parameters ?? [])
        {
            all[p.Key] = p.Value;
        }

        ScstStack stack = await ScstStack.StartAsync("vdisk_blockio", "disk0", all);
        _stacks.Add(stack);
        return (stack, stack.OpenSession(), (BlockIoDevice)stack.Engine.FindDevice("disk0")!);
    }

    private static ValueTask<LocalResult> RunAsync(LocalSession s, byte[] cdb, DataDirection direction = DataDirection.None, byte[]? data = null) =>
        s.ExecuteAsync(0, cdb, direction, data ?? Memory<byte>.Empty);

    private static byte[] Pattern(int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        data[0] |= 1; // never all zeros
        return data;
    }

    private static byte[] Cdb16(byte opcode, byte b1, ulong lba, uint blocks)
    {
        byte[] cdb = new byte[16];
        cdb[0] = opcode;
        cdb[1] = b1;
        BinaryPrimitives.WriteUInt64BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(10), blocks);
        return cdb;
    }

    private static byte[] UnmapList(ulong lba, uint blocks)
    {
        byte[] list = new byte[24];
        BinaryPrimitives.WriteUInt16BigEndian(list, 22);
        BinaryPrimitives.WriteUInt16BigEndian(list.AsSpan(2), 16);
        BinaryPrimitives.WriteUInt64BigEndian(list.AsSpan(8), lba);
        BinaryPrimitives.WriteUInt32BigEndian(list.AsSpan(16), blocks);
        return list;
    }

    private static async Task<(ulong LastLba, uint BlockLength, byte Exponent, bool Lbpme)> ReadCapacity16Async(LocalSession s)
    {
        byte[] data = new byte[32];
        SenseAssert.IsGood(await RunAsync(s, CdbBuilder.ReadCapacity16(), DataDirection.Read, data));
        return (BinaryPrimitives.ReadUInt64BigEndian(data), BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(8)), (byte)(data[13] & 0x0F), (data[14] & 0x80) != 0);
    }

    [Fact]
    public void Handler_NameAndType_AreScsts()
    {
        var handler = new VdiskBlockIoHandler();

        handler.Name.Should().Be("vdisk_blockio");
        handler.DeviceType.Should().Be(PeripheralDeviceType.DirectAccess);
    }

    [Theory]
    [InlineData(512)]
    [InlineData(4096)]
    public async Task CreateDevice_OnLoopDevice_TakesSizeAndBlockSizesFromTheDevice(int sectorSize)
    {
        LoopDevice loop = Loop(sectorSize);
        int physical = int.Parse(loop.Queue("physical_block_size"), CultureInfo.InvariantCulture);

        (ScstStack _, LocalSession session, BlockIoDevice device) = await StartAsync(loop);

        device.BlockSize.Should().Be(sectorSize, "blocksize defaults to the device's logical block size (BLKSSZGET)");
        device.BlockCount.Should().Be(DiskBytes / sectorSize, "the capacity is the device's (BLKGETSIZE64)");
        device.LogicalBlocksPerPhysicalBlockExponent.Should().Be(int.Log2(physical / sectorSize), "BLKPBSZGET over BLKSSZGET");
        device.Identity.VendorId.Should().Be("SCST_BIO");
        device.HandlerName.Should().Be("vdisk_blockio");
        device.Path.Should().Be(loop.Path);
        (ulong lastLba, uint blockLength, byte _, bool _) = await ReadCapacity16Async(session);
        lastLba.Should().Be((ulong)(DiskBytes / sectorSize) - 1);
        blockLength.Should().Be((uint)sectorSize);
    }

    [Fact]
    public void CreateDevice_BlockSizeSmallerThanTheDevicesLogicalBlock_IsRefused()
    {
        LoopDevice loop = Loop(4096);

        Action act = () => new VdiskBlockIoHandler().CreateDevice("disk0", new Dictionary<string, string> { ["filename"] = loop.Path, ["blocksize"] = "512" });

        act.Should().Throw<ArgumentException>().WithMessage("*blocksize*4096*");
    }

    [Fact]
    public async Task CreateDevice_BlockSizeLargerThanTheDevicesLogicalBlock_CountsItsBlocks()
    {
        LoopDevice loop = Loop(512);

        (ScstStack _, LocalSession session, BlockIoDevice device) = await StartAsync(loop, new() { ["blocksize"] = "4096" });

        device.BlockSize.Should().Be(4096);
        device.BlockCount.Should().Be(DiskBytes / 4096);
        byte[] data = Pattern(8192, 3);
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Write16(5, 2), DataDirection.Write, data));
        loop.ReadBacking(5 * 4096, 8192).Should().Equal(data);
    }

    [Fact]
    public void CreateDevice_RegularFile_IsRefusedNamingIt()
    {
        using var dir = new TempDirectory();
        string file = dir.File("plain.img");
        File.WriteAllBytes(file, new byte[1 << 20]);

        Action act = () => new VdiskBlockIoHandler().CreateDevice("disk0", new Dictionary<string, string> { ["filename"] = file });

        act.Should().Throw<ArgumentException>().WithMessage($"*disk0*'{file}' is not a block device*");
    }

    [Fact]
    public void CreateDevice_MissingPathOrNoFilename_IsRefused()
    {
        var handler = new VdiskBlockIoHandler();

        handler.Invoking(h => h.CreateDevice("disk0", new Dictionary<string, string> { ["filename"] = "/dev/no-such-device" }))
            .Should().Throw<ArgumentException>().WithMessage("*disk0*/dev/no-such-device*");
        handler.Invoking(h => h.CreateDevice("disk0", new Dictionary<string, string>()))
            .Should().Throw<ArgumentException>().WithMessage("*filename*required*");
        handler.Invoking(h => h.CreateDevice("disk0", new Dictionary<string, string> { ["filename"] = "/dev/null", ["size"] = "1M" }))
            .Should().Throw<ArgumentException>();
    }

    [Fact]
    public async Task Defaults_FollowTheDevicesQueue_RotationalDiscardAndWriteCache()
    {
        LoopDevice loop = Loop();
        (ScstStack _, LocalSession _, BlockIoDevice device) = await StartAsync(loop);

        device.Rotational.Should().Be(loop.Queue("rotational") == "1");
        device.ThinProvisioned.Should().Be(long.Parse(loop.Queue("discard_max_bytes"), CultureInfo.InvariantCulture) > 0);
        device.ThinProvisioned.Should().BeTrue("a loop device over a file discards by punching holes");
        device.WriteCacheEnabled.Should().Be(loop.Queue("write_cache") == "write back");
    }

    [Fact]
    public async Task Defaults_NonRotatingDeviceWithoutWriteCache_AreNotRotationalAndWriteThrough()
    {
        LoopDevice loop = Loop();
        File.WriteAllText($"/sys/block/{loop.Name}/queue/rotational", "0");
        File.WriteAllText($"/sys/block/{loop.Name}/queue/write_cache", "write through");

        (ScstStack stack, LocalSession _, BlockIoDevice device) = await StartAsync(loop);

        device.Rotational.Should().BeFalse();
        device.WriteCacheEnabled.Should().BeFalse("a device without a volatile cache is served write-through");
        var tree = new ManagementTree(stack.Engine);
        Value(tree, "write_through").Should().Be("1");
        Value(tree, "rotational").Should().Be("0");
    }

    [Fact]
    public async Task ExplicitParameters_OverrideTheDevicesDefaults()
    {
        LoopDevice loop = Loop();

        (ScstStack _, LocalSession _, BlockIoDevice device) = await StartAsync(loop, new()
        {
            ["rotational"] = "0", ["thin_provisioned"] = "0", ["write_through"] = "1", ["t10_vend_id"] = "ACME",
        });

        device.Rotational.Should().BeFalse();
        device.ThinProvisioned.Should().BeFalse();
        device.WriteCacheEnabled.Should().BeFalse();
        device.Identity.VendorId.Should().Be("ACME");
    }

    [Theory]
    [InlineData(512)]
    [InlineData(4096)]
    public async Task WriteThenRead_RoundTripsThroughTheDevice(int sectorSize)
    {
        LoopDevice loop = Loop(sectorSize);
        (ScstStack _, LocalSession session, BlockIoDevice _) = await StartAsync(loop);
        byte[] data = Pattern(16 * sectorSize, sectorSize);

        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Write16(100, 16), DataDirection.Write, data));
        byte[] back = new byte[data.Length];
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Read16(100, 16), DataDirection.Read, back));

        back.Should().Equal(data);
        loop.ReadBacking(100L * sectorSize, data.Length).Should().Equal(data, "the bytes are on the device, not in a cache of ours");
    }

    [Fact]
    public async Task Read_SeesWhatWasWrittenToTheDeviceBesideTheTarget()
    {
        LoopDevice loop = Loop();
        (ScstStack _, LocalSession session, BlockIoDevice _) = await StartAsync(loop);
        byte[] data = Pattern(4096, 11);
        loop.WriteDevice(512 * 40, data);

        byte[] back = new byte[4096];
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Read10(40, 8), DataDirection.Read, back));

        back.Should().Equal(data, "O_DIRECT reads the device, not a page cache of our own");
    }

    [Fact]
    public async Task UnalignedBuffers_GoThroughABounceBuffer()
    {
        LoopDevice loop = Loop(4096);
        (ScstStack _, LocalSession _, BlockIoDevice device) = await StartAsync(loop);
        byte[] data = Pattern(8192, 5);
        Span<byte> unaligned = Misaligned(8192);
        data.CopyTo(unaligned);

        device.Write(4096 * 3, unaligned, forceUnitAccess: false).IsGood.Should().BeTrue();
        unaligned.Clear();
        device.Read(4096 * 3, unaligned).IsGood.Should().BeTrue();

        unaligned.ToArray().Should().Equal(data);
        loop.ReadBacking(4096 * 3, 8192).Should().Equal(data);
    }

    // A span of `length` bytes inside a pinned array whose address is one past a multiple of 512 (O_DIRECT refuses it).
    private static Span<byte> Misaligned(int length)
    {
        byte[] buffer = GC.AllocateArray<byte>(length + 1024, pinned: true);
        long address = Marshal.UnsafeAddrOfPinnedArrayElement(buffer, 0);
        int skip = (int)((513 - (address % 512)) % 512);
        return buffer.AsSpan(skip, length);
    }

    [Fact]
    public async Task FuaWriteAndSynchronizeCache_AreGoodAndTheDataIsOnTheDevice()
    {
        LoopDevice loop = Loop();
        (ScstStack _, LocalSession session, BlockIoDevice _) = await StartAsync(loop);
        byte[] data = Pattern(4096, 9);

        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Write10(8, 8, fua: true), DataDirection.Write, data));
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.SynchronizeCache10()));
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.SynchronizeCache16()));

        loop.ReadBacking(8 * 512, 4096).Should().Equal(data);
    }

    [Fact]
    public async Task WriteThrough_AndNvCache_WriteAndFlushWithoutError()
    {
        LoopDevice first = Loop();
        LoopDevice second = Loop();
        (ScstStack _, LocalSession through, BlockIoDevice _) = await StartAsync(first, new() { ["write_through"] = "1" });
        (ScstStack _, LocalSession nv, BlockIoDevice nvDevice) = await StartAsync(second, new() { ["nv_cache"] = "1" });
        byte[] data = Pattern(1024, 4);

        SenseAssert.IsGood(await RunAsync(through, CdbBuilder.Write10(0, 2), DataDirection.Write, data));
        SenseAssert.IsGood(await RunAsync(nv, CdbBuilder.Write10(0, 2, fua: true), DataDirection.Write, data));
        SenseAssert.IsGood(await RunAsync(nv, CdbBuilder.SynchronizeCache10()));

        first.ReadBacking(0, 1024).Should().Equal(data);
        second.ReadBacking(0, 1024).Should().Equal(data);
        nvDevice.WriteCacheEnabled.Should().BeFalse("nv_cache reports no volatile cache");
        nvDevice.WriteCacheChangeable.Should().BeFalse();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Unmap_ThenRead_ReturnsZeros(bool discardZeroes)
    {
        LoopDevice loop = Loop();
        (ScstStack _, LocalSession session, BlockIoDevice device) = await StartAsync(loop);
        device.DiscardZeroes.Should().BeTrue("a loop device's discard punches a hole in its backing file");
        // false: the path of every other device, BLKZEROOUT after BLKDISCARD.
        device.DiscardZeroes = discardZeroes;
        byte[] data = Pattern(1 << 20, 1);
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Write16(2048, 2048), DataDirection.Write, data));

        SenseAssert.IsGood(await RunAsync(session, [0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], DataDirection.Write, UnmapList(2048 + 8, 2000)));

        byte[] back = new byte[1 << 20];
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Read16(2048, 2048), DataDirection.Read, back));
        back.AsSpan(0, 8 * 512).ToArray().Should().Equal(data.AsSpan(0, 8 * 512).ToArray(), "the blocks before the range keep their data");
        back.AsSpan(8 * 512, 2000 * 512).ContainsAnyExcept((byte)0).Should().BeFalse("unmapped blocks read as zeros (LBPRZ)");
        back.AsSpan(2008 * 512).ToArray().Should().Equal(data.AsSpan(2008 * 512).ToArray(), "the blocks after the range keep their data");
        loop.ReadBacking((2048 + 8) * 512, 2000 * 512).AsSpan().ContainsAnyExcept((byte)0).Should().BeFalse();
        (await ReadCapacity16Async(session)).Lbpme.Should().BeTrue();
    }

    [Fact]
    public async Task Unmap_OnALoopDevice_DeallocatesTheBackingFile()
    {
        LoopDevice loop = Loop();
        (ScstStack _, LocalSession session, BlockIoDevice _) = await StartAsync(loop);
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Write16(0, 8192), DataDirection.Write, Pattern(4 << 20, 2)));
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.SynchronizeCache10()));
        long before = Allocated(loop.BackingFile);

        SenseAssert.IsGood(await RunAsync(session, [0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], DataDirection.Write, UnmapList(0, 8192)));
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.SynchronizeCache10()));

        before.Should().BeGreaterThanOrEqualTo(4 << 20);
        Allocated(loop.BackingFile).Should().BeLessThan(before - (3 << 20), "the discard punched a hole in the backing file");
    }

    [Fact]
    public async Task GetLbaStatus_OnALoopDevice_ReportsWrittenBlocksMappedAndUnmappedOnesDeallocated()
    {
        LoopDevice loop = Loop();
        (ScstStack _, LocalSession session, BlockIoDevice _) = await StartAsync(loop);
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Write16(0, 2048), DataDirection.Write, Pattern(1 << 20, 7)));
        SenseAssert.IsGood(await RunAsync(session, [0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], DataDirection.Write, UnmapList(1024, 1024)));

        byte[] status = new byte[8 + (3 * 16)];
        SenseAssert.IsGood(await RunAsync(session, Cdb16(0x9E, 0x12, 0, (uint)status.Length), DataDirection.Read, status));

        // Descriptors: LBA (8 bytes), NUMBER OF LOGICAL BLOCKS (4), PROVISIONING STATUS (byte 12: 0 mapped, 1 deallocated).
        ReadOnlySpan<byte> first = status.AsSpan(8, 16);
        ReadOnlySpan<byte> second = status.AsSpan(24, 16);
        (BinaryPrimitives.ReadUInt64BigEndian(first), BinaryPrimitives.ReadUInt32BigEndian(first[8..]), first[12] & 0x0F).Should().Be((0UL, 1024U, 0));
        (BinaryPrimitives.ReadUInt64BigEndian(second), second[12] & 0x0F).Should().Be((1024UL, 1), "the unmapped blocks are a hole in the backing file");
    }

    [Fact]
    public async Task WriteSameWithUnmap_ThenRead_ReturnsZeros()
    {
        LoopDevice loop = Loop();
        (ScstStack _, LocalSession session, BlockIoDevice _) = await StartAsync(loop);
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Write16(300, 64), DataDirection.Write, Pattern(64 * 512, 6)));

        // WRITE SAME(16) with UNMAP over 64 blocks; the data-out block is deallocated whatever it holds.
        SenseAssert.IsGood(await RunAsync(session, Cdb16(0x93, 0x08, 300, 64), DataDirection.Write, new byte[512]));

        byte[] back = new byte[64 * 512];
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Read16(300, 64), DataDirection.Read, back));
        back.AsSpan().ContainsAnyExcept((byte)0).Should().BeFalse();
    }

    [Fact]
    public async Task WriteSameOfZeros_ZeroesTheRangeOnTheDevice()
    {
        LoopDevice loop = Loop();
        (ScstStack _, LocalSession session, BlockIoDevice _) = await StartAsync(loop, new() { ["thin_provisioned"] = "0" });
        byte[] data = Pattern(4096 * 512, 8);
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Write16(1000, 4096), DataDirection.Write, data));

        // WRITE SAME(16), no UNMAP, one block of zeros over blocks 1001..5094; then WRITE SAME(10) with a pattern block.
        SenseAssert.IsGood(await RunAsync(session, Cdb16(0x93, 0x00, 1001, 4094), DataDirection.Write, new byte[512]));
        byte[] block = Pattern(512, 12);
        byte[] cdb10 = [0x41, 0, 0, 0, 0x17, 0x70, 0, 0, 4, 0]; // LBA 6000, 4 blocks
        SenseAssert.IsGood(await RunAsync(session, cdb10, DataDirection.Write, block));

        byte[] onDevice = loop.ReadBacking(1000L * 512, 4096 * 512);
        onDevice.AsSpan(0, 512).ToArray().Should().Equal(data.AsSpan(0, 512).ToArray(), "the block before the range is untouched");
        onDevice.AsSpan(512, 4094 * 512).ContainsAnyExcept((byte)0).Should().BeFalse("BLKZEROOUT zeroed the range");
        onDevice.AsSpan(4095 * 512).ToArray().Should().Equal(data.AsSpan(4095 * 512).ToArray(), "the block after the range is untouched");
        loop.ReadBacking(6000L * 512, 2048).Should().Equal([.. block, .. block, .. block, .. block], "a pattern block is written as data");
        // A loop device zeroes with fallocate(FALLOC_FL_ZERO_RANGE) on its backing file: the range becomes unwritten
        // extents, where written zeros would be written ones.
        Run("filefrag", "-v", loop.BackingFile).Should().Contain("unwritten", "the zeros went to the device as BLKZEROOUT, not as written data");
    }

    [Fact]
    public async Task ReadOnly_RefusesWritesAndUnmap_AndReads()
    {
        LoopDevice loop = Loop();
        byte[] data = Pattern(4096, 13);
        loop.WriteDevice(0, data);
        (ScstStack _, LocalSession session, BlockIoDevice device) = await StartAsync(loop, new() { ["read_only"] = "1" });

        SenseAssert.IsCheckCondition(await RunAsync(session, CdbBuilder.Write10(0, 8), DataDirection.Write, new byte[4096]), SenseCode.WriteProtected);
        SenseAssert.IsCheckCondition(await RunAsync(session, [0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], DataDirection.Write, UnmapList(0, 8)), SenseCode.WriteProtected);
        SenseAssert.IsCheckCondition(await RunAsync(session, Cdb16(0x93, 0, 0, 8), DataDirection.Write, new byte[512]), SenseCode.WriteProtected);
        byte[] back = new byte[4096];
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Read10(0, 8), DataDirection.Read, back));

        device.ReadOnly.Should().BeTrue();
        back.Should().Equal(data);
        loop.ReadBacking(0, 4096).Should().Equal(data);
    }

    [Fact]
    public async Task ResyncSize_AfterTheDeviceGrew_TakesTheNewSizeAndRaisesCapacityDataChanged()
    {
        LoopDevice loop = Loop();
        (ScstStack stack, LocalSession session, BlockIoDevice device) = await StartAsync(loop);
        var tree = new ManagementTree(stack.Engine);
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.TestUnitReady()));

        loop.Resize(2 * DiskBytes);
        device.BlockCount.Should().Be(DiskBytes / 512, "the size changes only when resync_size is written");
        (await tree.WriteAsync("devices/disk0/resync_size", "1")).Should().Be(ManagementResult.Ok);

        device.BlockCount.Should().Be(2 * DiskBytes / 512);
        Value(tree, "size").Should().Be((2 * DiskBytes).ToString(CultureInfo.InvariantCulture));
        SenseAssert.IsCheckCondition(await RunAsync(session, CdbBuilder.TestUnitReady()), SenseCode.CapacityDataChanged);
        (await ReadCapacity16Async(session)).LastLba.Should().Be((ulong)(2 * DiskBytes / 512) - 1);
        byte[] data = Pattern(4096, 21);
        ulong beyondOldEnd = (ulong)(DiskBytes / 512) + 100;
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Write16(beyondOldEnd, 8), DataDirection.Write, data));
        loop.ReadBacking((long)beyondOldEnd * 512, 4096).Should().Equal(data);

        (await tree.WriteAsync("devices/disk0/resync_size", "1")).Should().Be(ManagementResult.Ok);
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.TestUnitReady())); // the same size raises nothing
    }

    [Fact]
    public async Task Size_IsReadOnly_OnABlockDevice()
    {
        LoopDevice loop = Loop();
        (ScstStack stack, LocalSession _, BlockIoDevice device) = await StartAsync(loop);
        var tree = new ManagementTree(stack.Engine);

        (await tree.WriteAsync("devices/disk0/size", "128M")).Should().NotBe(ManagementResult.Ok);
        (await tree.WriteAsync("devices/disk0/size_mb", "128")).Should().NotBe(ManagementResult.Ok);

        device.BlockCount.Should().Be(DiskBytes / 512);
    }

    [Fact]
    public async Task Active0_AnswersNotReady_Active1_ServesTheDeviceAgain()
    {
        LoopDevice loop = Loop();
        (ScstStack stack, LocalSession session, BlockIoDevice device) = await StartAsync(loop);
        var tree = new ManagementTree(stack.Engine);
        byte[] data = Pattern(4096, 17);
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Write10(64, 8), DataDirection.Write, data));

        (await tree.WriteAsync("devices/disk0/active", "0")).Should().Be(ManagementResult.Ok);

        device.Active.Should().BeFalse();
        Value(tree, "active").Should().Be("0");
        SenseAssert.IsCheckCondition(await RunAsync(session, CdbBuilder.Read10(64, 8), DataDirection.Read, new byte[4096]), SenseCode.MediumNotPresent);
        SenseAssert.IsCheckCondition(await RunAsync(session, CdbBuilder.Write10(64, 8), DataDirection.Write, new byte[4096]), SenseCode.MediumNotPresent);
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.ReadCapacity10(), DataDirection.Read, new byte[8]));
        IsOpenBy(loop.Path).Should().BeFalse("active 0 closes the block device");

        (await tree.WriteAsync("devices/disk0/active", "1")).Should().Be(ManagementResult.Ok);

        byte[] back = new byte[4096];
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Read10(64, 8), DataDirection.Read, back));
        back.Should().Equal(data);
        IsOpenBy(loop.Path).Should().BeTrue();
    }

    [Fact]
    public async Task CreatedInactive_TakesGeometryFromSysfs_AndOpensOnActive1()
    {
        LoopDevice loop = Loop(4096);

        (ScstStack stack, LocalSession session, BlockIoDevice device) = await StartAsync(loop, new() { ["active"] = "0" });

        device.Active.Should().BeFalse();
        device.BlockSize.Should().Be(4096);
        device.BlockCount.Should().Be(DiskBytes / 4096);
        IsOpenBy(loop.Path).Should().BeFalse();
        (await new ManagementTree(stack.Engine).WriteAsync("devices/disk0/active", "1")).Should().Be(ManagementResult.Ok);
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[4096]));
    }

    [Fact]
    public async Task Filename_ChangesOnlyWhileInactive()
    {
        LoopDevice first = Loop();
        LoopDevice second = Loop();
        second.WriteDevice(0, Pattern(512, 31));
        (ScstStack stack, LocalSession session, BlockIoDevice device) = await StartAsync(first);
        var tree = new ManagementTree(stack.Engine);

        (await tree.WriteAsync("devices/disk0/filename", second.Path)).Should().NotBe(ManagementResult.Ok);
        (await tree.WriteAsync("devices/disk0/active", "0")).Should().Be(ManagementResult.Ok);
        (await tree.WriteAsync("devices/disk0/filename", second.Path)).Should().Be(ManagementResult.Ok);
        (await tree.WriteAsync("devices/disk0/active", "1")).Should().Be(ManagementResult.Ok);

        device.Path.Should().Be(second.Path);
        byte[] back = new byte[512];
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Read10(0, 1), DataDirection.Read, back));
        back.Should().Equal(Pattern(512, 31));
    }

    [Fact]
    public async Task IoEngine_DefaultsToIoUring_WhichCarriesTheData_AndPreadIsAKeyWhenChosen()
    {
        LoopDevice loop = Loop();
        (ScstStack stack, LocalSession session, BlockIoDevice device) = await StartAsync(loop);
        var tree = new ManagementTree(stack.Engine);
        tree.Read("devices/disk0/io_engine").Message.Should().Be("io_uring\n", "the default, not a key");
        long before = device.Ring!.Completed;
        byte[] data = Pattern(8192, 21);

        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Write10(64, 16, fua: true), DataDirection.Write, data));
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.SynchronizeCache10()));
        byte[] back = new byte[8192];
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Read10(64, 16), DataDirection.Read, back));

        back.Should().Equal(data);
        loop.ReadBacking(64L * 512, data.Length).Should().Equal(data);
        device.Ring.Completed.Should().Be(before + 3, "the FUA write (one RWF_DSYNC write), SYNCHRONIZE CACHE and the read went through the ring");

        LoopDevice other = Loop();
        var pread = new Dictionary<string, string> { ["filename"] = other.Path, ["io_engine"] = "pread" };
        await using ScstStack preadStack = await ScstStack.StartAsync("vdisk_blockio", "disk0", pread);
        var preadDevice = (BlockIoDevice)preadStack.Engine.FindDevice("disk0")!;
        preadDevice.Ring.Should().BeNull();
        new ManagementTree(preadStack.Engine).Read("devices/disk0/io_engine").Message.Should().Be("pread\n[key]\n");
        LocalSession preadSession = preadStack.OpenSession();
        SenseAssert.IsGood(await RunAsync(preadSession, CdbBuilder.Write10(8, 16), DataDirection.Write, data));
        other.ReadBacking(8L * 512, data.Length).Should().Equal(data);
    }

    [Fact]
    public void IoEngine_UnknownValue_IsRefusedNamingIt()
    {
        LoopDevice loop = Loop();
        var handler = new VdiskBlockIoHandler();

        Action create = () => handler.CreateDevice("disk0", new Dictionary<string, string> { ["filename"] = loop.Path, ["io_engine"] = "aio" });

        create.Should().Throw<ArgumentException>().WithMessage("*io_engine*aio*pread*io_uring*");
    }

    [Fact]
    public async Task BindAluaState_IsOnByDefault_TheDeviceClosesInStandbyAndOpensWhenActive()
    {
        LoopDevice loop = Loop();
        (ScstStack stack, LocalSession session, BlockIoDevice device) = await StartAsync(loop);
        var tree = new ManagementTree(stack.Engine);
        Value(tree, "bind_alua_state").Should().Be("1");
        DeviceGroup dg = stack.Engine.CreateDeviceGroup("dg");
        dg.AddDevice("disk0");
        TargetGroup local = dg.CreateTargetGroup("local");
        local.GroupId = 1;
        local.AddTarget(ScstStack.TargetName);

        local.State = AluaState.Standby;
        device.Active.Should().BeFalse("the passive side lets go of the block device");
        Value(tree, "active").Should().Be("0");

        local.State = AluaState.ActiveOptimized;
        device.Active.Should().BeTrue();
        await RunAsync(session, CdbBuilder.TestUnitReady()); // the unit attention of the state changes
        byte[] back = new byte[512];
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Read10(0, 1), DataDirection.Read, back));
    }

    [Fact]
    public async Task Directory_ListsScstsBlockIoAttributes()
    {
        LoopDevice loop = Loop();
        (ScstStack stack, LocalSession _, BlockIoDevice _) = await StartAsync(loop);

        string listing = new ManagementTree(stack.Engine).List("devices/disk0").Message;

        listing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().Contain(
        [
            "type", "handler", "filename", "size", "size_mb", "blocksize", "read_only", "removable", "rotational", "tst",
            "thin_provisioned", "lb_per_pb_exp", "opt_trans_len", "expl_alua", "nv_cache", "write_through", "active",
            "bind_alua_state", "io_engine",
            "resync_size", "sync", "t10_vend_id", "vend_specific_id", "prod_id", "prod_rev_lvl", "scsi_device_name",
            "t10_dev_id", "usn", "eui64_id", "naa_id", "inq_vend_specific",
        ]);
        listing.Split('\n').Should().NotContain(["o_direct", "async"], "vdisk_blockio has neither");
        (await new ManagementTree(stack.Engine).WriteAsync("devices/disk0/sync", "1")).Should().Be(ManagementResult.Ok);
    }

    private static long Allocated(string path)
    {
        File.Exists(path).Should().BeTrue();
        return AllocatedBlocks(path) * 512;
    }

    // An attribute's value: the first line of what the tree reads (a key attribute adds "[key]" below it).
    private static string Value(ManagementTree tree, string attribute) => tree.Read($"devices/disk0/{attribute}").Message.Split('\n')[0];

    private static string Run(string program, params string[] arguments)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(program, arguments) { RedirectStandardOutput = true };
        using System.Diagnostics.Process process = System.Diagnostics.Process.Start(psi)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        process.ExitCode.Should().Be(0, $"{program} succeeds");
        return output;
    }

    // stat's %b is the number of allocated blocks, %B their size.
    private static long AllocatedBlocks(string path)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%b %B", path]) { RedirectStandardOutput = true };
        using System.Diagnostics.Process process = System.Diagnostics.Process.Start(psi)!;
        string[] parts = process.StandardOutput.ReadToEnd().Trim().Split(' ');
        process.WaitForExit();
        process.ExitCode.Should().Be(0);
        return long.Parse(parts[0], CultureInfo.InvariantCulture) * long.Parse(parts[1], CultureInfo.InvariantCulture) / 512;
    }

    // Whether this process holds the device open (a link in /proc/self/fd points at it).
    private static bool IsOpenBy(string devicePath) =>
        Directory.EnumerateFiles("/proc/self/fd").Any(fd =>
        {
            try
            {
                return File.ResolveLinkTarget(fd, returnFinalTarget: false)?.FullName == devicePath;
            }
            catch (IOException)
            {
                return false;
            }
        });
}
