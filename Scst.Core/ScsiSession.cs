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
        TaskManagementFunction.ClearAca,
        TaskManagementFunction.ClearTaskSet,
        TaskManagementFunction.LogicalUnitReset,
        TaskManagementFunction.TargetReset,
        TaskManagementFunction.ItNexusReset,
        TaskManagementFunction.QueryTask,
        TaskManagementFunction.QueryTaskSet,
        TaskManagementFunction.QueryAsynchronousEvent,
    ];

    private readonly Lock _lock = new();
    private readonly UnitAttentionQueue _unitAttentions = new();
    private readonly ScsiCommand[] _free;
    private readonly ScsiCommand[] _all;
    private (ScsiDevice Device, TaskSet Set)[] _taskSets = [];
    private int _freeCount;
    private int _created;
    private int _closed;
    private LunMap _luns;

    internal ScsiSession(ScsiTarget target, string initiatorName, ReadOnlyMemory<byte> transportId, ISessionTransport transport, LunMap luns, int maxCommands)
    {
        Target = target;
        Engine = target.Engine;
        InitiatorName = initiatorName;
        TransportId = transportId;
        Transport = transport;
        _luns = luns;
        _free = new ScsiCommand[maxCommands];
        _all = new ScsiCommand[maxCommands];
    }

    /// <summary>The core.</summary>
    public ScstEngine Engine { get; }

    /// <summary>The target port.</summary>
    public ScsiTarget Target { get; }

    /// <summary>What the session's commands did (counted as they complete).</summary>
    public SessionStatistics Statistics { get; } = new();

    /// <summary>The initiator port name.</summary>
    public string InitiatorName { get; }

    /// <summary>The initiator's SPC-4 TransportID.</summary>
    public ReadOnlyMemory<byte> TransportId { get; }

    /// <summary>The driver's callbacks.</summary>
    public ISessionTransport Transport { get; }

    /// <summary>
    /// The LUNs this session sees: its security group's map, or the target's default map. It changes when a change of
    /// the target's groups moves the session to another group (see <see cref="ScsiTarget"/>). One volatile read.
    /// </summary>
    public LunMap Luns => Volatile.Read(ref _luns);

    /// <summary>Moves the session to another LUN map (its security group changed); called under the target's lock.</summary>
    internal void SwitchLuns(LunMap luns) => Volatile.Write(ref _luns, luns);

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
            TaskManagementFunction.ItNexusReset => ResetNexusAsync(),
            TaskManagementFunction.QueryTask => new(QueryTask(lun, tag)),
            TaskManagementFunction.QueryTaskSet => new(QueryTaskSet(lun)),
            TaskManagementFunction.QueryAsynchronousEvent => new(QueryAsynchronousEvent(lun, out _)),
            _ => AbortLunTasksAsync(lun, function),
        };
    }

    // CLEAR ACA (SAM-5 section 7.3): ends this nexus's ACA condition on the LU, if it has one; the commands that waited
    // behind it may run.
    private TaskManagementResponse ClearAca(ScsiDevice device)
    {
        ClearAcaOf(device, this);
        return TaskManagementResponse.FunctionComplete;
    }

    /// <summary>Clears the ACA condition of <paramref name="owner"/> (null: of anyone) in this nexus's task set of the device.</summary>
    internal void ClearAcaOf(ScsiDevice device, ScsiSession? owner)
    {
        ReadyList ready = default;
        if (TaskSetFor(device).ClearAca(owner, ref ready))
        {
            Engine.Processor.ExecuteAll(ready);
        }
    }

    /// <summary>
    /// QUERY TASK (SAM-5 section 7.9): FUNCTION SUCCEEDED when the command with <paramref name="tag"/> to the LU is still
    /// in the task set, FUNCTION COMPLETE when it is not.
    /// </summary>
    /// <param name="lun">The 8-byte LUN field.</param>
    /// <param name="tag">The task tag.</param>
    /// <returns>The response.</returns>
    public TaskManagementResponse QueryTask(ulong lun, ulong tag)
    {
        Engine.PublishTaskManagement(TaskManagementFunction.QueryTask, this, lun, tag);
        if (Luns.Find(LunAddress.Decode(lun)) is null)
        {
            return TaskManagementResponse.LunDoesNotExist;
        }

        return HasLiveCommand(c => c.Tag == tag && c.Lun == lun) ? TaskManagementResponse.FunctionSucceeded : TaskManagementResponse.FunctionComplete;
    }

    /// <summary>
    /// QUERY TASK SET (SAM-5 section 7.11): FUNCTION SUCCEEDED when this nexus has a command to the LU in the task set,
    /// FUNCTION COMPLETE when it has none.
    /// </summary>
    /// <param name="lun">The 8-byte LUN field.</param>
    /// <returns>The response.</returns>
    public TaskManagementResponse QueryTaskSet(ulong lun)
    {
        Engine.PublishTaskManagement(TaskManagementFunction.QueryTaskSet, this, lun, 0);
        if (Luns.Find(LunAddress.Decode(lun)) is null)
        {
            return TaskManagementResponse.LunDoesNotExist;
        }

        return HasLiveCommand(c => c.Lun == lun) ? TaskManagementResponse.FunctionSucceeded : TaskManagementResponse.FunctionComplete;
    }

    /// <summary>
    /// One line per command of this nexus that is in flight (SCST's <c>trace_cmds</c>): tag, LUN, opcode, attribute,
    /// where it is in its life and in its task set, and whether it was aborted. For diagnostics; takes the session lock.
    /// </summary>
    /// <returns>The lines, oldest slot first.</returns>
    public IReadOnlyList<string> DescribeCommands()
    {
        var lines = new List<string>();
        lock (_lock)
        {
            for (int i = 0; i < _created; i++)
            {
                ScsiCommand c = _all[i];
                if (c.State != CommandState.Free)
                {
                    lines.Add(string.Create(
                        System.Globalization.CultureInfo.InvariantCulture,
                        $"tag 0x{c.Tag:x} lun {LunAddress.Decode(c.Lun)} op 0x{c.Cdb[0]:x2} {c.Attribute} state {c.State} task set {c.TaskSetState} aborted {c.IsAborted} (by another nexus {c.AbortedByAnotherNexus})"));
                }
            }
        }

        return lines;
    }

    // Whether a command of this nexus that matches is in flight and not aborted (the QUERY functions).
    private bool HasLiveCommand(Func<ScsiCommand, bool> match)
    {
        lock (_lock)
        {
            for (int i = 0; i < _created; i++)
            {
                ScsiCommand c = _all[i];
                if (c.State != CommandState.Free && !c.IsAborted && match(c))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// QUERY ASYNCHRONOUS EVENT (SAM-5 section 7.10): FUNCTION SUCCEEDED, with the sense key, ASC and ASCQ the next command
    /// would report in <paramref name="pending"/>, when a unit attention is pending for this nexus and LU; FUNCTION
    /// COMPLETE when none is. The condition stays pending.
    /// </summary>
    /// <param name="lun">The 8-byte LUN field.</param>
    /// <param name="pending">The pending condition (the ADDITIONAL RESPONSE INFORMATION).</param>
    /// <returns>The response.</returns>
    public TaskManagementResponse QueryAsynchronousEvent(ulong lun, out SenseCode pending)
    {
        Engine.PublishTaskManagement(TaskManagementFunction.QueryAsynchronousEvent, this, lun, 0);
        pending = default;
        int n = LunAddress.Decode(lun);
        if (Luns.Find(n) is null)
        {
            return TaskManagementResponse.LunDoesNotExist;
        }

        return _unitAttentions.TryPeek(n, out pending) ? TaskManagementResponse.FunctionSucceeded : TaskManagementResponse.FunctionComplete;
    }

    /// <summary>
    /// I_T NEXUS RESET (SAM-5 section 7.8): an I_T nexus loss for this nexus without closing it. Every command of the
    /// nexus is aborted, what the nexus held on each LU (medium removal prevention, an SPC-2 reservation) is released,
    /// and I_T NEXUS LOSS OCCURRED is established for every LUN of the nexus.
    /// </summary>
    /// <returns>Function complete once every aborted command is gone.</returns>
    public async ValueTask<TaskManagementResponse> ResetNexusAsync()
    {
        Engine.PublishTaskManagement(TaskManagementFunction.ItNexusReset, this, 0, 0);
        List<(ScsiCommand Command, Task Released)> marked = MarkTasksAborted(static (_, _) => true, 0, byAnotherNexus: false);
        ScsiDevice[] devices = [.. Luns.Luns.Select(m => m.Device).Distinct()];
        Engine.TaskManagementReceived(devices, TaskManagementFunction.ItNexusReset, this, null);
        foreach (LunMapping mapping in Luns.Luns)
        {
            mapping.Device.OnNexusLoss(this);
            ClearAcaOf(mapping.Device, this);
            EstablishUnitAttention(mapping.Lun, SenseCode.NexusLossOccurred);
        }

        TaskManagementResponse response = await WaitForAbortsAsync(marked).ConfigureAwait(false);
        await Engine.TaskManagementDoneAsync(devices, TaskManagementFunction.ItNexusReset, this).ConfigureAwait(false);
        return response;
    }

    /// <summary>
    /// Establishes a unit attention condition for a LUN of this nexus: the next command to that LUN (other than
    /// INQUIRY, REPORT LUNS and REQUEST SENSE) gets CHECK CONDITION with <paramref name="sense"/>, or REQUEST SENSE
    /// returns it. A condition already pending is not queued twice; the queue is bounded.
    /// </summary>
    /// <param name="lun">The LUN number.</param>
    /// <param name="sense">The condition, normally with sense key UNIT ATTENTION.</param>
    /// <returns>False when the condition was already pending or the queue is full.</returns>
    public bool EstablishUnitAttention(int lun, SenseCode sense)
    {
        if (!_unitAttentions.Establish(lun, sense))
        {
            return false;
        }

        Engine.Metrics.UnitAttention(this, sense);
        return true;
    }

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
        var affected = new List<(ScsiCommand, Task)>(1);
        ulong lun = 0;
        byte[] cdb = [];
        ScsiDevice? device = null;
        lock (_lock)
        {
            for (int i = 0; i < _created; i++)
            {
                ScsiCommand c = _all[i];
                if (c.State != CommandState.Free && c.Tag == tag)
                {
                    // Event 4 carries the LUN and CDB of the command to abort, as SCST's does.
                    lun = c.Lun;
                    cdb = c.Cdb.ToArray();
                    device = c.Device;
                    affected.Add((c, CommandProcessor.MarkAborted(c, byAnotherNexus: false).Task));
                    break;
                }
            }
        }

        Engine.PublishTaskManagement(TaskManagementFunction.AbortTask, this, lun, tag, cdb);

        if (affected.Count == 0)
        {
            return new(TaskManagementResponse.TaskDoesNotExist);
        }

        if (device is null)
        {
            return WaitForAbortsAsync(affected);
        }

        ScsiDevice[] devices = [device];
        Engine.TaskManagementReceived(devices, TaskManagementFunction.AbortTask, this, affected[0].Item1);
        return FinishTaskManagementAsync(WaitForAbortsAsync(affected), devices, TaskManagementFunction.AbortTask);
    }

    /// <summary>
    /// ABORT TASK SET, CLEAR TASK SET and LOGICAL UNIT RESET for the logical unit at <paramref name="lun"/>. ABORT TASK SET
    /// aborts the commands of this nexus to the LU; so does CLEAR TASK SET with one task set per nexus (TST=1), while with
    /// one task set for the LU (TST=0) it clears every nexus's commands. LOGICAL UNIT RESET (SAM-5 section 7.7) aborts the
    /// commands of every nexus to the LU, clears what a reset clears (medium removal prevention, SPC-2 reservations)
    /// and establishes BUS DEVICE RESET FUNCTION OCCURRED for every nexus that reaches the LU.
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

        ScsiDevice[] devices = [mapping.Device];
        Engine.TaskManagementReceived(devices, function, this, null);
        ValueTask<TaskManagementResponse> work = function switch
        {
            TaskManagementFunction.ClearAca => new(ClearAca(mapping.Device)),
            TaskManagementFunction.LogicalUnitReset => Engine.ResetLogicalUnitAsync(mapping.Device, SenseCode.BusDeviceResetOccurred, this),
            TaskManagementFunction.ClearTaskSet when mapping.Device.SingleTaskSet => Engine.ClearTaskSetAsync(mapping.Device, this),
            _ => WaitForAbortsAsync(MarkLunTasksAborted(lun, byAnotherNexus: false)),
        };
        return FinishTaskManagementAsync(work, devices, function);
    }

    // The devices a function touched learn that it is done once its aborted commands are gone, before its response.
    private async ValueTask<TaskManagementResponse> FinishTaskManagementAsync(ValueTask<TaskManagementResponse> work, ScsiDevice[] devices, TaskManagementFunction function)
    {
        TaskManagementResponse response = await work.ConfigureAwait(false);
        await Engine.TaskManagementDoneAsync(devices, function, this).ConfigureAwait(false);
        return response;
    }

    /// <summary>
    /// TARGET RESET (iSCSI TARGET WARM RESET and TARGET COLD RESET): a logical unit reset of every LU the target reaches,
    /// with POWER ON, RESET, OR BUS DEVICE RESET OCCURRED for every nexus. Completes when every affected command is gone.
    /// </summary>
    /// <returns>Function complete once every affected command is gone.</returns>
    public async ValueTask<TaskManagementResponse> ResetTargetAsync()
    {
        Engine.PublishTaskManagement(TaskManagementFunction.TargetReset, this, 0, 0);
        var devices = new HashSet<ScsiDevice>();
        foreach (ScsiSession session in Target.Sessions)
        {
            foreach (LunMapping mapping in session.Luns.Luns)
            {
                devices.Add(mapping.Device);
            }
        }

        foreach (LunMapping mapping in Luns.Luns)
        {
            devices.Add(mapping.Device);
        }

        ScsiDevice[] touched = [.. devices];
        Engine.TaskManagementReceived(touched, TaskManagementFunction.TargetReset, this, null);
        foreach (ScsiDevice device in touched)
        {
            await Engine.ResetLogicalUnitAsync(device, SenseCode.PowerOnReset, this).ConfigureAwait(false);
        }

        await Engine.TaskManagementDoneAsync(touched, TaskManagementFunction.TargetReset, this).ConfigureAwait(false);
        return TaskManagementResponse.FunctionComplete;
    }

    /// <summary>
    /// Marks every command of this nexus to <paramref name="lun"/> aborted and tells the driver about those waiting for
    /// write data. Returns the tasks that complete when the commands are released.
    /// </summary>
    internal List<Task> AbortLunTasks(ulong lun, bool byAnotherNexus, ScsiCommand? except = null)
    {
        List<(ScsiCommand Command, Task Released)> marked = except is null
            ? MarkLunTasksAborted(lun, byAnotherNexus)
            : MarkTasksAborted((c, l) => c.Lun == l && c != except, lun, byAnotherNexus);
        var waits = new List<Task>(marked.Count);
        foreach ((ScsiCommand c, Task released) in marked)
        {
            waits.Add(released);
            EndAbortedCommand(c, released);
        }

        return waits;
    }

    /// <summary>
    /// Aborts this nexus's commands to a LU because another nexus acted (CLEAR TASK SET with one task set, QERR 01b,
    /// PREEMPT AND ABORT; SAM-5 section 5.6): they end with TASK ABORTED when the control page's TAS bit is set, and
    /// otherwise silently, with COMMANDS CLEARED BY ANOTHER INITIATOR for this nexus when it lost any.
    /// </summary>
    internal List<Task> AbortLunTasksForAnotherNexus(LunMapping mapping, ScsiCommand? except = null)
    {
        List<Task> aborted = AbortLunTasks(LunAddress.Encode(mapping.Lun), byAnotherNexus: true, except);
        if (aborted.Count > 0 && !mapping.Device.ModePages.TaskAbortedStatus)
        {
            EstablishUnitAttention(mapping.Lun, SenseCode.CommandsClearedByAnotherInitiator);
        }

        return aborted;
    }

    private List<(ScsiCommand Command, Task Released)> MarkLunTasksAborted(ulong lun, bool byAnotherNexus) =>
        MarkTasksAborted(static (c, l) => c.Lun == l, lun, byAnotherNexus);

    private List<(ScsiCommand Command, Task Released)> MarkTasksAborted(Func<ScsiCommand, ulong, bool> match, ulong lun, bool byAnotherNexus)
    {
        var affected = new List<(ScsiCommand, Task)>();
        lock (_lock)
        {
            for (int i = 0; i < _created; i++)
            {
                ScsiCommand c = _all[i];
                if (c.State != CommandState.Free && match(c, lun))
                {
                    affected.Add((c, CommandProcessor.MarkAborted(c, byAnotherNexus).Task));
                }
            }
        }

        return affected;
    }

    // An aborted command that waits for write data or waits in its task set would only end when the data came or the
    // commands ahead of it finished: end it now. It may have been released, and even reused, since it was marked: the
    // driver and the task set act only on an aborted command they still hold.
    private void EndAbortedCommand(ScsiCommand command, Task released)
    {
        if (released.IsCompleted || !command.IsAborted)
        {
            return;
        }

        if (command.State == CommandState.WaitingForData)
        {
            Transport.OnAbortWhileReceiving(command);
        }

        Engine.Processor.EndIfParked(command);
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
            EndAbortedCommand(c, released);
        }

        await Task.WhenAll(waits).ConfigureAwait(false);
        return TaskManagementResponse.FunctionComplete;
    }

    /// <summary>
    /// The task set of <paramref name="device"/> for this nexus: the device's only one when it has a single task set
    /// (TST=0), this nexus's own otherwise (TST=1). Created on first use.
    /// </summary>
    internal TaskSet TaskSetFor(ScsiDevice device)
    {
        if (device.SingleTaskSet)
        {
            return device.SharedTaskSet;
        }

        foreach ((ScsiDevice d, TaskSet set) in Volatile.Read(ref _taskSets))
        {
            if (d == device)
            {
                return set;
            }
        }

        lock (_lock)
        {
            foreach ((ScsiDevice d, TaskSet set) in _taskSets)
            {
                if (d == device)
                {
                    return set;
                }
            }

            var created = new TaskSet(device);
            Volatile.Write(ref _taskSets, [.. _taskSets, (device, created)]);
            return created;
        }
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
            foreach (LunMapping mapping in Luns.Luns)
            {
                Engine.NotifyNexus(this, mapping, attached: false);
                mapping.Device.OnNexusLoss(this);
                if (mapping.Device.SingleTaskSet)
                {
                    ClearAcaOf(mapping.Device, this);
                }
            }
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
        System.Buffers.MemoryManager<byte>? buffer = command.DetachBuffer(out IDeviceBufferSource? source);
        if (buffer is not null)
        {
            if (source is null)
            {
                Engine.BufferPool.Return((Buffers.DataBuffer)buffer);
            }
            else
            {
                source.Return(buffer);
            }
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

/// <summary>
/// Task management functions (SAM-5 section 7), numbered as SCST numbers them (event 4's <c>fn</c> field); the QUERY
/// functions, which SCST does not have, take numbers after SCST's last (11).
/// </summary>
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

    /// <summary>I_T NEXUS RESET (SCST's NEXUS_LOSS_SESS): an I_T nexus loss for one nexus.</summary>
    ItNexusReset = 6,

    /// <summary>QUERY TASK.</summary>
    QueryTask = 12,

    /// <summary>QUERY TASK SET.</summary>
    QueryTaskSet = 13,

    /// <summary>QUERY ASYNCHRONOUS EVENT.</summary>
    QueryAsynchronousEvent = 14,
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

    /// <summary>FUNCTION SUCCEEDED: the queried task, task set or asynchronous event exists (QUERY functions).</summary>
    FunctionSucceeded = 7,

    /// <summary>The function was rejected.</summary>
    FunctionRejected = 255,
}
