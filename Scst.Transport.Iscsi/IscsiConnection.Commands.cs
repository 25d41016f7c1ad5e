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
        if (_session is null)
        {
            // A Discovery session carries no SCSI commands (RFC 7143 section 4.3).
            SendReject(RejectReason.ProtocolError, pdu.Header.Bytes);
            return;
        }

        if (!AcceptCmdSn(header.Immediate, header.CmdSn) || WasAbortedBeforeArrival(header.Immediate, header.CmdSn))
        {
            return;
        }

        int immediateLength = pdu.Header.DataSegmentLengthBytes;
        bool dataAllowed = header.IsWrite && _parameters!.ImmediateData && immediateLength <= _parameters.FirstBurstLength &&
            immediateLength <= header.ExpectedDataTransferLength;
        bool unsolicitedAllowed = header.IsWrite && !_parameters!.InitialR2T;
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

        IscsiTask task = RentTask();
        task.InitiatorTaskTag = header.InitiatorTaskTag;
        task.Lun = header.Lun;
        task.UnsolicitedNextOffset = immediateLength;
        task.UnsolicitedDone = header.Final;
        task.R2tNextOffset = immediateLength;
        task.DigestFailed = dataDigestFailed;
        task.Failed = dataDigestFailed;
        lock (_taskLock)
        {
            if (!_tasks.TryAdd(header.InitiatorTaskTag, task))
            {
                // An ITT already in use: the initiator broke the rules (RFC 7143 section 11.2.1.8).
                _freeTasks.Push(task);
                task = null!;
            }
        }

        if (task is null)
        {
            SendReject(RejectReason.TaskInProgress, pdu.Header.Bytes);
            return;
        }

        Interlocked.Increment(ref _inFlight);
        ScsiCommand command = _session.CreateCommand(
            header.Lun, cdb[..cdbLength], header.InitiatorTaskTag, MapAttribute(header.Attribute), direction, (int)header.ExpectedDataTransferLength);
        task.Command = command;
        command.TransportState = task;

        _submitting = task;
        _submittingImmediate = dataDigestFailed ? default : pdu.DataSegment;
        _session.Submit(command);
        _submitting = null;
        _submittingImmediate = default;
    }

    // A command that an ABORT TASK named by its RefCmdSN before it arrived: its CmdSN counts as received, the command is
    // dropped without a response (RFC 7143 section 11.5.1). One lock-free read when no such abort happened.
    private bool WasAbortedBeforeArrival(bool immediate, uint cmdSn)
    {
        if (immediate || Volatile.Read(ref _abortedBeforeArrivalCount) == 0)
        {
            return false;
        }

        lock (_taskLock)
        {
            bool removed = _abortedBeforeArrival.Remove(cmdSn);
            Volatile.Write(ref _abortedBeforeArrivalCount, _abortedBeforeArrival.Count);
            return removed;
        }
    }

    private static CoreTaskAttribute MapAttribute(IscsiTaskAttribute attribute) => attribute switch
    {
        IscsiTaskAttribute.Ordered => CoreTaskAttribute.Ordered,
        IscsiTaskAttribute.HeadOfQueue => CoreTaskAttribute.HeadOfQueue,
        IscsiTaskAttribute.AutoContingentAllegiance => CoreTaskAttribute.Aca,
        _ => CoreTaskAttribute.Simple,
    };

    void ISessionTransport.RequestWriteData(ScsiCommand command)
    {
        var task = (IscsiTask)command.TransportState!;

        // The core asks for the data while the command PDU is being submitted, so the immediate data is still in
        // the receive pipe: copy it once, straight into the command's buffer.
        Debug.Assert(task == _submitting, "RequestWriteData runs inside Submit");
        Memory<byte> buffer = command.WriteBuffer;
        if (task == _submitting && !_submittingImmediate.IsEmpty)
        {
            ReadOnlySequence<byte> immediate = _submittingImmediate;
            if (immediate.Length > buffer.Length)
            {
                immediate = immediate.Slice(0, buffer.Length);
            }

            immediate.CopyTo(buffer.Span);
        }

        bool aborted;
        lock (_taskLock)
        {
            task.DataRequested = true;
            task.WriteLength = buffer.Length;

            // An abort that arrived while this request was on its way found no data phase to end (see
            // OnAbortWhileReceiving): end it here, exactly once.
            aborted = command.IsAborted && task.DataCompleted == 0;
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
    private void HandleDataOut(in IscsiPdu pdu, bool dataDigestFailed = false)
    {
        DataOutHeader header = pdu.Header.AsDataOut();
        IscsiTask? task;
        lock (_taskLock)
        {
            if (!_tasks.TryGetValue(header.InitiatorTaskTag, out task) || !task.DataRequested || task.DataCompleted != 0)
            {
                // The command already ended (refused before its data was needed, or aborted): drop its data.
                return;
            }

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

            // Only the part that lands inside the command's buffer is kept; the buffer stays valid while the task is
            // in the table and its data is not complete (both checked above, under this lock).
            if (!task.Failed && offset < task.WriteLength)
            {
                int n = Math.Min(length, task.WriteLength - offset);
                pdu.DataSegment.Slice(0, n).CopyTo(task.Command!.WriteBuffer.Span[offset..]);
            }
        }

        AdvanceWrite(task);
    }

    /// <summary>Sends the next R2T when one is due, and tells the core when every byte has arrived.</summary>
    private void AdvanceWrite(IscsiTask task)
    {
        bool complete = false;
        uint ttt = 0;
        int r2tOffset = 0;
        int r2tLength = 0;
        lock (_taskLock)
        {
            if (task.DataCompleted != 0 || !task.DataRequested || !task.UnsolicitedDone)
            {
                return;
            }

            if (!task.BurstOutstanding && task.R2tNextOffset < task.WriteLength && !task.Failed)
            {
                r2tOffset = task.R2tNextOffset;
                r2tLength = Math.Min(_maxBurstLength, task.WriteLength - r2tOffset);
                do
                {
                    ttt = ++_nextTargetTransferTag;
                }
                while (ttt == IscsiTask.ReservedTag);

                task.BurstTag = ttt;
                task.BurstNextOffset = r2tOffset;
                task.BurstEnd = r2tOffset + r2tLength;
                task.BurstDataSn = 0;
                task.BurstOutstanding = true;
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
            SendR2t(task, ttt, r2tOffset, r2tLength);
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

    void ISessionTransport.OnAbortWhileReceiving(ScsiCommand command)
    {
        if (command.TransportState is not IscsiTask task)
        {
            return;
        }

        lock (_taskLock)
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

    void ISessionTransport.SendResponse(ScsiCommand command)
    {
        var task = (IscsiTask)command.TransportState!;
        lock (_taskLock)
        {
            _tasks.Remove(task.InitiatorTaskTag);
        }

        lock (_sendLock)
        {
            Interlocked.Decrement(ref _inFlight);
            ReadOnlySpan<byte> data = command.Status == ScsiStatus.Good ? command.ResponseData.Span : default;
            if (!data.IsEmpty)
            {
                SendDataInLocked(command, task, data);
            }
            else
            {
                SendScsiResponseLocked(command, task, dataInPdus: 0);
            }
        }

        command.Release();
        ReturnTask(task);
    }

    void ISessionTransport.OnCommandAborted(ScsiCommand command)
    {
        var task = (IscsiTask)command.TransportState!;
        lock (_taskLock)
        {
            _tasks.Remove(task.InitiatorTaskTag);
        }

        Interlocked.Decrement(ref _inFlight);
        command.Release();
        ReturnTask(task);
    }

    /// <summary>Data-In PDUs with the status in the last one (phase collapse, RFC 7143 section 11.7.4).</summary>
    private void SendDataInLocked(ScsiCommand command, IscsiTask task, ReadOnlySpan<byte> data)
    {
        uint dataSn = 0;
        int offset = 0;
        int burstLeft = _maxBurstLength;
        while (offset < data.Length)
        {
            // A Data-In sequence (ended by the F bit) carries at most MaxBurstLength bytes.
            int n = Math.Min(Math.Min(_dataInLimit, burstLeft), data.Length - offset);
            bool last = offset + n == data.Length;
            burstLeft -= n;
            bool endOfBurst = last || burstLeft == 0;
            if (burstLeft == 0)
            {
                burstLeft = _maxBurstLength;
            }

            uint exp = Volatile.Read(ref _expCmdSn);
            var header = new DataInHeader
            {
                Final = endOfBurst,
                HasStatus = last,
                Status = last ? (byte)command.Status : (byte)0,
                Overflow = last && command.ResidualOverflow,
                Underflow = last && command.ResidualUnderflow,
                ResidualCount = last ? (uint)command.ResidualCount : 0,
                DataSegmentLength = n,
                Lun = 0,
                InitiatorTaskTag = task.InitiatorTaskTag,
                TargetTransferTag = IscsiTask.ReservedTag,
                StatSn = last ? NextStatSnLocked() : 0,
                ExpCmdSn = exp,
                MaxCmdSn = MaxCmdSn(exp),
                DataSn = dataSn++,
                BufferOffset = (uint)offset,
            };
            header.WriteTo(_sendHeader);
            SendLocked(data.Slice(offset, n));
            offset += n;
        }
    }

    private void SendScsiResponseLocked(ScsiCommand command, IscsiTask task, uint dataInPdus)
    {
        ReadOnlySpan<byte> sense = command.SenseData;
        int segment = sense.IsEmpty ? 0 : ScsiResponseHeader.WriteSenseSegment(_senseSegment, sense);
        uint exp = Volatile.Read(ref _expCmdSn);
        var header = new ScsiResponseHeader
        {
            Overflow = command.ResidualOverflow,
            Underflow = command.ResidualUnderflow,
            ResidualCount = (uint)command.ResidualCount,
            Response = 0,
            Status = (byte)command.Status,
            DataSegmentLength = segment,
            InitiatorTaskTag = task.InitiatorTaskTag,
            StatSn = NextStatSnLocked(),
            ExpCmdSn = exp,
            MaxCmdSn = MaxCmdSn(exp),
            ExpDataSn = dataInPdus,
        };
        header.WriteTo(_sendHeader);
        SendLocked(_senseSegment.AsSpan(0, segment));
    }
}
