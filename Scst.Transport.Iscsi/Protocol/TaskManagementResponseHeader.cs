// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>Response field of a Task Management Function Response (RFC 7143 section 11.6.1).</summary>
internal enum TaskManagementResponse : byte
{
    /// <summary>Function complete.</summary>
    FunctionComplete = 0,

    /// <summary>Task does not exist.</summary>
    TaskDoesNotExist = 1,

    /// <summary>LUN does not exist.</summary>
    LunDoesNotExist = 2,

    /// <summary>Task still allegiant.</summary>
    TaskStillAllegiant = 3,

    /// <summary>Task allegiance reassignment not supported.</summary>
    TaskReassignmentNotSupported = 4,

    /// <summary>Task management function not supported.</summary>
    FunctionNotSupported = 5,

    /// <summary>Function authorization failed.</summary>
    AuthorizationFailed = 6,

    /// <summary>Function succeeded (RFC 7144: the queried task, task set or event exists).</summary>
    FunctionSucceeded = 7,

    /// <summary>Function rejected.</summary>
    FunctionRejected = 255,
}

/// <summary>
/// SCSI Task Management Function Response (opcode 0x22), RFC 7143 section 11.6.
/// <code>
///  Byte/      0       |       1       |       2       |       3       |
///      +---------------+---------------+---------------+---------------+
///     0|.|.| 0x22      |1| Reserved    | Response      | Reserved      |
///     4|TotalAHSLength | DataSegmentLength                             |
///     8| Reserved (8 bytes)                                            |
///    16| Initiator Task Tag                                            |
///    20| Reserved                                                      |
///    24| StatSN                                                        |
///    28| ExpCmdSN                                                      |
///    32| MaxCmdSN                                                      |
///    36| Reserved (12 bytes)                                           |
///    48+---------------------------------------------------------------+
/// </code>
/// </summary>
internal readonly record struct TaskManagementResponseHeader
{
    private const int ResponseOffset = 2;
    private const int AdditionalResponseInformationOffset = 8;
    private const int StatSnOffset = 24;
    private const int ExpCmdSnOffset = 28;
    private const int MaxCmdSnOffset = 32;

    /// <summary>Response.</summary>
    public TaskManagementResponse Response { get; init; }

    /// <summary>
    /// ADDITIONAL RESPONSE INFORMATION (RFC 7144, 3 bytes; for QUERY ASYNCHRONOUS EVENT: UADE DEPTH and SENSE KEY, ASC,
    /// ASCQ of the pending condition), big-endian in the low 24 bits.
    /// </summary>
    public uint AdditionalResponseInformation { get; init; }

    /// <summary>Initiator Task Tag of the request.</summary>
    public uint InitiatorTaskTag { get; init; }

    /// <summary>StatSN.</summary>
    public uint StatSn { get; init; }

    /// <summary>ExpCmdSN.</summary>
    public uint ExpCmdSn { get; init; }

    /// <summary>MaxCmdSN.</summary>
    public uint MaxCmdSn { get; init; }

    /// <summary>Writes this header into the first 48 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        var bhs = Bhs.Begin(destination, IscsiOpcode.TaskManagementResponse, immediate: false, Bhs.FinalBit, dataSegmentLengthBytes: 0);
        bhs[ResponseOffset] = (byte)Response;
        bhs[AdditionalResponseInformationOffset] = (byte)(AdditionalResponseInformation >> 16);
        bhs[AdditionalResponseInformationOffset + 1] = (byte)(AdditionalResponseInformation >> 8);
        bhs[AdditionalResponseInformationOffset + 2] = (byte)AdditionalResponseInformation;
        Bhs.WriteUInt32(bhs, Bhs.InitiatorTaskTagOffset, InitiatorTaskTag);
        Bhs.WriteUInt32(bhs, StatSnOffset, StatSn);
        Bhs.WriteUInt32(bhs, ExpCmdSnOffset, ExpCmdSn);
        Bhs.WriteUInt32(bhs, MaxCmdSnOffset, MaxCmdSn);
    }

    /// <summary>Decodes a Task Management Function Response BHS.</summary>
    public static TaskManagementResponseHeader Read(ReadOnlySpan<byte> bhs)
    {
        Bhs.AssertOpcode(bhs, IscsiOpcode.TaskManagementResponse);
        return new TaskManagementResponseHeader
        {
            Response = (TaskManagementResponse)bhs[ResponseOffset],
            AdditionalResponseInformation = (uint)((bhs[AdditionalResponseInformationOffset] << 16) | (bhs[AdditionalResponseInformationOffset + 1] << 8) | bhs[AdditionalResponseInformationOffset + 2]),
            InitiatorTaskTag = Bhs.ReadUInt32(bhs, Bhs.InitiatorTaskTagOffset),
            StatSn = Bhs.ReadUInt32(bhs, StatSnOffset),
            ExpCmdSn = Bhs.ReadUInt32(bhs, ExpCmdSnOffset),
            MaxCmdSn = Bhs.ReadUInt32(bhs, MaxCmdSnOffset),
        };
    }
}
