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
    public uint InitiatorTaskTag;
    public ulong Lun;

    /// <summary>Bytes that land in the command's buffer (the smaller of the CDB's length and EDTL).</summary>
    public int WriteLength;

    /// <summary>End offset of the unsolicited data (immediate data plus unsolicited Data-Out).</summary>
    public int UnsolicitedEnd;

    /// <summary>Whether the unsolicited sequence is over (its final Data-Out arrived, or none was expected).</summary>
    public bool UnsolicitedDone;

    /// <summary>Next offset an unsolicited Data-Out must carry, and its expected DataSN.</summary>
    public int UnsolicitedNextOffset;
    public uint UnsolicitedDataSn;

    /// <summary>Next offset to ask for with an R2T.</summary>
    public int R2tNextOffset;
    public uint R2tSn;

    /// <summary>The outstanding R2T (MaxOutstandingR2T is 1 for now): its tag, range, next offset and DataSN.</summary>
    public uint BurstTag;
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

    public void Reset()
    {
        Command = null;
        InitiatorTaskTag = ReservedTag;
        Lun = 0;
        WriteLength = 0;
        UnsolicitedEnd = 0;
        UnsolicitedDone = true;
        UnsolicitedNextOffset = 0;
        UnsolicitedDataSn = 0;
        R2tNextOffset = 0;
        R2tSn = 0;
        BurstTag = 0;
        BurstEnd = 0;
        BurstNextOffset = 0;
        BurstDataSn = 0;
        BurstOutstanding = false;
        DataRequested = false;
        Failed = false;
        DigestFailed = false;
        DataCompleted = 0;
    }
}
