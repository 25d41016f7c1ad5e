// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Core.Spc.ExtendedCopy;

/// <summary>
/// VPD page 8Fh, THIRD-PARTY COPY (SPC-4 section 7.8.17): the third-party copy descriptors SPC-4 requires of a copy
/// manager that supports EXTENDED COPY(LID1), with the values RECEIVE COPY OPERATING PARAMETERS reports.
/// </summary>
/// <remarks>
/// Each descriptor is THIRD-PARTY COPY DESCRIPTOR TYPE (2 bytes), THIRD-PARTY COPY DESCRIPTOR LENGTH (2 bytes, the
/// bytes that follow) and its parameters, padded to a multiple of 4 bytes:
/// <code>
///  0001h Supported Commands      COMMANDS SUPPORTED LIST LENGTH, then per operation code: the code, SUPPORTED
///                                SERVICE ACTIONS LIST LENGTH, the service actions
///  0004h Parameter Data          bytes 8-9 MAXIMUM CSCD DESCRIPTOR COUNT, 10-11 MAXIMUM SEGMENT DESCRIPTOR COUNT,
///                                12-15 MAXIMUM DESCRIPTOR LIST LENGTH, 16-19 MAXIMUM INLINE DATA LENGTH
///  0008h Supported Descriptors   SUPPORTED DESCRIPTOR LIST LENGTH, then the descriptor type codes
///  000Ch Supported CSCD IDs      SUPPORTED CSCD DESCRIPTOR IDS LIST LENGTH (2 bytes), then the IDs above 07FFh (none)
///  8001h General Copy Operations bytes 4-7 TOTAL CONCURRENT COPIES, 8-11 MAXIMUM IDENTIFIED CONCURRENT COPIES,
///                                12-15 MAXIMUM SEGMENT LENGTH, 16 DATA SEGMENT GRANULARITY, 17 INLINE DATA GRANULARITY
/// </code>
/// </remarks>
internal static class ThirdPartyCopyPage
{
    private const ushort SupportedCommands = 0x0001;
    private const ushort ParameterData = 0x0004;
    private const ushort SupportedDescriptors = 0x0008;
    private const ushort SupportedCscdIds = 0x000C;
    private const ushort GeneralCopyOperations = 0x8001;

    // EXTENDED COPY: LID1; RECEIVE COPY RESULTS: COPY STATUS, OPERATING PARAMETERS, FAILED SEGMENT DETAILS.
    private static ReadOnlySpan<byte> Commands => [0x83, 1, 0x00, 0x84, 3, 0x00, 0x03, 0x04];

    /// <summary>Writes the page's descriptors (the bytes after the 4-byte page header); returns their length.</summary>
    public static int Write(Span<byte> d)
    {
        int n = 0;

        ReadOnlySpan<byte> commands = Commands;
        Span<byte> body = Descriptor(d, ref n, SupportedCommands, 1 + commands.Length);
        body[0] = (byte)commands.Length;
        commands.CopyTo(body[1..]);

        body = Descriptor(d, ref n, ParameterData, 0x1C);
        BinaryPrimitives.WriteUInt16BigEndian(body[4..], CopyLimits.MaxCscdDescriptors);
        BinaryPrimitives.WriteUInt16BigEndian(body[6..], CopyLimits.MaxSegmentDescriptors);
        BinaryPrimitives.WriteUInt32BigEndian(body[8..], CopyLimits.MaxDescriptorListLength);

        ReadOnlySpan<byte> codes = CopyLimits.ImplementedDescriptorTypes;
        body = Descriptor(d, ref n, SupportedDescriptors, 1 + codes.Length);
        body[0] = (byte)codes.Length;
        codes.CopyTo(body[1..]);

        Descriptor(d, ref n, SupportedCscdIds, 2);

        body = Descriptor(d, ref n, GeneralCopyOperations, 0x1C);
        BinaryPrimitives.WriteUInt32BigEndian(body, CopyLimits.TotalConcurrentCopies);
        BinaryPrimitives.WriteUInt32BigEndian(body[4..], CopyLimits.MaxConcurrentCopies);
        BinaryPrimitives.WriteUInt32BigEndian(body[8..], CopyLimits.MaxSegmentLength);
        body[12] = CopyLimits.DataSegmentGranularityLog2;
        return n;
    }

    // Appends a descriptor header and returns its zeroed body, padded so that the descriptor is a multiple of 4 bytes.
    private static Span<byte> Descriptor(Span<byte> d, ref int n, ushort type, int bodyLength)
    {
        int padded = (bodyLength + 3) & ~3;
        BinaryPrimitives.WriteUInt16BigEndian(d[n..], type);
        BinaryPrimitives.WriteUInt16BigEndian(d[(n + 2)..], (ushort)padded);
        Span<byte> body = d.Slice(n + 4, padded);
        body.Clear();
        n += 4 + padded;
        return body;
    }
}
