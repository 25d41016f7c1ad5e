// Licensed under the Apache License, Version 2.0.

using System.Threading.Tasks.Sources;
using Scst.Core;
using Scst.UserDevice.Protocol;

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
    private long _finished;

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

    /// <summary>
    /// The requests in use: sent to the device process (or held in a submission batch) and not yet finished. Read
    /// without the lock, for metrics: the count is exact once the table is quiet, and between 0 and the capacity always.
    /// </summary>
    public int Outstanding => _entries.Length - Volatile.Read(ref _freeCount);

    /// <summary>The requests finished since the table was made: answered, or ended with the connection. For metrics.</summary>
    public long Finished => Interlocked.Read(ref _finished);

    /// <summary>Takes a free entry, or null when all are in use.</summary>
    public PendingExec? Rent(ScsiCommand? command, ExecAnswer? answer = null, bool setsResponseLength = false)
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

        entry.Start(command, answer, setsResponseLength);
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
            _finished++;
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

    /// <summary>Where a GET_PROVISIONING or PARSE reply puts what it reports; null for the other requests.</summary>
    public ExecAnswer? Answer { get; private set; }

    /// <summary>Whether a GOOD reply's response length is the length of <see cref="Command"/>'s response (EXECUTE_CDB of a read).</summary>
    public bool SetsResponseLength { get; private set; }

    public bool IsPending => Volatile.Read(ref _state) == Waiting;

    public ValueTask<CommandOutcome> Task => new(this, _core.Version);

    internal void Start(ScsiCommand? command, ExecAnswer? answer, bool setsResponseLength)
    {
        Command = command;
        Answer = answer;
        SetsResponseLength = setsResponseLength;
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
        SetsResponseLength = false;
        Volatile.Write(ref _state, Free);
        _table.Free(this);
        return outcome;
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}

/// <summary>What a GOOD reply to a request reports beyond its status, filled by the receive loop before the request completes.</summary>
internal abstract class ExecAnswer
{
    /// <summary>The reply type that answers the request.</summary>
    public virtual MessageType ReplyType => MessageType.ExecReply;

    /// <summary>Takes a GOOD reply's response length and flags; returns what is wrong with them, or null.</summary>
    public abstract string? Accept(int responseLength, byte flags);
}

/// <summary>
/// The extent a GET_PROVISIONING reply reports. One per query (GET LBA STATUS is not a hot path).
/// </summary>
/// <param name="maxBlocks">The most blocks the reply may report (the asked range).</param>
internal sealed class ProvisioningAnswer(long maxBlocks) : ExecAnswer
{
    public long MaxBlocks { get; } = maxBlocks;

    public long Blocks { get; private set; }

    public bool Deallocated { get; private set; }

    public override string? Accept(int responseLength, byte flags)
    {
        uint blocks = (uint)responseLength;
        if (blocks == 0 || blocks > MaxBlocks)
        {
            return $"GET_PROVISIONING reply of {blocks} blocks (1 to {MaxBlocks} asked)";
        }

        Blocks = blocks;
        Deallocated = (flags & ExecReply.DeallocatedFlag) != 0;
        return null;
    }
}

/// <summary>Whether the device made a COPY_WITHIN or declined it. One per offered segment.</summary>
internal sealed class CopyWithinAnswer : ExecAnswer
{
    public bool Declined { get; private set; }

    public override string? Accept(int responseLength, byte flags)
    {
        if ((flags & ~ExecReply.DeclinedFlag) != 0)
        {
            return $"COPY_WITHIN reply with flags 0x{flags:X2}";
        }

        Declined = flags != 0;
        return null;
    }
}

/// <summary>The device's decoding of a command (PARSE_REPLY). One per PARSE.</summary>
internal sealed class ParseAnswer : ExecAnswer
{
    public override MessageType ReplyType => MessageType.ParseReply;

    public DataDirection Direction { get; private set; }

    public int DataLength { get; private set; }

    public bool WritesMedium { get; private set; }

    public override string? Accept(int responseLength, byte flags)
    {
        var direction = (DataDirection)(flags & 0x03);
        if (responseLength < 0 || direction == DataDirection.Bidirectional || (flags & ~(0x03 | ExecReply.WritesMediumFlag)) != 0 ||
            (direction == DataDirection.None) != (responseLength == 0))
        {
            return $"PARSE_REPLY with data length {responseLength} and flags 0x{flags:X2}";
        }

        Direction = direction;
        DataLength = responseLength;
        WritesMedium = (flags & ExecReply.WritesMediumFlag) != 0;
        return null;
    }
}
