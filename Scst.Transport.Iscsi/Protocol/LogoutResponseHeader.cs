// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>Response field of a Logout Response (RFC 7143 section 11.15.1).</summary>
internal enum LogoutResponse : byte
{
    /// <summary>Connection or session closed successfully.</summary>
    Success = 0,

    /// <summary>CID not found.</summary>
    CidNotFound = 1,

    /// <summary>Connection recovery is not supported.</summary>
    RecoveryNotSupported = 2,

    /// <summary>Cleanup failed for various reasons.</summary>
    CleanupFailed = 3,
}

/// <summary>
/// Logout Response (opcode 0x26), RFC 7143 section 11.15.
/// <code>
///  Byte/      0       |       1       |       2       |       3       |
///      +---------------+---------------+---------------+---------------+
///     0|.|.| 0x26      |1| Reserved    | Response      | Reserved      |
///     4|TotalAHSLength | DataSegmentLength                             |
///     8| Reserved (8 bytes)                                            |
///    16| Initiator Task Tag                                            |
///    20| Reserved                                                      |
///    24| StatSN                                                        |
///    28| ExpCmdSN                                                      |
///    32| MaxCmdSN                                                      |
///    36| Reserved                                                      |
///    40| Time2Wait                     | Time2Retain                   |
///    44| Reserved                                                      |
///    48+---------------------------------------------------------------+
/// </code>
/// </summary>
internal readonly record struct LogoutResponseHeader
{
    private const int ResponseOffset = 2;
    private const int StatSnOffset = 24;
    private const int ExpCmdSnOffset = 28;
    private const int MaxCmdSnOffset = 32;
    private const int Time2WaitOffset = 40;
    private const int Time2RetainOffset = 42;

    /// <summary>Response.</summary>
    public LogoutResponse Response { get; init; }

    /// <summary>Initiator Task Tag echoed from the request.</summary>
    public uint InitiatorTaskTag { get; init; }

    /// <summary>StatSN.</summary>
    public uint StatSn { get; init; }

    /// <summary>ExpCmdSN.</summary>
    public uint ExpCmdSn { get; init; }

    /// <summary>MaxCmdSN.</summary>
    public uint MaxCmdSn { get; init; }

    /// <summary>Time2Wait in seconds.</summary>
    public ushort Time2Wait { get; init; }

    /// <summary>Time2Retain in seconds.</summary>
    public ushort Time2Retain { get; init; }

    /// <summary>Writes this header into the first 48 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        var bhs = Bhs.Begin(destination, IscsiOpcode.LogoutResponse, immediate: false, Bhs.FinalBit, dataSegmentLengthBytes: 0);
        bhs[ResponseOffset] = (byte)Response;
        Bhs.WriteUInt32(bhs, Bhs.InitiatorTaskTagOffset, InitiatorTaskTag);
        Bhs.WriteUInt32(bhs, StatSnOffset, StatSn);
        Bhs.WriteUInt32(bhs, ExpCmdSnOffset, ExpCmdSn);
        Bhs.WriteUInt32(bhs, MaxCmdSnOffset, MaxCmdSn);
        Bhs.WriteUInt16(bhs, Time2WaitOffset, Time2Wait);
        Bhs.WriteUInt16(bhs, Time2RetainOffset, Time2Retain);
    }

    /// <summary>Decodes a Logout Response BHS.</summary>
    public static LogoutResponseHeader Read(ReadOnlySpan<byte> bhs)
    {
        Bhs.AssertOpcode(bhs, IscsiOpcode.LogoutResponse);
        return new LogoutResponseHeader
        {
            Response = (LogoutResponse)bhs[ResponseOffset],
            InitiatorTaskTag = Bhs.ReadUInt32(bhs, Bhs.InitiatorTaskTagOffset),
            StatSn = Bhs.ReadUInt32(bhs, StatSnOffset),
            ExpCmdSn = Bhs.ReadUInt32(bhs, ExpCmdSnOffset),
            MaxCmdSn = Bhs.ReadUInt32(bhs, MaxCmdSnOffset),
            Time2Wait = Bhs.ReadUInt16(bhs, Time2WaitOffset),
            Time2Retain = Bhs.ReadUInt16(bhs, Time2RetainOffset),
        };
    }
}
