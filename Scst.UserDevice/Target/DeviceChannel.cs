// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Scst.Core;
using Scst.UserDevice.Native;
using Scst.UserDevice.Protocol;

namespace Scst.UserDevice.Target;

/// <summary>
/// One connection from a device process: one device (SCST: one file descriptor, one device). Requests go out
/// synchronously from the thread that makes them (one send under a lock, no hop; the EXECs of one
/// <see cref="SubmissionBatch"/> leave together when it closes); replies come in on one receive loop,
/// which completes the waiting primitive inline, so the response goes to the initiator from that thread. The end of the
/// connection, for whatever reason, is the death of the device: pending EXECs end with LOGICAL UNIT NOT SUPPORTED, the
/// device's LUNs are removed, the device is unregistered, and the shared region goes once every slot is back.
/// </summary>
internal sealed class DeviceChannel : ISubmissionBatchParticipant
{
    private const int EEXIST = 17;
    private const int EINVAL = 22;
    private const int ENOMEM = 12;
    private const int ReceiveBufferSize = 2 * Frame.MaxMessageLength;
    private const int HeldBufferSize = 64 * ExecRequest.Length;

    private static readonly CommandOutcome s_gone = CommandOutcome.CheckCondition(SenseCode.LunNotSupported);

    private readonly Socket _socket;
    private readonly ScstEngine _engine;
    private readonly UserDeviceOptions _options;
    private readonly ILogger _logger;
    private readonly int _pid;
    private readonly Lock _sendLock = new();
    private readonly ConcurrentDictionary<(ScsiSession Session, int Lun), ulong> _sessions = new();
    private readonly ConcurrentDictionary<(ScsiSession Session, TaskManagementFunction Function), ulong> _functions = new();
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<int>> _functionWaits = new();
    private PendingExecTable? _pending;
    private ScsiDevice? _device;
    private SharedRegion? _region;
    private bool _onFreeCall;
    private readonly byte[] _held = new byte[HeldBufferSize]; // EXECs of open batches, guarded by _sendLock
    private int _heldLength;
    private long _nextHandle;
    private bool _dead;

    public DeviceChannel(Socket socket, int pid, ScstEngine engine, UserDeviceOptions options, ILogger logger)
    {
        _socket = socket;
        _pid = pid;
        _engine = engine;
        _options = options;
        _logger = logger;
    }

    /// <summary>The device, once registered.</summary>
    public ScsiDevice? Device => _device;

    /// <summary>The device while it is served: registered, and its connection not ended. For metrics (read without a lock).</summary>
    public ScsiDevice? ServedDevice => Volatile.Read(ref _dead) ? null : _device;

    /// <summary>The device's requests sent and not yet finished (0 before registration).</summary>
    public int OutstandingRequests => _pending?.Outstanding ?? 0;

    /// <summary>The device's requests finished: answered by the device process, or ended with the connection.</summary>
    public long FinishedRequests => _pending?.Finished ?? 0;

    /// <summary>Closes the connection (the target is stopping); the receive loop then ends and cleans up.</summary>
    public void Abort()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// Serves the connection until it ends, then handles the device's death. Runs on a thread of its own: a blocking
    /// receive completes replies on this thread without the socket engine's hop to a pool thread, which halves the
    /// wake-ups per command (one thread per device process, not per initiator connection).
    /// </summary>
    public void Run(CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[ReceiveBufferSize];
        var descriptors = new Queue<int>();
        using CancellationTokenRegistration stopping = cancellationToken.Register(Abort);
        int filled = 0;
        string reason = "the device process closed the connection";
        bool malformed = false;
        try
        {
            while (true)
            {
                int n = UnixInterop.ReceiveWithDescriptors(_socket, buffer.AsSpan(filled), descriptors, wait: true);
                if (descriptors.Count > 0)
                {
                    while (descriptors.TryDequeue(out int fd))
                    {
                        UnixInterop.Close(fd);
                    }

                    malformed = true;
                    reason = "the device process sent a file descriptor";
                    break;
                }

                if (n <= 0)
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        reason = "the target is stopping";
                    }

                    break;
                }

                filled += n;
                int position = 0;
                string? problem = null;
                bool stop = false;
                while (!stop)
                {
                    int length = Frame.TryRead(buffer.AsSpan(position, filled - position), out MessageHeader header, out problem);
                    if (length <= 0)
                    {
                        break;
                    }

                    problem = Dispatch(header, buffer.AsSpan(position + Frame.HeaderLength, length - Frame.HeaderLength), out stop);
                    if (problem is not null)
                    {
                        break;
                    }

                    position += length;
                }

                if (problem is not null)
                {
                    malformed = true;
                    reason = problem;
                    break;
                }

                if (stop)
                {
                    reason = _device is null ? "registration refused" : "the device process unregistered";
                    break;
                }

                buffer.AsSpan(position, filled - position).CopyTo(buffer);
                filled -= position;
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            reason = $"the connection failed ({ex.Message})";
        }
        finally
        {
            DieAsync(reason, malformed).GetAwaiter().GetResult();
        }
    }

    // Handles one message; returns what was wrong with it, or null. stop: end the connection without an error.
    private string? Dispatch(in MessageHeader header, ReadOnlySpan<byte> body, out bool stop)
    {
        stop = false;
        if ((header.Flags & ~MessageFlags.None) != 0)
        {
            return $"message type 0x{(ushort)header.Type:X2} has flags 0x{(ushort)header.Flags:X4}; a device process sends no descriptors";
        }

        if (_device is null)
        {
            if (header.Type != MessageType.Register)
            {
                return $"message type 0x{(ushort)header.Type:X2} before REGISTER";
            }

            RegisterRequest? request = RegisterRequest.Decode(body);
            if (request is null)
            {
                return "REGISTER body is malformed";
            }

            stop = !Register(request);
            return null;
        }

        switch (header.Type)
        {
            case MessageType.ExecReply or MessageType.ParseReply:
                return CompleteExec(header.Type, header.Handle, body);
            case MessageType.AttachReply when body.Length == 4:
                int result = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(body);
                if (result != 0)
                {
                    Log.AttachRefused(_logger, _device.Name, header.Handle, result);
                }

                return null;
            case MessageType.TaskManagementDoneReply when body.Length == 4:
                // A late answer (after the timeout) names a function that is no longer waited for: ignored.
                if (_functionWaits.TryRemove(header.Handle, out TaskCompletionSource<int>? wait))
                {
                    wait.TrySetResult(System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(body));
                }

                return null;
            case MessageType.CapacityChanged when body.Length == 8:
                ulong blocks = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(body);
                if (blocks is 0 or > long.MaxValue / 65536)
                {
                    return $"CAPACITY_CHANGED to {blocks} blocks";
                }

                if (_device is not UserBlockDevice disk)
                {
                    return "CAPACITY_CHANGED from a device that is not a disk";
                }

                disk.SetBlockCount((long)blocks);
                Log.CapacityChanged(_logger, disk.Name, (long)blocks);
                _engine.NotifyCapacityChanged(disk);
                return null;
            case MessageType.Unregister when body.IsEmpty:
                stop = true;
                return null;
            case MessageType.Register:
                return "a second REGISTER on the same connection";
            default:
                return $"unexpected message type 0x{(ushort)header.Type:X2} with a {body.Length}-byte body";
        }
    }

    private string? CompleteExec(MessageType type, ulong handle, ReadOnlySpan<byte> body)
    {
        PendingExec? entry = _pending!.Find(handle);
        if (entry is null || (entry.Answer?.ReplyType ?? MessageType.ExecReply) != type)
        {
            return $"{(type == MessageType.ParseReply ? "PARSE_REPLY" : "EXEC_REPLY")} for unknown handle 0x{handle:X}";
        }

        if (!ExecReply.TryDecode(body, out byte status, out ReadOnlySpan<byte> sense, out int responseLength, out byte flags))
        {
            return "EXEC_REPLY body is malformed";
        }

        if (status == (byte)ScsiStatus.Good)
        {
            if (entry.Answer?.Accept(responseLength, flags) is { } wrong)
            {
                return wrong;
            }

            if (entry.SetsResponseLength)
            {
                ScsiCommand command = entry.Command!;
                if (responseLength < 0 || responseLength > command.DataLength)
                {
                    return $"EXECUTE_CDB reply with a response of {responseLength} bytes to a {command.DataLength}-byte buffer";
                }

                command.SetResponseLength(responseLength);
            }
        }

        CommandOutcome outcome;
        switch (status)
        {
            case (byte)ScsiStatus.Good:
                outcome = CommandOutcome.Good;
                break;
            case (byte)ScsiStatus.CheckCondition:
                outcome = SenseData.TryReadCode(sense, out SenseCode code)
                    ? CommandOutcome.CheckCondition(code)
                    : CommandOutcome.CheckCondition(SenseCode.InternalTargetFailure);
                break;
            case (byte)ScsiStatus.Busy or (byte)ScsiStatus.ReservationConflict or (byte)ScsiStatus.TaskSetFull:
                outcome = CommandOutcome.FromStatus((ScsiStatus)status);
                break;
            default:
                return $"EXEC_REPLY status 0x{status:X2}";
        }

        entry.TryComplete(outcome);
        return null;
    }

    // REGISTER: validate, create the region and the device, register it, answer with the memfd. False when refused.
    private bool Register(RegisterRequest request)
    {
        string? invalid = Validate(request);
        if (invalid is not null)
        {
            Refuse(invalid.StartsWith("EEXIST", StringComparison.Ordinal) ? -EEXIST : -EINVAL, invalid);
            return false;
        }

        long requested = request.RegionSize == 0 ? _options.DefaultRegionSize : (long)Math.Min(request.RegionSize, (ulong)long.MaxValue);
        long size = Math.Clamp(requested, SharedRegion.MinSlotSize, _options.MaxRegionSize);
        SharedRegion region;
        try
        {
            region = new SharedRegion("scst-user-" + request.Name, size, _engine.Options.MaxTransferLength);
        }
        catch (IOException ex)
        {
            Refuse(-ENOMEM, $"cannot create the shared region: {ex.Message}");
            return false;
        }

        DeviceIdentity identity = DeviceIdentity.FromName(request.Name);
        identity = identity with
        {
            VendorId = string.IsNullOrEmpty(request.Vendor) ? "SCST_USR" : request.Vendor,
            ProductId = string.IsNullOrEmpty(request.Product) ? request.Name.Length > 16 ? request.Name[..16] : request.Name : request.Product,
            ProductRevision = string.IsNullOrEmpty(request.Revision) ? identity.ProductRevision : request.Revision,
            SerialNumber = string.IsNullOrEmpty(request.Serial) ? identity.SerialNumber : request.Serial,
        };
        ScsiDevice device = request.DeviceType == 0
            ? new UserBlockDevice(request, identity, region, this)
            : new UserGenericDevice(request, identity, region, this);
        _pending = new PendingExecTable(region.SlotCount + 256);
        _region = region;
        _onFreeCall = (request.Flags & RegisterFlags.OnFreeCommandCall) != 0;
        if (_onFreeCall)
        {
            region.OnFree = SendOnFree;
        }

        // Registered and answered under the send lock: nothing for the device (ATTACH_SESS) leaves before its REGISTER_REPLY.
        lock (_sendLock)
        {
            try
            {
                _engine.RegisterDevice(device);
            }
            catch (ArgumentException ex)
            {
                region.Close();
                Refuse(-EEXIST, ex.Message);
                return false;
            }

            _device = device;
            Span<byte> reply = stackalloc byte[1100];
            int length = new RegisterReply(0, (ulong)region.Size, string.Empty).Encode(reply);
            try
            {
                UnixInterop.SendWithDescriptor(_socket, reply[..length], region.Descriptor);
            }
            catch (SocketException)
            {
                _dead = true;
            }
        }

        Log.Registered(_logger, device.Name, _pid, (long)request.BlockCount, device.BlockSize, region.Size >> 20, region.SlotCount);
        return true;
    }

    private string? Validate(RegisterRequest r)
    {
        if (r.Version != Frame.ProtocolVersion)
        {
            return $"protocol version {r.Version} is not supported (this target speaks {Frame.ProtocolVersion})";
        }

        if (r.DeviceType > 0x1E)
        {
            return $"device type {r.DeviceType} is not a peripheral device type (0 to 30)";
        }

        if (r.ParseType > 2)
        {
            return $"parse type {r.ParseType} is not 0 (STANDARD), 1 (CALL) or 2 (EXCEPTION)";
        }

        if (r.DeviceType != 0 && r.ParseType == 0)
        {
            return $"a device of type {r.DeviceType} needs parse type CALL or EXCEPTION: the core has a command set for disks (type 0) only";
        }

        if (r.BlockSize < 512 || r.BlockSize > 65536 || (r.BlockSize & (r.BlockSize - 1)) != 0)
        {
            return $"block size {r.BlockSize} is not a power of two from 512 to 65536";
        }

        if ((r.DeviceType == 0 && r.BlockCount == 0) || r.BlockCount > (ulong)(long.MaxValue / r.BlockSize))
        {
            return $"block count {r.BlockCount} is out of range";
        }

        if (string.IsNullOrEmpty(r.Name) || r.Name.Contains('/', StringComparison.Ordinal) || r.Name.Contains('.', StringComparison.Ordinal) || Encoding.UTF8.GetByteCount(r.Name) > 64)
        {
            return $"device name '{r.Name}' is invalid: 1 to 64 bytes, no '/' and no '.'";
        }

        if (!IsAscii(r.Vendor, 8) || !IsAscii(r.Product, 16) || !IsAscii(r.Revision, 4) || !IsAscii(r.Serial, 64))
        {
            return "vendor (8), product (16), revision (4) and serial (64) must be printable ASCII of at most the lengths given";
        }

        if (r.Tst > 1 || r.QueueAlgorithm > 1 || r.Qerr is 2 or > 3 || r.Tas > 1 || r.Swp > 1 || r.DSense > 1)
        {
            return "tst, queue_alg, tas, swp and d_sense are 0 or 1; qerr is 0, 1 or 3";
        }

        if (_engine.FindDevice(r.Name) is not null)
        {
            return $"EEXIST: a device named '{r.Name}' already exists";
        }

        return null;

        static bool IsAscii(string s, int max) => s.Length <= max && s.All(c => c is >= ' ' and <= '~');
    }

    private void Refuse(int errno, string reason)
    {
        Log.RegistrationRefused(_logger, _pid, errno, reason);
        Span<byte> reply = stackalloc byte[1100];
        int length = new RegisterReply(errno, 0, reason).Encode(reply);
        Send(reply[..length]);
    }

    /// <summary>
    /// Sends an EXEC for a primitive of the device and returns the task its reply completes. The command whose
    /// ExecuteAsync is on the stack, if any, lends the EXEC its CDB, session and task attribute.
    /// </summary>
    public ValueTask<CommandOutcome> ExecAsync(ExecOperation operation, long offset, long length, long bufferOffset, bool fua, RegionSlot? slot, ExecAnswer? answer = null) =>
        RequestAsync(MessageType.Exec, operation, fua ? ExecRequest.FuaFlag : (byte)0, offset, length, bufferOffset, slot, answer, UserBlockDevice.CurrentCommand, setsResponseLength: false);

    /// <summary>
    /// Sends EXECUTE_CDB for a command the device decoded: its CDB, its buffer in the region and the direction of its
    /// data. The reply's response length becomes the length of a read's response.
    /// </summary>
    public ValueTask<CommandOutcome> ExecuteCdbAsync(ScsiCommand command)
    {
        long bufferOffset = 0;
        RegionSlot? slot = null;
        if (command.Cdb.Length > 16 || (command.DataLength > 0 && !_region!.TryLocate(command.Data, out bufferOffset, out slot)))
        {
            return new(CommandOutcome.CheckCondition(SenseCode.InvalidOpcode));
        }

        byte flags = (byte)((int)command.Direction << ExecRequest.DirectionShift);
        return RequestAsync(MessageType.Exec, ExecOperation.ExecuteCdb, flags, 0, command.Data.Length, bufferOffset, slot, null, command,
            setsResponseLength: command.Direction == DataDirection.Read);
    }

    /// <summary>Asks the device process to decode a command (PARSE) and waits for its PARSE_REPLY.</summary>
    public async ValueTask<CdbParseResult> ParseAsync(ScsiCommand command, CdbParseResult proposal)
    {
        if (command.Cdb.Length > 16)
        {
            return proposal; // PARSE carries 16 CDB bytes; longer CDBs stay with the core
        }

        byte offer = proposal.IsAccepted
            ? (byte)((int)proposal.Direction | (proposal.WritesMedium ? ParseRequest.WritesMediumFlag : 0) | ParseRequest.KnownFlag)
            : (byte)0;
        var answer = new ParseAnswer();
        CommandOutcome outcome = await RequestAsync(MessageType.Parse, 0, offer, command.ExpectedTransferLength, proposal.DataLength,
            (long)command.ExpectedDirection, null, answer, command, setsResponseLength: false).ConfigureAwait(false);
        return outcome.IsGood ? CdbParseResult.Accept(answer.Direction, answer.DataLength, answer.WritesMedium) : CdbParseResult.Refuse(outcome);
    }

    // Sends one request (EXEC or PARSE) and returns the task its reply completes. The command, when there is one, lends
    // the request its CDB, session and task attribute.
    private ValueTask<CommandOutcome> RequestAsync(
        MessageType type, ExecOperation operation, byte flags, long offset, long length, long bufferOffset, RegionSlot? slot, ExecAnswer? answer,
        ScsiCommand? command, bool setsResponseLength)
    {
        PendingExec? entry = _pending!.Rent(command, answer, setsResponseLength);
        if (entry is null)
        {
            return new(CommandOutcome.FromStatus(ScsiStatus.Busy));
        }

        ulong handle = entry.Handle;
        ValueTask<CommandOutcome> task = entry.Task;
        ulong session = 0;
        ReadOnlySpan<byte> cdb = default;
        byte attribute = 0;
        if (command is not null)
        {
            _sessions.TryGetValue((command.Session, LunAddress.Decode(command.Lun)), out session);
            cdb = command.Cdb;
            attribute = (byte)command.Attribute;
            if (slot is not null && _onFreeCall)
            {
                slot.Command = command;
                slot.ExecHandle = handle;
            }
        }

        Span<byte> message = stackalloc byte[ExecRequest.Length];
        ExecRequest.Encode(message, type, handle, session, operation, flags, cdb, attribute, offset, length, bufferOffset);
        if (!(SubmissionBatch.IsOpen ? Hold(message) : Send(message)))
        {
            entry.TryComplete(s_gone);
        }

        return task;
    }

    /// <summary>The bytes of EXECs held for a batch that has not closed yet.</summary>
    public int HeldBytes
    {
        get
        {
            lock (_sendLock)
            {
                return _heldLength;
            }
        }
    }

    /// <summary>Sends the EXECs held during a batch, in one send.</summary>
    public void FlushBatch() => Send(default);

    // Keeps an EXEC until the batch on this thread closes; a full buffer goes out first.
    private bool Hold(ReadOnlySpan<byte> message)
    {
        lock (_sendLock)
        {
            if (_dead)
            {
                return false;
            }

            if (_heldLength + message.Length > _held.Length && !SendLocked(default))
            {
                return false;
            }

            message.CopyTo(_held.AsSpan(_heldLength));
            _heldLength += message.Length;
        }

        SubmissionBatch.Join(this);
        return true;
    }

    public void AttachSession(ScsiSession session, LunMapping mapping)
    {
        ulong handle = (ulong)Interlocked.Increment(ref _nextHandle);
        _sessions[(session, mapping.Lun)] = handle;
        byte[] buffer = new byte[2048];
        int length = new AttachSession(handle, mapping.Lun, mapping.IsWriteProtected, Truncate(session.InitiatorName), Truncate(session.Target.Name)).Encode(buffer);
        Send(buffer.AsSpan(0, length));

        static string Truncate(string s) => s.Length > 256 ? s[..256] : s;
    }

    public void DetachSession(ScsiSession session, LunMapping mapping)
    {
        if (_sessions.TryRemove((session, mapping.Lun), out ulong handle))
        {
            Span<byte> message = stackalloc byte[Frame.HeaderLength];
            SmallMessages.EncodeEmpty(message, MessageType.DetachSession, handle);
            Send(message);
        }
    }

    public void TaskManagementReceived(TaskManagementFunction function, ScsiSession session, ScsiCommand? command)
    {
        ulong handle = (ulong)Interlocked.Increment(ref _nextHandle);
        _functions[(session, function)] = handle;
        Span<byte> message = stackalloc byte[Frame.HeaderLength + TaskManagementMessage.BodyLength];
        MessageFor(handle, function, session, command).Encode(message, MessageType.TaskManagementReceived);
        Send(message);
    }

    public async ValueTask TaskManagementDoneAsync(TaskManagementFunction function, ScsiSession session)
    {
        if (!_functions.TryRemove((session, function), out ulong handle))
        {
            handle = (ulong)Interlocked.Increment(ref _nextHandle);
        }

        var wait = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        _functionWaits[handle] = wait;
        byte[] message = new byte[Frame.HeaderLength + TaskManagementMessage.BodyLength];
        MessageFor(handle, function, session, null).Encode(message, MessageType.TaskManagementDone);
        if (!Send(message))
        {
            _functionWaits.TryRemove(handle, out _);
            return;
        }

        try
        {
            await wait.Task.WaitAsync(_options.TaskManagementTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.TaskManagementTimeout(_logger, _device?.Name ?? "?", function.ToString(), _options.TaskManagementTimeout.TotalSeconds);
        }
        finally
        {
            _functionWaits.TryRemove(handle, out _);
        }
    }

    private TaskManagementMessage MessageFor(ulong handle, TaskManagementFunction function, ScsiSession session, ScsiCommand? command)
    {
        ulong sessionHandle = 0;
        int lun = -1;
        if (command is not null)
        {
            lun = LunAddress.Decode(command.Lun);
            _sessions.TryGetValue((session, lun), out sessionHandle);
        }
        else
        {
            foreach (KeyValuePair<(ScsiSession Session, int Lun), ulong> pair in _sessions)
            {
                if (pair.Key.Session == session)
                {
                    sessionHandle = pair.Value;
                    lun = pair.Key.Lun;
                    break;
                }
            }
        }

        ulong commandHandle = command is null ? 0 : _pending!.HandleOf(command);
        return new TaskManagementMessage(handle, (uint)function, lun, sessionHandle, commandHandle);
    }

    private void SendOnFree(RegionSlot slot)
    {
        Span<byte> message = stackalloc byte[Frame.HeaderLength + 4];
        SmallMessages.EncodeOnFree(message, slot.ExecHandle, (byte)slot.Command!.Status, slot.Command.IsAborted);
        Send(message);
    }

    // One send under the lock, after any held EXECs so that messages leave in the order they were made. A failed send
    // ends the connection; the receive loop then handles the death (and ends the held EXECs with the pending ones).
    private bool Send(ReadOnlySpan<byte> message)
    {
        lock (_sendLock)
        {
            return SendLocked(message);
        }
    }

    private bool SendLocked(ReadOnlySpan<byte> message)
    {
        if (_dead)
        {
            return false;
        }

        try
        {
            if (_heldLength > 0 && !message.IsEmpty && _heldLength + message.Length <= _held.Length)
            {
                message.CopyTo(_held.AsSpan(_heldLength));
                _heldLength += message.Length;
                message = default;
            }

            if (_heldLength > 0)
            {
                SendAll(_held.AsSpan(0, _heldLength));
                _heldLength = 0;
            }

            SendAll(message);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            _dead = true;
            _heldLength = 0;
            Abort();
            return false;
        }
    }

    private void SendAll(ReadOnlySpan<byte> message)
    {
        while (!message.IsEmpty)
        {
            int n = _socket.Send(message, SocketFlags.None);
            message = message[n..];
        }
    }

    private async Task DieAsync(string reason, bool malformed)
    {
        lock (_sendLock)
        {
            _dead = true;
        }

        Abort();
        _socket.Dispose();
        ScsiDevice? device = _device;
        if (malformed)
        {
            Log.MalformedInput(_logger, device?.Name ?? "(not registered)", _pid, reason);
        }

        if (device is null)
        {
            return;
        }

        // Pending EXECs end now (their responses leave from this thread); then the LUNs go, then the device.
        int pending = _pending!.CompleteAll(s_gone);
        foreach (TaskCompletionSource<int> wait in _functionWaits.Values)
        {
            wait.TrySetResult(-1);
        }

        Log.ConnectionLost(_logger, device.Name, _pid, reason, pending);
        await _engine.UnregisterDeviceAsync(device).ConfigureAwait(false);
    }
}
