// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;

namespace Scst.Core;

/// <summary>
/// A task set (SAM-5 section 8): the commands of one logical unit, for one I_T nexus (TST=1) or for all of them
/// (TST=0), and the rules that decide when each may run. A HEAD OF QUEUE command runs at once; a SIMPLE command waits
/// for every older ORDERED and HEAD OF QUEUE command; an ORDERED command waits for every older command, and every
/// newer command but HEAD OF QUEUE waits for it. With restricted reordering (control page QUEUE ALGORITHM MODIFIER 0)
/// a SIMPLE command also waits for older commands whose blocks it shares, when either of the two writes.
/// </summary>
/// <remarks>
/// The order is the order of <see cref="Enter"/>, which the core calls when the driver submits, so the driver's
/// submission order (CmdSN order for iSCSI) is the command order. Only execution is ordered: write data of a waiting
/// command is still received. The common case (SIMPLE commands, nothing waiting, unrestricted) costs one uncontended
/// lock and two counters on entry and on exit; waiting commands sit in a FIFO, so a command never overtakes an older
/// waiting one (HEAD OF QUEUE excepted).
/// </remarks>
internal sealed class TaskSet(ScsiDevice device)
{
    private readonly Lock _lock = new();
    private readonly Queue<ScsiCommand> _waiting = new();
    private readonly List<ScsiCommand> _running = [];
    private int _runningCount;
    private int _runningOrdered;
    private int _runningHeadOfQueue;
    private ScsiSession? _acaOwner;
    private int _runningAca;

    /// <summary>
    /// The nexus whose command established an ACA condition in this task set (a CHECK CONDITION for a command with NACA
    /// set), or null. While it lasts, only that nexus's ACA commands run; the other commands wait.
    /// </summary>
    public ScsiSession? AcaOwner => Volatile.Read(ref _acaOwner);

    /// <summary>Whether an ACA command is in the task set (SAM-5 allows one at a time).</summary>
    public bool HasAcaCommand
    {
        get
        {
            lock (_lock)
            {
                return _runningAca != 0 || _waiting.Any(static c => c.Attribute == TaskAttribute.Aca);
            }
        }
    }

    /// <summary>Establishes an ACA condition for <paramref name="owner"/>; the commands waiting now stay waiting.</summary>
    public void EstablishAca(ScsiSession owner)
    {
        lock (_lock)
        {
            _acaOwner ??= owner;
        }
    }

    /// <summary>
    /// Clears the ACA condition (CLEAR ACA from its nexus, a reset, the loss of its nexus) and enables the waiting commands
    /// that may now run; the caller executes those added to <paramref name="ready"/>. Returns false when no ACA condition
    /// of <paramref name="owner"/> existed (null: any owner).
    /// </summary>
    public bool ClearAca(ScsiSession? owner, ref ReadyList ready)
    {
        lock (_lock)
        {
            if (_acaOwner is null || (owner is not null && _acaOwner != owner))
            {
                return false;
            }

            _acaOwner = null;
            Drain(ref ready);
            return true;
        }
    }

    /// <summary>
    /// Adds a command at the tail of the task set; it runs when the rules allow, possibly at once, and otherwise waits
    /// until <see cref="Leave"/> of an older command enables it. Returns GOOD, or TASK SET FULL / BUSY when the task set
    /// (<paramref name="maxInSet"/>, with one task set per nexus) or the device (<paramref name="maxInDevice"/>) is full;
    /// the command then did not enter.
    /// </summary>
    /// <param name="command">A command whose LUN was resolved and CDB decoded.</param>
    /// <param name="restricted">Restricted reordering (QUEUE ALGORITHM MODIFIER 0).</param>
    /// <param name="maxInSet">The most commands of one nexus in the LU's task set.</param>
    /// <param name="maxInDevice">The most commands of all nexuses in the LU.</param>
    public ScsiStatus Enter(ScsiCommand command, bool restricted, int maxInSet, int maxInDevice)
    {
        lock (_lock)
        {
            int inSet = _runningCount + _waiting.Count;
            if (!device.SingleTaskSet && inSet >= maxInSet)
            {
                return ScsiStatus.TaskSetFull;
            }

            if (!device.TryAdmitCommand(maxInDevice))
            {
                // SAM-5 section 5.3: TASK SET FULL to a nexus with commands in the task set, BUSY to one without.
                return inSet > 0 ? ScsiStatus.TaskSetFull : ScsiStatus.Busy;
            }

            command.TaskSet = this;
            command.TrackedForOverlap = restricted;
            // HEAD OF QUEUE (and ACA) commands pass the waiting ones; any other command queues behind them.
            if ((_waiting.Count == 0 || command.Attribute is TaskAttribute.HeadOfQueue or TaskAttribute.Aca) && CanRun(command))
            {
                Start(command);
            }
            else
            {
                command.TaskSetState = TaskSetState.Waiting;
                _waiting.Enqueue(command);
            }

            return ScsiStatus.Good;
        }
    }

    /// <summary>
    /// Says that a command has what it needs to execute (its write data). Returns true when it may execute now; when it
    /// must still wait, it is parked and <see cref="Leave"/> of an older command hands it back.
    /// </summary>
    public bool TryExecute(ScsiCommand command)
    {
        // Running is only ever left through Leave, which this command's own response calls: seen here, it holds, and
        // the usual case (enabled at Enter) takes no lock. A stale Waiting is settled under the lock.
        if (command.TaskSetState == TaskSetState.Running)
        {
            return true;
        }

        lock (_lock)
        {
            // An aborted command executes at once: it ends with no response, and leaves the queue as it does.
            if (command.TaskSetState == TaskSetState.Running || command.IsAborted)
            {
                return true;
            }

            Debug.Assert(command.TaskSetState == TaskSetState.Waiting, "only an entered command executes");
            command.TaskSetState = TaskSetState.WaitingReady;
            return false;
        }
    }

    /// <summary>
    /// Removes a command (completed, or ended while waiting) and enables the waiting commands that may now run. Those
    /// that were parked ready to execute are added to <paramref name="ready"/>; the caller executes them.
    /// </summary>
    public void Leave(ScsiCommand command, ref ReadyList ready)
    {
        lock (_lock)
        {
            LeaveLocked(command, ref ready);
        }
    }

    /// <summary>
    /// Takes an aborted command that is parked ready to execute out of the task set. Returns false when it is not
    /// parked: it runs, or still waits for its data, and ends through the usual path.
    /// </summary>
    public bool TryRemoveParked(ScsiCommand command, ref ReadyList ready)
    {
        lock (_lock)
        {
            if (command.TaskSet != this || command.TaskSetState != TaskSetState.WaitingReady || !command.IsAborted)
            {
                return false;
            }

            LeaveLocked(command, ref ready);
            return true;
        }
    }

    private void LeaveLocked(ScsiCommand command, ref ReadyList ready)
    {
        switch (command.TaskSetState)
        {
            case TaskSetState.Running:
                _runningCount--;
                if (command.Attribute == TaskAttribute.Ordered)
                {
                    _runningOrdered--;
                }
                else if (command.Attribute == TaskAttribute.HeadOfQueue)
                {
                    _runningHeadOfQueue--;
                }
                else if (command.Attribute == TaskAttribute.Aca)
                {
                    _runningAca--;
                }

                if (command.TrackedForOverlap)
                {
                    _running.Remove(command);
                }

                break;
            case TaskSetState.Waiting or TaskSetState.WaitingReady:
                RemoveWaiting(command);
                break;
            default:
                return;
        }

        command.TaskSetState = TaskSetState.None;
        command.TaskSet = null;
        device.ReleaseCommand();
        Drain(ref ready);
    }

    private void Drain(ref ReadyList ready)
    {
        while (_waiting.TryPeek(out ScsiCommand? next) && CanRun(next))
        {
            _waiting.Dequeue();
            bool wasReady = next.TaskSetState == TaskSetState.WaitingReady;
            Start(next);
            if (wasReady)
            {
                ready.Add(next);
            }
        }
    }

    // Under an ACA condition only ACA commands run (the core admits those of the owning nexus alone).
    private bool CanRun(ScsiCommand command) => command.Attribute switch
    {
        TaskAttribute.Aca => true,
        _ when _acaOwner is not null => false,
        TaskAttribute.HeadOfQueue => true,
        TaskAttribute.Ordered => _runningCount == 0,
        _ => _runningOrdered == 0 && _runningHeadOfQueue == 0 && (!command.TrackedForOverlap || !OverlapsRunning(command)),
    };

    private void Start(ScsiCommand command)
    {
        command.TaskSetState = TaskSetState.Running;
        _runningCount++;
        if (command.Attribute == TaskAttribute.Ordered)
        {
            _runningOrdered++;
        }
        else if (command.Attribute == TaskAttribute.HeadOfQueue)
        {
            _runningHeadOfQueue++;
        }
        else if (command.Attribute == TaskAttribute.Aca)
        {
            _runningAca++;
        }

        if (command.TrackedForOverlap)
        {
            _running.Add(command);
        }
    }

    // Restricted reordering keeps data integrity: two commands conflict when their block ranges meet and one writes.
    private bool OverlapsRunning(ScsiCommand command)
    {
        if (!HasBlockRange(command))
        {
            return false;
        }

        foreach (ScsiCommand other in _running)
        {
            if (HasBlockRange(other) && (Writes(command) || Writes(other)) &&
                command.Lba < other.Lba + other.TransferLength && other.Lba < command.Lba + command.TransferLength)
            {
                return true;
            }
        }

        return false;
    }

    private static bool HasBlockRange(ScsiCommand c) =>
        c.Descriptor is { } d && (d.Flags & Cdb.CdbFlags.BlockCommand) != 0 && d.Unit == Cdb.TransferLengthUnit.Blocks && c.TransferLength > 0;

    private static bool Writes(ScsiCommand c) => (c.Descriptor!.Flags & Cdb.CdbFlags.WritesMedium) != 0;

    private void RemoveWaiting(ScsiCommand command)
    {
        int n = _waiting.Count;
        for (int i = 0; i < n; i++)
        {
            ScsiCommand c = _waiting.Dequeue();
            if (c != command)
            {
                _waiting.Enqueue(c);
            }
        }
    }
}

/// <summary>Where a command stands in its task set.</summary>
internal enum TaskSetState : byte
{
    /// <summary>Not in a task set.</summary>
    None = 0,

    /// <summary>Waiting to be enabled; its data may still be arriving.</summary>
    Waiting,

    /// <summary>Waiting to be enabled, with everything it needs to execute.</summary>
    WaitingReady,

    /// <summary>Enabled: executing or about to.</summary>
    Running,
}

/// <summary>Commands a task set enabled that the caller must execute; no allocation for the usual zero or one.</summary>
internal struct ReadyList
{
    private ScsiCommand? _first;
    private List<ScsiCommand>? _more;

    public readonly int Count => _first is null ? 0 : 1 + (_more?.Count ?? 0);

    public readonly ScsiCommand this[int index] => index == 0 ? _first! : _more![index - 1];

    public void Add(ScsiCommand command)
    {
        if (_first is null)
        {
            _first = command;
        }
        else
        {
            (_more ??= []).Add(command);
        }
    }
}
