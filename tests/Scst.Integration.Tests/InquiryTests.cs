// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Text;
using Scst.Core;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests;

public sealed class InquiryTests
{
    private static async Task<(LocalResult Result, byte[] Data)> InquireAsync(LocalSession session, int lun, byte[] cdb, int length = 255)
    {
        var data = new byte[length];
        LocalResult result = await session.ExecuteAsync(lun, cdb, DataDirection.Read, data);
        return (result, data[..result.TransferredLength]);
    }

    [Fact]
    public async Task Inquiry_Standard_HasIdentityVersionAndFormat()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await InquireAsync(session, 0, CdbBuilder.Inquiry(255));

        SenseAssert.IsGood(result);
        d.Length.Should().Be(96);
        result.Underflow.Should().BeTrue();
        result.ResidualCount.Should().Be(255 - 96);
        d[0].Should().Be(0x00, "qualifier 000b, direct access device");
        d[1].Should().Be(0x00, "not removable");
        d[2].Should().Be(0x06, "VERSION: SPC-4");
        (d[3] & 0x0F).Should().Be(0x02, "RESPONSE DATA FORMAT 2");
        d[4].Should().Be(96 - 5, "ADDITIONAL LENGTH");
        Encoding.ASCII.GetString(d, 8, 8).Should().Be("SCST_FIO");
        Encoding.ASCII.GetString(d, 16, 16).Should().Be("null0           ", "SCST's prod_id defaults to the device name");
        Encoding.ASCII.GetString(d, 32, 4).Should().Be("3110", "SCST's prod_rev_lvl");
        BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(58)).Should().Be(0x00A0, "first version descriptor: SAM-5");
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Inquiry_ShortAllocationLength_IsCutButKeepsAdditionalLength()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await InquireAsync(session, 0, CdbBuilder.Inquiry(36), 36);

        SenseAssert.IsGood(result);
        d.Length.Should().Be(36);
        result.ResidualCount.Should().Be(0);
        d[4].Should().Be(91);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Inquiry_UnknownLun_ReturnsQualifier011WithGoodStatus()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await InquireAsync(session, 5, CdbBuilder.Inquiry(255));

        SenseAssert.IsGood(result);
        d.Length.Should().BeGreaterThanOrEqualTo(36);
        d[0].Should().Be(0x7F, "peripheral qualifier 011b, device type 1Fh");
        (d[3] & 0x0F).Should().Be(0x02);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Inquiry_VpdOnUnknownLun_IsLunNotSupported()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, _) = await InquireAsync(session, 5, CdbBuilder.Inquiry(255, evpd: true, page: 0x00));

        SenseAssert.IsCheckCondition(result, SenseCode.LunNotSupported);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Inquiry_Vpd00_ListsSupportedPages()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await InquireAsync(session, 0, CdbBuilder.Inquiry(255, evpd: true, page: 0x00));

        SenseAssert.IsGood(result);
        ByteAssert.Equal(ByteAssert.FromHex("00 00 0008 00 80 83 86 8F B0 B1 B2"), d);
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData("1", 0x01)]
    [InlineData("0", 0x00)]
    public async Task Inquiry_Vpd86_ReportsTaskAttributes_LuiClr_AndVSupOnlyWithAWriteCache(string writeCacheOn, byte vSup)
    {
        using var dir = new TempDirectory();
        await using ScstStack stack = await ScstStack.StartAsync("vdisk_fileio", "disk0", new Dictionary<string, string>
        {
            ["filename"] = dir.File("disk0.img"), ["size"] = "1M", ["write_through"] = writeCacheOn == "1" ? "0" : "1",
        });
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await InquireAsync(session, 0, CdbBuilder.Inquiry(255, evpd: true, page: 0x86));

        SenseAssert.IsGood(result);
        d.Should().HaveCount(64);
        d[1].Should().Be(0x86);
        BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(2)).Should().Be(0x3C);
        d[4].Should().Be(0, "no protection information");
        d[5].Should().Be(0x07, "HEADSUP, ORDSUP and SIMPSUP");
        d[6].Should().Be(vSup, "V_SUP follows the volatile write cache");
        d[7].Should().Be(0x01, "LUICLR");
        d[8..].Should().OnlyContain(b => b == 0);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Inquiry_Vpd80_ReturnsSerialNumber()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();
        string serial = DeviceIdentity.FromName("null0").SerialNumber;

        (LocalResult result, byte[] d) = await InquireAsync(session, 0, CdbBuilder.Inquiry(255, evpd: true, page: 0x80));

        SenseAssert.IsGood(result);
        d[1].Should().Be(0x80);
        BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(2)).Should().Be((ushort)serial.Length);
        Encoding.ASCII.GetString(d, 4, d.Length - 4).Should().Be(serial);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Inquiry_Vpd83_HasScstsT10RelativePortPortGroupAndEui64Designators()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        stack.Target().TargetPortGroupId = 7;
        LocalSession session = stack.OpenSession();
        DeviceIdentity id = DeviceIdentity.FromName("null0");

        (LocalResult result, byte[] d) = await InquireAsync(session, 0, CdbBuilder.Inquiry(1024, evpd: true, page: 0x83), 1024);

        SenseAssert.IsGood(result);
        d[1].Should().Be(0x83);
        int pageLength = BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(2));
        d.Length.Should().Be(4 + pageLength);
        var designators = new List<(byte Byte0, byte Byte1, byte[] Value)>();
        for (int i = 4; i < d.Length;)
        {
            int length = d[i + 3];
            (i + 4 + length).Should().BeLessThanOrEqualTo(d.Length, "a designator must not run past the page");
            designators.Add((d[i], d[i + 1], d[(i + 4)..(i + 4 + length)]));
            i += 4 + length;
        }

        designators.Select(x => x.Byte1 & 0x0F).Should().Equal([1, 4, 5, 2], "SCST's order: T10 vendor ID, relative port, port group, EUI-64");

        (byte t10b0, byte t10b1, byte[] t10) = designators[0];
        (t10b0 & 0x0F).Should().Be(2, "T10 vendor ID is ASCII");
        (t10b1 & 0x30).Should().Be(0x00);
        Encoding.ASCII.GetString(t10).Should().Be("SCST_FIO" + id.T10DeviceId);

        (byte rtp0, byte rtp1, byte[] rtp) = designators[1];
        (rtp0 & 0x0F).Should().Be(1);
        (rtp0 >> 4).Should().Be(0x0F, "the protocol identifier of scst_local");
        rtp1.Should().Be(0x94, "PIV=1, association target port, type 4");
        rtp.Length.Should().Be(4);
        BinaryPrimitives.ReadUInt16BigEndian(rtp.AsSpan(2)).Should().Be(stack.Target().RelativeTargetPortId);
        stack.Target().RelativeTargetPortId.Should().Be(1);

        (_, byte tpg1, byte[] tpg) = designators[2];
        tpg1.Should().Be(0x95, "PIV=1, association target port, type 5");
        tpg.Length.Should().Be(4);
        BinaryPrimitives.ReadUInt16BigEndian(tpg.AsSpan(2)).Should().Be(7);

        (byte eui0, byte eui1, byte[] eui) = designators[3];
        (eui0 & 0x0F).Should().Be(1, "EUI-64 is binary");
        eui1.Should().Be(0x02, "association logical unit, type EUI-64");
        eui.Should().Equal(Encoding.ASCII.GetBytes(id.T10DeviceId[..8]), "without eui64_id or naa_id SCST reports the first 8 bytes of t10_dev_id");
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData(512, 1 << 20, 2048u, 8)]
    [InlineData(4096, 8 << 20, 2048u, 1)]
    public async Task Inquiry_VpdB0_ReportsMaximumTransferLengthInBlocks(int blockSize, int maxTransfer, uint maxBlocks, int granularity)
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync(blockSize: blockSize, options: o => o.MaxTransferLength = maxTransfer);
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await InquireAsync(session, 0, CdbBuilder.Inquiry(255, evpd: true, page: 0xB0));

        SenseAssert.IsGood(result);
        d[1].Should().Be(0xB0);
        BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(2)).Should().Be(0x3C);
        d.Length.Should().Be(64);
        BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(6)).Should().Be((ushort)granularity);
        BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(8)).Should().Be(maxBlocks);
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData(null, 15000)]
    [InlineData("1", 15000)]
    [InlineData("0", 1)]
    public async Task Inquiry_VpdB1_ReportsTheRotationRateOfRotational(string? rotational, int rate)
    {
        var parameters = new Dictionary<string, string> { ["size"] = "64M" };
        if (rotational is not null)
        {
            parameters["rotational"] = rotational;
        }

        await using ScstStack stack = await ScstStack.StartAsync("vdisk_nullio", "null0", parameters);
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await InquireAsync(session, 0, CdbBuilder.Inquiry(255, evpd: true, page: 0xB1));

        SenseAssert.IsGood(result);
        BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(2)).Should().Be(0x3C);
        BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(4)).Should().Be((ushort)rate, "SCST: 15000 rpm when rotational (its default), 1 (non-rotating) otherwise");
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData(0x99)]
    [InlineData(0x81)]
    [InlineData(0xFF)]
    public async Task Inquiry_UnsupportedVpdPage_IsInvalidFieldAtByte2(byte page)
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, _) = await InquireAsync(session, 0, CdbBuilder.Inquiry(255, evpd: true, page: page));

        SenseAssert.IsInvalidFieldInCdb(result, 2);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Inquiry_PageCodeWithoutEvpd_IsInvalidFieldAtByte2()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, _) = await InquireAsync(session, 0, CdbBuilder.Inquiry(255, evpd: false, page: 0x80));

        SenseAssert.IsInvalidFieldInCdb(result, 2);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Inquiry_CmdDt_IsInvalidFieldAtByte1Bit1()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();
        byte[] cdb = CdbBuilder.Inquiry(255);
        cdb[1] = 0x02;

        (LocalResult result, _) = await InquireAsync(session, 0, cdb);

        SenseAssert.IsInvalidFieldInCdb(result, 1, 1);
        stack.AssertNoLeaks();
    }
}
