// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Iscsi.Protocol;

namespace Scst.Transport.Iscsi;

/// <summary>
/// Receive-side digest errors at ErrorRecoveryLevel 0 (RFC 7143 section 7.8), as SCST's iscsi-scst handles them.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>A header digest error drops the connection, without a Reject: the header cannot be trusted, not even its
/// length, so nothing after it can be framed (section 7.8 allows discarding up to a later PDU only with a sync and
/// steering layer, which iSCSI over TCP does not have). The session's commands end as for a connection loss.</item>
/// <item>A data digest error is answered with a Reject, reason 0x02 (data digest error), and the PDU's data is
/// discarded, never copied anywhere. On a SCSI Command's immediate data or on a Data-Out, the command is not executed:
/// once every byte it still expects has arrived (the end of the unsolicited data and of any outstanding R2T burst; no
/// new R2T is sent) it ends with CHECK CONDITION, ABORTED COMMAND, PROTOCOL SERVICE CRC ERROR (47/05), section 7.8's
/// "terminate the task" choice, since recovery R2Ts need ErrorRecoveryLevel 1. The command's CmdSN counts as received
/// (the header is sound), so the initiator sees one answer per command and no CmdSN gap. On any other PDU (NOP-Out or
/// Text with data) the PDU is dropped after the Reject, and its CmdSN does not count.</item>
/// </list>
/// LIO drops the connection after the Reject instead; SCST ends the command with the same sense, and so does this
/// target, so that a bad checksum costs the initiator one retried command, not a session.
/// </remarks>
internal sealed partial class IscsiConnection
{
    private void HandleDataDigestError(in IscsiPdu pdu)
    {
        IscsiPduHeader header = pdu.Header;
        Log.DataDigestError(_logger, _remote, header.Opcode, header.InitiatorTaskTag);
        SendReject(RejectReason.DataDigestError, header.Bytes);
        if (header.Opcode is IscsiOpcode.ScsiCommand or IscsiOpcode.DataOut)
        {
            // The header is sound: the command's CmdSN counts (in order, when the session orders them); its data does not.
            HandlePdu(pdu, dataDigestFailed: true);
        }
    }

    /// <summary>Counts the digests the reader checked (for diagnostics and tests); nothing when none is negotiated.</summary>
    private void CountDigests(PduReadResult result, in IscsiPdu pdu)
    {
        if (_readerSettings.HeaderDigest == DigestKind.None && _readerSettings.DataDigest == DigestKind.None)
        {
            return;
        }

        bool read = result is PduReadResult.Pdu or PduReadResult.DataDigestError;
        bool header = read && _readerSettings.HeaderDigest == DigestKind.Crc32C;
        bool data = read && _readerSettings.DataDigest == DigestKind.Crc32C && pdu.Header.DataSegmentLengthBytes > 0;
        if (!header && !data)
        {
            return;
        }

        _driver.CountDigests(header, data, result == PduReadResult.DataDigestError);
    }
}
