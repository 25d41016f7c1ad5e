// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Logging;
using Scst.Core;
using Scst.Transport.Fcoe.Fip;
using Scst.Transport.Fcoe.Link;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Port;

/// <summary>The fixed identity of a local port and what it needs from the driver.</summary>
/// <param name="PortName">The WWPN; also the target's name.</param>
/// <param name="NodeName">The WWNN.</param>
/// <param name="PreferredPortId">The N_Port_ID proposed first in VN2VN mode, or null.</param>
/// <param name="MaxExchanges">The size of the exchange table.</param>
/// <param name="Mode">VN2VN or fabric.</param>
internal sealed record FcoePortSettings(ulong PortName, ulong NodeName, uint? PreferredPortId, int MaxExchanges, FcoeMode Mode = FcoeMode.Vn2Vn);

/// <summary>
/// One local FCoE N_Port on one link, serving one SCSI target: FIP brings it up (<see cref="Vn2VnController"/> in VN2VN
/// mode; in fabric mode a <see cref="FabricVnPort"/> of its interface's ENode, shared with the other fabric-mode ports
/// on that interface through a <see cref="FabricInterface"/>, after which <see cref="FabricServices"/> registers the
/// port with the name server), the <see cref="LinkServiceResponder"/> answers the link services, and this class is
/// the FCP-4 target and the exchange manager: FCP_CMND to the core, XFER_RDY and FCP_DATA for writes, Data-In and
/// FCP_RSP for responses, task management, ABTS and RRQ on its <see cref="ExchangeTable"/>, and the FLOGI and PLOGI
/// a VN_Port with the higher WWPN sends to its peers.
/// </summary>
/// <remarks>
/// One receive loop reads the link and handles each frame to the end (a command the core completes at once is answered
/// from it); responses the core completes later are sent from the completing thread. Frames are built on the stack and
/// sent with one <see cref="IFcoeLink.Send"/> each; nothing is allocated per command.
/// </remarks>
internal sealed partial class FcoePort : ILinkServiceEvents, IAsyncDisposable
{
    /// <summary>R_A_TOV: how long the recovery qualifier of an aborted exchange is held without RRQ.</summary>
    public static readonly TimeSpan ResourceAllocationTimeout = TimeSpan.FromMilliseconds(LinkServiceResponder.ResourceAllocationTimeout);

    /// <summary>E_D_TOV: how long a link service request we sent waits for its reply before it is sent again.</summary>
    public static readonly TimeSpan ErrorDetectTimeout = TimeSpan.FromMilliseconds(LinkServiceResponder.ErrorDetectTimeout);

    /// <summary>How long after a peer appears we wait before logging in to it (its port comes up after its claim).</summary>
    public static readonly TimeSpan LoginDelay = TimeSpan.FromSeconds(1);

    private const int LoginTries = 3;
    private const ushort FirstOriginatorId = 0x8000;
    private const ushort LastOriginatorId = 0xEFFF;
    private const ushort FirstFabricServicesId = 0xF000;
    private const uint NoPortId = uint.MaxValue;
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMilliseconds(250);

    private readonly IFcoeLink _link;
    private readonly Func<ScsiTarget?> _target;
    private readonly FcoePortSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Vn2VnController? _vn2vn;
    private readonly FabricVnPort? _fabric;
    private readonly FabricInterface? _shared;
    private readonly FabricServices? _services;
    private readonly RemotePortTable _ports = new();
    private readonly ExchangeTable _exchanges;
    private readonly Lock _sessionLock = new();
    private readonly Dictionary<uint, FcoeSession> _sessions = [];
    private readonly Lock _loginLock = new();
    private readonly Dictionary<ushort, PendingLogin> _logins = [];
    private readonly byte[] _receiveBuffer = new byte[FcoeFrame.MaxTaggedFrameLength + 64];
    private readonly byte[] _replyBuffer = new byte[FcoeFrame.MaxPayloadLength];
    private readonly CancellationTokenSource _stopping = new();
    private LinkServiceResponder? _responder;
    private uint _localId = NoPortId;
    private MacAddress _localMac;
    private MacAddress _fcfMac;
    private ushort _nextOriginatorId = FirstOriginatorId;
    private ITimer? _sweep;
    private Task? _receiveLoop;
    private long _framesReceived;
    private long _framesDropped;

    /// <summary>
    /// A port on <paramref name="link"/> serving the target <paramref name="target"/> resolves to (null: none configured).
    /// In fabric mode, <paramref name="shared"/> is the interface whose link, receive loop and ENode the port shares
    /// (and <paramref name="link"/> is its link); without it the port has an ENode of its own on its own link.
    /// </summary>
    public FcoePort(IFcoeLink link, FcoePortSettings settings, Func<ScsiTarget?> target, TimeProvider time, ILogger logger, Random? random = null,
        FabricInterface? shared = null)
    {
        _link = link;
        _shared = shared;
        _settings = settings;
        Name = RemotePort.FormatWwn(settings.PortName);
        _target = target;
        _time = time;
        _logger = logger;
        _exchanges = new ExchangeTable(settings.MaxExchanges);
        if (settings.Mode == FcoeMode.Fabric)
        {
            var enode = shared?.Controller ?? new FabricController(link, new FabricOptions { NodeName = settings.NodeName }, time);
            _fabric = enode.AddPort(settings.PortName, settings.NodeName);
            var parameters = new LinkServiceResponder(new LocalPortIdentity(settings.PortName, settings.NodeName, 1, enode.ReceiveDataFieldSize),
                false, new RemotePortTable(), this).LocalServiceParameters;
            _services = new FabricServices(new FabricServicesOptions { ServiceParameters = parameters, FirstExchangeId = FirstFabricServicesId },
                SendToFabric, time);
            _fabric.PortUp += (id, mac, fcf) =>
            {
                _fcfMac = fcf;
                OnPortUp(id, mac);
                _services.Start(id);
            };
            _fabric.PortDown += id =>
            {
                _services.Stop();
                OnPortDown(id);
            };
            _services.RegistrationCompleted += () => Log.Registered(_logger, Name);
            _services.RegistrationFailed += state => Log.RegistrationFailed(_logger, Name, state);
        }
        else
        {
            var options = new Vn2VnOptions { PortName = settings.PortName, NodeName = settings.NodeName, PreferredPortId = settings.PreferredPortId };
            _vn2vn = new Vn2VnController(link, options, time, random ?? new Random(), AnswerFipLinkService)
            {
                LinkServiceReplies = OnFipLinkServiceReply,
            };
            _vn2vn.PortUp += OnPortUp;
            _vn2vn.PortDown += OnPortDown;
            _vn2vn.PeerDiscovered += OnPeerDiscovered;
            _vn2vn.PeerLost += OnPeerLost;
        }
    }

    /// <summary>The WWPN in colon form: the target's name.</summary>
    public string Name { get; }

    /// <summary>The link the port runs on.</summary>
    public IFcoeLink Link => _link;

    /// <summary>The VN2VN controller (its state, its peers); null in fabric mode.</summary>
    public Vn2VnController? Fip => _vn2vn;

    /// <summary>
    /// The port's VN_Port of its ENode (the ENode is <see cref="FabricVnPort.Controller"/>) and the fabric services;
    /// null in VN2VN mode.
    /// </summary>
    public (FabricVnPort VnPort, FabricServices Services)? Fabric => _fabric is null ? null : (_fabric, _services!);

    /// <summary>The remote ports known to the link services.</summary>
    public RemotePortTable RemotePorts => _ports;

    /// <summary>The exchange table.</summary>
    public ExchangeTable Exchanges => _exchanges;

    /// <summary>The MAC address frames to the port are sent to once FIP brought it up (its FPMA or VN2VN MAC).</summary>
    public MacAddress LocalMac => _localMac;

    /// <summary>Our N_Port_ID once FIP brought the port up; null before.</summary>
    public uint? PortId => Volatile.Read(ref _localId) is var id && id != NoPortId ? id : null;

    /// <summary>Frames received and frames dropped (malformed, CRC errors, not for us) since the start.</summary>
    public (long Received, long Dropped) FrameCounts => (Interlocked.Read(ref _framesReceived), Interlocked.Read(ref _framesDropped));

    /// <summary>The sessions (image pairs) open now.</summary>
    public IReadOnlyList<FcoeSession> Sessions
    {
        get
        {
            lock (_sessionLock)
            {
                return [.. _sessions.Values];
            }
        }
    }

    /// <summary>
    /// Starts FIP and, unless told not to (a test that hands frames in itself) or the port shares its interface's
    /// receive loop, the receive loop.
    /// </summary>
    public void Start(bool receiveLoop = true)
    {
        _shared?.Attach(this);
        if (receiveLoop && _shared is null)
        {
            _receiveLoop = Task.Run(ReceiveLoopAsync);
        }

        _sweep = _time.CreateTimer(static s => ((FcoePort)s!).Sweep(), this, SweepInterval, SweepInterval);
        if (_vn2vn is not null)
        {
            _link.JoinMulticast(MacAddress.AllVn2VnMacs);
            _vn2vn.Start();
        }
        else
        {
            _fabric!.Start();
        }

        Log.Started(_logger, Name, _link.Name, _settings.Mode);
    }

    /// <summary>
    /// Logs every initiator out, ends the sessions, stops FIP (in fabric mode the VN_Port's own LOGO; the other ports of
    /// the interface stay logged in) and the receive loop, and closes the link unless the interface's other ports share it.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        foreach (var port in _ports.Snapshot())
        {
            if (port.LoggedIn)
            {
                SendLogo(port.PortId, port.Mac);
            }
        }

        EndAll();
        _services?.Stop();
        _vn2vn?.Stop();
        _fabric?.Stop();
        if (_shared is null)
        {
            _fabric?.Controller.Dispose();
        }
        else
        {
            _shared.Detach(this);
        }

        _sweep?.Dispose();
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_shared is null)
        {
            await _link.DisposeAsync().ConfigureAwait(false);
        }
        if (_receiveLoop is not null)
        {
            try
            {
                await _receiveLoop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _stopping.Dispose();
    }

    /// <summary>The target was disabled: its initiators are logged out and their sessions end.</summary>
    public void OnTargetDisabled()
    {
        foreach (var port in _ports.Snapshot())
        {
            if (port.ImagePairEstablished && _ports.TryRemove(port.PortId, out var removed))
            {
                SendLogo(removed.PortId, removed.Mac);
                ImagePairEnded(removed);
            }
        }
    }

    /// <summary>Handles one received Ethernet frame (the receive loop calls it; tests may too).</summary>
    public void HandleFrame(ReadOnlySpan<byte> frame)
    {
        Interlocked.Increment(ref _framesReceived);
        if (!Ethernet.TryReadHeader(frame, out ushort etherType, out _, out _))
        {
            Interlocked.Increment(ref _framesDropped);
            return;
        }

        if (etherType == EtherType.Fip)
        {
            if (_vn2vn is not null)
            {
                _vn2vn.HandleFip(frame);
            }
            else
            {
                _fabric!.Controller.HandleFip(frame);
            }

            return;
        }

        var result = FcoeFrame.TryRead(frame, out var fcoe);
        if (result != FcoeReadResult.Success)
        {
            Interlocked.Increment(ref _framesDropped);
            Log.FrameDropped(_logger, Name, result);
            return;
        }

        uint localId = Volatile.Read(ref _localId);
        var header = fcoe.Header;
        if (localId == NoPortId || header.DestinationId != localId || fcoe.Destination != _localMac)
        {
            Interlocked.Increment(ref _framesDropped);
            return;
        }

        if (_services is not null && HandleFabricServices(header, fcoe.Payload))
        {
            return;
        }

        switch (header.RCtl)
        {
            case RCtl.FcpCommand when header.Type == FcType.Fcp:
                OnCommand(header, fcoe.Payload, fcoe.Source);
                break;
            case RCtl.FcpData when header.Type == FcType.Fcp:
                OnData(header, fcoe.Payload);
                break;
            case RCtl.ElsReply when header.Type == FcType.Els:
                OnElsReply(header, fcoe.Payload, fcoe.Source);
                break;
            default:
                AnswerLinkService(header, fcoe.Payload, fcoe.Source);
                break;
        }
    }

    // ---- link services -------------------------------------------------------------------------------------------

    // Fabric mode: replies to the name server registration, and the fabric controller's RSCN.
    private bool HandleFabricServices(in FcFrameHeader header, ReadOnlySpan<byte> payload)
    {
        if ((header.FCtl & FCtl.ExchangeContext) != 0)
        {
            return _services!.OwnsExchange(header.OxId) && _services.HandleReply(header, payload);
        }

        if (_services!.HandleRequest(header, payload, _replyBuffer, out var answer))
        {
            SendFrame(_fcfMac, answer.Header, _replyBuffer.AsSpan(0, answer.PayloadLength), LinkServiceReply.Sof, LinkServiceReply.Eof);
            return true;
        }

        return false;
    }

    private void SendToFabric(in FcFrameHeader header, ReadOnlySpan<byte> payload) => SendFrame(_fcfMac, header, payload, Sof.SofI3, Eof.EofT);

    private void AnswerLinkService(in FcFrameHeader header, ReadOnlySpan<byte> payload, MacAddress source)
    {
        var responder = Volatile.Read(ref _responder);
        if (responder is null)
        {
            return;
        }

        responder.TargetEnabled = _target() is { Enabled: true };
        if (responder.Respond(header, payload, source, _replyBuffer, out var reply))
        {
            SendFrame(source, reply.Header, _replyBuffer.AsSpan(0, reply.PayloadLength), LinkServiceReply.Sof, LinkServiceReply.Eof);
        }
        else
        {
            Interlocked.Increment(ref _framesDropped);
        }
    }

    private int AnswerFipLinkService(FipDescriptorType encapsulation, FcFrameHeader header, ReadOnlySpan<byte> elsPayload, MacAddress senderMac,
        Span<byte> reply)
    {
        var responder = Volatile.Read(ref _responder);
        if (responder is null || !responder.Respond(header, elsPayload, senderMac, reply, out var answer))
        {
            return 0;
        }

        return answer.PayloadLength;
    }

    /// <inheritdoc/>
    public void ImagePairEstablished(RemotePort port)
    {
        var target = _target();
        if (target is not { Enabled: true })
        {
            return;
        }

        var session = new FcoeSession(this, port);
        try
        {
            session.Open(target);
        }
        catch (InvalidOperationException ex)
        {
            Log.SessionRefused(_logger, Name, port.SessionName, ex.Message);
            return;
        }

        FcoeSession? previous;
        lock (_sessionLock)
        {
            _sessions.Remove(port.PortId, out previous);
            _sessions[port.PortId] = session;
        }

        if (previous is not null)
        {
            EndSession(previous);
        }

        Log.SessionOpened(_logger, Name, port.SessionName, port.PortId, port.MaxPayload);
    }

    /// <inheritdoc/>
    public void ImagePairEnded(RemotePort port)
    {
        FcoeSession? session;
        lock (_sessionLock)
        {
            if (!_sessions.Remove(port.PortId, out session))
            {
                return;
            }
        }

        EndSession(session);
        Log.SessionClosed(_logger, Name, port.SessionName, port.PortId);
    }

    /// <inheritdoc/>
    public bool AbortExchange(uint sourceId, ushort oxId, ushort rxId)
    {
        if (!_exchanges.TryFind(sourceId, oxId, out var exchange)
            || (rxId != FcFrameHeader.UnassignedExchangeId && rxId != exchange.RxId))
        {
            return false;
        }

        ScsiCommand? command;
        FcoeSession? session;
        lock (exchange.Lock)
        {
            if (exchange.State == ExchangeState.Aborted)
            {
                return true; // a repeated ABTS gets the same answer
            }

            if (exchange.State == ExchangeState.Free)
            {
                return false;
            }

            exchange.State = ExchangeState.Aborted;
            command = exchange.Command;
            session = exchange.Session;
            _exchanges.Hold(exchange, _time.GetTimestamp() + (long)(ResourceAllocationTimeout.TotalSeconds * _time.TimestampFrequency));
        }

        Log.ExchangeAborted(_logger, Name, sourceId, oxId, exchange.RxId);
        if (command is not null && session is not null && !session.IsEnded)
        {
            _ = AbortInCoreAsync(session, exchange.RxId);
        }

        return true;
    }

    /// <inheritdoc/>
    public bool ReleaseRecoveryQualifier(uint sourceId, uint originatorId, ushort oxId, ushort rxId) =>
        _exchanges.ReleaseQualifier(originatorId, oxId, rxId);

    private async Task AbortInCoreAsync(FcoeSession session, ushort rxId)
    {
        try
        {
            await session.Scsi.AbortTaskAsync(rxId).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
        {
            Log.CoreCallFailed(_logger, Name, ex.Message);
        }
    }

    // ---- FCP: commands -------------------------------------------------------------------------------------------

    private void OnCommand(in FcFrameHeader header, ReadOnlySpan<byte> payload, MacAddress source)
    {
        // A port has a session exactly while it has an image pair (LOGO, PRLO and a new PLOGI end it), so one lookup
        // decides; the remote port table is consulted only to log a port without one out.
        uint initiator = header.SourceId;
        FcoeSession? session;
        lock (_sessionLock)
        {
            _sessions.TryGetValue(initiator, out session);
        }

        if (session is null)
        {
            // FC-LS: frames from a port without a login (here: without an FCP image pair) are answered with LOGO.
            Log.UnknownSender(_logger, Name, initiator);
            if (_ports.TryRemove(initiator, out var removed))
            {
                ImagePairEnded(removed);
            }

            SendLogo(initiator, source);
            return;
        }

        if (!FcpCommand.TryRead(payload, out var iu))
        {
            SendStatusWithoutExchange(header, session, (byte)ScsiStatus.Good, FcpResponseCode.InvalidCommandFields);
            return;
        }

        if (!_exchanges.TryOpen(initiator, header.OxId, session, out var exchange, out bool busy))
        {
            if (busy)
            {
                SendStatusWithoutExchange(header, session, (byte)ScsiStatus.TaskSetFull, null);
            }
            else
            {
                Log.DuplicateExchange(_logger, Name, initiator, header.OxId);
            }

            return;
        }

        if (iu.IsTaskManagement)
        {
            _ = RunTaskManagementAsync(exchange, session, iu.TaskManagementFlags, iu.Lun);
            return;
        }

        if (!iu.TryGetTaskAttribute(out var attribute))
        {
            SendTaskManagementResponse(exchange, session, FcpResponseCode.InvalidCommandFields);
            return;
        }

        var direction = (iu.ReadData, iu.WriteData) switch
        {
            (true, true) => DataDirection.Bidirectional,
            (true, false) => DataDirection.Read,
            (false, true) => DataDirection.Write,
            _ => DataDirection.None,
        };
        var command = session.Scsi.CreateCommand(iu.Lun, iu.Cdb, exchange.RxId, attribute, direction, (int)Math.Min(iu.DataLength, int.MaxValue));
        command.TransportState = exchange;
        lock (exchange.Lock)
        {
            exchange.Command = command;
        }

        session.Scsi.Submit(command);
    }

    private async Task RunTaskManagementAsync(FcpExchange exchange, FcoeSession session, byte flags, ulong lun)
    {
        TaskManagementFunction? function = flags switch
        {
            FcpTaskManagement.AbortTaskSet => TaskManagementFunction.AbortTaskSet,
            FcpTaskManagement.ClearTaskSet => TaskManagementFunction.ClearTaskSet,
            FcpTaskManagement.LogicalUnitReset => TaskManagementFunction.LogicalUnitReset,
            FcpTaskManagement.TargetReset => TaskManagementFunction.TargetReset,
            FcpTaskManagement.ClearAca => TaskManagementFunction.ClearAca,
            _ => null,
        };

        byte code;
        if (function is not TaskManagementFunction f)
        {
            // More than one flag, or a reserved one: the FCP_CMND fields are invalid (FCP-4 section 9.2.2.5).
            code = FcpResponseCode.InvalidCommandFields;
        }
        else
        {
            TaskManagementResponse response;
            try
            {
                response = await session.Scsi.ExecuteTaskManagementAsync(f, lun, 0).ConfigureAwait(false);
            }
            catch (InvalidOperationException ex)
            {
                Log.CoreCallFailed(_logger, Name, ex.Message);
                response = TaskManagementResponse.FunctionRejected;
            }

            code = response switch
            {
                TaskManagementResponse.FunctionComplete => FcpResponseCode.TaskManagementComplete,
                TaskManagementResponse.FunctionSucceeded => FcpResponseCode.TaskManagementSucceeded,
                TaskManagementResponse.FunctionNotSupported => FcpResponseCode.TaskManagementNotSupported,
                TaskManagementResponse.LunDoesNotExist => FcpResponseCode.IncorrectLun,
                _ => FcpResponseCode.TaskManagementFailed,
            };
            Log.TaskManagement(_logger, Name, session.Remote.SessionName, f, lun, response);
        }

        SendTaskManagementResponse(exchange, session, code);
    }

    // A task management function (or a command refused before the core saw it) is answered with an FCP_RSP carrying
    // only the response code; then the exchange ends, unless an ABTS or the session's end got there first.
    private void SendTaskManagementResponse(FcpExchange exchange, FcoeSession session, byte code)
    {
        bool send;
        byte sequenceId = 0;
        lock (exchange.Lock)
        {
            send = exchange.State == ExchangeState.Executing && !session.IsEnded;
            if (send)
            {
                exchange.State = ExchangeState.Responding;
                sequenceId = exchange.NextSequenceId++;
            }
        }

        if (send)
        {
            Span<byte> iu = stackalloc byte[FcpResponse.GetLength(0, true)];
            int length = FcpResponse.Write(iu, (byte)ScsiStatus.Good, FcpResponseFlags.None, 0, default, code);
            SendFrame(session.Remote.Mac, exchange.Header(RCtl.FcpResponse, FCtl.LastReply, LocalId, sequenceId, 0, 0), iu[..length],
                Sof.SofI3, Eof.EofT);
        }

        FinishExchange(exchange);
    }

    private void SendStatusWithoutExchange(in FcFrameHeader request, FcoeSession session, byte status, byte? code)
    {
        Span<byte> iu = stackalloc byte[FcpResponse.GetLength(0, true)];
        int length = FcpResponse.Write(iu, status, FcpResponseFlags.None, 0, default, code);
        var header = request.ToReply(RCtl.FcpResponse, FCtl.LastReply, FcFrameHeader.UnassignedExchangeId) with { Type = FcType.Fcp };
        SendFrame(session.Remote.Mac, header, iu[..length], Sof.SofI3, Eof.EofT);
    }

    // ---- FCP: write data -----------------------------------------------------------------------------------------

    /// <summary>The core wants the write data of <paramref name="command"/>: XFER_RDY for all of it, in one burst.</summary>
    public void RequestWriteData(FcoeSession session, ScsiCommand command)
    {
        var exchange = (FcpExchange)command.TransportState!;
        int wanted = command.WriteBuffer.Length;
        if (wanted == 0)
        {
            command.OnWriteDataReceived(true);
            return;
        }

        bool send;
        byte sequenceId = 0;
        lock (exchange.Lock)
        {
            send = exchange.State == ExchangeState.Executing && !session.IsEnded;
            if (send)
            {
                exchange.State = ExchangeState.ReceivingData;
                exchange.AwaitingData = true;
                exchange.ExpectedBytes = wanted;
                exchange.ReceivedBytes = 0;
                sequenceId = exchange.NextSequenceId++;
            }
        }

        if (!send)
        {
            command.OnWriteDataReceived(false);
            return;
        }

        Span<byte> iu = stackalloc byte[FcpTransferReady.Length];
        FcpTransferReady.Write(iu, 0, (uint)wanted);
        SendFrame(session.Remote.Mac, exchange.Header(RCtl.FcpTransferReady, FCtl.TransferReady, LocalId, sequenceId, 0, 0), iu,
            Sof.SofI3, Eof.EofT);
    }

    private void OnData(in FcFrameHeader header, ReadOnlySpan<byte> payload)
    {
        if (!_exchanges.TryGet(header.RxId, header.SourceId, header.OxId, out var exchange))
        {
            Interlocked.Increment(ref _framesDropped);
            return;
        }

        ScsiCommand? complete = null;
        bool failed = false;
        lock (exchange.Lock)
        {
            if (exchange.State != ExchangeState.ReceivingData || exchange.Command is not { } command
                || exchange.RemoteId != header.SourceId || exchange.OxId != header.OxId)
            {
                Interlocked.Increment(ref _framesDropped);
                return;
            }

            long offset = (header.FCtl & FCtl.RelativeOffset) != 0 ? header.Parameter : exchange.ReceivedBytes;
            if (offset + payload.Length > exchange.ExpectedBytes)
            {
                failed = true;
            }
            else
            {
                payload.CopyTo(command.WriteBuffer.Span[(int)offset..]);
                exchange.ReceivedBytes += payload.Length;

                // The last frame of the initiator's sequence hands the initiative back: what has not come by then never will.
                failed = exchange.ReceivedBytes < exchange.ExpectedBytes && (header.FCtl & FCtl.SequenceInitiative) != 0;
            }

            if (failed || exchange.ReceivedBytes >= exchange.ExpectedBytes)
            {
                exchange.State = ExchangeState.Executing;
                exchange.AwaitingData = false;
                complete = command;
            }
        }

        if (complete is null)
        {
            return;
        }

        if (failed)
        {
            Log.DataMismatch(_logger, Name, header.SourceId, header.OxId, exchange.ExpectedBytes);
            complete.OnWriteDataFailed(SenseCode.DataPhaseError);
        }
        else
        {
            complete.OnWriteDataReceived(true);
        }
    }

    /// <summary>A task management function aborted <paramref name="command"/> while its data was awaited: stop waiting.</summary>
    public static void OnAbortWhileReceiving(ScsiCommand command)
    {
        if (command.TransportState is not FcpExchange exchange)
        {
            return;
        }

        lock (exchange.Lock)
        {
            if (exchange.Command != command || !command.IsAborted || !exchange.AwaitingData)
            {
                return;
            }

            exchange.AwaitingData = false;
            if (exchange.State == ExchangeState.ReceivingData)
            {
                exchange.State = ExchangeState.Executing;
            }
        }

        command.OnWriteDataReceived(false);
    }

    // ---- FCP: responses ------------------------------------------------------------------------------------------

    /// <summary>The core finished <paramref name="command"/>: Data-In (for reads), FCP_RSP, then the exchange ends.</summary>
    public void SendResponse(FcoeSession session, ScsiCommand command)
    {
        var exchange = (FcpExchange)command.TransportState!;
        bool send;
        byte dataSequence = 0;
        byte statusSequence = 0;
        var data = command.ResponseData;
        lock (exchange.Lock)
        {
            send = exchange.State == ExchangeState.Executing && !session.IsEnded;
            if (send)
            {
                exchange.State = ExchangeState.Responding;
                dataSequence = data.IsEmpty ? (byte)0 : exchange.NextSequenceId++;
                statusSequence = exchange.NextSequenceId++;
            }
        }

        if (send)
        {
            uint localId = LocalId;
            var mac = session.Remote.Mac;
            if (!data.IsEmpty)
            {
                SendDataIn(exchange, mac, localId, dataSequence, data.Span, session.Remote.MaxPayload);
            }

            var flags = command.ResidualUnderflow ? FcpResponseFlags.ResidualUnder
                : command.ResidualOverflow ? FcpResponseFlags.ResidualOver : FcpResponseFlags.None;
            var sense = command.SenseData;
            Span<byte> iu = stackalloc byte[FcpResponse.GetLength(sense.Length, false)];
            int length = FcpResponse.Write(iu, (byte)command.Status, flags, flags == FcpResponseFlags.None ? 0 : (uint)command.ResidualCount, sense);
            if (exchange.State != ExchangeState.Aborted)
            {
                SendFrame(mac, exchange.Header(RCtl.FcpResponse, FCtl.LastReply, localId, statusSequence, 0, 0), iu[..length], Sof.SofI3, Eof.EofT);
            }
        }

        command.Release();
        FinishExchange(exchange);
    }

    // Data-In: one sequence of frames no longer than the initiator receives, each with its relative offset; the frame
    // that ends the sequence carries END_SEQ and EOFt. An ABTS that arrives meanwhile stops it (read without the lock).
    private void SendDataIn(FcpExchange exchange, MacAddress mac, uint localId, byte sequenceId, ReadOnlySpan<byte> data, int maxPayload)
    {
        int chunk = Math.Max(4, Math.Min(maxPayload, FcoeFrame.MaxPayloadLength) & ~3);
        int offset = 0;
        ushort count = 0;
        while (offset < data.Length && exchange.State != ExchangeState.Aborted)
        {
            int length = Math.Min(chunk, data.Length - offset);
            bool last = offset + length == data.Length;
            var header = exchange.Header(RCtl.FcpData, last ? FCtl.DataInLast : FCtl.DataIn, localId, sequenceId, count, (uint)offset);
            SendFrame(mac, header, data.Slice(offset, length), count == 0 ? Sof.SofI3 : Sof.SofN3, last ? Eof.EofT : Eof.EofN);
            offset += length;
            count++;
        }
    }

    /// <summary>The core aborted <paramref name="command"/> and sends no response: the exchange ends without FCP_RSP.</summary>
    public void OnCommandAborted(ScsiCommand command)
    {
        var exchange = command.TransportState as FcpExchange;
        command.Release();
        if (exchange is not null)
        {
            FinishExchange(exchange);
        }
    }

    // The command (or task management function) of the exchange is gone: an exchange that ended normally frees its ids
    // at once; an aborted one keeps them until its recovery qualifier is released.
    private void FinishExchange(FcpExchange exchange)
    {
        bool aborted;
        lock (exchange.Lock)
        {
            exchange.Command = null;
            exchange.AwaitingData = false;
            aborted = exchange.State == ExchangeState.Aborted;
        }

        if (aborted)
        {
            _exchanges.CommandGone(exchange);
        }
        else
        {
            _exchanges.Close(exchange);
        }
    }

    private void EndSession(FcoeSession session)
    {
        if (!session.End())
        {
            return;
        }

        var exchanges = new List<FcpExchange>();
        _exchanges.CollectSession(session, exchanges);
        List<ScsiCommand>? waiting = null;
        foreach (var exchange in exchanges)
        {
            lock (exchange.Lock)
            {
                if (exchange.State is ExchangeState.Free or ExchangeState.Aborted)
                {
                    continue;
                }

                exchange.State = ExchangeState.Aborted;
                if (exchange.AwaitingData && exchange.Command is { } command)
                {
                    exchange.AwaitingData = false;
                    (waiting ??= []).Add(command);
                }
            }
        }

        foreach (var command in waiting ?? [])
        {
            command.OnWriteDataReceived(false);
        }

        session.Scsi.Close();
    }

    private void EndAll()
    {
        FcoeSession[] sessions;
        lock (_sessionLock)
        {
            sessions = [.. _sessions.Values];
            _sessions.Clear();
        }

        foreach (var session in sessions)
        {
            EndSession(session);
        }
    }

    // ---- FIP events and the logins we originate ------------------------------------------------------------------

    private void OnPortUp(uint portId, MacAddress mac)
    {
        int receiveSize = LinkServiceResponder.ReceiveSizeFromMtu(_link.Mtu);
        var identity = new LocalPortIdentity(_settings.PortName, _settings.NodeName, portId, Math.Max(LinkServiceResponder.MinReceiveSize, receiveSize));
        _localMac = mac;
        Volatile.Write(ref _responder, new LinkServiceResponder(identity, _target() is { Enabled: true }, _ports, this, _time));
        Volatile.Write(ref _localId, portId);
        Log.PortUp(_logger, Name, portId, mac);
        foreach (var peer in _vn2vn?.Peers ?? [])
        {
            OnPeerDiscovered(peer);
        }
    }

    private void OnPortDown(uint portId)
    {
        Volatile.Write(ref _localId, NoPortId);
        foreach (var port in _ports.Clear())
        {
            if (port.ImagePairEstablished)
            {
                ImagePairEnded(port);
            }
        }

        lock (_loginLock)
        {
            _logins.Clear();
        }

        Log.PortDown(_logger, Name, portId);
    }

    private void OnPeerDiscovered(Vn2VnPeer peer)
    {
        // In VN2VN the port with the higher WWPN logs in (FLOGI in FIP, then PLOGI); the other waits for it. A target
        // has nothing to ask of another target, so only ports that announce the FCP initiator function are logged in to.
        if (peer.PortName >= _settings.PortName || (peer.FcpFeatures & Fc4FeatureBits.Initiator) == 0 || PortId is null)
        {
            return;
        }

        lock (_loginLock)
        {
            foreach (var pending in _logins.Values)
            {
                if (pending.Peer.PortId == peer.PortId)
                {
                    return;
                }
            }

            // The first FLOGI goes when the delay has passed, from the sweep: the peer's port is up by then.
            _logins[NextOriginatorId()] = new PendingLogin(peer, LoginStep.Waiting, 0, _time.GetUtcNow() + LoginDelay);
        }
    }

    private void OnPeerLost(Vn2VnPeer peer)
    {
        lock (_loginLock)
        {
            foreach (var (ox, pending) in _logins)
            {
                if (pending.Peer.PortId == peer.PortId)
                {
                    _logins.Remove(ox);
                }
            }
        }

        if (_ports.TryRemove(peer.PortId, out var removed) && removed.ImagePairEstablished)
        {
            ImagePairEnded(removed);
        }
    }

    private void OnFipLinkServiceReply(FipDescriptorType encapsulation, FcFrameHeader header, ReadOnlySpan<byte> elsPayload, MacAddress senderMac)
    {
        PendingLogin? pending;
        lock (_loginLock)
        {
            if (!_logins.Remove(header.OxId, out pending) || pending.Step != LoginStep.Flogi || pending.Peer.PortId != header.SourceId)
            {
                return;
            }
        }

        if (elsPayload.IsEmpty || elsPayload[0] != ElsCode.LsAcc)
        {
            Log.LoginRejected(_logger, Name, "FLOGI", header.SourceId);
            return;
        }

        SendLoginStep(pending with { Step = LoginStep.Plogi, Tries = 0 });
    }

    private void OnElsReply(in FcFrameHeader header, ReadOnlySpan<byte> payload, MacAddress source)
    {
        PendingLogin? pending;
        lock (_loginLock)
        {
            if (!_logins.Remove(header.OxId, out pending) || pending.Peer.PortId != header.SourceId)
            {
                return; // the reply to a LOGO, or to a request that timed out
            }
        }

        if (pending.Step != LoginStep.Plogi || payload.IsEmpty || payload[0] != ElsCode.LsAcc
            || !ServiceParameters.TryRead(payload, out var parameters) || Volatile.Read(ref _responder) is not { } responder)
        {
            Log.LoginRejected(_logger, Name, "PLOGI", header.SourceId);
            return;
        }

        responder.RecordLogin(header.SourceId, parameters, source);
        Log.LoggedIn(_logger, Name, header.SourceId, parameters.PortName);
    }

    private void SendLoginStep(PendingLogin login)
    {
        if (Volatile.Read(ref _responder) is not { } responder)
        {
            return;
        }

        ushort oxId;
        lock (_loginLock)
        {
            oxId = NextOriginatorId();
            _logins[oxId] = login with { Tries = login.Tries + 1, Deadline = _time.GetUtcNow() + ErrorDetectTimeout };
        }

        Span<byte> payload = stackalloc byte[ServiceParameters.Length];
        var header = new FcFrameHeader
        {
            RCtl = RCtl.ElsRequest,
            DestinationId = login.Peer.PortId,
            SourceId = responder.Identity.PortId,
            Type = FcType.Els,
            FCtl = FCtl.Request,
            OxId = oxId,
            RxId = FcFrameHeader.UnassignedExchangeId,
        };
        if (login.Step == LoginStep.Flogi)
        {
            int length = responder.LocalServiceParameters.WriteTo(payload, ElsCode.Flogi);
            _vn2vn?.SendLinkServiceRequest(login.Peer, FipDescriptorType.Flogi, header, payload[..length]);
        }
        else
        {
            int length = responder.LocalServiceParameters.WriteTo(payload, ElsCode.Plogi);
            SendFrame(login.Peer.VnMac, header, payload[..length], Sof.SofI3, Eof.EofT);
        }
    }

    private ushort NextOriginatorId()
    {
        ushort id = _nextOriginatorId;
        _nextOriginatorId = id == LastOriginatorId ? FirstOriginatorId : (ushort)(id + 1);
        return id;
    }

    private void Sweep()
    {
        try
        {
            _exchanges.ReleaseExpired(_time.GetTimestamp());
            var now = _time.GetUtcNow();
            List<PendingLogin>? due = null;
            lock (_loginLock)
            {
                foreach (var (ox, pending) in _logins)
                {
                    if (pending.Deadline <= now)
                    {
                        _logins.Remove(ox);
                        if (pending.Tries < LoginTries && !_ports.IsLoggedIn(pending.Peer.PortId))
                        {
                            (due ??= []).Add(pending.Step == LoginStep.Waiting ? pending with { Step = LoginStep.Flogi, Tries = 0 } : pending);
                        }
                        else if (pending.Step != LoginStep.Waiting)
                        {
                            Log.LoginTimedOut(_logger, Name, pending.Peer.PortId);
                        }
                    }
                }
            }

            foreach (var login in due ?? [])
            {
                SendLoginStep(login);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
        {
            Log.CoreCallFailed(_logger, Name, ex.Message);
        }
    }

    private void SendLogo(uint destinationId, MacAddress mac)
    {
        if (Volatile.Read(ref _responder) is not { } responder)
        {
            return;
        }

        ushort oxId;
        lock (_loginLock)
        {
            oxId = NextOriginatorId();
        }

        Span<byte> payload = stackalloc byte[LogoPayload.Length];
        int length = responder.WriteLogo(destinationId, oxId, payload, out var header);
        SendFrame(mac, header, payload[..length], Sof.SofI3, Eof.EofT);
    }

    // ---- frames --------------------------------------------------------------------------------------------------

    private uint LocalId => Volatile.Read(ref _localId);

    private void SendFrame(MacAddress destination, in FcFrameHeader header, ReadOnlySpan<byte> payload, byte sof, byte eof)
    {
        Span<byte> frame = stackalloc byte[FcoeFrame.MaxFrameLength];
        int length = FcoeFrame.Write(frame, destination, _localMac, null, sof, header, payload, eof);
        _link.Send(frame[..length]);
    }

    private Task ReceiveLoopAsync() =>
        Fcoe.Link.LinkReceiver.RunAsync(_link, _receiveBuffer, HandleFrame, ex => Log.FrameFailed(_logger, Name, ex), _stopping.Token);

    private enum LoginStep
    {
        Waiting,
        Flogi,
        Plogi,
    }

    private sealed record PendingLogin(Vn2VnPeer Peer, LoginStep Step, int Tries, DateTimeOffset Deadline);

    private static partial class Log
    {
        [LoggerMessage(EventId = FcoeEventIds.PortStarted, Level = LogLevel.Information, Message = "FCoE port {Port} starting on {Interface} ({Mode})")]
        public static partial void Started(ILogger logger, string port, string @interface, FcoeMode mode);

        [LoggerMessage(EventId = FcoeEventIds.PortUp, Level = LogLevel.Information, Message = "FCoE port {Port} up: N_Port_ID {PortId:x6}, MAC {Mac}")]
        public static partial void PortUp(ILogger logger, string port, uint portId, MacAddress mac);

        [LoggerMessage(EventId = FcoeEventIds.PortDown, Level = LogLevel.Warning, Message = "FCoE port {Port} lost N_Port_ID {PortId:x6}: every initiator is logged out")]
        public static partial void PortDown(ILogger logger, string port, uint portId);

        [LoggerMessage(EventId = FcoeEventIds.SessionOpened, Level = LogLevel.Information, Message = "FCoE port {Port}: session {Initiator} (N_Port_ID {PortId:x6}) opened, frames of up to {MaxPayload} bytes")]
        public static partial void SessionOpened(ILogger logger, string port, string initiator, uint portId, int maxPayload);

        [LoggerMessage(EventId = FcoeEventIds.SessionClosed, Level = LogLevel.Information, Message = "FCoE port {Port}: session {Initiator} (N_Port_ID {PortId:x6}) closed")]
        public static partial void SessionClosed(ILogger logger, string port, string initiator, uint portId);

        [LoggerMessage(EventId = FcoeEventIds.SessionRefused, Level = LogLevel.Warning, Message = "FCoE port {Port}: session {Initiator} refused: {Reason}")]
        public static partial void SessionRefused(ILogger logger, string port, string initiator, string reason);

        [LoggerMessage(EventId = FcoeEventIds.FrameDropped, Level = LogLevel.Debug, Message = "FCoE port {Port}: frame dropped ({Result})")]
        public static partial void FrameDropped(ILogger logger, string port, FcoeReadResult result);

        [LoggerMessage(EventId = FcoeEventIds.UnknownSender, Level = LogLevel.Information, Message = "FCoE port {Port}: FCP command from {PortId:x6}, which has no image pair: LOGO sent")]
        public static partial void UnknownSender(ILogger logger, string port, uint portId);

        [LoggerMessage(EventId = FcoeEventIds.DuplicateExchange, Level = LogLevel.Warning, Message = "FCoE port {Port}: FCP_CMND from {PortId:x6} on OX_ID {OxId:x4}, which is still open: dropped")]
        public static partial void DuplicateExchange(ILogger logger, string port, uint portId, ushort oxId);

        [LoggerMessage(EventId = FcoeEventIds.ExchangeAborted, Level = LogLevel.Information, Message = "FCoE port {Port}: ABTS from {PortId:x6} for OX_ID {OxId:x4} / RX_ID {RxId:x4}")]
        public static partial void ExchangeAborted(ILogger logger, string port, uint portId, ushort oxId, ushort rxId);

        [LoggerMessage(EventId = FcoeEventIds.TaskManagement, Level = LogLevel.Information, Message = "FCoE port {Port}: {Function} on LUN {Lun:x16} from {Initiator}: {Response}")]
        public static partial void TaskManagement(ILogger logger, string port, string initiator, TaskManagementFunction function, ulong lun, TaskManagementResponse response);

        [LoggerMessage(EventId = FcoeEventIds.DataMismatch, Level = LogLevel.Warning, Message = "FCoE port {Port}: write data from {PortId:x6} on OX_ID {OxId:x4} does not fit the {Expected} bytes asked for")]
        public static partial void DataMismatch(ILogger logger, string port, uint portId, ushort oxId, int expected);

        [LoggerMessage(EventId = FcoeEventIds.LoggedIn, Level = LogLevel.Information, Message = "FCoE port {Port}: logged in to {PortId:x6} (WWPN {PortName:x16})")]
        public static partial void LoggedIn(ILogger logger, string port, uint portId, ulong portName);

        [LoggerMessage(EventId = FcoeEventIds.LoginRejected, Level = LogLevel.Warning, Message = "FCoE port {Port}: {Request} to {PortId:x6} was rejected")]
        public static partial void LoginRejected(ILogger logger, string port, string request, uint portId);

        [LoggerMessage(EventId = FcoeEventIds.LoginTimedOut, Level = LogLevel.Warning, Message = "FCoE port {Port}: no answer from {PortId:x6} to our login")]
        public static partial void LoginTimedOut(ILogger logger, string port, uint portId);

        [LoggerMessage(EventId = FcoeEventIds.PortFrameFailed, Level = LogLevel.Error, Message = "FCoE port {Port}: handling a frame failed")]
        public static partial void FrameFailed(ILogger logger, string port, Exception exception);

        [LoggerMessage(EventId = FcoeEventIds.Registered, Level = LogLevel.Information, Message = "FCoE port {Port}: registered with the fabric's name server")]
        public static partial void Registered(ILogger logger, string port);

        [LoggerMessage(EventId = FcoeEventIds.RegistrationFailed, Level = LogLevel.Warning, Message = "FCoE port {Port}: registration with the fabric failed ({State})")]
        public static partial void RegistrationFailed(ILogger logger, string port, FabricServicesState state);

        [LoggerMessage(EventId = FcoeEventIds.CoreCallFailed, Level = LogLevel.Warning, Message = "FCoE port {Port}: a call into the core failed: {Reason}")]
        public static partial void CoreCallFailed(ILogger logger, string port, string reason);
    }
}
