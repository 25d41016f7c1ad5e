// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.Transport.Iscsi;

/// <summary>
/// The iSCSI side of one SCSI command: its Initiator Task Tag and the state of its write data (immediate,
/// unsolicited and R2T bursts). Pooled per connection and bound to the core's command through
/// <see cref="ScsiCommand.TransportState"/>.
/// </summary>
internal sealed class IscsiTask
{
    public const uint ReservedTag = 0xFFFF_FFFF;

    public ScsiCommand? Command;

    /// <summary>The connection the task is allegiant to: its R2Ts, Data-In and status go there (RFC 7143 section 5.1).</summary>
    public IscsiConnection? Connection;

    public uint InitiatorTaskTag;
    public ulong Lun;

    /// <summary>Bytes that land in the command's buffer (the smaller of the CDB's length and EDTL).</summary>
    public int WriteLength;

    /// <summary>Whether the unsolicited sequence is over (its final Data-Out arrived, or none was expected).</summary>
    public bool UnsolicitedDone;

    /// <summary>Next offset an unsolicited Data-Out must carry, and its expected DataSN.</summary>
    public int UnsolicitedNextOffset;
    public uint UnsolicitedDataSn;

    /// <summary>Next offset to ask for with an R2T.</summary>
    public int R2tNextOffset;
    public uint R2tSn;

    /// <summary>The outstanding R2T (MaxOutstandingR2T is 1 for now): its tag, range, next offset, DataSN and R2TSN.</summary>
    public uint BurstTag;
    public int BurstStart;
    public uint BurstR2tSn;
    public int BurstEnd;
    public int BurstNextOffset;
    public uint BurstDataSn;
    public bool BurstOutstanding;

    /// <summary>The core asked for the data (RequestWriteData ran).</summary>
    public bool DataRequested;

    /// <summary>A sequence error (DataSN, offset) was seen: the command ends with a CHECK CONDITION.</summary>
    public bool Failed;

    /// <summary>
    /// Some of the command's data failed its data digest (RFC 7143 section 7.8): it was discarded, and once the rest has
    /// arrived the command ends with ABORTED COMMAND, PROTOCOL SERVICE CRC ERROR. Implies <see cref="Failed"/>.
    /// </summary>
    public bool DigestFailed;

    /// <summary>1 once the core was told the data arrived (or not); guards against telling it twice.</summary>
    public int DataCompleted;

    /// <summary>
    /// ErrorRecoveryLevel 1 and up: ranges of the write data that were lost (a Data-Out that never came, or one whose
    /// data digest failed), each asked for again with a recovery R2T (RFC 7143 section 7.2).
    /// </summary>
    public List<(int Offset, int Length)>? Holes;

    /// <summary>Bytes of immediate data that failed their digest at ErrorRecoveryLevel 1 and up (a hole once the buffer exists).</summary>
    public int ImmediateLost;

    /// <summary>When the last Data-Out for the task arrived or its last R2T went out (TimeProvider timestamp).</summary>
    public long LastDataActivity;

    /// <summary>
    /// ErrorRecoveryLevel 1 and up: the response was sent and is kept (the command is not released) until the
    /// initiator acknowledges its StatSN, so that a SNACK or a retried command can have it again.
    /// </summary>
    public bool ResponseSent;

    /// <summary>ErrorRecoveryLevel 2: the command completed while its connection was gone; the response waits for TASK REASSIGN.</summary>
    public bool ResponsePending;

    /// <summary>StatSN of the sent response, and how many Data-In PDUs went before it.</summary>
    public uint StatSn;
    public uint DataInPdus;

    /// <summary>ErrorRecoveryLevel 1 and up: the response, kept (copied) while <see cref="ResponseSent"/> or <see cref="ResponsePending"/>.</summary>
    public KeptResponse? Kept;

    /// <summary>ErrorRecoveryLevel 2: its connection is gone and the task waits for TASK REASSIGN (set once per loss).</summary>
    public bool Held;

    /// <summary>Its connection left without recovery: whatever the task still answers is dropped.</summary>
    public bool Abandoned;

    public void Reset()
    {
        Command = null;
        Connection = null;
        InitiatorTaskTag = ReservedTag;
        Lun = 0;
        WriteLength = 0;
        UnsolicitedDone = true;
        UnsolicitedNextOffset = 0;
        UnsolicitedDataSn = 0;
        R2tNextOffset = 0;
        R2tSn = 0;
        BurstTag = 0;
        BurstStart = 0;
        BurstR2tSn = 0;
        BurstEnd = 0;
        BurstNextOffset = 0;
        BurstDataSn = 0;
        BurstOutstanding = false;
        DataRequested = false;
        Failed = false;
        DigestFailed = false;
        DataCompleted = 0;
        Holes = null;
        ImmediateLost = 0;
        LastDataActivity = 0;
        ResponseSent = false;
        ResponsePending = false;
        StatSn = 0;
        DataInPdus = 0;
        Kept?.Free();
        Kept = null;
        Held = false;
        Abandoned = false;
    }

    /// <summary>Records a lost range of write data, clipped to the command's buffer.</summary>
    public void AddHole(int offset, int length)
    {
        int end = Math.Min(offset + length, WriteLength);
        if (end > offset)
        {
            (Holes ??= []).Add((offset, end - offset));
        }
    }
}
