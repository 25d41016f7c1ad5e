// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Diagnostics;
using Scst.Core;
using Scst.Transport.Iscsi.Protocol;
using CoreTaskAttribute = Scst.Core.TaskAttribute;
using IscsiTaskAttribute = Scst.Transport.Iscsi.Protocol.TaskAttribute;

namespace Scst.Transport.Iscsi;

internal sealed partial class IscsiConnection
{
    /// <summary>Handles a SCSI Command PDU; <paramref name="dataDigestFailed"/> when its immediate data failed its digest.</summary>
    private void HandleScsiCommand(in IscsiPdu pdu, bool dataDigestFailed = false)
    {
        ScsiCommandHeader header = pdu.Header.AsScsiCommand();
        if (Scsi is null)
        {
            // A Discovery session carries no SCSI commands (RFC 7143 section 4.3).
            SendReject(RejectReason.ProtocolError, pdu.Header.Bytes);
            return;
        }

        IscsiSession session = _s!;
        if (!AcceptCmdSn(header.Immediate, header.CmdSn) || session.WasAbortedBeforeArrival(header.Immediate, header.CmdSn))
        {
            return;
        }

        // ImmediateData, InitialR2T and FirstBurstLength are the session's (leading-only keys, RFC 7143 section 13).
        NegotiatedParameters sessionWide = session.Parameters!;
        int immediateLength = pdu.Header.DataSegmentLengthBytes;
        bool dataAllowed = header.IsWrite && sessionWide.ImmediateData && immediateLength <= sessionWide.FirstBurstLength &&
            immediateLength <= header.ExpectedDataTransferLength;
        bool unsolicitedAllowed = header.IsWrite && !sessionWide.InitialR2T;
        if ((immediateLength > 0 && !dataAllowed) || (!header.Final && !unsolicitedAllowed) || header.ExpectedDataTransferLength > int.MaxValue)
        {
            SendReject(RejectReason.ProtocolError, pdu.Header.Bytes);
            return;
        }

        Span<byte> cdb = stackalloc byte[ScsiCommand.MaxCdbLength];
        if (!AdditionalHeaderSegment.TryGetCdb(header, pdu.AdditionalHeaderSegments, cdb, out int cdbLength))
        {
            SendReject(RejectReason.InvalidPduField, pdu.Header.Bytes);
            return;
        }

        DataDirection direction = header.IsWrite ? (header.IsRead ? DataDirection.Bidirectional : DataDirection.Write)
            : header.IsRead ? DataDirection.Read : DataDirection.None;

        IscsiTask task = session.RentTask();
        task.Connection = this;
        task.InitiatorTaskTag = header.InitiatorTaskTag;
        task.Lun = header.Lun;
        task.UnsolicitedNextOffset = immediateLength;
        task.UnsolicitedDone = header.Final;
        task.R2tNextOffset = immediateLength;
        if (dataDigestFailed && session.ErrorRecoveryLevel > 0)
        {
            // The command goes on; its immediate data is asked for again with a recovery R2T (RFC 7143 section 7.8).
            task.ImmediateLost = immediateLength;
        }
        else
        {
            task.DigestFailed = dataDigestFailed;
            task.Failed = dataDigestFailed;
        }

        bool added;
        bool closed;
        IscsiTask? answered = null;
        lock (session.TaskLock)
        {
            closed = IsClosed;
            added = !closed && session.Tasks.TryAdd(header.InitiatorTaskTag, task);
            if (!added && !closed && session.Tasks.TryGetValue(header.InitiatorTaskTag, out IscsiTask? old) && old.Kept is not null && !old.Abandoned)
            {
                // A kept response whose ITT comes back in a new command: the initiator has it (RFC 7143 section 11.2.1.8).
                old.ResponseSent = false;
                old.ResponsePending = false;
                session.Tasks[header.InitiatorTaskTag] = task;
                answered = old;
                added = true;
            }
        }

        if (answered is not null)
        {
            answered.Connection?.WaitForSends();
            session.ReturnTask(answered);
        }

        if (closed)
        {
            // Closed from another thread meanwhile: its tasks were handed over already; the command is not taken.
            session.ReturnTask(task);
            return;
        }

        if (!added)
        {
            // An ITT already in use: the initiator broke the rules (RFC 7143 section 11.2.1.8).
            session.ReturnTask(task);
            SendReject(RejectReason.TaskInProgress, pdu.Header.Bytes);
            return;
        }

        session.CommandStarted();
        ScsiCommand command = Scsi.CreateCommand(
            header.Lun, cdb[..cdbLength], header.InitiatorTaskTag, MapAttribute(header.Attribute), direction, (int)header.ExpectedDataTransferLength);
        task.Command = command;
        command.TransportState = task;

        t_submitting = task;
        t_submittingImmediate = dataDigestFailed ? default : pdu.DataSegment;
        try
        {
            Scsi.Submit(command);
        }
        finally
        {
            t_submitting = null;
            t_submittingImmediate = default;
        }
    }

    /// <summary>
    /// A SCSI Command whose CmdSN was delivered already (RFC 7143 section 6.2.1, retry, ErrorRecoveryLevel 1 and up): if
    /// its task is still here, the initiator lost what the target sent, so the response goes again, or the R2T of the
    /// burst it waits for; otherwise it is a duplicate and is dropped.
    /// </summary>
    private void OnRetriedCommand(in IscsiPdu pdu)
    {
        uint itt = pdu.Header.InitiatorTaskTag;
        IscsiTask? task;
        lock (_s!.TaskLock)
        {
            if (!_s.Tasks.TryGetValue(itt, out task) || task.Connection != this)
            {
                return;
            }
        }

        if (task.ResponseSent)
        {
            ResendResponse(task, fromDataSn: 0, dataSnCount: uint.MaxValue, snackTag: null);
        }
        else
        {
            ResendR2t(task);
        }
    }

    private static CoreTaskAttribute MapAttribute(IscsiTaskAttribute attribute) => attribute switch
    {
        IscsiTaskAttribute.Ordered => CoreTaskAttribute.Ordered,
        IscsiTaskAttribute.HeadOfQueue => CoreTaskAttribute.HeadOfQueue,
        IscsiTaskAttribute.AutoContingentAllegiance => CoreTaskAttribute.Aca,
        _ => CoreTaskAttribute.Simple,
    };

    internal void RequestWriteData(ScsiCommand command)
    {
        var task = (IscsiTask)command.TransportState!;

        // The core asks for the data while the command PDU is being submitted, so the immediate data is still in
        // the receive pipe: copy it once, straight into the command's buffer.
        Debug.Assert(task == t_submitting, "RequestWriteData runs inside Submit");
        Memory<byte> buffer = command.WriteBuffer;
        if (task == t_submitting && !t_submittingImmediate.IsEmpty)
        {
            ReadOnlySequence<byte> immediate = t_submittingImmediate;
            if (immediate.Length > buffer.Length)
            {
                immediate = immediate.Slice(0, buffer.Length);
            }

            immediate.CopyTo(buffer.Span);
        }

        bool aborted;
        lock (_s!.TaskLock)
        {
            task.DataRequested = true;
            task.WriteLength = buffer.Length;
            task.LastDataActivity = _driver.TimeProvider.GetTimestamp();
            if (task.ImmediateLost > 0)
            {
                task.AddHole(0, task.ImmediateLost);
            }

            // An abort that arrived while this request was on its way found no data phase to end (see
            // OnAbortWhileReceiving): end it here, exactly once. So does a connection that left meanwhile without
            // recovery (a held task of a lost connection waits for TASK REASSIGN instead).
            IscsiSession session = _s!;
            aborted = (command.IsAborted || (task.Connection is { IsClosed: true } && (session.ErrorRecoveryLevel < 2 || task.Abandoned || session.Ended)))
                && task.DataCompleted == 0;
            if (aborted)
            {
                task.DataCompleted = 1;
            }
        }

        if (aborted)
        {
            command.OnWriteDataReceived(false);
            return;
        }

        AdvanceWrite(task);
    }

    /// <summary>Handles a Data-Out PDU; <paramref name="dataDigestFailed"/> when its data failed its digest (and is absent).</summary>
    private void HandleDataOut(in IscsiPdu pdu, bool dataDigestFailed = false, bool replayed = false)
    {
        DataOutHeader header = pdu.Header.AsDataOut();
        IscsiSession session = _s!;
        if (session.Ordered && !replayed && !dataDigestFailed && session.TryDeferDataOut(this, pdu))
        {
            return; // its command waits for its CmdSN: the Data-Out follows it
        }

        IscsiTask? task;
        lock (session.TaskLock)
        {
            if (!session.Tasks.TryGetValue(header.InitiatorTaskTag, out task) || task.Connection != this || !task.DataRequested || task.DataCompleted != 0)
            {
                // The command already ended (refused before its data was needed, or aborted): drop its data.
                return;
            }

            bool keep = session.ErrorRecoveryLevel == 0
                ? CheckSequenceStrict(task, header, dataDigestFailed)
                : CheckSequenceRecovering(task, header, dataDigestFailed);

            // Only the part that lands inside the command's buffer is kept; the buffer stays valid while the task is
            // in the table and its data is not complete (both checked above, under this lock).
            int offset = (int)header.BufferOffset;
            if (keep && !task.Failed && offset < task.WriteLength)
            {
                int n = Math.Min(header.DataSegmentLength, task.WriteLength - offset);
                pdu.DataSegment.Slice(0, n).CopyTo(task.Command!.WriteBuffer.Span[offset..]);
            }
        }

        AdvanceWrite(task);
    }

    // ErrorRecoveryLevel 0: any sequence error (DataSN, offset, a burst overrun) fails the command once its data is in.
    private static bool CheckSequenceStrict(IscsiTask task, in DataOutHeader header, bool dataDigestFailed)
    {
        int offset = (int)header.BufferOffset;
        int length = header.DataSegmentLength;
        if (header.TargetTransferTag == IscsiTask.ReservedTag)
        {
            if (task.UnsolicitedDone || header.DataSn != task.UnsolicitedDataSn || offset != task.UnsolicitedNextOffset)
            {
                task.Failed = true;
            }

            task.UnsolicitedDataSn++;
            task.UnsolicitedNextOffset = offset + length;
            if (header.Final)
            {
                task.UnsolicitedDone = true;
                task.R2tNextOffset = Math.Max(task.R2tNextOffset, task.UnsolicitedNextOffset);
            }
        }
        else
        {
            if (!task.BurstOutstanding || header.TargetTransferTag != task.BurstTag || header.DataSn != task.BurstDataSn ||
                offset != task.BurstNextOffset || offset + length > task.BurstEnd)
            {
                task.Failed = true;
            }

            task.BurstDataSn++;
            task.BurstNextOffset = offset + length;
            if (header.Final)
            {
                if (task.BurstNextOffset != task.BurstEnd)
                {
                    task.Failed = true;
                }

                task.BurstOutstanding = false;
            }
        }

        if (dataDigestFailed)
        {
            // The PDU still counts in the sequence (its header is sound), but its data is never written.
            task.Failed = true;
            task.DigestFailed = true;
        }

        return !dataDigestFailed;
    }

    // ErrorRecoveryLevel 1 and 2 (RFC 7143 section 7.2, within-command recovery): a Data-Out that never came (the next
    // one's offset skips its range) or whose data failed its digest leaves a hole, asked for again with a recovery R2T
    // once the burst is over. Data of a burst that is no longer outstanding (answered by a recovery R2T meanwhile) is
    // dropped. Returns whether the PDU's data is written.
    private bool CheckSequenceRecovering(IscsiTask task, in DataOutHeader header, bool dataDigestFailed)
    {
        int offset = (int)header.BufferOffset;
        int length = header.DataSegmentLength;
        task.LastDataActivity = _driver.TimeProvider.GetTimestamp();
        if (header.TargetTransferTag == IscsiTask.ReservedTag)
        {
            if (task.UnsolicitedDone || offset < task.UnsolicitedNextOffset)
            {
                return false;
            }

            if (offset > task.UnsolicitedNextOffset)
            {
                task.AddHole(task.UnsolicitedNextOffset, offset - task.UnsolicitedNextOffset);
            }

            task.UnsolicitedDataSn++;
            task.UnsolicitedNextOffset = offset + length;
            if (header.Final)
            {
                task.UnsolicitedDone = true;
                task.R2tNextOffset = Math.Max(task.R2tNextOffset, task.UnsolicitedNextOffset);
            }
        }
        else
        {
            if (!task.BurstOutstanding || header.TargetTransferTag != task.BurstTag || offset < task.BurstNextOffset ||
                offset + length > task.BurstEnd)
            {
                return false;
            }

            if (offset > task.BurstNextOffset)
            {
                task.AddHole(task.BurstNextOffset, offset - task.BurstNextOffset);
            }

            task.BurstDataSn++;
            task.BurstNextOffset = offset + length;
            if (header.Final)
            {
                if (task.BurstNextOffset < task.BurstEnd)
                {
                    task.AddHole(task.BurstNextOffset, task.BurstEnd - task.BurstNextOffset);
                }

                task.BurstOutstanding = false;
            }
        }

        if (dataDigestFailed)
        {
            task.AddHole(offset, length);
            return false;
        }

        return true;
    }

    /// <summary>
    /// Sends the next R2T when one is due (a recovery R2T for a hole first, then the next part of the data), and tells
    /// the core when every byte has arrived.
    /// </summary>
    private void AdvanceWrite(IscsiTask task)
    {
        bool complete = false;
        uint ttt = 0;
        int r2tLength = 0;
        lock (_s!.TaskLock)
        {
            if (task.DataCompleted != 0 || !task.DataRequested || !task.UnsolicitedDone || task.Connection != this)
            {
                return;
            }

            if (!task.BurstOutstanding && !task.Failed && task.Holes is { Count: > 0 } holes)
            {
                (int offset, int length) = holes[0];
                int n = Math.Min(length, _maxBurstLength);
                if (n == length)
                {
                    holes.RemoveAt(0);
                }
                else
                {
                    holes[0] = (offset + n, length - n);
                }

                ttt = StartBurst(task, offset, n);
                r2tLength = n;
            }
            else if (!task.BurstOutstanding && task.R2tNextOffset < task.WriteLength && !task.Failed)
            {
                r2tLength = Math.Min(_maxBurstLength, task.WriteLength - task.R2tNextOffset);
                ttt = StartBurst(task, task.R2tNextOffset, r2tLength);
                task.R2tNextOffset = task.BurstEnd;
            }
            else if (!task.BurstOutstanding && (task.R2tNextOffset >= task.WriteLength || task.Failed))
            {
                task.DataCompleted = 1;
                complete = true;
            }
        }

        if (r2tLength > 0)
        {
            SendR2t(task, ttt);
        }
        else if (complete && task.DigestFailed)
        {
            task.Command!.OnWriteDataFailed(SenseCode.ProtocolServiceCrcError);
        }
        else if (complete)
        {
            task.Command!.OnWriteDataReceived(!task.Failed);
        }
    }

    // Sets up an R2T burst. Caller holds the task lock.
    private uint StartBurst(IscsiTask task, int offset, int length)
    {
        uint ttt = _s!.NextTargetTransferTag();
        task.BurstTag = ttt;
        task.BurstStart = offset;
        task.BurstNextOffset = offset;
        task.BurstEnd = offset + length;
        task.BurstDataSn = 0;
        task.BurstR2tSn = task.R2tSn++;
        task.BurstOutstanding = true;
        task.LastDataActivity = _driver.TimeProvider.GetTimestamp();
        return ttt;
    }

    internal void OnAbortWhileReceiving(ScsiCommand command)
    {
        if (command.TransportState is not IscsiTask task)
        {
            return;
        }

        lock (_s!.TaskLock)
        {
            // The core may call this before RequestWriteData has started the data phase (the command is still being
            // submitted on the receive loop, which then ends it), or for a command that was released and reused since
            // it was marked: only the aborted incarnation whose data phase is open (so not released) is ended here.
            if (task.Command != command || !task.DataRequested || task.DataCompleted != 0 || !command.IsAborted)
            {
                return;
            }

            task.DataCompleted = 1;
        }

        command.OnWriteDataReceived(false);
    }

    internal void SendResponse(ScsiCommand command)
    {
        var task = (IscsiTask)command.TransportState!;
        IscsiSession session = _s!;
        if (session.ErrorRecoveryLevel > 0)
        {
            // The response is copied and the command released now; the copy is kept until acknowledged.
            task.Kept = KeptResponse.Of(command);
            task.Command = null;
            session.CommandEnded();
            command.Release();
            SendKeptResponse(task);
            return;
        }

        lock (session.TaskLock)
        {
            session.Tasks.Remove(task.InitiatorTaskTag);
        }

        lock (_sendLock)
        {
            session.CommandEnded();
            var fields = ResponseFields.Of(command);
            ReadOnlySpan<byte> data = command.Status == ScsiStatus.Good ? command.ResponseData.Span : default;
            if (!data.IsEmpty)
            {
                SendDataInLocked(fields, task.InitiatorTaskTag, data, _dataInLimit, _maxBurstLength, 0, uint.MaxValue, withStatus: true, IscsiTask.ReservedTag);
            }
            else
            {
                SendScsiResponseLocked(fields, command.SenseData, task.InitiatorTaskTag, dataInPdus: 0, statSn: NextStatSnLocked());
            }
        }

        command.Release();
        session.ReturnTask(task);
    }

    internal void OnCommandAborted(ScsiCommand command)
    {
        var task = (IscsiTask)command.TransportState!;
        IscsiSession session = _s!;
        lock (session.TaskLock)
        {
            session.Tasks.Remove(task.InitiatorTaskTag);
        }

        session.CommandEnded();
        command.Release();
        session.ReturnTask(task);
    }

    /// <summary>Status and residual of a response, from the command or from a kept copy.</summary>
    private readonly record struct ResponseFields(byte Status, bool Overflow, bool Underflow, int ResidualCount)
    {
        public static ResponseFields Of(ScsiCommand command) =>
            new((byte)command.Status, command.ResidualOverflow, command.ResidualUnderflow, command.ResidualCount);

        public static ResponseFields Of(KeptResponse kept) => new(kept.Status, kept.Overflow, kept.Underflow, kept.ResidualCount);
    }

    /// <summary>
    /// Data-In PDUs <paramref name="fromDataSn"/> onwards (at most <paramref name="count"/>), cut in segments of
    /// <paramref name="segment"/> bytes within bursts of <paramref name="burst"/>, so that a retransmitted PDU has the
    /// DataSN, offset and length it had the first time. With <paramref name="withStatus"/> the status goes in the last one
    /// (phase collapse, RFC 7143 section 11.7.4). Returns the number of Data-In PDUs of the whole transfer.
    /// </summary>
    private uint SendDataInLocked(in ResponseFields response, uint itt, ReadOnlySpan<byte> data, int segment, int burst, uint fromDataSn, uint count, bool withStatus, uint targetTransferTag)
    {
        uint dataSn = 0;
        int offset = 0;
        int burstLeft = burst;
        while (offset < data.Length)
        {
            // A Data-In sequence (ended by the F bit) carries at most MaxBurstLength bytes.
            int n = Math.Min(Math.Min(segment, burstLeft), data.Length - offset);
            bool last = offset + n == data.Length;
            burstLeft -= n;
            bool endOfBurst = last || burstLeft == 0;
            if (burstLeft == 0)
            {
                burstLeft = burst;
            }

            if (dataSn >= fromDataSn && dataSn - fromDataSn < count)
            {
                bool status = last && withStatus;
                uint exp = ExpCmdSnNow;
                var header = new DataInHeader
                {
                    Final = endOfBurst,
                    HasStatus = status,
                    Status = status ? response.Status : (byte)0,
                    Overflow = status && response.Overflow,
                    Underflow = status && response.Underflow,
                    ResidualCount = status ? (uint)response.ResidualCount : 0,
                    DataSegmentLength = n,
                    Lun = 0,
                    InitiatorTaskTag = itt,
                    TargetTransferTag = targetTransferTag,
                    StatSn = status ? NextStatSnLocked() : 0,
                    ExpCmdSn = exp,
                    MaxCmdSn = MaxCmdSn(exp),
                    DataSn = dataSn,
                    BufferOffset = (uint)offset,
                };
                header.WriteTo(_sendHeader);
                SendLocked(data.Slice(offset, n));
            }

            dataSn++;
            offset += n;
        }

        return dataSn;
    }

    private void SendScsiResponseLocked(in ResponseFields response, ReadOnlySpan<byte> sense, uint itt, uint dataInPdus, uint statSn)
    {
        int segment = sense.IsEmpty ? 0 : ScsiResponseHeader.WriteSenseSegment(_senseSegment, sense);
        uint exp = ExpCmdSnNow;
        var header = new ScsiResponseHeader
        {
            Overflow = response.Overflow,
            Underflow = response.Underflow,
            ResidualCount = (uint)response.ResidualCount,
            Response = 0,
            Status = response.Status,
            DataSegmentLength = segment,
            InitiatorTaskTag = itt,
            StatSn = statSn,
            ExpCmdSn = exp,
            MaxCmdSn = MaxCmdSn(exp),
            ExpDataSn = dataInPdus,
        };
        header.WriteTo(_sendHeader);
        SendLocked(_senseSegment.AsSpan(0, segment));
    }
}
