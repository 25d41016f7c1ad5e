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

    /// <summary>An FLOGI is out to the selected FCF.</summary>
    LoggingIn,

    /// <summary>The FCF granted an N_Port_ID and an FPMA: keep-alives go out, the FCF's advertisements are watched.</summary>
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
/// The ENode side of FIP fabric mode (FC-BB-5) for one local N_Port: optional VLAN discovery, FCF discovery and
/// selection, FLOGI inside FIP, keep-alives, and the loss of the virtual link (Clear Virtual Links, or the FCF's
/// advertisements stopping). The N_Port_ID and the FPMA the FCF grants are announced with <see cref="PortUp"/>; the
/// FPMA is added to the link's unicast addresses while the port is up.
/// </summary>
/// <remarks>
/// <para>
/// Discovery: a solicitation goes to ALL-FCF-MACs (ALL-ENode-MACs is joined for the FCFs' periodic advertisements); an
/// FCF first heard in a multicast advertisement gets a unicast solicitation of its own, because only an FCF that
/// answered a solicitation (so learnt our max FCoE size) is eligible, as in libfcoe. <see cref="SelectionDelay"/> after
/// the solicitation, the best eligible FCF is chosen: available (A flag), of the configured FC-MAP and fabric if any,
/// then the lowest priority value, then the default FC-MAP, the lowest fabric name and the lowest MAC (so the choice is
/// deterministic). No eligible FCF: the solicitation is repeated.
/// </para>
/// <para>
/// Login: the FLOGI (with FPMA requested and a zero MAC address descriptor, as libfcoe sends it) goes to the FCF-MAC;
/// the LS_ACC's D_ID is our N_Port_ID and its MAC address descriptor our FPMA. An LS_RJT or no answer within
/// <see cref="FlogiTimeout"/> is tried again, <see cref="FlogiTries"/> times in all, then the next eligible FCF is
/// tried; when none is left the discovery starts over.
/// </para>
/// <para>
/// Up: an ENode keep-alive every FKA_ADV_PERIOD of the FCF and a VN_Port keep-alive (from the FPMA) every
/// <see cref="VnPortKeepAlivePeriod"/>, neither when the FCF's D flag says it does not want them (libfcoe does the
/// same). The FCF's advertisements keep the link; none for <see cref="FcfTimeoutFactor"/> x FKA_ADV_PERIOD, or a
/// Clear Virtual Links naming our VN_Port (or our ENode, with no VN_Port descriptor), takes the port down
/// (<see cref="PortDown"/>) and the discovery starts over (with VLAN discovery when configured).
/// <see cref="Stop"/> sends a LOGO inside FIP and removes the FPMA; it raises no <see cref="PortDown"/>.
/// </para>
/// <para>
/// <see cref="HandleFip"/> is called by the link's receive loop, one frame at a time; timers come from the
/// <see cref="TimeProvider"/>. One lock guards the state; events are raised after it is released.
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

    /// <summary>How long an FLOGI may go unanswered (E_D_TOV).</summary>
    public static readonly TimeSpan FlogiTimeout = TimeSpan.FromSeconds(2);

    /// <summary>FLOGIs sent to one FCF before the next eligible FCF is tried.</summary>
    public const int FlogiTries = 2;

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
    private readonly Timing.DeferredNotifications _notifications;
    private readonly byte[] _sendBuffer = new byte[FcoeFrame.MaxTaggedFrameLength];
    private readonly byte[] _elsBuffer = new byte[ServiceParameters.Length];

    private FabricState _state;
    private ushort? _vlanTag;
    private int _vlanTries;
    private MacAddress? _selected;
    private int _flogiTries;
    private ushort _flogiOxId;
    private ushort _nextOxId = 1;
    private uint _portId;
    private MacAddress _portMac;
    private ServiceParameters? _fabricParameters;
    private DateTimeOffset _nextENodeKeepAlive;
    private DateTimeOffset _nextVnPortKeepAlive;
    private readonly Timing.StateTimer _timer;

    /// <summary>A controller for one N_Port on <paramref name="link"/>; nothing is sent before <see cref="Start"/>.</summary>
    /// <param name="link">The Ethernet interface; its address is the ENode MAC.</param>
    /// <param name="options">The port's names, VLAN and FCF constraints.</param>
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

    /// <summary>The FCF granted the port its N_Port_ID and FPMA (now a unicast address of the link); the FCF-MAC is the third.</summary>
    public event Action<uint, MacAddress, MacAddress>? PortUp;

    /// <summary>The virtual link was lost (Clear Virtual Links, or the FCF fell silent): the N_Port_ID it had. Discovery starts over.</summary>
    public event Action<uint>? PortDown;

    /// <summary>Where the controller is.</summary>
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

    /// <summary>The N_Port_ID the FCF granted; 0 unless <see cref="FabricState.Up"/>.</summary>
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

    /// <summary>The FPMA the FCF granted (FC-MAP || N_Port_ID); all zero unless <see cref="FabricState.Up"/>.</summary>
    public MacAddress PortMac
    {
        get
        {
            lock (_lock)
            {
                return _portMac;
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

    /// <summary>The service parameters of the FCF's FLOGI accept (its E_D_TOV, R_A_TOV, names); null unless up.</summary>
    public ServiceParameters? FabricParameters
    {
        get
        {
            lock (_lock)
            {
                return _fabricParameters;
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

    /// <summary>The receive data field size of the FLOGI: the largest FC payload the max FCoE size carries.</summary>
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

    /// <summary>Joins ALL-ENode-MACs and sends the VLAN request (with VLAN discovery) or the first solicitation.</summary>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    public void Start()
    {
        lock (_lock)
        {
            if (_state != FabricState.Stopped)
            {
                throw new InvalidOperationException("The fabric controller is already started.");
            }

            _link.JoinMulticast(MacAddress.AllENodeMacs);
            BeginDiscovery();
        }
    }

    /// <summary>Sends a LOGO inside FIP when up, removes the FPMA from the link, stops the timers and forgets the FCFs.</summary>
    public void Stop()
    {
        lock (_lock)
        {
            if (_state == FabricState.Stopped)
            {
                return;
            }

            if (_state == FabricState.Up)
            {
                SendLogo();
                _link.RemoveUnicastAddress(_portMac);
            }

            _timer.Cancel();
            _state = FabricState.Stopped;
            ForgetPort();
            _fcfs.Clear();
            _failedThisRound.Clear();
            _vlanTag = _options.VlanTag;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => Stop();

    /// <summary>
    /// Processes one received FIP frame. True when it was a fabric-mode frame for this ENode that the controller took
    /// into account (a VLAN notification, an FCF advertisement, the FLOGI reply, a Clear Virtual Links of our FCF);
    /// false otherwise (not FIP, another VLAN, VN2VN, malformed, not for us, stopped). Never throws on bad input.
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

        if (!haveEls || reader.Error != FipDescriptorError.None || encapsulation != FipDescriptorType.Flogi
            || header.RCtl != RCtl.ElsReply || header.Type != FcType.Els || frame.Destination != _link.Address)
        {
            return false;
        }

        lock (_lock)
        {
            if (_state != FabricState.LoggingIn || frame.Source != _selected || header.OxId != _flogiOxId || !OnOurVlan(frame.VlanTag))
            {
                return false;
            }

            if (Els.TryReadCode(payload, out byte code) && code == ElsCode.LsAcc && ServiceParameters.TryRead(payload, out var fabric))
            {
                uint portId = header.DestinationId;
                if (!haveMac || grantedMac.IsZero || grantedMac.IsMulticast || portId is 0 or > 0xFF_FFEF)
                {
                    return false; // an accept we cannot use: the timeout tries again
                }

                GoUp(portId, grantedMac, fabric);
                return true;
            }

            if (LsRjt.TryRead(payload, out _))
            {
                OnFlogiFailed();
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
            bool haveMac = false, haveName = false, namesUs = false;
            MacAddress fcfMac = default;
            ulong switchName = 0;
            int vnPorts = 0;
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
                        namesUs |= _state == FabricState.Up && vnPort.Mac == _portMac && vnPort.PortId == _portId
                            && vnPort.PortName == _options.PortName;
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

            // No VN_Port descriptor clears the ENode and every VN_Port behind it; otherwise only the ports named.
            if (vnPorts == 0 || namesUs)
            {
                GoDown();
                BeginDiscovery();
            }
        }

        return true;
    }

    // ---- the state machine (all under the lock) ----

    private void BeginDiscovery()
    {
        _failedThisRound.Clear();
        _selected = null;
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

    private void LogIn(FcfInfo fcf)
    {
        _selected = fcf.Mac;
        _flogiTries = 1;
        SendFlogi(fcf.Mac);
        Enter(FabricState.LoggingIn, FlogiTimeout);
    }

    private void OnFlogiFailed()
    {
        if (_flogiTries < FlogiTries && _selected is MacAddress selected)
        {
            _flogiTries++;
            SendFlogi(selected);
            Enter(FabricState.LoggingIn, FlogiTimeout);
            return;
        }

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

    private void GoUp(uint portId, MacAddress portMac, ServiceParameters fabric)
    {
        var now = _time.GetUtcNow();
        var selected = _selected!.Value;
        _fcfs.TryGetValue(selected, out var fcf);
        _state = FabricState.Up;
        _portId = portId;
        _portMac = portMac;
        _fabricParameters = fabric;
        _link.AddUnicastAddress(portMac);
        _nextENodeKeepAlive = now + (fcf?.KeepAlivePeriod ?? DefaultKeepAlivePeriod);
        _nextVnPortKeepAlive = now + VnPortKeepAlivePeriod;
        _notifications.Add(() => PortUp?.Invoke(portId, portMac, selected));
        ScheduleUp(now);
    }

    private void GoDown()
    {
        if (_state == FabricState.Up)
        {
            uint lostId = _portId;
            _link.RemoveUnicastAddress(_portMac);
            _notifications.Add(() => PortDown?.Invoke(lostId));
        }

        ForgetPort();
    }

    private void ForgetPort()
    {
        _portId = 0;
        _portMac = default;
        _fabricParameters = null;
        _selected = null;
    }

    private void OnUpTimer(DateTimeOffset now)
    {
        if (_selected is not MacAddress selected || !_fcfs.TryGetValue(selected, out var fcf) || now - fcf.LastHeard >= FcfTimeout(fcf))
        {
            // The FCF fell silent: the virtual link is gone.
            if (_selected is MacAddress lost)
            {
                _fcfs.Remove(lost);
            }

            GoDown();
            BeginDiscovery();
            return;
        }

        if (!fcf.NoKeepAlivesExpected)
        {
            if (now >= _nextENodeKeepAlive)
            {
                Send(FipFrame.WriteENodeKeepAlive(_sendBuffer, selected, _link.Address, _vlanTag));
                _nextENodeKeepAlive = now + fcf.KeepAlivePeriod;
            }

            if (now >= _nextVnPortKeepAlive)
            {
                Send(FipFrame.WriteVnPortKeepAlive(_sendBuffer, selected, _portMac, _vlanTag, _link.Address,
                    new VnPortIdentity(_portMac, _portId, _options.PortName)));
                _nextVnPortKeepAlive = now + VnPortKeepAlivePeriod;
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
            next = Min(next, Min(_nextENodeKeepAlive, _nextVnPortKeepAlive));
        }

        _timer.Schedule(next - now);
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

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

    private void SendFlogi(MacAddress fcfMac)
    {
        _flogiOxId = NextOxId();
        var header = new FcFrameHeader
        {
            RCtl = RCtl.ElsRequest,
            DestinationId = WellKnownAddress.FabricLogin,
            SourceId = 0,
            Type = FcType.Els,
            FCtl = FCtl.Request,
            OxId = _flogiOxId,
            RxId = FcFrameHeader.UnassignedExchangeId,
        };
        var parameters = new ServiceParameters
        {
            HighestVersion = ServiceParameters.FcPhVersion,
            LowestVersion = ServiceParameters.FcPhVersion,
            BbCredit = FlogiBbCredit,
            ReceiveDataFieldSize = (ushort)_receiveDataFieldSize,
            ErrorDetectTimeout = LinkServiceResponder.ErrorDetectTimeout,
            PortName = _options.PortName,
            NodeName = _options.NodeName,
            Class3ServiceOptions = ClassServiceOptions.Valid | ClassServiceOptions.SequentialDelivery,
            Class3ReceiveDataFieldSize = (ushort)_receiveDataFieldSize,
        };
        int length = parameters.WriteTo(_elsBuffer, ElsCode.Flogi);
        // FPMA asked for, so the MAC address descriptor is zero: the FCF fills it in its accept.
        Send(FipFrame.WriteLinkServiceRequest(_sendBuffer, fcfMac, _link.Address, _vlanTag, FipFlags.Fpma, FipDescriptorType.Flogi, header,
            _elsBuffer.AsSpan(0, length), default));
    }

    private void SendLogo()
    {
        if (_selected is not MacAddress fcfMac)
        {
            return;
        }

        var header = new FcFrameHeader
        {
            RCtl = RCtl.ElsRequest,
            DestinationId = WellKnownAddress.FabricLogin,
            SourceId = _portId,
            Type = FcType.Els,
            FCtl = FCtl.Request,
            OxId = NextOxId(),
            RxId = FcFrameHeader.UnassignedExchangeId,
        };
        int length = new LogoPayload(_portId, _options.PortName).WriteTo(_elsBuffer);
        Send(FipFrame.WriteLinkServiceRequest(_sendBuffer, fcfMac, _link.Address, _vlanTag, 0, FipDescriptorType.Logo, header,
            _elsBuffer.AsSpan(0, length), _portMac));
    }

    private ushort NextOxId()
    {
        ushort id = _nextOxId;
        _nextOxId = (ushort)(id >= 0x7FFF ? 1 : id + 1);
        return id;
    }

}
