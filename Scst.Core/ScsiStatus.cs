// Licensed under the Apache License, Version 2.0.

namespace Scst.Core;

/// <summary>SAM-5 status codes (SAM-5 section 5.3).</summary>
public enum ScsiStatus : byte
{
    /// <summary>The command completed without error.</summary>
    Good = 0x00,

    /// <summary>Sense data describes an error or exception.</summary>
    CheckCondition = 0x02,

    /// <summary>The requested operation is satisfied (PRE-FETCH).</summary>
    ConditionMet = 0x04,

    /// <summary>The logical unit is busy.</summary>
    Busy = 0x08,

    /// <summary>The command conflicts with a reservation.</summary>
    ReservationConflict = 0x18,

    /// <summary>The task set has no room for the command.</summary>
    TaskSetFull = 0x28,

    /// <summary>An ACA condition exists.</summary>
    AcaActive = 0x30,

    /// <summary>The command was aborted by another I_T nexus (TAS=1).</summary>
    TaskAborted = 0x40,
}

/// <summary>The direction of a command's data transfer, as seen from the initiator.</summary>
public enum DataDirection : byte
{
    /// <summary>No data transfer.</summary>
    None = 0,

    /// <summary>Data moves from the target to the initiator (Data-In).</summary>
    Read = 1,

    /// <summary>Data moves from the initiator to the target (Data-Out).</summary>
    Write = 2,

    /// <summary>Data moves in both directions.</summary>
    Bidirectional = 3,
}

/// <summary>SAM-5 task attributes.</summary>
public enum TaskAttribute : byte
{
    /// <summary>SIMPLE: may be reordered with other simple tasks.</summary>
    Simple = 0,

    /// <summary>ORDERED: runs after every older task and before every younger one.</summary>
    Ordered = 1,

    /// <summary>HEAD OF QUEUE: runs before every waiting task.</summary>
    HeadOfQueue = 2,

    /// <summary>ACA: allowed while an ACA condition is active.</summary>
    Aca = 3,
}

/// <summary>SCSI peripheral device types (SPC-4 table 141).</summary>
public enum PeripheralDeviceType : byte
{
    /// <summary>Direct access block device (disk).</summary>
    DirectAccess = 0x00,

    /// <summary>Sequential access device (tape).</summary>
    SequentialAccess = 0x01,

    /// <summary>Processor device.</summary>
    Processor = 0x03,

    /// <summary>CD/DVD device.</summary>
    CdDvd = 0x05,

    /// <summary>Optical memory device.</summary>
    OpticalMemory = 0x07,

    /// <summary>Media changer device.</summary>
    MediumChanger = 0x08,

    /// <summary>Storage array controller device (RAID).</summary>
    StorageArrayController = 0x0C,

    /// <summary>Enclosure services device.</summary>
    EnclosureServices = 0x0D,

    /// <summary>Unknown or no device type; with qualifier 011b, no logical unit.</summary>
    Unknown = 0x1F,
}
