// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Scst.Events.Remote;

/// <summary>
/// One client of <see cref="ScstEventEndpoint"/>: a receive loop answering requests in order, and, once the first
/// ALLOW created the subscription, a send loop forwarding its events. Both write through one lock.
/// </summary>
internal sealed class EventConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly uint _uid;
    private readonly IScstEventBus _bus;
    private readonly int _capacity;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _aborted = new();
    private readonly byte[] _receiveBuffer = new byte[EventProtocol.MaxMessageSize];
    private readonly byte[] _answerBuffer = new byte[EventProtocol.HeaderSize + 8];
    private ScstEventSubscription? _subscription;
    private Task _sendLoop = Task.CompletedTask;
    private int _filterCount;
    private long _oversizedCount;
    private int _writing; // 1 while the send loop writes an event it took from the queue

    public EventConnection(long id, Socket socket, uint uid, IScstEventBus bus, int capacity, ILogger logger)
    {
        Id = id;
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _uid = uid;
        _bus = bus;
        _capacity = capacity;
        _logger = logger;
    }

    public long Id { get; }

    /// <summary>Whether the client subscribed (its first ALLOW was accepted) and its connection is not over.</summary>
    public bool IsSubscribed => Volatile.Read(ref _subscription) is not null && !_aborted.IsCancellationRequested;

    /// <summary>
    /// The events queued for this client and not yet written to its socket: those in the subscription's queue and the
    /// one the send loop is writing. Read without a lock, for metrics.
    /// </summary>
    public int UnwrittenEventCount => (Volatile.Read(ref _subscription)?.Count ?? 0) + Volatile.Read(ref _writing);

    /// <summary>Ends the connection from the endpoint's side (stop).</summary>
    public void Abort()
    {
        try
        {
            _aborted.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already over.
        }

        _socket.Dispose();
    }

    public async Task RunAsync(CancellationToken stopping)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, _aborted.Token);
        var cancellationToken = linked.Token;
        try
        {
            await ReceiveLoopAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (EventProtocolException ex)
        {
            Log.MalformedMessage(_logger, Id, _uid, ex.Message);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            if (!cancellationToken.IsCancellationRequested)
            {
                Log.ConnectionFailed(_logger, Id, ex);
            }
        }
        finally
        {
            // Disposing the subscription first completes the events it held with -EFAULT, as SCST does on close.
            _subscription?.Dispose();
            await _aborted.CancelAsync().ConfigureAwait(false);
            _socket.Dispose();
            try
            {
                await _sendLoop.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
            {
                // The send loop ends with the socket.
            }

            Dispose();
            Log.ClientDisconnected(_logger, Id);
        }
    }

    /// <summary>Releases the stream and the synchronisation objects; called when both loops are over.</summary>
    public void Dispose()
    {
        _stream.Dispose();
        _aborted.Dispose();
        _sendLock.Dispose();
    }

    private async Task ReceiveLoopAsync(CancellationToken cancellationToken)
    {
        var helloSeen = false;
        while (true)
        {
            var length = await EventProtocol.ReadMessageAsync(_stream, _receiveBuffer, cancellationToken).ConfigureAwait(false);
            if (length == 0)
            {
                return;
            }

            var type = BinaryPrimitives.ReadUInt16LittleEndian(_receiveBuffer.AsSpan(4));
            var body = _receiveBuffer.AsMemory(EventProtocol.HeaderSize, length - EventProtocol.HeaderSize);
            if (!helloSeen)
            {
                if (type != EventProtocol.Hello || body.Length != EventProtocol.HelloBodySize)
                {
                    throw new EventProtocolException($"the first message must be a {EventProtocol.HeaderSize + EventProtocol.HelloBodySize}-byte HELLO; got type 0x{type:X2}, {length} bytes");
                }

                var version = BinaryPrimitives.ReadUInt32LittleEndian(body.Span);
                await SendAnswerAsync(EventProtocol.WriteHello(_answerBuffer, EventProtocol.Version), cancellationToken).ConfigureAwait(false);
                if (version != EventProtocol.Version)
                {
                    Log.VersionRefused(_logger, Id, _uid, version, EventProtocol.Version);
                    return;
                }

                helloSeen = true;
                continue;
            }

            int status;
            switch (type)
            {
                case EventProtocol.Allow:
                    status = Allow(body.Span);
                    break;
                case EventProtocol.Disallow:
                    status = Disallow(body.Span);
                    break;
                case EventProtocol.NotifyDone:
                    if (body.Length != EventProtocol.NotifyDoneBodySize)
                    {
                        throw new EventProtocolException($"a NOTIFY_DONE has {length} bytes, not {EventProtocol.HeaderSize + EventProtocol.NotifyDoneBodySize}");
                    }

                    var id = BinaryPrimitives.ReadUInt32LittleEndian(body.Span);
                    var doneStatus = BinaryPrimitives.ReadInt32LittleEndian(body.Span[4..]);
                    status = _subscription?.NotifyDone(id, doneStatus) == true ? ScstEventStatus.Success : ScstEventStatus.NoSubscriber;
                    break;
                default:
                    throw new EventProtocolException($"unknown message type 0x{type:X2}");
            }

            await SendAnswerAsync(EventProtocol.WriteResult(_answerBuffer, status), cancellationToken).ConfigureAwait(false);
        }
    }

    private int Allow(ReadOnlySpan<byte> body)
    {
        var filter = EventProtocol.ParseFilter(body, out var flags);
        if (filter is null)
        {
            return ScstEventStatus.InvalidArgument;
        }

        var observer = (flags & EventProtocol.ObserverFlag) != 0;
        if (_subscription is null)
        {
            _subscription = _bus.Subscribe(filter, _capacity, observer);
            _filterCount = 1;
            _sendLoop = SendLoopAsync(_subscription, _aborted.Token);
            return ScstEventStatus.Success;
        }

        if (_subscription.IsObserver != observer)
        {
            // The connection's role (observer or completing subscriber) is fixed by its first ALLOW.
            return ScstEventStatus.InvalidArgument;
        }

        if (_filterCount >= EventProtocol.MaxFilters)
        {
            return ScstEventStatus.QueueFull;
        }

        if (!_subscription.AddFilter(filter))
        {
            return ScstEventStatus.AlreadyExists;
        }

        _filterCount++;
        return ScstEventStatus.Success;
    }

    private int Disallow(ReadOnlySpan<byte> body)
    {
        var pattern = EventProtocol.ParseFilter(body, out _);
        if (pattern is null)
        {
            return ScstEventStatus.InvalidArgument;
        }

        var removed = _subscription?.RemoveFilter(pattern) ?? 0;
        _filterCount -= removed;
        return removed == 0 ? ScstEventStatus.NoSubscriber : ScstEventStatus.Success;
    }

    private async Task SendLoopAsync(ScstEventSubscription subscription, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var buffer = new byte[EventProtocol.MaxMessageSize];
        ulong reported = 0;
        while (true)
        {
            while (subscription.TryRead(out var scstEvent))
            {
                Volatile.Write(ref _writing, 1);
                try
                {
                    reported = await ReportDropsAsync(subscription, reported, buffer, cancellationToken).ConfigureAwait(false);
                    if (!EventProtocol.TryWriteEvent(buffer, scstEvent, out var length))
                    {
                        // Larger than a message may be: lost for this client, and reported as such.
                        _oversizedCount++;
                        continue;
                    }

                    await SendAsync(buffer, length, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    Volatile.Write(ref _writing, 0);
                }
            }

            reported = await ReportDropsAsync(subscription, reported, buffer, cancellationToken).ConfigureAwait(false);
            if (!await subscription.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    /// <summary>Sends DROPPED with the cumulative count when it grew since the last report.</summary>
    private async ValueTask<ulong> ReportDropsAsync(ScstEventSubscription subscription, ulong reported, byte[] buffer, CancellationToken cancellationToken)
    {
        var dropped = (ulong)subscription.DroppedCount + (ulong)_oversizedCount;
        if (dropped == reported)
        {
            return reported;
        }

        await SendAsync(buffer, EventProtocol.WriteDropped(buffer, dropped), cancellationToken).ConfigureAwait(false);
        return dropped;
    }

    private ValueTask SendAnswerAsync(int length, CancellationToken cancellationToken) =>
        SendAsync(_answerBuffer, length, cancellationToken);

    private async ValueTask SendAsync(byte[] buffer, int length, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _stream.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }
}
