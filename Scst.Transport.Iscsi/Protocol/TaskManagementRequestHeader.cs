// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>Function field of a Task Management Function Request (RFC 7143 section 11.5.1).</summary>
internal enum TaskManagementFunction : byte
{
    /// <summary>ABORT TASK.</summary>
    AbortTask = 1,

    /// <summary>ABORT TASK SET.</summary>
    AbortTaskSet = 2,

    /// <summary>CLEAR ACA.</summary>
    ClearAca = 3,

    /// <summary>CLEAR TASK SET.</summary>
    ClearTaskSet = 4,

    /// <summary>LOGICAL UNIT RESET.</summary>
    LogicalUnitReset = 5,

    /// <summary>TARGET WARM RESET.</summary>
    TargetWarmReset = 6,

    /// <summary>TARGET COLD RESET.</summary>
    TargetColdReset = 7,

    /// <summary>TASK REASSIGN.</summary>
    TaskReassign = 8,

    /// <summary>QUERY TASK (RFC 7144).</summary>
    QueryTask = 9,

    /// <summary>QUERY TASK SET (RFC 7144).</summary>
    QueryTaskSet = 10,

    /// <summary>I_T NEXUS RESET (RFC 7144).</summary>
    ItNexusReset = 11,

    /// <summary>QUERY ASYNCHRONOUS EVENT (RFC 7144).</summary>
    QueryAsynchronousEvent = 12,
}

/// <summary>
/// SCSI Task Management Function Request (opcode 0x02), RFC 7143 section 11.5.
/// <code>
///  Byte/      0       |       1       |       2       |       3       |
///      +---------------+---------------+---------------+---------------+
///     0|.|I| 0x02      |1| Function    | Reserved                      |
///     4|TotalAHSLength | DataSegmentLength                             |
///     8| LUN or Reserved                                               |
///    12|                                                               |
///    16| Initiator Task Tag                                            |
///    20| Referenced Task Tag or 0xffffffff                             |
///    24| CmdSN                                                         |
///    28| ExpStatSN                                                     |
///    32| RefCmdSN or Reserved                                          |
///    36| ExpDataSN or Reserved                                         |
///    40| Reserved (8 bytes)                                            |
///    48+---------------------------------------------------------------+
/// </code>
/// </summary>
internal readonly record struct TaskManagementRequestHeader
{
    private const byte FunctionMask = 0x7f;
    private const int ReferencedTaskTagOffset = 20;
    private const int CmdSnOffset = 24;
    private const int ExpStatSnOffset = 28;
    private const int RefCmdSnOffset = 32;
    private const int ExpDataSnOffset = 36;

    /// <summary>Immediate delivery (I bit).</summary>
    public bool Immediate { get; init; }

    /// <summary>Function.</summary>
    public TaskManagementFunction Function { get; init; }

    /// <summary>LUN field.</summary>
    public ulong Lun { get; init; }

    /// <summary>Initiator Task Tag of this request.</summary>
    public uint InitiatorTaskTag { get; init; }

    /// <summary>Tag of the task to abort or reassign, else 0xffffffff.</summary>
    public uint ReferencedTaskTag { get; init; }

    /// <summary>CmdSN.</summary>
    public uint CmdSn { get; init; }

    /// <summary>ExpStatSN.</summary>
    public uint ExpStatSn { get; init; }

    /// <summary>CmdSN of the referenced task (ABORT TASK).</summary>
    public uint RefCmdSn { get; init; }

    /// <summary>ExpDataSN (TASK REASSIGN).</summary>
    public uint ExpDataSn { get; init; }

    /// <summary>Writes this header into the first 48 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        var bhs = Bhs.Begin(destination, IscsiOpcode.TaskManagementRequest, Immediate,
            (byte)(Bhs.FinalBit | ((byte)Function & FunctionMask)), dataSegmentLengthBytes: 0);
        Bhs.WriteUInt64(bhs, Bhs.LunOffset, Lun);
        Bhs.WriteUInt32(bhs, Bhs.InitiatorTaskTagOffset, InitiatorTaskTag);
        Bhs.WriteUInt32(bhs, ReferencedTaskTagOffset, ReferencedTaskTag);
        Bhs.WriteUInt32(bhs, CmdSnOffset, CmdSn);
        Bhs.WriteUInt32(bhs, ExpStatSnOffset, ExpStatSn);
        Bhs.WriteUInt32(bhs, RefCmdSnOffset, RefCmdSn);
        Bhs.WriteUInt32(bhs, ExpDataSnOffset, ExpDataSn);
    }

    /// <summary>Decodes a Task Management Function Request BHS.</summary>
    public static TaskManagementRequestHeader Read(ReadOnlySpan<byte> bhs)
    {
        Bhs.AssertOpcode(bhs, IscsiOpcode.TaskManagementRequest);
        return new TaskManagementRequestHeader
        {
            Immediate = (bhs[Bhs.OpcodeOffset] & Bhs.ImmediateBit) != 0,
            Function = (TaskManagementFunction)(bhs[Bhs.FlagsOffset] & FunctionMask),
            Lun = Bhs.ReadUInt64(bhs, Bhs.LunOffset),
            InitiatorTaskTag = Bhs.ReadUInt32(bhs, Bhs.InitiatorTaskTagOffset),
            ReferencedTaskTag = Bhs.ReadUInt32(bhs, ReferencedTaskTagOffset),
            CmdSn = Bhs.ReadUInt32(bhs, CmdSnOffset),
            ExpStatSn = Bhs.ReadUInt32(bhs, ExpStatSnOffset),
            RefCmdSn = Bhs.ReadUInt32(bhs, RefCmdSnOffset),
            ExpDataSn = Bhs.ReadUInt32(bhs, ExpDataSnOffset),
        };
    }
}
