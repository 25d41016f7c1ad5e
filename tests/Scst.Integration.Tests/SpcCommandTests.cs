// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using Scst.Core;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests;

public sealed class SpcCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task<(LocalResult Result, byte[] Data)> ReadAsync(LocalSession session, int lun, byte[] cdb, int length)
    {
        var data = new byte[length];
        LocalResult result = await session.ExecuteAsync(lun, cdb, DataDirection.Read, data);
        return (result, data[..result.TransferredLength]);
    }

    private static async Task<ScstStack> StartWithTwoLunsAsync()
    {
        ScstStack stack = await ScstStack.StartNullIoAsync();
        stack.Engine.AddDevice("vdisk_nullio", "null1", new Dictionary<string, string> { ["size"] = "1M" });
        stack.Engine.MapLun(stack.Target(), 300, "null1");
        return stack;
    }

    [Fact]
    public async Task ReportLuns_TwoLuns_ListsBothInAscendingOrder()
    {
        await using ScstStack stack = await StartWithTwoLunsAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, 0, CdbBuilder.ReportLuns(4096), 4096);

        SenseAssert.IsGood(result);
        ByteAssert.Equal(ByteAssert.FromHex("00000010 00000000" + "0000000000000000" + "412C000000000000"), d);
        result.Underflow.Should().BeTrue();
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ReportLuns_AllocationFor16Bytes_IsCutButKeepsListLength()
    {
        await using ScstStack stack = await StartWithTwoLunsAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, 0, CdbBuilder.ReportLuns(16), 16);

        SenseAssert.IsGood(result);
        ByteAssert.Equal(ByteAssert.FromHex("00000010 00000000" + "0000000000000000"), d);
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(8u)]
    [InlineData(15u)]
    public async Task ReportLuns_AllocationBelow16_IsInvalidFieldAtByte6(uint allocation)
    {
        await using ScstStack stack = await StartWithTwoLunsAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, _) = await ReadAsync(session, 0, CdbBuilder.ReportLuns(allocation), (int)allocation);

        SenseAssert.IsInvalidFieldInCdb(result, 6);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ReportLuns_ToUnmappedLun_IsStillAnswered()
    {
        await using ScstStack stack = await StartWithTwoLunsAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, 77, CdbBuilder.ReportLuns(4096), 4096);

        SenseAssert.IsGood(result);
        BinaryPrimitives.ReadUInt32BigEndian(d).Should().Be(16);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ReportLuns_WellKnownOnly_IsEmpty()
    {
        await using ScstStack stack = await StartWithTwoLunsAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, 0, CdbBuilder.ReportLuns(4096, selectReport: 1), 4096);

        SenseAssert.IsGood(result);
        ByteAssert.Equal(ByteAssert.FromHex("00000000 00000000"), d);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ReportLuns_UnknownSelectReport_IsInvalidFieldAtByte2()
    {
        await using ScstStack stack = await StartWithTwoLunsAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, _) = await ReadAsync(session, 0, CdbBuilder.ReportLuns(4096, selectReport: 0x10), 4096);

        SenseAssert.IsInvalidFieldInCdb(result, 2);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task TestUnitReady_MappedLun_IsGood()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();

        LocalResult result = await session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty);

        SenseAssert.IsGood(result);
        result.TransferredLength.Should().Be(0);
        result.ResidualCount.Should().Be(0);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task RequestSense_FixedFormat_ReportsNoSense()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, 0, CdbBuilder.RequestSense(252), 252);

        SenseAssert.IsGood(result);
        ByteAssert.Equal(ByteAssert.FromHex("70 00 00 00000000 0A 00000000 00 00 00 000000"), d);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task RequestSense_DescriptorFormat_ReportsNoSenseIn72h()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, 0, CdbBuilder.RequestSense(252, descriptorFormat: true), 252);

        SenseAssert.IsGood(result);
        ByteAssert.Equal(ByteAssert.FromHex("72 00 00 00 000000 00"), d);
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RequestSense_UnknownLun_ReturnsLunNotSupportedWithGoodStatus(bool descriptor)
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, 9, CdbBuilder.RequestSense(252, descriptor), 252);

        SenseAssert.IsGood(result);
        d[0].Should().Be(descriptor ? (byte)0x72 : (byte)0x70);
        SenseAssert.HasCode(d, SenseCode.LunNotSupported);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task TestUnitReady_UnknownLun_IsLunNotSupported()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();

        LocalResult result = await session.ExecuteAsync(3, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty);

        SenseAssert.IsCheckCondition(result, SenseCode.LunNotSupported);
        stack.AssertNoLeaks();
    }

    // MODE SENSE ----------------------------------------------------------------------------------------------

    private Task<ScstStack> StartFileIoAsync(bool readOnly = false) =>
        ScstStack.StartFileIoAsync(_dir.File("disk.img"), "1M", 512, readOnly);

    [Fact]
    public async Task ModeSense6_CachingPage_HasHeaderBlockDescriptorAndWce()
    {
        await using ScstStack stack = await StartFileIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, 0, CdbBuilder.ModeSense6(0x08), 255);

        SenseAssert.IsGood(result);
        d.Length.Should().Be(4 + 8 + 20);
        d[0].Should().Be((byte)(d.Length - 1), "MODE DATA LENGTH excludes itself");
        d[2].Should().Be(0x10, "DPOFUA, not write-protected");
        d[3].Should().Be(8, "BLOCK DESCRIPTOR LENGTH");
        BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(4)).Should().Be(2048, "number of blocks");
        BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(8)).Should().Be(512, "density 0, block length 512");
        d[12].Should().Be(0x08);
        d[13].Should().Be(0x12);
        (d[14] & 0x04).Should().Be(0x04, "vdisk_fileio caches writes by default: WCE=1");
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ModeSense6_ControlPage_HasTstQamAndBusyTimeout()
    {
        await using ScstStack stack = await StartFileIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, 0, CdbBuilder.ModeSense6(0x0A, dbd: true), 255);

        SenseAssert.IsGood(result);
        d[3].Should().Be(0, "DBD: no block descriptor");
        ByteAssert.Equal(ByteAssert.FromHex("0A 0A 20 10 00 00 00 00 FFFF 0000"), d.AsSpan(4));
        d[0].Should().Be(4 + 12 - 1);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ModeSense6_InformationalExceptionsPage_IsTwelveBytes()
    {
        await using ScstStack stack = await StartFileIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, 0, CdbBuilder.ModeSense6(0x1C, dbd: true), 255);

        SenseAssert.IsGood(result);
        d.Length.Should().Be(4 + 12);
        d[4].Should().Be(0x1C);
        d[5].Should().Be(0x0A);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ModeSense6_AllPages_ReturnsEveryPageInOrder()
    {
        await using ScstStack stack = await StartFileIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, 0, CdbBuilder.ModeSense6(0x3F), 255);

        SenseAssert.IsGood(result);
        d.Length.Should().Be(4 + 8 + 12 + 16 + 24 + 24 + 20 + 12 + 12);
        d[0].Should().Be((byte)(d.Length - 1));
        var pages = new List<byte>();
        for (int at = 12; at < d.Length; at += 2 + d[at + 1])
        {
            pages.Add((byte)(d[at] & 0x3F));
        }

        pages.Should().Equal(0x01, 0x02, 0x03, 0x04, 0x08, 0x0A, 0x1C);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ModeSense6_AllPagesAndSubpages_IsAccepted()
    {
        await using ScstStack stack = await StartFileIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, 0, CdbBuilder.ModeSense6(0x3F, subpage: 0xFF), 255);

        SenseAssert.IsGood(result);
        d.Length.Should().Be(132);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ModeSense6_ShortAllocationLength_IsCutButReportsFullLength()
    {
        await using ScstStack stack = await StartFileIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, 0, CdbBuilder.ModeSense6(0x3F, allocationLength: 4), 4);

        SenseAssert.IsGood(result);
        d.Length.Should().Be(4);
        d[0].Should().Be(131);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ModeSense6_ReadOnlyDevice_SetsWriteProtectBit()
    {
        await using ScstStack stack = await StartFileIoAsync(readOnly: true);
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, 0, CdbBuilder.ModeSense6(0x08), 255);

        SenseAssert.IsGood(result);
        (d[2] & 0x80).Should().Be(0x80);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ModeSense10_ShortBlockDescriptor_HasEightByteHeader()
    {
        await using ScstStack stack = await StartFileIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, 0, CdbBuilder.ModeSense10(0x08), 1024);

        SenseAssert.IsGood(result);
        d.Length.Should().Be(8 + 8 + 20);
        BinaryPrimitives.ReadUInt16BigEndian(d).Should().Be((ushort)(d.Length - 2));
        d[3].Should().Be(0x10);
        d[4].Should().Be(0, "LONGLBA clear");
        BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(6)).Should().Be(8);
        BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(8)).Should().Be(2048);
        BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(12)).Should().Be(512);
        d[16].Should().Be(0x08);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ModeSense10_Llbaa_ReturnsLongBlockDescriptor()
    {
        await using ScstStack stack = await StartFileIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, 0, CdbBuilder.ModeSense10(0x0A, llbaa: true), 1024);

        SenseAssert.IsGood(result);
        d.Length.Should().Be(8 + 16 + 12);
        BinaryPrimitives.ReadUInt16BigEndian(d).Should().Be((ushort)(d.Length - 2));
        (d[4] & 0x01).Should().Be(1, "LONGLBA");
        BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(6)).Should().Be(16);
        BinaryPrimitives.ReadUInt64BigEndian(d.AsSpan(8)).Should().Be(2048);
        BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(16)).Should().Be(0, "reserved");
        BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(20)).Should().Be(512);
        d[24].Should().Be(0x0A);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ModeSense10_LlbaaWithDbd_HasNoDescriptorAndNoLongLba()
    {
        await using ScstStack stack = await StartFileIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, 0, CdbBuilder.ModeSense10(0x1C, dbd: true, llbaa: true), 1024);

        SenseAssert.IsGood(result);
        d.Length.Should().Be(8 + 12);
        d[4].Should().Be(0);
        BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(6)).Should().Be(0);
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ModeSense_SavedValues_IsSavingParametersNotSupported(bool ten)
    {
        await using ScstStack stack = await StartFileIoAsync();
        LocalSession session = stack.OpenSession();
        byte[] cdb = ten ? CdbBuilder.ModeSense10(0x08, pageControl: 3) : CdbBuilder.ModeSense6(0x08, pageControl: 3);

        (LocalResult result, _) = await ReadAsync(session, 0, cdb, 255);

        SenseAssert.IsCheckCondition(result, SenseCode.SavingParametersNotSupported);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ModeSense_ChangeableCachingPage_ReportsOnlyWce()
    {
        await using ScstStack stack = await StartFileIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, 0, CdbBuilder.ModeSense6(0x08, pageControl: 1, dbd: true), 255);

        SenseAssert.IsGood(result);
        d[4].Should().Be(0x08);
        d[6].Should().Be(0x04, "WCE is changeable on vdisk_fileio");
        d.AsSpan(7).ToArray().Should().OnlyContain(b => b == 0);
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData(0x19)]
    [InlineData(0x00)]
    [InlineData(0x05)]
    public async Task ModeSense_UnknownPage_IsInvalidFieldAtByte2Bit5(byte page)
    {
        await using ScstStack stack = await StartFileIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, _) = await ReadAsync(session, 0, CdbBuilder.ModeSense6(page), 255);

        SenseAssert.IsInvalidFieldInCdb(result, 2, 5);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ModeSense_UnknownSubpage_IsInvalidFieldAtByte3()
    {
        await using ScstStack stack = await StartFileIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, _) = await ReadAsync(session, 0, CdbBuilder.ModeSense10(0x08, subpage: 0x01), 255);

        SenseAssert.IsInvalidFieldInCdb(result, 3);
        stack.AssertNoLeaks();
    }
}
