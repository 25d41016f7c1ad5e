// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using Scst.Core;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests;

public sealed class ReadWriteTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    internal static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static byte[] ReadFile(string path, long offset, int length)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var data = new byte[length];
        f.Position = offset;
        f.ReadExactly(data);
        return data;
    }

    [Theory]
    [InlineData(512, 6)]
    [InlineData(512, 10)]
    [InlineData(512, 12)]
    [InlineData(512, 16)]
    [InlineData(4096, 6)]
    [InlineData(4096, 10)]
    [InlineData(4096, 12)]
    [InlineData(4096, 16)]
    public async Task WriteThenRead_FileIo_ReturnsWrittenDataAndHitsTheFile(int blockSize, int cdbSize)
    {
        string path = _dir.File("disk.img");
        await using ScstStack stack = await ScstStack.StartFileIoAsync(path, "4M", blockSize);
        LocalSession session = stack.OpenSession();
        const ulong Lba = 5;
        byte[] data = Pattern(3 * blockSize, seed: cdbSize);
        var back = new byte[data.Length];

        LocalResult written = await session.ExecuteAsync(0, CdbBuilder.ReadWrite(cdbSize, write: true, Lba, 3), DataDirection.Write, data);
        LocalResult read = await session.ExecuteAsync(0, CdbBuilder.ReadWrite(cdbSize, write: false, Lba, 3), DataDirection.Read, back);

        SenseAssert.IsGood(written);
        written.TransferredLength.Should().Be(data.Length);
        written.ResidualCount.Should().Be(0);
        SenseAssert.IsGood(read);
        read.TransferredLength.Should().Be(data.Length);
        read.ResidualCount.Should().Be(0);
        ByteAssert.Equal(data, back);
        ByteAssert.Equal(data, ReadFile(path, (long)Lba * blockSize, data.Length));
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Read6_ZeroLength_Reads256Blocks()
    {
        string path = _dir.File("disk.img");
        await using ScstStack stack = await ScstStack.StartFileIoAsync(path, "1M", 512);
        LocalSession session = stack.OpenSession();
        byte[] data = Pattern(256 * 512, seed: 6);
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Write6(2, 0), DataDirection.Write, data));
        var back = new byte[256 * 512];

        LocalResult read = await session.ExecuteAsync(0, CdbBuilder.Read6(2, 0), DataDirection.Read, back);

        SenseAssert.IsGood(read);
        read.TransferredLength.Should().Be(256 * 512);
        ByteAssert.Equal(data, back);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Write16_Fua_IsWrittenAndGood()
    {
        string path = _dir.File("disk.img");
        await using ScstStack stack = await ScstStack.StartFileIoAsync(path, "1M", 512);
        LocalSession session = stack.OpenSession();
        byte[] data = Pattern(1024, seed: 16);

        LocalResult written = await session.ExecuteAsync(0, CdbBuilder.Write16(100, 2, fua: true), DataDirection.Write, data);

        SenseAssert.IsGood(written);
        ByteAssert.Equal(data, ReadFile(path, 100 * 512, 1024));
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData(10, 2047UL, 2u)]
    [InlineData(10, 2048UL, 1u)]
    [InlineData(16, 0xFFFF_FFFF_FFFF_FFFFUL, 1u)]
    [InlineData(16, 0UL, 2049u)]
    [InlineData(12, 2000UL, 100u)]
    public async Task Read_PastTheEnd_IsLbaOutOfRange(int cdbSize, ulong lba, uint blocks)
    {
        await using ScstStack stack = await ScstStack.StartFileIoAsync(_dir.File("disk.img"), "1M", 512);
        LocalSession session = stack.OpenSession();
        var buffer = new byte[4096];

        LocalResult result = await session.ExecuteAsync(0, CdbBuilder.ReadWrite(cdbSize, write: false, lba, blocks), DataDirection.Read, buffer);

        SenseAssert.IsCheckCondition(result, SenseCode.LbaOutOfRange);
        result.TransferredLength.Should().Be(0);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Write_PastTheEnd_IsLbaOutOfRangeAndFileUnchanged()
    {
        string path = _dir.File("disk.img");
        await using ScstStack stack = await ScstStack.StartFileIoAsync(path, "1M", 512);
        LocalSession session = stack.OpenSession();

        LocalResult result = await session.ExecuteAsync(0, CdbBuilder.Write10(2047, 2), DataDirection.Write, Pattern(1024, 1));

        SenseAssert.IsCheckCondition(result, SenseCode.LbaOutOfRange);
        new FileInfo(path).Length.Should().Be(1 << 20);
        ReadFile(path, 2047 * 512, 512).Should().OnlyContain(b => b == 0);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Write_ReadOnlyDevice_IsDataProtectAndNothingWritten()
    {
        string path = _dir.File("ro.img");
        await using ScstStack stack = await ScstStack.StartFileIoAsync(path, "1M", 512, readOnly: true);
        LocalSession session = stack.OpenSession();

        LocalResult write = await session.ExecuteAsync(0, CdbBuilder.Write10(0, 1), DataDirection.Write, Pattern(512, 2));
        LocalResult read = await session.ExecuteAsync(0, CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[512]);

        SenseAssert.IsCheckCondition(write, SenseCode.WriteProtected);
        write.TransferredLength.Should().Be(0);
        SenseAssert.IsGood(read);
        ReadFile(path, 0, 512).Should().OnlyContain(b => b == 0);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Write_ReadOnlyLunOfWritableDevice_IsDataProtect()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        stack.Engine.AddDevice("vdisk_nullio", "null1", new Dictionary<string, string> { ["size"] = "1M" });
        stack.Engine.MapLun(stack.Target(), 1, "null1", readOnly: true);
        LocalSession session = stack.OpenSession();

        LocalResult result = await session.ExecuteAsync(1, CdbBuilder.Write16(0, 1), DataDirection.Write, new byte[512]);

        SenseAssert.IsCheckCondition(result, SenseCode.WriteProtected);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Read_ExpectedLengthShorterThanCdb_ReturnsOverflowResidual()
    {
        string path = _dir.File("disk.img");
        await using ScstStack stack = await ScstStack.StartFileIoAsync(path, "1M", 512);
        LocalSession session = stack.OpenSession();
        byte[] data = Pattern(4096, 3);
        await session.ExecuteAsync(0, CdbBuilder.Write10(0, 8), DataDirection.Write, data);
        var shortBuffer = new byte[2048];

        LocalResult result = await session.ExecuteAsync(0, CdbBuilder.Read10(0, 8), DataDirection.Read, shortBuffer);

        SenseAssert.IsGood(result);
        result.TransferredLength.Should().Be(2048);
        result.Overflow.Should().BeTrue();
        result.Underflow.Should().BeFalse();
        result.ResidualCount.Should().Be(2048);
        ByteAssert.Equal(data.AsSpan(0, 2048), shortBuffer);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Read_ExpectedLengthLongerThanCdb_ReturnsUnderflowResidual()
    {
        await using ScstStack stack = await ScstStack.StartFileIoAsync(_dir.File("disk.img"), "1M", 512);
        LocalSession session = stack.OpenSession();
        var longBuffer = new byte[8192];
        longBuffer.AsSpan().Fill(0xEE);

        LocalResult result = await session.ExecuteAsync(0, CdbBuilder.Read10(0, 8), DataDirection.Read, longBuffer);

        SenseAssert.IsGood(result);
        result.TransferredLength.Should().Be(4096);
        result.Underflow.Should().BeTrue();
        result.Overflow.Should().BeFalse();
        result.ResidualCount.Should().Be(4096);
        longBuffer.AsSpan(4096).ToArray().Should().OnlyContain(b => b == 0xEE, "nothing is written past the transfer");
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Write_ExpectedLengthShorterThanCdb_WritesTheWholeBlocksSentWithOverflowResidual()
    {
        // FCP-4 / RFC 7143 (main 69bde9e): a block write cut short by the expected length writes the whole blocks the
        // initiator did send and reports the overflow; the partial block is dropped.
        string path = _dir.File("disk.img");
        await using ScstStack stack = await ScstStack.StartFileIoAsync(path, "1M", 512);
        LocalSession session = stack.OpenSession();
        byte[] data = Pattern(2048 + 300, 4);

        LocalResult result = await session.ExecuteAsync(0, CdbBuilder.Write10(0, 8), DataDirection.Write, data);

        SenseAssert.IsGood(result);
        result.Overflow.Should().BeTrue();
        result.ResidualCount.Should().Be(4096 - 2348);
        ByteAssert.Equal(data.AsSpan(0, 2048), ReadFile(path, 0, 2048));
        ReadFile(path, 2048, 2048).Should().OnlyContain(b => b == 0, "neither the partial block nor the blocks never sent are written");
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Write_ExpectedLengthBelowOneBlock_WritesNothing()
    {
        string path = _dir.File("disk.img");
        await using ScstStack stack = await ScstStack.StartFileIoAsync(path, "1M", 512);
        LocalSession session = stack.OpenSession();

        LocalResult result = await session.ExecuteAsync(0, CdbBuilder.Write10(0, 2), DataDirection.Write, Pattern(100, 9));

        SenseAssert.IsGood(result);
        result.Overflow.Should().BeTrue();
        result.ResidualCount.Should().Be(1024 - 100);
        ReadFile(path, 0, 1024).Should().OnlyContain(b => b == 0);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ModeSelect_ExpectedLengthShorterThanParameterList_IsInvalidFieldInInformationUnit()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();
        byte[] modeSelect6 = [0x15, 0x10, 0, 0, 24, 0];

        LocalResult result = await session.ExecuteAsync(0, modeSelect6, DataDirection.Write, new byte[12]);

        SenseAssert.IsCheckCondition(result, SenseCode.InvalidFieldInInformationUnit);
        result.Overflow.Should().BeTrue();
        result.ResidualCount.Should().Be(12);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Write_ExpectedLengthLongerThanCdb_WritesCdbLengthWithUnderflow()
    {
        string path = _dir.File("disk.img");
        await using ScstStack stack = await ScstStack.StartFileIoAsync(path, "1M", 512);
        LocalSession session = stack.OpenSession();
        byte[] data = Pattern(2048, 5);

        LocalResult result = await session.ExecuteAsync(0, CdbBuilder.Write10(0, 2), DataDirection.Write, data);

        SenseAssert.IsGood(result);
        result.TransferredLength.Should().Be(1024);
        result.Underflow.Should().BeTrue();
        result.ResidualCount.Should().Be(1024);
        ByteAssert.Equal(data.AsSpan(0, 1024), ReadFile(path, 0, 1024));
        ReadFile(path, 1024, 1024).Should().OnlyContain(b => b == 0);
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData(512, 2048L)]
    [InlineData(4096, 256L)]
    public async Task ReadCapacity10_ReturnsLastLbaAndBlockLength(int blockSize, long blocks)
    {
        await using ScstStack stack = await ScstStack.StartFileIoAsync(_dir.File("disk.img"), "1M", blockSize);
        LocalSession session = stack.OpenSession();
        var data = new byte[8];

        LocalResult result = await session.ExecuteAsync(0, CdbBuilder.ReadCapacity10(), DataDirection.Read, data);

        SenseAssert.IsGood(result);
        result.TransferredLength.Should().Be(8);
        BinaryPrimitives.ReadUInt32BigEndian(data).Should().Be((uint)(blocks - 1));
        BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(4)).Should().Be((uint)blockSize);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ReadCapacity10_MoreThan2To32Blocks_ReportsFFFFFFFF()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync(size: "4T");
        LocalSession session = stack.OpenSession();
        var rc10 = new byte[8];
        var rc16 = new byte[32];

        LocalResult r10 = await session.ExecuteAsync(0, CdbBuilder.ReadCapacity10(), DataDirection.Read, rc10);
        LocalResult r16 = await session.ExecuteAsync(0, CdbBuilder.ReadCapacity16(), DataDirection.Read, rc16);

        SenseAssert.IsGood(r10);
        BinaryPrimitives.ReadUInt32BigEndian(rc10).Should().Be(0xFFFF_FFFF);
        SenseAssert.IsGood(r16);
        BinaryPrimitives.ReadUInt64BigEndian(rc16).Should().Be((4UL << 40) / 512 - 1);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ReadCapacity10_LbaWithoutPmi_IsInvalidFieldInCdb()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();
        byte[] cdb = CdbBuilder.ReadCapacity10();
        cdb[5] = 1;

        LocalResult result = await session.ExecuteAsync(0, cdb, DataDirection.Read, new byte[8]);

        SenseAssert.IsInvalidFieldInCdb(result, 2);
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData(512, 2048UL)]
    [InlineData(4096, 256UL)]
    public async Task ReadCapacity16_ReturnsLastLbaBlockLengthAndZeros(int blockSize, ulong blocks)
    {
        await using ScstStack stack = await ScstStack.StartFileIoAsync(_dir.File("disk.img"), "1M", blockSize);
        LocalSession session = stack.OpenSession();
        var data = new byte[32];
        data.AsSpan().Fill(0xEE);

        LocalResult result = await session.ExecuteAsync(0, CdbBuilder.ReadCapacity16(32), DataDirection.Read, data);

        SenseAssert.IsGood(result);
        result.TransferredLength.Should().Be(32);
        BinaryPrimitives.ReadUInt64BigEndian(data).Should().Be(blocks - 1);
        BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(8)).Should().Be((uint)blockSize);
        data.AsSpan(12).ToArray().Should().OnlyContain(b => b == 0);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ReadCapacity16_ShortAllocationLength_IsCut()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync(size: "1M");
        LocalSession session = stack.OpenSession();
        var data = new byte[12];

        LocalResult result = await session.ExecuteAsync(0, CdbBuilder.ReadCapacity16(12), DataDirection.Read, data);

        SenseAssert.IsGood(result);
        result.TransferredLength.Should().Be(12);
        result.ResidualCount.Should().Be(0);
        BinaryPrimitives.ReadUInt64BigEndian(data).Should().Be(2047);
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData(10, 0UL, 0u)]
    [InlineData(10, 2040UL, 8u)]
    [InlineData(16, 0UL, 2048u)]
    [InlineData(16, 100UL, 0u)]
    public async Task SynchronizeCache_InRange_IsGood(int cdbSize, ulong lba, uint blocks)
    {
        await using ScstStack stack = await ScstStack.StartFileIoAsync(_dir.File("disk.img"), "1M", 512);
        LocalSession session = stack.OpenSession();
        byte[] cdb = cdbSize == 10 ? CdbBuilder.SynchronizeCache10((uint)lba, (ushort)blocks) : CdbBuilder.SynchronizeCache16(lba, blocks);

        LocalResult result = await session.ExecuteAsync(0, cdb, DataDirection.None, Memory<byte>.Empty);

        SenseAssert.IsGood(result);
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData(10, 2048UL, 1u)]
    [InlineData(10, 2049UL, 0u)]
    [InlineData(16, 2040UL, 9u)]
    [InlineData(16, 0xFFFF_FFFF_FFFF_FFF0UL, 0x20u)]
    public async Task SynchronizeCache_OutOfRange_IsLbaOutOfRange(int cdbSize, ulong lba, uint blocks)
    {
        await using ScstStack stack = await ScstStack.StartFileIoAsync(_dir.File("disk.img"), "1M", 512);
        LocalSession session = stack.OpenSession();
        byte[] cdb = cdbSize == 10 ? CdbBuilder.SynchronizeCache10((uint)lba, (ushort)blocks) : CdbBuilder.SynchronizeCache16(lba, blocks);

        LocalResult result = await session.ExecuteAsync(0, cdb, DataDirection.None, Memory<byte>.Empty);

        SenseAssert.IsCheckCondition(result, SenseCode.LbaOutOfRange);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Read_TransferAboveMaxTransferLength_IsInvalidFieldInCdbAtLengthField()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync(options: o => o.MaxTransferLength = 1 << 20);
        LocalSession session = stack.OpenSession();

        LocalResult result = await session.ExecuteAsync(0, CdbBuilder.Read16(0, 4096), DataDirection.Read, new byte[2 << 20]);

        SenseAssert.IsInvalidFieldInCdb(result, 10);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Read_UnknownOpcode_IsInvalidCommandOperationCode()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();
        var cdb = new byte[10];
        cdb[0] = 0xC7;

        LocalResult result = await session.ExecuteAsync(0, cdb, DataDirection.None, Memory<byte>.Empty);

        SenseAssert.IsCheckCondition(result, SenseCode.InvalidOpcode);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ServiceActionIn_UnknownServiceAction_IsInvalidFieldInByte1Bit4()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();
        byte[] cdb = CdbBuilder.ReadCapacity16();
        cdb[1] = 0x17;

        LocalResult result = await session.ExecuteAsync(0, cdb, DataDirection.Read, new byte[32]);

        SenseAssert.IsInvalidFieldInCdb(result, 1, 4);
        stack.AssertNoLeaks();
    }
}
