// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.UserDevice.Client;

/// <summary>
/// A device served by this process, of any SCSI device type. A disk derives from <see cref="UserBlockDeviceBase"/> and
/// implements primitives; a device of another type (tape, media changer, processor...) derives from this class, registers
/// with a parse type other than STANDARD (<see cref="UserDeviceDescriptor.ParseType"/>), decodes the commands the
/// target leaves to it (<see cref="ParseAsync"/>) and executes them from their CDBs (<see cref="ExecuteCdbAsync"/>).
/// </summary>
/// <remarks>
/// The target answers what every device type shares (INQUIRY, REPORT LUNS, REQUEST SENSE, TEST UNIT READY, reservations,
/// task management, unit attentions). Buffers and CDBs handed to the device are views valid until the returned task
/// completes. Results are values: return a CHECK CONDITION status rather than throw (an exception becomes HARDWARE
/// ERROR).
/// </remarks>
public abstract class UserDeviceBase
{
    /// <summary>
    /// Optional; called only with a parse type other than STANDARD. Decodes a command the target leaves to the device
    /// (SCST's PARSE): with EXCEPTION one whose operation code the target does not support for the device, with CALL
    /// every command the target does not own. Says which way its data flows and how much, or refuses it. Defaults to
    /// the target's proposal: its own decoding when it knows the command, else INVALID COMMAND OPERATION CODE.
    /// </summary>
    /// <param name="request">The command, the target's proposal and what the initiator announced.</param>
    /// <returns>The decoding, or <see cref="UserParseResult.Refuse"/>.</returns>
    public virtual ValueTask<UserParseResult> ParseAsync(UserParseRequest request) =>
        new(request.Known
            ? UserParseResult.Accept(request.Direction, request.DataLength, request.WritesMedium)
            : UserParseResult.Refuse(UserDeviceStatus.CheckCondition(SenseKey.IllegalRequest, 0x20, 0x00)));

    /// <summary>
    /// Optional; required with a parse type other than STANDARD. Executes a command the device decoded, from its CDB
    /// (SCST's EXEC of a parsed command). Defaults to INVALID COMMAND OPERATION CODE.
    /// </summary>
    /// <param name="command">The command.</param>
    /// <param name="direction">The direction of its data, as the device decoded it.</param>
    /// <param name="buffer">Its data: for a write, what the initiator sent; for a read, where the response goes.</param>
    /// <returns>The status and, for a read, the length of the response (at most the buffer's).</returns>
    public virtual ValueTask<UserCdbResult> ExecuteCdbAsync(UserCommand command, DataDirection direction, Memory<byte> buffer) =>
        new(new UserCdbResult(UserDeviceStatus.CheckCondition(SenseKey.IllegalRequest, 0x20, 0x00), 0));

    /// <summary>Optional. An I_T nexus reaches the device through a LUN (ATTACH_SESS). Must not block.</summary>
    /// <param name="session">The nexus.</param>
    /// <returns>0 to accept; a negative errno is logged by the target.</returns>
    public virtual int OnAttach(UserSessionInfo session) => 0;

    /// <summary>Optional. The nexus no longer reaches the device through that LUN (DETACH_SESS).</summary>
    /// <param name="session">The nexus, as attached.</param>
    public virtual void OnDetach(UserSessionInfo session)
    {
    }

    /// <summary>
    /// Optional. A task management function touching the device arrived (TASK_MGMT_RECEIVED): finish the affected
    /// commands quickly. Must not block.
    /// </summary>
    /// <param name="function">The function.</param>
    public virtual void OnTaskManagementReceived(UserTaskManagement function)
    {
    }

    /// <summary>Optional. The commands the function aborted are gone (TASK_MGMT_DONE); do the reset actions. Must not block.</summary>
    /// <param name="function">The function.</param>
    /// <returns>The status reported back (0: done).</returns>
    public virtual int OnTaskManagementDone(UserTaskManagement function) => 0;

    /// <summary>Optional. A command whose EXEC carried a buffer was released (ON_FREE_CMD, when asked for).</summary>
    /// <param name="execHandle">The EXEC handle.</param>
    /// <param name="status">The command's final SCSI status.</param>
    /// <param name="aborted">Whether a task management function aborted it.</param>
    public virtual void OnFreeCommand(ulong execHandle, ScsiStatus status, bool aborted)
    {
    }
}
