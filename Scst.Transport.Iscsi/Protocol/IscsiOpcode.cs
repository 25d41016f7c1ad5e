// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>
/// The six-bit opcode in byte 0 of every Basic Header Segment (RFC 7143 section 11.2.1.2).
/// Initiator opcodes are 0x00-0x1f, target opcodes 0x20-0x3f; 0x1c-0x1e and 0x3c-0x3e are vendor-specific,
/// every other unlisted value is reserved.
/// </summary>
internal enum IscsiOpcode : byte
{
    /// <summary>NOP-Out (initiator), RFC 7143 section 11.18.</summary>
    NopOut = 0x00,

    /// <summary>SCSI Command (initiator), RFC 7143 section 11.3.</summary>
    ScsiCommand = 0x01,

    /// <summary>SCSI Task Management Function Request (initiator), RFC 7143 section 11.5.</summary>
    TaskManagementRequest = 0x02,

    /// <summary>Login Request (initiator), RFC 7143 section 11.12.</summary>
    LoginRequest = 0x03,

    /// <summary>Text Request (initiator), RFC 7143 section 11.10.</summary>
    TextRequest = 0x04,

    /// <summary>SCSI Data-Out (initiator), RFC 7143 section 11.7.</summary>
    DataOut = 0x05,

    /// <summary>Logout Request (initiator), RFC 7143 section 11.14.</summary>
    LogoutRequest = 0x06,

    /// <summary>SNACK Request (initiator), RFC 7143 section 11.16.</summary>
    SnackRequest = 0x10,

    /// <summary>NOP-In (target), RFC 7143 section 11.19.</summary>
    NopIn = 0x20,

    /// <summary>SCSI Response (target), RFC 7143 section 11.4.</summary>
    ScsiResponse = 0x21,

    /// <summary>SCSI Task Management Function Response (target), RFC 7143 section 11.6.</summary>
    TaskManagementResponse = 0x22,

    /// <summary>Login Response (target), RFC 7143 section 11.13.</summary>
    LoginResponse = 0x23,

    /// <summary>Text Response (target), RFC 7143 section 11.11.</summary>
    TextResponse = 0x24,

    /// <summary>SCSI Data-In (target), RFC 7143 section 11.7.</summary>
    DataIn = 0x25,

    /// <summary>Logout Response (target), RFC 7143 section 11.15.</summary>
    LogoutResponse = 0x26,

    /// <summary>Ready To Transfer (target), RFC 7143 section 11.8.</summary>
    ReadyToTransfer = 0x31,

    /// <summary>Asynchronous Message (target), RFC 7143 section 11.9.</summary>
    AsyncMessage = 0x32,

    /// <summary>Reject (target), RFC 7143 section 11.17.</summary>
    Reject = 0x3f,
}

/// <summary>Classification helpers for <see cref="IscsiOpcode"/>.</summary>
internal static class IscsiOpcodeExtensions
{
    /// <summary>True for the opcodes an initiator may send (the ones a target's reader accepts).</summary>
    public static bool IsInitiatorOpcode(this IscsiOpcode opcode) =>
        opcode is IscsiOpcode.NopOut or IscsiOpcode.ScsiCommand or IscsiOpcode.TaskManagementRequest
            or IscsiOpcode.LoginRequest or IscsiOpcode.TextRequest or IscsiOpcode.DataOut
            or IscsiOpcode.LogoutRequest or IscsiOpcode.SnackRequest;

    /// <summary>True for the opcodes a target may send (the ones an initiator's reader accepts).</summary>
    public static bool IsTargetOpcode(this IscsiOpcode opcode) =>
        opcode is IscsiOpcode.NopIn or IscsiOpcode.ScsiResponse or IscsiOpcode.TaskManagementResponse
            or IscsiOpcode.LoginResponse or IscsiOpcode.TextResponse or IscsiOpcode.DataIn
            or IscsiOpcode.LogoutResponse or IscsiOpcode.ReadyToTransfer or IscsiOpcode.AsyncMessage
            or IscsiOpcode.Reject;

    /// <summary>True for the vendor-specific ranges 0x1c-0x1e and 0x3c-0x3e.</summary>
    public static bool IsVendorSpecific(this IscsiOpcode opcode) =>
        opcode is >= (IscsiOpcode)0x1c and <= (IscsiOpcode)0x1e or >= (IscsiOpcode)0x3c and <= (IscsiOpcode)0x3e;
}
