// Licensed under the Apache License, Version 2.0.

using System.Threading.Tasks.Sources;
using Scst.Core;

namespace Scst.UserDevice.Target;

/// <summary>
/// The EXECs a device process has not answered yet: a preallocated table whose index and generation form the EXEC
/// handle. Each entry is the pooled <see cref="IValueTaskSource{TResult}"/> the core awaits, so an EXEC costs no
/// allocation. Continuations run inline on the thread that completes the entry (the device's receive loop), so the
/// response leaves for the initiator from there without another hop.
/// </summary>
internal sealed class PendingExecTable
{
    private readonly PendingExec[] _entries;
    private readonly int[] _free;
    private readonly Lock _lock = new();
    private int _freeCount;

    public PendingExecTable(int capacity)
    {
        _entries = new PendingExec[capacity];
        _free = new int[capacity];
        for (int i = 0; i < capacity; i++)
        {
            _entries[i] = new PendingExec(this, i);
            _free[i] = capacity - 1 - i;
        }

        _freeCount = capacity;
    }

    /// <summary>Takes a free entry, or null when all are in use.</summary>
    public PendingExec? Rent(ScsiCommand? command, ProvisioningAnswer? answer = null)
    {
        PendingExec entry;
        lock (_lock)
        {
            if (_freeCount == 0)
            {
                return null;
            }

            entry = _entries[_free[--_freeCount]];
        }

        entry.Start(command, answer);
        return entry;
    }

    /// <summary>The pending entry a handle names, or null when the handle is unknown or already answered.</summary>
    public PendingExec? Find(ulong handle)
    {
        uint index = (uint)handle - 1;
        if (index >= (uint)_entries.Length)
        {
            return null;
        }

        PendingExec entry = _entries[index];
        return entry.IsPending && entry.Handle == handle ? entry : null;
    }

    /// <summary>The handle of the pending EXEC made for <paramref name="command"/>, or 0.</summary>
    public ulong HandleOf(ScsiCommand command)
    {
        foreach (PendingExec e in _entries)
        {
            ulong handle = e.Handle;
            if (e.IsPending && e.Command == command)
            {
                return handle;
            }
        }

        return 0;
    }

    /// <summary>Completes every pending entry with <paramref name="outcome"/> (the device process died).</summary>
    public int CompleteAll(CommandOutcome outcome)
    {
        int n = 0;
        foreach (PendingExec e in _entries)
        {
            if (e.TryComplete(outcome))
            {
                n++;
            }
        }

        return n;
    }

    internal void Free(PendingExec entry)
    {
        lock (_lock)
        {
            _free[_freeCount++] = entry.Index;
        }
    }
}

/// <summary>One EXEC waiting for its reply.</summary>
internal sealed class PendingExec : IValueTaskSource<CommandOutcome>
{
    private const int Free = 0;
    private const int Waiting = 1;
    private const int Completed = 2;

    private readonly PendingExecTable _table;
    private ManualResetValueTaskSourceCore<CommandOutcome> _core;
    private uint _generation;
    private int _state;

    public PendingExec(PendingExecTable table, int index)
    {
        _table = table;
        Index = index;
        _core.RunContinuationsAsynchronously = false;
    }

    public int Index { get; }

    /// <summary>The EXEC handle: generation in the high 32 bits, index + 1 in the low (never 0).</summary>
    public ulong Handle => ((ulong)Volatile.Read(ref _generation) << 32) | (uint)(Index + 1);

    public ScsiCommand? Command { get; private set; }

    /// <summary>Where a GET_PROVISIONING reply puts the extent; null for the other primitives.</summary>
    public ProvisioningAnswer? Answer { get; private set; }

    public bool IsPending => Volatile.Read(ref _state) == Waiting;

    public ValueTask<CommandOutcome> Task => new(this, _core.Version);

    internal void Start(ScsiCommand? command, ProvisioningAnswer? answer)
    {
        Command = command;
        Answer = answer;
        _generation++;
        Volatile.Write(ref _state, Waiting);
    }

    /// <summary>Completes the entry once; false when it was completed already.</summary>
    public bool TryComplete(in CommandOutcome outcome)
    {
        if (Interlocked.CompareExchange(ref _state, Completed, Waiting) != Waiting)
        {
            return false;
        }

        _core.SetResult(outcome);
        return true;
    }

    public CommandOutcome GetResult(short token)
    {
        CommandOutcome outcome = _core.GetResult(token);
        _core.Reset();
        Command = null;
        Answer = null;
        Volatile.Write(ref _state, Free);
        _table.Free(this);
        return outcome;
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}

/// <summary>
/// The extent a GET_PROVISIONING reply reports, filled by the receive loop before it completes the EXEC. One per query
/// (GET LBA STATUS is not a hot path).
/// </summary>
/// <param name="maxBlocks">The most blocks the reply may report (the asked range).</param>
internal sealed class ProvisioningAnswer(long maxBlocks)
{
    public long MaxBlocks { get; } = maxBlocks;

    public long Blocks { get; set; }

    public bool Deallocated { get; set; }
}
