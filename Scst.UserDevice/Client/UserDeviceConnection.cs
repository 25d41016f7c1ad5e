// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Scst.Core;
using Scst.UserDevice.Native;
using Scst.UserDevice.Protocol;

namespace Scst.UserDevice.Client;

/// <summary>
/// Connects a <see cref="UserDeviceBase"/> (usually a <see cref="UserBlockDeviceBase"/>) to a target: registers it, maps the shared region, serves the target's
/// requests and answers them, replies batched into one send per drained receive buffer.
/// </summary>
/// <remarks>
/// The receive loop runs on a thread of its own. A primitive that completes synchronously is answered from there; one
/// that completes later is answered from the thread that completes it. At most <see cref="MaxConcurrency"/> primitives
/// are outstanding; further requests wait in arrival order.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable", Justification = "RunAsync's serve loop releases the region when the connection ends.")]
public sealed class UserDeviceConnection
{
    private const int ReceiveBufferSize = 2 * Frame.MaxMessageLength;
    private const int BatchSize = 64 * 1024;

    private readonly Lock _sendLock = new();
    private readonly object _queueLock = new();
    private readonly Queue<ExecRequest> _backlog = new();
    private readonly Dictionary<ulong, UserSessionInfo> _sessions = [];
    private readonly TaskCompletionSource _registered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly byte[] _batch = new byte[BatchSize];
    private int _batchLength;
    private Socket? _socket;
    private UserDeviceBase? _device;
    private ExecContext[] _idle = [];
    private int _idleCount;
    private int _outstanding;
    private RegionMemory? _region;
    private int _blockSize = 512;

    /// <summary>The most primitives outstanding at once (fileio_tgt's threads). Defaults to 1.</summary>
    public int MaxConcurrency { get; init; } = 1;

    /// <summary>Completes when the target accepted the registration; faults when it refused it.</summary>
    public Task Registered => _registered.Task;

    /// <summary>The size of the shared region, once registered.</summary>
    public long RegionSize { get; private set; }

    /// <summary>
    /// Connects to the target at <paramref name="socketPath"/>, registers <paramref name="device"/> as
    /// <paramref name="descriptor"/> describes it, and serves it. Returns when the target closes the connection, or
    /// when <paramref name="cancellationToken"/> is cancelled (then the outstanding primitives finish and the device
    /// unregisters gracefully).
    /// </summary>
    /// <param name="socketPath">The target's user-device socket.</param>
    /// <param name="descriptor">The device.</param>
    /// <param name="device">The implementation.</param>
    /// <param name="cancellationToken">Stops serving.</param>
    /// <returns>A task that completes when the connection has ended.</returns>
    /// <exception cref="UserDeviceRegistrationException">The target refused the registration (<see cref="UserDeviceRegistrationException.NameTaken"/>: retry later).</exception>
    /// <exception cref="InvalidDataException">The target sent something malformed.</exception>
    /// <exception cref="ArgumentException">A disk whose <paramref name="device"/> is not a <see cref="UserBlockDeviceBase"/>.</exception>
    public Task RunAsync(string socketPath, UserDeviceDescriptor descriptor, UserDeviceBase device, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(socketPath);
        ArgumentNullException.ThrowIfNull(descriptor);
        ArgumentNullException.ThrowIfNull(device);
        if (descriptor.DeviceType == PeripheralDeviceType.DirectAccess && device is not UserBlockDeviceBase)
        {
            throw new ArgumentException("A disk (device type 0) derives from UserBlockDeviceBase: the target calls its primitives.", nameof(device));
        }

        if (_device is not null)
        {
            throw new InvalidOperationException("A connection runs once.");
        }

        _device = device;
        _blockSize = descriptor.BlockSize;
        _idle = new ExecContext[Math.Max(1, MaxConcurrency)];
        for (int i = 0; i < _idle.Length; i++)
        {
            _idle[i] = new ExecContext(this);
        }

        _idleCount = _idle.Length;
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _socket = socket;
        byte[] register = new byte[4096];
        int length = ToRequest(descriptor).Encode(register);
        Send(register.AsSpan(0, length));
        return Task.Factory.StartNew(() => Serve(cancellationToken), cancellationToken, TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach, TaskScheduler.Default);
    }

    /// <summary>Tells the target that the device now has <paramref name="blocks"/> blocks (CAPACITY DATA HAS CHANGED for the initiators).</summary>
    /// <param name="blocks">The new number of blocks.</param>
    public void NotifyCapacityChanged(long blocks)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blocks);
        Span<byte> message = stackalloc byte[Frame.HeaderLength + 8];
        SmallMessages.EncodeUInt64(message, MessageType.CapacityChanged, 0, (ulong)blocks);
        Send(message);
    }

    /// <summary>Cuts the connection without unregistering, as if the process died (tests).</summary>
    internal void Drop()
    {
        try
        {
            _socket?.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    private static RegisterRequest ToRequest(UserDeviceDescriptor d)
    {
        RegisterFlags flags = RegisterFlags.None;
        flags |= d.ReadOnly ? RegisterFlags.ReadOnly : 0;
        flags |= d.WriteThrough ? RegisterFlags.WriteThrough : 0;
        flags |= d.NvCache ? RegisterFlags.NvCache : 0;
        flags |= d.Removable ? RegisterFlags.Removable : 0;
        flags |= d.Rotational ? RegisterFlags.Rotational : 0;
        flags |= d.ThinProvisioned ? RegisterFlags.ThinProvisioned : 0;
        flags |= d.OnFreeCommandCall ? RegisterFlags.OnFreeCommandCall : 0;
        flags |= d.ExtCopyRemap ? RegisterFlags.ExtCopyRemap : 0;
        return new RegisterRequest
        {
            DeviceType = (byte)d.DeviceType,
            ParseType = (byte)d.ParseType,
            Flags = flags,
            BlockSize = (uint)d.BlockSize,
            BlockCount = (ulong)d.BlockCount,
            RegionSize = (ulong)Math.Max(0, d.RegionSize),
            Tst = (byte)d.Tst,
            QueueAlgorithm = (byte)d.QueueAlgorithm,
            Qerr = (byte)d.Qerr,
            Tas = d.Tas ? (byte)1 : (byte)0,
            Swp = d.Swp ? (byte)1 : (byte)0,
            DSense = d.DescriptorSense ? (byte)1 : (byte)0,
            Name = d.Name,
            Vendor = d.Vendor ?? string.Empty,
            Product = d.Product ?? string.Empty,
            Revision = d.Revision ?? string.Empty,
            Serial = d.Serial ?? string.Empty,
        };
    }

    private void Serve(CancellationToken cancellationToken)
    {
        Socket socket = _socket!;
        byte[] buffer = new byte[ReceiveBufferSize];
        var descriptors = new Queue<int>();
        int filled = 0;

        // Cancellation stops the receiving side; the loop then finishes the outstanding primitives and unregisters.
        using CancellationTokenRegistration stopping = cancellationToken.Register(() =>
        {
            try
            {
                socket.Shutdown(SocketShutdown.Receive);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        });
        bool wait = true;
        try
        {
            while (true)
            {
                int n = UnixInterop.ReceiveWithDescriptors(socket, buffer.AsSpan(filled), descriptors, wait);
                if (n < 0)
                {
                    // Everything there is processed: the replies of synchronous primitives leave in one send.
                    FlushBatch();
                    wait = true;
                    continue;
                }

                wait = false;
                if (n == 0)
                {
                    break; // the target closed the connection, or we stop
                }

                filled += n;
                int position = 0;
                while (true)
                {
                    int length = Frame.TryRead(buffer.AsSpan(position, filled - position), out MessageHeader header, out string? problem);
                    if (length < 0)
                    {
                        throw new InvalidDataException($"The target sent a malformed message: {problem}.");
                    }

                    if (length == 0)
                    {
                        break;
                    }

                    Dispatch(header, buffer.AsSpan(position + Frame.HeaderLength, length - Frame.HeaderLength), descriptors);
                    position += length;
                }

                buffer.AsSpan(position, filled - position).CopyTo(buffer);
                filled -= position;
            }

            FlushBatch();
            if (cancellationToken.IsCancellationRequested && _registered.Task.IsCompletedSuccessfully)
            {
                WaitForOutstanding();
                FlushBatch();
                byte[] bye = new byte[Frame.HeaderLength];
                SmallMessages.EncodeEmpty(bye, MessageType.Unregister, 0);
                Send(bye);
            }
            else if (cancellationToken.IsCancellationRequested)
            {
                _registered.TrySetCanceled(cancellationToken);
            }
            else if (!_registered.Task.IsCompleted)
            {
                _registered.TrySetException(new IOException("The target closed the connection before answering REGISTER."));
            }
        }
        catch (Exception ex) when (!_registered.Task.IsCompleted)
        {
            _registered.TrySetException(ex);
            throw;
        }
        finally
        {
            while (descriptors.TryDequeue(out int fd))
            {
                UnixInterop.Close(fd);
            }

            lock (_sendLock)
            {
                socket.Dispose();
            }

            WaitForOutstanding();
            _region?.Release();
        }

        if (_registered.Task.IsFaulted)
        {
            _registered.Task.GetAwaiter().GetResult();
        }
    }

    private void Dispatch(in MessageHeader header, ReadOnlySpan<byte> body, Queue<int> descriptors)
    {
        int descriptor = -1;
        if ((header.Flags & MessageFlags.HasDescriptor) != 0 && !descriptors.TryDequeue(out descriptor))
        {
            throw new InvalidDataException("A message declares a descriptor that did not arrive.");
        }

        if (_region is null)
        {
            OnRegisterReply(header, body, descriptor);
            return;
        }

        if (descriptor >= 0)
        {
            UnixInterop.Close(descriptor);
            throw new InvalidDataException($"Message type 0x{(ushort)header.Type:X2} carries a descriptor.");
        }

        switch (header.Type)
        {
            case MessageType.Exec:
                if (!ExecRequest.TryDecode(header.Handle, body, out ExecRequest request) || !IsValid(request))
                {
                    throw new InvalidDataException($"The target sent a malformed EXEC (handle 0x{header.Handle:X}).");
                }

                Submit(request);
                break;
            case MessageType.Parse:
                if (!ParseRequest.TryDecode(header.Handle, body, out ExecRequest parse) || parse.CdbLength == 0)
                {
                    throw new InvalidDataException($"The target sent a malformed PARSE (handle 0x{header.Handle:X}).");
                }

                Submit(parse);
                break;
            case MessageType.AttachSession:
                UserSessionInfo info = ToInfo(AttachSession.Decode(header.Handle, body) ?? throw new InvalidDataException("Malformed ATTACH_SESS."));
                _sessions[info.Handle] = info;
                int result = _device!.OnAttach(info);
                AppendToBatch(SmallMessages.EncodeInt32(BatchSpace(Frame.HeaderLength + 4), MessageType.AttachReply, header.Handle, result));
                break;
            case MessageType.DetachSession:
                if (_sessions.Remove(header.Handle, out UserSessionInfo? detached))
                {
                    _device!.OnDetach(detached);
                }

                break;
            case MessageType.TaskManagementReceived:
                _device!.OnTaskManagementReceived(ToFunction(TaskManagementMessage.Decode(header.Handle, body)));
                break;
            case MessageType.TaskManagementDone:
                int status = _device!.OnTaskManagementDone(ToFunction(TaskManagementMessage.Decode(header.Handle, body)));
                AppendToBatch(SmallMessages.EncodeInt32(BatchSpace(Frame.HeaderLength + 4), MessageType.TaskManagementDoneReply, header.Handle, status));
                break;
            case MessageType.OnFreeCommand when body.Length == 4:
                _device!.OnFreeCommand(header.Handle, (ScsiStatus)body[0], body[1] != 0);
                break;
            default:
                throw new InvalidDataException($"The target sent unexpected message type 0x{(ushort)header.Type:X2}.");
        }

        static UserSessionInfo ToInfo(AttachSession a) => new(a.SessionHandle, a.Lun, a.ReadOnly, a.InitiatorName, a.TargetName);

        static UserTaskManagement ToFunction(TaskManagementMessage? m) => m is { } t
            ? new UserTaskManagement((TaskManagementFunction)t.Function, t.SessionHandle, t.CommandHandle, t.Lun)
            : throw new InvalidDataException("Malformed task management message.");
    }

    private void OnRegisterReply(in MessageHeader header, ReadOnlySpan<byte> body, int descriptor)
    {
        RegisterReply? reply = header.Type == MessageType.RegisterReply ? RegisterReply.Decode(body) : null;
        if (reply is not { } r)
        {
            UnixInterop.Close(descriptor);
            throw new InvalidDataException($"Expected REGISTER_REPLY, got message type 0x{(ushort)header.Type:X2}.");
        }

        if (r.Result != 0)
        {
            UnixInterop.Close(descriptor);
            throw new UserDeviceRegistrationException(r.Result, r.Reason);
        }

        if (descriptor < 0 || r.RegionSize == 0 || r.RegionSize > int.MaxValue || UnixInterop.SizeOf(descriptor) < (long)r.RegionSize)
        {
            UnixInterop.Close(descriptor);
            throw new InvalidDataException($"REGISTER_REPLY names a region of {r.RegionSize} bytes that the descriptor does not provide.");
        }

        _region = new RegionMemory(descriptor, (int)r.RegionSize);
        RegionSize = (long)r.RegionSize;
        _registered.TrySetResult();
    }

    private bool IsValid(in ExecRequest r) => r.Operation switch
    {
        ExecOperation.Read or ExecOperation.Write => _device is UserBlockDeviceBase && r.DataLength > 0 && r.Offset >= 0 && InRegion(r),
        ExecOperation.Flush => _device is UserBlockDeviceBase,
        ExecOperation.Unmap => _device is UserBlockDeviceBase && r.Offset >= 0 && r.DataLength >= 0,
        ExecOperation.GetProvisioning => _device is UserBlockDeviceBase && r.Offset >= 0 && r.DataLength >= _blockSize && r.DataLength % _blockSize == 0,
        ExecOperation.CopyWithin => _device is UserBlockDeviceBase && r.Offset >= 0 && r.BufferOffset >= 0 && r.DataLength > 0 &&
            r.Offset % _blockSize == 0 && r.BufferOffset % _blockSize == 0 && r.DataLength % _blockSize == 0,
        ExecOperation.ExecuteCdb => r.CdbLength > 0 && (r.Flags >> ExecRequest.DirectionShift) is var direction && direction <= 2 &&
            (direction == 0) == (r.DataLength == 0) && (r.DataLength == 0 || InRegion(r)),
        _ => false,
    };

    private bool InRegion(in ExecRequest r) =>
        r.BufferOffset >= 0 && r.DataLength >= 0 && r.DataLength <= RegionSize && r.BufferOffset <= RegionSize - r.DataLength;

    // Runs the request now when a context is free, otherwise after the outstanding ones (arrival order).
    private void Submit(in ExecRequest request)
    {
        ExecContext? context = null;
        lock (_queueLock)
        {
            if (_idleCount > 0 && _backlog.Count == 0)
            {
                context = _idle[--_idleCount];
                _outstanding++;
            }
            else
            {
                _backlog.Enqueue(request);
            }
        }

        if (context is not null && context.Start(request))
        {
            // Completed synchronously: the reply joins the batch of this receive buffer.
            AppendToBatch(context.EncodeReply(BatchSpace(ExecReply.FixedLength + Frame.HeaderLength + 18)));
            ReturnContext(context, fromLoop: true);
        }
    }

    // A context whose primitive finished: take the next waiting request with it, or put it back.
    private void ReturnContext(ExecContext context, bool fromLoop)
    {
        while (true)
        {
            ExecRequest next;
            lock (_queueLock)
            {
                if (!_backlog.TryDequeue(out next))
                {
                    _idle[_idleCount++] = context;
                    _outstanding--;
                    Monitor.PulseAll(_queueLock);
                    return;
                }
            }

            if (!context.Start(next))
            {
                return; // pending: its completion continues here
            }

            if (fromLoop)
            {
                AppendToBatch(context.EncodeReply(BatchSpace(ExecReply.FixedLength + Frame.HeaderLength + 18)));
            }
            else
            {
                context.SendReply();
            }
        }
    }

    private void WaitForOutstanding()
    {
        lock (_queueLock)
        {
            while (_outstanding > 0)
            {
                Monitor.Wait(_queueLock, 100);
            }
        }
    }

    private Span<byte> BatchSpace(int length)
    {
        if (_batchLength + length > _batch.Length)
        {
            FlushBatch();
        }

        return _batch.AsSpan(_batchLength);
    }

    private void AppendToBatch(int length) => _batchLength += length;

    private void FlushBatch()
    {
        if (_batchLength > 0)
        {
            Send(_batch.AsSpan(0, _batchLength));
            _batchLength = 0;
        }
    }

    private void Send(ReadOnlySpan<byte> message)
    {
        lock (_sendLock)
        {
            Socket socket = _socket!;
            while (!message.IsEmpty)
            {
                int n;
                try
                {
                    n = socket.Send(message, SocketFlags.None);
                }
                catch (ObjectDisposedException)
                {
                    return; // the connection is gone; the receive loop reports it
                }
                catch (SocketException)
                {
                    return;
                }

                message = message[n..];
            }
        }
    }

    // Encodes a status as EXEC_REPLY (or PARSE_REPLY): fixed-format sense for a CHECK CONDITION.
    private static int EncodeReply(Span<byte> destination, ulong handle, in UserDeviceStatus status, int responseLength, byte flags, MessageType type = MessageType.ExecReply)
    {
        if (status.Status != ScsiStatus.CheckCondition)
        {
            return ExecReply.Encode(destination, handle, (byte)status.Status, default, status.IsGood ? responseLength : 0, status.IsGood ? flags : (byte)0, type);
        }

        Span<byte> sense = stackalloc byte[18];
        sense.Clear();
        sense[0] = 0x70;
        sense[2] = (byte)status.Key;
        sense[7] = 10;
        sense[12] = status.Asc;
        sense[13] = status.Ascq;
        return ExecReply.Encode(destination, handle, (byte)status.Status, sense, 0, 0, type);
    }

    /// <summary>One primitive in progress: the request, the awaiter of its task and a reply buffer. Pooled.</summary>
    private sealed class ExecContext
    {
        private readonly UserDeviceConnection _owner;
        private readonly Action _onCompleted;
        private readonly byte[] _reply = new byte[Frame.HeaderLength + ExecReply.FixedLength + 18];
        private ConfiguredValueTaskAwaitable<UserDeviceStatus>.ConfiguredValueTaskAwaiter _awaiter;
        private readonly byte[] _cdb = new byte[16];
        private ExecRequest _request;
        private UserDeviceStatus _status;
        private UserProvisioningExtent _extent;
        private UserParseResult _parse;
        private int _responseLength;
        private bool _declined;

        public ExecContext(UserDeviceConnection owner)
        {
            _owner = owner;
            _onCompleted = OnCompleted;
        }

        // Starts the primitive; true when it completed synchronously (the status is then ready for EncodeReply).
        public bool Start(in ExecRequest request)
        {
            _request = request;
            ValueTask<UserDeviceStatus> pending;
            try
            {
                pending = InvokeAsync(request);
            }
            catch (Exception)
            {
                _status = UserDeviceStatus.CheckCondition(SenseKey.HardwareError, 0x44, 0x00);
                return true;
            }

            if (pending.IsCompleted)
            {
                _status = Result(pending.ConfigureAwait(false).GetAwaiter());
                return true;
            }

            _awaiter = pending.ConfigureAwait(false).GetAwaiter();
            _awaiter.UnsafeOnCompleted(_onCompleted);
            return false;
        }

        public int EncodeReply(Span<byte> destination) => _request.Operation switch
        {
            ExecOperation.GetProvisioning => UserDeviceConnection.EncodeReply(destination, _request.Handle, _status,
                (int)(uint)(_extent.Length / _owner._blockSize), _extent.Mapped ? (byte)0 : ExecReply.DeallocatedFlag),
            ExecOperation.Parse => UserDeviceConnection.EncodeReply(destination, _request.Handle, _status, _parse.DataLength,
                (byte)((int)_parse.Direction | (_parse.WritesMedium ? ExecReply.WritesMediumFlag : 0)), MessageType.ParseReply),
            ExecOperation.ExecuteCdb => UserDeviceConnection.EncodeReply(destination, _request.Handle, _status, _responseLength, 0),
            ExecOperation.CopyWithin => UserDeviceConnection.EncodeReply(destination, _request.Handle, _status, 0, _declined ? ExecReply.DeclinedFlag : (byte)0),
            _ => UserDeviceConnection.EncodeReply(destination, _request.Handle, _status, (int)Math.Min(_request.DataLength, int.MaxValue), 0),
        };

        public void SendReply()
        {
            int n = EncodeReply(_reply);
            _owner.Send(_reply.AsSpan(0, n));
        }

        private ValueTask<UserDeviceStatus> InvokeAsync(in ExecRequest r)
        {
            if (r.Operation is ExecOperation.Parse or ExecOperation.ExecuteCdb)
            {
                return InvokeCommandAsync(r);
            }

            var device = (UserBlockDeviceBase)_owner._device!;
            return r.Operation switch
            {
                ExecOperation.Read => device.ReadAsync(r.Offset, _owner._region!.Memory.Slice((int)r.BufferOffset, (int)r.DataLength)),
                ExecOperation.Write => device.WriteAsync(r.Offset, _owner._region!.Memory.Slice((int)r.BufferOffset, (int)r.DataLength), r.ForceUnitAccess),
                ExecOperation.Flush => device.FlushAsync(),
                ExecOperation.GetProvisioning => QueryProvisioningAsync(device, r.Offset, r.DataLength),
                ExecOperation.CopyWithin => CopyWithinAsync(device, r.BufferOffset, r.Offset, r.DataLength),
                _ => device.UnmapAsync(r.Offset, r.DataLength),
            };
        }

        // COPY_WITHIN: a null answer declines (GOOD with the declined flag).
        private ValueTask<UserDeviceStatus> CopyWithinAsync(UserBlockDeviceBase device, long sourceOffset, long destinationOffset, long length)
        {
            ValueTask<UserDeviceStatus?> pending = device.CopyWithinAsync(sourceOffset, destinationOffset, length);
            return pending.IsCompletedSuccessfully ? new(AcceptCopy(pending.Result)) : AwaitCopyAsync(pending);
        }

        private async ValueTask<UserDeviceStatus> AwaitCopyAsync(ValueTask<UserDeviceStatus?> pending) => AcceptCopy(await pending.ConfigureAwait(false));

        private UserDeviceStatus AcceptCopy(UserDeviceStatus? status)
        {
            _declined = status is null;
            return status ?? UserDeviceStatus.Good;
        }

        // PARSE and EXECUTE_CDB: the CDB is copied out of the request (the view handed to the device stays valid until its
        // task completes); the decoding goes to _parse, the response length to _responseLength.
        private ValueTask<UserDeviceStatus> InvokeCommandAsync(in ExecRequest r)
        {
            UserDeviceBase device = _owner._device!;
            ReadOnlySpan<byte> cdb = r.Cdb;
            cdb[..r.CdbLength].CopyTo(_cdb);
            var command = new UserCommand(_cdb.AsMemory(0, r.CdbLength), r.SessionHandle, (TaskAttribute)r.TaskAttribute, r.Handle);
            if (r.Operation == ExecOperation.Parse)
            {
                var proposal = (DataDirection)(r.Flags & 0x03);
                var request = new UserParseRequest(command, (r.Flags & ParseRequest.KnownFlag) != 0, proposal, (int)r.DataLength,
                    (r.Flags & ParseRequest.WritesMediumFlag) != 0, (DataDirection)r.BufferOffset, (int)r.Offset);
                ValueTask<UserParseResult> parsing = device.ParseAsync(request);
                return parsing.IsCompletedSuccessfully ? new(AcceptParse(parsing.Result)) : AwaitParseAsync(parsing);
            }

            Memory<byte> buffer = r.DataLength == 0 ? Memory<byte>.Empty : _owner._region!.Memory.Slice((int)r.BufferOffset, (int)r.DataLength);
            var direction = (DataDirection)(r.Flags >> ExecRequest.DirectionShift);
            ValueTask<UserCdbResult> executing = device.ExecuteCdbAsync(command, direction, buffer);
            return executing.IsCompletedSuccessfully ? new(AcceptCdb(executing.Result, buffer.Length)) : AwaitCdbAsync(executing, buffer.Length);
        }

        private async ValueTask<UserDeviceStatus> AwaitParseAsync(ValueTask<UserParseResult> pending) => AcceptParse(await pending.ConfigureAwait(false));

        private async ValueTask<UserDeviceStatus> AwaitCdbAsync(ValueTask<UserCdbResult> pending, int bufferLength) =>
            AcceptCdb(await pending.ConfigureAwait(false), bufferLength);

        // A decoding the target would take as malformed (a direction without data, data without a direction, both
        // directions) is the device's bug: HARDWARE ERROR instead.
        private UserDeviceStatus AcceptParse(UserParseResult parse)
        {
            _parse = default;
            if (!parse.Status.IsGood)
            {
                return parse.Status;
            }

            if (parse.DataLength < 0 || parse.Direction == DataDirection.Bidirectional || (parse.Direction == DataDirection.None) != (parse.DataLength == 0))
            {
                return UserDeviceStatus.CheckCondition(SenseKey.HardwareError, 0x44, 0x00);
            }

            _parse = parse;
            return UserDeviceStatus.Good;
        }

        private UserDeviceStatus AcceptCdb(UserCdbResult result, int bufferLength)
        {
            _responseLength = 0;
            if (!result.Status.IsGood)
            {
                return result.Status;
            }

            if (result.ResponseLength < 0 || result.ResponseLength > bufferLength)
            {
                return UserDeviceStatus.CheckCondition(SenseKey.HardwareError, 0x44, 0x00);
            }

            _responseLength = result.ResponseLength;
            return UserDeviceStatus.Good;
        }

        // The extent goes to _extent and the status is the primitive's; an answer outside the asked range (a device
        // bug) becomes HARDWARE ERROR rather than a reply the target would take as malformed.
        private ValueTask<UserDeviceStatus> QueryProvisioningAsync(UserBlockDeviceBase device, long offset, long maxLength)
        {
            ValueTask<UserProvisioningExtent> pending = device.GetProvisioningAsync(offset, maxLength);
            return pending.IsCompletedSuccessfully ? new(Accept(pending.Result, maxLength)) : AwaitProvisioningAsync(pending, maxLength);
        }

        private async ValueTask<UserDeviceStatus> AwaitProvisioningAsync(ValueTask<UserProvisioningExtent> pending, long maxLength) =>
            Accept(await pending.ConfigureAwait(false), maxLength);

        private UserDeviceStatus Accept(UserProvisioningExtent extent, long maxLength)
        {
            _extent = default;
            if (!extent.Status.IsGood)
            {
                return extent.Status;
            }

            int blockSize = _owner._blockSize;
            if (extent.Length < blockSize || extent.Length > maxLength || extent.Length % blockSize != 0)
            {
                return UserDeviceStatus.CheckCondition(SenseKey.HardwareError, 0x44, 0x00);
            }

            _extent = extent;
            return UserDeviceStatus.Good;
        }

        private static UserDeviceStatus Result(ConfiguredValueTaskAwaitable<UserDeviceStatus>.ConfiguredValueTaskAwaiter awaiter)
        {
            try
            {
                return awaiter.GetResult();
            }
            catch (Exception)
            {
                return UserDeviceStatus.CheckCondition(SenseKey.HardwareError, 0x44, 0x00);
            }
        }

        private void OnCompleted()
        {
            ConfiguredValueTaskAwaitable<UserDeviceStatus>.ConfiguredValueTaskAwaiter awaiter = _awaiter;
            _awaiter = default;
            _status = Result(awaiter);
            SendReply();
            _owner.ReturnContext(this, fromLoop: false);
        }
    }

    /// <summary>The shared region as this process maps it.</summary>
    private sealed unsafe class RegionMemory : MemoryManager<byte>
    {
        private readonly int _length;
        private byte* _pointer;

        public RegionMemory(int descriptor, int length)
        {
            _length = length;
            try
            {
                _pointer = UnixInterop.Map(descriptor, length);
            }
            finally
            {
                UnixInterop.Close(descriptor); // the mapping keeps the memory
            }
        }

        public override Span<byte> GetSpan() => new(_pointer, _length);

        public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

        public override void Unpin()
        {
        }

        public void Release()
        {
            if (_pointer != null)
            {
                UnixInterop.Unmap(_pointer, _length);
                _pointer = null;
            }
        }

        protected override void Dispose(bool disposing) => Release();
    }
}
