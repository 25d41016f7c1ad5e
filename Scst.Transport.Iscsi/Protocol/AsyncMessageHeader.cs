// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>AsyncEvent field of an Asynchronous Message (RFC 7143 section 11.9.1).</summary>
internal enum AsyncEvent : byte
{
    /// <summary>0: a SCSI asynchronous event is reported in the sense data.</summary>
    ScsiAsyncEvent = 0,

    /// <summary>1: the target requests logout.</summary>
    LogoutRequested = 1,

    /// <summary>2: the target will drop the connection named in Parameter1.</summary>
    ConnectionWillBeDropped = 2,

    /// <summary>3: the target will drop all connections of the session.</summary>
    AllConnectionsWillBeDropped = 3,

    /// <summary>4: the target requests parameter negotiation.</summary>
    NegotiationRequested = 4,

    /// <summary>5: the target will terminate the session (RFC 7143).</summary>
    SessionWillTerminate = 5,

    /// <summary>255: vendor-specific event.</summary>
    VendorSpecific = 255,
}

/// <summary>
/// Asynchronous Message (opcode 0x32), RFC 7143 section 11.9.
/// <code>
///  Byte/      0       |       1       |       2       |       3       |
///      +---------------+---------------+---------------+---------------+
///     0|.|.| 0x32      |1| Reserved                                    |
///     4|TotalAHSLength | DataSegmentLength                             |
///     8| LUN or Reserved                                               |
///    12|                                                               |
///    16| 0xffffffff                                                    |
///    20| Reserved                                                      |
///    24| StatSN                                                        |
///    28| ExpCmdSN                                                      |
///    32| MaxCmdSN                                                      |
///    36| AsyncEvent    | AsyncVCode    | Parameter1 or Reserved        |
///    40| Parameter2 or Reserved        | Parameter3 or Reserved        |
///    44| Reserved                                                      |
///    48+---------------------------------------------------------------+
/// </code>
/// The data segment, when present, is SenseLength + sense data + iSCSI event data, as for SCSI Response.
/// </summary>
internal readonly record struct AsyncMessageHeader
{
    private const int StatSnOffset = 24;
    private const int ExpCmdSnOffset = 28;
    private const int MaxCmdSnOffset = 32;
    private const int AsyncEventOffset = 36;
    private const int AsyncVCodeOffset = 37;
    private const int Parameter1Offset = 38;
    private const int Parameter2Offset = 40;
    private const int Parameter3Offset = 42;

    /// <summary>Length of the data segment in bytes.</summary>
    public int DataSegmentLength { get; init; }

    /// <summary>LUN (event 0), else reserved.</summary>
    public ulong Lun { get; init; }

    /// <summary>StatSN.</summary>
    public uint StatSn { get; init; }

    /// <summary>ExpCmdSN.</summary>
    public uint ExpCmdSn { get; init; }

    /// <summary>MaxCmdSN.</summary>
    public uint MaxCmdSn { get; init; }

    /// <summary>AsyncEvent.</summary>
    public AsyncEvent Event { get; init; }

    /// <summary>AsyncVCode (vendor code).</summary>
    public byte VendorCode { get; init; }

    /// <summary>Parameter1 (event-specific: CID, or Time2Wait in seconds for event 1).</summary>
    public ushort Parameter1 { get; init; }

    /// <summary>Parameter2 (event-specific: Time2Wait).</summary>
    public ushort Parameter2 { get; init; }

    /// <summary>Parameter3 (event-specific: Time2Retain).</summary>
    public ushort Parameter3 { get; init; }

    /// <summary>Writes this header (ITT field set to 0xffffffff) into the first 48 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        var bhs = Bhs.Begin(destination, IscsiOpcode.AsyncMessage, immediate: false, Bhs.FinalBit, DataSegmentLength);
        Bhs.WriteUInt64(bhs, Bhs.LunOffset, Lun);
        Bhs.WriteUInt32(bhs, Bhs.InitiatorTaskTagOffset, Bhs.ReservedTag);
        Bhs.WriteUInt32(bhs, StatSnOffset, StatSn);
        Bhs.WriteUInt32(bhs, ExpCmdSnOffset, ExpCmdSn);
        Bhs.WriteUInt32(bhs, MaxCmdSnOffset, MaxCmdSn);
        bhs[AsyncEventOffset] = (byte)Event;
        bhs[AsyncVCodeOffset] = VendorCode;
        Bhs.WriteUInt16(bhs, Parameter1Offset, Parameter1);
        Bhs.WriteUInt16(bhs, Parameter2Offset, Parameter2);
        Bhs.WriteUInt16(bhs, Parameter3Offset, Parameter3);
    }

    /// <summary>Decodes an Asynchronous Message BHS.</summary>
    public static AsyncMessageHeader Read(ReadOnlySpan<byte> bhs)
    {
        Bhs.AssertOpcode(bhs, IscsiOpcode.AsyncMessage);
        return new AsyncMessageHeader
        {
            DataSegmentLength = Bhs.ReadDataSegmentLength(bhs),
            Lun = Bhs.ReadUInt64(bhs, Bhs.LunOffset),
            StatSn = Bhs.ReadUInt32(bhs, StatSnOffset),
            ExpCmdSn = Bhs.ReadUInt32(bhs, ExpCmdSnOffset),
            MaxCmdSn = Bhs.ReadUInt32(bhs, MaxCmdSnOffset),
            Event = (AsyncEvent)bhs[AsyncEventOffset],
            VendorCode = bhs[AsyncVCodeOffset],
            Parameter1 = Bhs.ReadUInt16(bhs, Parameter1Offset),
            Parameter2 = Bhs.ReadUInt16(bhs, Parameter2Offset),
            Parameter3 = Bhs.ReadUInt16(bhs, Parameter3Offset),
        };
    }
}
