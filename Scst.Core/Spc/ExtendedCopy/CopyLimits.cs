// Licensed under the Apache License, Version 2.0.

namespace Scst.Core.Spc.ExtendedCopy;

/// <summary>
/// What the copy manager takes, as RECEIVE COPY OPERATING PARAMETERS and VPD page 8Fh report it. The values are
/// SCST's, except the segment descriptor count: SCST derives its count from two kernel pages of its own structures.
/// </summary>
internal static class CopyLimits
{
    /// <summary>MAXIMUM CSCD DESCRIPTOR COUNT.</summary>
    public const int MaxCscdDescriptors = 5;

    /// <summary>MAXIMUM SEGMENT DESCRIPTOR COUNT.</summary>
    public const int MaxSegmentDescriptors = 256;

    /// <summary>MAXIMUM DESCRIPTOR LIST LENGTH: the CSCD and segment descriptor lists together, in bytes.</summary>
    public const int MaxDescriptorListLength = 0xFFFF;

    /// <summary>MAXIMUM SEGMENT LENGTH: the bytes one segment descriptor may move (256 MiB).</summary>
    public const int MaxSegmentLength = 256 << 20;

    /// <summary>TOTAL CONCURRENT COPIES: no limit is enforced, the field's largest value is reported.</summary>
    public const int TotalConcurrentCopies = 0xFFFF;

    /// <summary>MAXIMUM CONCURRENT COPIES (copies with a tracked list identifier).</summary>
    public const int MaxConcurrentCopies = 0xFF;

    /// <summary>DATA SEGMENT GRANULARITY as a power of two (64 KiB).</summary>
    public const int DataSegmentGranularityLog2 = 16;

    /// <summary>Segment descriptor type code: block device to block device.</summary>
    public const byte BlockToBlockSegment = 0x02;

    /// <summary>CSCD descriptor type code: identification descriptor.</summary>
    public const byte IdentificationCscd = 0xE4;

    /// <summary>The implemented descriptor type codes, in ascending order.</summary>
    public static ReadOnlySpan<byte> ImplementedDescriptorTypes => [BlockToBlockSegment, IdentificationCscd];

    /// <summary>Bytes moved per read and write while copying (at most the pool's largest buffer).</summary>
    public const int ChunkBytes = 1 << 20;

    /// <summary>How long the results of a finished copy with a list identifier are kept (SCST: 5 s).</summary>
    public const long ListIdRetentionMilliseconds = 5000;
}
