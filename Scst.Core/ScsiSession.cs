// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using Scst.Core.Spc;

namespace Scst.Core;

/// <summary>
/// An I_T nexus: one initiator port logged in to one target port. The target driver creates commands here, submits
/// them, and closes the session when the nexus ends.
/// </summary>
/// <remarks>
/// Commands are pooled per session up to <see cref="ScstOptions.MaxCommandsPerSession"/>; a command beyond that is
/// still created, but answered TASK SET FULL without running (and not pooled).
/// </remarks>
public sealed class ScsiSession
{
    // The task management functions this core performs, in the order REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS
    // reports them. Executing and reporting both read this table, so the two cannot disagree.
    private static readonly TaskManagementFunction[] s_supportedFunctions =
    [
        TaskManagementFunction.AbortTask,
        TaskManagementFunction.AbortTaskSet,
        TaskManagementFunction.ClearTaskSet,
        TaskManagementFunction.LogicalUnitReset,
        TaskManagementFunction.TargetReset,
    ];

    private readonly Lock _lock = new();
    private readonly UnitAttentionQueue _unitAttentions = new();
    private readonly ScsiCommand[] _free;
    private readonly ScsiCommand[] _all;
    private int _freeCount;
    private int _created;
    private int _closed;

    internal ScsiSession(ScsiTarget target, string initiatorName, ReadOnlyMemory<byte> transportId, ISessionTransport transport, LunMap luns, int maxCommands)
    {
        Target = target;
        Engine = target.Engine;
        InitiatorName = initiatorName;
        TransportId = transportId;
        Transport = transport;
        Luns = luns;
        _free = new ScsiCommand[maxCommands];
        _all = new ScsiCommand[maxCommands];
    }

    /// <summary>The core.</summary>
    public ScstEngine Engine { get; }

    /// <summary>The target port.</summary>
    public ScsiTarget Target { get; }

    /// <summary>The initiator port name.</summary>
    public string InitiatorName { get; }

    /// <summary>The initiator's SPC-4 TransportID.</summary>
    public ReadOnlyMemory<byte> TransportId { get; }

    /// <summary>The driver's callbacks.</summary>
    public ISessionTransport Transport { get; }

    /// <summary>The LUNs this session sees (its security group's map).</summary>
    public LunMap Luns { get; }

    /// <summary>Commands handed out and not yet released.</summary>
    public int CommandsInUse
    {
        get
        {
            lock (_lock)
            {
                return _created - _freeCount;
            }
        }
    }

    /// <summary>The task management functions the core performs (REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS lists these).</summary>
    public static IReadOnlyList<TaskManagementFunction> SupportedTaskManagementFunctions => s_supportedFunctions;

    /// <summary>Whether any unit attention condition is pending on this nexus. One volatile read.</summary>
    internal bool HasPendingUnitAttention => _unitAttentions.HasPending;

    /// <summary>Whether <see cref="Close"/> was called.</summary>
    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>
    /// Gets a command object for a new command. The driver then calls <see cref="Submit"/> (or
    /// <see cref="ScsiCommand.Release"/> if it gives up before submitting).
    /// </summary>
    /// <param name="lun">The 8-byte LUN field.</param>
    /// <param name="cdb">The CDB; copied.</param>
    /// <param name="tag">The task tag.</param>
    /// <param name="attribute">The task attribute.</param>
    /// <param name="expectedDirection">The direction the initiator expects.</param>
    /// <param name="expectedTransferLength">The number of bytes the initiator expects to move.</param>
    /// <returns>The command, owned by the driver until submitted.</returns>
    public ScsiCommand CreateCommand(ulong lun, ReadOnlySpan<byte> cdb, ulong tag, TaskAttribute attribute, DataDirection expectedDirection, int expectedTransferLength)
    {
        ScsiCommand command = RentCommand();
        command.Initialize(lun, cdb, tag, attribute, expectedDirection, expectedTransferLength);
        return command;
    }

    /// <summary>
    /// Hands a command to the core. The core calls back <see cref="ISessionTransport.RequestWriteData"/> and
    /// <see cref="ISessionTransport.SendResponse"/>, possibly before this method returns (synchronous completion).
    /// </summary>
    /// <param name="command">A command from <see cref="CreateCommand"/>.</param>
    public void Submit(ScsiCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        Engine.Processor.Submit(command);
    }

    /// <summary>Whether the core performs <paramref name="function"/>.</summary>
    /// <param name="function">The task management function.</param>
    /// <returns>True for the functions of <see cref="SupportedTaskManagementFunctions"/>.</returns>
    public static bool SupportsTaskManagementFunction(TaskManagementFunction function) => Array.IndexOf(s_supportedFunctions, function) >= 0;

    /// <summary>
    /// Performs a task management function from <see cref="SupportedTaskManagementFunctions"/>; any other function is
    /// answered FUNCTION NOT SUPPORTED.
    /// </summary>
    /// <param name="function">The function.</param>
    /// <param name="lun">The 8-byte LUN field (for functions that address a logical unit).</param>
    /// <param name="tag">The referenced task tag (ABORT TASK).</param>
    /// <returns>The response once the function is done.</returns>
    public ValueTask<TaskManagementResponse> ExecuteTaskManagementAsync(TaskManagementFunction function, ulong lun, ulong tag)
    {
        if (!SupportsTaskManagementFunction(function))
        {
            return new(TaskManagementResponse.FunctionNotSupported);
        }

        return function switch
        {
            TaskManagementFunction.AbortTask => AbortTaskAsync(tag),
            TaskManagementFunction.TargetReset => ResetTargetAsync(),
            _ => AbortLunTasksAsync(lun, function),
        };
    }

    /// <summary>
    /// Establishes a unit attention condition for a LUN of this nexus: the next command to that LUN (other than
    /// INQUIRY, REPORT LUNS and REQUEST SENSE) gets CHECK CONDITION with <paramref name="sense"/>, or REQUEST SENSE
    /// returns it. A condition already pending is not queued twice; the queue is bounded.
    /// </summary>
    /// <param name="lun">The LUN number.</param>
    /// <param name="sense">The condition, normally with sense key UNIT ATTENTION.</param>
    /// <returns>False when the condition was already pending or the queue is full.</returns>
    public bool EstablishUnitAttention(int lun, SenseCode sense) => _unitAttentions.Establish(lun, sense);

    /// <summary>Takes the oldest unit attention condition pending for <paramref name="lun"/>.</summary>
    internal bool TryTakeUnitAttention(int lun, out SenseCode sense) => _unitAttentions.TryTake(lun, out sense);

    /// <summary>The number of unit attention conditions pending for <paramref name="lun"/>.</summary>
    internal int PendingUnitAttentions(int lun) => _unitAttentions.CountFor(lun);

    /// <summary>
    /// ABORT TASK: aborts the command with <paramref name="tag"/>. Completes when the command is gone: it either got its
    /// response before the abort took effect, or was ended without one.
    /// </summary>
    /// <param name="tag">The tag of the command to abort.</param>
    /// <returns>Function complete, or task does not exist.</returns>
    public ValueTask<TaskManagementResponse> AbortTaskAsync(ulong tag)
    {
        Engine.PublishTaskManagement(TaskManagementFunction.AbortTask, this, 0, tag);
        var affected = new List<(ScsiCommand, Task)>(1);
        lock (_lock)
        {
            for (int i = 0; i < _created; i++)
            {
                ScsiCommand c = _all[i];
                if (c.State != CommandState.Free && c.Tag == tag)
                {
                    affected.Add((c, CommandProcessor.MarkAborted(c).Task));
                    break;
                }
            }
        }

        if (affected.Count == 0)
        {
            return new(TaskManagementResponse.TaskDoesNotExist);
        }

        return WaitForAbortsAsync(affected);
    }

    /// <summary>
    /// LOGICAL UNIT RESET (and ABORT TASK SET for this nexus): aborts every command of this session to the LUN.
    /// </summary>
    /// <param name="lun">The 8-byte LUN field.</param>
    /// <param name="function">The function, for the event payload.</param>
    /// <returns>Function complete once every affected command is gone.</returns>
    public ValueTask<TaskManagementResponse> AbortLunTasksAsync(ulong lun, TaskManagementFunction function = TaskManagementFunction.LogicalUnitReset)
    {
        Engine.PublishTaskManagement(function, this, lun, 0);
        LunMapping? mapping = Luns.Find(LunAddress.Decode(lun));
        if (mapping is null)
        {
            return new(TaskManagementResponse.LunDoesNotExist);
        }

        if (function == TaskManagementFunction.LogicalUnitReset)
        {
            // A logical unit reset ends every PREVENT MEDIUM REMOVAL (SBC-3 section 5.13). The reset unit attentions
            // belong to the unit attention work still to come (with their priorities), not to this function alone.
            (mapping.Device as BlockDevice)?.ResetMediumRemovalPrevention();
            mapping.Device.Reservations.ResetSpc2();
        }

        return WaitForAbortsAsync(MarkLunTasksAborted(lun));
    }

    /// <summary>
    /// TARGET RESET (iSCSI TARGET WARM RESET and TARGET COLD RESET): a logical unit reset of every LU of the target, for
    /// every session on it. Completes when every affected command is gone.
    /// </summary>
    /// <returns>Function complete once every affected command is gone.</returns>
    public async ValueTask<TaskManagementResponse> ResetTargetAsync()
    {
        Engine.PublishTaskManagement(TaskManagementFunction.TargetReset, this, 0, 0);
        foreach (ScsiSession session in Target.Sessions)
        {
            foreach (LunMapping mapping in session.Luns.Luns)
            {
                (mapping.Device as BlockDevice)?.ResetMediumRemovalPrevention();
                mapping.Device.Reservations.ResetSpc2();
                await session.WaitForAbortsAsync(session.MarkLunTasksAborted(LunAddress.Encode(mapping.Lun))).ConfigureAwait(false);
            }
        }

        return TaskManagementResponse.FunctionComplete;
    }

    /// <summary>PREEMPT AND ABORT from another I_T nexus: aborts this nexus's commands to the LUN, as ABORT TASK SET would.</summary>
    internal ValueTask<TaskManagementResponse> AbortLunTasksForPreemptionAsync(ulong lun) => WaitForAbortsAsync(MarkLunTasksAborted(lun));

    private List<(ScsiCommand Command, Task Released)> MarkLunTasksAborted(ulong lun)
    {
        var affected = new List<(ScsiCommand, Task)>();
        lock (_lock)
        {
            for (int i = 0; i < _created; i++)
            {
                ScsiCommand c = _all[i];
                if (c.State != CommandState.Free && c.Lun == lun)
                {
                    affected.Add((c, CommandProcessor.MarkAborted(c).Task));
                }
            }
        }

        return affected;
    }

    // Commands are marked under the session lock, so that none can be released and reused between the scan and the
    // mark. Drivers are told about commands waiting for write data outside the lock.
    private async ValueTask<TaskManagementResponse> WaitForAbortsAsync(List<(ScsiCommand Command, Task Released)> commands)
    {
        var waits = new Task[commands.Count];
        for (int i = 0; i < commands.Count; i++)
        {
            (ScsiCommand c, Task released) = commands[i];
            waits[i] = released;
            if (!released.IsCompleted && c.State == CommandState.WaitingForData)
            {
                Transport.OnAbortWhileReceiving(c);
            }
        }

        await Task.WhenAll(waits).ConfigureAwait(false);
        return TaskManagementResponse.FunctionComplete;
    }

    /// <summary>
    /// Ends the nexus. The driver calls it once, after it stopped submitting commands; commands in flight still
    /// complete through the transport, which must keep releasing them.
    /// </summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            Target.RemoveSession(this);
            Spc.Reservations.ReservationState.OnNexusLoss(this);
        }
    }

    private ScsiCommand RentCommand()
    {
        lock (_lock)
        {
            if (_freeCount > 0)
            {
                ScsiCommand c = _free[--_freeCount];
                _free[_freeCount] = null!;
                return c;
            }

            if (_created < _all.Length)
            {
                var c = new ScsiCommand(this, pooled: true);
                _all[_created++] = c;
                return c;
            }
        }

        return new ScsiCommand(this, pooled: false);
    }

    internal void ReleaseCommand(ScsiCommand command)
    {
        Debug.Assert(command.Session == this, "a command goes back to its own session");
        Debug.Assert(command.State != CommandState.Free, "a command is released once");
        Buffers.DataBuffer? buffer = command.DetachBuffer();
        if (buffer is not null)
        {
            Engine.BufferPool.Return(buffer);
        }

        TaskCompletionSource? waiter;
        if (command.IsPooled)
        {
            lock (_lock)
            {
                waiter = command.AbortWaiter;
                command.Reset();
                _free[_freeCount++] = command;
            }
        }
        else
        {
            waiter = command.AbortWaiter;
            command.Reset();
        }

        waiter?.TrySetResult();
    }
}

/// <summary>Task management functions (SAM-5 section 7), numbered as SCST numbers them (event 4's <c>fn</c> field).</summary>
public enum TaskManagementFunction
{
    /// <summary>ABORT TASK.</summary>
    AbortTask = 0,

    /// <summary>ABORT TASK SET.</summary>
    AbortTaskSet = 1,

    /// <summary>CLEAR ACA.</summary>
    ClearAca = 2,

    /// <summary>CLEAR TASK SET.</summary>
    ClearTaskSet = 3,

    /// <summary>LOGICAL UNIT RESET.</summary>
    LogicalUnitReset = 4,

    /// <summary>TARGET RESET.</summary>
    TargetReset = 5,

    /// <summary>I_T NEXUS LOSS for one session (internal).</summary>
    NexusLossSession = 6,
}

/// <summary>How a task management function ended.</summary>
public enum TaskManagementResponse
{
    /// <summary>The function completed.</summary>
    FunctionComplete = 0,

    /// <summary>The referenced task does not exist.</summary>
    TaskDoesNotExist = 1,

    /// <summary>The LUN does not exist.</summary>
    LunDoesNotExist = 2,

    /// <summary>The function is not supported.</summary>
    FunctionNotSupported = 5,

    /// <summary>The function was rejected.</summary>
    FunctionRejected = 255,
}
