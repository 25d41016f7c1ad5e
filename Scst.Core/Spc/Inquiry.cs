// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Text;
using Scst.Core.Spc.ExtendedCopy;

namespace Scst.Core.Spc;

/// <summary>INQUIRY (SPC-4 section 6.6): standard data and the vital product data pages.</summary>
internal static class Inquiry
{
    private const int StandardLength = 96;

    // Version descriptors (SPC-4 table 149): SAM-5, SPC-4, SBC-3, iSCSI (RFC 7143 / no version claimed). A CD/DVD unit
    // claims no command set standard, as SCST's vcdrom does: it implements a part of MMC only.
    private static readonly ushort[] s_versionDescriptors = [0x00A0, 0x0460, 0x04C0, 0x0960];
    private static readonly ushort[] s_cdVersionDescriptors = [0x00A0, 0x0460, 0x0960];

    public static CommandOutcome Execute(ScsiCommand command)
    {
        ReadOnlySpan<byte> cdb = command.Cdb;
        bool evpd = (cdb[1] & 0x01) != 0;
        if ((cdb[1] & 0x02) != 0)
        {
            return CommandOutcome.InvalidFieldInCdb(1, 1);
        }

        if (!evpd && cdb[2] != 0)
        {
            return CommandOutcome.InvalidFieldInCdb(2);
        }

        Span<byte> data = stackalloc byte[SpcCommands.MaxResponseLength];
        data.Clear();
        int length;
        if (!evpd)
        {
            length = Standard(data, command.Device, command.Session);
        }
        else if (command.Device is null)
        {
            // VPD pages of a LUN that does not exist: only the qualifier says so.
            return CommandOutcome.CheckCondition(SenseCode.LunNotSupported);
        }
        else
        {
            length = VitalProductData(data, cdb[2], command);
            if (length < 0)
            {
                return CommandOutcome.InvalidFieldInCdb(2);
            }
        }

        command.WriteResponse(data[..length]);
        return CommandOutcome.Good;
    }

    private static int Standard(Span<byte> d, ScsiDevice? device, ScsiSession session)
    {
        if (device is null)
        {
            // Peripheral qualifier 011b: the target cannot support a logical unit at this LUN.
            d[0] = 0x7F;
            d[2] = 0x06;
            d[3] = 0x02;
            d[4] = 36 - 5;
            SpcCommands.WriteAscii(d.Slice(8, 8), string.Empty);
            SpcCommands.WriteAscii(d.Slice(16, 16), string.Empty);
            SpcCommands.WriteAscii(d.Slice(32, 4), string.Empty);
            return 36;
        }

        d[0] = PeripheralByte(device);
        d[1] = device.Removable ? (byte)0x80 : (byte)0;
        d[2] = 0x06;                // VERSION: SPC-4
        d[3] = 0x20 | 0x10 | 0x02;  // NORMACA, HISUP, RESPONSE DATA FORMAT 2
        d[4] = StandardLength - 5;
        d[5] |= 0x08;               // 3PC: the core's copy manager takes EXTENDED COPY on every logical unit
        if (device.DeviceGroup is not null)
        {
            // TPGS 01b: implicit asymmetric logical unit access; 11b: explicit too (SET TARGET PORT GROUPS)
            d[5] |= device.ExplicitAlua ? (byte)0x30 : (byte)0x10;
        }

        d[7] = 0x02;                // CMDQUE
        DeviceIdentity id = device.Identity;
        SpcCommands.WriteAscii(d.Slice(8, 8), id.VendorId);
        SpcCommands.WriteAscii(d.Slice(16, 16), id.ProductId);
        SpcCommands.WriteAscii(d.Slice(32, 4), id.ProductRevision);
        ushort[] versions = device.DeviceType == PeripheralDeviceType.CdDvd ? s_cdVersionDescriptors : s_versionDescriptors;
        for (int i = 0; i < versions.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(d[(58 + (2 * i))..], versions[i]);
        }

        // Vendor-specific bytes (SCST's inq_vend_specific): up to 20 in bytes 36-55, longer ones from byte 96 on.
        ReadOnlySpan<byte> vendorSpecific = id.InquiryVendorSpecific.Span;
        if (vendorSpecific.Length <= ShortVendorSpecificLength)
        {
            vendorSpecific.CopyTo(d[36..]);
            return StandardLength;
        }

        int length = StandardLength + Math.Min(vendorSpecific.Length, MaxVendorSpecificLength);
        vendorSpecific[..(length - StandardLength)].CopyTo(d[StandardLength..]);
        d[4] = (byte)(length - 5);
        return length;
    }

    /// <summary>The most bytes of <see cref="DeviceIdentity.InquiryVendorSpecific"/> that fit bytes 36 to 55.</summary>
    private const int ShortVendorSpecificLength = 20;

    /// <summary>The most bytes of <see cref="DeviceIdentity.InquiryVendorSpecific"/> reported (SCST's 256-byte buffer less 96).</summary>
    internal const int MaxVendorSpecificLength = 160;

    // PERIPHERAL QUALIFIER (7-5) and PERIPHERAL DEVICE TYPE (4-0): 001b/1Fh for a placeholder (SCST's dummy), whose LUN
    // is listed but has no device connected.
    private static byte PeripheralByte(ScsiDevice device) => device.Dummy ? (byte)0x3F : (byte)device.DeviceType;

    private static int VitalProductData(Span<byte> d, byte page, ScsiCommand command)
    {
        ScsiDevice device = command.Device!;
        // The block device pages (B0h, B1h, B2h) are SBC's: a CD/DVD block device has none.
        bool block = device is BlockDevice && device.DeviceType == PeripheralDeviceType.DirectAccess;
        d[0] = PeripheralByte(device);
        d[1] = page;
        int pageLength;
        switch (page)
        {
            case 0x00:
                ReadOnlySpan<byte> pages = block ? [0x00, 0x80, 0x83, 0x86, 0x8F, 0xB0, 0xB1, 0xB2] : [0x00, 0x80, 0x83, 0x86, 0x8F];
                pages.CopyTo(d[4..]);
                pageLength = pages.Length;
                break;
            case 0x80:
                pageLength = Math.Min(Encoding.ASCII.GetBytes(device.Identity.SerialNumber, d[4..]), 252);
                break;
            case 0x83:
                pageLength = DeviceIdentification(d[4..], command);
                break;
            case 0x86:
                // Extended INQUIRY Data (SPC-4 7.8.7): no protection information; HEADSUP, ORDSUP and SIMPSUP, the task
                // attributes the task set honours; V_SUP while a volatile write cache is on (SYNCHRONIZE CACHE then
                // matters); LUICLR, since a unit attention is cleared for the I_T nexus that reports it alone.
                pageLength = 0x3C;
                d[5] = 0x04 | 0x02 | 0x01;
                d[6] = device.WriteCacheEnabled ? (byte)0x01 : (byte)0x00;
                d[7] = 0x01;
                break;
            case 0x8F:
                pageLength = ThirdPartyCopyPage.Write(d[4..]);
                break;
            case 0xB0 when block:
                pageLength = BlockLimits(d[4..], (BlockDevice)device, command.Session.Engine.Options.MaxTransferLength);
                break;
            case 0xB1 when block:
                pageLength = 0x3C;
                // MEDIUM ROTATION RATE: 15000 rpm for a rotational device (SCST's figure), 1 for a non-rotating one.
                BinaryPrimitives.WriteUInt16BigEndian(d[4..], device.Rotational ? (ushort)15000 : (ushort)1);
                if (((BlockDevice)device).ThinProvisioned)
                {
                    d[7] = 0x40; // WABEREQ 01b: reads after a SANITIZE BLOCK ERASE succeed (they return zeros)
                }

                break;
            case 0xB2 when block:
                pageLength = 4;
                if (((BlockDevice)device).ThinProvisioned)
                {
                    d[5] = 0x80 | 0x40 | 0x20 | 0x04; // LBPU, LBPWS, LBPWS10, LBPRZ: unmapped blocks read as zeros
                    d[6] = 0x02;        // PROVISIONING TYPE: thin
                }

                break;
            default:
                return -1;
        }

        BinaryPrimitives.WriteUInt16BigEndian(d[2..], (ushort)pageLength);
        return 4 + pageLength;
    }

    // Designation descriptor header (SPC-4 section 7.8.6.1):
    //   byte 0: PROTOCOL IDENTIFIER (7-4) | CODE SET (3-0)
    //   byte 1: PIV (7) | ASSOCIATION (5-4) | DESIGNATOR TYPE (3-0)
    //   byte 3: DESIGNATOR LENGTH
    private const byte CodeSetBinary = 1;
    private const byte CodeSetAscii = 2;
    private const byte CodeSetUtf8 = 3;
    private const byte AssociationLogicalUnit = 0x00;
    private const byte AssociationTargetPort = 0x10;
    private const byte AssociationTargetDevice = 0x20;
    private const byte TypeT10Vendor = 1;
    private const byte TypeEui64 = 2;
    private const byte TypeNaa = 3;
    private const byte TypeRelativeTargetPort = 4;
    private const byte TypeTargetPortGroup = 5;
    private const byte TypeScsiName = 8;

    /// <summary>The longest vendor-specific part of the T10 vendor ID designator (SCST's vend_specific_id).</summary>
    internal const int MaxVendorSpecificIdLength = 128;

    /// <summary>The longest SCSI name string (SCST's scsi_device_name), before its NUL padding.</summary>
    internal const int MaxScsiDeviceNameLength = 256;

    // The order of SCST's vdisk: SCSI name string (target device), T10 vendor ID, relative target port, target port
    // group, then EUI-64 and NAA (logical unit).
    private static int DeviceIdentification(Span<byte> d, ScsiCommand command)
    {
        ScsiTarget target = command.Session.Target;
        DeviceIdentity id = command.Device!.Identity;
        int n = 0;
        if (id.ScsiDeviceName.Length > 0)
        {
            // Null-terminated and padded with NULs to a multiple of 4 (SPC-4 section 7.8.6.11).
            Span<byte> name = stackalloc byte[MaxScsiDeviceNameLength];
            int nameLength = Utf8Prefix(id.ScsiDeviceName, name);
            int padded = nameLength + 4 - (nameLength % 4);
            n += Header(d[n..], CodeSetUtf8, AssociationTargetDevice | TypeScsiName, padded);
            d.Slice(n, padded).Clear();
            name[..nameLength].CopyTo(d[n..]);
            n += padded;
        }

        n += T10VendorDesignator(d[n..], id);

        // Relative target port and target port group: 2 reserved bytes, then the 16-bit identifier.
        byte protocol = target.Driver.ProtocolIdentifier;
        n += Header(d[n..], CodeSetBinary, 0x80 | AssociationTargetPort | TypeRelativeTargetPort, 4, protocol);
        BinaryPrimitives.WriteUInt16BigEndian(d[(n + 2)..], target.RelativeTargetPortId);
        n += 4;
        n += Header(d[n..], CodeSetBinary, 0x80 | AssociationTargetPort | TypeTargetPortGroup, 4, protocol);
        // The target port group: the ALUA target group that names the target, else the target's own setting.
        ushort group = ScstEngine.FindTargetGroup(command.Device!, target) is { } targetGroup ? (ushort)targetGroup.GroupId : target.TargetPortGroupId;
        BinaryPrimitives.WriteUInt16BigEndian(d[(n + 2)..], group);
        n += 4;
        n += BinaryDesignators(d[n..], id);
        return n;
    }

    /// <summary>The largest output of <see cref="LogicalUnitDesignators"/>.</summary>
    internal const int MaxLogicalUnitDesignatorsLength = (4 + 8 + MaxVendorSpecificIdLength) + (4 + 16) + (4 + 16);

    /// <summary>
    /// Writes the designation descriptors that identify the logical unit itself (association 00b) as VPD page 83h
    /// lists them; the copy manager matches CSCD identification descriptors against the same bytes.
    /// </summary>
    internal static int LogicalUnitDesignators(Span<byte> d, ScsiDevice device)
    {
        DeviceIdentity id = device.Identity;
        int n = T10VendorDesignator(d, id);
        return n + BinaryDesignators(d[n..], id);
    }

    // T10 vendor ID based: the 8-byte vendor id, then the vendor-specific identifier.
    private static int T10VendorDesignator(Span<byte> d, DeviceIdentity id)
    {
        string specific = id.EffectiveVendorSpecificId;
        int length = 8 + Math.Min(specific.Length, MaxVendorSpecificIdLength);
        Header(d, CodeSetAscii, AssociationLogicalUnit | TypeT10Vendor, length);
        SpcCommands.WriteAscii(d.Slice(4, 8), id.VendorId);
        SpcCommands.WriteAscii(d.Slice(12, length - 8), specific);
        return 4 + length;
    }

    // EUI-64 and NAA. With neither set, SCST reports the first eight bytes of t10_dev_id (ASCII, NUL-padded) as an
    // EUI-64 designator, and so does this core, so that the identifier an initiator knows does not change.
    private static int BinaryDesignators(Span<byte> d, DeviceIdentity id)
    {
        int n = 0;
        if (id.Eui64Id.IsEmpty && id.NaaId.IsEmpty)
        {
            n += Header(d, CodeSetBinary, AssociationLogicalUnit | TypeEui64, 8);
            Span<byte> eui = d.Slice(n, 8);
            eui.Clear();
            Utf8Prefix(id.T10DeviceId, eui);
            return n + 8;
        }

        if (!id.Eui64Id.IsEmpty)
        {
            n += Header(d[n..], CodeSetBinary, AssociationLogicalUnit | TypeEui64, id.Eui64Id.Length);
            id.Eui64Id.Span.CopyTo(d[n..]);
            n += id.Eui64Id.Length;
        }

        if (!id.NaaId.IsEmpty)
        {
            n += Header(d[n..], CodeSetBinary, AssociationLogicalUnit | TypeNaa, id.NaaId.Length);
            id.NaaId.Span.CopyTo(d[n..]);
            n += id.NaaId.Length;
        }

        return n;
    }

    // Writes as many whole UTF-8 characters of text as fit the destination; returns the bytes written.
    private static int Utf8Prefix(string text, Span<byte> destination)
    {
        int written = 0;
        Span<byte> one = stackalloc byte[4];
        foreach (Rune rune in text.EnumerateRunes())
        {
            int length = rune.EncodeToUtf8(one);
            if (written + length > destination.Length)
            {
                break;
            }

            one[..length].CopyTo(destination[written..]);
            written += length;
        }

        return written;
    }

    private static int Header(Span<byte> d, byte codeSet, int associationAndType, int length, byte protocol = 0)
    {
        d[0] = (byte)((protocol << 4) | codeSet);
        d[1] = (byte)associationAndType;
        d[2] = 0;
        d[3] = (byte)length;
        return 4;
    }

    private static int BlockLimits(Span<byte> d, BlockDevice device, int maxTransferBytes)
    {
        int blockSize = device.BlockSize;
        // WSNZ (byte 4 bit 0) stays 0: WRITE SAME with NUMBER OF LOGICAL BLOCKS 0 writes to the end of the medium.
        // MAXIMUM COMPARE AND WRITE LENGTH: both halves of the data-out buffer must fit in one transfer.
        d[1] = (byte)Math.Clamp(Math.Min(device.MaxCompareAndWriteBlockCount, maxTransferBytes / 2 / blockSize), 0, 255);
        // OPTIMAL TRANSFER LENGTH GRANULARITY: one physical block, and at least one page.
        int perPhysicalBlock = 1 << device.LogicalBlocksPerPhysicalBlockExponent;
        BinaryPrimitives.WriteUInt16BigEndian(d[2..], (ushort)Math.Max(perPhysicalBlock, Math.Max(1, 4096 / blockSize)));
        // MAXIMUM TRANSFER LENGTH and OPTIMAL TRANSFER LENGTH, in blocks.
        BinaryPrimitives.WriteUInt32BigEndian(d[4..], (uint)(maxTransferBytes / blockSize));
        BinaryPrimitives.WriteUInt32BigEndian(d[8..], (uint)(Math.Min(maxTransferBytes, device.OptimalTransferLengthBytes) / blockSize));
        if (device.ThinProvisioned)
        {
            // MAXIMUM UNMAP LBA COUNT, MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT, OPTIMAL UNMAP GRANULARITY (one physical
            // block), and UGAVALID with an alignment of 0 (physical blocks start at LBA 0).
            BinaryPrimitives.WriteUInt32BigEndian(d[16..], device.MaxUnmapBlockCount);
            BinaryPrimitives.WriteUInt32BigEndian(d[20..], device.MaxUnmapDescriptorCount);
            BinaryPrimitives.WriteUInt32BigEndian(d[24..], (uint)perPhysicalBlock);
            d[28] = 0x80;
        }

        // MAXIMUM WRITE SAME LENGTH (page bytes 36-43).
        BinaryPrimitives.WriteUInt64BigEndian(d[32..], device.MaxWriteSameBlockCount);
        // MAXIMUM ATOMIC TRANSFER LENGTH, ATOMIC ALIGNMENT, ATOMIC TRANSFER LENGTH GRANULARITY (page bytes 44-55); no
        // atomic boundaries (bytes 56-63 stay 0).
        uint atomicMax = (uint)Math.Min(device.MaxAtomicTransferBlockCount, maxTransferBytes / blockSize);
        BinaryPrimitives.WriteUInt32BigEndian(d[40..], atomicMax);
        BinaryPrimitives.WriteUInt32BigEndian(d[44..], (uint)device.AtomicGranularityBlockCount);
        BinaryPrimitives.WriteUInt32BigEndian(d[48..], (uint)device.AtomicGranularityBlockCount);
        return 0x3C;
    }
}
