// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Net;
using Scst.Core;
using Scst.Transport.Iscsi.Protocol;
using CoreTmf = Scst.Core.TaskManagementFunction;
using CoreTmfResponse = Scst.Core.TaskManagementResponse;
using IscsiTmf = Scst.Transport.Iscsi.Protocol.TaskManagementFunction;
using IscsiTmfResponse = Scst.Transport.Iscsi.Protocol.TaskManagementResponse;

namespace Scst.Transport.Iscsi;

internal sealed partial class IscsiConnection
{
    private bool HandleLogin(in IscsiPdu pdu)
    {
        LoginStep step = _login!.Process(pdu.Header.AsLoginRequest(), pdu.DataSegment);
        if (HoldBackLoginResponse(step))
        {
            Log.LoginFailed(_logger, _remote, (ushort)step.Header.Status);
            _driver.Metrics.LoginFailed((ushort)step.Header.Status);
            return false;
        }

        // A new session takes its negotiated parameters and its leading connection before the final response leaves,
        // so that a connection joining it right after (MC/S) is counted against MaxConnections instead of finding a
        // session that has none yet.
        if (step.Progress == LoginProgress.Completed && _bindingIsNew && _binding is { } leading)
        {
            leading.Begin(_login.Result!, this);
        }

        if (step.Progress == LoginProgress.Failed)
        {
            // Counted before the response leaves: whoever has seen the response sees the count.
            _driver.Metrics.LoginFailed((ushort)step.Header.Status);
        }

        lock (_sendLock)
        {
            step.Header.WriteTo(_sendHeader);
            SendLocked(step.Data.Span);
        }

        if (step.Progress == LoginProgress.Failed)
        {
            Log.LoginFailed(_logger, _remote, (ushort)step.Header.Status);
            return false;
        }

        if (step.Progress == LoginProgress.Completed)
        {
            return EnterFullFeaturePhase(_login.Result!);
        }

        return true;
    }

    private bool EnterFullFeaturePhase(LoginResult result)
    {
        NegotiatedParameters p = result.Parameters;
        LoginIdentity id = result.Identity;
        IscsiSession? session = _binding;
        if (session is null)
        {
            return false;
        }

        _cid = id.Cid;
        _statSn = result.NextStatSn;
        if (!_bindingIsNew && (session.Parameters is not { } leading || leading.SessionType != p.SessionType || leading.TargetName != p.TargetName))
        {
            // A connection joins the session it named by TSIH, to the same target (RFC 7143 section 6.3.3).
            session.CancelReservation(id.Cid);
            return false;
        }

        // Session-wide values come from the leading login (RFC 7143 section 13: LO keys); the digests and the
        // MaxRecvDataSegmentLength are this connection's own.
        NegotiatedParameters sessionWide = session.Parameters!;
        IscsiTargetSettings? settings = id.TargetName is { } name ? _driver.SettingsOf(name) : null;
        _maxBurstLength = Math.Max(512, sessionWide.MaxBurstLength);
        _dataInLimit = Math.Min(Math.Min(Math.Min(p.InitiatorMaxRecvDataSegmentLength, MaxDataInSegment), _maxBurstLength),
            settings?.MaxXmitDataSegmentLength ?? int.MaxValue);
        if (_bindingIsNew)
        {
            session.XmitDataSegmentLength = _dataInLimit;
        }

        if (settings?.RspTimeout is { } rspTimeout)
        {
            lock (_sendLock)
            {
                _sendTimeoutMilliseconds = SendTimeout(rspTimeout);
            }
        }
        // The digests apply from the first PDU after the login phase, both ways (the final Login Response went without).
        _readerSettings = new IscsiPduReaderSettings(p.TargetMaxRecvDataSegmentLength, p.HeaderDigest, p.DataDigest);
        StartSendDigests(p.HeaderDigest, p.DataDigest);
        _s = session;
        if (!_bindingIsNew)
        {
            if (!session.Join(_cid, this))
            {
                _s = null;
                return false;
            }
        }
        else if (id.SessionType == SessionType.Normal)
        {
            ScsiTarget? target = _driver.Engine.FindTarget(IscsiTargetDriver.DriverName, id.TargetName!);
            if (target is null)
            {
                return false;
            }

            // An I_T nexus the initiator already dropped ends before the new one starts, so that what it held (a PREVENT
            // MEDIUM REMOVAL, say) does not outlive it just because its receive loop has not read the FIN yet.
            _driver.EndDroppedSessions(this);
            // With per-portal ACLs the session carries initiator-name#portal, the name its security group matched.
            session.OpenScsi(target, _driver.AccessName(target, id.InitiatorName, LocalAddress), BuildTransportId(id.InitiatorName, id.Isid));

            // A target disabled while this login completed: the driver's pass over its connections may have missed this
            // one (its session did not exist yet), so it asks itself. The fence orders the session's publication before
            // the read of Enabled, as the driver orders Enabled's change before its pass.
            Interlocked.MemoryBarrier();
            if (!target.Enabled)
            {
                _driver.OnTargetEnabledChanged(target, enabled: false);
            }
        }

        _parameters = p;
        if (p.HeaderDigest != DigestKind.None || p.DataDigest != DigestKind.None)
        {
            Log.DigestsNegotiated(_logger, _remote, p.HeaderDigest, p.DataDigest);
        }

        StartKeepalive();
        if (session.ErrorRecoveryLevel > 0 && session.Scsi is not null)
        {
            StartDataOutTimer();
        }

        _driver.Metrics.LoginSucceeded(discovery: id.SessionType != SessionType.Normal);
        Log.LoginCompleted(_logger, id.InitiatorName, id.TargetName ?? "(discovery)", id.SessionType == SessionType.Normal ? "Normal" : "Discovery", id.Tsih, _remote,
            _local, PortalGroupTag);

        // A portal removed while this login completed skipped this connection (it was not in the full feature phase):
        // it asks itself. The fence orders the flag's publication before the read of the portal list, as RemovePortal
        // orders the list's change before its pass over the connections.
        _fullFeature = true;
        Interlocked.MemoryBarrier();
        if (Portal is { } portal && !_driver.Listens(portal))
        {
            _driver.AskToLogOutOrDrop([this]);
        }

        return true;
    }

    /// <summary>Whether the login completed and the connection carries its session (see <see cref="EnterFullFeaturePhase"/>).</summary>
    internal bool InFullFeaturePhase => _fullFeature;

    private void HandleNopOut(in IscsiPdu pdu)
    {
        NopOutHeader header = pdu.Header.AsNopOut();
        if (header.TargetTransferTag != IscsiTask.ReservedTag)
        {
            // The answer to a NOP-In ping of ours (RFC 7143 section 11.18.4): it carries our tag, and no new CmdSN.
            OnPingAnswered(header.TargetTransferTag);
            return;
        }

        if (!AcceptCmdSn(header.Immediate, header.CmdSn) || header.InitiatorTaskTag == IscsiTask.ReservedTag)
        {
            // ITT 0xffffffff: an answer to a NOP-In of ours, or a ping that wants no reply.
            return;
        }

        byte[]? rented = null;
        int length = (int)pdu.DataSegment.Length;
        Span<byte> ping = length <= 1024 ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length)).AsSpan(0, length);
        pdu.DataSegment.CopyTo(ping);
        lock (_sendLock)
        {
            uint exp = ExpCmdSnNow;
            var reply = new NopInHeader
            {
                DataSegmentLength = length,
                Lun = header.Lun,
                InitiatorTaskTag = header.InitiatorTaskTag,
                TargetTransferTag = IscsiTask.ReservedTag,
                StatSn = NextStatSnLocked(),
                ExpCmdSn = exp,
                MaxCmdSn = MaxCmdSn(exp),
            };
            reply.WriteTo(_sendHeader);
            SendLocked(ping);
        }

        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private void HandleText(in IscsiPdu pdu)
    {
        TextRequestHeader header = pdu.Header.AsTextRequest();
        if (!AcceptCmdSn(header.Immediate, header.CmdSn))
        {
            return;
        }

        var keys = new List<TextKeyValue>();
        byte[] text = pdu.DataSegment.ToArray();
        if (TextKeys.TryParse(text, keys) != TextParseError.None)
        {
            SendReject(RejectReason.InvalidPduField, pdu.Header.Bytes);
            return;
        }

        var answer = new ArrayBufferWriter<byte>();
        foreach (TextKeyValue key in keys)
        {
            if (key.Key == "SendTargets")
            {
                WriteSendTargets(answer, key.Value);
            }
            else
            {
                TextKeys.Write(answer, key.Key, "NotUnderstood");
            }
        }

        lock (_sendLock)
        {
            uint exp = ExpCmdSnNow;
            var reply = new TextResponseHeader
            {
                Final = true,
                Continue = false,
                DataSegmentLength = answer.WrittenCount,
                Lun = header.Lun,
                InitiatorTaskTag = header.InitiatorTaskTag,
                TargetTransferTag = IscsiTask.ReservedTag,
                StatSn = NextStatSnLocked(),
                ExpCmdSn = exp,
                MaxCmdSn = MaxCmdSn(exp),
            };
            reply.WriteTo(_sendHeader);
            SendLocked(answer.WrittenSpan);
        }
    }

    /// <summary>
    /// SendTargets (RFC 7143 section 12.3): in a Discovery session "All" (or a target name) lists the enabled targets
    /// the initiator may see through this portal: those allowed on the portal (<see cref="IscsiTargetAccess.AllowedPortals"/>)
    /// in which it sees a LUN (its security group's, or the default LUNs), as SCST's iSCSI daemon lists them. In a
    /// Normal session only the session's own target is reported. Each target comes with the address of this
    /// connection and then the driver's other portals, IPv4 and IPv6, that the target and initiator are allowed on,
    /// each with its own portal group tag (listeners on a specific address; loopback ones only when the initiator came
    /// in over loopback, as they mean nothing on another host; IPv6 link-local ones with their zone, unless
    /// <see cref="IscsiTargetOptions.LinkLocal"/> is off).
    /// </summary>
    private void WriteSendTargets(ArrayBufferWriter<byte> answer, string value)
    {
        IPEndPoint? local = _local as IPEndPoint;
        string initiator = _login?.Result?.Identity.InitiatorName ?? string.Empty;
        IscsiPortal[] portals = _driver.Portals();
        foreach (ScsiTarget target in _driver.EnabledTargets())
        {
            bool wanted = Scsi is null
                ? (value == "All" || value == target.Name) && _driver.Admits(target, initiator, local?.Address)
                : target == Scsi.Target && (value.Length == 0 || value == target.Name);
            if (!wanted)
            {
                continue;
            }

            TextKeys.Write(answer, "TargetName", target.Name);
            TextKeys.Write(answer, "TargetAddress", FormatTargetAddress(local, PortalGroupTag));
            if (local is null)
            {
                continue;
            }

            foreach (IscsiPortal portal in portals)
            {
                IPEndPoint address = portal.EndPoint;
                if (portal != Portal && !address.Equals(local) && IsAnnounceable(address.Address, local.Address, _driver.Options.LinkLocal)
                    && (Scsi is null ? _driver.Admits(target, initiator, address.Address) : _driver.Serves(target, address.Address)))
                {
                    TextKeys.Write(answer, "TargetAddress", FormatTargetAddress(address, portal.Tag));
                }
            }
        }
    }

    // A loopback portal means something only to an initiator on this host: it is announced to those that came in over
    // loopback themselves. A link-local one is announced when the driver's link_local is on.
    private static bool IsAnnounceable(IPAddress address, IPAddress local, bool linkLocal) =>
        (!IPAddress.IsLoopback(address) || IPAddress.IsLoopback(local))
        && !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any) && (linkLocal || !address.IsIPv6LinkLocal);

    /// <summary>
    /// A SendTargets TargetAddress: <c>a.b.c.d:port,tag</c> or <c>[v6]:port,tag</c>; an IPv6 address with a zone (a
    /// link-local one) carries it as the interface's name, <c>[fe80::1%eth0]:3260,1</c>, as SCST's daemon prints it
    /// (getnameinfo); the zone number stands when no interface has it.
    /// </summary>
    internal static string FormatTargetAddress(IPEndPoint? portal, ushort portalGroupTag)
    {
        string tag = portalGroupTag.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return portal switch
        {
            { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6, Address.ScopeId: not 0 } zoned =>
                $"[{new IPAddress(zoned.Address.GetAddressBytes())}%{ZoneName(zoned.Address.ScopeId)}]:{zoned.Port},{tag}",
            { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } v6 => $"[{v6.Address}]:{v6.Port},{tag}",
            { } v4 => $"{v4.Address}:{v4.Port},{tag}",
            _ => $"127.0.0.1:3260,{tag}",
        };
    }

    /// <summary>The name of the interface whose IPv6 index is <paramref name="scopeId"/>, or the number when none has it.</summary>
    internal static string ZoneName(long scopeId)
    {
        foreach (System.Net.NetworkInformation.NetworkInterface nic in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
        {
            try
            {
                if (nic.Supports(System.Net.NetworkInformation.NetworkInterfaceComponent.IPv6) && nic.GetIPProperties().GetIPv6Properties().Index == scopeId)
                {
                    return nic.Name;
                }
            }
            catch (System.Net.NetworkInformation.NetworkInformationException)
            {
                // An interface that went away meanwhile, or without IPv6.
            }
        }

        return scopeId.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Logout (RFC 7143 section 11.14): reason 0 closes the session, reason 1 the connection named by CID (this one or
    /// another of the session), reason 2 removes a connection for recovery, its tasks kept for TASK REASSIGN
    /// (ErrorRecoveryLevel 2 only). Returns false when this connection closes.
    /// </summary>
    private bool HandleLogout(in IscsiPdu pdu)
    {
        LogoutRequestHeader header = pdu.Header.AsLogoutRequest();
        IscsiSession session = _s!;
        AcceptCmdSn(header.Immediate, header.CmdSn);
        LogoutResponse response = LogoutResponse.Success;
        IscsiConnection? other = null;
        ConnectionEnd how = ConnectionEnd.SessionClosed;
        switch (header.Reason)
        {
            case LogoutReason.CloseSession:
                break;
            case LogoutReason.CloseConnection:
                how = ConnectionEnd.ConnectionClosed;
                if (header.Cid != _cid)
                {
                    // Another connection of the session; one that failed already may still hold tasks, which end.
                    other = session.Connection(header.Cid);
                    response = other is not null || session.EndTasksOfLostConnection(header.Cid) ? LogoutResponse.Success : LogoutResponse.CidNotFound;
                }

                break;
            case LogoutReason.RemoveConnectionForRecovery:
                how = ConnectionEnd.RemovedForRecovery;
                if (session.ErrorRecoveryLevel < 2)
                {
                    response = LogoutResponse.RecoveryNotSupported;
                }
                else if (header.Cid != _cid)
                {
                    // A connection that has failed already is gone from the session; its tasks wait all the same.
                    other = session.Connection(header.Cid);
                }

                break;
            default:
                SendReject(RejectReason.ProtocolError, pdu.Header.Bytes);
                return true;
        }

        bool recovery = session.ErrorRecoveryLevel >= 2 && how != ConnectionEnd.SessionClosed;
        lock (_sendLock)
        {
            uint exp = ExpCmdSnNow;
            var reply = new LogoutResponseHeader
            {
                Response = response,
                InitiatorTaskTag = header.InitiatorTaskTag,
                StatSn = NextStatSnLocked(),
                ExpCmdSn = exp,
                MaxCmdSn = MaxCmdSn(exp),
                Time2Wait = recovery ? (ushort)(session.Parameters?.DefaultTime2Wait ?? 0) : (ushort)0,
                Time2Retain = recovery ? (ushort)(session.Parameters?.DefaultTime2Retain ?? 0) : (ushort)0,
            };
            reply.WriteTo(_sendHeader);
            SendLocked(default);
        }

        if (response != LogoutResponse.Success)
        {
            return true;
        }

        if (how == ConnectionEnd.SessionClosed || header.Cid == _cid)
        {
            _end = how;
            return false;
        }

        other?.CloseByLogout(how);
        return true;
    }

    private void HandleTaskManagement(in IscsiPdu pdu)
    {
        TaskManagementRequestHeader header = pdu.Header.AsTaskManagementRequest();
        if (!AcceptCmdSn(header.Immediate, header.CmdSn))
        {
            return;
        }

        if (Scsi is null)
        {
            SendReject(RejectReason.ProtocolError, pdu.Header.Bytes);
            return;
        }

        // The TMF may wait for commands that still need Data-Out from this very connection, so the receive loop
        // must not wait for it: the response is sent when the core reports the function done.
        _ = RunTaskManagementAsync(header);
    }

    private async Task RunTaskManagementAsync(TaskManagementRequestHeader header)
    {
        IscsiTmfResponse response;
        uint additional = 0;
        IscsiTask? reassigned = null;
        try
        {
            // The core's table decides what is supported, so this answer and REPORT SUPPORTED TASK MANAGEMENT
            // FUNCTIONS cannot disagree.
            CoreTmf? function = header.Function switch
            {
                IscsiTmf.AbortTask => CoreTmf.AbortTask,
                IscsiTmf.AbortTaskSet => CoreTmf.AbortTaskSet,
                IscsiTmf.ClearAca => CoreTmf.ClearAca,
                IscsiTmf.ClearTaskSet => CoreTmf.ClearTaskSet,
                IscsiTmf.LogicalUnitReset => CoreTmf.LogicalUnitReset,
                IscsiTmf.TargetWarmReset or IscsiTmf.TargetColdReset => CoreTmf.TargetReset,
                IscsiTmf.QueryTask => CoreTmf.QueryTask,
                IscsiTmf.QueryTaskSet => CoreTmf.QueryTaskSet,
                IscsiTmf.ItNexusReset => CoreTmf.ItNexusReset,
                IscsiTmf.QueryAsynchronousEvent => CoreTmf.QueryAsynchronousEvent,
                _ => null,
            };
            if (header.Function == IscsiTmf.TaskReassign)
            {
                response = _s!.ErrorRecoveryLevel < 2 ? IscsiTmfResponse.TaskReassignmentNotSupported : Reassign(header.ReferencedTaskTag, out reassigned);
            }
            else if (function is null || !ScsiSession.SupportsTaskManagementFunction(function.Value))
            {
                response = IscsiTmfResponse.FunctionNotSupported;
            }
            else if (function == CoreTmf.QueryAsynchronousEvent)
            {
                // RFC 7144: the pending condition travels in the ADDITIONAL RESPONSE INFORMATION (SAM-5 table 36).
                response = Map(Scsi!.QueryAsynchronousEvent(header.Lun, out SenseCode pending));
                additional = response == IscsiTmfResponse.FunctionSucceeded
                    ? (uint)(((int)pending.Key << 16) | (pending.Asc << 8) | pending.Ascq)
                    : 0;
            }
            else
            {
                response = Map(await Scsi!.ExecuteTaskManagementAsync(function.Value, header.Lun, header.ReferencedTaskTag).ConfigureAwait(false));
                if (response == IscsiTmfResponse.TaskDoesNotExist && header.Function == IscsiTmf.AbortTask && _s!.AbortBeforeArrival(header.RefCmdSn, header.CmdSn))
                {
                    response = IscsiTmfResponse.FunctionComplete;
                }
            }
        }
        catch (Exception ex)
        {
            Log.ConnectionFault(_logger, _remote, ex);
            response = IscsiTmfResponse.FunctionRejected;
        }

        lock (_sendLock)
        {
            uint exp = ExpCmdSnNow;
            var reply = new TaskManagementResponseHeader
            {
                Response = response,
                AdditionalResponseInformation = additional,
                InitiatorTaskTag = header.InitiatorTaskTag,
                StatSn = NextStatSnLocked(),
                ExpCmdSn = exp,
                MaxCmdSn = MaxCmdSn(exp),
            };
            reply.WriteTo(_sendHeader);
            SendLocked(default);
        }

        if (reassigned is not null && response == IscsiTmfResponse.FunctionComplete)
        {
            Resume(reassigned, header.ExpDataSn);
        }

        if (header.Function == IscsiTmf.TargetColdReset && response == IscsiTmfResponse.FunctionComplete)
        {
            // RFC 7143 section 11.5.1: after the response to a cold reset, the target closes every connection of every
            // session on the target.
            _driver.CloseConnectionsOf(Scsi!.Target);
        }
    }

    private static IscsiTmfResponse Map(CoreTmfResponse response) => response switch
    {
        CoreTmfResponse.FunctionComplete => IscsiTmfResponse.FunctionComplete,
        CoreTmfResponse.TaskDoesNotExist => IscsiTmfResponse.TaskDoesNotExist,
        CoreTmfResponse.FunctionSucceeded => IscsiTmfResponse.FunctionSucceeded,
        CoreTmfResponse.LunDoesNotExist => IscsiTmfResponse.LunDoesNotExist,
        CoreTmfResponse.FunctionNotSupported => IscsiTmfResponse.FunctionNotSupported,
        _ => IscsiTmfResponse.FunctionRejected,
    };
}
