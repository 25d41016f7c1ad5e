// Licensed under the Apache License, Version 2.0.

using System.Text;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>How an <see cref="FcfEmulator"/> presents itself.</summary>
internal sealed class FcfEmulatorOptions
{
    public required MacAddress Mac { get; init; }

    public ulong SwitchName { get; init; } = 0x2001_000D_ECAA_BB00;

    public ulong FabricName { get; init; } = 0x1001_000D_ECAA_BB00;

    public byte Priority { get; init; } = 128;

    public uint FcMap { get; init; } = MacAddress.DefaultFcMap;

    public ushort VirtualFabricId { get; init; }

    public uint KeepAlivePeriodMilliseconds { get; init; } = 8000;

    public bool NoKeepAlivesExpected { get; init; }

    public bool Available { get; init; } = true;

    /// <summary>The FCoE VLAN it serves (announced in VLAN notifications, its frames tagged); null: untagged, no VLAN notifications.</summary>
    public ushort? VlanId { get; init; }

    /// <summary>The domain of the N_Port_IDs it assigns: DD.AA.PP with AA = 0x01 and PP counting from 1.</summary>
    public byte DomainId { get; init; } = 0x0A;

    /// <summary>
    /// Whether it assigns further N_Port_IDs to FDISC (NPIV): the FLOGI accept says so (common features bit 13) when
    /// the FLOGI asked for it. Without it an FDISC gets an LS_RJT.
    /// </summary>
    public bool Npiv { get; init; } = true;

    /// <summary>
    /// How long a VN_Port may go without a VN_Port keep-alive before the FCF clears its virtual link (a Clear Virtual
    /// Links naming it; FC-BB-5 allows 2.5 x FKA_VN_PERIOD = 225 s); null: not checked.
    /// </summary>
    public TimeSpan? VnPortKeepAliveTimeout { get; init; }
}

/// <summary>A VN_Port logged in through the emulator, with FLOGI or (<paramref name="ByFdisc"/>) FDISC.</summary>
internal sealed record FabricLogin(uint PortId, ulong PortName, ulong NodeName, MacAddress ENodeMac, MacAddress PortMac, ushort MaxFcoeSize,
    bool ByFdisc = false);

/// <summary>What the emulator's name server knows of a port.</summary>
internal sealed class NameServerEntry
{
    public required uint PortId { get; init; }

    public required ulong PortName { get; init; }

    public required ulong NodeName { get; init; }

    /// <summary>Logged in to the directory server (PLOGI to 0xFFFFFC).</summary>
    public bool LoggedIn { get; set; }

    /// <summary>The RFT_ID bitmap, null until registered.</summary>
    public byte[]? Fc4Types { get; set; }

    /// <summary>The RFF_ID feature bits registered for FCP, null until registered.</summary>
    public byte? FcpFeatures { get; set; }

    public string? SymbolicPortName { get; set; }

    /// <summary>The SCR registration function, null until registered.</summary>
    public byte? ScrFunction { get; set; }

    public bool HasType(byte type) => Fc4Types is { } types && Fc4Bitmap.IsTypeSet(types, type);
}

/// <summary>A FIP frame the emulator received: when, what, from where and to where.</summary>
internal sealed record FipReceived(DateTimeOffset At, FipMessage Message, MacAddress Source, MacAddress Destination, ushort? VlanTag,
    ushort Flags, byte[] Frame);

/// <summary>A keep-alive the emulator received; <see cref="VnPort"/> is set for a VN_Port keep-alive.</summary>
internal sealed record KeepAliveReceived(DateTimeOffset At, MacAddress Source, MacAddress ENodeMac, VnPortIdentity? VnPort);

/// <summary>
/// A test FCF (FC-BB-5) on an <see cref="InMemoryEthernet"/> segment, in our own words: it answers VLAN requests,
/// advertises to ALL-ENode-MACs every FKA_ADV_PERIOD and answers solicitations with a unicast advertisement padded to
/// the ENode's max FCoE size, grants an N_Port_ID and its FPMA to a FIP FLOGI and (NPIV) to each FIP FDISC of an ENode
/// already logged in, following FC-LS-3 (an FLOGI logs out every N_Port_ID of its ENode, a LOGO only its own), accepts
/// FIP LOGO, records keep-alives and checks each VN_Port's (its MAC, N_Port_ID and WWPN; optionally clearing a VN_Port
/// that falls silent), clears virtual links on demand (the ENode, or the VN_Ports named), serves a name server at 0xFFFFFC (PLOGI, RFT_ID, RFF_ID, RSPN_ID, GPN_FT, GID_FT)
/// and a fabric controller at 0xFFFFFD (SCR, RSCN on demand), and forwards FCoE frames between logged-in VN_Ports by
/// D_ID (rewriting the MACs, as an FCF does). Not an independent peer: it shows our ENode works with our reading of
/// FC-BB-5 and FC-GS, not with a real switch.
/// </summary>
internal sealed class FcfEmulator : IDisposable
{
    public const uint RscnOxIdBase = 0x4000;

    private readonly InMemoryFcoeLink _link;
    private readonly TimeProvider _time;
    private readonly byte[] _buffer = new byte[FcoeFrame.MaxTaggedFrameLength + 64];
    private readonly Dictionary<uint, FabricLogin> _logins = [];
    private readonly Dictionary<uint, NameServerEntry> _nameServer = [];
    private readonly Dictionary<ushort, uint> _rscnExchanges = [];
    private readonly Dictionary<uint, DateTimeOffset> _vnPortHeard = [];
    private ITimer? _advertisementTimer;
    private ITimer? _keepAliveCheck;
    private byte _nextPort = 1;
    private ushort _nextExchangeId = 0x0100;
    private ushort _nextRscnOxId = (ushort)RscnOxIdBase;

    public FcfEmulator(InMemoryEthernet segment, FcfEmulatorOptions options)
    {
        Options = options;
        _time = segment.Time;
        _link = segment.Attach(options.Mac, name: "fcf");
        segment.SetReceiver(_link, frame => Handle(frame));
    }

    public FcfEmulatorOptions Options { get; }

    public MacAddress Mac => Options.Mac;

    /// <summary>While set, the FCF sends nothing and answers nothing (a dead switch, or a cut cable).</summary>
    public bool Silent { get; set; }

    /// <summary>Is it available for logins (the A flag)?</summary>
    public bool Available { get; set; } = true;

    /// <summary>The next this many FLOGIs get an LS_RJT.</summary>
    public int RejectFlogis { get; set; }

    /// <summary>The next this many FLOGIs get no answer.</summary>
    public int IgnoreFlogis { get; set; }

    /// <summary>The next this many FDISCs get an LS_RJT.</summary>
    public int RejectFdiscs { get; set; }

    /// <summary>The next this many FDISCs get no answer.</summary>
    public int IgnoreFdiscs { get; set; }

    /// <summary>The next this many name server CT requests get a CT reject (logical busy).</summary>
    public int RejectCtRequests { get; set; }

    /// <summary>The next this many name server CT requests get no answer.</summary>
    public int IgnoreCtRequests { get; set; }

    /// <summary>The next name server request with this command code gets no answer.</summary>
    public ushort? LoseNextCtCommand { get; set; }

    public List<FipReceived> FipFrames { get; } = [];

    public List<KeepAliveReceived> KeepAlives { get; } = [];

    public List<(DateTimeOffset At, uint PortId, ulong PortName)> Logouts { get; } = [];

    /// <summary>The FLOGIs answered: when, and the LS_ACC (true) or LS_RJT (false).</summary>
    public List<(DateTimeOffset At, MacAddress ENode, bool Accepted)> Flogis { get; } = [];

    /// <summary>The FDISCs answered: when, from which ENode, for which WWPN, and the LS_ACC (true) or LS_RJT (false).</summary>
    public List<(DateTimeOffset At, MacAddress ENode, ulong PortName, bool Accepted)> Fdiscs { get; } = [];

    /// <summary>VN_Port keep-alives that named no login of the ENode, or came from another MAC than the VN_Port's FPMA.</summary>
    public List<KeepAliveReceived> MismatchedKeepAlives { get; } = [];

    /// <summary>The VN_Ports the FCF cleared because their keep-alives stopped: when, and the N_Port_ID.</summary>
    public List<(DateTimeOffset At, uint PortId)> KeepAliveClears { get; } = [];

    /// <summary>FC frames received from VN_Ports (D_ID, S_ID, R_CTL, TYPE, first payload byte).</summary>
    public List<(uint DestinationId, uint SourceId, byte RCtl, byte Type, ushort CtCommand, byte ElsCode)> FcFrames { get; } = [];

    /// <summary>Ports that accepted an RSCN.</summary>
    public List<uint> RscnAccepted { get; } = [];

    public int Forwarded { get; private set; }

    public IReadOnlyDictionary<uint, FabricLogin> Logins => _logins;

    public IReadOnlyDictionary<uint, NameServerEntry> Registry => _nameServer;

    public ushort? VlanTag => Options.VlanId;

    /// <summary>The FC_ID the next FLOGI gets.</summary>
    public uint NextPortId => ((uint)Options.DomainId << 16) | 0x0100u | _nextPort;

    public void Start()
    {
        Available = Options.Available;
        _link.JoinMulticast(MacAddress.AllFcfMacs);
        Advertise();
        if (Options.VnPortKeepAliveTimeout is not null)
        {
            _keepAliveCheck = _time.CreateTimer(_ => CheckVnPortKeepAlives(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        }
    }

    public void Dispose()
    {
        _advertisementTimer?.Dispose();
        _keepAliveCheck?.Dispose();
    }

    /// <summary>The logins of <paramref name="enodeMac"/>, by N_Port_ID.</summary>
    public IReadOnlyList<FabricLogin> LoginsOf(MacAddress enodeMac) =>
        [.. _logins.Values.Where(l => l.ENodeMac == enodeMac).OrderBy(l => l.PortId)];

    /// <summary>Sends Clear Virtual Links to <paramref name="enodeMac"/> naming <paramref name="ports"/> (none: the whole ENode), and drops those logins.</summary>
    public void ClearVirtualLinks(MacAddress enodeMac, params VnPortIdentity[] ports)
    {
        int length = FipFrame.WriteClearVirtualLinks(_buffer, enodeMac, Mac, VlanTag, Options.SwitchName, ports);
        _link.Send(_buffer.AsSpan(0, length));
        foreach (var login in _logins.Values.Where(l => l.ENodeMac == enodeMac).ToArray())
        {
            if (ports.Length == 0 || ports.Any(p => p.PortId == login.PortId))
            {
                Forget(login.PortId);
            }
        }
    }

    /// <summary>Sends an RSCN with <paramref name="pages"/> from the fabric controller to every port that registered with SCR.</summary>
    public int SendRscn(params RscnPage[] pages)
    {
        var payload = new byte[Rscn.PageLength * (pages.Length + 1)];
        int length = Rscn.Write(payload, pages);
        int sent = 0;
        foreach (var entry in _nameServer.Values.Where(e => e.ScrFunction is not null))
        {
            ushort oxId = _nextRscnOxId++;
            _rscnExchanges[oxId] = entry.PortId;
            var header = new FcFrameHeader
            {
                RCtl = RCtl.ElsRequest, DestinationId = entry.PortId, SourceId = WellKnownAddress.FabricController, Type = FcType.Els,
                FCtl = FCtl.Request, OxId = oxId, RxId = FcFrameHeader.UnassignedExchangeId,
            };
            SendFc(entry.PortId, header, payload.AsSpan(0, length));
            sent++;
        }

        return sent;
    }

    // ---- receiving ----

    public bool Handle(byte[] frame)
    {
        if (Silent || !Ethernet.TryReadHeader(frame, out ushort etherType, out _, out _))
        {
            return false;
        }

        return etherType == EtherType.Fip ? HandleFip(frame) : HandleFcoe(frame);
    }

    private bool OnOurVlan(ushort? tag) =>
        (tag, VlanTag) switch
        {
            (null, null) => true,
            (ushort received, ushort ours) => (received & Ethernet.VlanIdMask) == (ours & Ethernet.VlanIdMask),
            _ => false,
        };

    private bool HandleFip(byte[] data)
    {
        if (FipFrame.TryRead(data, out var frame) != FipReadResult.Success)
        {
            return false;
        }

        FipFrames.Add(new FipReceived(_time.GetUtcNow(), frame.Header.Message, frame.Source, frame.Destination, frame.VlanTag,
            frame.Header.Flags, data));
        if (frame.Header.Message == FipMessage.VlanRequest)
        {
            return AnswerVlanRequest(frame);
        }

        if (!OnOurVlan(frame.VlanTag))
        {
            return false;
        }

        return frame.Header.Message switch
        {
            FipMessage.DiscoverySolicitation => AnswerSolicitation(frame),
            FipMessage.LinkServiceRequest => AnswerLinkService(frame),
            FipMessage.KeepAlive => RecordKeepAlive(frame),
            _ => false,
        };
    }

    private bool AnswerVlanRequest(FipFrameView frame)
    {
        if (VlanTag is not ushort vlan || frame.VlanTag is not null || !ReadMac(frame, out var enode))
        {
            return false;
        }

        int length = FipFrame.WriteVlanNotification(_buffer, enode, Mac, [(ushort)(vlan & Ethernet.VlanIdMask)]);
        _link.Send(_buffer.AsSpan(0, length));
        return true;
    }

    private bool AnswerSolicitation(FipFrameView frame)
    {
        if (frame.Destination != MacAddress.AllFcfMacs && frame.Destination != Mac)
        {
            return false;
        }

        var reader = frame.GetDescriptorReader();
        MacAddress enode = default;
        ushort maxFcoeSize = 0;
        while (reader.TryReadNext(out var d))
        {
            if (d.Type == FipDescriptorType.MacAddress)
            {
                d.TryReadMacAddress(out enode);
            }
            else if (d.Type == FipDescriptorType.MaxFcoeSize)
            {
                d.TryReadMaxFcoeSize(out maxFcoeSize);
            }
        }

        if (enode.IsZero || maxFcoeSize == 0 || reader.Error != FipDescriptorError.None)
        {
            return false;
        }

        ushort flags = (ushort)(FipFlags.Fpma | FipFlags.Solicited | FipFlags.FPort | (Available ? FipFlags.Available : 0));
        int length = FipFrame.WriteDiscoveryAdvertisement(_buffer, enode, Mac, VlanTag, flags, Advertisement,
            Ethernet.GetHeaderLength(VlanTag.HasValue) + maxFcoeSize);
        _link.Send(_buffer.AsSpan(0, length));
        return true;
    }

    private bool AnswerLinkService(FipFrameView frame)
    {
        if (frame.Destination != Mac)
        {
            return false;
        }

        var reader = frame.GetDescriptorReader();
        FipDescriptorType type = 0;
        FcFrameHeader header = default;
        ReadOnlySpan<byte> els = default;
        bool haveEls = false;
        while (reader.TryReadNext(out var d))
        {
            if (!haveEls && d.Type is FipDescriptorType.Flogi or FipDescriptorType.Fdisc or FipDescriptorType.Logo)
            {
                haveEls = d.TryReadEncapsulatedEls(out header, out els);
                type = d.Type;
            }
        }

        if (!haveEls || header.RCtl != RCtl.ElsRequest || header.DestinationId != WellKnownAddress.FabricLogin)
        {
            return false;
        }

        var enode = frame.Source;
        var replyPayload = new byte[ServiceParameters.Length];
        if (type == FipDescriptorType.Logo)
        {
            if (!LogoPayload.TryRead(els, out var logo) || !_logins.TryGetValue(logo.PortId, out var login) || login.ENodeMac != enode)
            {
                return false;
            }

            Logouts.Add((_time.GetUtcNow(), logo.PortId, logo.PortName));
            Forget(logo.PortId);
            int accept = Els.WriteAccept(replyPayload);
            SendLinkServiceReply(enode, FipDescriptorType.Logo, header.ToReply(RCtl.ElsReply, FCtl.LastReply, NextExchangeId()),
                replyPayload.AsSpan(0, accept), login.PortMac);
            return true;
        }

        if (type == FipDescriptorType.Fdisc)
        {
            return AnswerFdisc(enode, header, els);
        }

        if (!ServiceParameters.TryRead(els, out var parameters) || els[0] != ElsCode.Flogi)
        {
            return false;
        }

        if (IgnoreFlogis > 0)
        {
            IgnoreFlogis--;
            return true;
        }

        if (RejectFlogis > 0 || !Available)
        {
            RejectFlogis = Math.Max(0, RejectFlogis - 1);
            Flogis.Add((_time.GetUtcNow(), enode, false));
            int reject = new LsRjt(LsRjtReason.UnableToPerform, LsRjtExplanation.InsufficientResources).WriteTo(replyPayload);
            SendLinkServiceReply(enode, FipDescriptorType.Flogi, header.ToReply(RCtl.ElsReply, FCtl.LastReply, NextExchangeId()),
                replyPayload.AsSpan(0, reject), default);
            return true;
        }

        // FC-LS-3: an FLOGI logs out every N_Port_ID of its ENode (FLOGI or FDISC), and a second FLOGI of the same
        // port name through another ENode is an implicit logout of the first.
        foreach (var old in _logins.Values.Where(l => l.ENodeMac == enode || l.PortName == parameters.PortName).ToArray())
        {
            Forget(old.PortId);
        }

        var fpma = Grant(enode, parameters, byFdisc: false, out uint portId);
        Flogis.Add((_time.GetUtcNow(), enode, true));
        bool npiv = Options.Npiv && (parameters.CommonFeatures & CommonFeatures.MultipleNPortIdSupport) != 0;
        var fabricAccept = FabricAccept(Options.SwitchName + 1); // the F_Port's name
        int length = (fabricAccept with { CommonFeatures = (ushort)(fabricAccept.CommonFeatures | (npiv ? CommonFeatures.MultipleNPortIdAssignment : 0)) })
            .WriteTo(replyPayload, ElsCode.LsAcc);
        var reply = header.ToReply(RCtl.ElsReply, FCtl.LastReply, NextExchangeId()) with { DestinationId = portId };
        SendLinkServiceReply(enode, FipDescriptorType.Flogi, reply, replyPayload.AsSpan(0, length), fpma);
        return true;
    }

    // FDISC (FC-LS-3 4.2.11, NPIV): another N_Port_ID for an ENode that holds one already.
    private bool AnswerFdisc(MacAddress enode, in FcFrameHeader header, ReadOnlySpan<byte> els)
    {
        if (!ServiceParameters.TryRead(els, out var parameters) || els[0] != ElsCode.Fdisc || header.SourceId != 0)
        {
            return false;
        }

        if (IgnoreFdiscs > 0)
        {
            IgnoreFdiscs--;
            return true;
        }

        var replyPayload = new byte[ServiceParameters.Length];
        var replyHeader = header.ToReply(RCtl.ElsReply, FCtl.LastReply, NextExchangeId());
        (byte Reason, byte Explanation)? reject = null;
        if (RejectFdiscs > 0)
        {
            RejectFdiscs--;
            reject = (LsRjtReason.UnableToPerform, LsRjtExplanation.InsufficientResources);
        }
        else if (!Options.Npiv)
        {
            reject = (LsRjtReason.CommandNotSupported, LsRjtExplanation.None);
        }
        else if (!_logins.Values.Any(l => l.ENodeMac == enode))
        {
            reject = (LsRjtReason.LogicalError, LsRjtExplanation.None); // no FLOGI holds the link
        }
        else if (_logins.Values.Any(l => l.PortName == parameters.PortName && l.ENodeMac != enode))
        {
            reject = (LsRjtReason.LogicalError, LsRjtExplanation.InvalidPortName);
        }

        if (reject is { } r)
        {
            Fdiscs.Add((_time.GetUtcNow(), enode, parameters.PortName, false));
            int rejectLength = new LsRjt(r.Reason, r.Explanation).WriteTo(replyPayload);
            SendLinkServiceReply(enode, FipDescriptorType.Fdisc, replyHeader, replyPayload.AsSpan(0, rejectLength), default);
            return true;
        }

        // The same WWPN asking again (its earlier login lost) replaces its login.
        foreach (var old in _logins.Values.Where(l => l.PortName == parameters.PortName).ToArray())
        {
            Forget(old.PortId);
        }

        var fpma = Grant(enode, parameters, byFdisc: true, out uint portId);
        Fdiscs.Add((_time.GetUtcNow(), enode, parameters.PortName, true));
        int length = FabricAccept(Options.SwitchName + 1).WriteTo(replyPayload, ElsCode.LsAcc);
        SendLinkServiceReply(enode, FipDescriptorType.Fdisc, replyHeader with { DestinationId = portId }, replyPayload.AsSpan(0, length), fpma);
        return true;
    }

    private MacAddress Grant(MacAddress enode, in ServiceParameters parameters, bool byFdisc, out uint portId)
    {
        portId = NextPortId;
        _nextPort++;
        var fpma = MacAddress.FromFpma(Options.FcMap, portId);
        var maxFcoeSize = (ushort)(parameters.MaxPayload + FcoeFrame.HeaderLength + FcFrameHeader.Length + FcoeFrame.TrailerLength);
        _logins[portId] = new FabricLogin(portId, parameters.PortName, parameters.NodeName, enode, fpma, maxFcoeSize, byFdisc);
        _nameServer[portId] = new NameServerEntry { PortId = portId, PortName = parameters.PortName, NodeName = parameters.NodeName };
        _vnPortHeard[portId] = _time.GetUtcNow();
        return fpma;
    }

    private bool RecordKeepAlive(FipFrameView frame)
    {
        if (frame.Destination != Mac)
        {
            return false;
        }

        var reader = frame.GetDescriptorReader();
        MacAddress enode = default;
        VnPortIdentity? vnPort = null;
        while (reader.TryReadNext(out var d))
        {
            if (d.Type == FipDescriptorType.MacAddress)
            {
                d.TryReadMacAddress(out enode);
            }
            else if (d.Type == FipDescriptorType.VnPortId && d.TryReadVnPortId(out var identity))
            {
                vnPort = identity;
            }
        }

        var received = new KeepAliveReceived(_time.GetUtcNow(), frame.Source, enode, vnPort);
        KeepAlives.Add(received);
        if (vnPort is { } named)
        {
            // A VN_Port keep-alive comes from its FPMA and names a login of its ENode exactly.
            if (_logins.TryGetValue(named.PortId, out var login) && login.ENodeMac == enode && login.PortMac == frame.Source
                && login.PortMac == named.Mac && login.PortName == named.PortName)
            {
                _vnPortHeard[named.PortId] = received.At;
            }
            else
            {
                MismatchedKeepAlives.Add(received);
            }
        }

        return true;
    }

    private void CheckVnPortKeepAlives()
    {
        if (Silent || Options.VnPortKeepAliveTimeout is not TimeSpan timeout)
        {
            return;
        }

        var now = _time.GetUtcNow();
        foreach (var login in _logins.Values.ToArray())
        {
            if (_vnPortHeard.TryGetValue(login.PortId, out var heard) && now - heard >= timeout)
            {
                KeepAliveClears.Add((now, login.PortId));
                ClearVirtualLinks(login.ENodeMac, new VnPortIdentity(login.PortMac, login.PortId, login.PortName));
            }
        }
    }

    private bool HandleFcoe(byte[] data)
    {
        if (FcoeFrame.TryRead(data, out var frame) != FcoeReadResult.Success || frame.Destination != Mac || !OnOurVlan(frame.VlanTag))
        {
            return false;
        }

        var header = frame.Header;
        if (!_logins.TryGetValue(header.SourceId, out var sender) || sender.PortMac != frame.Source)
        {
            return false; // an FCF takes FCoE frames only from the FPMA of a logged-in VN_Port
        }

        var payload = frame.Payload;
        ushort ctCommand = header.Type == FcType.Ct && CtHeader.TryRead(payload, out var ct) ? ct.CommandResponse : (ushort)0;
        FcFrames.Add((header.DestinationId, header.SourceId, header.RCtl, header.Type, ctCommand, payload.IsEmpty ? (byte)0 : payload[0]));
        switch (header.DestinationId)
        {
            case WellKnownAddress.DirectoryServer:
                return header.Type == FcType.Ct ? AnswerCt(header, payload) : AnswerNameServerEls(header, payload);
            case WellKnownAddress.FabricController:
                return AnswerFabricController(header, payload);
            default:
                if (!_logins.TryGetValue(header.DestinationId, out var target))
                {
                    return false;
                }

                var copy = (byte[])data.Clone();
                target.PortMac.WriteTo(copy);
                Mac.WriteTo(copy.AsSpan(MacAddress.Length));
                _link.Send(copy);
                Forwarded++;
                return true;
        }
    }

    private bool AnswerNameServerEls(in FcFrameHeader header, ReadOnlySpan<byte> payload)
    {
        if (header.RCtl != RCtl.ElsRequest || !Els.TryReadCode(payload, out byte code))
        {
            return false;
        }

        var reply = new byte[ServiceParameters.Length];
        int length;
        if (code == ElsCode.Plogi && ServiceParameters.TryRead(payload, out _))
        {
            _nameServer[header.SourceId].LoggedIn = true;
            length = FabricAccept(Options.SwitchName + 2).WriteTo(reply, ElsCode.LsAcc); // the directory server's name
        }
        else if (code == ElsCode.Logo)
        {
            _nameServer[header.SourceId].LoggedIn = false;
            length = Els.WriteAccept(reply);
        }
        else
        {
            length = new LsRjt(LsRjtReason.CommandNotSupported, LsRjtExplanation.None).WriteTo(reply);
        }

        SendFc(header.SourceId, header.ToReply(RCtl.ElsReply, FCtl.LastReply, NextExchangeId()), reply.AsSpan(0, length));
        return true;
    }

    private bool AnswerFabricController(in FcFrameHeader header, ReadOnlySpan<byte> payload)
    {
        if (header.RCtl == RCtl.ElsReply)
        {
            if (_rscnExchanges.Remove(header.OxId, out uint port) && port == header.SourceId && payload.Length > 0 && payload[0] == ElsCode.LsAcc)
            {
                RscnAccepted.Add(port);
            }

            return true;
        }

        if (header.RCtl != RCtl.ElsRequest || !Els.TryReadCode(payload, out byte code))
        {
            return false;
        }

        var reply = new byte[LsRjt.Length];
        int length;
        if (code == ElsCode.Scr && Scr.TryRead(payload, out byte function))
        {
            _nameServer[header.SourceId].ScrFunction = function == ScrFunction.Clear ? null : function;
            length = Els.WriteAccept(reply);
        }
        else
        {
            length = new LsRjt(LsRjtReason.CommandNotSupported, LsRjtExplanation.None).WriteTo(reply);
        }

        SendFc(header.SourceId, header.ToReply(RCtl.ElsReply, FCtl.LastReply, NextExchangeId()), reply.AsSpan(0, length));
        return true;
    }

    private bool AnswerCt(in FcFrameHeader header, ReadOnlySpan<byte> payload)
    {
        if (header.RCtl != RCtl.CtRequest || !CtHeader.TryRead(payload, out var request))
        {
            return false;
        }

        if (IgnoreCtRequests > 0 || LoseNextCtCommand == request.CommandResponse)
        {
            IgnoreCtRequests = Math.Max(0, IgnoreCtRequests - 1);
            LoseNextCtCommand = LoseNextCtCommand == request.CommandResponse ? null : LoseNextCtCommand;
            return true;
        }

        var body = payload[CtHeader.Length..];
        var entry = _nameServer[header.SourceId];
        var response = new byte[CtHeader.Length + (NameServer.GpnFtEntryLength * Math.Max(1, _nameServer.Count))];
        int bodyLength = 0;
        (byte Reason, byte Explanation)? reject = null;
        if (RejectCtRequests > 0)
        {
            RejectCtRequests--;
            reject = (CtReason.LogicalBusy, CtExplanation.None);
        }
        else if (request.GsType != CtServiceType.DirectoryService || request.GsSubtype != CtServiceType.NameServer)
        {
            reject = (CtReason.InvalidCommand, CtExplanation.None);
        }
        else if (!entry.LoggedIn)
        {
            reject = (CtReason.LogicalError, CtExplanation.None); // a name server request before the PLOGI to it
        }
        else
        {
            reject = request.CommandResponse switch
            {
                CtCommand.RftId => RegisterTypes(header.SourceId, body, entry),
                CtCommand.RffId => RegisterFeatures(header.SourceId, body, entry),
                CtCommand.RspnId => RegisterSymbolicName(header.SourceId, body, entry),
                CtCommand.GpnFt or CtCommand.GidFt => ListByType(request.CommandResponse, body, response.AsSpan(CtHeader.Length), out bodyLength),
                _ => (CtReason.CommandNotSupported, CtExplanation.None),
            };
        }

        var responseHeader = new CtHeader
        {
            Revision = CtHeader.CurrentRevision, GsType = CtServiceType.DirectoryService, GsSubtype = CtServiceType.NameServer,
            CommandResponse = reject is null ? CtCommand.Accept : CtCommand.Reject,
            Reason = reject?.Reason ?? 0, Explanation = reject?.Explanation ?? 0,
        };
        responseHeader.WriteTo(response);
        int length = CtHeader.Length + (reject is null ? bodyLength : 0);
        SendFc(header.SourceId, header.ToReply(RCtl.CtReply, FCtl.LastReply, NextExchangeId()), response.AsSpan(0, length));
        return true;
    }

    private static (byte, byte)? RegisterTypes(uint source, ReadOnlySpan<byte> body, NameServerEntry entry)
    {
        if (!NameServer.TryReadRftId(body, out uint portId, out var types))
        {
            return (CtReason.InvalidSize, CtExplanation.None);
        }

        if (portId != source)
        {
            return (CtReason.UnableToPerform, CtExplanation.PortIdNotRegistered);
        }

        entry.Fc4Types = types.ToArray();
        return null;
    }

    private static (byte, byte)? RegisterFeatures(uint source, ReadOnlySpan<byte> body, NameServerEntry entry)
    {
        if (!NameServer.TryReadRffId(body, out uint portId, out byte features, out byte type))
        {
            return (CtReason.InvalidSize, CtExplanation.None);
        }

        if (portId != source)
        {
            return (CtReason.UnableToPerform, CtExplanation.PortIdNotRegistered);
        }

        if (type != FcType.Fcp || !entry.HasType(type))
        {
            return (CtReason.UnableToPerform, CtExplanation.Fc4TypesNotRegistered); // RFF_ID needs the TYPE from RFT_ID first
        }

        entry.FcpFeatures = features;
        return null;
    }

    private static (byte, byte)? RegisterSymbolicName(uint source, ReadOnlySpan<byte> body, NameServerEntry entry)
    {
        if (!NameServer.TryReadRspnId(body, out uint portId, out var name))
        {
            return (CtReason.InvalidSize, CtExplanation.None);
        }

        if (portId != source)
        {
            return (CtReason.UnableToPerform, CtExplanation.PortIdNotRegistered);
        }

        entry.SymbolicPortName = Encoding.UTF8.GetString(name);
        return null;
    }

    private (byte, byte)? ListByType(ushort command, ReadOnlySpan<byte> body, Span<byte> response, out int length)
    {
        length = 0;
        if (!NameServer.TryReadGpnFt(body, out byte type, out _, out _))
        {
            return (CtReason.InvalidSize, CtExplanation.None);
        }

        var ports = _nameServer.Values.Where(e => e.HasType(type)).OrderBy(e => e.PortId).ToArray();
        if (ports.Length == 0)
        {
            return (CtReason.UnableToPerform, CtExplanation.Fc4TypesNotRegistered);
        }

        for (int i = 0; i < ports.Length; i++)
        {
            bool last = i == ports.Length - 1;
            length += command == CtCommand.GpnFt
                ? NameServer.WriteGpnFtEntry(response[length..], ports[i].PortId, ports[i].PortName, last)
                : NameServer.WriteGidFtEntry(response[length..], ports[i].PortId, last);
        }

        return null;
    }

    // ---- sending ----

    private FcfAdvertisement Advertisement => new(Options.Priority, Mac, Options.SwitchName, Options.VirtualFabricId, Options.FcMap,
        Options.FabricName, Options.KeepAlivePeriodMilliseconds, Options.NoKeepAlivesExpected);

    private void Advertise()
    {
        if (!Silent)
        {
            ushort flags = (ushort)(FipFlags.Fpma | FipFlags.FPort | (Available ? FipFlags.Available : 0));
            int length = FipFrame.WriteDiscoveryAdvertisement(_buffer, MacAddress.AllENodeMacs, Mac, VlanTag, flags, Advertisement, 0);
            _link.Send(_buffer.AsSpan(0, length));
        }

        _advertisementTimer?.Dispose();
        _advertisementTimer = _time.CreateTimer(_ => Advertise(), null, TimeSpan.FromMilliseconds(Options.KeepAlivePeriodMilliseconds),
            Timeout.InfiniteTimeSpan);
    }

    private ServiceParameters FabricAccept(ulong portName) => new()
    {
        HighestVersion = ServiceParameters.FcPhVersion,
        LowestVersion = ServiceParameters.FcPhVersion,
        BbCredit = 0,
        CommonFeatures = CommonFeatures.FPort,
        ReceiveDataFieldSize = FcoeFrame.MaxPayloadLength,
        ResourceAllocationTimeout = 10000,
        ErrorDetectTimeout = 2000,
        PortName = portName,
        NodeName = Options.FabricName,
        Class3ServiceOptions = ClassServiceOptions.Valid | ClassServiceOptions.SequentialDelivery,
        Class3ReceiveDataFieldSize = FcoeFrame.MaxPayloadLength,
    };

    private void SendLinkServiceReply(MacAddress enode, FipDescriptorType type, FcFrameHeader header, ReadOnlySpan<byte> payload, MacAddress mac)
    {
        int length = FipFrame.WriteLinkServiceReply(_buffer, enode, Mac, VlanTag, FipFlags.Fpma, type, header, payload, mac);
        _link.Send(_buffer.AsSpan(0, length));
    }

    private void SendFc(uint portId, in FcFrameHeader header, ReadOnlySpan<byte> payload)
    {
        if (!_logins.TryGetValue(portId, out var login))
        {
            return;
        }

        int length = FcoeFrame.Write(_buffer, login.PortMac, Mac, VlanTag, Sof.SofI3, header, payload, Eof.EofT);
        _link.Send(_buffer.AsSpan(0, length));
    }

    private ushort NextExchangeId() => _nextExchangeId++;

    private void Forget(uint portId)
    {
        _logins.Remove(portId);
        _nameServer.Remove(portId);
        _vnPortHeard.Remove(portId);
    }

    private static bool ReadMac(FipFrameView frame, out MacAddress mac)
    {
        mac = default;
        var reader = frame.GetDescriptorReader();
        while (reader.TryReadNext(out var d))
        {
            if (d.Type == FipDescriptorType.MacAddress && d.TryReadMacAddress(out mac))
            {
                return true;
            }
        }

        return false;
    }
}
