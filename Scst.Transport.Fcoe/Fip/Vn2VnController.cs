// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Fcoe.Link;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Fip;

/// <summary>
/// Answers a link service another VN_Port sent inside FIP (an FLOGI or a LOGO, FIP operation 2 subcode 1).
/// </summary>
/// <param name="encapsulation">The descriptor type: <see cref="FipDescriptorType.Flogi"/> or <see cref="FipDescriptorType.Logo"/>.</param>
/// <param name="header">The FC header of the request (S_ID: the peer's N_Port_ID).</param>
/// <param name="elsPayload">The ELS payload of the request, fill bytes excluded.</param>
/// <param name="senderMac">The MAC address descriptor of the request: the sender's VN_Port MAC.</param>
/// <param name="reply">Where to write the reply payload (LS_ACC or LS_RJT).</param>
/// <returns>The bytes written to <paramref name="reply"/>; 0 sends nothing.</returns>
internal delegate int Vn2VnLinkServiceHandler(FipDescriptorType encapsulation, FcFrameHeader header, ReadOnlySpan<byte> elsPayload,
    MacAddress senderMac, Span<byte> reply);

/// <summary>
/// Takes the reply (FIP operation 2 subcode 2) to a link service this port sent inside FIP with
/// <see cref="Vn2VnController.SendLinkServiceRequest"/>.
/// </summary>
/// <param name="encapsulation">The descriptor type of the reply.</param>
/// <param name="header">The FC header of the reply (OX_ID: the one of our request).</param>
/// <param name="elsPayload">The LS_ACC or LS_RJT payload, fill bytes excluded.</param>
/// <param name="senderMac">The MAC address descriptor of the reply: the sender's VN_Port MAC.</param>
internal delegate void Vn2VnLinkServiceReplyHandler(FipDescriptorType encapsulation, FcFrameHeader header, ReadOnlySpan<byte> elsPayload,
    MacAddress senderMac);

/// <summary>The states of a <see cref="Vn2VnController"/>.</summary>
internal enum Vn2VnState
{
    /// <summary>Not started, or stopped.</summary>
    Stopped,

    /// <summary>After a conflict: waiting to probe a new N_Port_ID (a random delay below PROBE_WAIT, or the rate limit).</summary>
    Restarting,

    /// <summary>The first probe request is out; the second follows after PROBE_WAIT.</summary>
    Probing1,

    /// <summary>The second probe request is out; the claim follows after ANNOUNCE_WAIT.</summary>
    Probing2,

    /// <summary>The claim notification is out; the port is up after ANNOUNCE_WAIT without conflict.</summary>
    Claiming,

    /// <summary>The N_Port_ID is ours: beacons go out, peers are learnt and aged.</summary>
    Up,
}

/// <summary>
/// The VN2VN half of FIP (FC-BB-6) for one local VN_Port: it probes for an N_Port_ID, claims it, defends it and sends
/// beacons; it learns the other VN_Ports from their claims and ages them out when their beacons stop; it answers the
/// FLOGI and LOGO that peers send inside FIP through a <see cref="Vn2VnLinkServiceHandler"/>.
/// </summary>
/// <remarks>
/// The behaviour on the wire follows what the Linux stack (libfcoe) does, which the captures of this project record:
/// a probe request, another after 100 ms, the claim notification 400 ms later, the port up 400 ms after that with a
/// beacon, then a beacon every 8 s (+ up to 100 ms). Conflicts: while probing, a probe request for our ID from a port
/// with a higher WWPN (or a recorded one) and any probe reply or claim for our ID make us pick a random ID; once
/// claiming or up, we answer probe requests for our ID with a probe reply and a claim for our ID with our own claim,
/// unless the claimant's WWPN is higher: then it keeps the ID and we pick another. After 10 new IDs in a row, every
/// further attempt waits 10 s.
/// <para>
/// <see cref="HandleFip"/> is called by the link's receive loop, one frame at a time; timers come from the
/// <see cref="TimeProvider"/>. One lock guards the state; events are raised after it is released.
/// </para>
/// </remarks>
internal sealed class Vn2VnController : IDisposable
{
    /// <summary>PROBE_WAIT: between the two probe requests, and the upper bound of the random delay of a restart.</summary>
    public static readonly TimeSpan ProbeWait = TimeSpan.FromMilliseconds(100);

    /// <summary>ANNOUNCE_WAIT: after the second probe request until the claim, and after the claim until the port is up.</summary>
    public static readonly TimeSpan AnnounceWait = TimeSpan.FromMilliseconds(400);

    /// <summary>The beacon period (a random fuzz below <see cref="BeaconFuzz"/> is added each time).</summary>
    public static readonly TimeSpan BeaconInterval = TimeSpan.FromSeconds(8);

    /// <summary>The upper bound of the random fuzz (whole milliseconds) added to <see cref="BeaconInterval"/>.</summary>
    public static readonly TimeSpan BeaconFuzz = TimeSpan.FromMilliseconds(100);

    /// <summary>A peer without a claim or beacon for this long (2.5 beacon periods) is lost.</summary>
    public static readonly TimeSpan PeerTimeout = TimeSpan.FromMilliseconds(BeaconInterval.TotalMilliseconds * 2.5);

    /// <summary>The wait before probing again once <see cref="RateLimitCount"/> new IDs in a row have failed.</summary>
    public static readonly TimeSpan RateLimitInterval = TimeSpan.FromSeconds(10);

    /// <summary>New IDs tried in a row before each further try waits <see cref="RateLimitInterval"/>.</summary>
    public const int RateLimitCount = 10;

    // An encapsulation descriptor is at most 255 words: 4 bytes before the FC header, the header, then the payload.
    private const int MaxEncapsulatedPayload = (255 * 4) - FipDescriptor.EncapsulationOverhead;

    private readonly IFcoeLink _link;
    private readonly Vn2VnOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly Vn2VnLinkServiceHandler? _linkServices;
    private readonly Lock _requestLock = new();
    private readonly byte[] _requestFrame = new byte[FcoeFrame.MaxTaggedFrameLength];
    private readonly Fc4Feature[] _fc4Features;
    private readonly ushort _maxFcoeSize;
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, Vn2VnPeer> _peers = [];
    private readonly Timing.DeferredNotifications _notifications;

    // Frames built under the lock (timer and receive path); the link-service path has its own (receive loop only).
    private readonly byte[] _sendBuffer = new byte[FcoeFrame.MaxTaggedFrameLength];
    private readonly byte[] _linkServiceReply = new byte[MaxEncapsulatedPayload];
    private readonly byte[] _linkServiceFrame = new byte[FcoeFrame.MaxTaggedFrameLength];

    private Vn2VnState _state;
    private uint _portId;
    private int _tries;
    private readonly Timing.StateTimer _timer;
    private DateTimeOffset _nextBeacon;
    private DateTimeOffset _lastClaim = DateTimeOffset.MinValue;

    /// <summary>A controller for one VN_Port on <paramref name="link"/>; nothing is sent before <see cref="Start"/>.</summary>
    /// <param name="link">The Ethernet interface; its address is the ENode MAC.</param>
    /// <param name="options">The port's names, preferred ID and announced features.</param>
    /// <param name="timeProvider">The clock and timers.</param>
    /// <param name="random">Randomness for new IDs and delays.</param>
    /// <param name="linkServices">Answers FLOGI and LOGO from peers; null ignores them.</param>
    public Vn2VnController(IFcoeLink link, Vn2VnOptions options, TimeProvider timeProvider, Random random,
        Vn2VnLinkServiceHandler? linkServices)
    {
        ArgumentNullException.ThrowIfNull(link);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(random);
        _link = link;
        _options = options;
        _time = timeProvider;
        _timer = new Timing.StateTimer(timeProvider, OnTimer);
        _notifications = new Timing.DeferredNotifications(_lock);
        _random = random;
        _linkServices = linkServices;
        _fc4Features = [.. options.Fc4Features];
        _maxFcoeSize = (ushort)Math.Clamp(options.MaxFcoeSize ?? link.Mtu, 0, FcoeFrame.MaxFcoeSize);
        _portId = InitialPortId(options);
    }

    /// <summary>Takes the replies to <see cref="SendLinkServiceRequest"/>; null drops them.</summary>
    public Vn2VnLinkServiceReplyHandler? LinkServiceReplies { get; set; }

    /// <summary>The port has its N_Port_ID: the ID and the VN_Port MAC (now a unicast address of the link).</summary>
    public event Action<uint, MacAddress>? PortUp;

    /// <summary>The port lost its N_Port_ID to a conflict (the ID it had); it probes for another.</summary>
    public event Action<uint>? PortDown;

    /// <summary>A new peer was learnt from its claim notification or claim response.</summary>
    public event Action<Vn2VnPeer>? PeerDiscovered;

    /// <summary>A peer was aged out (no beacon for <see cref="PeerTimeout"/>) or replaced by another port with its ID.</summary>
    public event Action<Vn2VnPeer>? PeerLost;

    /// <summary>Where the controller is.</summary>
    public Vn2VnState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    /// <summary>The N_Port_ID proposed, claimed or held.</summary>
    public uint PortId
    {
        get
        {
            lock (_lock)
            {
                return _portId;
            }
        }
    }

    /// <summary>The VN_Port MAC of <see cref="PortId"/>: 0E:FD:00 || N_Port_ID.</summary>
    public MacAddress VnMac => MacAddress.FromVn2VnPortId(PortId);

    /// <summary>The Max FCoE size announced.</summary>
    public ushort MaxFcoeSize => _maxFcoeSize;

    /// <summary>A snapshot of the peers, by N_Port_ID.</summary>
    public IReadOnlyList<Vn2VnPeer> Peers
    {
        get
        {
            lock (_lock)
            {
                return [.. _peers.Values.OrderBy(p => p.PortId)];
            }
        }
    }

    /// <summary>The peer holding <paramref name="portId"/>, if one is known.</summary>
    public bool TryGetPeer(uint portId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Vn2VnPeer? peer)
    {
        lock (_lock)
        {
            return _peers.TryGetValue(portId, out peer);
        }
    }

    /// <summary>Joins ALL-VN2VN-MACs and sends the first probe request.</summary>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    public void Start()
    {
        lock (_lock)
        {
            if (_state != Vn2VnState.Stopped)
            {
                throw new InvalidOperationException("The VN2VN controller is already started.");
            }

            _link.JoinMulticast(MacAddress.AllVn2VnMacs);
            _tries = 0;
            SendVn2Vn(FipMessage.ProbeRequest, MacAddress.AllVn2VnMacs, _link.Address);
            Enter(Vn2VnState.Probing1, ProbeWait);
        }
    }

    /// <summary>Stops the timers and beacons, removes the VN_Port MAC from the link and forgets the peers.</summary>
    public void Stop()
    {
        lock (_lock)
        {
            if (_state == Vn2VnState.Stopped)
            {
                return;
            }

            if (_state == Vn2VnState.Up)
            {
                _link.RemoveUnicastAddress(MacAddress.FromVn2VnPortId(_portId));
            }

            _timer.Cancel();
            _state = Vn2VnState.Stopped;
            _peers.Clear();
        }
    }

    /// <inheritdoc/>
    public void Dispose() => Stop();

    /// <summary>
    /// Processes one received FIP frame. True when it was a VN2VN frame from another port (op 5) or a link service
    /// request (op 2) addressed to this port; false otherwise (not FIP, not VN2VN, malformed, our own, stopped).
    /// Called by the receive loop only, one frame at a time.
    /// </summary>
    public bool HandleFip(ReadOnlySpan<byte> ethernetFrame)
    {
        if (FipFrame.TryRead(ethernetFrame, out var frame) != FipReadResult.Success || !OnOurVlan(frame.VlanTag))
        {
            return false;
        }

        bool handled = frame.Header.Message switch
        {
            FipMessage.ProbeRequest or FipMessage.ProbeReply or FipMessage.ClaimNotification or FipMessage.ClaimResponse
                or FipMessage.Beacon => HandleVn2Vn(frame),
            FipMessage.LinkServiceRequest => HandleLinkService(frame),
            FipMessage.LinkServiceReply => HandleLinkServiceReply(frame),
            _ => false,
        };
        _notifications.Raise();
        return handled;
    }

    /// <summary>
    /// Sends a link service (an FLOGI or a LOGO, <paramref name="encapsulation"/>) to <paramref name="peer"/> inside FIP,
    /// from our ENode MAC to its ENode MAC with our VN_Port MAC in the MAC address descriptor, as VN_Ports log in to each
    /// other in VN2VN mode. The reply goes to <see cref="LinkServiceReplies"/>. False when the port is not up or the link
    /// refused the frame.
    /// </summary>
    public bool SendLinkServiceRequest(Vn2VnPeer peer, FipDescriptorType encapsulation, in FcFrameHeader header, ReadOnlySpan<byte> elsPayload)
    {
        ArgumentNullException.ThrowIfNull(peer);
        uint portId;
        lock (_lock)
        {
            if (_state != Vn2VnState.Up)
            {
                return false;
            }

            portId = _portId;
        }

        lock (_requestLock)
        {
            int length = FipFrame.WriteLinkServiceRequest(_requestFrame, peer.ENodeMac, _link.Address, _options.VlanTag, 0, encapsulation,
                header with { SourceId = portId }, elsPayload, MacAddress.FromVn2VnPortId(portId));
            return _link.Send(_requestFrame.AsSpan(0, length));
        }
    }

    private bool HandleLinkServiceReply(FipFrameView frame)
    {
        var handler = LinkServiceReplies;
        if (handler is null || !TryReadLinkService(frame, out var encapsulation, out var header, out var payload, out var senderMac)
            || header.RCtl != RCtl.ElsReply || header.Type != FcType.Els)
        {
            return false;
        }

        lock (_lock)
        {
            if (_state != Vn2VnState.Up || header.DestinationId != _portId)
            {
                return false;
            }
        }

        handler(encapsulation, header, payload, senderMac);
        return true;
    }

    private static bool TryReadLinkService(FipFrameView frame, out FipDescriptorType encapsulation, out FcFrameHeader header,
        out ReadOnlySpan<byte> payload, out MacAddress senderMac)
    {
        var reader = frame.GetDescriptorReader();
        encapsulation = 0;
        header = default;
        payload = default;
        senderMac = default;
        bool haveEls = false;
        bool haveMac = false;
        while (reader.TryReadNext(out var descriptor))
        {
            if (descriptor.Type is FipDescriptorType.Flogi or FipDescriptorType.Logo && !haveEls)
            {
                haveEls = descriptor.TryReadEncapsulatedEls(out header, out payload);
                encapsulation = descriptor.Type;
            }
            else if (descriptor.Type == FipDescriptorType.MacAddress && !haveMac)
            {
                haveMac = descriptor.TryReadMacAddress(out senderMac);
            }
        }

        return haveEls && haveMac && reader.Error == FipDescriptorError.None;
    }

    private static uint InitialPortId(Vn2VnOptions options)
    {
        uint id = options.PreferredPortId ?? (uint)(options.PortName & 0xFFFF);
        id &= 0xFF_FFFF;
        return id is 0 or 0xFFFF or >= 0xFF_FFF0 ? 1 : id;
    }

    private bool OnOurVlan(ushort? tag) =>
        (tag, _options.VlanTag) switch
        {
            (null, null) => true,
            (ushort received, ushort ours) => (received & Ethernet.VlanIdMask) == (ours & Ethernet.VlanIdMask),
            _ => false,
        };

    private bool HandleVn2Vn(FipFrameView frame)
    {
        if (!TryParseVn2Vn(frame, out var sender))
        {
            return false;
        }

        if (sender.Identity.PortName == _options.PortName)
        {
            return false; // our own frame, looped back
        }

        lock (_lock)
        {
            if (_state == Vn2VnState.Stopped)
            {
                return false;
            }

            bool forOurId = sender.Identity.PortId == _portId;
            switch (frame.Header.Message)
            {
                case FipMessage.ProbeRequest when forOurId:
                    OnProbeRequestForOurId(sender, frame.Header.Flags);
                    break;
                case FipMessage.ProbeReply when forOurId:
                    if (_state == Vn2VnState.Up)
                    {
                        SendClaimNotification();
                    }
                    else
                    {
                        Restart();
                    }

                    break;
                case FipMessage.ClaimNotification:
                    OnClaimNotification(sender, forOurId);
                    break;
                case FipMessage.ClaimResponse when !forOurId && _state is Vn2VnState.Claiming or Vn2VnState.Up:
                    Learn(sender);
                    break;
                case FipMessage.Beacon:
                    OnBeacon(sender);
                    break;
                default:
                    break;
            }
        }

        return true;
    }

    private void OnProbeRequestForOurId(Vn2VnSender sender, ushort flags)
    {
        switch (_state)
        {
            case Vn2VnState.Claiming or Vn2VnState.Up:
                SendVn2Vn(FipMessage.ProbeReply, sender.ENodeMac, _link.Address);
                break;
            case Vn2VnState.Probing1 or Vn2VnState.Probing2
                when _options.PortName > sender.Identity.PortName && (flags & FipFlags.RecOrP2P) == 0:
                // Both are probing the same ID: the higher WWPN keeps probing it and tells the other.
                SendVn2Vn(FipMessage.ProbeReply, sender.ENodeMac, _link.Address);
                break;
            default:
                Restart();
                break;
        }
    }

    private void OnClaimNotification(Vn2VnSender sender, bool forOurId)
    {
        if (_state is not (Vn2VnState.Claiming or Vn2VnState.Up))
        {
            if (forOurId)
            {
                Restart();
            }

            return;
        }

        if (forOurId)
        {
            // Two claims for one ID: the higher WWPN keeps it.
            if (sender.Identity.PortName > _options.PortName)
            {
                Restart();
            }
            else
            {
                SendClaimNotification();
            }

            return;
        }

        ushort size = sender.MaxFcoeSize == 0 ? _maxFcoeSize : Math.Min(sender.MaxFcoeSize, _maxFcoeSize);
        SendClaim(FipMessage.ClaimResponse, sender.ENodeMac, Ethernet.GetHeaderLength(_options.VlanTag.HasValue) + size);
        Learn(sender);
    }

    private void OnBeacon(Vn2VnSender sender)
    {
        var now = _time.GetUtcNow();
        if (_peers.TryGetValue(sender.Identity.PortId, out var peer)
            && peer.PortName == sender.Identity.PortName && peer.NodeName == sender.NodeName)
        {
            _peers[peer.PortId] = peer with { LastHeard = now };
            return;
        }

        // A port we have not seen claim (it came up while we were not listening, or we aged it out): a claim of ours
        // makes it answer with a claim response, from which it is learnt.
        if (_state == Vn2VnState.Up && now - _lastClaim > AnnounceWait)
        {
            SendClaimNotification();
        }
    }

    private void Learn(Vn2VnSender sender)
    {
        var now = _time.GetUtcNow();
        var learnt = new Vn2VnPeer(sender.Identity.PortId, sender.Identity.PortName, sender.NodeName, sender.ENodeMac,
            sender.Identity.Mac, sender.FcpFeatures, sender.MaxFcoeSize, now);
        if (_peers.TryGetValue(learnt.PortId, out var known))
        {
            if (known.PortName == learnt.PortName && known.NodeName == learnt.NodeName)
            {
                _peers[learnt.PortId] = learnt;
                return;
            }

            _notifications.Add(() => PeerLost?.Invoke(known));
        }

        _peers[learnt.PortId] = learnt;
        _notifications.Add(() => PeerDiscovered?.Invoke(learnt));
        if (_state == Vn2VnState.Up)
        {
            ScheduleUp(now);
        }
    }

    private bool HandleLinkService(FipFrameView frame)
    {
        if (_linkServices is null || !TryReadLinkService(frame, out var encapsulation, out var header, out var payload, out var senderMac)
            || header.RCtl != RCtl.ElsRequest || header.Type != FcType.Els)
        {
            return false;
        }

        uint portId;
        lock (_lock)
        {
            if (_state != Vn2VnState.Up)
            {
                return false;
            }

            portId = _portId;
        }

        var ourVnMac = MacAddress.FromVn2VnPortId(portId);
        if (header.DestinationId != portId || (frame.Destination != _link.Address && frame.Destination != ourVnMac))
        {
            return false;
        }

        int length = _linkServices(encapsulation, header, payload, senderMac, _linkServiceReply);
        if (length <= 0)
        {
            return true;
        }

        var reply = header.ToReply(RCtl.ElsReply, FCtl.LastReplyWithInitiative, FcFrameHeader.UnassignedExchangeId);
        int frameLength = FipFrame.WriteLinkServiceReply(_linkServiceFrame, frame.Source, _link.Address, _options.VlanTag, 0,
            encapsulation, reply, _linkServiceReply.AsSpan(0, length), ourVnMac);
        _link.Send(_linkServiceFrame.AsSpan(0, frameLength));
        return true;
    }

    private static bool TryParseVn2Vn(FipFrameView frame, out Vn2VnSender sender)
    {
        sender = default;
        var reader = frame.GetDescriptorReader();
        bool haveMac = false, haveName = false, haveId = false;
        MacAddress enodeMac = default;
        ulong nodeName = 0;
        VnPortIdentity identity = default;
        byte fcpFeatures = 0;
        ushort maxFcoeSize = 0;
        while (reader.TryReadNext(out var d))
        {
            switch (d.Type)
            {
                case FipDescriptorType.MacAddress when !haveMac:
                    haveMac = d.TryReadMacAddress(out enodeMac);
                    break;
                case FipDescriptorType.Name when !haveName:
                    haveName = d.TryReadName(out nodeName);
                    break;
                case FipDescriptorType.VnPortId when !haveId:
                    haveId = d.TryReadVnPortId(out identity);
                    break;
                case FipDescriptorType.Fc4Features:
                    if (d.TryReadFc4Features(out var types, out var features) && Fc4Bitmap.IsTypeSet(types, FcType.Fcp))
                    {
                        fcpFeatures = Fc4Bitmap.GetFeatures(features, FcType.Fcp);
                    }

                    break;
                case FipDescriptorType.MaxFcoeSize:
                    d.TryReadMaxFcoeSize(out maxFcoeSize);
                    break;
                default:
                    break;
            }
        }

        if (!haveMac || !haveName || !haveId || reader.Error != FipDescriptorError.None || enodeMac.IsMulticast
            || identity.PortId is 0 or > 0xFF_FFEF)
        {
            return false;
        }

        sender = new Vn2VnSender(enodeMac, nodeName, identity, fcpFeatures, maxFcoeSize);
        return true;
    }

    // ---- timers (all under the lock) ----

    private void Enter(Vn2VnState state, TimeSpan due)
    {
        _state = state;
        _timer.Schedule(due);
    }

    private void OnTimer(long generation)
    {
        lock (_lock)
        {
            if (!_timer.IsCurrent(generation) || _state == Vn2VnState.Stopped)
            {
                return;
            }

            switch (_state)
            {
                case Vn2VnState.Restarting:
                    SendVn2Vn(FipMessage.ProbeRequest, MacAddress.AllVn2VnMacs, _link.Address);
                    Enter(Vn2VnState.Probing1, ProbeWait);
                    break;
                case Vn2VnState.Probing1:
                    SendVn2Vn(FipMessage.ProbeRequest, MacAddress.AllVn2VnMacs, _link.Address);
                    Enter(Vn2VnState.Probing2, AnnounceWait);
                    break;
                case Vn2VnState.Probing2:
                    SendClaimNotification();
                    Enter(Vn2VnState.Claiming, AnnounceWait);
                    break;
                case Vn2VnState.Claiming:
                    GoUp();
                    break;
                case Vn2VnState.Up:
                    var now = _time.GetUtcNow();
                    AgePeers(now);
                    if (now >= _nextBeacon)
                    {
                        SendBeacon(now);
                    }

                    ScheduleUp(now);
                    break;
                default:
                    break;
            }
        }

        _notifications.Raise();
    }

    private void GoUp()
    {
        _state = Vn2VnState.Up;
        _tries = 0;
        uint portId = _portId;
        var vnMac = MacAddress.FromVn2VnPortId(portId);
        _link.AddUnicastAddress(vnMac);
        _notifications.Add(() => PortUp?.Invoke(portId, vnMac));
        var now = _time.GetUtcNow();
        SendBeacon(now);
        ScheduleUp(now);
    }

    private void SendBeacon(DateTimeOffset now)
    {
        SendVn2Vn(FipMessage.Beacon, MacAddress.AllVn2VnMacs, MacAddress.FromVn2VnPortId(_portId));
        _nextBeacon = now + BeaconInterval + TimeSpan.FromMilliseconds(_random.Next((int)BeaconFuzz.TotalMilliseconds));
    }

    private void ScheduleUp(DateTimeOffset now)
    {
        var next = _nextBeacon;
        foreach (var peer in _peers.Values)
        {
            var deadline = peer.LastHeard + PeerTimeout;
            if (deadline < next)
            {
                next = deadline;
            }
        }

        _timer.Schedule(next - now);
    }

    private void AgePeers(DateTimeOffset now)
    {
        List<Vn2VnPeer>? lost = null;
        foreach (var peer in _peers.Values)
        {
            if (now - peer.LastHeard >= PeerTimeout)
            {
                (lost ??= []).Add(peer);
            }
        }

        if (lost is null)
        {
            return;
        }

        foreach (var peer in lost)
        {
            _peers.Remove(peer.PortId);
            _notifications.Add(() => PeerLost?.Invoke(peer));
        }
    }

    // Gives up the current ID (a conflict) and probes a random other one, after a random delay below PROBE_WAIT,
    // or after RATE_LIMIT_INTERVAL once RATE_LIMIT_COUNT IDs in a row have failed.
    private void Restart()
    {
        if (_state == Vn2VnState.Up)
        {
            uint lostId = _portId;
            _link.RemoveUnicastAddress(MacAddress.FromVn2VnPortId(lostId));
            _notifications.Add(() => PortDown?.Invoke(lostId));
        }

        _portId = PickRandomPortId();
        TimeSpan delay;
        if (_tries < RateLimitCount)
        {
            _tries++;
            delay = TimeSpan.FromMilliseconds(_random.Next((int)ProbeWait.TotalMilliseconds));
        }
        else
        {
            delay = RateLimitInterval;
        }

        Enter(Vn2VnState.Restarting, delay);
    }

    private uint PickRandomPortId()
    {
        // As Linux does: a random ID in the low 16 bits, never 0000 or FFFF, and not one a known peer holds.
        for (int attempt = 0; ; attempt++)
        {
            uint id = (uint)_random.Next(1, 0xFFFF);
            if ((id != _portId && !_peers.ContainsKey(id)) || attempt >= 64)
            {
                return id;
            }
        }
    }

    // ---- sending (under the lock) ----

    private VnPortIdentity OurIdentity => new(MacAddress.FromVn2VnPortId(_portId), _portId, _options.PortName);

    private void SendVn2Vn(FipMessage message, MacAddress destination, MacAddress source)
    {
        int length = message switch
        {
            FipMessage.ProbeRequest => FipFrame.WriteProbeRequest(_sendBuffer, destination, source, _options.VlanTag, 0,
                _link.Address, _options.NodeName, OurIdentity),
            FipMessage.ProbeReply => FipFrame.WriteProbeReply(_sendBuffer, destination, source, _options.VlanTag, 0,
                _link.Address, _options.NodeName, OurIdentity),
            _ => FipFrame.WriteBeacon(_sendBuffer, destination, source, _options.VlanTag, 0,
                _link.Address, _options.NodeName, OurIdentity),
        };
        _link.Send(_sendBuffer.AsSpan(0, length));
    }

    private void SendClaimNotification()
    {
        SendClaim(FipMessage.ClaimNotification, MacAddress.AllVn2VnMacs, 0);
        _lastClaim = _time.GetUtcNow();
    }

    private void SendClaim(FipMessage message, MacAddress destination, int padToLength)
    {
        int length = message == FipMessage.ClaimNotification
            ? FipFrame.WriteClaimNotification(_sendBuffer, destination, _link.Address, _options.VlanTag, 0, _link.Address,
                _options.NodeName, OurIdentity, _fc4Features, _maxFcoeSize)
            : FipFrame.WriteClaimResponse(_sendBuffer, destination, _link.Address, _options.VlanTag, 0, _link.Address,
                _options.NodeName, OurIdentity, _fc4Features, _maxFcoeSize, padToLength);
        _link.Send(_sendBuffer.AsSpan(0, length));
    }


    private readonly record struct Vn2VnSender(MacAddress ENodeMac, ulong NodeName, VnPortIdentity Identity, byte FcpFeatures,
        ushort MaxFcoeSize);
}
