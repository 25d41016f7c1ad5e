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
    private readonly HashSet<ushort> _reserved = [];
    private readonly Dictionary<uint, DeferredPdu> _deferred = [];
    private readonly Stack<IscsiTask> _freeTasks = new();
    private readonly HashSet<uint> _abortedBeforeArrival = [];
    private uint _expCmdSn;
    private int _inFlight;
    private int _abortedBeforeArrivalCount;
    private uint _nextTargetTransferTag;
    private uint _advertisedMaxCmdSn;
    private bool _delivering;
    private DeferredPdu? _inDelivery;
    private bool _ended;
    private ITimer? _retainTimer;
    private readonly List<ITimer> _connectionRetainTimers = [];
    private IscsiSession? _reinstated;

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

    /// <summary>
    /// The largest data segment the target sends on the leading connection (the initiator's MaxRecvDataSegmentLength,
    /// bounded by the target's MaxXmitDataSegmentLength and the driver's own limits); 0 until its login completes.
    /// </summary>
    public int XmitDataSegmentLength { get; set; }

    /// <summary>
    /// Whether the session is reinstating an older one of the same initiator port (RFC 7143 section 6.3.5) whose
    /// connections are still closing (SCST's session attribute <c>reinstating</c>).
    /// </summary>
    public bool Reinstating
    {
        get
        {
            if (Volatile.Read(ref _reinstated) is not { } old)
            {
                return false;
            }

            if (old.Connections().Length > 0)
            {
                return true;
            }

            Volatile.Write(ref _reinstated, null);
            return false;
        }
    }

    /// <summary>Notes the older session this one reinstates (see <see cref="Reinstating"/>).</summary>
    public void Reinstates(IscsiSession old) => Volatile.Write(ref _reinstated, old);

    /// <summary>The session's connections, by CID.</summary>
    public IscsiConnection[] Connections()
    {
        lock (_lock)
        {
            return [.. _connections.OrderBy(c => c.Key).Select(c => c.Value)];
        }
    }

    public int InFlight => Volatile.Read(ref _inFlight);

    public bool Ended => Volatile.Read(ref _ended);

    /// <summary>
    /// MaxCmdSN to send now (RFC 7143 section 4.2.2.1). The highest one sent is remembered: a command up to it is
    /// accepted even if the window has closed a little since (a response computed it while a command was being counted).
    /// </summary>
    public uint MaxCmdSn(uint expCmdSn)
    {
        uint max = ComputeMaxCmdSn(expCmdSn);
        uint advertised = Volatile.Read(ref _advertisedMaxCmdSn);
        while ((int)(max - advertised) > 0)
        {
            uint seen = Interlocked.CompareExchange(ref _advertisedMaxCmdSn, max, advertised);
            if (seen == advertised)
            {
                break;
            }

            advertised = seen;
        }

        return max;
    }

    private uint ComputeMaxCmdSn(uint expCmdSn) => expCmdSn + (uint)Math.Max(Window - Volatile.Read(ref _inFlight), 0) - 1;

    // The last CmdSN a command may carry: what the window allows now, or the highest MaxCmdSN sent if that is later.
    private uint AcceptLimit(uint expCmdSn)
    {
        uint now = ComputeMaxCmdSn(expCmdSn);
        uint advertised = Volatile.Read(ref _advertisedMaxCmdSn);
        return (int)(advertised - now) > 0 && (int)(advertised - expCmdSn) < Window ? advertised : now;
    }

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
        Volatile.Write(ref _advertisedMaxCmdSn, login.ExpCmdSn + (uint)Window - 1);
        lock (_lock)
        {
            _connections[login.Identity.Cid] = leading;
        }
    }

    /// <summary>Opens the core's I_T nexus for a Normal session.</summary>
    public void OpenScsi(ScsiTarget target, string accessName, byte[] transportId) => Scsi = target.OpenSession(accessName, transportId, this);

    /// <summary>
    /// Whether a connection with <paramref name="cid"/> may join, keeping its place until it joins
    /// (<see cref="Join"/>) or gives it back (<see cref="CancelReservation"/>): the session is not over and has room, or
    /// the CID is one of its connections (connection reinstatement, RFC 7143 section 6.3.4).
    /// </summary>
    public bool TryReserve(ushort cid)
    {
        lock (_lock)
        {
            if (_ended || Parameters is null)
            {
                return false;
            }

            if (_connections.ContainsKey(cid) || _reserved.Contains(cid))
            {
                return true;
            }

            // A login that will join holds its place from the moment it is bound, before its final response leaves,
            // so that a login right after it counts it.
            if (_connections.Count + _reserved.Count >= Parameters.MaxConnections)
            {
                return false;
            }

            _reserved.Add(cid);
            return true;
        }
    }

    /// <summary>Gives back the place of a login that was bound but did not join.</summary>
    public void CancelReservation(ushort cid)
    {
        lock (_lock)
        {
            _reserved.Remove(cid);
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
            _reserved.Remove(cid);
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

    /// <summary>
    /// A connection ended (RFC 7143 sections 6.2 and 11.14). Closing the session ends it. Closing a connection ends its
    /// tasks, and the session with its last connection. Removing a connection for recovery (logout reason 2, or a
    /// reinstated CID) and losing one keep its tasks for TASK REASSIGN at ErrorRecoveryLevel 2, the session outliving its
    /// last connection by DefaultTime2Retain; below level 2 a lost connection ends the session.
    /// </summary>
    public void OnConnectionClosed(ushort cid, IscsiConnection connection, ConnectionEnd how)
    {
        bool end;
        bool hold;
        lock (_lock)
        {
            if (_connections.TryGetValue(cid, out IscsiConnection? current) && current == connection)
            {
                _connections.Remove(cid);
            }

            bool last = _connections.Count == 0;
            hold = !_ended && ErrorRecoveryLevel >= 2 && how is ConnectionEnd.Lost or ConnectionEnd.RemovedForRecovery;
            end = !_ended && (how == ConnectionEnd.SessionClosed || (how == ConnectionEnd.Lost && ErrorRecoveryLevel < 2) || (last && !hold));
            if (hold)
            {
                // Tasks wait DefaultTime2Wait + DefaultTime2Retain for TASK REASSIGN (RFC 7143 section 6.2.2); a session
                // with no connection left waits as long for a new one.
                TimeSpan retain = TimeSpan.FromSeconds((Parameters?.DefaultTime2Wait ?? 0) + (Parameters?.DefaultTime2Retain ?? 0));
                if (last)
                {
                    _retainTimer ??= _driver.TimeProvider.CreateTimer(static s => ((IscsiSession)s!).OnRetainExpired(), this, retain, Timeout.InfiniteTimeSpan);
                }
                else
                {
                    _connectionRetainTimers.Add(_driver.TimeProvider.CreateTimer(static s => ((RetainedConnection)s!).Expire(), new RetainedConnection(this, connection),
                        retain, Timeout.InfiniteTimeSpan));
                }
            }
        }

        if (end)
        {
            End();
        }
        else if (hold)
        {
            HoldTasksOf(connection);
        }
        else
        {
            // A connection that left a session that goes on (or is over): its tasks are over (RFC 7143 section 11.14.1).
            EndTasksOf(connection);
        }
    }

    /// <summary>The held tasks of a connection whose DefaultTime2Wait + DefaultTime2Retain ran out: those not reassigned end.</summary>
    private sealed class RetainedConnection(IscsiSession session, IscsiConnection connection)
    {
        public void Expire() => session.EndTasksOf(connection);
    }

    /// <summary>
    /// Logout reason 1 for a connection that has failed already: its tasks, held for recovery, end. False when no task
    /// of a connection with that CID is left.
    /// </summary>
    public bool EndTasksOfLostConnection(ushort cid)
    {
        IscsiConnection? lost = null;
        lock (TaskLock)
        {
            foreach (IscsiTask t in Tasks.Values)
            {
                if (t.Connection is { IsClosed: true } c && c.Cid == cid && !t.Abandoned)
                {
                    lost = c;
                    break;
                }
            }
        }

        if (lost is null)
        {
            return false;
        }

        EndTasksOf(lost);
        return true;
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
            foreach (ITimer t in _connectionRetainTimers)
            {
                t.Dispose();
            }

            _connectionRetainTimers.Clear();
            connections = [.. _connections.Values];
            _deferred.Clear();
        }

        // Writes waiting for data end first, then the I_T nexus, as when the one connection of a session closes.
        _driver.OnSessionEnded(this);
        EndTasksOf(null);
        Scsi?.Close();
        foreach (IscsiConnection c in connections)
        {
            c.Abort();
        }
    }

    /// <summary>
    /// Finishes the tasks of <paramref name="connection"/> (all tasks when null): they are abandoned (a response still to
    /// come is dropped), data waits end, kept responses go.
    /// </summary>
    private void EndTasksOf(IscsiConnection? connection)
    {
        List<IscsiTask> waiting = [];
        List<(IscsiTask Task, IscsiConnection? Connection)> kept = [];
        lock (TaskLock)
        {
            foreach (IscsiTask t in Tasks.Values)
            {
                if (connection is not null && t.Connection != connection)
                {
                    continue;
                }

                t.Abandoned = true;
                if (t.ResponseSent || t.ResponsePending)
                {
                    t.ResponseSent = false;
                    t.ResponsePending = false;
                    kept.Add((t, t.Connection));
                }
                else if (t.DataRequested && t.DataCompleted == 0)
                {
                    t.DataCompleted = 1;
                    waiting.Add(t);
                }
            }

            foreach ((IscsiTask t, _) in kept)
            {
                Tasks.Remove(t.InitiatorTaskTag);
            }
        }

        foreach (IscsiTask t in waiting)
        {
            t.Command?.OnWriteDataReceived(false);
        }

        foreach ((IscsiTask t, IscsiConnection? c) in kept)
        {
            c?.WaitForSends(); // a resend that read the response before it was taken finishes first
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
                if (t.Connection == connection)
                {
                    HoldTask(t);
                }
            }
        }
    }

    /// <summary>Hands one task of a lost connection over for reassignment, once. Caller holds <see cref="TaskLock"/>.</summary>
    public void HoldTask(IscsiTask t)
    {
        if (t.Held)
        {
            return;
        }

        t.Held = true;
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
            int end = Math.Min(Parameters?.FirstBurstLength ?? 0, t.WriteLength);
            t.AddHole(t.UnsolicitedNextOffset, end - t.UnsolicitedNextOffset);
            t.R2tNextOffset = Math.Max(t.R2tNextOffset, end);
            t.UnsolicitedDone = true;
        }
    }

    /// <summary>
    /// Decides what to do with a non-immediate PDU's CmdSN in ordered mode: deliver it now (the caller then calls
    /// <see cref="DeliverDeferred"/>), keep a copy until its turn, or drop it (outside the window, or seen already). A
    /// copy left by a connection that has since closed gives way to the same CmdSN sent again (a retry).
    /// </summary>
    public CmdSnVerdict Sequence(IscsiConnection connection, in IscsiPdu pdu, uint cmdSn, bool dataDigestFailed)
    {
        lock (_lock)
        {
            uint exp = _expCmdSn;
            if (cmdSn == exp && !_delivering)
            {
                _delivering = true;
                _deferred.Remove(cmdSn);
                Volatile.Write(ref _expCmdSn, exp + 1);
                return CmdSnVerdict.Deliver;
            }

            if ((int)(cmdSn - exp) < 0)
            {
                return CmdSnVerdict.Old;
            }

            if ((int)(cmdSn - AcceptLimit(exp)) > 0 || _ended
                || (_deferred.TryGetValue(cmdSn, out DeferredPdu? waiting) && !waiting.Connection.IsClosed))
            {
                return CmdSnVerdict.Drop;
            }

            _deferred[cmdSn] = new DeferredPdu(connection, pdu, dataDigestFailed);
            return CmdSnVerdict.Deferred;
        }
    }

    /// <summary>
    /// Delivers, in CmdSN order, the PDUs that waited for the one just delivered; then lets another thread deliver. A PDU
    /// whose connection has closed meanwhile is not delivered and its CmdSN not taken: the initiator sends it again.
    /// </summary>
    public void DeliverDeferred()
    {
        while (true)
        {
            DeferredPdu next;
            lock (_lock)
            {
                uint exp = _expCmdSn;
                if (!_deferred.TryGetValue(exp, out next!) || next.Connection.IsClosed)
                {
                    _delivering = false;
                    return;
                }

                _deferred.Remove(exp);
                Volatile.Write(ref _expCmdSn, exp + 1);
                _inDelivery = next;
            }

            try
            {
                next.Connection.HandleDeferred(next.Pdu, next.DataDigestFailed);

                // Data-Out that came for the command while it waited, in order; more may still come while this runs.
                while (true)
                {
                    IscsiPdu dataOut;
                    lock (_lock)
                    {
                        if (next.DataOuts is not { Count: > 0 } queue)
                        {
                            _inDelivery = null;
                            break;
                        }

                        dataOut = queue.Dequeue();
                    }

                    next.Connection.HandleDeferredDataOut(dataOut);
                }
            }
            catch
            {
                lock (_lock)
                {
                    _inDelivery = null;
                    _delivering = false;
                }

                throw;
            }
        }
    }

    /// <summary>
    /// A Data-Out for a command that waits for its CmdSN (or is being delivered): kept, and handled right after the
    /// command. False when the command is not waiting (the Data-Out is handled as usual).
    /// </summary>
    public bool TryDeferDataOut(IscsiConnection connection, in IscsiPdu pdu)
    {
        uint itt = pdu.Header.InitiatorTaskTag;
        lock (_lock)
        {
            DeferredPdu? owner = _inDelivery is { } d && d.Connection == connection && d.Header.InitiatorTaskTag == itt ? d : null;
            if (owner is null)
            {
                foreach (DeferredPdu w in _deferred.Values)
                {
                    if (w.Connection == connection && w.Header.InitiatorTaskTag == itt && w.Header.Opcode == IscsiOpcode.ScsiCommand)
                    {
                        owner = w;
                        break;
                    }
                }
            }

            if (owner is null)
            {
                return false;
            }

            (owner.DataOuts ??= new Queue<IscsiPdu>()).Enqueue(DeferredPdu.Copy(pdu));
            return true;
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
        uint max = AcceptLimit(expected);
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
        if ((int)(refCmdSn - exp) < 0 || (int)(refCmdSn - AcceptLimit(exp)) > 0 || (int)(refCmdSn - cmdSn) >= 0)
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

    IReadOnlyList<Scst.Core.Management.ManagementAttribute> ISessionTransport.GetManagementAttributes() => IscsiSessionManagement.Attributes(this);

    IReadOnlyList<Scst.Core.Management.ManagementDirectory> ISessionTransport.GetManagementDirectories() => IscsiSessionManagement.Connections(this);

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

        /// <summary>Data-Out PDUs for this command that came while it waited. Guarded by the session's lock.</summary>
        public Queue<IscsiPdu>? DataOuts { get; set; }

        public static IscsiPdu Copy(in IscsiPdu pdu) =>
            new(pdu.Header, new(System.Buffers.BuffersExtensions.ToArray(pdu.AdditionalHeaderSegments)), new(System.Buffers.BuffersExtensions.ToArray(pdu.DataSegment)), 0);
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
