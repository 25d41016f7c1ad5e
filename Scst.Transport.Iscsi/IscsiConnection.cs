// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Scst.Core;
using Scst.Transport.Iscsi.Diagnostics;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Transport.Iscsi;

/// <summary>
/// One iSCSI connection (and, with MaxConnections=1, its session): the login phase, then the full feature phase.
/// </summary>
/// <remarks>
/// <para>Receive: one asynchronous loop parses PDUs in place from the pipe and hands SCSI commands to the core on the
/// same thread; a command that completes synchronously is answered before the loop reads on. The commands of one read
/// are one <see cref="SubmissionBatch"/>.</para>
/// <para>Send: any thread that finishes a command sends its response directly, under <c>_sendLock</c>, with one gather
/// write per PDU (header, data straight from the command's buffer, padding). StatSN, ExpCmdSN and MaxCmdSN are
/// assigned under the same lock, so they reach the wire in order.</para>
/// <para>Per-task write state is guarded by the session's <c>TaskLock</c>; the core is never called while it is held.</para>
/// </remarks>
internal sealed partial class IscsiConnection : IDisposable, IConnectionIdentity, ISubmissionBatchParticipant
{
    private const int BhsLength = Bhs.Length;
    private const int MaxDataInSegment = 256 * 1024;
    private static readonly byte[] s_padding = new byte[4];
    private static long s_lastConnectionId;

    private readonly IscsiTargetDriver _driver;
    private readonly Socket _socket;
    private readonly EndPoint? _remote;
    private readonly EndPoint? _local;
    private readonly ILogger _logger;
    private readonly Lock _sendLock = new();
    private readonly byte[] _sendHeader = new byte[BhsLength];
    private readonly byte[] _senseSegment = new byte[2 + SenseData.MaxLength];
    private readonly CancellationTokenSource _abort = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _connectionId = Interlocked.Increment(ref s_lastConnectionId);

    private LoginStateMachine? _login;
    private NegotiatedParameters? _parameters;
    private IscsiPduReaderSettings _readerSettings = new(LoginNegotiator.DefaultMaxRecvDataSegmentLength);
    private IscsiSession? _s;
    private IscsiSession? _binding;
    private bool _bindingIsNew;
    private ushort _cid;
    private ConnectionEnd _end = ConnectionEnd.Lost;
    private uint _statSn;
    private int _dataInLimit;
    private int _maxBurstLength;
    private int _closed;
    private Interop.ReceiveLoopStream? _receive;

    // The PDU being submitted, so that RequestWriteData, when the core calls it during Submit, can take the immediate
    // data straight from the receive pipe. Per thread: with several connections, a PDU that waited for its CmdSN is
    // submitted by whichever receive loop filled the gap.
    [ThreadStatic]
    private static IscsiTask? t_submitting;
    [ThreadStatic]
    private static ReadOnlySequence<byte> t_submittingImmediate;

    public IscsiConnection(IscsiTargetDriver driver, Socket socket, IscsiPortal? portal = null)
    {
        _driver = driver;
        _socket = socket;
        Portal = portal;
        _remote = socket.RemoteEndPoint;
        _local = socket.LocalEndPoint;
        _logger = driver.Logger;
        _sendTimeoutMilliseconds = SendTimeout(driver.Options.RspTimeout);
    }

    /// <summary>The portal the connection came in through.</summary>
    public IscsiPortal? Portal { get; }

    /// <summary>The target portal group tag of that portal.</summary>
    private ushort PortalGroupTag => Portal?.Tag ?? _driver.Options.TargetPortalGroupTag;

    /// <summary>The iSCSI settings of the session's target, or null (none, Discovery, login not done).</summary>
    private IscsiTargetSettings? TargetSettings => _s?.Key.Target is { } target ? _driver.SettingsOf(target) : null;

    /// <summary>The connection's CID (0 until the login has completed).</summary>
    internal ushort Cid => _cid;

    /// <summary>The core's I_T nexus of the connection's Normal session, or null (login, Discovery).</summary>
    private ScsiSession? Scsi => _s?.Scsi;

    public Task Completion => _completion.Task;

    /// <summary>The local (portal) address the connection came in on; null when the socket has none.</summary>
    private IPAddress? LocalAddress => (_local as IPEndPoint)?.Address;

    /// <summary>The target of the connection's Normal session, or null (login, Discovery).</summary>
    public ScsiTarget? Target => _s?.Scsi?.Target;

    EndPoint? IConnectionIdentity.Remote => _remote;

    EndPoint? IConnectionIdentity.Portal => _local;

    string? IConnectionIdentity.LoginInitiator => _login?.InitiatorName;

    SessionIdentity? IConnectionIdentity.Session => _s is { } s ? new SessionIdentity(s.Key.Initiator, s.Key.Target, s.Key.Isid, s.Tsih, _cid) : null;

    public void Start() => _ = RunAsync();

    private static int SendTimeout(int seconds) => (int)Math.Min(int.MaxValue, Math.Max(1, seconds) * 1000L);

    /// <summary>Drops the connection: the receive loop ends and cleans up.</summary>
    public void Abort()
    {
        try
        {
            _abort.Cancel();
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task RunAsync()
    {
        // One scope for the connection's life (not one per PDU): what is logged on its behalf names it.
        using IDisposable? scope = _logger.BeginScope(new ConnectionLogScope(_connectionId, this));
        Stream stream = _driver.Options.ReceiveMode == IscsiReceiveMode.ReceiveThreads
            ? _receive = _driver.ReceiveLoops.Next().Open(_socket)
            : new NetworkStream(_socket, ownsSocket: false);
        PipeReader input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 65536, minimumReadSize: 16384, leaveOpen: true));
        _login = new LoginStateMachine(BuildNegotiationOptions(), new LoginCallbacks
        {
            TargetExists = name => _driver.Engine.FindTarget(IscsiTargetDriver.DriverName, name) is { } target && _driver.Serves(target, LocalAddress),
            InitiatorAllowed = (initiator, name) => _driver.Engine.FindTarget(IscsiTargetDriver.DriverName, name) is { } target && _driver.Admits(target, initiator, LocalAddress),
            BindSession = request =>
            {
                IscsiSession? session = _driver.BindSession(request, PortalGroupTag);
                _binding = session;
                _bindingIsNew = request.Tsih == 0;
                return session?.Tsih;
            },
            BindRefusal = request => _driver.BindRefusal(request, PortalGroupTag),
            OptionsForTarget = name => _driver.SettingsOf(name) is { } settings ? BuildNegotiationOptions(settings) : null,
            Redirect = Redirect,
            SessionWindow = () => _binding is { Parameters: not null } joined && !_bindingIsNew ? (joined.ExpCmdSn, joined.MaxCmdSn(joined.ExpCmdSn)) : null,
        }, (uint)Math.Max(1, _driver.Options.CommandWindow)) { Security = CreateLoginSecurity() };

        try
        {
            bool open = true;
            while (open)
            {
                ReadResult read = await input.ReadAsync(_abort.Token).ConfigureAwait(false);
                NoteReceived();
                ReadOnlySequence<byte> buffer = read.Buffer;
                SubmissionBatch.Scope batch = SubmissionBatch.Open(); // the commands of one read are one batch
                try
                {
                    while (open)
                    {
                        PduReadResult result = IscsiPduReader.TryReadPdu(ref buffer, _readerSettings, out IscsiPdu pdu, out PduReadError error);
                        if (result == PduReadResult.NeedMoreData)
                        {
                            break;
                        }

                        CountDigests(result, pdu);

                        if (result == PduReadResult.ProtocolError && error == PduReadError.InvalidOpcode && _parameters is not null && pdu.WireLengthBytes > 0)
                        {
                            // The header is sound and says how long the PDU is (digests included): reject it and carry on
                            // (RFC 7143 section 11.17, reason "command not supported").
                            if (buffer.Length < pdu.WireLengthBytes)
                            {
                                break;
                            }

                            buffer = buffer.Slice(pdu.WireLengthBytes);
                            SendReject(RejectReason.CommandNotSupported, pdu.Header.Bytes);
                            continue;
                        }

                        if (result == PduReadResult.DataDigestError)
                        {
                            // The reader skipped the PDU; its header is sound (RFC 7143 section 7.8).
                            HandleDataDigestError(pdu);
                            continue;
                        }

                        if (result == PduReadResult.ProtocolError)
                        {
                            OnFramingError(pdu, error);
                            open = false;
                            break;
                        }

                        // Closed from another thread (a logout on another connection, a reinstatement): what is still in the
                        // buffer is not handled, so that no task is bound to a connection whose tasks were handed over.
                        open = !IsClosed && HandlePdu(pdu);
                    }

                    if (read.IsCompleted || read.IsCanceled)
                    {
                        open = false;
                    }
                }
                finally
                {
                    batch.Dispose();
                    input.AdvanceTo(buffer.Start, buffer.End);
                }
            }

            await SendHeldLoginFailureAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }
        catch (Exception ex)
        {
            Log.ConnectionFault(_logger, _remote, ex);
        }
        finally
        {
            await input.CompleteAsync().ConfigureAwait(false);
            await stream.DisposeAsync().ConfigureAwait(false);
            Close();
            _abort.Dispose();
            _completion.TrySetResult();
        }
    }

    /// <summary>What the target offers in the login: the driver's values, overridden by the target's own settings.</summary>
    private TargetNegotiationOptions BuildNegotiationOptions(IscsiTargetSettings? t = null)
    {
        IscsiTargetOptions o = _driver.Options;
        int maxBurst = t?.MaxBurstLength ?? o.MaxBurstLength;
        return new TargetNegotiationOptions
        {
            MaxRecvDataSegmentLength = t?.MaxRecvDataSegmentLength ?? o.MaxRecvDataSegmentLength,
            MaxBurstLength = maxBurst,
            FirstBurstLength = Math.Min(t?.FirstBurstLength ?? o.FirstBurstLength, maxBurst),
            MaxOutstandingR2T = 1,
            MaxConnections = Math.Clamp(t?.MaxConnections ?? o.MaxConnections, 1, 65_535),
            ErrorRecoveryLevel = Math.Clamp(t?.ErrorRecoveryLevel ?? o.ErrorRecoveryLevel, 0, 2),
            DefaultTime2Wait = Math.Clamp(o.DefaultTime2Wait, 0, 3600),
            DefaultTime2Retain = Math.Clamp(o.DefaultTime2Retain, 0, 3600),
            InitialR2T = t?.InitialR2T ?? o.InitialR2T,
            ImmediateData = t?.ImmediateData ?? o.ImmediateData,
            TargetPortalGroupTag = PortalGroupTag,
            TargetAlias = string.IsNullOrEmpty(t?.Alias) ? null : t.Alias,
            CommandWindow = t?.QueuedCommands ?? 0,
            HeaderDigests = Digests.TryParse(t?.HeaderDigest ?? o.HeaderDigest, out DigestSet header) ? header : DigestSet.None,
            DataDigests = Digests.TryParse(t?.DataDigest ?? o.DataDigest, out DigestSet data) ? data : DigestSet.None,
        };
    }

    /// <summary>The TargetAddress and kind of a login redirection configured for the target, or null.</summary>
    private (string Address, bool Permanent)? Redirect(string initiator, string target)
    {
        if (_driver.SettingsOf(target)?.Redirect is not { Length: > 0 } redirect
            || !IscsiTargetSettings.TryParseRedirect(redirect, out string address, out bool permanent))
        {
            return null;
        }

        Log.LoginRedirected(_logger, initiator, target, address, permanent ? "permanent" : "temporary");
        return (address, permanent);
    }

    private void OnFramingError(in IscsiPdu pdu, PduReadError error)
    {
        Log.ProtocolError(_logger, _remote, error.ToString());
        if (_parameters is not null && error != PduReadError.HeaderDigestMismatch)
        {
            // The header itself is sound: say why before dropping the connection (RFC 7143 section 11.17).
            SendReject(error == PduReadError.InvalidOpcode ? RejectReason.CommandNotSupported : RejectReason.ProtocolError, pdu.Header.Bytes);
        }
    }

    /// <summary>
    /// Handles one PDU; <paramref name="dataDigestFailed"/> when its data failed its digest (a SCSI Command whose CmdSN
    /// still counts). Returns false when the connection must close.
    /// </summary>
    private bool HandlePdu(in IscsiPdu pdu, bool dataDigestFailed = false)
    {
        IscsiOpcode opcode = pdu.Header.Opcode;
        if (_parameters is null)
        {
            if (opcode != IscsiOpcode.LoginRequest)
            {
                Log.ProtocolError(_logger, _remote, $"opcode {opcode} during login");
                return false;
            }

            return HandleLogin(pdu);
        }

        IscsiSession s = _s!;
        if (s.ErrorRecoveryLevel > 0 && opcode != IscsiOpcode.LoginRequest)
        {
            AcknowledgeStatus(pdu.Header.ExpStatSn);
        }

        // An answer to a NOP-In ping of ours (a Target Transfer Tag of ours) carries no CmdSN of its own.
        if (s.Ordered && !pdu.Header.Immediate && opcode is IscsiOpcode.ScsiCommand or IscsiOpcode.NopOut or IscsiOpcode.TextRequest
            or IscsiOpcode.TaskManagementRequest or IscsiOpcode.LogoutRequest
            && !(opcode == IscsiOpcode.NopOut && pdu.Header.AsNopOut().TargetTransferTag != IscsiTask.ReservedTag))
        {
            switch (s.Sequence(this, pdu, pdu.Header.CmdSn, dataDigestFailed))
            {
                case CmdSnVerdict.Deliver:
                    bool open;
                    try
                    {
                        open = Dispatch(pdu, dataDigestFailed);
                    }
                    finally
                    {
                        s.DeliverDeferred();
                    }

                    return open;
                case CmdSnVerdict.Old when opcode == IscsiOpcode.ScsiCommand:
                    OnRetriedCommand(pdu);
                    return true;
                default:
                    return true;
            }
        }

        return Dispatch(pdu, dataDigestFailed);
    }

    /// <summary>
    /// Handles a PDU that waited for its CmdSN, on the thread that delivered the one before it; a logout in it ends this
    /// connection's receive loop.
    /// </summary>
    internal void HandleDeferred(in IscsiPdu pdu, bool dataDigestFailed)
    {
        if (!IsClosed && !Dispatch(pdu, dataDigestFailed))
        {
            Abort();
        }
    }

    /// <summary>A Data-Out that came while its command waited for its CmdSN, handled right after the command.</summary>
    internal void HandleDeferredDataOut(in IscsiPdu pdu)
    {
        if (!IsClosed)
        {
            HandleDataOut(pdu, dataDigestFailed: false, replayed: true);
        }
    }

    private bool Dispatch(in IscsiPdu pdu, bool dataDigestFailed = false)
    {
        switch (pdu.Header.Opcode)
        {
            case IscsiOpcode.ScsiCommand:
                HandleScsiCommand(pdu, dataDigestFailed);
                return true;
            case IscsiOpcode.DataOut:
                HandleDataOut(pdu, dataDigestFailed);
                return true;
            case IscsiOpcode.NopOut:
                HandleNopOut(pdu);
                return true;
            case IscsiOpcode.TextRequest:
                HandleText(pdu);
                return true;
            case IscsiOpcode.TaskManagementRequest:
                HandleTaskManagement(pdu);
                return true;
            case IscsiOpcode.LogoutRequest:
                return HandleLogout(pdu);
            case IscsiOpcode.SnackRequest:
                HandleSnack(pdu);
                return true;
            case IscsiOpcode.LoginRequest:
                Log.ProtocolError(_logger, _remote, "Login Request in full feature phase");
                SendReject(RejectReason.ProtocolError, pdu.Header.Bytes);
                return false;
            default:
                SendReject(RejectReason.CommandNotSupported, pdu.Header.Bytes);
                return true;
        }
    }

    /// <summary>
    /// Checks a non-immediate command's CmdSN against the window (RFC 7143 section 4.2.2.1) and advances ExpCmdSN.
    /// A CmdSN outside [ExpCmdSN, MaxCmdSN] is silently ignored. In ordered mode the session checked it already.
    /// </summary>
    private bool AcceptCmdSn(bool immediate, uint cmdSn) => _s!.AcceptCmdSn(immediate, cmdSn);

    /// <summary>The peer, the CmdSN window and the tasks in flight, for diagnostics.</summary>
    internal string Describe()
    {
        if (_s is not { } s)
        {
            return $"{_remote}: logging in";
        }

        uint exp = s.ExpCmdSn;
        string tasks;
        lock (s.TaskLock)
        {
            tasks = string.Join(", ", s.Tasks.Values.Where(t => t.Connection == this).Select(t => $"ITT 0x{t.InitiatorTaskTag:x} requested {t.DataRequested} completed {t.DataCompleted}"));
        }

        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{_remote} {Scsi?.InitiatorName}: ExpCmdSN {exp} MaxCmdSN {s.MaxCmdSn(exp)} in flight {s.InFlight} tasks [{tasks}]");
    }

    private uint ExpCmdSnNow => _s!.ExpCmdSn;

    private uint MaxCmdSn(uint expCmdSn) => _s!.MaxCmdSn(expCmdSn);

    /// <summary>
    /// Ends the connection's I_T nexus in the core now (its initiator dropped it); commands in flight still complete and
    /// release. A session that survives its connections (ErrorRecoveryLevel 2) is left to its DefaultTime2Retain.
    /// </summary>
    public void EndScsiSession()
    {
        if (_s is { ErrorRecoveryLevel: < 2 } s)
        {
            s.End();
        }
    }

    /// <summary>
    /// Whether the initiator has already closed this connection (its FIN is queued, not yet read by the receive loop).
    /// </summary>
    public bool PeerHasClosed()
    {
        return Interop.PeerProbe.HasClosed(_socket);
    }

    private void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        StopKeepalive();
        StopDataOutTimer();
        Volatile.Read(ref _receive)?.Abandon(); // a read waiting in a receive loop would not learn of the close
        try
        {
            _socket.Dispose();
        }
        catch (ObjectDisposedException)
        {
        }

        _driver.OnConnectionClosed(this);
        if (_s is { } s)
        {
            s.OnConnectionClosed(_cid, this, _end);
        }
        else if (_binding is { } binding && _bindingIsNew && _parameters is null)
        {
            // A new session bound at the end of a login that then failed: it never started.
            binding.End();
        }

        Log.ConnectionClosed(_logger, _remote);
    }

    /// <summary>
    /// Closes the connection now, on the caller's thread, because a new connection of its session took its CID: its
    /// tasks are the session's to hand over before the new connection's first TASK REASSIGN arrives.
    /// </summary>
    public void CloseForReinstatement()
    {
        _end = ConnectionEnd.RemovedForRecovery;
        Abort();
        Close();
    }

    /// <summary>Closes the connection now, on the caller's thread, as a logout on another connection of its session asked.</summary>
    public void CloseByLogout(ConnectionEnd how)
    {
        _end = how;
        Abort();
        Close();
    }

    public void Dispose() => _abort.Dispose();

    internal bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>Whether the connection is closing or closed (dropped, logged out, its session ended).</summary>
    internal bool IsClosing => IsClosed || _abort.IsCancellationRequested;

    /// <summary>The initiator's address and port.</summary>
    internal IPEndPoint? RemoteEndPoint => _remote as IPEndPoint;

    /// <summary>The portal address and port the connection came in on.</summary>
    internal IPEndPoint? LocalEndPoint => _local as IPEndPoint;

    private static string FormatIsid(ulong isid) => isid.ToString("x12", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The iSCSI TransportID of the initiator port (SPC-4 section 7.6.4.6, format 01b: name, ",i,0x", ISID).</summary>
    private static byte[] BuildTransportId(string initiatorName, ulong isid)
    {
        string port = $"{initiatorName},i,0x{FormatIsid(isid)}";
        int length = Encoding.UTF8.GetByteCount(port) + 1;
        int padded = (length + 3) & ~3;
        byte[] id = new byte[4 + padded];
        id[0] = 0x40 | 0x05;
        BinaryPrimitives.WriteUInt16BigEndian(id.AsSpan(2), (ushort)padded);
        Encoding.UTF8.GetBytes(port, id.AsSpan(4));
        return id;
    }
}
