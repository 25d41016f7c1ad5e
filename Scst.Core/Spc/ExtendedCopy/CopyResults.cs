// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Core.Spc.ExtendedCopy;

/// <summary>The parameter data of RECEIVE COPY RESULTS (SPC-4 sections 6.18.2 to 6.18.5), LID1 service actions.</summary>
internal static class CopyResults
{
    /// <summary>The bytes of FAILED SEGMENT DETAILS before the sense data.</summary>
    public const int FailedSegmentDetailsHeaderLength = 60;

    private const int OperatingParametersLength = 44 + 2;
    private const int CopyStatusLength = 12;

    // COPY MANAGER STATUS values.
    private const byte InProgress = 0x00;
    private const byte CompletedGood = 0x01;
    private const byte CompletedWithErrors = 0x02;

    /// <summary>
    /// OPERATING PARAMETERS (service action 03h):
    /// <code>
    ///  bytes 0-3   AVAILABLE DATA (n - 3)
    ///  byte 4      SNLID (0): EXTENDED COPY without a list identifier (LIST ID USAGE 11b) is supported
    ///  bytes 8-9   MAXIMUM CSCD DESCRIPTOR COUNT
    ///  bytes 10-11 MAXIMUM SEGMENT DESCRIPTOR COUNT
    ///  bytes 12-15 MAXIMUM DESCRIPTOR LIST LENGTH
    ///  bytes 16-19 MAXIMUM SEGMENT LENGTH
    ///  bytes 20-23 MAXIMUM INLINE DATA LENGTH (0), 24-27 HELD DATA LIMIT (0), 28-31 MAXIMUM STREAM DEVICE TRANSFER SIZE (0)
    ///  bytes 34-35 TOTAL CONCURRENT COPIES
    ///  byte 36     MAXIMUM CONCURRENT COPIES
    ///  byte 37     DATA SEGMENT GRANULARITY (log2), 38 INLINE DATA GRANULARITY, 39 HELD DATA GRANULARITY
    ///  byte 43     IMPLEMENTED DESCRIPTOR LIST LENGTH, then the descriptor type codes
    /// </code>
    /// </summary>
    public static int OperatingParameters(Span<byte> d)
    {
        BinaryPrimitives.WriteUInt32BigEndian(d, OperatingParametersLength - 4);
        d[4] = 0x01;
        BinaryPrimitives.WriteUInt16BigEndian(d[8..], CopyLimits.MaxCscdDescriptors);
        BinaryPrimitives.WriteUInt16BigEndian(d[10..], CopyLimits.MaxSegmentDescriptors);
        BinaryPrimitives.WriteUInt32BigEndian(d[12..], CopyLimits.MaxDescriptorListLength);
        BinaryPrimitives.WriteUInt32BigEndian(d[16..], CopyLimits.MaxSegmentLength);
        BinaryPrimitives.WriteUInt16BigEndian(d[34..], CopyLimits.TotalConcurrentCopies);
        d[36] = CopyLimits.MaxConcurrentCopies;
        d[37] = CopyLimits.DataSegmentGranularityLog2;
        ReadOnlySpan<byte> codes = CopyLimits.ImplementedDescriptorTypes;
        d[43] = (byte)codes.Length;
        codes.CopyTo(d[44..]);
        return 44 + codes.Length;
    }

    /// <summary>
    /// COPY STATUS (service action 00h):
    /// <code>
    ///  bytes 0-3   AVAILABLE DATA (8)
    ///  byte 4      HDD (7), COPY MANAGER STATUS (6-0): 00h in progress, 01h completed, 02h completed with an error
    ///  bytes 5-6   SEGMENTS PROCESSED
    ///  byte 7      TRANSFER COUNT UNITS: 00h bytes, 01h KiB, 02h MiB... (the smallest unit the count fits in)
    ///  bytes 8-11  TRANSFER COUNT
    /// </code>
    /// </summary>
    public static int CopyStatus(Span<byte> d, CopyListState state)
    {
        BinaryPrimitives.WriteUInt32BigEndian(d, CopyStatusLength - 4);
        bool done = state.IsDone;
        d[4] = !done ? InProgress : state.Outcome.IsGood ? CompletedGood : CompletedWithErrors;
        BinaryPrimitives.WriteUInt16BigEndian(d[5..], (ushort)state.SegmentsProcessed);
        ulong count = (ulong)state.BytesTransferred;
        byte units = 0;
        while (count > uint.MaxValue)
        {
            count >>= 10;
            units++;
        }

        d[7] = units;
        BinaryPrimitives.WriteUInt32BigEndian(d[8..], (uint)count);
        return CopyStatusLength;
    }

    /// <summary>
    /// FAILED SEGMENT DETAILS (service action 04h) of a finished copy:
    /// <code>
    ///  bytes 0-3   AVAILABLE DATA (n - 3)
    ///  byte 56     EXTENDED COPY COMMAND STATUS
    ///  bytes 58-59 SENSE DATA LENGTH
    ///  bytes 60-   SENSE DATA (none for a copy that completed)
    /// </code>
    /// </summary>
    public static int FailedSegmentDetails(Span<byte> d, CopyListState state, bool descriptorSense)
    {
        CommandOutcome outcome = state.Outcome;
        int senseLength = outcome.Status == ScsiStatus.CheckCondition
            ? SenseData.Write(d[FailedSegmentDetailsHeaderLength..], outcome, descriptorSense)
            : 0;
        int length = FailedSegmentDetailsHeaderLength + senseLength;
        BinaryPrimitives.WriteUInt32BigEndian(d, (uint)(length - 4));
        d[56] = (byte)outcome.Status;
        BinaryPrimitives.WriteUInt16BigEndian(d[58..], (ushort)senseLength);
        return length;
    }
}
