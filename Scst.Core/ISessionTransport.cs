// Licensed under the Apache License, Version 2.0.

namespace Scst.Core;

/// <summary>
/// The part of a target driver that serves one session: the core calls it to move a command's data and to deliver
/// its response. One instance is given to <see cref="ScsiTarget.OpenSession"/> and used for every command of that
/// session. The contract holds for a byte stream (iSCSI), frame exchanges (FC, FCoE) and RDMA (SRP): the core never
/// assumes how data moves.
/// </summary>
/// <remarks>
/// <para>Buffer ownership: a command's data buffer belongs to the core from <see cref="ScsiSession.CreateCommand"/>
/// until <see cref="ScsiCommand.Release"/>. The driver may read <see cref="ScsiCommand.ResponseData"/> and write
/// <see cref="ScsiCommand.WriteBuffer"/> in between, and must not keep references to either after releasing.</para>
/// <para>Threads: callbacks arrive on whatever thread advanced the command: the driver's receive loop when the command
/// completes synchronously (a cache hit, nullio), an I/O completion thread otherwise. None of them may block for
/// long; none is called while the core holds a lock.</para>
/// </remarks>
public interface ISessionTransport
{
    /// <summary>
    /// Required. The command needs its write data: fill <see cref="ScsiCommand.WriteBuffer"/> (with data already received
    /// as immediate or unsolicited data, and by asking the initiator for the rest: R2T, XFER_RDY, RDMA READ), then call
    /// <see cref="ScsiCommand.OnWriteDataReceived"/> exactly once, from any thread. Must not block.
    /// </summary>
    /// <param name="command">The command; owned by the core.</param>
    void RequestWriteData(ScsiCommand command);

    /// <summary>
    /// Required. The command has finished: send <see cref="ScsiCommand.ResponseData"/> (for reads), then
    /// <see cref="ScsiCommand.Status"/>, <see cref="ScsiCommand.SenseData"/> and the residual. When the fabric no longer
    /// needs the command's buffers, call <see cref="ScsiCommand.Release"/> exactly once. Must not block for long.
    /// </summary>
    /// <param name="command">The command; owned by the core until released.</param>
    void SendResponse(ScsiCommand command);

    /// <summary>
    /// Optional. A task management function aborted the command and it will get no response. The default releases the
    /// command at once; a driver that keeps per-command state frees it here and then calls
    /// <see cref="ScsiCommand.Release"/>.
    /// </summary>
    /// <param name="command">The aborted command.</param>
    void OnCommandAborted(ScsiCommand command) => command.Release();

    /// <summary>
    /// Optional. A task management function aborted a command whose write data the driver is still waiting for. The
    /// driver stops waiting and calls <see cref="ScsiCommand.OnWriteDataReceived"/> with <c>false</c>, now or when its
    /// pending transfers have drained. The default does nothing (the data arrives or the session ends).
    /// The call races with the command's own progress: by the time it arrives the data may have come, and the command
    /// may even have been released and reused. A driver acts only when, under its own lock, the command still waits for
    /// this data and <see cref="ScsiCommand.IsAborted"/> is set.
    /// </summary>
    /// <param name="command">The aborted command.</param>
    void OnAbortWhileReceiving(ScsiCommand command)
    {
    }

    /// <summary>
    /// Optional. The fabric's own files of this session in the management tree, shown in the session's directory
    /// (<c>targets/&lt;driver&gt;/&lt;target&gt;/sessions/&lt;initiator&gt;/</c>) after the core's (<c>initiator_name</c>,
    /// <c>commands</c>...), whose names they must not repeat: iSCSI's negotiated keys, <c>sid</c>, <c>reinstating</c>.
    /// Called on each read or listing of the tree, on any thread; the values are read when the file is. The default has none.
    /// </summary>
    /// <returns>The attributes.</returns>
    IReadOnlyList<Management.ManagementAttribute> GetManagementAttributes() => [];

    /// <summary>
    /// Optional. The fabric's subdirectories of this session's directory in the management tree (iSCSI: one per
    /// connection). Called as <see cref="GetManagementAttributes"/> is. The default has none.
    /// </summary>
    /// <returns>The directories.</returns>
    IReadOnlyList<Management.ManagementDirectory> GetManagementDirectories() => [];
}
