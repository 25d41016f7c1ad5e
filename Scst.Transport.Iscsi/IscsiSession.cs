// Licensed under the Apache License, Version 2.0.

using Scst.Core;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Transport.Iscsi;

/// <summary>
/// One iSCSI session (RFC 7143 section 4.3): its connections, the CmdSN window they share, the tasks by Initiator Task
/// Tag, and the core's I_T nexus. A task is allegiant to the connection its command came on; with ErrorRecoveryLevel 2
/// it survives that connection's loss for DefaultTime2Retain seconds, and TASK REASSIGN moves it to another.
/// </summary>
/// <remarks>
/// <para>Ordering: with one connection and ErrorRecoveryLevel 0 the commands arrive in CmdSN order on one TCP stream and
/// go to the core as they are read. With several connections, or at ErrorRecoveryLevel 1 and 2 (where a lost command is
/// retried), a command that arrives before one with a lower CmdSN waits, copied, until the gap fills; one thread at a
/// time delivers, so the core sees CmdSN order across connections (RFC 7143 section 4.2.2.1).</para>
/// <para>Locks: <see cref="TaskLock"/> guards the task table and each task's write state; <c>_lock</c> guards the
/// connections, the ordering queue and the session's lifetime. Neither is held while the core is called.</para>
/// </remarks>
internal sealed class IscsiSession : ISessionTransport
{
    private const int MaxAbortedBeforeArrival = 64;

    private readonly IscsiTargetDriver _driver;
    private readonly Lock _lock = new();
    private readonly Dictionary<ushort, IscsiConnection> _connections = [];
    private readonly Dictionary<uint, DeferredPdu> _deferred = [];
    private readonly Stack<IscsiTask> _freeTasks = new();
    private readonly HashSet<uint> _abortedBeforeArrival = [];
    private uint _expCmdSn;
    private int _inFlight;
    private int _abortedBeforeArrivalCount;
    private uint _nextTargetTransferTag;
    private bool _delivering;
    private bool _ended;
    private ITimer? _retainTimer;

    public IscsiSession(IscsiTargetDriver driver, SessionKey key, ushort tsih)
    {
        _driver = driver;
        Key = key;
        Tsih = tsih;
        Window = Math.Max(1, (key.Target is { } target ? driver.SettingsOf(target)?.QueuedCommands : null) ?? driver.Options.CommandWindow);
    }

    public SessionKey Key { get; }

    public ushort Tsih { get; }

    /// <summary>The session-wide parameters, from the leading connection's login; null until it completes.</summary>
    public NegotiatedParameters? Parameters { get; private set; }

    /// <summary>The core's I_T nexus; null in a Discovery session.</summary>
    public ScsiSession? Scsi { get; private set; }

    public int Window { get; private set; }

    public int ErrorRecoveryLevel { get; private set; }

    /// <summary>Whether non-immediate PDUs go through the CmdSN ordering queue (see the remarks).</summary>
    public bool Ordered { get; private set; }

    /// <summary>Guards <see cref="Tasks"/> and the write state of each task.</summary>
    public Lock TaskLock { get; } = new();

    /// <summary>The session's tasks by Initiator Task Tag. Guarded by <see cref="TaskLock"/>.</summary>
    public Dictionary<uint, IscsiTask> Tasks { get; } = [];

    public uint ExpCmdSn => Volatile.Read(ref _expCmdSn);

    public int InFlight => Volatile.Read(ref _inFlight);

    public bool Ended => Volatile.Read(ref _ended);

    public uint MaxCmdSn(uint expCmdSn) => expCmdSn + (uint)Math.Max(Window - Volatile.Read(ref _inFlight), 0) - 1;

    public void CommandStarted() => Interlocked.Increment(ref _inFlight);

    public void CommandEnded() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Starts the session with the leading connection's login.</summary>
    public void Begin(LoginResult login, IscsiConnection leading)
    {
        NegotiatedParameters p = login.Parameters;
        Parameters = p;
        ErrorRecoveryLevel = p.ErrorRecoveryLevel;
        Ordered = p.MaxConnections > 1 || p.ErrorRecoveryLevel > 0;
        Volatile.Write(ref _expCmdSn, login.ExpCmdSn);
        lock (_lock)
        {
            _connections[login.Identity.Cid] = leading;
        }
    }

    /// <summary>Opens the core's I_T nexus for a Normal session.</summary>
    public void OpenScsi(ScsiTarget target, string accessName, byte[] transportId) => Scsi = target.OpenSession(accessName, transportId, this);

    /// <summary>
    /// Whether a connection with <paramref name="cid"/> may join: the session is not over and has room, or the CID is
    /// one of its connections (connection reinstatement, RFC 7143 section 6.3.4).
    /// </summary>
    public bool CanJoin(ushort cid)
    {
        lock (_lock)
        {
            return !_ended && Parameters is not null
                && (_connections.ContainsKey(cid) || _connections.Count < Parameters.MaxConnections);
        }
    }

    /// <summary>
    /// Adds a connection that logged in with the session's TSIH. A connection with the same CID is reinstated: the old
    /// one is dropped first, and its tasks wait for TASK REASSIGN (ErrorRecoveryLevel 2) or end.
    /// </summary>
    public bool Join(ushort cid, IscsiConnection connection)
    {
        IscsiConnection? old;
        lock (_lock)
        {
            if (_ended)
            {
                return false;
            }

            _connections.TryGetValue(cid, out old);
            _connections[cid] = connection;
            _retainTimer?.Dispose();
            _retainTimer = null;
        }

        if (old is not null && old != connection)
        {
            old.CloseForReinstatement();
        }

        return true;
    }

    /// <summary>The connection with <paramref name="cid"/>, or null.</summary>
    public IscsiConnection? Connection(ushort cid)
    {
        lock (_lock)
        {
            return _connections.TryGetValue(cid, out IscsiConnection? c) ? c : null;
        }
    }

    public IscsiConnection[] Connections()
    {
        lock (_lock)
        {
            return [.. _connections.Values];
        }
    }

    /// <summary>
    /// A connection ended (RFC 7143 sections 6.2 and 11.14). Closing the session ends it. Closing a connection ends its
    /// tasks, and the session with its last connection. Removing a connection for recovery (logout reason 2, or a
    /// reinstated CID) and losing one keep its tasks for TASK REASSIGN at ErrorRecoveryLevel 2, the session outliving its
    /// last connection by DefaultTime2Retain; below level 2 a lost connection ends the session.
    /// </summary>
    public void OnConnectionClosed(ushort cid, IscsiConnection connection, ConnectionEnd how)
    {
        bool last;
        bool end;
        bool hold = ErrorRecoveryLevel >= 2 && how is ConnectionEnd.Lost or ConnectionEnd.RemovedForRecovery;
        lock (_lock)
        {
            if (_connections.TryGetValue(cid, out IscsiConnection? current) && current == connection)
            {
                _connections.Remove(cid);
            }

            last = _connections.Count == 0;
            end = !_ended && (how == ConnectionEnd.SessionClosed || (how == ConnectionEnd.Lost && ErrorRecoveryLevel < 2) || (last && !hold));
            if (!end && hold && last && !_ended && _retainTimer is null)
            {
                int seconds = Parameters?.DefaultTime2Retain ?? 0;
                _retainTimer = _driver.TimeProvider.CreateTimer(static s => ((IscsiSession)s!).OnRetainExpired(), this,
                    TimeSpan.FromSeconds(seconds), Timeout.InfiniteTimeSpan);
            }
        }

        if (end)
        {
            End();
            return;
        }

        if (hold)
        {
            HoldTasksOf(connection);
        }
        else
        {
            // A connection that left a session that goes on: its tasks are over (RFC 7143 section 11.14.1).
            EndTasksOf(connection);
        }
    }

    private void OnRetainExpired()
    {
        lock (_lock)
        {
            if (_connections.Count > 0)
            {
                return;
            }
        }

        End();
    }

    /// <summary>Ends the session: every connection closes, the I_T nexus ends, every task is finished.</summary>
    public void End()
    {
        IscsiConnection[] connections;
        lock (_lock)
        {
            if (_ended)
            {
                return;
            }

            _ended = true;
            _retainTimer?.Dispose();
            _retainTimer = null;
            connections = [.. _connections.Values];
            _deferred.Clear();
        }

        _driver.OnSessionEnded(this);
        Scsi?.Close();
        foreach (IscsiConnection c in connections)
        {
            c.Abort();
        }

        EndTasksOf(null);
    }

    /// <summary>Finishes the tasks of <paramref name="connection"/> (all tasks when null): data waits end, kept responses go.</summary>
    private void EndTasksOf(IscsiConnection? connection)
    {
        List<IscsiTask> waiting = [];
        List<IscsiTask> kept = [];
        lock (TaskLock)
        {
            foreach (IscsiTask t in Tasks.Values)
            {
                if (connection is not null && t.Connection != connection)
                {
                    continue;
                }

                if (t.ResponseSent || t.ResponsePending)
                {
                    kept.Add(t);
                }
                else if (t.DataRequested && t.DataCompleted == 0)
                {
                    t.DataCompleted = 1;
                    waiting.Add(t);
                }
            }

            foreach (IscsiTask t in kept)
            {
                Tasks.Remove(t.InitiatorTaskTag);
            }
        }

        foreach (IscsiTask t in waiting)
        {
            t.Command?.OnWriteDataReceived(false);
        }

        foreach (IscsiTask t in kept)
        {
            t.Command!.Release();
            ReturnTask(t);
        }
    }

    /// <summary>
    /// ErrorRecoveryLevel 2: the tasks of a lost connection wait for TASK REASSIGN. A response that was sent but not
    /// acknowledged is sent again after the reassignment; an outstanding R2T burst is asked for again.
    /// </summary>
    private void HoldTasksOf(IscsiConnection connection)
    {
        lock (TaskLock)
        {
            foreach (IscsiTask t in Tasks.Values)
            {
                if (t.Connection != connection)
                {
                    continue;
                }

                if (t.ResponseSent)
                {
                    t.ResponseSent = false;
                    t.ResponsePending = true;
                }

                if (t.BurstOutstanding)
                {
                    t.AddHole(t.BurstNextOffset, t.BurstEnd - t.BurstNextOffset);
                    t.BurstOutstanding = false;
                }

                if (!t.UnsolicitedDone)
                {
                    t.AddHole(t.UnsolicitedNextOffset, Math.Min(Parameters?.FirstBurstLength ?? 0, t.WriteLength) - t.UnsolicitedNextOffset);
                    t.R2tNextOffset = Math.Max(t.R2tNextOffset, Math.Min(Parameters?.FirstBurstLength ?? 0, t.WriteLength));
                    t.UnsolicitedDone = true;
                }
            }
        }
    }

    /// <summary>
    /// Decides what to do with a non-immediate PDU's CmdSN in ordered mode: deliver it now (the caller then calls
    /// <see cref="DeliverDeferred"/>), keep a copy until its turn, or drop it (outside the window, or seen already).
    /// </summary>
    public CmdSnVerdict Sequence(IscsiConnection connection, in IscsiPdu pdu, uint cmdSn, bool dataDigestFailed)
    {
        lock (_lock)
        {
            uint exp = _expCmdSn;
            if (cmdSn == exp && !_delivering)
            {
                _delivering = true;
                Volatile.Write(ref _expCmdSn, exp + 1);
                return CmdSnVerdict.Deliver;
            }

            if ((int)(cmdSn - exp) < 0 || (int)(cmdSn - MaxCmdSn(exp)) > 0 || _deferred.ContainsKey(cmdSn) || _ended)
            {
                return (int)(cmdSn - exp) < 0 ? CmdSnVerdict.Old : CmdSnVerdict.Drop;
            }

            _deferred.Add(cmdSn, new DeferredPdu(connection, pdu, dataDigestFailed));
            return CmdSnVerdict.Deferred;
        }
    }

    /// <summary>Delivers, in CmdSN order, the PDUs that waited for the one just delivered; then lets another thread deliver.</summary>
    public void DeliverDeferred()
    {
        while (true)
        {
            DeferredPdu next;
            lock (_lock)
            {
                uint exp = _expCmdSn;
                if (!_deferred.Remove(exp, out next!))
                {
                    _delivering = false;
                    return;
                }

                Volatile.Write(ref _expCmdSn, exp + 1);
            }

            next.Connection.HandleDeferred(next.Pdu, next.DataDigestFailed);
        }
    }

    /// <summary>Unordered mode: checks a CmdSN against the window and advances ExpCmdSN (RFC 7143 section 4.2.2.1).</summary>
    public bool AcceptCmdSn(bool immediate, uint cmdSn)
    {
        if (immediate || Ordered)
        {
            return true; // in ordered mode the sequencer has checked it already
        }

        uint expected = Volatile.Read(ref _expCmdSn);
        uint max = MaxCmdSn(expected);
        if ((int)(cmdSn - expected) < 0 || (int)(cmdSn - max) > 0)
        {
            return false;
        }

        Volatile.Write(ref _expCmdSn, cmdSn + 1);
        return true;
    }

    // RFC 7143 section 11.5.1: an ABORT TASK for a task the target does not have, whose RefCmdSN lies in the CmdSN window
    // and before the function's own CmdSN, names a command that has not arrived yet. The target takes that CmdSN as
    // received, drops the command when it arrives, and answers FUNCTION COMPLETE. A RefCmdSN outside the window names a
    // command that is gone: TASK DOES NOT EXIST.
    public bool AbortBeforeArrival(uint refCmdSn, uint cmdSn)
    {
        uint exp = Volatile.Read(ref _expCmdSn);
        if ((int)(refCmdSn - exp) < 0 || (int)(refCmdSn - MaxCmdSn(exp)) > 0 || (int)(refCmdSn - cmdSn) >= 0)
        {
            return false;
        }

        lock (TaskLock)
        {
            if (_abortedBeforeArrival.Count < MaxAbortedBeforeArrival)
            {
                _abortedBeforeArrival.Add(refCmdSn);
                Volatile.Write(ref _abortedBeforeArrivalCount, _abortedBeforeArrival.Count);
            }
        }

        return true;
    }

    // A command that an ABORT TASK named by its RefCmdSN before it arrived: its CmdSN counts as received, the command is
    // dropped without a response. One lock-free read when no such abort happened.
    public bool WasAbortedBeforeArrival(bool immediate, uint cmdSn)
    {
        if (immediate || Volatile.Read(ref _abortedBeforeArrivalCount) == 0)
        {
            return false;
        }

        lock (TaskLock)
        {
            bool removed = _abortedBeforeArrival.Remove(cmdSn);
            Volatile.Write(ref _abortedBeforeArrivalCount, _abortedBeforeArrival.Count);
            return removed;
        }
    }

    /// <summary>A new Target Transfer Tag (never 0xffffffff). Caller holds <see cref="TaskLock"/>.</summary>
    public uint NextTargetTransferTag()
    {
        uint ttt;
        do
        {
            ttt = ++_nextTargetTransferTag;
        }
        while (ttt == IscsiTask.ReservedTag);

        return ttt;
    }

    public IscsiTask RentTask()
    {
        lock (TaskLock)
        {
            if (_freeTasks.TryPop(out IscsiTask? t))
            {
                return t;
            }
        }

        var task = new IscsiTask();
        task.Reset();
        return task;
    }

    public void ReturnTask(IscsiTask task)
    {
        task.Reset();
        lock (TaskLock)
        {
            _freeTasks.Push(task);
        }
    }

    // The core talks to the session; each call goes to the connection the command is allegiant to.
    void ISessionTransport.RequestWriteData(ScsiCommand command) => ((IscsiTask)command.TransportState!).Connection!.RequestWriteData(command);

    void ISessionTransport.SendResponse(ScsiCommand command) => ((IscsiTask)command.TransportState!).Connection!.SendResponse(command);

    void ISessionTransport.OnCommandAborted(ScsiCommand command) => ((IscsiTask)command.TransportState!).Connection!.OnCommandAborted(command);

    void ISessionTransport.OnAbortWhileReceiving(ScsiCommand command)
    {
        if (command.TransportState is IscsiTask { Connection: { } connection })
        {
            connection.OnAbortWhileReceiving(command);
        }
    }

    /// <summary>A copy of a PDU that arrived before its CmdSN's turn.</summary>
    private sealed class DeferredPdu
    {
        private readonly byte[] _ahs;
        private readonly byte[] _data;

        public DeferredPdu(IscsiConnection connection, in IscsiPdu pdu, bool dataDigestFailed)
        {
            Connection = connection;
            Header = pdu.Header;
            DataDigestFailed = dataDigestFailed;
            _ahs = System.Buffers.BuffersExtensions.ToArray(pdu.AdditionalHeaderSegments);
            _data = dataDigestFailed ? [] : System.Buffers.BuffersExtensions.ToArray(pdu.DataSegment);
        }

        public bool DataDigestFailed { get; }

        public IscsiConnection Connection { get; }

        public IscsiPduHeader Header { get; }

        public IscsiPdu Pdu => new(Header, new(_ahs), new(_data), 0);
    }
}

/// <summary>How a connection of a session ended.</summary>
internal enum ConnectionEnd
{
    /// <summary>Without a logout: the TCP connection failed or was dropped.</summary>
    Lost,

    /// <summary>Logout, reason 0: the whole session closes.</summary>
    SessionClosed,

    /// <summary>Logout, reason 1: the connection closes, its tasks end.</summary>
    ConnectionClosed,

    /// <summary>Logout, reason 2, or a login that reinstated its CID: the tasks wait for TASK REASSIGN.</summary>
    RemovedForRecovery,
}

/// <summary>What the CmdSN ordering decided for a PDU.</summary>
internal enum CmdSnVerdict
{
    /// <summary>Its turn: deliver it now, then the PDUs that waited for it.</summary>
    Deliver,

    /// <summary>Kept until the PDUs before it have arrived.</summary>
    Deferred,

    /// <summary>Outside the window, or a copy of one already waiting: ignored.</summary>
    Drop,

    /// <summary>Below ExpCmdSN: a retried command, or a duplicate.</summary>
    Old,
}
