// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Scst.Core;
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
/// <para>Per-task write state is guarded by <c>_taskLock</c>; the core is never called while it is held.</para>
/// </remarks>
internal sealed partial class IscsiConnection : ISessionTransport, IDisposable
{
    private const int BhsLength = Bhs.Length;
    private const int MaxDataInSegment = 256 * 1024;
    private static readonly byte[] s_padding = new byte[4];

    private readonly IscsiTargetDriver _driver;
    private readonly Socket _socket;
    private readonly EndPoint? _remote;
    private readonly EndPoint? _local;
    private readonly ILogger _logger;
    private readonly Lock _sendLock = new();
    private readonly byte[] _sendHeader = new byte[BhsLength];
    private readonly byte[] _senseSegment = new byte[2 + SenseData.MaxLength];
    private readonly Lock _taskLock = new();
    private readonly Dictionary<uint, IscsiTask> _tasks = [];
    private readonly Stack<IscsiTask> _freeTasks = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _window;

    private LoginStateMachine? _login;
    private NegotiatedParameters? _parameters;
    private IscsiPduReaderSettings _readerSettings = new(LoginNegotiator.DefaultMaxRecvDataSegmentLength);
    private ScsiSession? _session;
    private uint _statSn;
    private uint _expCmdSn;
    private int _inFlight;

    // CmdSNs of commands that an ABORT TASK named (by RefCmdSN) before they arrived; bounded, guarded by _taskLock.
    private const int MaxAbortedBeforeArrival = 64;
    private readonly HashSet<uint> _abortedBeforeArrival = [];
    private int _abortedBeforeArrivalCount;
    private uint _nextTargetTransferTag;
    private int _dataInLimit;
    private int _maxBurstLength;
    private int _closed;

    // The PDU being submitted, so that RequestWriteData, when the core calls it during Submit, can take the immediate
    // data straight from the receive pipe.
    private IscsiTask? _submitting;
    private ReadOnlySequence<byte> _submittingImmediate;

    public IscsiConnection(IscsiTargetDriver driver, Socket socket)
    {
        _driver = driver;
        _socket = socket;
        _remote = socket.RemoteEndPoint;
        _local = socket.LocalEndPoint;
        _logger = driver.Logger;
        _window = Math.Max(1, driver.Options.CommandWindow);
        _sendTimeoutMilliseconds = (int)Math.Min(int.MaxValue, Math.Max(1, driver.Options.RspTimeout) * 1000L);
    }

    public (string Initiator, ulong Isid)? SessionKey { get; private set; }

    public Task Completion => _completion.Task;

    /// <summary>The local (portal) address the connection came in on; null when the socket has none.</summary>
    private IPAddress? LocalAddress => (_local as IPEndPoint)?.Address;

    /// <summary>The target of the connection's Normal session, or null (login, Discovery).</summary>
    public ScsiTarget? Target => _session?.Target;

    public void Start() => _ = RunAsync();

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
        var stream = new NetworkStream(_socket, ownsSocket: false);
        PipeReader input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 65536, minimumReadSize: 16384, leaveOpen: true));
        _login = new LoginStateMachine(BuildNegotiationOptions(), new LoginCallbacks
        {
            TargetExists = name => _driver.Engine.FindTarget(IscsiTargetDriver.DriverName, name) is { } target && _driver.Serves(target, LocalAddress),
            InitiatorAllowed = (initiator, name) => _driver.Engine.FindTarget(IscsiTargetDriver.DriverName, name) is { } target && _driver.Admits(target, initiator, LocalAddress),
            BindSession = request =>
            {
                ushort? tsih = _driver.BindSession(this, request.InitiatorName, request.Isid, request.Tsih);
                if (tsih is not null)
                {
                    SessionKey = (request.InitiatorName, request.Isid);
                }

                return tsih;
            },
        }, (uint)_window) { Security = CreateLoginSecurity() };

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

                        open = HandlePdu(pdu);
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

    private TargetNegotiationOptions BuildNegotiationOptions()
    {
        IscsiTargetOptions o = _driver.Options;
        return new TargetNegotiationOptions
        {
            MaxRecvDataSegmentLength = o.MaxRecvDataSegmentLength,
            MaxBurstLength = o.MaxBurstLength,
            FirstBurstLength = Math.Min(o.FirstBurstLength, o.MaxBurstLength),
            MaxOutstandingR2T = 1,
            InitialR2T = o.InitialR2T,
            ImmediateData = o.ImmediateData,
            TargetPortalGroupTag = o.TargetPortalGroupTag,
            HeaderDigests = Digests.TryParse(o.HeaderDigest, out DigestSet header) ? header : DigestSet.None,
            DataDigests = Digests.TryParse(o.DataDigest, out DigestSet data) ? data : DigestSet.None,
        };
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

    /// <summary>Handles one PDU. Returns false when the connection must close.</summary>
    private bool HandlePdu(in IscsiPdu pdu)
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

        switch (opcode)
        {
            case IscsiOpcode.ScsiCommand:
                HandleScsiCommand(pdu);
                return true;
            case IscsiOpcode.DataOut:
                HandleDataOut(pdu);
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
                HandleLogout(pdu);
                return false;
            case IscsiOpcode.SnackRequest:
                // ErrorRecoveryLevel 0: SNACK is not supported (RFC 7143 section 11.16).
                SendReject(RejectReason.ProtocolError, pdu.Header.Bytes);
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
    /// A CmdSN outside [ExpCmdSN, MaxCmdSN] is silently ignored.
    /// </summary>
    private bool AcceptCmdSn(bool immediate, uint cmdSn)
    {
        if (immediate)
        {
            return true;
        }

        uint expected = Volatile.Read(ref _expCmdSn);
        uint max = MaxCmdSn(expected);
        if ((int)(cmdSn - expected) < 0 || (int)(cmdSn - max) > 0)
        {
            return false;
        }

        Volatile.Write(ref _expCmdSn, cmdSn + 1);
        return true;
    }

    /// <summary>The peer, the CmdSN window and the tasks in flight, for diagnostics.</summary>
    internal string Describe()
    {
        uint exp = Volatile.Read(ref _expCmdSn);
        string tasks;
        lock (_taskLock)
        {
            tasks = string.Join(", ", _tasks.Values.Select(t => $"ITT 0x{t.InitiatorTaskTag:x} requested {t.DataRequested} completed {t.DataCompleted}"));
        }

        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{_remote} {_session?.InitiatorName}: ExpCmdSN {exp} MaxCmdSN {MaxCmdSn(exp)} in flight {Volatile.Read(ref _inFlight)} tasks [{tasks}]");
    }

    private uint MaxCmdSn(uint expCmdSn) => expCmdSn + (uint)Math.Max(_window - Volatile.Read(ref _inFlight), 0) - 1;

    /// <summary>Ends the connection's I_T nexus in the core now; commands in flight still complete and release.</summary>
    public void EndScsiSession() => _session?.Close();

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

        // Commands still waiting for Data-Out will never get it: end them, so that they release their buffers.
        List<IscsiTask> waiting = [];
        lock (_taskLock)
        {
            foreach (IscsiTask t in _tasks.Values)
            {
                if (t.DataRequested && t.DataCompleted == 0)
                {
                    t.DataCompleted = 1;
                    waiting.Add(t);
                }
            }

            _tasks.Clear();
        }

        foreach (IscsiTask t in waiting)
        {
            t.Command?.OnWriteDataReceived(false);
        }

        StopKeepalive();
        _session?.Close();
        try
        {
            _socket.Dispose();
        }
        catch (ObjectDisposedException)
        {
        }

        _driver.OnConnectionClosed(this);
        Log.ConnectionClosed(_logger, _remote);
    }

    public void Dispose() => _abort.Dispose();

    private bool IsClosed => Volatile.Read(ref _closed) != 0;

    private IscsiTask RentTask()
    {
        lock (_taskLock)
        {
            if (_freeTasks.TryPop(out IscsiTask? t))
            {
                return t;
            }
        }

        var task = new IscsiTask();
        task.Reset();
        return task;
    }

    private void ReturnTask(IscsiTask task)
    {
        task.Reset();
        lock (_taskLock)
        {
            _freeTasks.Push(task);
        }
    }

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
