// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Scst.Events.Remote;

/// <summary>
/// A client of <see cref="ScstEventEndpoint"/>: subscribes to a target's events from another process and completes
/// the ones that expect a status.
/// </summary>
/// <remarks>
/// <para>
/// A background loop reads the connection: answers complete the pending request (requests are answered in order),
/// events go to a local bounded queue read through <see cref="ReadAllAsync"/>, DROPPED reports update
/// <see cref="DroppedCount"/>. The loop never waits for the application, so requests are answered even while events
/// are not being read; when the local queue is full, new events are dropped and counted too.
/// </para>
/// <para>
/// An event with a non-zero <see cref="ScstEvent.Id"/> expects a completion: a completing client (one whose filters
/// were allowed without <c>observer</c>) answers it with <see cref="NotifyDoneAsync"/>; if it disconnects first, the
/// publisher sees <see cref="ScstEventStatus.SubscriberGone"/>. The connection's role is fixed by its first
/// <see cref="AllowAsync"/>. Requests may be issued from any thread; reading is for one consumer.
/// </para>
/// </remarks>
public sealed class ScstEventClient : IAsyncDisposable
{
    /// <summary>The default capacity of the local event queue (2048).</summary>
    public const int DefaultCapacity = 2048;

    private readonly Socket _socket;
    private NetworkStream _stream = null!; // set once connected
    private readonly Channel<ScstEvent> _events;
    private readonly ConcurrentQueue<TaskCompletionSource<int>> _pending = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _closing = new();
    private readonly byte[] _sendBuffer = new byte[EventProtocol.MaxMessageSize];
    private Task _receiveLoop = Task.CompletedTask;
    private long _serverDropped;
    private long _localDropped;
    private int _closed;

    private ScstEventClient(Socket socket, int capacity)
    {
        _socket = socket;
        _events = Channel.CreateBounded<ScstEvent>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = true,
        });
    }

    /// <summary>Gets the protocol version the endpoint announced.</summary>
    public uint ServerProtocolVersion { get; private set; }

    /// <summary>
    /// Gets the number of events this client lost: those the endpoint reported as dropped for this connection (its
    /// queue was full, or the event was larger than a message) plus those dropped locally because the local queue was
    /// full.
    /// </summary>
    public long DroppedCount => Interlocked.Read(ref _serverDropped) + Interlocked.Read(ref _localDropped);

    /// <summary>Connects to an endpoint and exchanges HELLO.</summary>
    /// <param name="path">The endpoint's socket path (by default <see cref="ScstEventEndpointOptions.DefaultSocketPath"/>).</param>
    /// <param name="cancellationToken">Cancels the connection attempt.</param>
    /// <returns>The connected client, with no filter yet: it receives nothing until <see cref="AllowAsync"/>.</returns>
    /// <exception cref="SocketException">Nothing listens on <paramref name="path"/>, or access is denied.</exception>
    /// <exception cref="IOException">The endpoint closed the connection (refused credentials) or speaks another
    /// protocol version.</exception>
    public static Task<ScstEventClient> ConnectAsync(string path, CancellationToken cancellationToken = default) =>
        ConnectAsync(path, DefaultCapacity, cancellationToken);

    /// <summary>Connects to an endpoint and exchanges HELLO.</summary>
    /// <param name="path">The endpoint's socket path.</param>
    /// <param name="capacity">The capacity of the local event queue.</param>
    /// <param name="cancellationToken">Cancels the connection attempt.</param>
    /// <returns>The connected client, with no filter yet.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is not positive.</exception>
    /// <exception cref="SocketException">Nothing listens on <paramref name="path"/>, or access is denied.</exception>
    /// <exception cref="IOException">The endpoint closed the connection or speaks another protocol version.</exception>
    public static async Task<ScstEventClient> ConnectAsync(string path, int capacity, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var client = new ScstEventClient(socket, capacity);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
            client._stream = new NetworkStream(socket, ownsSocket: true);
            var buffer = client._sendBuffer;
            await client._stream.WriteAsync(buffer.AsMemory(0, EventProtocol.WriteHello(buffer, EventProtocol.Version)), cancellationToken).ConfigureAwait(false);
            int length;
            try
            {
                length = await EventProtocol.ReadMessageAsync(client._stream, buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (EventProtocolException ex)
            {
                throw new IOException($"The event endpoint answered HELLO with a malformed message: {ex.Message}.", ex);
            }

            if (length == 0)
            {
                throw new IOException("The event endpoint closed the connection (are this process's credentials allowed?).");
            }

            if (BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(4)) != EventProtocol.Hello || length != EventProtocol.HeaderSize + EventProtocol.HelloBodySize)
            {
                throw new IOException("The event endpoint did not answer HELLO.");
            }

            client.ServerProtocolVersion = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(EventProtocol.HeaderSize));
            if (client.ServerProtocolVersion != EventProtocol.Version)
            {
                throw new IOException($"The event endpoint speaks protocol version {client.ServerProtocolVersion}; this client speaks {EventProtocol.Version}.");
            }

            client._receiveLoop = client.ReceiveLoopAsync();
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Adds a filter to this connection's subscription (SCST's ALLOW).</summary>
    /// <param name="filter">The filter. Its issuer must fit 49 bytes of UTF-8, its prefix 3 KiB.</param>
    /// <param name="observer"><see langword="true"/> to subscribe as an observer: completion events arrive as copies
    /// this client cannot complete (an event printer must not steal an STPG from the ALUA agent). The first ALLOW
    /// fixes the connection's role; a later ALLOW with the other role is refused.</param>
    /// <param name="cancellationToken">Stops waiting for the answer (the request still counts).</param>
    /// <returns><see langword="true"/> when added; <see langword="false"/> when an equal filter was present (EEXIST).</returns>
    /// <exception cref="ArgumentException">The filter cannot be encoded.</exception>
    /// <exception cref="InvalidOperationException">The endpoint refused the filter: invalid, the other role, or more
    /// than 2048 filters.</exception>
    /// <exception cref="IOException">The connection is closed.</exception>
    public async Task<bool> AllowAsync(ScstEventFilter filter, bool observer = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ThrowIfNotEncodable(filter);
        var flags = observer ? EventProtocol.ObserverFlag : (byte)0;
        var status = await RequestAsync(static (buffer, state) => EventProtocol.WriteFilter(buffer, EventProtocol.Allow, state.filter, state.flags), (filter, flags), cancellationToken).ConfigureAwait(false);
        return status switch
        {
            ScstEventStatus.Success => true,
            ScstEventStatus.AlreadyExists => false,
            _ => throw new InvalidOperationException($"The event endpoint refused the filter ({filter}) with status {status}."),
        };
    }

    /// <summary>Removes every filter <paramref name="pattern"/> covers (SCST's DISALLOW; see
    /// <see cref="ScstEventSubscription.RemoveFilter"/>).</summary>
    /// <param name="pattern">The removal pattern.</param>
    /// <param name="cancellationToken">Stops waiting for the answer (the request still counts).</param>
    /// <returns><see langword="true"/> when at least one filter was removed; <see langword="false"/> for none
    /// (ENOENT).</returns>
    /// <exception cref="ArgumentException">The pattern cannot be encoded.</exception>
    /// <exception cref="InvalidOperationException">The endpoint refused the pattern.</exception>
    /// <exception cref="IOException">The connection is closed.</exception>
    public async Task<bool> DisallowAsync(ScstEventFilter pattern, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ThrowIfNotEncodable(pattern);
        var status = await RequestAsync(static (buffer, state) => EventProtocol.WriteFilter(buffer, EventProtocol.Disallow, state, 0), pattern, cancellationToken).ConfigureAwait(false);
        return status switch
        {
            ScstEventStatus.Success => true,
            ScstEventStatus.NoSubscriber => false,
            _ => throw new InvalidOperationException($"The event endpoint refused the pattern ({pattern}) with status {status}."),
        };
    }

    /// <summary>Reports the status of a completion event this client received (SCST's NOTIFY_DONE).</summary>
    /// <param name="id">The event's <see cref="ScstEvent.Id"/>.</param>
    /// <param name="status">0 for success, a negated errno otherwise (see <see cref="ScstEventStatus"/>).</param>
    /// <param name="cancellationToken">Stops waiting for the answer (the request still counts).</param>
    /// <returns><see langword="false"/> when the endpoint does not know the id for this connection (ENOENT): already
    /// completed, timed out, or received as an observer.</returns>
    /// <exception cref="IOException">The connection is closed.</exception>
    public async Task<bool> NotifyDoneAsync(uint id, int status, CancellationToken cancellationToken = default)
    {
        var result = await RequestAsync(static (buffer, state) => EventProtocol.WriteNotifyDone(buffer, state.id, state.status), (id, status), cancellationToken).ConfigureAwait(false);
        return result == ScstEventStatus.Success;
    }

    /// <summary>
    /// Reads events as they arrive. The sequence ends when the connection closes (the endpoint stopped, or this
    /// client was disposed) and the events already received have been read; it throws <see cref="IOException"/> when
    /// the endpoint broke the protocol.
    /// </summary>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The events, each owning a copy of its payload.</returns>
    public IAsyncEnumerable<ScstEvent> ReadAllAsync(CancellationToken cancellationToken = default) =>
        _events.Reader.ReadAllAsync(cancellationToken);

    /// <summary>
    /// Closes the connection: the endpoint disposes this connection's subscription, so the completion events it
    /// held and had not completed complete with <see cref="ScstEventStatus.SubscriberGone"/>. Idempotent.
    /// </summary>
    /// <returns>A task that completes when the connection is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        await _closing.CancelAsync().ConfigureAwait(false);
        if (_socket.Connected)
        {
            _socket.Shutdown(SocketShutdown.Both);
        }

        _socket.Dispose();
        try
        {
            await _receiveLoop.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The loop ends with the socket.
        }

        if (_stream is not null)
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }

        _sendLock.Dispose();
        _closing.Dispose();
    }

    private static void ThrowIfNotEncodable(ScstEventFilter filter, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(filter))] string? paramName = null)
    {
        if (EventProtocol.CheckEncodable(filter) is { } problem)
        {
            throw new ArgumentException(problem, paramName);
        }
    }

    private async Task<int> RequestAsync<TState>(Func<byte[], TState, int> write, TState state, CancellationToken cancellationToken)
    {
        var answer = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _closed) != 0 || _receiveLoop.IsCompleted)
            {
                throw new IOException("The connection to the event endpoint is closed.");
            }

            var length = write(_sendBuffer, state);

            // Queued before sending, under the lock: answers arrive in request order.
            _pending.Enqueue(answer);
            await _stream.WriteAsync(_sendBuffer.AsMemory(0, length), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            throw new IOException("The connection to the event endpoint is closed.", ex);
        }
        finally
        {
            _sendLock.Release();
        }

        return await answer.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task ReceiveLoopAsync()
    {
        await Task.Yield();
        var buffer = new byte[EventProtocol.MaxMessageSize];
        Exception? failure = null;
        try
        {
            while (true)
            {
                var length = await EventProtocol.ReadMessageAsync(_stream, buffer, _closing.Token).ConfigureAwait(false);
                if (length == 0)
                {
                    return;
                }

                var type = BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(4));
                var body = buffer.AsSpan(EventProtocol.HeaderSize, length - EventProtocol.HeaderSize);
                switch (type)
                {
                    case EventProtocol.Result when body.Length == EventProtocol.ResultBodySize:
                        if (!_pending.TryDequeue(out var answer))
                        {
                            throw new EventProtocolException("a RESULT arrived with no request outstanding");
                        }

                        answer.TrySetResult(BinaryPrimitives.ReadInt32LittleEndian(body));
                        break;
                    case EventProtocol.Event:
                        if (!_events.Writer.TryWrite(EventProtocol.ParseEvent(body)))
                        {
                            Interlocked.Increment(ref _localDropped);
                        }

                        break;
                    case EventProtocol.Dropped when body.Length == EventProtocol.DroppedBodySize:
                        Interlocked.Exchange(ref _serverDropped, (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(body), long.MaxValue));
                        break;
                    default:
                        throw new EventProtocolException($"unexpected message type 0x{type:X2} of {length} bytes");
                }
            }
        }
        catch (EventProtocolException ex)
        {
            failure = new IOException($"The event endpoint broke the protocol: {ex.Message}.", ex);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Closed by either side: the event sequence simply ends.
        }
        finally
        {
            _events.Writer.TryComplete(failure);
            while (_pending.TryDequeue(out var answer))
            {
                answer.TrySetException(new IOException("The connection to the event endpoint closed before the answer.", failure));
            }
        }
    }
}
