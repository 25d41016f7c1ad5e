// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Core.Spc.ExtendedCopy;

/// <summary>The LIST ID USAGE field of the EXTENDED COPY(LID1) parameter list header (SPC-4 section 6.4.3).</summary>
internal enum ListIdUsage : byte
{
    /// <summary>00b: the copy manager holds the results for RECEIVE COPY RESULTS.</summary>
    Hold = 0,

    /// <summary>01b: reserved.</summary>
    Reserved = 1,

    /// <summary>10b: the list identifier is valid, the results need not be held.</summary>
    Discard = 2,

    /// <summary>11b: the list identifier is not used (SCST requires it to be zero).</summary>
    None = 3,
}

/// <summary>The parameter list header as the copy manager uses it.</summary>
/// <param name="ListId">LIST IDENTIFIER.</param>
/// <param name="Usage">LIST ID USAGE.</param>
/// <param name="CscdListLength">CSCD DESCRIPTOR LIST LENGTH, a multiple of 32.</param>
/// <param name="SegmentListLength">SEGMENT DESCRIPTOR LIST LENGTH.</param>
internal readonly record struct CopyHeader(byte ListId, ListIdUsage Usage, int CscdListLength, int SegmentListLength)
{
    /// <summary>Whether the copy is known by its list identifier while it runs and after it ends.</summary>
    public bool IsTracked => Usage != ListIdUsage.None;
}

/// <summary>One block-to-block segment, resolved to devices and byte ranges.</summary>
/// <param name="Number">The segment's index in the segment descriptor list.</param>
/// <param name="DescriptorOffset">Where the segment descriptor starts in the parameter list.</param>
/// <param name="Source">The source logical unit.</param>
/// <param name="SourceOffset">The first source byte.</param>
/// <param name="Destination">The destination logical unit.</param>
/// <param name="DestinationOffset">The first destination byte.</param>
/// <param name="Length">The bytes to copy, a multiple of both block sizes.</param>
internal readonly record struct CopySegment(
    int Number, int DescriptorOffset, BlockDevice Source, long SourceOffset, BlockDevice Destination, long DestinationOffset, long Length);

/// <summary>
/// Reads the EXTENDED COPY(LID1) parameter list (SPC-4 section 6.4) into segments the copy manager can run, checking
/// everything before a byte moves.
/// </summary>
/// <remarks>
/// Parameter list header (16 bytes):
/// <code>
///  byte 0      LIST IDENTIFIER
///  byte 1      reserved (7-6), STR (5), LIST ID USAGE (4-3), PRIORITY (2-0)
///  bytes 2-3   CSCD DESCRIPTOR LIST LENGTH (n - 15)
///  bytes 8-11  SEGMENT DESCRIPTOR LIST LENGTH
///  bytes 12-15 INLINE DATA LENGTH
/// </code>
/// Identification descriptor CSCD descriptor (E4h, 32 bytes): byte 1 obsolete (7-5, SPC-3's LU ID TYPE and NUL),
/// PERIPHERAL DEVICE TYPE (4-0); bytes 2-3 RELATIVE INITIATOR PORT IDENTIFIER; bytes 4-27 a designation descriptor (CODE SET, ASSOCIATION and
/// DESIGNATOR TYPE, DESIGNATOR LENGTH at byte 7, at most 20 designator bytes); bytes 28-31 the block device type
/// parameters (PAD, DISK BLOCK LENGTH in bytes 29-31).
/// <para>
/// Block device to block device segment descriptor (02h, 28 bytes): byte 1 DC (1) and CAT (0); bytes 2-3 DESCRIPTOR
/// LENGTH (0018h); bytes 4-5 SOURCE and 6-7 DESTINATION CSCD DESCRIPTOR ID; bytes 10-11 BLOCK DEVICE NUMBER OF BLOCKS
/// (source blocks, or destination blocks with DC set); bytes 12-19 SOURCE and 20-27 DESTINATION BLOCK DEVICE LOGICAL
/// BLOCK ADDRESS.
/// </para>
/// Errors in the list's structure are ILLEGAL REQUEST; errors in what a segment asks for (a CSCD index that does not
/// exist, a CSCD that cannot be used, blocks beyond the end) are COPY ABORTED with the segment number in the
/// COMMAND-SPECIFIC INFORMATION field and a field pointer into the parameter list, as SCST reports them.
/// </remarks>
internal static class CopyParameterList
{
    public const int HeaderLength = 16;
    public const int CscdLength = 32;
    public const int SegmentLength = 28;

    private const int MaxDesignatorLength = 20;

    /// <summary>Checks the header; GOOD with the header's values, or the CHECK CONDITION to return.</summary>
    public static CommandOutcome ParseHeader(ReadOnlySpan<byte> list, out CopyHeader header)
    {
        header = default;
        if (list.Length < HeaderLength)
        {
            return CommandOutcome.CheckCondition(SenseCode.ParameterListLengthError);
        }

        var usage = (ListIdUsage)((list[1] >> 3) & 0x03);
        if (usage == ListIdUsage.Reserved)
        {
            return CommandOutcome.InvalidFieldInParameterList(1, 4);
        }

        if (usage == ListIdUsage.None && list[0] != 0)
        {
            return CommandOutcome.InvalidFieldInParameterList(0);
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(list[12..]) != 0)
        {
            return CommandOutcome.CheckCondition(SenseCode.InlineDataLengthExceeded);
        }

        int cscdLength = BinaryPrimitives.ReadUInt16BigEndian(list[2..]);
        uint segmentLength = BinaryPrimitives.ReadUInt32BigEndian(list[8..]);
        if (cscdLength == 0 && segmentLength != 0)
        {
            return CommandOutcome.InvalidFieldInParameterList(2);
        }

        long descriptors = cscdLength + (long)segmentLength;
        if (descriptors > CopyLimits.MaxDescriptorListLength || HeaderLength + descriptors > list.Length)
        {
            return CommandOutcome.CheckCondition(SenseCode.ParameterListLengthError);
        }

        if (HeaderLength + descriptors < list.Length)
        {
            // Bytes after the descriptor lists would be inline data, and the header says there is none.
            return CommandOutcome.CheckCondition(SenseCode.InlineDataLengthExceeded);
        }

        if (cscdLength % CscdLength != 0)
        {
            return CommandOutcome.InvalidFieldInParameterList(2);
        }

        if (cscdLength / CscdLength > CopyLimits.MaxCscdDescriptors)
        {
            return CommandOutcome.WithFieldPointer(SenseCode.TooManyTargetDescriptors, inCdb: false, 2);
        }

        header = new CopyHeader(list[0], usage, cscdLength, (int)segmentLength);
        return CommandOutcome.Good;
    }

    /// <summary>
    /// Resolves the CSCD descriptors against the logical units <paramref name="session"/> reaches and checks every
    /// segment descriptor. GOOD with the segments, or the CHECK CONDITION to return: ILLEGAL REQUEST for a malformed
    /// list, COPY ABORTED or DATA PROTECT for a segment that cannot be performed.
    /// </summary>
    public static CommandOutcome ParseDescriptors(ReadOnlySpan<byte> list, in CopyHeader header, ScsiSession session, out CopySegment[] segments)
    {
        segments = [];
        int cscdCount = header.CscdListLength / CscdLength;
        var cscds = new Cscd[cscdCount];
        for (int i = 0; i < cscdCount; i++)
        {
            CommandOutcome parsed = ParseCscd(list, HeaderLength + (i * CscdLength), session, out cscds[i]);
            if (!parsed.IsGood)
            {
                return parsed;
            }
        }

        int start = HeaderLength + header.CscdListLength;
        int end = start + header.SegmentListLength;
        int count = 0;
        for (int o = start; o < end; o += SegmentLength, count++)
        {
            if (count == CopyLimits.MaxSegmentDescriptors)
            {
                return CommandOutcome.WithFieldPointer(SenseCode.TooManySegmentDescriptors, inCdb: false, o);
            }

            if (list[o] != CopyLimits.BlockToBlockSegment)
            {
                return CommandOutcome.WithFieldPointer(SenseCode.UnsupportedSegmentDescriptorTypeCode, inCdb: false, o);
            }

            if (end - o < 4)
            {
                // The segment descriptor list ends inside a descriptor.
                return CommandOutcome.InvalidFieldInParameterList(8);
            }

            if (BinaryPrimitives.ReadUInt16BigEndian(list[(o + 2)..]) != SegmentLength - 4)
            {
                return CommandOutcome.InvalidFieldInParameterList(o + 2);
            }

            if (end - o < SegmentLength)
            {
                return CommandOutcome.InvalidFieldInParameterList(8);
            }
        }

        var resolved = new CopySegment[count];
        for (int i = 0; i < count; i++)
        {
            CommandOutcome checkedSegment = ParseSegment(list, start + (i * SegmentLength), i, cscds, session, out resolved[i]);
            if (!checkedSegment.IsGood)
            {
                return checkedSegment;
            }
        }

        segments = resolved;
        return CommandOutcome.Good;
    }

    /// <summary>COPY ABORTED with the segment number and a pointer to the faulty parameter list byte.</summary>
    public static CommandOutcome CopyAborted(SenseCode sense, int segment, int fieldPointer) =>
        CommandOutcome.WithCommandSpecificInformation(sense, (uint)(ushort)segment, fieldPointer);

    private static CommandOutcome ParseCscd(ReadOnlySpan<byte> list, int offset, ScsiSession session, out Cscd cscd)
    {
        cscd = default;
        ReadOnlySpan<byte> d = list.Slice(offset, CscdLength);
        if (d[0] != CopyLimits.IdentificationCscd)
        {
            return CommandOutcome.WithFieldPointer(SenseCode.UnsupportedTargetDescriptorTypeCode, inCdb: false, offset);
        }

        // Byte 1 bits 7-5 held LU ID TYPE and NUL in SPC-3; SPC-4, which INQUIRY claims, made them obsolete, so they
        // are ignored (libiscsi's ValidTgtDescr expects exactly that of an SPC-4 copy manager).
        if ((d[1] & 0x1F) != (byte)PeripheralDeviceType.DirectAccess)
        {
            return CommandOutcome.InvalidFieldInParameterList(offset + 1, 4);
        }

        int designatorLength = d[7];
        if (designatorLength > MaxDesignatorLength)
        {
            return CommandOutcome.InvalidFieldInParameterList(offset + 7);
        }

        LunMapping? mapping = Resolve(d.Slice(4, 4 + designatorLength), session);
        if (mapping?.Device is not BlockDevice device)
        {
            // Not a logical unit this I_T nexus reaches, or not a block device: reported when a segment uses it.
            return CommandOutcome.Good;
        }

        int blockLength = (d[29] << 16) | (d[30] << 8) | d[31];
        if (blockLength != device.BlockSize)
        {
            return CommandOutcome.InvalidFieldInParameterList(offset + 29);
        }

        cscd = new Cscd(device, IsWritable(device, session));
        return CommandOutcome.Good;
    }

    // A designator matches a logical unit's own designator (VPD page 83h, association 00b) when code set, association,
    // type, length and bytes are equal. A CSCD holds at most 20 designator bytes, so a longer designator (a T10 vendor ID
    // one) matches when the CSCD's 20 bytes are its prefix and no other logical unit shares that prefix.
    private static LunMapping? Resolve(ReadOnlySpan<byte> wanted, ScsiSession session)
    {
        Span<byte> own = stackalloc byte[Inquiry.MaxLogicalUnitDesignatorsLength];
        LunMapping? truncated = null;
        bool ambiguous = false;
        foreach (LunMapping mapping in session.Luns.Luns)
        {
            int length = Inquiry.LogicalUnitDesignators(own, mapping.Device);
            switch (Match(wanted, own[..length]))
            {
                case DesignatorMatch.Exact:
                    return mapping;
                case DesignatorMatch.Prefix when truncated is null || truncated.Device == mapping.Device:
                    truncated = mapping;
                    break;
                case DesignatorMatch.Prefix:
                    ambiguous = true;
                    break;
            }
        }

        return ambiguous ? null : truncated;
    }

    private static DesignatorMatch Match(ReadOnlySpan<byte> wanted, ReadOnlySpan<byte> designators)
    {
        int codeSet = wanted[0] & 0x0F;
        int associationAndType = wanted[1] & 0x3F;
        ReadOnlySpan<byte> value = wanted[4..];
        DesignatorMatch best = DesignatorMatch.None;
        for (int n = 0; n + 4 <= designators.Length;)
        {
            int length = designators[n + 3];
            ReadOnlySpan<byte> own = designators.Slice(n + 4, length);
            if ((designators[n] & 0x0F) == codeSet && (designators[n + 1] & 0x3F) == associationAndType)
            {
                if (own.SequenceEqual(value))
                {
                    return DesignatorMatch.Exact;
                }

                if (value.Length == MaxDesignatorLength && own.Length > value.Length && own.StartsWith(value))
                {
                    best = DesignatorMatch.Prefix;
                }
            }

            n += 4 + length;
        }

        return best;
    }

    // The copy manager writes through whichever of the session's LUNs of the device allows it; the device's own write
    // protection and the control mode page's SWP bit apply to all of them.
    private static bool IsWritable(BlockDevice device, ScsiSession session)
    {
        if (device.ReadOnly || device.ModePages.SoftwareWriteProtect)
        {
            return false;
        }

        foreach (LunMapping mapping in session.Luns.Luns)
        {
            if (mapping.Device == device && !mapping.IsWriteProtected)
            {
                return true;
            }
        }

        return false;
    }

    private static CommandOutcome ParseSegment(
        ReadOnlySpan<byte> list, int o, int number, ReadOnlySpan<Cscd> cscds, ScsiSession session, out CopySegment segment)
    {
        segment = default;
        CommandOutcome found = FindCscd(list, o + 4, number, cscds, out BlockDevice? source);
        if (!found.IsGood)
        {
            return found;
        }

        found = FindCscd(list, o + 6, number, cscds, out BlockDevice? destination);
        if (!found.IsGood)
        {
            return found;
        }

        bool destinationCount = (list[o + 1] & 0x02) != 0;
        int blocks = BinaryPrimitives.ReadUInt16BigEndian(list[(o + 10)..]);
        long length = (long)blocks * (destinationCount ? destination!.BlockSize : source!.BlockSize);
        if (length % source!.BlockSize != 0 || length % destination!.BlockSize != 0 || length > CopyLimits.MaxSegmentLength)
        {
            return CopyAborted(SenseCode.CopyAborted, number, o + 10);
        }

        ulong sourceLba = BinaryPrimitives.ReadUInt64BigEndian(list[(o + 12)..]);
        ulong destinationLba = BinaryPrimitives.ReadUInt64BigEndian(list[(o + 20)..]);
        if (!source.IsInRange(sourceLba, (ulong)(length / source.BlockSize)))
        {
            return CopyAborted(SenseCode.CopyAborted, number, o + 12);
        }

        if (!destination.IsInRange(destinationLba, (ulong)(length / destination.BlockSize)))
        {
            return CopyAborted(SenseCode.CopyAborted, number, o + 20);
        }

        // As for WRITE, the range comes first: blocks beyond the end are refused the same way on a read-only LU.
        if (!cscds[BinaryPrimitives.ReadUInt16BigEndian(list[(o + 6)..])].Writable)
        {
            return CommandOutcome.CheckCondition(SenseCode.WriteProtected);
        }

        CommandOutcome access = CopyManager.CheckReservationAccess(session, source, destination);
        if (!access.IsGood)
        {
            return access;
        }

        segment = new CopySegment(
            number, o, source, (long)sourceLba * source.BlockSize, destination, (long)destinationLba * destination.BlockSize, length);
        return CommandOutcome.Good;
    }

    // A CSCD DESCRIPTOR ID (bytes 4-5 or 6-7 of the segment descriptor) must name a CSCD descriptor of the list that
    // resolved to a block device with its medium present.
    private static CommandOutcome FindCscd(ReadOnlySpan<byte> list, int field, int number, ReadOnlySpan<Cscd> cscds, out BlockDevice? device)
    {
        device = null;
        int index = BinaryPrimitives.ReadUInt16BigEndian(list[field..]);
        if (index >= cscds.Length)
        {
            return CopyAborted(SenseCode.CopyAborted, number, field);
        }

        device = cscds[index].Device;
        if (device is null || !device.MediumPresent)
        {
            return CopyAborted(SenseCode.CopyTargetDeviceNotReachable, number, field);
        }

        return CommandOutcome.Good;
    }

    private enum DesignatorMatch : byte
    {
        None = 0,
        Prefix,
        Exact,
    }

    /// <summary>A resolved CSCD descriptor: the device it names (null when unknown) and whether it may be written.</summary>
    private readonly record struct Cscd(BlockDevice? Device, bool Writable);
}
