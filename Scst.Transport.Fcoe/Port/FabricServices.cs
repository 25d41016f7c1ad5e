// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Port;

/// <summary>
/// Sends one FC frame of a single-frame sequence (SOFi3, EOFt): the driver wraps it in an FCoE frame to the FCF-MAC.
/// Called outside the <see cref="FabricServices"/> lock; it may not call back into <see cref="FabricServices"/> on the
/// same thread before it returns.
/// </summary>
/// <param name="header">The FC header (fill bits are the driver's to set).</param>
/// <param name="payload">The payload, valid only during the call.</param>
internal delegate void FcFrameSender(in FcFrameHeader header, ReadOnlySpan<byte> payload);

/// <summary>The steps of a <see cref="FabricServices"/> registration.</summary>
internal enum FabricServicesState
{
    /// <summary>Not started, or stopped (the port is down).</summary>
    Stopped,

    /// <summary>PLOGI to the directory server (0xFFFFFC) is out.</summary>
    NameServerLogin,

    /// <summary>RFT_ID (the FC-4 TYPEs: FCP) is out.</summary>
    RegisteringTypes,

    /// <summary>RFF_ID (the FC-4 features of FCP: target) is out.</summary>
    RegisteringFeatures,

    /// <summary>RSPN_ID (the symbolic port name) is out.</summary>
    RegisteringSymbolicName,

    /// <summary>SCR to the fabric controller (0xFFFFFD) is out.</summary>
    StateChangeRegistration,

    /// <summary>Every step was accepted: the port is in the name server and gets RSCNs.</summary>
    Registered,

    /// <summary>A step was refused or unanswered <see cref="FabricServices.MaxTries"/> times.</summary>
    Failed,
}

/// <summary>What <see cref="FabricServices"/> registers, and the exchange ids it may use.</summary>
internal sealed class FabricServicesOptions
{
    /// <summary>Our PLOGI service parameters (the port's <see cref="LinkServiceResponder.LocalServiceParameters"/>); the names come from them.</summary>
    public required ServiceParameters ServiceParameters { get; init; }

    /// <summary>The FCP feature bits registered with RFF_ID (<see cref="Fc4FeatureBits"/>); target by default.</summary>
    public byte FcpFeatures { get; init; } = Fc4FeatureBits.Target;

    /// <summary>A symbolic port name registered with RSPN_ID (at most 255 bytes of UTF-8); null skips RSPN_ID.</summary>
    public string? SymbolicPortName { get; init; }

    /// <summary>The SCR registration function (<see cref="ScrFunction"/>); full registration by default.</summary>
    public byte ScrFunction { get; init; } = Protocol.ScrFunction.Full;

    /// <summary>The first OX_ID of the range the driver leaves to these exchanges (it routes their replies here).</summary>
    public ushort FirstExchangeId { get; init; } = 0x8000;

    /// <summary>How many OX_IDs the range holds (1 to 0xFFFF - <see cref="FirstExchangeId"/>).</summary>
    public int ExchangeIdCount { get; init; } = 0x100;
}

/// <summary>
/// What a target N_Port does once logged in to a fabric (FC-GS-7, FC-LS-3), as pure logic with a send callback: PLOGI
/// to the directory server, RFT_ID (FCP), RFF_ID (FCP, target), RSPN_ID when a symbolic name is given, then SCR to the
/// fabric controller; and the RSCNs the fabric then sends, accepted and raised as <see cref="StateChangeNotified"/>.
/// </summary>
/// <remarks>
/// Each request opens an exchange with the next OX_ID of the range the driver gave; the driver routes the replies
/// with those OX_IDs to <see cref="HandleReply"/> and ELS requests addressed to the port that it does not answer
/// itself (RSCN) to <see cref="HandleRequest"/>. A request that is rejected (LS_RJT, CT reject) is sent again after
/// <see cref="RejectRetryDelay"/>; one unanswered for <see cref="ErrorDetectTimeout"/> is sent again at once, with a
/// new OX_ID (a late reply to the old one is ignored). After <see cref="MaxTries"/> tries the registration has
/// <see cref="FabricServicesState.Failed"/> (<see cref="RegistrationFailed"/>), except RSPN_ID, which is optional and
/// skipped. The driver calls <see cref="Start"/> when the port comes up and <see cref="Stop"/> when it goes down.
/// One lock guards the state; frames are sent and events raised after it is released.
/// </remarks>
internal sealed class FabricServices : IDisposable
{
    /// <summary>How long a request may go unanswered (E_D_TOV).</summary>
    public static readonly TimeSpan ErrorDetectTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The wait before a rejected request is sent again.</summary>
    public static readonly TimeSpan RejectRetryDelay = TimeSpan.FromMilliseconds(500);

    /// <summary>Tries of each request, the first included.</summary>
    public const int MaxTries = 3;

    // The largest request: a CT header and an RSPN_ID body with a 255-byte name; a PLOGI is smaller.
    private const int MaxRequestLength = CtHeader.Length + 5 + NameServer.MaxSymbolicNameLength;

    private readonly FabricServicesOptions _options;
    private readonly FcFrameSender _send;
    private readonly TimeProvider _time;
    private readonly byte[]? _symbolicName;
    private readonly Lock _lock = new();
    private readonly Timing.DeferredNotifications _pending;

    private FabricServicesState _state;
    private uint _portId;
    private int _tries;
    private ushort _nextOxId;
    private ushort _outstandingOxId;
    private bool _outstanding;
    private readonly Timing.StateTimer _timer;

    /// <summary>Registration logic for one port; nothing is sent before <see cref="Start"/>.</summary>
    /// <param name="options">What to register and which OX_IDs to use.</param>
    /// <param name="send">Sends a frame to the fabric.</param>
    /// <param name="timeProvider">The clock and timers.</param>
    public FabricServices(FabricServicesOptions options, FcFrameSender send, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(send);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (options.ExchangeIdCount < 1 || options.FirstExchangeId + options.ExchangeIdCount > FcFrameHeader.UnassignedExchangeId)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "The OX_ID range must hold at least one id and end below 0xFFFF.");
        }

        if (options.SymbolicPortName is string name)
        {
            _symbolicName = System.Text.Encoding.UTF8.GetBytes(name);
            if (_symbolicName.Length > NameServer.MaxSymbolicNameLength)
            {
                throw new ArgumentOutOfRangeException(nameof(options), "A symbolic port name is at most 255 bytes of UTF-8.");
            }
        }

        _options = options;
        _send = send;
        _time = timeProvider;
        _timer = new Timing.StateTimer(timeProvider, OnTimer);
        _pending = new Timing.DeferredNotifications(_lock);
        _nextOxId = options.FirstExchangeId;
    }

    /// <summary>Every step was accepted.</summary>
    public event Action? RegistrationCompleted;

    /// <summary>A step failed <see cref="MaxTries"/> times: the step.</summary>
    public event Action<FabricServicesState>? RegistrationFailed;

    /// <summary>
    /// An RSCN was accepted: its pages (the affected ports, areas, domains or the fabric). Raised on the thread that
    /// called <see cref="HandleRequest"/>, before it returns (so before the accept is sent).
    /// </summary>
    public event Action<IReadOnlyList<RscnPage>>? StateChangeNotified;

    /// <summary>Where the registration is.</summary>
    public FabricServicesState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    /// <summary>Whether every step was accepted (and the port has not gone down since).</summary>
    public bool Registered => State == FabricServicesState.Registered;

    /// <summary>Our N_Port_ID while started; 0 when stopped.</summary>
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

    /// <summary>Whether <paramref name="oxId"/> is in the range of these exchanges (so its replies belong to <see cref="HandleReply"/>).</summary>
    public bool OwnsExchange(ushort oxId) => oxId >= _options.FirstExchangeId && oxId - _options.FirstExchangeId < _options.ExchangeIdCount;

    /// <summary>The port is up with N_Port_ID <paramref name="portId"/>: sends the PLOGI to the directory server.</summary>
    /// <exception cref="InvalidOperationException">Already started (and neither stopped nor failed since).</exception>
    public void Start(uint portId)
    {
        if (portId is 0 or > 0xFF_FFEF)
        {
            throw new ArgumentOutOfRangeException(nameof(portId), "An N_Port_ID is 0x000001 to 0xFFFFEF.");
        }

        lock (_lock)
        {
            if (_state is not (FabricServicesState.Stopped or FabricServicesState.Failed))
            {
                throw new InvalidOperationException("The fabric services are already started.");
            }

            _portId = portId;
            Begin(FabricServicesState.NameServerLogin);
        }

        _pending.Raise();
    }

    /// <summary>The port went down: forgets the registration, cancels the outstanding request.</summary>
    public void Stop()
    {
        lock (_lock)
        {
            _timer.Cancel();
            _state = FabricServicesState.Stopped;
            _portId = 0;
            _outstanding = false;
            _pending.Clear();
        }
    }

    /// <inheritdoc/>
    public void Dispose() => Stop();

    /// <summary>
    /// A reply in one of our exchanges (an ELS reply to PLOGI or SCR, a CT reply to a name server request). True when
    /// it answered the outstanding request and was acted on; false for anything else (another exchange, a late reply,
    /// a malformed payload: the timeout takes care of it). Never throws on bad input.
    /// </summary>
    public bool HandleReply(in FcFrameHeader header, ReadOnlySpan<byte> payload)
    {
        bool handled;
        lock (_lock)
        {
            handled = OnReply(header, payload);
        }

        _pending.Raise();
        return handled;
    }

    /// <summary>
    /// An ELS request addressed to our N_Port_ID that the port's link service responder leaves to us: an RSCN. A
    /// well-formed RSCN is accepted (LS_ACC) and raised as <see cref="StateChangeNotified"/>; a malformed one gets
    /// LS_RJT. False (nothing to send) for any other frame, or when stopped.
    /// </summary>
    /// <param name="header">The received FC header.</param>
    /// <param name="payload">The received payload, without fill bytes.</param>
    /// <param name="reply">Where the reply payload goes: at least <see cref="LsRjt.Length"/> bytes.</param>
    /// <param name="result">The reply's header (RX_ID unassigned: the driver sets its own) and payload length.</param>
    public bool HandleRequest(in FcFrameHeader header, ReadOnlySpan<byte> payload, Span<byte> reply, out LinkServiceReply result)
    {
        result = default;
        if (header.RCtl != RCtl.ElsRequest || header.Type != FcType.Els || !Els.TryReadCode(payload, out byte code) || code != ElsCode.Rscn)
        {
            return false;
        }

        WireFormat.EnsureLength(reply, LsRjt.Length);
        lock (_lock)
        {
            if (_state == FabricServicesState.Stopped || header.DestinationId != _portId)
            {
                return false;
            }
        }

        var replyHeader = header.ToReply(RCtl.ElsReply, FCtl.LastReplyWithInitiative, FcFrameHeader.UnassignedExchangeId);
        if (!Rscn.TryReadHeader(payload, out int pageCount))
        {
            result = new LinkServiceReply(replyHeader, new LsRjt(LsRjtReason.LogicalError, LsRjtExplanation.InvalidPayloadLength).WriteTo(reply));
            return true;
        }

        var pages = new RscnPage[pageCount];
        for (int i = 0; i < pageCount; i++)
        {
            Rscn.TryReadPage(payload, i, out byte format, out uint affected);
            pages[i] = new RscnPage(format, affected);
        }

        result = new LinkServiceReply(replyHeader, Els.WriteAccept(reply));
        StateChangeNotified?.Invoke(pages);
        return true;
    }

    // ---- the steps (under the lock) ----

    private void Begin(FabricServicesState step)
    {
        _state = step;
        _tries = 1;
        SendRequest();
    }

    private void Advance()
    {
        var next = _state switch
        {
            FabricServicesState.NameServerLogin => FabricServicesState.RegisteringTypes,
            FabricServicesState.RegisteringTypes => FabricServicesState.RegisteringFeatures,
            FabricServicesState.RegisteringFeatures when _symbolicName is not null => FabricServicesState.RegisteringSymbolicName,
            _ => FabricServicesState.StateChangeRegistration,
        };
        if (_state == FabricServicesState.StateChangeRegistration)
        {
            _timer.Cancel();
            _outstanding = false;
            _state = FabricServicesState.Registered;
            _pending.Add(() => RegistrationCompleted?.Invoke());
            return;
        }

        Begin(next);
    }

    private bool OnReply(in FcFrameHeader header, ReadOnlySpan<byte> payload)
    {
        if (!_outstanding || header.OxId != _outstandingOxId || header.DestinationId != _portId)
        {
            return false;
        }

        bool els = _state is FabricServicesState.NameServerLogin or FabricServicesState.StateChangeRegistration;
        uint server = _state == FabricServicesState.StateChangeRegistration ? WellKnownAddress.FabricController : WellKnownAddress.DirectoryServer;
        if (header.SourceId != server)
        {
            return false;
        }

        bool? accepted = els ? ReadElsReply(header, payload) : ReadCtReply(header, payload);
        if (accepted is not bool ok)
        {
            return false;
        }

        _outstanding = false;
        if (ok)
        {
            Advance();
        }
        else
        {
            Retry(RejectRetryDelay);
        }

        return true;
    }

    private bool? ReadElsReply(in FcFrameHeader header, ReadOnlySpan<byte> payload)
    {
        if (header.RCtl != RCtl.ElsReply || header.Type != FcType.Els || !Els.TryReadCode(payload, out byte code))
        {
            return null;
        }

        return code switch
        {
            ElsCode.LsAcc when payload.Length >= Els.CommandLength
                && (_state != FabricServicesState.NameServerLogin || ServiceParameters.TryRead(payload, out _)) => true,
            ElsCode.LsRjt when LsRjt.TryRead(payload, out _) => false,
            _ => null,
        };
    }

    private static bool? ReadCtReply(in FcFrameHeader header, ReadOnlySpan<byte> payload)
    {
        if (header.RCtl != RCtl.CtReply || header.Type != FcType.Ct || !CtHeader.TryRead(payload, out var ct)
            || ct.GsType != CtServiceType.DirectoryService || ct.GsSubtype != CtServiceType.NameServer)
        {
            return null;
        }

        return ct.CommandResponse switch
        {
            CtCommand.Accept => true,
            CtCommand.Reject => false,
            _ => null,
        };
    }

    // A rejected or unanswered request: again after the delay, or the step has failed.
    private void Retry(TimeSpan delay)
    {
        _outstanding = false;
        if (_tries < MaxTries)
        {
            _tries++;
            if (delay <= TimeSpan.Zero)
            {
                SendRequest();
            }
            else
            {
                _timer.Schedule(delay);
            }

            return;
        }

        if (_state == FabricServicesState.RegisteringSymbolicName)
        {
            Advance(); // optional: go on without the symbolic name
            return;
        }

        _timer.Cancel();
        var failed = _state;
        _state = FabricServicesState.Failed;
        _pending.Add(() => RegistrationFailed?.Invoke(failed));
    }

    private void SendRequest()
    {
        ushort oxId = _nextOxId;
        _nextOxId = (ushort)(oxId - _options.FirstExchangeId + 1 >= _options.ExchangeIdCount ? _options.FirstExchangeId : oxId + 1);
        _outstandingOxId = oxId;
        _outstanding = true;

        var payload = new byte[MaxRequestLength];
        uint destination = WellKnownAddress.DirectoryServer;
        byte rCtl = RCtl.CtRequest;
        byte type = FcType.Ct;
        int length;
        switch (_state)
        {
            case FabricServicesState.NameServerLogin:
                length = _options.ServiceParameters.WriteTo(payload, ElsCode.Plogi);
                rCtl = RCtl.ElsRequest;
                type = FcType.Els;
                break;
            case FabricServicesState.RegisteringTypes:
                length = CtHeader.NameServerRequest(CtCommand.RftId).WriteTo(payload);
                length += NameServer.WriteRftId(payload.AsSpan(length), _portId, [FcType.Fcp]);
                break;
            case FabricServicesState.RegisteringFeatures:
                length = CtHeader.NameServerRequest(CtCommand.RffId).WriteTo(payload);
                length += NameServer.WriteRffId(payload.AsSpan(length), _portId, _options.FcpFeatures, FcType.Fcp);
                break;
            case FabricServicesState.RegisteringSymbolicName:
                length = CtHeader.NameServerRequest(CtCommand.RspnId).WriteTo(payload);
                length += NameServer.WriteRspnId(payload.AsSpan(length), _portId, _symbolicName);
                break;
            default:
                length = Scr.Write(payload, _options.ScrFunction);
                destination = WellKnownAddress.FabricController;
                rCtl = RCtl.ElsRequest;
                type = FcType.Els;
                break;
        }

        var header = new FcFrameHeader
        {
            RCtl = rCtl,
            DestinationId = destination,
            SourceId = _portId,
            Type = type,
            FCtl = FCtl.Request,
            OxId = oxId,
            RxId = FcFrameHeader.UnassignedExchangeId,
        };
        _pending.Add(() => _send(header, payload.AsSpan(0, length)));
        _timer.Schedule(ErrorDetectTimeout);
    }

    // ---- timers (under the lock) ----

    private void OnTimer(long generation)
    {
        lock (_lock)
        {
            if (!_timer.IsCurrent(generation) || _state is FabricServicesState.Stopped or FabricServicesState.Registered
                or FabricServicesState.Failed)
            {
                return;
            }

            if (_outstanding)
            {
                Retry(TimeSpan.Zero); // E_D_TOV passed without a reply
            }
            else
            {
                SendRequest(); // the delay after a reject is over
            }
        }

        _pending.Raise();
    }

}
