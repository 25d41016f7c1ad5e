// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Core.Spc;

/// <summary>
/// MODE SENSE(6) and MODE SENSE(10) (SPC-4 section 6.11/6.12) with the caching (08h), control (0Ah) and
/// informational exceptions control (1Ch) pages, and 3Fh for all of them.
/// </summary>
internal static class ModeSense
{
    private const byte PageCaching = 0x08;
    private const byte PageControl = 0x0A;
    private const byte PageInformationalExceptions = 0x1C;
    private const byte PageAll = 0x3F;

    private enum PageControlField
    {
        Current = 0,
        Changeable = 1,
        Default = 2,
        Saved = 3,
    }

    public static CommandOutcome Execute(ScsiCommand command)
    {
        ReadOnlySpan<byte> cdb = command.Cdb;
        bool ten = cdb[0] == 0x5A;
        bool dbd = (cdb[1] & 0x08) != 0;
        bool llbaa = ten && (cdb[1] & 0x10) != 0;
        var pc = (PageControlField)(cdb[2] >> 6);
        byte page = (byte)(cdb[2] & 0x3F);
        byte subpage = cdb[3];
        ScsiDevice device = command.Device!;

        if (pc == PageControlField.Saved)
        {
            return CommandOutcome.CheckCondition(SenseCode.SavingParametersNotSupported);
        }

        if (subpage != 0x00 && !(subpage == 0xFF && page == PageAll))
        {
            return CommandOutcome.InvalidFieldInCdb(3);
        }

        Span<byte> d = stackalloc byte[256];
        d.Clear();
        int header = ten ? 8 : 4;
        int n = header;

        if (!dbd && device is BlockDevice block)
        {
            n += BlockDescriptor(d[n..], block, llbaa);
        }

        int blockDescriptorLength = n - header;
        int before = n;
        if (page is PageCaching or PageAll)
        {
            n += Caching(d[n..], device, pc);
        }

        if (page is PageControl or PageAll)
        {
            n += Control(d[n..], device, pc);
        }

        if (page is PageInformationalExceptions or PageAll)
        {
            n += InformationalExceptions(d[n..], pc);
        }

        if (n == before)
        {
            return CommandOutcome.InvalidFieldInCdb(2, 5);
        }

        // Device-specific parameter (SBC-3 section 6.5.1): WP and DPOFUA.
        byte deviceSpecific = (byte)((command.Mapping?.IsWriteProtected == true ? 0x80 : 0) | (device is BlockDevice ? 0x10 : 0));
        if (ten)
        {
            BinaryPrimitives.WriteUInt16BigEndian(d, (ushort)(n - 2));
            d[3] = deviceSpecific;
            d[4] = llbaa && blockDescriptorLength == 16 ? (byte)0x01 : (byte)0;
            BinaryPrimitives.WriteUInt16BigEndian(d[6..], (ushort)blockDescriptorLength);
        }
        else
        {
            d[0] = (byte)(n - 1);
            d[2] = deviceSpecific;
            d[3] = (byte)blockDescriptorLength;
        }

        command.WriteResponse(d[..n]);
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

    private static int Caching(Span<byte> d, ScsiDevice device, PageControlField pc)
    {
        d[0] = PageCaching;
        d[1] = 0x12;
        if (pc != PageControlField.Changeable)
        {
            d[2] = device.WriteCacheEnabled && pc == PageControlField.Current ? (byte)0x04 : (byte)0; // WCE
        }

        return 20;
    }

    private static int Control(Span<byte> d, ScsiDevice device, PageControlField pc)
    {
        d[0] = PageControl;
        d[1] = 0x0A;
        if (pc == PageControlField.Changeable)
        {
            return 12;
        }

        d[2] = (byte)((1 << 5) | (device.DescriptorSense && pc == PageControlField.Current ? 0x04 : 0)); // TST=1, D_SENSE
        d[3] = 1 << 4;                                  // QUEUE ALGORITHM MODIFIER 1: unrestricted reordering
        BinaryPrimitives.WriteUInt16BigEndian(d[8..], 0xFFFF); // BUSY TIMEOUT PERIOD: unlimited
        return 12;
    }

    private static int InformationalExceptions(Span<byte> d, PageControlField pc)
    {
        d[0] = PageInformationalExceptions;
        d[1] = 0x0A;
        _ = pc;
        return 12;
    }
}
