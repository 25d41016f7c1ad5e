// Licensed under the Apache License, Version 2.0.

using IscsiTmfResponse = Scst.Transport.Iscsi.Protocol.TaskManagementResponse;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Transport.Iscsi;

/// <summary>
/// Error recovery at ErrorRecoveryLevel 1 and 2 (RFC 7143 sections 6.2 and 7): responses kept until acknowledged, SNACK,
/// retried commands, recovery R2Ts when Data-Out goes missing, and tasks moved to this connection by TASK REASSIGN.
/// </summary>
/// <remarks>
/// <para>At ErrorRecoveryLevel 1 and up a command's response is not released when it is sent: the command (with its
/// Data-In buffer and sense) stays in the session's task table until the initiator's ExpStatSN passes its StatSN. Its
/// Data-In PDUs go without the status (no phase collapse) and a SCSI Response follows, so that a Data SNACK resends data
/// and a Status SNACK resends the status, each exactly as first sent.</para>
/// <para>Write data that goes missing (a Data-Out whose offset skips a range, a data digest error, a burst that stops
/// coming for <see cref="IscsiTargetOptions.DataOutTimeout"/>) is asked for again with a recovery R2T.</para>
/// </remarks>
internal sealed partial class IscsiConnection
{
    // Responses sent and not yet acknowledged, in StatSN order. Guarded by the session's TaskLock.
    private readonly Queue<IscsiTask> _unacknowledged = new();
    private ITimer? _dataOutTimer;

    /// <summary>
    /// ErrorRecoveryLevel 1 and up: sends a task's kept response (<see cref="IscsiTask.Kept"/>; its command is released
    /// already) and keeps it until its StatSN is acknowledged. A task moved to another connection meanwhile is answered
    /// there; one whose connection is gone waits for TASK REASSIGN (level 2) or is dropped.
    /// </summary>
    internal void SendKeptResponse(IscsiTask task)
    {
        IscsiSession session = _s!;
        IscsiConnection? forward = null;
        bool release = false;
        lock (_sendLock)
        {
            bool send;
            lock (session.TaskLock)
            {
                forward = task.Connection != this ? task.Connection : null;
                release = forward is null && Dropped(session, task);
                send = forward is null && !release && !IsClosed;
                if (forward is null && !release && IsClosed)
                {
                    task.ResponsePending = true; // level 2: waits for TASK REASSIGN
                }
            }

            if (send)
            {
                SendWholeResponseLocked(task, fromDataSn: 0, snackTag: null);
                lock (session.TaskLock)
                {
                    if (task.Connection != this)
                    {
                        forward = task.Connection; // reassigned while it was being sent into a dying connection
                    }
                    else if (Dropped(session, task))
                    {
                        release = true;
                    }
                    else if (IsClosed)
                    {
                        task.ResponsePending = true;
                    }
                    else
                    {
                        task.ResponseSent = true;
                        _unacknowledged.Enqueue(task);
                    }
                }
            }

            if (release)
            {
                lock (session.TaskLock)
                {
                    session.Tasks.Remove(task.InitiatorTaskTag);
                }
            }
        }

        if (forward is not null)
        {
            forward.SendKeptResponse(task);
        }
        else if (release)
        {
            session.ReturnTask(task);
        }
    }

    // Whether a finished task's response has nowhere to go: the session ended, its connection left without recovery, or
    // the connection is gone below level 2. Caller holds TaskLock.
    private bool Dropped(IscsiSession session, IscsiTask task) =>
        session.Ended || task.Abandoned || (IsClosed && session.ErrorRecoveryLevel < 2);

    /// <summary>
    /// Sends a task's kept Data-In (from <paramref name="fromDataSn"/>, cut as when it was first sent) and then its status
    /// as a SCSI Response with a new StatSN, recorded in the task. Caller holds <c>_sendLock</c>.
    /// </summary>
    private void SendWholeResponseLocked(IscsiTask task, uint fromDataSn, uint? snackTag)
    {
        KeptResponse kept = task.Kept!;
        if (kept.DataInLimit == 0)
        {
            kept.DataInLimit = _dataInLimit;
            kept.BurstLength = _maxBurstLength;
        }

        var fields = ResponseFields.Of(kept);
        ReadOnlySpan<byte> data = kept.Data;
        uint pdus = data.IsEmpty ? 0 : SendDataInLocked(fields, task.InitiatorTaskTag, data, kept.DataInLimit, kept.BurstLength, fromDataSn, uint.MaxValue,
            withStatus: false, snackTag ?? IscsiTask.ReservedTag);
        uint statSn = NextStatSnLocked();
        task.StatSn = statSn;
        task.DataInPdus = pdus;
        SendScsiResponseLocked(fields, kept.Sense, task.InitiatorTaskTag, pdus, statSn);
    }

    /// <summary>Returns once no send of this connection is under way (a kept response may then be freed).</summary>
    internal void WaitForSends()
    {
        lock (_sendLock)
        {
        }
    }

    /// <summary>Releases the kept responses whose StatSN the initiator's ExpStatSN acknowledges (RFC 7143 section 4.2.2.2).</summary>
    private void AcknowledgeStatus(uint expStatSn)
    {
        List<IscsiTask>? released = null;
        IscsiSession session = _s!;
        lock (session.TaskLock)
        {
            while (_unacknowledged.TryPeek(out IscsiTask? t))
            {
                if (!t.ResponseSent || t.Connection != this)
                {
                    _unacknowledged.Dequeue(); // moved to another connection, or released with the session
                    continue;
                }

                if ((int)(expStatSn - t.StatSn) <= 0)
                {
                    break;
                }

                _unacknowledged.Dequeue();
                t.ResponseSent = false;
                session.Tasks.Remove(t.InitiatorTaskTag);
                (released ??= []).Add(t);
            }
        }

        if (released is null)
        {
            return;
        }

        // Resends run on this receive loop too, so none is under way.
        foreach (IscsiTask t in released)
        {
            session.ReturnTask(t);
        }
    }

    /// <summary>Sends a kept response again: Data-In from <paramref name="fromDataSn"/>, then (all of it asked) the status with its StatSN.</summary>
    private void ResendResponse(IscsiTask task, uint fromDataSn, uint dataSnCount, uint? snackTag)
    {
        lock (_sendLock)
        {
            KeptResponse kept;
            uint statSn;
            lock (_s!.TaskLock)
            {
                if (!task.ResponseSent || task.Connection != this || task.Kept is null)
                {
                    return;
                }

                kept = task.Kept;
                statSn = task.StatSn;
            }

            var fields = ResponseFields.Of(kept);
            if (!kept.Data.IsEmpty)
            {
                SendDataInLocked(fields, task.InitiatorTaskTag, kept.Data, kept.DataInLimit, kept.BurstLength, fromDataSn, dataSnCount, withStatus: false,
                    snackTag ?? IscsiTask.ReservedTag);
            }

            if (dataSnCount == uint.MaxValue)
            {
                SendScsiResponseLocked(fields, kept.Sense, task.InitiatorTaskTag, task.DataInPdus, statSn);
            }
        }
    }

    /// <summary>Sends the outstanding R2T of a write again, unchanged (a retried command or an R2T SNACK).</summary>
    private void ResendR2t(IscsiTask task)
    {
        uint ttt;
        lock (_s!.TaskLock)
        {
            if (!task.BurstOutstanding || task.Connection != this)
            {
                return;
            }

            ttt = task.BurstTag;
        }

        SendR2t(task, ttt);
    }

    /// <summary>
    /// SNACK (RFC 7143 section 11.16), at ErrorRecoveryLevel 1 and up: Data/R2T SNACK resends Data-In PDUs by DataSN or
    /// the outstanding R2T by R2TSN, Status SNACK resends responses by StatSN, R-Data SNACK resends a command's whole
    /// Data-In and status, DataACK is taken note of. A SNACK for something the target does not have is rejected.
    /// </summary>
    private void HandleSnack(in IscsiPdu pdu)
    {
        IscsiSession session = _s!;
        if (session.ErrorRecoveryLevel == 0 || session.Scsi is null)
        {
            // ErrorRecoveryLevel 0: SNACK is not supported (RFC 7143 section 11.16).
            SendReject(RejectReason.ProtocolError, pdu.Header.Bytes);
            return;
        }

        SnackRequestHeader snack = pdu.Header.AsSnackRequest();
        switch (snack.Type)
        {
            case SnackType.Status:
                if (!ResendStatuses(snack.BegRun, snack.RunLength))
                {
                    SendReject(RejectReason.ProtocolError, pdu.Header.Bytes);
                }

                return;
            case SnackType.DataAck:
                return;
            case SnackType.DataOrR2T:
            case SnackType.ResegmentedData:
                break;
            default:
                SendReject(RejectReason.ProtocolError, pdu.Header.Bytes);
                return;
        }

        IscsiTask? task;
        bool sent;
        bool burst;
        uint r2tSn;
        uint pdus;
        lock (session.TaskLock)
        {
            if (!session.Tasks.TryGetValue(snack.InitiatorTaskTag, out task) || task.Connection != this)
            {
                task = null;
            }

            sent = task?.ResponseSent == true;
            burst = task?.BurstOutstanding == true;
            r2tSn = task?.BurstR2tSn ?? 0;
            pdus = task?.DataInPdus ?? 0;
        }

        if (task is null)
        {
            SendReject(RejectReason.ProtocolError, pdu.Header.Bytes);
            return;
        }

        if (snack.Type == SnackType.ResegmentedData)
        {
            if (sent)
            {
                ResendResponse(task, 0, uint.MaxValue, snack.TargetTransferTagOrSnackTag);
            }
            else
            {
                SendReject(RejectReason.ProtocolError, pdu.Header.Bytes);
            }

            return;
        }

        uint count = snack.RunLength == 0 ? uint.MaxValue : snack.RunLength;
        if (sent && pdus > 0 && snack.BegRun < pdus && (count == uint.MaxValue || snack.BegRun + count <= pdus))
        {
            // Data SNACK: the Data-In PDUs only; the status goes again only when asked for by a Status SNACK.
            ResendResponse(task, snack.BegRun, count == uint.MaxValue ? pdus - snack.BegRun : count, snackTag: null);
        }
        else if (burst && snack.BegRun == r2tSn && (count == uint.MaxValue || count == 1))
        {
            ResendR2t(task);
        }
        else
        {
            SendReject(RejectReason.ProtocolError, pdu.Header.Bytes);
        }
    }

    // Status SNACK: the kept responses with StatSN in [begRun, begRun + runLength) (runLength 0: all from begRun).
    private bool ResendStatuses(uint begRun, uint runLength)
    {
        List<IscsiTask> found = [];
        lock (_s!.TaskLock)
        {
            foreach (IscsiTask t in _unacknowledged)
            {
                uint distance = t.StatSn - begRun;
                if (t.ResponseSent && t.Connection == this && (int)distance >= 0 && (runLength == 0 || distance < runLength))
                {
                    found.Add(t);
                }
            }
        }

        if (found.Count == 0)
        {
            return false;
        }

        lock (_sendLock)
        {
            foreach (IscsiTask t in found)
            {
                KeptResponse? kept;
                lock (_s.TaskLock)
                {
                    kept = t.ResponseSent && t.Connection == this ? t.Kept : null;
                }

                if (kept is not null)
                {
                    SendScsiResponseLocked(ResponseFields.Of(kept), kept.Sense, t.InitiatorTaskTag, t.DataInPdus, t.StatSn);
                }
            }
        }

        return true;
    }

    /// <summary>
    /// TASK REASSIGN (RFC 7143 section 11.5.1), ErrorRecoveryLevel 2: moves a task whose connection is gone to this one.
    /// Returns the response, and in <paramref name="task"/> the task to resume once the response is out.
    /// </summary>
    private IscsiTmfResponse Reassign(uint itt, out IscsiTask? task)
    {
        IscsiSession session = _s!;
        lock (session.TaskLock)
        {
            if (!session.Tasks.TryGetValue(itt, out task) || task.Abandoned)
            {
                task = null;
                return IscsiTmfResponse.TaskDoesNotExist;
            }

            if (task.Connection is { IsClosed: false })
            {
                task = null;
                return IscsiTmfResponse.TaskStillAllegiant;
            }

            // The old connection's close may not have handed its tasks over yet: do it for this one now.
            session.HoldTask(task);
            task.Connection = this;
            task.Held = false;
        }

        Log.TaskReassigned(_logger, _remote, itt);
        return IscsiTmfResponse.FunctionComplete;
    }

    /// <summary>
    /// Resumes a reassigned task on this connection: a response that waited goes now (its Data-In from the initiator's
    /// ExpDataSN, cut as first sent), a write asks for the data that had not arrived, a command still running answers
    /// here when done.
    /// </summary>
    private void Resume(IscsiTask task, uint expDataSn)
    {
        IscsiSession session = _s!;
        bool pending;
        bool release = false;
        lock (_sendLock)
        {
            lock (session.TaskLock)
            {
                pending = task.ResponsePending && task.Connection == this && !session.Ended && task.Kept is not null;
                if (pending)
                {
                    task.ResponsePending = false;
                }
            }

            if (pending)
            {
                SendWholeResponseLocked(task, expDataSn, snackTag: null);
                lock (session.TaskLock)
                {
                    if (Dropped(session, task) || task.Connection != this)
                    {
                        release = task.Connection == this;
                        if (release)
                        {
                            session.Tasks.Remove(task.InitiatorTaskTag);
                        }
                    }
                    else if (IsClosed)
                    {
                        task.ResponsePending = true;
                    }
                    else
                    {
                        task.ResponseSent = true;
                        _unacknowledged.Enqueue(task);
                    }
                }
            }
        }

        if (release)
        {
            session.ReturnTask(task);
        }
        else if (!pending)
        {
            AdvanceWrite(task);
        }
    }

    /// <summary>ErrorRecoveryLevel 1 and up: watches for write data that stopped coming.</summary>
    private void StartDataOutTimer()
    {
        TimeSpan timeout = _driver.Options.DataOutTimeout;
        if (timeout <= TimeSpan.Zero)
        {
            return;
        }

        TimeSpan period = TimeSpan.FromTicks(Math.Max(timeout.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks));
        _dataOutTimer = _driver.TimeProvider.CreateTimer(static c => ((IscsiConnection)c!).CheckDataOut(), this, period, period);
    }

    private void StopDataOutTimer() => _dataOutTimer?.Dispose();

    // A burst (or unsolicited data) that has had no Data-Out for DataOutTimeout: what is missing becomes a hole and is
    // asked for again with a recovery R2T (new Target Transfer Tag), as when a Data-Out with the F bit is lost.
    private void CheckDataOut()
    {
        if (IsClosed || _s is not { } session)
        {
            return;
        }

        TimeProvider time = _driver.TimeProvider;
        long now = time.GetTimestamp();
        TimeSpan timeout = _driver.Options.DataOutTimeout;
        List<IscsiTask>? stalled = null;
        lock (session.TaskLock)
        {
            foreach (IscsiTask t in session.Tasks.Values)
            {
                if (t.Connection != this || !t.DataRequested || t.DataCompleted != 0 || (t.UnsolicitedDone && !t.BurstOutstanding)
                    || time.GetElapsedTime(t.LastDataActivity, now) < timeout)
                {
                    continue;
                }

                if (t.BurstOutstanding)
                {
                    t.AddHole(t.BurstNextOffset, t.BurstEnd - t.BurstNextOffset);
                    t.BurstOutstanding = false;
                }

                if (!t.UnsolicitedDone)
                {
                    int end = Math.Min(session.Parameters!.FirstBurstLength, t.WriteLength);
                    t.AddHole(t.UnsolicitedNextOffset, end - t.UnsolicitedNextOffset);
                    t.R2tNextOffset = Math.Max(t.R2tNextOffset, end);
                    t.UnsolicitedDone = true;
                }

                t.LastDataActivity = now;
                (stalled ??= []).Add(t);
            }
        }

        if (stalled is null)
        {
            return;
        }

        foreach (IscsiTask t in stalled)
        {
            Log.DataOutTimeout(_logger, _remote, t.InitiatorTaskTag);
            AdvanceWrite(t);
        }
    }
}
