// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Port;

/// <summary>Who the local N_Port is: its names, its N_Port_ID and the largest payload it receives.</summary>
/// <param name="PortName">Our WWPN.</param>
/// <param name="NodeName">Our WWNN.</param>
/// <param name="PortId">Our N_Port_ID (24 bits), as FIP gave it.</param>
/// <param name="ReceiveDataFieldSize">The largest FC payload we receive: 256 to 2112, a multiple of 4 (see <see cref="LinkServiceResponder.ReceiveSizeFromMtu"/>).</param>
internal readonly record struct LocalPortIdentity(ulong PortName, ulong NodeName, uint PortId, int ReceiveDataFieldSize);

/// <summary>The reply to one link service request: its FC header and payload length; a single-frame sequence.</summary>
/// <param name="Header">The FC header of the reply.</param>
/// <param name="PayloadLength">The bytes of the reply buffer that hold the payload.</param>
internal readonly record struct LinkServiceReply(FcFrameHeader Header, int PayloadLength)
{
    /// <summary>A reply is the first frame of its sequence, class 3.</summary>
    public const byte Sof = Protocol.Sof.SofI3;

    /// <summary>A reply is the last frame of its sequence.</summary>
    public const byte Eof = Protocol.Eof.EofT;
}

/// <summary>
/// What a local N_Port answers to the extended and basic link services (FC-LS) once FIP has brought it up: pure logic,
/// no I/O. Given a received frame addressed to our N_Port_ID, it writes the reply and keeps the
/// <see cref="RemotePortTable"/>: PLOGI logs a port in (a second PLOGI is an implicit logout first), PRLI for FCP
/// establishes an image pair as SCST's fcst does, PRLO and LOGO end it, ADISC, RTV, ECHO, RLS and RRQ are accepted,
/// REC, SRR and anything else get LS_RJT "command not supported", ABTS gets BA_ACC or BA_RJT as the exchange manager says.
/// Requests other than PLOGI, FLOGI and LOGO from a port that is not logged in get LS_RJT "unable to perform command
/// request" / "N_Port login required" (FC-LS; libfc answers the same). Bad payloads get LS_RJT, never an exception.
/// Callers serialise requests (the driver's receive loop); the table may be read concurrently.
/// </summary>
internal sealed class LinkServiceResponder
{
    /// <summary>E_D_TOV we announce, in milliseconds.</summary>
    public const uint ErrorDetectTimeout = 2000;

    /// <summary>R_A_TOV we announce, in milliseconds.</summary>
    public const uint ResourceAllocationTimeout = 10000;

    /// <summary>The smallest receive data field size a port may announce (FC-FS).</summary>
    public const int MinReceiveSize = 256;

    /// <summary>The smallest reply buffer <see cref="Respond"/> accepts: a PLOGI accept.</summary>
    public const int MinReplyLength = ServiceParameters.Length;

    // What libfc announces on FCoE, where buffer-to-buffer credit has no meaning: kept so that a Linux peer sees its own.
    private const ushort BbCredit = 10;
    private const ushort ConcurrentSequences = 255;
    private const ushort RelativeOffsetCategories = 0x1F;

    private readonly LocalPortIdentity _identity;
    private readonly RemotePortTable _ports;
    private readonly ILinkServiceEvents _events;
    private readonly TimeProvider _time;

    /// <summary>Creates the responder of the local port <paramref name="identity"/>.</summary>
    public LinkServiceResponder(LocalPortIdentity identity, bool targetEnabled, RemotePortTable ports, ILinkServiceEvents events,
        TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(ports);
        ArgumentNullException.ThrowIfNull(events);
        if (identity.ReceiveDataFieldSize is < MinReceiveSize or > FcoeFrame.MaxPayloadLength || identity.ReceiveDataFieldSize % 4 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(identity), "The receive data field size is 256 to 2112 bytes, a multiple of 4.");
        }

        if (identity.PortId > 0xFF_FFFF)
        {
            throw new ArgumentOutOfRangeException(nameof(identity), "An N_Port_ID has 24 bits.");
        }

        _identity = identity;
        _ports = ports;
        _events = events;
        _time = time ?? TimeProvider.System;
        TargetEnabled = targetEnabled;
    }

    /// <summary>Whether the FCP target function is offered: PRLI establishes image pairs only while it is.</summary>
    public bool TargetEnabled { get; set; }

    /// <summary>Our identity.</summary>
    public LocalPortIdentity Identity => _identity;

    /// <summary>The remote ports this responder keeps.</summary>
    public RemotePortTable Ports => _ports;

    /// <summary>
    /// The receive data field size a link of <paramref name="mtu"/> bytes carries: the MTU less the FCoE header, FC
    /// header and FCoE trailer, down to a multiple of 4, at most 2112 (what libfc derives from the netdev MTU).
    /// </summary>
    public static int ReceiveSizeFromMtu(int mtu) =>
        Math.Min(FcoeFrame.MaxPayloadLength, (mtu - FcoeFrame.HeaderLength - FcFrameHeader.Length - FcoeFrame.TrailerLength) & ~3);

    /// <summary>Our service parameters, as sent in a PLOGI or its accept.</summary>
    public ServiceParameters LocalServiceParameters => new()
    {
        HighestVersion = ServiceParameters.FcPhVersion,
        LowestVersion = ServiceParameters.FcPhVersion,
        BbCredit = BbCredit,
        CommonFeatures = CommonFeatures.ContinuouslyIncreasingOffset,
        ReceiveDataFieldSize = (ushort)_identity.ReceiveDataFieldSize,
        TotalConcurrentSequences = ConcurrentSequences,
        RelativeOffsetByCategory = RelativeOffsetCategories,
        ErrorDetectTimeout = ErrorDetectTimeout,
        PortName = _identity.PortName,
        NodeName = _identity.NodeName,
        Class3ServiceOptions = ClassServiceOptions.Valid | ClassServiceOptions.SequentialDelivery,
        Class3ReceiveDataFieldSize = (ushort)_identity.ReceiveDataFieldSize,
        Class3ConcurrentSequences = ConcurrentSequences,
        Class3OpenSequencesPerExchange = 1,
    };

    /// <summary>
    /// Answers one frame addressed to us: an ELS request (R_CTL 0x22, TYPE 1), an FC-4 ELS request (R_CTL 0x32) or an
    /// ABTS (R_CTL 0x81, TYPE 0). Writes the reply payload into <paramref name="reply"/> and returns true with its
    /// header; returns false (nothing to send) for a frame that is not one of those or not addressed to us.
    /// </summary>
    /// <param name="header">The received FC header.</param>
    /// <param name="payload">The received payload, without fill bytes.</param>
    /// <param name="source">The Ethernet source of the frame.</param>
    /// <param name="reply">Where the reply payload goes: at least <see cref="MinReplyLength"/> bytes; an ECHO needs as many as it carries.</param>
    /// <param name="result">The reply's header and payload length.</param>
    public bool Respond(in FcFrameHeader header, ReadOnlySpan<byte> payload, MacAddress source, Span<byte> reply, out LinkServiceReply result)
    {
        if (reply.Length < MinReplyLength)
        {
            throw new ArgumentException($"A link service reply needs {MinReplyLength} bytes.", nameof(reply));
        }

        result = default;
        if (header.DestinationId != _identity.PortId)
        {
            return false;
        }

        int length;
        FcFrameHeader replyHeader;
        switch (header.RCtl)
        {
            case RCtl.ElsRequest when header.Type == FcType.Els:
                length = RespondToEls(header, payload, source, reply);
                replyHeader = header.ToReply(RCtl.ElsReply, ReplyFCtl(header), FcFrameHeader.UnassignedExchangeId);
                break;
            case RCtl.Fc4ElsRequest:
                // SRR and the other FC-4 link services need FCP retry, which we do not offer (fcst rejects them too).
                length = Reject(reply, LsRjtReason.CommandNotSupported, LsRjtExplanation.None);
                replyHeader = header.ToReply(RCtl.Fc4ElsReply, ReplyFCtl(header), FcFrameHeader.UnassignedExchangeId);
                break;
            case RCtl.Abts when header.Type == FcType.Bls:
                bool known = _events.AbortExchange(header.SourceId, header.OxId, header.RxId);
                length = known
                    ? new BaAcc(false, 0, header.OxId, header.RxId, 0, ushort.MaxValue).WriteTo(reply)
                    : new BaRjt(BaRjtReason.LogicalError, BaRjtExplanation.InvalidExchangeIds).WriteTo(reply);
                replyHeader = header.ToReply(known ? RCtl.BaAcc : RCtl.BaRjt, ReplyFCtl(header) & ~FCtl.SequenceInitiative, header.RxId);
                break;
            default:
                return false;
        }

        result = new LinkServiceReply(replyHeader, length);
        return true;
    }

    /// <summary>
    /// Records that a PLOGI we sent to <paramref name="portId"/> was accepted with <paramref name="parameters"/> (in
    /// VN2VN the port with the higher WWPN logs in): the port is logged in as if it had sent the PLOGI.
    /// </summary>
    public RemotePort RecordLogin(uint portId, in ServiceParameters parameters, MacAddress mac)
    {
        var port = new RemotePort
        {
            PortId = portId,
            PortName = parameters.PortName,
            NodeName = parameters.NodeName,
            Mac = mac,
            LoggedIn = true,
            MaxPayload = NegotiatedPayload(parameters),
            LoginParameters = parameters,
            LastActivity = _time.GetUtcNow(),
        };

        // The same WWPN at another N_Port_ID is a port that moved: its old login is gone.
        foreach (var other in _ports.Snapshot())
        {
            if (other.PortName == parameters.PortName && other.PortId != portId && _ports.TryRemove(other.PortId, out var moved))
            {
                EndImagePair(moved);
            }
        }

        var previous = _ports.Set(port);
        if (previous is not null)
        {
            EndImagePair(previous);
        }

        return port;
    }

    /// <summary>
    /// Writes the LOGO we send to a port that sends FCP frames without being logged in (FC-LS: an N_Port answers
    /// frames from a port it has no login with by logging it out), on a new exchange <paramref name="oxId"/> the
    /// driver's exchange manager assigns. Returns the payload length; the frame is a single-frame sequence.
    /// </summary>
    public int WriteLogo(uint destinationId, ushort oxId, Span<byte> payload, out FcFrameHeader header)
    {
        header = new FcFrameHeader
        {
            RCtl = RCtl.ElsRequest,
            DestinationId = destinationId,
            SourceId = _identity.PortId,
            Type = FcType.Els,
            FCtl = FCtl.Request,
            OxId = oxId,
            RxId = FcFrameHeader.UnassignedExchangeId,
        };
        return new LogoPayload(_identity.PortId, _identity.PortName).WriteTo(payload);
    }

    // The responder of an exchange sets EX_CTX; a reply ends the exchange and hands the initiative back (0x990000 as
    // the Linux initiator and LIO send). A request that came from the responder of its exchange is answered without EX_CTX.
    private static uint ReplyFCtl(in FcFrameHeader request) =>
        (request.FCtl & FCtl.ExchangeContext) == 0 ? FCtl.LastReplyWithInitiative : FCtl.LastReplyWithInitiative & ~FCtl.ExchangeContext;

    private int RespondToEls(in FcFrameHeader header, ReadOnlySpan<byte> payload, MacAddress source, Span<byte> reply)
    {
        if (payload.Length < Els.CommandLength)
        {
            return Reject(reply, LsRjtReason.LogicalError, LsRjtExplanation.InvalidPayloadLength);
        }

        byte code = payload[0];
        uint sourceId = header.SourceId;
        switch (code)
        {
            case ElsCode.Plogi:
                return Plogi(sourceId, payload, source, reply);
            case ElsCode.Flogi:
                return ServiceParameters.TryRead(payload, out _)
                    ? LocalServiceParameters.WriteTo(reply, ElsCode.LsAcc)
                    : Reject(reply, LsRjtReason.LogicalError, LsRjtExplanation.InvalidPayloadLength);
            case ElsCode.Logo:
                return Logo(sourceId, payload, reply);
        }

        var now = _time.GetUtcNow();
        if (!_ports.TryUpdate(sourceId, p => p with { LastActivity = now }, out _, out var port) || !port.LoggedIn)
        {
            return Reject(reply, LsRjtReason.UnableToPerform, LsRjtExplanation.LoginRequired);
        }

        switch (code)
        {
            case ElsCode.Prli:
                return Prli(sourceId, payload, reply);
            case ElsCode.Prlo:
                return Prlo(sourceId, payload, reply);
            case ElsCode.Adisc:
                return AdiscPayload.TryRead(payload, out _)
                    ? new AdiscPayload(0, _identity.PortName, _identity.NodeName, _identity.PortId).WriteTo(reply, ElsCode.LsAcc)
                    : Reject(reply, LsRjtReason.LogicalError, LsRjtExplanation.InvalidPayloadLength);
            case ElsCode.Rtv:
                return new RtvAccept(ResourceAllocationTimeout, ErrorDetectTimeout).WriteTo(reply);
            case ElsCode.Echo:
                return payload.Length <= reply.Length
                    ? Echo.WriteAccept(reply, payload)
                    : Reject(reply, LsRjtReason.UnableToPerform, LsRjtExplanation.InsufficientResources);
            case ElsCode.Rls:
                return Rls.TryReadRequest(payload, out _)
                    ? Rls.WriteAccept(reply, default)
                    : Reject(reply, LsRjtReason.LogicalError, LsRjtExplanation.InvalidPayloadLength);
            case ElsCode.Rrq:
                if (!RrqPayload.TryRead(payload, out var rrq))
                {
                    return Reject(reply, LsRjtReason.LogicalError, LsRjtExplanation.InvalidPayloadLength);
                }

                return _events.ReleaseRecoveryQualifier(sourceId, rrq.OriginatorId, rrq.OxId, rrq.RxId)
                    ? Els.WriteAccept(reply)
                    : Reject(reply, LsRjtReason.LogicalError, LsRjtExplanation.InvalidExchangeIds);
            default:
                // REC and SRR only make sense with FCP retry, which we do not offer; the rest we do not implement.
                return Reject(reply, LsRjtReason.CommandNotSupported, LsRjtExplanation.None);
        }
    }

    private int Plogi(uint sourceId, ReadOnlySpan<byte> payload, MacAddress source, Span<byte> reply)
    {
        if (!ServiceParameters.TryRead(payload, out var theirs))
        {
            return Reject(reply, LsRjtReason.LogicalError, LsRjtExplanation.InvalidPayloadLength);
        }

        if (theirs.PortName == 0)
        {
            return Reject(reply, LsRjtReason.LogicalError, LsRjtExplanation.InvalidPortName);
        }

        if (theirs.NodeName == 0)
        {
            return Reject(reply, LsRjtReason.LogicalError, LsRjtExplanation.InvalidNodeName);
        }

        if ((theirs.Class3ServiceOptions & ClassServiceOptions.Valid) == 0)
        {
            return Reject(reply, LsRjtReason.LogicalError, LsRjtExplanation.ServiceParameterOptions);
        }

        if (NegotiatedPayload(theirs) < MinReceiveSize)
        {
            return Reject(reply, LsRjtReason.LogicalError, LsRjtExplanation.ServiceParameterReceiveSize);
        }

        RecordLogin(sourceId, theirs, source);
        return LocalServiceParameters.WriteTo(reply, ElsCode.LsAcc);
    }

    private int Logo(uint sourceId, ReadOnlySpan<byte> payload, Span<byte> reply)
    {
        if (!LogoPayload.TryRead(payload, out _))
        {
            return Reject(reply, LsRjtReason.LogicalError, LsRjtExplanation.InvalidPayloadLength);
        }

        // Accepted whether or not the port was logged in: after it, it is not.
        if (_ports.TryRemove(sourceId, out var removed))
        {
            EndImagePair(removed);
        }

        return Els.WriteAccept(reply);
    }

    private int Prli(uint sourceId, ReadOnlySpan<byte> payload, Span<byte> reply)
    {
        if (!Protocol.Prli.TryReadHeader(payload, out _, out int pages))
        {
            return Reject(reply, LsRjtReason.LogicalError, LsRjtExplanation.InvalidPayloadLength);
        }

        if (Protocol.Prli.HeaderLength + (pages * PrliPage.Length) > reply.Length)
        {
            return Reject(reply, LsRjtReason.UnableToPerform, LsRjtExplanation.InsufficientResources);
        }

        Protocol.Prli.WriteHeader(reply, ElsCode.LsAcc, pages);
        bool fcpDone = false;
        for (int i = 0; i < pages; i++)
        {
            Protocol.Prli.TryReadPage(payload, i, out var page);
            PrliPage answer;
            if (page.Type == FcType.Fcp && !fcpDone)
            {
                fcpDone = true;
                answer = FcpPrli(sourceId, page);
            }
            else
            {
                // No other FC-4 is provided here (libfc answers an unprovided type the same).
                answer = new PrliPage { Type = page.Type, TypeExtension = page.TypeExtension, Flags = PrliResponseCode.InvalidServiceParameters };
            }

            answer.WriteTo(reply[(Protocol.Prli.HeaderLength + (i * PrliPage.Length))..]);
        }

        return Protocol.Prli.HeaderLength + (pages * PrliPage.Length);
    }

    // As fcst: process associators are refused, the initiator or target function must be offered, the image pair is
    // established only when asked, the peer is an initiator and the target is enabled. The accept offers the target
    // function and keeps READ XFER_RDY disabled when asked; no retry, no confirmed completion (we implement neither).
    private PrliPage FcpPrli(uint sourceId, in PrliPage page)
    {
        var answer = new PrliPage { Type = page.Type, TypeExtension = page.TypeExtension };
        if ((page.Flags & (PrliFlags.OriginatorPaValid | PrliFlags.ResponderPaValid)) != 0)
        {
            return answer with { Flags = PrliResponseCode.NoSuchTargetImage };
        }

        uint asked = page.Parameters;
        if ((asked & (FcpServiceParameters.InitiatorFunction | FcpServiceParameters.TargetFunction)) == 0)
        {
            return answer with { Flags = PrliResponseCode.InvalidServiceParameters };
        }

        if (!TargetEnabled)
        {
            // FC-LS response code 5: the configuration of the recipient precludes an image pair.
            return answer with { Flags = PrliResponseCode.PreconditionsNotMet };
        }

        byte flags = PrliResponseCode.Executed;
        if ((page.Flags & PrliFlags.EstablishImagePair) != 0 && (asked & FcpServiceParameters.InitiatorFunction) != 0
            && _ports.TryUpdate(sourceId, p => p with { ImagePairEstablished = true, FcpParameters = asked }, out var before, out var after))
        {
            flags |= PrliFlags.EstablishImagePair;
            if (!before.ImagePairEstablished)
            {
                _events.ImagePairEstablished(after);
            }
        }

        return answer with
        {
            Flags = flags,
            Parameters = FcpServiceParameters.TargetFunction | (asked & FcpServiceParameters.ReadTransferReadyDisabled),
        };
    }

    private int Prlo(uint sourceId, ReadOnlySpan<byte> payload, Span<byte> reply)
    {
        if (!Protocol.Prli.TryReadHeader(payload, out _, out int pages))
        {
            return Reject(reply, LsRjtReason.LogicalError, LsRjtExplanation.InvalidPayloadLength);
        }

        if (Protocol.Prli.HeaderLength + (pages * PrliPage.Length) > reply.Length)
        {
            return Reject(reply, LsRjtReason.UnableToPerform, LsRjtExplanation.InsufficientResources);
        }

        Protocol.Prli.WriteHeader(reply, ElsCode.LsAcc, pages);
        for (int i = 0; i < pages; i++)
        {
            Protocol.Prli.TryReadPage(payload, i, out var page);
            if (page.Type == FcType.Fcp
                && _ports.TryUpdate(sourceId, p => p with { ImagePairEstablished = false, FcpParameters = 0 }, out var before, out _)
                && before.ImagePairEstablished)
            {
                _events.ImagePairEnded(before);
            }

            new PrliPage { Type = page.Type, TypeExtension = page.TypeExtension, Flags = PrliResponseCode.Executed }
                .WriteTo(reply[(Protocol.Prli.HeaderLength + (i * PrliPage.Length))..]);
        }

        return Protocol.Prli.HeaderLength + (pages * PrliPage.Length);
    }

    private void EndImagePair(RemotePort port)
    {
        if (port.ImagePairEstablished)
        {
            _events.ImagePairEnded(port);
        }
    }

    private int NegotiatedPayload(in ServiceParameters theirs)
    {
        int size = Math.Min(theirs.MaxPayload, _identity.ReceiveDataFieldSize);
        int class3 = theirs.Class3ReceiveDataFieldSize & ServiceParameters.ReceiveDataFieldSizeMask;
        return class3 == 0 ? size : Math.Min(size, class3);
    }

    private static int Reject(Span<byte> reply, byte reason, byte explanation) => new LsRjt(reason, explanation).WriteTo(reply);
}
