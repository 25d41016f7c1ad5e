// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Iscsi.Interop;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Transport.Iscsi;

internal sealed partial class IscsiConnection
{
    /// <summary>Sends a header already written to <c>_sendHeader</c>, with its data segment. Caller holds <c>_sendLock</c>.</summary>
    private void SendLocked(ReadOnlySpan<byte> data)
    {
        if (IsClosed)
        {
            return;
        }

        int pad = Bhs.Padded(data.Length) - data.Length;
        if (!GatherSender.Send(_socket, _sendHeader, data, s_padding.AsSpan(0, pad)))
        {
            Abort();
        }
    }

    private uint NextStatSnLocked() => _statSn++;

    private void SendReject(RejectReason reason, ReadOnlySpan<byte> rejectedHeader)
    {
        lock (_sendLock)
        {
            uint exp = Volatile.Read(ref _expCmdSn);
            var header = new RejectHeader
            {
                Reason = reason,
                DataSegmentLength = BhsLength,
                StatSn = NextStatSnLocked(),
                ExpCmdSn = exp,
                MaxCmdSn = MaxCmdSn(exp),
                DataSnOrR2TSn = 0,
            };
            header.WriteTo(_sendHeader);
            SendLocked(rejectedHeader[..BhsLength]);
        }
    }

    // The burst was set up under the task lock and is sent here, outside it: by now the command may have been aborted
    // and answered, and its task even reused by a new command. The burst is sent only if it is still outstanding, checked
    // under the task lock inside the send lock, so that an R2T never follows the command's response on the wire.
    private void SendR2t(IscsiTask task, uint targetTransferTag, int offset, int length)
    {
        lock (_sendLock)
        {
            ReadyToTransferHeader header;
            lock (_taskLock)
            {
                if (task.DataCompleted != 0 || !task.BurstOutstanding || task.BurstTag != targetTransferTag)
                {
                    return;
                }

                uint exp = Volatile.Read(ref _expCmdSn);
                header = new ReadyToTransferHeader
                {
                    Lun = task.Lun,
                    InitiatorTaskTag = task.InitiatorTaskTag,
                    TargetTransferTag = targetTransferTag,
                    StatSn = _statSn,
                    ExpCmdSn = exp,
                    MaxCmdSn = MaxCmdSn(exp),
                    R2TSn = task.R2tSn++,
                    BufferOffset = (uint)offset,
                    DesiredDataTransferLength = (uint)length,
                };
            }

            header.WriteTo(_sendHeader);
            SendLocked(default);
        }
    }
}
