// Licensed under the Apache License, Version 2.0.

namespace Scst.UserDevice.Protocol;

/// <summary>The message types of the user-device protocol. Device → target below 0x80, target → device from 0x80.</summary>
internal enum MessageType : ushort
{
    /// <summary>Device → target: register a device (body: <see cref="RegisterRequest"/>).</summary>
    Register = 0x01,

    /// <summary>Device → target: the outcome of an EXEC (handle: the EXEC's).</summary>
    ExecReply = 0x02,

    /// <summary>Device → target: the answer to ATTACH_SESS (handle: the session's).</summary>
    AttachReply = 0x03,

    /// <summary>Device → target: the answer to TASK_MGMT_DONE (handle: the function's).</summary>
    TaskManagementDoneReply = 0x04,

    /// <summary>Device → target: the device has a new number of blocks.</summary>
    CapacityChanged = 0x05,

    /// <summary>Device → target: graceful unregistration; the target then closes the connection.</summary>
    Unregister = 0x06,

    /// <summary>Device → target: the device's decoding of a command (handle: the PARSE's); body as EXEC_REPLY.</summary>
    ParseReply = 0x07,

    /// <summary>Target → device: the registration result; carries the shared memory descriptor on success.</summary>
    RegisterReply = 0x81,

    /// <summary>Target → device: execute a primitive (handle: the EXEC's).</summary>
    Exec = 0x82,

    /// <summary>Target → device: an I_T nexus reaches the device through a LUN (handle: the session's).</summary>
    AttachSession = 0x83,

    /// <summary>Target → device: the I_T nexus no longer reaches the device through that LUN (handle: the session's).</summary>
    DetachSession = 0x84,

    /// <summary>Target → device: a task management function touching the device arrived (handle: the function's).</summary>
    TaskManagementReceived = 0x85,

    /// <summary>Target → device: the commands the function aborted are gone (handle: the function's); answer TM_DONE_REPLY.</summary>
    TaskManagementDone = 0x86,

    /// <summary>Target → device: a command whose EXEC carried a buffer was released (handle: the EXEC's).</summary>
    OnFreeCommand = 0x87,

    /// <summary>Target → device: decode a command (handle: the PARSE's; body: <see cref="ParseRequest"/>); answer PARSE_REPLY.</summary>
    Parse = 0x88,
}

/// <summary>Bits of a message header's flags.</summary>
[Flags]
internal enum MessageFlags : ushort
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary>One file descriptor travels with the message (SCM_RIGHTS, in the same send as its bytes).</summary>
    HasDescriptor = 0x0001,
}

/// <summary>The primitive an EXEC asks for.</summary>
internal enum ExecOperation : byte
{
    /// <summary>Read <c>length</c> bytes at <c>offset</c> into the buffer.</summary>
    Read = 1,

    /// <summary>Write the buffer's <c>length</c> bytes at <c>offset</c>.</summary>
    Write = 2,

    /// <summary>Make every acknowledged write stable.</summary>
    Flush = 3,

    /// <summary>Deallocate <c>length</c> bytes at <c>offset</c> (they then read as zeros).</summary>
    Unmap = 4,

    /// <summary>
    /// Report the provisioning state of the bytes at <c>offset</c>: the reply's response length is the number of blocks
    /// (1 to <c>length</c> / block size) that share the state of the first, and bit 0 of its flags says deallocated.
    /// </summary>
    GetProvisioning = 5,

    /// <summary>
    /// Execute the command whose CDB the EXEC carries, as the device decoded it (PARSE): <c>length</c> bytes of data in
    /// the buffer, flowing as flags bits 1-2 say (1 to the initiator, 2 from it). The reply's response length is the
    /// number of bytes of a read's response (at most <c>length</c>).
    /// </summary>
    ExecuteCdb = 6,

    /// <summary>
    /// Copy <c>length</c> bytes within the device from the byte offset in the buffer-offset field to <c>offset</c>
    /// (EXTENDED COPY, ext_copy_remap); no buffer. A GOOD reply with flags bit 1 declines: the target copies itself.
    /// </summary>
    CopyWithin = 7,

    /// <summary>Not an EXEC: a PARSE as the client's dispatch carries it.</summary>
    Parse = 0x40,
}
