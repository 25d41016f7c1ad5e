// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Scst.Events.Diagnostics;

namespace Scst.Events.Remote;

/// <summary>
/// The out-of-process face of an <see cref="IScstEventBus"/>: a Unix stream socket on which other processes (an ALUA
/// agent, an event printer, a management plane) subscribe to events and complete the ones that expect a status, with
/// <see cref="ScstEventClient"/> or any implementation of the protocol in README.md ("Out-of-process protocol").
/// </summary>
/// <remarks>
/// <para>
/// Access is owner-only by default: the socket file has mode 0600 and every accepted peer is checked with
/// SO_PEERCRED; its uid must be this process's effective uid or 0. <see cref="ScstEventEndpointOptions.Group"/> opens
/// it to one group (mode 0660, file group set, peers with that gid accepted). A refused peer is closed at once and
/// logged at Warning.
/// </para>
/// <para>
/// Each connection owns one bus subscription, created by its first ALLOW and bounded by
/// <see cref="ScstEventEndpointOptions.QueueCapacity"/>; when the connection ends the subscription is disposed, so the
/// completion events it held complete with <see cref="ScstEventStatus.SubscriberGone"/>. A client that breaks the
/// framing is disconnected alone. In a host, register it with <c>services.AddScstEventEndpoint(...)</c>; without a
/// host, call <see cref="StartAsync"/> and <see cref="StopAsync"/> (or dispose it).
/// </para>
/// <para>
/// The events queued for the connections and the subscribers are observed on the meter
/// <see cref="ScstEventsMetrics.MeterName"/> (<see cref="ScstEventsMetrics.QueueDepth"/>,
/// <see cref="ScstEventsMetrics.Subscribers"/>).
/// </para>
/// </remarks>
public sealed class ScstEventEndpoint : IAsyncDisposable
{
    private readonly IScstEventBus _bus;
    private readonly ScstEventEndpointOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<EventConnection, Task> _connections = new();
    private readonly Lock _stateLock = new();
    private Socket? _listener;
    private CancellationTokenSource? _stopping;
    private Task? _acceptLoop;
    private uint _ownUid;
    private uint? _allowedGid;
    private long _lastConnectionId;

    /// <summary>Creates an endpoint; it does nothing until <see cref="StartAsync"/>.</summary>
    /// <param name="bus">The bus whose events the endpoint serves.</param>
    /// <param name="options">The endpoint's options.</param>
    /// <param name="logger">The logger; none by default.</param>
    /// <param name="meterFactory">Where the endpoint's meter comes from (the host's, through DI); null: a meter of its
    /// own, disposed with the endpoint.</param>
    /// <exception cref="ArgumentNullException"><paramref name="bus"/> or <paramref name="options"/> is
    /// <see langword="null"/>.</exception>
    public ScstEventEndpoint(IScstEventBus bus, IOptions<ScstEventEndpointOptions> options, ILogger<ScstEventEndpoint>? logger = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(options);
        _bus = bus;
        _options = options.Value;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        Metrics = new EventEndpointMetrics(this, meterFactory);
    }

    /// <summary>Gets the socket path the endpoint listens on (from the options).</summary>
    public string SocketPath => _options.SocketPath;

    /// <summary>Gets the number of connected clients.</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>Gets the endpoint's instruments.</summary>
    internal EventEndpointMetrics Metrics { get; }

    /// <summary>Gets the number of connected clients that subscribed (sent an ALLOW).</summary>
    internal int SubscriberCount
    {
        get
        {
            var n = 0;
            foreach (var connection in _connections.Keys)
            {
                if (connection.IsSubscribed)
                {
                    n++;
                }
            }

            return n;
        }
    }

    /// <summary>Gets the number of events queued for the connected clients and not yet written to their sockets.</summary>
    internal long QueuedEventCount
    {
        get
        {
            long n = 0;
            foreach (var connection in _connections.Keys)
            {
                n += connection.UnwrittenEventCount;
            }

            return n;
        }
    }

    /// <summary>
    /// Creates the socket (directory, stale file, mode, group) and starts accepting clients. Returns once the socket
    /// accepts connections.
    /// </summary>
    /// <param name="cancellationToken">Not used beyond an early check; creation is synchronous.</param>
    /// <returns>A completed task.</returns>
    /// <exception cref="InvalidOperationException">Already started, the options are invalid, or the group is
    /// unknown.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <exception cref="IOException">The path exists and is not a socket, or another process listens on it.</exception>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var path = _options.SocketPath;
        if (string.IsNullOrEmpty(path))
        {
            throw new InvalidOperationException("The event endpoint needs a socket path (ScstEventEndpointOptions.SocketPath).");
        }

        if (_options.QueueCapacity <= 0)
        {
            throw new InvalidOperationException("The event endpoint's queue capacity (ScstEventEndpointOptions.QueueCapacity) must be positive.");
        }

        lock (_stateLock)
        {
            if (_listener is not null)
            {
                throw new InvalidOperationException("The event endpoint is already started.");
            }

            _ownUid = UnixEndpointSocket.EffectiveUserId;
            _allowedGid = _options.Group is { } group ? UnixEndpointSocket.ResolveGroupId(group) : null;
            _listener = UnixEndpointSocket.Listen(path, _allowedGid, 64, "the event endpoint");
            _stopping = new CancellationTokenSource();
            _acceptLoop = AcceptLoopAsync(_listener, _stopping.Token);
        }

        Log.EndpointListening(_logger, path, _allowedGid is null ? "0600" : "0660", _allowedGid);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops accepting, disconnects every client (their pending completion events complete with
    /// <see cref="ScstEventStatus.SubscriberGone"/>) and removes the socket file. Idempotent.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting for the connections to wind down.</param>
    /// <returns>A task that completes when the endpoint is stopped.</returns>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        Socket? listener;
        CancellationTokenSource? stopping;
        Task? acceptLoop;
        lock (_stateLock)
        {
            listener = _listener;
            stopping = _stopping;
            acceptLoop = _acceptLoop;
            _listener = null;
            _stopping = null;
            _acceptLoop = null;
        }

        if (listener is null)
        {
            return;
        }

        await stopping!.CancelAsync().ConfigureAwait(false);
        listener.Dispose();
        try
        {
            File.Delete(_options.SocketPath);
        }
        catch (IOException)
        {
            // Already gone or replaced: nothing of ours is left to remove.
        }

        foreach (var connection in _connections.Keys)
        {
            connection.Abort();
        }

        await Task.WhenAll([acceptLoop!, .. _connections.Values]).WaitAsync(cancellationToken).ConfigureAwait(false);
        stopping.Dispose();
        Log.EndpointStopped(_logger, _options.SocketPath);
    }

    /// <summary>Stops the endpoint (see <see cref="StopAsync"/>) and releases its meter when it made its own.</summary>
    /// <returns>A task that completes when the endpoint is stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        Metrics.Dispose();
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken stopping)
    {
        await Task.Yield();
        while (!stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception ex) when (stopping.IsCancellationRequested && ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            catch (SocketException ex)
            {
                Log.AcceptFailed(_logger, _options.SocketPath, ex);
                continue;
            }

            if (!UnixEndpointSocket.TryGetPeerCredentials(socket, out _, out var uid, out var gid)
                || !UnixEndpointSocket.IsAllowed(uid, gid, _ownUid, _allowedGid))
            {
                var groupClause = _allowedGid is { } allowed ? string.Create(CultureInfo.InvariantCulture, $" or gid {allowed}") : string.Empty;
                Log.PeerRefused(_logger, uid, gid, _ownUid, groupClause);
                socket.Dispose();
                continue;
            }

            var connection = new EventConnection(
                Interlocked.Increment(ref _lastConnectionId), socket, uid, _bus, _options.QueueCapacity, _logger);
            Log.ClientConnected(_logger, connection.Id, uid, gid);
            _connections[connection] = RunConnectionAsync(connection, stopping);
        }
    }

    private async Task RunConnectionAsync(EventConnection connection, CancellationToken stopping)
    {
        await Task.Yield();
        try
        {
            await connection.RunAsync(stopping).ConfigureAwait(false);
        }
        finally
        {
            _connections.TryRemove(connection, out _);
        }
    }
}
