// Licensed under the Apache License, Version 2.0.

namespace Scst.Core;

/// <summary>SPC-4 sense keys (SPC-4 table 54).</summary>
public enum SenseKey : byte
{
    /// <summary>No specific sense key information.</summary>
    NoSense = 0x0,

    /// <summary>The command completed with recovery action.</summary>
    RecoveredError = 0x1,

    /// <summary>The logical unit cannot be accessed.</summary>
    NotReady = 0x2,

    /// <summary>A non-recovered error caused by a flaw in the medium.</summary>
    MediumError = 0x3,

    /// <summary>A non-recoverable hardware failure (also: a device handler fault).</summary>
    HardwareError = 0x4,

    /// <summary>An illegal parameter in the CDB or parameter data.</summary>
    IllegalRequest = 0x5,

    /// <summary>A unit attention condition.</summary>
    UnitAttention = 0x6,

    /// <summary>A write to a protected block was attempted.</summary>
    DataProtect = 0x7,

    /// <summary>A write-once device encountered blank medium.</summary>
    BlankCheck = 0x8,

    /// <summary>Vendor specific.</summary>
    VendorSpecific = 0x9,

    /// <summary>A copy command was aborted.</summary>
    CopyAborted = 0xA,

    /// <summary>The target aborted the command.</summary>
    AbortedCommand = 0xB,

    /// <summary>Source and medium data did not match.</summary>
    Miscompare = 0xE,
}
