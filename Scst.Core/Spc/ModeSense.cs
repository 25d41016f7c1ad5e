// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Core.Spc;

/// <summary>
/// MODE SENSE(6)/(10) and MODE SELECT(6)/(10) (SPC-4 sections 6.9-6.12) over the device's <see cref="ModePages"/>.
/// </summary>
/// <remarks>
/// Mode parameter header, 6-byte form (10-byte form in brackets):
/// <code>
///  byte 0     MODE DATA LENGTH (bytes 0-1)          reserved in MODE SELECT
///  byte 1     MEDIUM TYPE (byte 2)                  0 for a direct-access device
///  byte 2     DEVICE-SPECIFIC PARAMETER (byte 3)    WP(7), DPOFUA(4)
///  (byte 4)   LONGLBA(0)
///  byte 3     BLOCK DESCRIPTOR LENGTH (bytes 6-7)   0, 8, or 16 with LONGLBA
/// </code>
/// then the block descriptors (SBC-3 section 6.4.2: NUMBER OF LOGICAL BLOCKS, LOGICAL BLOCK LENGTH), then the pages.
/// </remarks>
internal static class ModeSense
{
    public static CommandOutcome Execute(ScsiCommand command)
    {
        ReadOnlySpan<byte> cdb = command.Cdb;
        bool ten = cdb[0] == 0x5A;
        bool dbd = (cdb[1] & 0x08) != 0;
        bool llbaa = ten && (cdb[1] & 0x10) != 0;
        var pc = (ModePageControl)(cdb[2] >> 6);
        byte page = (byte)(cdb[2] & 0x3F);
        byte subpage = cdb[3];
        ScsiDevice device = command.Device!;
        ModePages pages = device.ModePages;

        if (pc == ModePageControl.Saved && !pages.SavingSupported)
        {
            return CommandOutcome.CheckCondition(SenseCode.SavingParametersNotSupported);
        }

        if (!pages.HasPage(page))
        {
            return CommandOutcome.InvalidFieldInCdb(2, 5);
        }

        // No page has subpages: subpage 00h, or FFh ("all subpages") for 3Fh, which then means the same pages.
        if (subpage != 0x00 && !(subpage == 0xFF && page == ModePages.AllPages))
        {
            return CommandOutcome.InvalidFieldInCdb(3);
        }

        Span<byte> d = stackalloc byte[512];
        d.Clear();
        int header = ten ? 8 : 4;
        int n = header;

        if (!dbd && device is BlockDevice block)
        {
            n += BlockDescriptor(d[n..], block, llbaa);
            if (pc == ModePageControl.Changeable)
            {
                d[header..n].Clear(); // nothing in the block descriptor can be changed
            }
        }

        int blockDescriptorLength = n - header;
        n += pages.Write(d[n..], page, pc);

        // Device-specific parameter (SBC-3 section 6.4.1): WP (a read-only LUN or SWP) and, for a disk, DPOFUA.
        bool writeProtected = command.Mapping?.IsWriteProtected == true || pages.SoftwareWriteProtect;
        bool disk = device is BlockDevice && device.DeviceType == PeripheralDeviceType.DirectAccess;
        byte deviceSpecific = (byte)((writeProtected ? 0x80 : 0) | (disk ? 0x10 : 0));
        if (ten)
        {
            BinaryPrimitives.WriteUInt16BigEndian(d, (ushort)(n - 2));
            d[3] = deviceSpecific;
            d[4] = llbaa && blockDescriptorLength == 16 ? (byte)0x01 : (byte)0;
            BinaryPrimitives.WriteUInt16BigEndian(d[6..], (ushort)blockDescriptorLength);
        }
        else
        {
            // MODE SENSE(6) answers at most 255 bytes: every page together stays far below that.
            d[0] = (byte)(n - 1);
            d[2] = deviceSpecific;
            d[3] = (byte)blockDescriptorLength;
        }

        command.WriteResponse(d[..n]);
        return CommandOutcome.Good;
    }

    public static CommandOutcome Select(ScsiCommand command, ScstEngine engine)
    {
        ReadOnlySpan<byte> cdb = command.Cdb;
        bool ten = cdb[0] == 0x55;
        bool pageFormat = (cdb[1] & 0x10) != 0;
        bool save = (cdb[1] & 0x01) != 0;
        ScsiDevice device = command.Device!;
        ModePages pages = device.ModePages;

        // SPC-4 section 6.9: SP=1 on a logical unit without saved pages is an invalid field in the CDB.
        if (save && !pages.SavingSupported)
        {
            return CommandOutcome.InvalidFieldInCdb(1, 0);
        }

        ReadOnlySpan<byte> list = command.Data.Span;
        if (list.IsEmpty)
        {
            return CommandOutcome.Good;
        }

        int header = ten ? 8 : 4;
        if (list.Length < header)
        {
            return CommandOutcome.CheckCondition(SenseCode.ParameterListLengthError);
        }

        int mediumTypeOffset = ten ? 2 : 1;
        if (list[mediumTypeOffset] != 0)
        {
            return CommandOutcome.InvalidFieldInParameterList(mediumTypeOffset);
        }

        bool longLba = ten && (list[4] & 0x01) != 0;
        if (ten && (list[4] & 0xFE) != 0)
        {
            return CommandOutcome.InvalidFieldInParameterList(4, 31 - System.Numerics.BitOperations.LeadingZeroCount((uint)(list[4] & 0xFE)));
        }

        int blockDescriptorLength = ten ? BinaryPrimitives.ReadUInt16BigEndian(list[6..]) : list[3];
        int descriptorSize = longLba ? 16 : 8;
        if (blockDescriptorLength != 0 && (blockDescriptorLength != descriptorSize || device is not BlockDevice))
        {
            return CommandOutcome.InvalidFieldInParameterList(ten ? 6 : 3);
        }

        if (header + blockDescriptorLength > list.Length)
        {
            return CommandOutcome.CheckCondition(SenseCode.ParameterListLengthError);
        }

        if (blockDescriptorLength != 0)
        {
            CommandOutcome check = CheckBlockDescriptor(list.Slice(header, blockDescriptorLength), header, (BlockDevice)device, longLba);
            if (!check.IsGood)
            {
                return check;
            }
        }

        int pagesOffset = header + blockDescriptorLength;
        ReadOnlySpan<byte> pageData = list[pagesOffset..];
        if (!pageData.IsEmpty && !pageFormat)
        {
            // PF=0: the pages would be in a vendor-specific (SCSI-1) format, which this device does not have.
            return CommandOutcome.InvalidFieldInCdb(1, 4);
        }

        CommandOutcome outcome = pages.Select(pageData, pagesOffset, save, out bool changed);
        if (outcome.IsGood && changed)
        {
            // SPC-4 section 7.5.2: every other I_T nexus that reaches the device learns that shared parameters changed.
            engine.EstablishUnitAttention(device, SenseCode.ModeParametersChanged, except: command.Session);
        }

        return outcome;
    }

    // The block descriptor of MODE SELECT may restate the capacity and block length but change neither.
    private static CommandOutcome CheckBlockDescriptor(ReadOnlySpan<byte> d, int offset, BlockDevice device, bool longLba)
    {
        ulong blocks = longLba ? BinaryPrimitives.ReadUInt64BigEndian(d) : BinaryPrimitives.ReadUInt32BigEndian(d);
        ulong current = (ulong)device.BlockCount;
        ulong reported = longLba ? current : Math.Min(current, uint.MaxValue);
        if (blocks != 0 && blocks != reported)
        {
            return CommandOutcome.InvalidFieldInParameterList(offset);
        }

        if (!longLba && d[4] != 0)
        {
            return CommandOutcome.InvalidFieldInParameterList(offset + 4);
        }

        uint length = longLba ? BinaryPrimitives.ReadUInt32BigEndian(d[12..]) : BinaryPrimitives.ReadUInt32BigEndian(d[4..]) & 0x00FF_FFFF;
        if (length != (uint)device.BlockSize)
        {
            return CommandOutcome.InvalidFieldInParameterList(offset + (longLba ? 12 : 5));
        }

        return CommandOutcome.Good;
    }

    private static int BlockDescriptor(Span<byte> d, BlockDevice device, bool longLba)
    {
        long blocks = device.BlockCount;
        if (longLba)
        {
            BinaryPrimitives.WriteUInt64BigEndian(d, (ulong)blocks);
            BinaryPrimitives.WriteUInt32BigEndian(d[12..], (uint)device.BlockSize);
            return 16;
        }

        BinaryPrimitives.WriteUInt32BigEndian(d, blocks > uint.MaxValue ? uint.MaxValue : (uint)blocks);
        BinaryPrimitives.WriteUInt32BigEndian(d[4..], (uint)device.BlockSize & 0x00FF_FFFF);
        return 8;
    }
}
