// Licensed under the Apache License, Version 2.0.

using Scst.Core;
using Scst.Core.Cdb;
using Scst.Testing;

namespace Scst.Core.Tests;

public sealed class CdbTableTests
{
    [Fact]
    public void TryDecode_Read6_Uses21BitLbaAndIgnoresTopBitsOfByte1()
    {
        byte[] cdb = [0x08, 0xFF, 0xFF, 0xFE, 0x04, 0x00];

        CdbDecodeResult result = CdbTable.TryDecode(cdb, 512, out DecodedCdb decoded);

        result.Should().Be(CdbDecodeResult.Ok);
        decoded.Descriptor.Name.Should().Be("READ(6)");
        decoded.Lba.Should().Be(0x1F_FFFEUL);
        decoded.TransferLength.Should().Be(4u);
        decoded.DataLength.Should().Be(4 * 512);
        decoded.Direction.Should().Be(DataDirection.Read);
        decoded.ForceUnitAccess.Should().BeFalse("READ(6) has no FUA bit; bit 3 of byte 1 is LBA bit 19");
    }

    [Fact]
    public void TryDecode_Read6WithZeroLength_Means256Blocks()
    {
        byte[] cdb = CdbBuilder.Read6(lba: 10, blocks: 0);

        CdbDecodeResult result = CdbTable.TryDecode(cdb, 512, out DecodedCdb decoded);

        result.Should().Be(CdbDecodeResult.Ok);
        decoded.TransferLength.Should().Be(256u);
        decoded.DataLength.Should().Be(256 * 512);
    }

    [Fact]
    public void TryDecode_Write6WithZeroLength_Means256Blocks()
    {
        byte[] cdb = CdbBuilder.Write6(lba: 0x1F_FFFF, blocks: 0);

        CdbDecodeResult result = CdbTable.TryDecode(cdb, 4096, out DecodedCdb decoded);

        result.Should().Be(CdbDecodeResult.Ok);
        decoded.Lba.Should().Be(0x1F_FFFFUL);
        decoded.TransferLength.Should().Be(256u);
        decoded.DataLength.Should().Be(256 * 4096);
        decoded.Direction.Should().Be(DataDirection.Write);
    }

    [Fact]
    public void TryDecode_Read10WithZeroLength_TransfersNothing()
    {
        byte[] cdb = CdbBuilder.Read10(lba: 7, blocks: 0);

        CdbDecodeResult result = CdbTable.TryDecode(cdb, 512, out DecodedCdb decoded);

        result.Should().Be(CdbDecodeResult.Ok);
        decoded.TransferLength.Should().Be(0u, "only the 6-byte CDBs treat 0 as 256");
        decoded.DataLength.Should().Be(0);
        decoded.Direction.Should().Be(DataDirection.None);
    }

    [Theory]
    [InlineData(10, false, "READ(10)")]
    [InlineData(10, true, "WRITE(10)")]
    [InlineData(12, false, "READ(12)")]
    [InlineData(12, true, "WRITE(12)")]
    [InlineData(16, false, "READ(16)")]
    [InlineData(16, true, "WRITE(16)")]
    public void TryDecode_ReadWrite_DecodesLbaLengthDirection(int size, bool write, string name)
    {
        ulong lba = size == 16 ? 0x0123_4567_89AB_CDEFUL : 0x89AB_CDEFUL;
        uint blocks = size == 10 ? 0x1234u : 0x0001_2345u;
        byte[] cdb = CdbBuilder.ReadWrite(size, write, lba, blocks);

        CdbDecodeResult result = CdbTable.TryDecode(cdb, 512, out DecodedCdb decoded);

        result.Should().Be(CdbDecodeResult.Ok);
        decoded.Descriptor.Name.Should().Be(name);
        decoded.Descriptor.CdbLength.Should().Be(size);
        decoded.Lba.Should().Be(lba);
        decoded.TransferLength.Should().Be(blocks);
        decoded.DataLength.Should().Be((int)(blocks * 512));
        decoded.Direction.Should().Be(write ? DataDirection.Write : DataDirection.Read);
        decoded.ForceUnitAccess.Should().BeFalse();
    }

    [Theory]
    [InlineData(10, false)]
    [InlineData(10, true)]
    [InlineData(12, false)]
    [InlineData(12, true)]
    [InlineData(16, false)]
    [InlineData(16, true)]
    public void TryDecode_FuaBitSet_ReportsForceUnitAccess(int size, bool write)
    {
        byte[] cdb = CdbBuilder.ReadWrite(size, write, 1, 1);
        cdb[1] |= 0x08;

        CdbDecodeResult result = CdbTable.TryDecode(cdb, 512, out DecodedCdb decoded);

        result.Should().Be(CdbDecodeResult.Ok);
        decoded.ForceUnitAccess.Should().BeTrue();
        decoded.Lba.Should().Be(1UL, "the FUA bit is not part of the LBA");
    }

    [Fact]
    public void TryDecode_BlocksWith4096ByteBlocks_CountsBytesInDeviceBlocks()
    {
        byte[] cdb = CdbBuilder.Read10(0, 3);

        CdbTable.TryDecode(cdb, 4096, out DecodedCdb decoded).Should().Be(CdbDecodeResult.Ok);

        decoded.DataLength.Should().Be(3 * 4096);
    }

    [Fact]
    public void TryDecode_ReadCapacity16ServiceAction_DecodesAllocationLength()
    {
        byte[] cdb = CdbBuilder.ReadCapacity16(allocationLength: 32);

        CdbDecodeResult result = CdbTable.TryDecode(cdb, 512, out DecodedCdb decoded);

        result.Should().Be(CdbDecodeResult.Ok);
        decoded.Descriptor.Name.Should().Be("READ CAPACITY(16)");
        decoded.Descriptor.Opcode.Should().Be(0x9E);
        decoded.Descriptor.ServiceAction.Should().Be(0x10);
        decoded.Descriptor.Unit.Should().Be(TransferLengthUnit.Bytes);
        decoded.DataLength.Should().Be(32);
        decoded.Direction.Should().Be(DataDirection.Read);
    }

    [Fact]
    public void TryDecode_ServiceActionInTopBitsOfByte1_IgnoresThem()
    {
        byte[] cdb = CdbBuilder.ReadCapacity16(12);
        cdb[1] |= 0xE0;

        CdbDecodeResult result = CdbTable.TryDecode(cdb, 512, out DecodedCdb decoded);

        result.Should().Be(CdbDecodeResult.Ok);
        decoded.Descriptor.ServiceAction.Should().Be(0x10);
        decoded.DataLength.Should().Be(12);
    }

    [Theory]
    [InlineData(0x0A, "REPORT TARGET PORT GROUPS")]
    [InlineData(0x0C, "REPORT SUPPORTED OPERATION CODES")]
    [InlineData(0x0D, "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS")]
    public void TryDecode_A3ServiceActions_FindsEach(byte serviceAction, string name)
    {
        var cdb = new byte[12];
        cdb[0] = 0xA3;
        cdb[1] = serviceAction;
        cdb[6] = 0x00;
        cdb[7] = 0x01;
        cdb[8] = 0x02;
        cdb[9] = 0x03;

        CdbDecodeResult result = CdbTable.TryDecode(cdb, 512, out DecodedCdb decoded);

        result.Should().Be(CdbDecodeResult.Ok);
        decoded.Descriptor.Name.Should().Be(name);
        decoded.DataLength.Should().Be(0x010203);
        decoded.Descriptor.Flags.Should().HaveFlag(CdbFlags.CoreOwned);
    }

    [Theory]
    [InlineData(0x9E, 0x11)]
    [InlineData(0x9E, 0x00)]
    [InlineData(0xA3, 0x1F)]
    [InlineData(0xA3, 0x05)]
    public void TryDecode_UnknownServiceAction_ReturnsInvalidServiceAction(byte opcode, byte serviceAction)
    {
        var cdb = new byte[16];
        cdb[0] = opcode;
        cdb[1] = serviceAction;

        CdbDecodeResult result = CdbTable.TryDecode(cdb, 512, out _);

        result.Should().Be(CdbDecodeResult.InvalidServiceAction);
        CdbTable.Find(cdb).Should().BeNull();
    }

    [Theory]
    [InlineData(0xFF)]
    [InlineData(0x02)]
    [InlineData(0xC0)]
    public void TryDecode_UnknownOpcode_ReturnsUnknownOpcode(byte opcode)
    {
        var cdb = new byte[16];
        cdb[0] = opcode;

        CdbDecodeResult result = CdbTable.TryDecode(cdb, 512, out DecodedCdb decoded);

        result.Should().Be(CdbDecodeResult.UnknownOpcode);
        decoded.Should().Be(default(DecodedCdb));
    }

    [Fact]
    public void TryDecode_EmptyCdb_ReturnsUnknownOpcodeWithoutThrowing()
    {
        CdbDecodeResult result = CdbTable.TryDecode([], 512, out _);

        result.Should().Be(CdbDecodeResult.UnknownOpcode);
    }

    [Theory]
    [InlineData(0x28, 9)]
    [InlineData(0x28, 6)]
    [InlineData(0x88, 10)]
    [InlineData(0xA8, 11)]
    [InlineData(0x08, 5)]
    [InlineData(0x12, 1)]
    public void TryDecode_CdbShorterThanOpcodeNeeds_ReturnsTooShort(byte opcode, int length)
    {
        var cdb = new byte[length];
        cdb[0] = opcode;

        CdbDecodeResult result = CdbTable.TryDecode(cdb, 512, out _);

        result.Should().Be(CdbDecodeResult.TooShort);
    }

    [Fact]
    public void TryDecode_ServiceActionCdbTooShort_ReturnsTooShort()
    {
        byte[] cdb = [0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0];

        CdbDecodeResult result = CdbTable.TryDecode(cdb, 512, out _);

        result.Should().Be(CdbDecodeResult.TooShort);
    }

    [Fact]
    public void TryDecode_TransferLongerThanInt32_ReturnsTransferTooLong()
    {
        byte[] cdb = CdbBuilder.Read16(0, 0xFFFF_FFFF);

        CdbDecodeResult result = CdbTable.TryDecode(cdb, 512, out _);

        result.Should().Be(CdbDecodeResult.TransferTooLong);
    }

    [Fact]
    public void TryDecode_TransferOfExactlyTwoGiB_ReturnsTransferTooLong()
    {
        byte[] cdb = CdbBuilder.Write16(0, 4 * 1024 * 1024);

        CdbDecodeResult result = CdbTable.TryDecode(cdb, 512, out _);

        result.Should().Be(CdbDecodeResult.TransferTooLong);
    }

    [Fact]
    public void TryDecode_TransferJustBelowTwoGiB_IsOk()
    {
        byte[] cdb = CdbBuilder.Read16(0, (4 * 1024 * 1024) - 1);

        CdbDecodeResult result = CdbTable.TryDecode(cdb, 512, out DecodedCdb decoded);

        result.Should().Be(CdbDecodeResult.Ok);
        decoded.DataLength.Should().Be(int.MaxValue - 511);
    }

    [Fact]
    public void TryDecode_CompareAndWrite_TransfersTwiceTheBlocks()
    {
        var cdb = new byte[16];
        cdb[0] = 0x89;
        cdb[13] = 3;

        CdbDecodeResult result = CdbTable.TryDecode(cdb, 512, out DecodedCdb decoded);

        result.Should().Be(CdbDecodeResult.Ok);
        decoded.Descriptor.Unit.Should().Be(TransferLengthUnit.DoubleBlocks);
        decoded.TransferLength.Should().Be(3u);
        decoded.DataLength.Should().Be(2 * 3 * 512);
    }

    [Fact]
    public void TryDecode_ReadCapacity10_HasFixedEightByteTransfer()
    {
        CdbDecodeResult result = CdbTable.TryDecode(CdbBuilder.ReadCapacity10(), 4096, out DecodedCdb decoded);

        result.Should().Be(CdbDecodeResult.Ok);
        decoded.Descriptor.Unit.Should().Be(TransferLengthUnit.Fixed);
        decoded.DataLength.Should().Be(8);
        decoded.Direction.Should().Be(DataDirection.Read);
    }

    [Fact]
    public void TryDecode_InquiryAllocationLength_CountsBytes()
    {
        CdbDecodeResult result = CdbTable.TryDecode(CdbBuilder.Inquiry(allocationLength: 0x0123), 4096, out DecodedCdb decoded);

        result.Should().Be(CdbDecodeResult.Ok);
        decoded.Descriptor.Unit.Should().Be(TransferLengthUnit.Bytes);
        decoded.DataLength.Should().Be(0x0123);
        decoded.Descriptor.Flags.Should().HaveFlag(CdbFlags.AllowedWithoutLun);
    }

    [Fact]
    public void TryDecode_ModeSelect6ParameterList_IsWriteDirection()
    {
        byte[] cdb = [0x15, 0x10, 0, 0, 24, 0];

        CdbDecodeResult result = CdbTable.TryDecode(cdb, 512, out DecodedCdb decoded);

        result.Should().Be(CdbDecodeResult.Ok);
        decoded.DataLength.Should().Be(24);
        decoded.Direction.Should().Be(DataDirection.Write);
    }

    [Fact]
    public void TryDecode_TestUnitReady_TransfersNothing()
    {
        CdbDecodeResult result = CdbTable.TryDecode(CdbBuilder.TestUnitReady(), 512, out DecodedCdb decoded);

        result.Should().Be(CdbDecodeResult.Ok);
        decoded.Descriptor.Unit.Should().Be(TransferLengthUnit.None);
        decoded.DataLength.Should().Be(0);
        decoded.Direction.Should().Be(DataDirection.None);
    }

    [Fact]
    public void TryDecode_SynchronizeCache_HasLbaButNoData()
    {
        CdbDecodeResult result = CdbTable.TryDecode(CdbBuilder.SynchronizeCache16(0x1_0000_0000, 8), 512, out DecodedCdb decoded);

        result.Should().Be(CdbDecodeResult.Ok);
        decoded.Lba.Should().Be(0x1_0000_0000UL);
        decoded.DataLength.Should().Be(0);
    }

    [Theory]
    [InlineData(0x28, -1, true, true)]    // READ(10): SBC and MMC
    [InlineData(0x25, -1, true, true)]    // READ CAPACITY(10)
    [InlineData(0x2A, -1, true, true)]    // WRITE(10): refused as write-protected on a CD-ROM, not as unknown
    [InlineData(0x1B, -1, true, true)]    // START STOP UNIT
    [InlineData(0x88, -1, true, false)]   // READ(16): SBC only
    [InlineData(0x41, -1, true, false)]   // WRITE SAME(10)
    [InlineData(0x9E, 0x10, true, false)] // READ CAPACITY(16)
    [InlineData(0x43, -1, false, true)]   // READ TOC/PMA/ATIP: MMC only
    [InlineData(0x46, -1, false, true)]   // GET CONFIGURATION
    [InlineData(0x4A, -1, false, true)]   // GET EVENT STATUS NOTIFICATION
    [InlineData(0x51, -1, false, true)]   // READ DISC INFORMATION
    [InlineData(0xBD, -1, false, true)]   // MECHANISM STATUS
    [InlineData(0x12, -1, true, true)]    // INQUIRY: SPC, every type
    public void IsSupported_FollowsTheDeviceTypesOfTheRow(int opcode, int serviceAction, bool onDisk, bool onCdRom)
    {
        CdbDescriptor d = CdbTable.Find((byte)opcode, serviceAction)!;
        var disk = new TypedBlockDevice("disk", PeripheralDeviceType.DirectAccess);
        var cd = new TypedBlockDevice("cd", PeripheralDeviceType.CdDvd);

        d.AppliesTo(PeripheralDeviceType.DirectAccess).Should().Be(onDisk);
        d.AppliesTo(PeripheralDeviceType.CdDvd).Should().Be(onCdRom);
        CdbTable.IsSupported(d, disk).Should().Be(onDisk);
        CdbTable.IsSupported(d, cd).Should().Be(onCdRom);
    }

    [Fact]
    public void TryDecode_EveryTableEntry_DecodesToItself()
    {
        IReadOnlyList<CdbDescriptor> all = CdbTable.All;

        all.Should().NotBeEmpty();
        foreach (CdbDescriptor d in all)
        {
            var cdb = new byte[d.CdbLength];
            cdb[0] = d.Opcode;
            if (d.ServiceAction >= 0)
            {
                cdb[1] = (byte)d.ServiceAction;
            }

            CdbTable.TryDecode(cdb, 512, out DecodedCdb decoded).Should().Be(CdbDecodeResult.Ok, d.Name);
            decoded.Descriptor.Should().BeSameAs(d, d.Name);
            CdbTable.Find(d.Opcode, d.ServiceAction).Should().BeSameAs(d, d.Name);
            CdbTable.HasServiceActions(d.Opcode).Should().Be(d.ServiceAction >= 0, d.Name);
        }
    }

    [Fact]
    public void TryDecode_EveryBlockTransferEntry_ScalesLengthByBlockSize()
    {
        foreach (CdbDescriptor d in CdbTable.All)
        {
            if (d.Unit is not (TransferLengthUnit.Blocks or TransferLengthUnit.DoubleBlocks) || d.LengthLength == 0)
            {
                continue;
            }

            var cdb = new byte[d.CdbLength];
            cdb[0] = d.Opcode;
            cdb[d.LengthOffset + d.LengthLength - 1] = 2;

            CdbTable.TryDecode(cdb, 1024, out DecodedCdb decoded).Should().Be(CdbDecodeResult.Ok, d.Name);
            int factor = d.Unit == TransferLengthUnit.DoubleBlocks ? 2 : 1;
            decoded.DataLength.Should().Be(factor * 2 * 1024, d.Name);
            decoded.Direction.Should().Be(d.Direction, d.Name);
        }
    }

    [Fact]
    public void Find_OpcodeWithServiceActionsButNoServiceAction_ReturnsNull()
    {
        CdbTable.Find(0x9E, -1).Should().BeNull();
        CdbTable.Find(0x28, 0x10).Should().BeNull();
        CdbTable.Find(0x28, -1)!.Name.Should().Be("READ(10)");
    }
}
