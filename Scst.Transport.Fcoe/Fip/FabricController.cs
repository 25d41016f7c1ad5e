// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Fcoe.Link;
using Scst.Transport.Fcoe.Port;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Fip;

/// <summary>The states of a <see cref="FabricController"/>.</summary>
internal enum FabricState
{
    /// <summary>Not started, or stopped.</summary>
    Stopped,

    /// <summary>A VLAN request is out; waiting for a VLAN notification.</summary>
    VlanDiscovery,

    /// <summary>A discovery solicitation is out; advertisements are collected until the selection.</summary>
    Soliciting,

    /// <summary>A VN_Port's FLOGI is out to the selected FCF; no VN_Port is logged in.</summary>
    LoggingIn,

    /// <summary>
    /// At least one VN_Port is logged in (the others log in with FDISC): keep-alives go out, the FCF's advertisements
    /// are watched.
    /// </summary>
    Up,
}

/// <summary>An FCF as the controller knows it from its advertisements.</summary>
/// <param name="Mac">The FCF-MAC.</param>
/// <param name="Priority">Its priority; the lower, the more preferred.</param>
/// <param name="SwitchName">Its switch name.</param>
/// <param name="VirtualFabricId">VF_ID of its fabric descriptor.</param>
/// <param name="FcMap">The FC-MAP of its FPMAs.</param>
/// <param name="FabricName">The name of its fabric.</param>
/// <param name="KeepAlivePeriod">FKA_ADV_PERIOD: its advertisement period and our ENode keep-alive period.</param>
/// <param name="NoKeepAlivesExpected">The D flag: it does not want our keep-alives.</param>
/// <param name="Available">The A flag of its last advertisement: it takes logins.</param>
/// <param name="Solicited">It answered a solicitation of ours (so it knows our max FCoE size); only then is it eligible.</param>
/// <param name="LastHeard">When its last advertisement arrived.</param>
internal sealed record FcfInfo(MacAddress Mac, byte Priority, ulong SwitchName, ushort VirtualFabricId, uint FcMap, ulong FabricName,
    TimeSpan KeepAlivePeriod, bool NoKeepAlivesExpected, bool Available, bool Solicited, DateTimeOffset LastHeard);

/// <summary>
/// The ENode side of FIP fabric mode (FC-BB-5) for one Ethernet interface and the VN_Ports behind it (one per WWPN,
/// <see cref="AddPort"/>): optional VLAN discovery, FCF discovery and selection, FLOGI and FDISC inside FIP, ENode and
/// VN_Port keep-alives, and the loss of virtual links (Clear Virtual Links, or the FCF's advertisements stopping).
/// Each VN_Port's N_Port_ID and FPMA are announced with its <see cref="FabricVnPort.PortUp"/>; the FPMA is added to the
/// link's unicast addresses while the VN_Port is up.
/// </summary>
/// <remarks>
/// <para>
/// Discovery starts when the first VN_Port starts: a solicitation goes to ALL-FCF-MACs (ALL-ENode-MACs is joined for
/// the FCFs' periodic advertisements); an FCF first heard in a multicast advertisement gets a unicast solicitation of
/// its own, because only an FCF that answered a solicitation (so learnt our max FCoE size) is eligible, as in libfcoe.
/// <see cref="SelectionDelay"/> after the solicitation, the best eligible FCF is chosen: available (A flag), of the
/// configured FC-MAP and fabric if any, then the lowest priority value, then the default FC-MAP, the lowest fabric
/// name and the lowest MAC (so the choice is deterministic). No eligible FCF: the solicitation is repeated.
/// </para>
/// <para>
/// Login: the first VN_Port waiting logs in with FLOGI (asking for NPIV, with FPMA requested and a zero MAC address
/// descriptor, as libfcoe sends it) to the FCF-MAC; the LS_ACC's D_ID is its N_Port_ID and its MAC address descriptor
/// its FPMA. An LS_RJT or no answer within <see cref="FlogiTimeout"/> is tried again, <see cref="FlogiTries"/> times
/// in all, then the next eligible FCF is tried; when none is left the discovery starts over. Once one VN_Port is
/// logged in, every other one logs in with FDISC (FC-LS-3 NPIV: S_ID 0, its own WWPN and WWNN), each granted its own
/// N_Port_ID and FPMA; an FDISC is tried as an FLOGI is (<see cref="FlogiTries"/> sends, <see cref="FlogiTimeout"/>
/// each), then again after <see cref="FdiscRetryDelay"/>, without disturbing the VN_Ports that are up. A fabric whose
/// FLOGI accept does not grant multiple N_Port_IDs gets no FDISC: the other VN_Ports wait until none is logged in.
/// Only a VN_Port that finds no other logged in sends an FLOGI: an FLOGI logs out every N_Port_ID of the ENode
/// (FC-LS-3), so a VN_Port coming or going never disturbs the others.
/// </para>
/// <para>
/// Up: an ENode keep-alive every FKA_ADV_PERIOD of the FCF and, for each VN_Port, a VN_Port keep-alive (from its FPMA)
/// every <see cref="VnPortKeepAlivePeriod"/>, none when the FCF's D flag says it does not want them (libfcoe does the
/// same). The FCF's advertisements keep the links; none for <see cref="FcfTimeoutFactor"/> x FKA_ADV_PERIOD takes
/// every VN_Port down and the discovery starts over (with VLAN discovery when configured), as does a Clear Virtual
/// Links naming the ENode (no VN_Port descriptor). A Clear Virtual Links naming VN_Ports takes those down only: each
/// logs in again with FDISC while another is still up, and when none is left up the discovery starts over.
/// <see cref="FabricVnPort.Stop"/> sends that VN_Port's LOGO inside FIP; the ENode stops with its last VN_Port.
/// </para>
/// <para>
/// <see cref="HandleFip"/> is called by the link's receive loop, one frame at a time; timers come from the
/// <see cref="TimeProvider"/>. One lock guards the ENode and its VN_Ports; events are raised after it is released.
/// </para>
/// </remarks>
internal sealed class FabricController : IDisposable
{
    /// <summary>Between VLAN requests while no notification came.</summary>
    public static readonly TimeSpan VlanRequestInterval = TimeSpan.FromSeconds(1);

    /// <summary>VLAN requests sent before discovery goes on with the configured VLAN.</summary>
    public const int VlanRequestTries = 3;

    /// <summary>From a solicitation to the FCF selection (libfcoe's FCOE_CTLR_START_DELAY and solicitation interval).</summary>
    public static readonly TimeSpan SelectionDelay = TimeSpan.FromSeconds(2);

    /// <summary>How long an FLOGI or FDISC may go unanswered (E_D_TOV).</summary>
    public static readonly TimeSpan FlogiTimeout = TimeSpan.FromSeconds(2);

    /// <summary>FLOGIs sent to one FCF before the next eligible FCF is tried; FDISCs sent in one round.</summary>
    public const int FlogiTries = 2;

    /// <summary>From a round of FDISCs that all failed to the next round (R_A_TOV).</summary>
    public static readonly TimeSpan FdiscRetryDelay = TimeSpan.FromSeconds(10);

    /// <summary>The VN_Port keep-alive period.</summary>
    public static readonly TimeSpan VnPortKeepAlivePeriod = TimeSpan.FromSeconds(90);

    /// <summary>FKA_ADV_PERIOD when an FCF advertises 0.</summary>
    public static readonly TimeSpan DefaultKeepAlivePeriod = TimeSpan.FromSeconds(8);

    /// <summary>An FCF silent for this many FKA_ADV_PERIODs is lost.</summary>
    public const double FcfTimeoutFactor = 2.5;

    // The FLOGI's BB credit, as libfc sends it (the FCF sets its own; it means nothing on Ethernet).
    private const ushort FlogiBbCredit = 10;

    private readonly IFcoeLink _link;
    private readonly FabricOptions _options;
    private readonly TimeProvider _time;
    private readonly ushort _maxFcoeSize;
    private readonly int _receiveDataFieldSize;
    private readonly Lock _lock = new();
    private readonly Dictionary<MacAddress, FcfInfo> _fcfs = [];
    private readonly HashSet<MacAddress> _failedThisRound = [];
    private readonly List<FabricVnPort> _ports = [];
    private readonly Timing.DeferredNotifications _notifications;
    private readonly byte[] _sendBuffer = new byte[FcoeFrame.MaxTaggedFrameLength];
    private readonly byte[] _elsBuffer = new byte[ServiceParameters.Length];
    private readonly Timing.StateTimer _timer;

    private FabricState _state;
    private ushort? _vlanTag;
    private int _vlanTries;
    private MacAddress? _selected;
    private FabricVnPort? _flogiPort;
    private int _flogiTries;
    private bool _multipleIdsGranted;
    private ushort _nextOxId = 1;
    private DateTimeOffset _nextENodeKeepAlive;

    /// <summary>The ENode on <paramref name="link"/>; nothing is sent before one of its VN_Ports starts.</summary>
    /// <param name="link">The Ethernet interface; its address is the ENode MAC.</param>
    /// <param name="options">The ENode's name, VLAN and FCF constraints.</param>
    /// <param name="timeProvider">The clock and timers.</param>
    /// <exception cref="ArgumentOutOfRangeException">The max FCoE size leaves less than 256 bytes of FC payload.</exception>
    public FabricController(IFcoeLink link, FabricOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(link);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _link = link;
        _options = options;
        _time = timeProvider;
        _timer = new Timing.StateTimer(timeProvider, OnTimer);
        _notifications = new Timing.DeferredNotifications(_lock);
        _maxFcoeSize = (ushort)Math.Clamp(options.MaxFcoeSize ?? link.Mtu, 0, FcoeFrame.MaxFcoeSize);
        _receiveDataFieldSize = LinkServiceResponder.ReceiveSizeFromMtu(_maxFcoeSize);
        if (_receiveDataFieldSize < LinkServiceResponder.MinReceiveSize)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "The max FCoE size must leave at least 256 bytes of FC payload.");
        }

        _vlanTag = options.VlanTag;
    }

    /// <summary>Where the ENode is: <see cref="FabricState.Up"/> while at least one of its VN_Ports is logged in.</summary>
    public FabricState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    /// <summary>The FCF-MAC of the FCF logged in to (or being logged in to); all zero when none is.</summary>
    public MacAddress FcfMac
    {
        get
        {
            lock (_lock)
            {
                return _selected ?? default;
            }
        }
    }

    /// <summary>
    /// Whether the fabric's last FLOGI accept granted multiple N_Port_IDs (NPIV, common features bit 13), so that the
    /// other VN_Ports may log in with FDISC.
    /// </summary>
    public bool MultipleIdsGranted
    {
        get
        {
            lock (_lock)
            {
                return _multipleIdsGranted;
            }
        }
    }

    /// <summary>The 802.1Q tag control information in use (discovered or configured); null: untagged.</summary>
    public ushort? VlanTag
    {
        get
        {
            lock (_lock)
            {
                return _vlanTag;
            }
        }
    }

    /// <summary>The Max FCoE size announced.</summary>
    public ushort MaxFcoeSize => _maxFcoeSize;

    /// <summary>The receive data field size of the FLOGI and FDISC: the largest FC payload the max FCoE size carries.</summary>
    public int ReceiveDataFieldSize => _receiveDataFieldSize;

    /// <summary>A snapshot of the FCFs heard, by MAC.</summary>
    public IReadOnlyList<FcfInfo> Fcfs
    {
        get
        {
            lock (_lock)
            {
                return [.. _fcfs.Values.OrderBy(f => f.Mac.ToUInt64())];
            }
        }
    }

    /// <summary>The VN_Ports started, in the order they started.</summary>
    public IReadOnlyList<FabricVnPort> Ports
    {
        get
        {
            lock (_lock)
            {
                return [.. _ports];
            }
        }
    }

    /// <summary>The lock that guards the ENode and the bookkeeping of its VN_Ports.</summary>
    internal Lock SyncRoot => _lock;

    /// <summary>A VN_Port of this ENode named <paramref name="portName"/> and <paramref name="nodeName"/>; not started.</summary>
    public FabricVnPort AddPort(ulong portName, ulong nodeName) => new(this, portName, nodeName);

    /// <summary>Sends every VN_Port's LOGO inside FIP, removes their FPMAs, stops the timers and forgets the FCFs.</summary>
    public void Stop()
    {
        lock (_lock)
        {
            foreach (var port in _ports)
            {
                LeaveQuietly(port);
            }

            _ports.Clear();
            StopENode();
        }
    }

    /// <inheritdoc/>
    public void Dispose() => Stop();

    /// <summary>
    /// Processes one received FIP frame. True when it was a fabric-mode frame for this ENode that the controller took
    /// into account (a VLAN notification, an FCF advertisement, an FLOGI or FDISC reply, a Clear Virtual Links of our
    /// FCF); false otherwise (not FIP, another VLAN, VN2VN, malformed, not for us, stopped). Never throws on bad input.
    /// Called by the receive loop only, one frame at a time.
    /// </summary>
    public bool HandleFip(ReadOnlySpan<byte> ethernetFrame)
    {
        if (FipFrame.TryRead(ethernetFrame, out var frame) != FipReadResult.Success || frame.Source == _link.Address)
        {
            return false;
        }

        bool handled = frame.Header.Message switch
        {
            FipMessage.VlanNotification => HandleVlanNotification(frame),
            FipMessage.DiscoveryAdvertisement => HandleAdvertisement(frame),
            FipMessage.LinkServiceReply => HandleLinkServiceReply(frame),
            FipMessage.ClearVirtualLinks => HandleClearVirtualLinks(frame),
            _ => false,
        };
        _notifications.Raise();
        return handled;
    }

    // ---- VN_Ports coming and going ----

    internal void StartPort(FabricVnPort port)
    {
        lock (_lock)
        {
            if (port.CurrentState != VnPortState.Stopped)
            {
                throw new InvalidOperationException("The VN_Port is already started.");
            }

            foreach (var other in _ports)
            {
                if (other.PortName == port.PortName)
                {
                    throw new InvalidOperationException($"Another VN_Port of this ENode has the WWPN {Port.RemotePort.FormatWwn(port.PortName)}.");
                }
            }

            port.Forget(VnPortState.Waiting);
            _ports.Add(port);
            switch (_state)
            {
                case FabricState.Stopped:
                    _link.JoinMulticast(MacAddress.AllENodeMacs);
                    BeginDiscovery();
                    break;
                case FabricState.Up:
                    var now = _time.GetUtcNow();
                    if (_multipleIdsGranted)
                    {
                        BeginFdisc(port, now);
                    }

                    ScheduleUp(now);
                    break;
                default:
                    break; // it logs in when the ENode has its FCF (after another VN_Port's FLOGI, if one is out)
            }
        }

        _notifications.Raise();
    }

    internal void StopPort(FabricVnPort port)
    {
        lock (_lock)
        {
            if (!_ports.Remove(port))
            {
                return;
            }

            LeaveQuietly(port);
            if (_ports.Count == 0)
            {
                StopENode();
            }
            else if ((_state == FabricState.LoggingIn && _flogiPort == port) || (_state == FabricState.Up && !AnyUp()))
            {
                // Its FLOGI was out (a late accept for it is ignored), or it was the last VN_Port logged in, so nothing
                // holds the fabric login any more: the next VN_Port logs in with FLOGI to the same FCF.
                foreach (var other in _ports)
                {
                    other.Forget(VnPortState.Waiting);
                }

                _flogiPort = null;
                if (_selected is MacAddress fcfMac && _fcfs.TryGetValue(fcfMac, out var fcf))
                {
                    LogIn(fcf);
                }
                else
                {
                    BeginDiscovery();
                }
            }
            else if (_state == FabricState.Up)
            {
                ScheduleUp(_time.GetUtcNow());
            }
        }

        _notifications.Raise();
    }

    // A VN_Port leaving on its own: its LOGO when up, its FPMA removed; no PortDown.
    private void LeaveQuietly(FabricVnPort port)
    {
        if (port.CurrentState == VnPortState.Up)
        {
            SendLogo(port);
            _link.RemoveUnicastAddress(port.Mac);
        }

        port.Forget(VnPortState.Stopped);
    }

    private void StopENode()
    {
        _timer.Cancel();
        _state = FabricState.Stopped;
        _selected = null;
        _flogiPort = null;
        _multipleIdsGranted = false;
        _fcfs.Clear();
        _failedThisRound.Clear();
        _vlanTag = _options.VlanTag;
    }

    // ---- receiving ----

    private bool OnOurVlan(ushort? tag) =>
        (tag, _vlanTag) switch
        {
            (null, null) => true,
            (ushort received, ushort ours) => (received & Ethernet.VlanIdMask) == (ours & Ethernet.VlanIdMask),
            _ => false,
        };

    private bool HandleVlanNotification(FipFrameView frame)
    {
        if (frame.Destination != _link.Address)
        {
            return false;
        }

        var reader = frame.GetDescriptorReader();
        bool haveMac = false;
        ushort? vlanId = null;
        while (reader.TryReadNext(out var d))
        {
            if (d.Type == FipDescriptorType.MacAddress && !haveMac)
            {
                haveMac = d.TryReadMacAddress(out _);
            }
            else if (d.Type == FipDescriptorType.Vlan && vlanId is null && d.TryReadVlan(out ushort id) && id is > 0 and < Ethernet.VlanIdMask)
            {
                vlanId = id;
            }
        }

        if (!haveMac || vlanId is not ushort vlan || reader.Error != FipDescriptorError.None)
        {
            return false;
        }

        lock (_lock)
        {
            if (_state != FabricState.VlanDiscovery)
            {
                return false;
            }

            _vlanTag = (ushort)(((_options.VlanTag ?? 0) & ~Ethernet.VlanIdMask) | vlan);
            Solicit();
        }

        return true;
    }

    private bool HandleAdvertisement(FipFrameView frame)
    {
        if (!FipFrame.TryReadAdvertisement(frame, out var advertisement) || advertisement.FcfMac.IsMulticast || advertisement.FcfMac.IsZero)
        {
            return false;
        }

        bool unicast = frame.Destination == _link.Address;
        if (!unicast && frame.Destination != MacAddress.AllENodeMacs)
        {
            return false;
        }

        ushort flags = frame.Header.Flags;
        bool solicited = unicast && (flags & FipFlags.Solicited) != 0;
        var period = advertisement.KeepAlivePeriodMilliseconds == 0
            ? DefaultKeepAlivePeriod
            : TimeSpan.FromMilliseconds(advertisement.KeepAlivePeriodMilliseconds);
        lock (_lock)
        {
            if (_state is FabricState.Stopped or FabricState.VlanDiscovery || !OnOurVlan(frame.VlanTag))
            {
                return false;
            }

            var now = _time.GetUtcNow();
            bool known = _fcfs.TryGetValue(advertisement.FcfMac, out var old);
            var fcf = new FcfInfo(advertisement.FcfMac, advertisement.Priority, advertisement.SwitchName, advertisement.VirtualFabricId,
                advertisement.FcMap, advertisement.FabricName, period, advertisement.NoKeepAlivesExpected,
                (flags & FipFlags.Available) != 0, solicited || (old?.Solicited ?? false), now);
            _fcfs[fcf.Mac] = fcf;
            if (!fcf.Solicited && !known && _state == FabricState.Soliciting)
            {
                SendSolicitation(fcf.Mac); // learn whether it takes our max FCoE size
            }

            if (_state == FabricState.Up && fcf.Mac == _selected
                && (old is null || old.KeepAlivePeriod != period || old.NoKeepAlivesExpected != fcf.NoKeepAlivesExpected))
            {
                ScheduleUp(now);
            }
        }

        return true;
    }

    private bool HandleLinkServiceReply(FipFrameView frame)
    {
        var reader = frame.GetDescriptorReader();
        FipDescriptorType encapsulation = 0;
        FcFrameHeader header = default;
        ReadOnlySpan<byte> payload = default;
        MacAddress grantedMac = default;
        bool haveEls = false, haveMac = false;
        while (reader.TryReadNext(out var d))
        {
            if (d.Type is >= FipDescriptorType.Flogi and <= FipDescriptorType.Elp && !haveEls)
            {
                haveEls = d.TryReadEncapsulatedEls(out header, out payload);
                encapsulation = d.Type;
            }
            else if (d.Type == FipDescriptorType.MacAddress && !haveMac)
            {
                haveMac = d.TryReadMacAddress(out grantedMac);
            }
        }

        if (!haveEls || reader.Error != FipDescriptorError.None || encapsulation is not (FipDescriptorType.Flogi or FipDescriptorType.Fdisc)
            || header.RCtl != RCtl.ElsReply || header.Type != FcType.Els || frame.Destination != _link.Address)
        {
            return false;
        }

        bool fdisc = encapsulation == FipDescriptorType.Fdisc;
        lock (_lock)
        {
            if (frame.Source != _selected || !OnOurVlan(frame.VlanTag)
                || _state != (fdisc ? FabricState.Up : FabricState.LoggingIn) || FindLoggingIn(header.OxId, fdisc) is not { } port)
            {
                return false;
            }

            var now = _time.GetUtcNow();
            if (Els.TryReadCode(payload, out byte code) && code == ElsCode.LsAcc && ServiceParameters.TryRead(payload, out var fabric))
            {
                uint portId = header.DestinationId;
                if (!haveMac || grantedMac.IsZero || grantedMac.IsMulticast || portId is 0 or > 0xFF_FFEF || IsTaken(portId, grantedMac))
                {
                    return false; // an accept we cannot use: the timeout tries again
                }

                if (fdisc)
                {
                    GoUp(port, portId, grantedMac, fabric, now);
                    ScheduleUp(now);
                }
                else
                {
                    FabricLoggedIn(port, portId, grantedMac, fabric, now);
                }

                return true;
            }

            if (LsRjt.TryRead(payload, out _))
            {
                if (fdisc)
                {
                    OnFdiscFailed(port, now);
                    ScheduleUp(now);
                }
                else
                {
                    OnFlogiFailed();
                }

                return true;
            }

            return false;
        }
    }

    private bool HandleClearVirtualLinks(FipFrameView frame)
    {
        if (frame.Destination != _link.Address)
        {
            return false;
        }

        lock (_lock)
        {
            if (_state is not (FabricState.Up or FabricState.LoggingIn) || _selected is not MacAddress selected
                || frame.Source != selected || !OnOurVlan(frame.VlanTag) || !_fcfs.TryGetValue(selected, out var fcf))
            {
                return false;
            }

            var reader = frame.GetDescriptorReader();
            bool haveMac = false, haveName = false;
            MacAddress fcfMac = default;
            ulong switchName = 0;
            int vnPorts = 0;
            List<FabricVnPort>? named = null;
            while (reader.TryReadNext(out var d))
            {
                switch (d.Type)
                {
                    case FipDescriptorType.MacAddress when !haveMac:
                        haveMac = d.TryReadMacAddress(out fcfMac);
                        break;
                    case FipDescriptorType.Name when !haveName:
                        haveName = d.TryReadName(out switchName);
                        break;
                    case FipDescriptorType.VnPortId when d.TryReadVnPortId(out var vnPort):
                        vnPorts++;
                        if (FindUp(vnPort) is { } port && !(named?.Contains(port) ?? false))
                        {
                            (named ??= []).Add(port);
                        }

                        break;
                    default:
                        break;
                }
            }

            // FC-BB-5: the FCF's MAC address and name descriptors must be those of the FCF we are logged in to.
            if (!haveMac || !haveName || reader.Error != FipDescriptorError.None || fcfMac != selected || switchName != fcf.SwitchName)
            {
                return false;
            }

            if (vnPorts == 0)
            {
                // No VN_Port descriptor: the ENode and every VN_Port behind it are cleared.
                AllDown();
                BeginDiscovery();
            }
            else if (named is not null)
            {
                ClearPorts(named);
            }
        }

        return true;
    }

    // The VN_Ports a Clear Virtual Links named go down; the others stay. Each logs in again with FDISC while another is
    // up; when none is left up the ENode starts over, as for a Clear Virtual Links of the whole ENode.
    private void ClearPorts(List<FabricVnPort> named)
    {
        foreach (var port in named)
        {
            GoDown(port);
        }

        if (!AnyUp())
        {
            AllDown();
            BeginDiscovery();
            return;
        }

        var now = _time.GetUtcNow();
        if (_multipleIdsGranted)
        {
            foreach (var port in named)
            {
                BeginFdisc(port, now);
            }
        }

        ScheduleUp(now);
    }

    // ---- the state machine (all under the lock) ----

    private void BeginDiscovery()
    {
        _failedThisRound.Clear();
        _selected = null;
        _flogiPort = null;
        _multipleIdsGranted = false;
        if (_options.VlanDiscovery)
        {
            _vlanTag = _options.VlanTag;
            _vlanTries = 1;
            SendVlanRequest();
            Enter(FabricState.VlanDiscovery, VlanRequestInterval);
        }
        else
        {
            Solicit();
        }
    }

    private void Solicit()
    {
        SendSolicitation(MacAddress.AllFcfMacs);
        Enter(FabricState.Soliciting, SelectionDelay);
    }

    private FcfInfo? SelectFcf(DateTimeOffset now)
    {
        FcfInfo? best = null;
        foreach (var fcf in _fcfs.Values)
        {
            if (!fcf.Available || !fcf.Solicited || _failedThisRound.Contains(fcf.Mac) || now - fcf.LastHeard >= FcfTimeout(fcf)
                || (_options.FcMap is uint fcMap && fcf.FcMap != fcMap)
                || (_options.FabricName is ulong fabric && fcf.FabricName != fabric))
            {
                continue;
            }

            if (best is null || IsBetter(fcf, best))
            {
                best = fcf;
            }
        }

        return best;
    }

    private static bool IsBetter(FcfInfo a, FcfInfo b)
    {
        if (a.Priority != b.Priority)
        {
            return a.Priority < b.Priority;
        }

        bool aDefault = a.FcMap == MacAddress.DefaultFcMap, bDefault = b.FcMap == MacAddress.DefaultFcMap;
        if (aDefault != bDefault)
        {
            return aDefault;
        }

        return a.FabricName != b.FabricName ? a.FabricName < b.FabricName : a.Mac.ToUInt64() < b.Mac.ToUInt64();
    }

    private static TimeSpan FcfTimeout(FcfInfo fcf) => fcf.KeepAlivePeriod * FcfTimeoutFactor;

    // The first VN_Port waiting logs in to the FCF with FLOGI. Every started VN_Port is waiting when this is called.
    private void LogIn(FcfInfo fcf)
    {
        _selected = fcf.Mac;
        _flogiTries = 1;
        SendFlogi(WaitingPort()!);
        Enter(FabricState.LoggingIn, FlogiTimeout);
    }

    private void OnFlogiFailed()
    {
        if (_flogiTries < FlogiTries && _flogiPort is { } port)
        {
            _flogiTries++;
            SendFlogi(port);
            Enter(FabricState.LoggingIn, FlogiTimeout);
            return;
        }

        _flogiPort?.Forget(VnPortState.Waiting);
        _flogiPort = null;
        if (_selected is MacAddress failed)
        {
            _failedThisRound.Add(failed);
        }

        if (SelectFcf(_time.GetUtcNow()) is { } next)
        {
            LogIn(next);
            return;
        }

        _failedThisRound.Clear();
        _selected = null;
        Solicit();
    }

    // The FLOGI was accepted: the ENode is up, and every other VN_Port logs in with FDISC if the fabric allows it.
    private void FabricLoggedIn(FabricVnPort port, uint portId, MacAddress portMac, ServiceParameters fabric, DateTimeOffset now)
    {
        _state = FabricState.Up;
        _flogiPort = null;
        _multipleIdsGranted = (fabric.CommonFeatures & CommonFeatures.MultipleNPortIdAssignment) != 0;
        _fcfs.TryGetValue(_selected!.Value, out var fcf);
        _nextENodeKeepAlive = now + (fcf?.KeepAlivePeriod ?? DefaultKeepAlivePeriod);
        GoUp(port, portId, portMac, fabric, now);
        if (_multipleIdsGranted)
        {
            foreach (var other in _ports)
            {
                if (other.CurrentState == VnPortState.Waiting)
                {
                    BeginFdisc(other, now);
                }
            }
        }

        ScheduleUp(now);
    }

    private void GoUp(FabricVnPort port, uint portId, MacAddress portMac, ServiceParameters fabric, DateTimeOffset now)
    {
        var fcfMac = _selected!.Value;
        port.CurrentState = VnPortState.Up;
        port.Id = portId;
        port.Mac = portMac;
        port.Parameters = fabric;
        port.Tries = 0;
        port.Due = null;
        port.NextKeepAlive = now + VnPortKeepAlivePeriod;
        _link.AddUnicastAddress(portMac);
        _notifications.Add(() => port.RaisePortUp(portId, portMac, fcfMac));
    }

    // One VN_Port loses its virtual link: PortDown, and it waits to log in again.
    private void GoDown(FabricVnPort port)
    {
        if (port.CurrentState == VnPortState.Up)
        {
            uint lostId = port.Id;
            _link.RemoveUnicastAddress(port.Mac);
            _notifications.Add(() => port.RaisePortDown(lostId));
        }

        port.Forget(VnPortState.Waiting);
    }

    // Every VN_Port loses its virtual link (the ENode's was cleared, or the FCF is gone).
    private void AllDown()
    {
        foreach (var port in _ports)
        {
            GoDown(port);
        }

        _flogiPort = null;
        _selected = null;
    }

    private void BeginFdisc(FabricVnPort port, DateTimeOffset now)
    {
        port.Tries = 1;
        SendFdisc(port, now);
    }

    private void OnFdiscFailed(FabricVnPort port, DateTimeOffset now)
    {
        if (port.Tries < FlogiTries)
        {
            port.Tries++;
            SendFdisc(port, now);
            return;
        }

        // A round failed: the VN_Port waits, the others are not disturbed.
        port.Forget(VnPortState.Waiting);
        port.Due = now + FdiscRetryDelay;
    }

    private void OnUpTimer(DateTimeOffset now)
    {
        if (_selected is not MacAddress selected || !_fcfs.TryGetValue(selected, out var fcf) || now - fcf.LastHeard >= FcfTimeout(fcf))
        {
            // The FCF fell silent: every virtual link is gone.
            if (_selected is MacAddress lost)
            {
                _fcfs.Remove(lost);
            }

            AllDown();
            BeginDiscovery();
            return;
        }

        if (!fcf.NoKeepAlivesExpected && now >= _nextENodeKeepAlive)
        {
            Send(FipFrame.WriteENodeKeepAlive(_sendBuffer, selected, _link.Address, _vlanTag));
            _nextENodeKeepAlive = now + fcf.KeepAlivePeriod;
        }

        foreach (var port in _ports)
        {
            switch (port.CurrentState)
            {
                case VnPortState.Up when !fcf.NoKeepAlivesExpected && now >= port.NextKeepAlive:
                    Send(FipFrame.WriteVnPortKeepAlive(_sendBuffer, selected, port.Mac, _vlanTag, _link.Address,
                        new VnPortIdentity(port.Mac, port.Id, port.PortName)));
                    port.NextKeepAlive = now + VnPortKeepAlivePeriod;
                    break;
                case VnPortState.LoggingIn when port.Due <= now:
                    OnFdiscFailed(port, now); // no answer
                    break;
                case VnPortState.Waiting when port.Due <= now && _multipleIdsGranted:
                    BeginFdisc(port, now);
                    break;
                default:
                    break;
            }
        }

        ScheduleUp(now);
    }

    private void ScheduleUp(DateTimeOffset now)
    {
        if (_selected is not MacAddress selected || !_fcfs.TryGetValue(selected, out var fcf))
        {
            _timer.Schedule(TimeSpan.Zero);
            return;
        }

        var next = fcf.LastHeard + FcfTimeout(fcf);
        if (!fcf.NoKeepAlivesExpected)
        {
            next = Min(next, _nextENodeKeepAlive);
        }

        foreach (var port in _ports)
        {
            if (port.CurrentState == VnPortState.Up && !fcf.NoKeepAlivesExpected)
            {
                next = Min(next, port.NextKeepAlive);
            }
            else if (port.Due is DateTimeOffset due && (port.CurrentState == VnPortState.LoggingIn || _multipleIdsGranted))
            {
                next = Min(next, due);
            }
        }

        _timer.Schedule(next - now);
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private FabricVnPort? WaitingPort()
    {
        foreach (var port in _ports)
        {
            if (port.CurrentState == VnPortState.Waiting)
            {
                return port;
            }
        }

        return null;
    }

    private bool AnyUp()
    {
        foreach (var port in _ports)
        {
            if (port.CurrentState == VnPortState.Up)
            {
                return true;
            }
        }

        return false;
    }

    private FabricVnPort? FindLoggingIn(ushort oxId, bool fdisc)
    {
        foreach (var port in _ports)
        {
            if (port.CurrentState == VnPortState.LoggingIn && port.OxId == oxId && port.ByFdisc == fdisc)
            {
                return port;
            }
        }

        return null;
    }

    // The VN_Port a VN_Port identification descriptor names: MAC, N_Port_ID and WWPN all ours.
    private FabricVnPort? FindUp(VnPortIdentity identity)
    {
        foreach (var port in _ports)
        {
            if (port.CurrentState == VnPortState.Up && port.Mac == identity.Mac && port.Id == identity.PortId && port.PortName == identity.PortName)
            {
                return port;
            }
        }

        return null;
    }

    // An accept granting what another of our VN_Ports holds is not one we can use.
    private bool IsTaken(uint portId, MacAddress mac)
    {
        foreach (var port in _ports)
        {
            if (port.CurrentState == VnPortState.Up && (port.Id == portId || port.Mac == mac))
            {
                return true;
            }
        }

        return false;
    }

    // ---- timers (all under the lock) ----

    private void Enter(FabricState state, TimeSpan due)
    {
        _state = state;
        _timer.Schedule(due);
    }

    private void OnTimer(long generation)
    {
        lock (_lock)
        {
            if (!_timer.IsCurrent(generation))
            {
                return;
            }

            switch (_state)
            {
                case FabricState.VlanDiscovery:
                    if (_vlanTries < VlanRequestTries)
                    {
                        _vlanTries++;
                        SendVlanRequest();
                        _timer.Schedule(VlanRequestInterval);
                    }
                    else
                    {
                        _vlanTag = _options.VlanTag; // nobody answered: the configured VLAN, or untagged
                        Solicit();
                    }

                    break;
                case FabricState.Soliciting:
                    if (SelectFcf(_time.GetUtcNow()) is { } fcf)
                    {
                        LogIn(fcf);
                    }
                    else
                    {
                        Solicit();
                    }

                    break;
                case FabricState.LoggingIn:
                    OnFlogiFailed();
                    break;
                case FabricState.Up:
                    OnUpTimer(_time.GetUtcNow());
                    break;
                default:
                    break;
            }
        }

        _notifications.Raise();
    }

    // ---- sending (under the lock) ----

    private void Send(int length) => _link.Send(_sendBuffer.AsSpan(0, length));

    private void SendVlanRequest() => Send(FipFrame.WriteVlanRequest(_sendBuffer, MacAddress.AllFcfMacs, _link.Address, null));

    private void SendSolicitation(MacAddress destination) =>
        Send(FipFrame.WriteDiscoverySolicitation(_sendBuffer, destination, _link.Address, _vlanTag, FipFlags.Fpma, _options.NodeName,
            _maxFcoeSize));

    private void SendFlogi(FabricVnPort port)
    {
        _flogiPort = port;
        SendFabricLogin(port, ElsCode.Flogi, FipDescriptorType.Flogi);
    }

    private void SendFdisc(FabricVnPort port, DateTimeOffset now)
    {
        port.Due = now + FlogiTimeout;
        SendFabricLogin(port, ElsCode.Fdisc, FipDescriptorType.Fdisc);
    }

    // FLOGI and FDISC carry the same service parameters (FC-LS-3 4.2.9 and 4.2.11), each from S_ID 0 to F_Port login.
    private void SendFabricLogin(FabricVnPort port, byte elsCode, FipDescriptorType encapsulation)
    {
        port.CurrentState = VnPortState.LoggingIn;
        port.ByFdisc = elsCode == ElsCode.Fdisc;
        port.OxId = NextOxId();
        var header = new FcFrameHeader
        {
            RCtl = RCtl.ElsRequest,
            DestinationId = WellKnownAddress.FabricLogin,
            SourceId = 0,
            Type = FcType.Els,
            FCtl = FCtl.Request,
            OxId = port.OxId,
            RxId = FcFrameHeader.UnassignedExchangeId,
        };
        var parameters = new ServiceParameters
        {
            HighestVersion = ServiceParameters.FcPhVersion,
            LowestVersion = ServiceParameters.FcPhVersion,
            BbCredit = FlogiBbCredit,
            CommonFeatures = CommonFeatures.MultipleNPortIdSupport,
            ReceiveDataFieldSize = (ushort)_receiveDataFieldSize,
            ErrorDetectTimeout = LinkServiceResponder.ErrorDetectTimeout,
            PortName = port.PortName,
            NodeName = port.NodeName,
            Class3ServiceOptions = ClassServiceOptions.Valid | ClassServiceOptions.SequentialDelivery,
            Class3ReceiveDataFieldSize = (ushort)_receiveDataFieldSize,
        };
        int length = parameters.WriteTo(_elsBuffer, elsCode);
        // FPMA asked for, so the MAC address descriptor is zero: the FCF fills it in its accept.
        Send(FipFrame.WriteLinkServiceRequest(_sendBuffer, _selected!.Value, _link.Address, _vlanTag, FipFlags.Fpma, encapsulation, header,
            _elsBuffer.AsSpan(0, length), default));
    }

    private void SendLogo(FabricVnPort port)
    {
        if (_selected is not MacAddress fcfMac)
        {
            return;
        }

        var header = new FcFrameHeader
        {
            RCtl = RCtl.ElsRequest,
            DestinationId = WellKnownAddress.FabricLogin,
            SourceId = port.Id,
            Type = FcType.Els,
            FCtl = FCtl.Request,
            OxId = NextOxId(),
            RxId = FcFrameHeader.UnassignedExchangeId,
        };
        int length = new LogoPayload(port.Id, port.PortName).WriteTo(_elsBuffer);
        Send(FipFrame.WriteLinkServiceRequest(_sendBuffer, fcfMac, _link.Address, _vlanTag, 0, FipDescriptorType.Logo, header,
            _elsBuffer.AsSpan(0, length), port.Mac));
    }

    private ushort NextOxId()
    {
        ushort id = _nextOxId;
        _nextOxId = (ushort)(id >= 0x7FFF ? 1 : id + 1);
        return id;
    }
}
