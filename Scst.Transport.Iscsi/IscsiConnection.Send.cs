// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using Scst.Core;
using Scst.Transport.Iscsi.Interop;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Transport.Iscsi;

internal sealed partial class IscsiConnection
{
    // The digests of every PDU sent after the login phase, written under _sendLock: [0..4) header, [4..8) data.
    private readonly byte[] _sendDigests = new byte[2 * Bhs.DigestLength];
    private bool _sendHeaderDigest;
    private bool _sendDataDigest;
    private bool _held; // a PDU was sent with MSG_MORE and not pushed yet; under _sendLock

    // SCST's RspTimeout: how long one PDU may wait for room in the socket's send buffer.
    private int _sendTimeoutMilliseconds;

    /// <summary>
    /// Sends a header already written to <c>_sendHeader</c>, with its data segment, padding and, once negotiated, the
    /// header digest (over the BHS) and data digest (over the data and its padding), computed straight from the buffers
    /// that are sent (no copy). Caller holds <c>_sendLock</c>.
    /// </summary>
    private void SendLocked(ReadOnlySpan<byte> data)
    {
        if (IsClosed)
        {
            return;
        }

        int pad = Bhs.Padded(data.Length) - data.Length;
        ReadOnlySpan<byte> padding = s_padding.AsSpan(0, pad);
        ReadOnlySpan<byte> headerDigest = default;
        ReadOnlySpan<byte> dataDigest = default;
        if (_sendHeaderDigest)
        {
            // iSCSI sends the CRC32C register least significant byte first (RFC 7143 section 13.1, appendix B.4).
            BinaryPrimitives.WriteUInt32LittleEndian(_sendDigests, Crc32C.Compute(_sendHeader));
            headerDigest = _sendDigests.AsSpan(0, Bhs.DigestLength);
        }

        if (_sendDataDigest && !data.IsEmpty)
        {
            uint state = Crc32C.Append(Crc32C.Append(Crc32C.InitialState, data), padding);
            BinaryPrimitives.WriteUInt32LittleEndian(_sendDigests.AsSpan(Bhs.DigestLength), Crc32C.Finish(state));
            dataDigest = _sendDigests.AsSpan(Bhs.DigestLength, Bhs.DigestLength);
        }

        // While the receive loop of this thread handles the PDUs of one receive, the responses it sends inline are held
        // in the socket (MSG_MORE) and pushed together when the batch closes: fewer TCP segments, fewer wake-ups of
        // the initiator. A response sent from anywhere else goes at once, and pushes what is held with it.
        bool more = SubmissionBatch.Join(this);
        _held = more; // a send without MSG_MORE pushes what was held before it
        if (!GatherSender.Send(_socket, _sendHeader, headerDigest, data, padding, dataDigest, _sendTimeoutMilliseconds, more))
        {
            Abort();
        }
    }

    /// <summary>Pushes the responses held during a receive batch (see <see cref="SendLocked"/>).</summary>
    void ISubmissionBatchParticipant.FlushBatch()
    {
        lock (_sendLock)
        {
            if (_held)
            {
                _held = false;
                if (!IsClosed)
                {
                    GatherSender.Push(_socket);
                }
            }
        }
    }

    /// <summary>Turns the negotiated digests on for every PDU sent from now on: the first one after the login phase.</summary>
    private void StartSendDigests(DigestKind header, DigestKind data)
    {
        lock (_sendLock)
        {
            _sendHeaderDigest = header == DigestKind.Crc32C;
            _sendDataDigest = data == DigestKind.Crc32C;
        }
    }

    private uint NextStatSnLocked() => _statSn++;

    private void SendReject(RejectReason reason, ReadOnlySpan<byte> rejectedHeader)
    {
        lock (_sendLock)
        {
            uint exp = ExpCmdSnNow;
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
    private void SendR2t(IscsiTask task, uint targetTransferTag)
    {
        lock (_sendLock)
        {
            ReadyToTransferHeader header;
            lock (_s!.TaskLock)
            {
                if (task.DataCompleted != 0 || !task.BurstOutstanding || task.BurstTag != targetTransferTag || task.Connection != this)
                {
                    return;
                }

                uint exp = ExpCmdSnNow;
                header = new ReadyToTransferHeader
                {
                    Lun = task.Lun,
                    InitiatorTaskTag = task.InitiatorTaskTag,
                    TargetTransferTag = targetTransferTag,
                    StatSn = _statSn,
                    ExpCmdSn = exp,
                    MaxCmdSn = MaxCmdSn(exp),
                    R2TSn = task.BurstR2tSn,
                    BufferOffset = (uint)task.BurstStart,
                    DesiredDataTransferLength = (uint)(task.BurstEnd - task.BurstStart),
                };
            }

            header.WriteTo(_sendHeader);
            SendLocked(default);
        }
    }
}
