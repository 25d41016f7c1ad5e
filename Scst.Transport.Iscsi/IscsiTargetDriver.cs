// Licensed under the Apache License, Version 2.0.

using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Scst.Core;
using Scst.Transport.Iscsi.Diagnostics;

namespace Scst.Transport.Iscsi;

/// <summary>
/// The iSCSI target driver: listens on the configured portals, runs logins, and serves the core's targets whose
/// driver is <c>iscsi</c>. Each connection is one asynchronous receive loop; no thread is dedicated to a connection.
/// </summary>
public sealed class IscsiTargetDriver : ITargetDriver, IHostedService, IAsyncDisposable
{
    /// <summary>The driver's name.</summary>
    public const string DriverName = "iscsi";

    private readonly Lock _lock = new();
    private readonly List<IscsiPortal> _portals = [];
    private readonly List<Task> _acceptLoops = [];
    private readonly HashSet<IscsiConnection> _connections = [];
    private readonly Dictionary<SessionKey, IscsiSession> _sessions = [];
    private readonly Dictionary<ScsiTarget, uint> _tids = [];
    private readonly ILogger _logger;
    private CancellationTokenSource? _stopping;
    private Isns.IsnsClient? _isns;
    private Task _isnsChange = Task.CompletedTask;
    private bool _isnsRunning;
    private ushort _nextTsih;
    private uint _lastTid;
    private long _headerDigestsChecked;
    private long _dataDigestsChecked;
    private long _dataDigestErrors;

    /// <summary>Creates the driver.</summary>
    /// <param name="engine">The core.</param>
    /// <param name="options">Driver options.</param>
    /// <param name="logger">The logger.</param>
    /// <param name="meterFactory">Where the driver's meter comes from (the host's, through DI); null: a meter of its own.</param>
    public IscsiTargetDriver(ScstEngine engine, IOptions<IscsiTargetOptions> options, ILogger<IscsiTargetDriver>? logger = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Engine = engine;
        Options = options.Value;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        Metrics = new IscsiDriverMetrics(this, meterFactory);
    }

    internal IscsiDriverMetrics Metrics { get; }

    /// <summary>The receive threads of <see cref="IscsiReceiveMode.ReceiveThreads"/>, started with the first connection.</summary>
    internal Interop.ReceiveLoopSet ReceiveLoops { get; } = new();

    /// <inheritdoc />
    public string Name => DriverName;

    /// <inheritdoc />
    public byte ProtocolIdentifier => 0x05;

    /// <summary>The driver's options.</summary>
    public IscsiTargetOptions Options { get; }

    /// <summary>The endpoints the driver listens on, once started (with the real port when 0 was asked).</summary>
    public IReadOnlyList<IPEndPoint> LocalEndPoints
    {
        get
        {
            lock (_lock)
            {
                return [.. _portals.Select(p => p.EndPoint)];
            }
        }
    }

    /// <summary>Connections currently open.</summary>
    public int ConnectionCount
    {
        get
        {
            lock (_lock)
            {
                return _connections.Count;
            }
        }
    }

    internal ScstEngine Engine { get; }

    internal ILogger Logger => _logger;

    /// <summary>The iSNS client, when an iSNS server is configured and the driver runs.</summary>
    internal Isns.IsnsClient? Isns => Volatile.Read(ref _isns);

    /// <summary>iSNS access control: the initiators the iSNS server said each target is visible to.</summary>
    internal Isns.IsnsAccessList IsnsAccess { get; } = new();

    /// <summary>
    /// How long the iSNS server's access answers are used before they are asked again without a state change
    /// notification. Defaults to 30 seconds (replaceable by tests, also while the driver runs).
    /// </summary>
    internal TimeSpan IsnsAccessRefreshInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Completes when the last change of the iSNS server (<see cref="ConfigureIsns"/>) has taken effect (tests).</summary>
    internal Task IsnsChange
    {
        get
        {
            lock (_lock)
            {
                return _isnsChange;
            }
        }
    }

    /// <summary>Holds back the responses to repeated authentication failures from one address (replaceable by tests).</summary>
    internal Security.AuthenticationThrottle AuthenticationThrottle { get; set; } = new();

    /// <summary>The clock of the NOP-In keepalive: <see cref="TimeProvider.System"/> unless the container has one.</summary>
    internal TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>PDUs whose header digest was checked (and matched) since the driver started.</summary>
    internal long HeaderDigestsChecked => Interlocked.Read(ref _headerDigestsChecked);

    /// <summary>PDUs whose data digest was checked (matched or not) since the driver started.</summary>
    internal long DataDigestsChecked => Interlocked.Read(ref _dataDigestsChecked);

    /// <summary>PDUs whose data digest did not match since the driver started.</summary>
    internal long DataDigestErrors => Interlocked.Read(ref _dataDigestErrors);

    internal void CountDigests(bool header, bool data, bool dataError)
    {
        if (header)
        {
            Interlocked.Increment(ref _headerDigestsChecked);
        }

        if (data)
        {
            Interlocked.Increment(ref _dataDigestsChecked);
        }

        if (dataError)
        {
            Interlocked.Increment(ref _dataDigestErrors);
        }
    }

    /// <summary>Binds the portals and starts accepting connections.</summary>
    /// <param name="cancellationToken">Cancels start-up.</param>
    /// <returns>A task that completes once every portal listens.</returns>
    /// <exception cref="SocketException">A portal cannot be bound.</exception>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var stopping = new CancellationTokenSource();
        _stopping = stopping;
        IEnumerable<string> portals = Options.Portals.Count == 0 ? ["127.0.0.1:3260"] : Options.Portals;
        foreach (string portal in portals)
        {
            Listen(portal, stopping.Token);
        }

        Isns.IsnsClient? isns;
        lock (_lock)
        {
            isns = _isns = CreateIsnsClient();
            _isnsRunning = true;
        }

        isns?.Start();
        return Task.CompletedTask;
    }

    private Isns.IsnsClient? CreateIsnsClient() => string.IsNullOrEmpty(Options.IsnsServer)
        ? null
        : new Isns.IsnsClient(this, Options.IsnsServer, Options.IsnsEntityIdentifier ?? "scst-dotnet." + Environment.MachineName,
            Options.IsnsRegistrationPeriod, _logger);

    /// <summary>
    /// Changes the iSNS server and its access control (SCST's <c>iSNSServer</c> attribute, <c>host[:port] [AccessControl]</c>).
    /// While the driver runs, the entity is deregistered from the old server and registered with the new one in the
    /// background; the access answers of the old server are forgotten.
    /// </summary>
    /// <param name="server">The server, <c>host[:port]</c>; null or empty for none.</param>
    /// <param name="accessControl">Whether iSNS access control is on.</param>
    internal void ConfigureIsns(string? server, bool accessControl)
    {
        server = string.IsNullOrWhiteSpace(server) ? null : server.Trim();
        bool serverChanged = !string.Equals(server, Options.IsnsServer, StringComparison.Ordinal);
        bool turnedOn = accessControl && !Options.IsnsAccessControl;
        Options.IsnsAccessControl = accessControl;
        if (!serverChanged)
        {
            if (turnedOn)
            {
                Isns?.RequestAccessRefresh();
            }

            return;
        }

        lock (_lock)
        {
            Options.IsnsServer = server;
            IsnsAccess.Clear();
            if (!_isnsRunning)
            {
                return; // not running: StartAsync starts the client
            }

            Isns.IsnsClient? old = _isns;
            Isns.IsnsClient? created = CreateIsnsClient();
            _isns = created;
            _isnsChange = ReplaceIsnsClientAsync(_isnsChange, old, created);
        }
    }

    // One change after the other: the old client deregisters (same entity identifier) before the new one registers.
    private static async Task ReplaceIsnsClientAsync(Task previous, Isns.IsnsClient? old, Isns.IsnsClient? created)
    {
        await previous.ConfigureAwait(false);
        if (old is not null)
        {
            await old.DisposeAsync().ConfigureAwait(false);
        }

        created?.Start();
    }

    /// <summary>Stops listening and closes every connection.</summary>
    /// <param name="cancellationToken">Unused; closing does not wait for initiators.</param>
    /// <returns>A task that completes when the accept loops and connections ended.</returns>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        CancellationTokenSource? stopping = Interlocked.Exchange(ref _stopping, null);
        if (stopping is null)
        {
            return;
        }

        Isns.IsnsClient? isns;
        Task isnsChange;
        lock (_lock)
        {
            isns = _isns;
            _isns = null;
            _isnsRunning = false;
            isnsChange = _isnsChange;
        }

        await isnsChange.ConfigureAwait(false);
        if (isns is not null)
        {
            await isns.DisposeAsync().ConfigureAwait(false); // deregisters while the portals still answer
        }

        Task[] loops;
        IscsiConnection[] connections;
        lock (_lock)
        {
            stopping.Cancel();
            foreach (IscsiPortal p in _portals)
            {
                p.Listener.Dispose();
            }

            _portals.Clear();
            loops = [.. _acceptLoops];
            _acceptLoops.Clear();
            connections = [.. _connections];
        }

        await RequestLogoutsAsync(connections).ConfigureAwait(false);
        foreach (IscsiConnection c in connections)
        {
            c.Abort();
        }

        await Task.WhenAll(loops).ConfigureAwait(false);
        foreach (IscsiConnection c in connections)
        {
            await c.Completion.ConfigureAwait(false);
            c.Dispose();
        }

        // Sessions kept for connection recovery (ErrorRecoveryLevel 2) end with the driver.
        IscsiSession[] sessions;
        lock (_lock)
        {
            sessions = [.. _sessions.Values];
        }

        foreach (IscsiSession s in sessions)
        {
            s.End();
        }

        stopping.Dispose();
    }

    // Asks the initiator of every Normal session to log out and waits, up to LogoutRequestTimeout, for those
    // connections to end; what is left is dropped by the caller.
    private async Task RequestLogoutsAsync(IscsiConnection[] connections)
    {
        int seconds = (int)Math.Min(Options.LogoutRequestTimeout.TotalSeconds, ushort.MaxValue);
        if (seconds <= 0)
        {
            return;
        }

        List<Task> asked = [];
        foreach (IscsiConnection c in connections)
        {
            if (c.RequestLogout((ushort)seconds))
            {
                asked.Add(c.Completion);
            }
        }

        if (asked.Count > 0)
        {
            await Task.WhenAny(Task.WhenAll(asked), Task.Delay(TimeSpan.FromSeconds(seconds), TimeProvider)).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        ReceiveLoops.Dispose();
        Metrics.Dispose();
    }

    /// <summary>
    /// Starts listening on one more portal while the driver runs: <c>host:port</c>, optionally followed by
    /// <c>,tag</c> for its portal group (see <see cref="IscsiTargetOptions.Portals"/>).
    /// </summary>
    /// <param name="portal">The portal.</param>
    /// <returns>The address it listens on (with the real port when 0 was asked).</returns>
    /// <exception cref="InvalidOperationException">The driver is not running.</exception>
    /// <exception cref="FormatException">The portal is not an address with an optional port and tag.</exception>
    /// <exception cref="SocketException">The portal cannot be bound.</exception>
    public IPEndPoint AddPortal(string portal)
    {
        ArgumentNullException.ThrowIfNull(portal);
        CancellationTokenSource stopping = _stopping ?? throw new InvalidOperationException("The iSCSI driver is not running.");
        return Listen(portal, stopping.Token).EndPoint;
    }

    /// <summary>
    /// Stops listening on a portal. The Normal sessions whose connections came in through it are asked to log out
    /// (Asynchronous Message, AsyncEvent 1) and dropped after <see cref="IscsiTargetOptions.LogoutRequestTimeout"/>;
    /// they may log in again through another portal.
    /// </summary>
    /// <param name="endPoint">The address the portal listens on, as <see cref="LocalEndPoints"/> gives it.</param>
    /// <returns>False when no portal listens there.</returns>
    public bool RemovePortal(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        IscsiPortal? portal;
        IscsiConnection[] connections;
        lock (_lock)
        {
            portal = _portals.Find(p => p.EndPoint.Equals(endPoint));
            if (portal is null)
            {
                return false;
            }

            _portals.Remove(portal);
            portal.Listener.Dispose();
            connections = [.. _connections.Where(c => c.Portal == portal)];
        }

        // A connection still logging in is asked once it has entered the full feature phase: it checks its portal
        // then (IscsiConnection.EnterFullFeaturePhase), as it checks its target's Enabled.
        Log.PortalRemoved(_logger, endPoint, connections.Length);
        AskToLogOutOrDrop([.. connections.Where(c => c.InFullFeaturePhase)]);
        return true;
    }

    /// <summary>Whether <paramref name="portal"/> is still one the driver listens on.</summary>
    internal bool Listens(IscsiPortal portal)
    {
        lock (_lock)
        {
            return _portals.Contains(portal);
        }
    }

    private IscsiPortal Listen(string text, CancellationToken stopping)
    {
        (IPEndPoint endPoint, ushort? tag) = ParsePortal(text);
        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                listener.DualMode = false;
            }

            listener.Bind(endPoint);
            listener.Listen(128);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        var portal = new IscsiPortal(listener, (IPEndPoint)listener.LocalEndPoint!, tag ?? Options.TargetPortalGroupTag);
        lock (_lock)
        {
            if (stopping.IsCancellationRequested)
            {
                listener.Dispose(); // the driver stopped meanwhile
                throw new InvalidOperationException("The iSCSI driver is not running.");
            }

            _portals.Add(portal);
            _acceptLoops.Add(AcceptLoopAsync(portal, stopping));
        }

        Log.Listening(_logger, portal.EndPoint);
        return portal;
    }

    /// <summary>The portals listening now.</summary>
    internal IscsiPortal[] Portals()
    {
        lock (_lock)
        {
            return [.. _portals];
        }
    }

    private async Task AcceptLoopAsync(IscsiPortal portal, CancellationToken stopping)
    {
        Socket listener = portal.Listener;
        while (!stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (stopping.IsCancellationRequested || !IsListening(portal))
                {
                    return;
                }

                continue;
            }

            socket.NoDelay = true;
            var connection = new IscsiConnection(this, socket, portal);
            lock (_lock)
            {
                _connections.Add(connection);
            }

            connection.Start();
        }
    }

    private bool IsListening(IscsiPortal portal)
    {
        lock (_lock)
        {
            return _portals.Contains(portal);
        }
    }

    internal void OnConnectionClosed(IscsiConnection connection)
    {
        lock (_lock)
        {
            _connections.Remove(connection);
        }
    }

    internal void OnSessionEnded(IscsiSession session)
    {
        lock (_lock)
        {
            if (_sessions.TryGetValue(session.Key, out IscsiSession? current) && current == session)
            {
                _sessions.Remove(session.Key);
            }
        }
    }

    /// <summary>
    /// Binds a login to a session. TSIH 0: a new session with a new TSIH, which reinstates (ends) an older session of the
    /// same initiator port (name and ISID) with the same target portal group (RFC 7143 section 6.3.5); null when the
    /// target has its <see cref="IscsiTargetSettings.MaxSessions"/> already. A non-zero TSIH names the session a
    /// connection joins (MC/S) or whose connection it reinstates; null when there is no such session or it has no room.
    /// </summary>
    internal IscsiSession? BindSession(Protocol.SessionBindingRequest request, ushort portalGroupTag)
    {
        var key = new SessionKey(request.InitiatorName, request.Isid, request.TargetName, portalGroupTag);
        if (request.Tsih != 0)
        {
            lock (_lock)
            {
                return _sessions.TryGetValue(key, out IscsiSession? existing) && existing.Tsih == request.Tsih && existing.TryReserve(request.Cid)
                    ? existing
                    : null;
            }
        }

        int maxSessions = request.TargetName is { } name && SettingsOf(name) is { MaxSessions: > 0 } settings ? settings.MaxSessions : 0;
        IscsiSession? old;
        IscsiSession session;
        lock (_lock)
        {
            _sessions.TryGetValue(key, out old);
            if (maxSessions > 0 && _sessions.Values.Count(s => s != old && !s.Ended && s.Key.Target == request.TargetName) >= maxSessions)
            {
                return null;
            }

            ushort assigned;
            do
            {
                assigned = ++_nextTsih;
            }
            while (assigned == 0);

            session = new IscsiSession(this, key, assigned);
            _sessions[key] = session;
        }

        if (old is not null)
        {
            // Reinstatement: the old I_T nexus ends before the new one exists, so that nothing tied to it (a PREVENT
            // MEDIUM REMOVAL, say) outlives it while its connections are still being torn down.
            Log.SessionReinstated(_logger, request.InitiatorName, request.Isid);
            session.Reinstates(old);
            old.End();
        }

        return session;
    }

    /// <summary>Why <see cref="BindSession"/> refused a connection that named a session by TSIH.</summary>
    internal Protocol.LoginStatus BindRefusal(Protocol.SessionBindingRequest request, ushort portalGroupTag)
    {
        lock (_lock)
        {
            return _sessions.TryGetValue(new SessionKey(request.InitiatorName, request.Isid, request.TargetName, portalGroupTag), out IscsiSession? existing)
                && existing.Tsih == request.Tsih && !existing.Ended
                ? Protocol.LoginStatus.TooManyConnections
                : Protocol.LoginStatus.SessionDoesNotExist;
        }
    }

    /// <summary>The target's own settings, or null when it has none.</summary>
    internal IscsiTargetSettings? SettingsOf(string target) => Options.Targets.TryGetValue(target, out IscsiTargetSettings? settings) ? settings : null;

    /// <summary>Ends the core sessions of connections whose initiator already closed them (see <see cref="IscsiConnection.PeerHasClosed"/>).</summary>
    internal void EndDroppedSessions(IscsiConnection except)
    {
        IscsiConnection[] connections;
        lock (_lock)
        {
            connections = [.. _connections];
        }

        foreach (IscsiConnection c in connections)
        {
            if (c != except && c.PeerHasClosed())
            {
                c.EndScsiSession();
            }
        }
    }

    /// <summary>One line per connection: peer, CmdSN window and tasks in flight. For diagnostics.</summary>
    internal IReadOnlyList<string> DescribeConnections()
    {
        IscsiConnection[] connections;
        lock (_lock)
        {
            connections = [.. _connections];
        }

        return [.. connections.Select(c => c.Describe())];
    }

    /// <inheritdoc />
    /// <remarks>
    /// The driver's discovery <c>IncomingUser</c> and <c>OutgoingUser</c>; a target's credentials, portal access,
    /// alias, redirect, limits, timers and session keys (see <see cref="IscsiTargetSettings"/>).
    /// </remarks>
    public IReadOnlyList<Core.Management.ManagementAttribute> GetManagementAttributes(ScsiTarget? target) =>
        target is null ? IscsiManagementAttributes.ForDriver(this) : IscsiManagementAttributes.ForTarget(this, target);

    /// <inheritdoc />
    /// <remarks>The target gets its <c>tid</c> (see <see cref="TidOf"/>).</remarks>
    public void OnTargetAdded(ScsiTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        TidOf(target);
    }

    /// <inheritdoc />
    public void OnTargetRemoved(ScsiTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        Options.Targets.Remove(target.Name);
        Options.TargetAccess.Remove(target.Name);
        Options.Chap.RemoveTarget(target.Name);
        lock (_lock)
        {
            _tids.Remove(target);
        }
    }

    /// <summary>
    /// The target's id (SCST's read-only <c>tid</c>), numbered as SCST's iSCSI driver numbers them: the next number
    /// after the last one given (1 first), skipping 0 and any still held, so a removed target's id is not given again
    /// until the counter wraps.
    /// </summary>
    internal uint TidOf(ScsiTarget target)
    {
        if (!Engine.Targets.Contains(target))
        {
            return 0; // not (or no longer) a target of the core: it holds no id
        }

        lock (_lock)
        {
            if (_tids.TryGetValue(target, out uint tid))
            {
                return tid;
            }

            do
            {
                tid = ++_lastTid;
            }
            while (tid == 0 || _tids.ContainsValue(tid));

            _tids[target] = tid;
            return tid;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// A disabled target's Normal sessions are asked to log out (Asynchronous Message, AsyncEvent 1) and dropped when
    /// <see cref="IscsiTargetOptions.LogoutRequestTimeout"/> has passed; with a zero timeout they are dropped at once.
    /// </remarks>
    public void OnTargetEnabledChanged(ScsiTarget target, bool enabled)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (enabled)
        {
            return;
        }

        IscsiConnection[] connections;
        lock (_lock)
        {
            connections = [.. _connections.Where(c => c.Target == target)];
        }

        AskToLogOutOrDrop(connections);
    }

    internal void AskToLogOutOrDrop(IscsiConnection[] connections)
    {
        int seconds = (int)Math.Min(Options.LogoutRequestTimeout.TotalSeconds, ushort.MaxValue);
        foreach (IscsiConnection c in connections)
        {
            if (seconds > 0 && c.RequestLogout((ushort)seconds))
            {
                _ = DropUnlessClosedAsync(c, TimeSpan.FromSeconds(seconds));
            }
            else
            {
                c.Abort();
            }
        }
    }

    private async Task DropUnlessClosedAsync(IscsiConnection connection, TimeSpan timeout)
    {
        await Task.WhenAny(connection.Completion, Task.Delay(timeout, TimeProvider)).ConfigureAwait(false);
        connection.Abort();
    }

    /// <summary>Drops every connection whose session is on <paramref name="target"/> (TARGET COLD RESET).</summary>
    internal void CloseConnectionsOf(ScsiTarget target)
    {
        IscsiConnection[] connections;
        lock (_lock)
        {
            connections = [.. _connections];
        }

        foreach (IscsiConnection c in connections)
        {
            if (c.Target == target)
            {
                c.Abort();
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="target"/> is one of this driver's, enabled, and allowed on the local portal address
    /// (its <see cref="IscsiTargetAccess.AllowedPortals"/>). A target that is not is absent from the portal's
    /// SendTargets, and a login to it through the portal fails with 0x0203 (not found), as in SCST.
    /// </summary>
    internal bool Serves(ScsiTarget target, IPAddress? portal) =>
        target.Driver == this && target.Enabled && (portal is null || AccessOf(target.Name)?.IsPortalAllowed(portal) != false);

    /// <summary>
    /// Whether <paramref name="initiator"/> may see <paramref name="target"/> through the portal: the target
    /// <see cref="Serves"/> it there, iSNS access control lets it (<see cref="IsnsAllows"/>), and the initiator sees at
    /// least one LUN (SCST's scst_initiator_has_luns, which publishes event 2 when it does not). A refused initiator
    /// does not find the target in its SendTargets, and its login fails with 0x0202 (authorization failure).
    /// </summary>
    internal bool Admits(ScsiTarget target, string initiator, IPAddress? portal)
    {
        if (!Serves(target, portal))
        {
            return false;
        }

        if (!IsnsAllows(target, initiator))
        {
            Log.IsnsAccessRefused(_logger, initiator, target.Name);
            return false;
        }

        if (target.InitiatorHasLuns(AccessName(target, initiator, portal)))
        {
            return true;
        }

        Log.InitiatorRefused(_logger, initiator, target.Name, portal);
        return false;
    }

    /// <summary>
    /// iSNS access control (<see cref="IscsiTargetOptions.IsnsAccessControl"/>): whether the iSNS server last said the
    /// initiator shares a discovery domain with the target. Always true when access control is off or no iSNS server is
    /// configured, as in SCST.
    /// </summary>
    internal bool IsnsAllows(ScsiTarget target, string initiator) =>
        !Options.IsnsAccessControl || string.IsNullOrEmpty(Options.IsnsServer) || IsnsAccess.Allows(target.Name, initiator);

    /// <summary>The name the target's security groups match and its session carries (see <see cref="IscsiTargetAccess.PerPortalAcl"/>).</summary>
    internal string AccessName(ScsiTarget target, string initiator, IPAddress? portal) =>
        portal is not null && AccessOf(target.Name) is { } access ? access.AccessName(initiator, portal) : initiator;

    private IscsiTargetAccess? AccessOf(string target) => Options.TargetAccess.TryGetValue(target, out IscsiTargetAccess? access) ? access : null;

    internal IEnumerable<ScsiTarget> EnabledTargets()
    {
        foreach (ScsiTarget t in Engine.Targets)
        {
            if (t.Driver == this && t.Enabled)
            {
                yield return t;
            }
        }
    }

    /// <summary>Parses <c>host[:port][,tag]</c> (IPv6 in brackets when a port follows).</summary>
    internal static (IPEndPoint EndPoint, ushort? Tag) ParsePortal(string portal)
    {
        string address = portal;
        ushort? tag = null;
        int comma = portal.LastIndexOf(',');
        if (comma >= 0)
        {
            if (!ushort.TryParse(portal.AsSpan(comma + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ushort t))
            {
                throw new FormatException($"iSCSI portal '{portal}': the portal group tag after ',' must be 0 to 65535.");
            }

            tag = t;
            address = portal[..comma];
        }

        if (IPEndPoint.TryParse(address, out IPEndPoint? endPoint))
        {
            if (endPoint.Port == 0 && !address.EndsWith(":0", StringComparison.Ordinal))
            {
                endPoint.Port = 3260;
            }

            return (endPoint, tag);
        }

        throw new FormatException($"iSCSI portal '{portal}' is not an IP address with an optional port and portal group tag.");
    }
}

/// <summary>One listening portal and its portal group tag.</summary>
internal sealed record IscsiPortal(Socket Listener, IPEndPoint EndPoint, ushort Tag);

/// <summary>
/// What names a session: the initiator port (name and ISID) and the target port (name and portal group tag), RFC 7143
/// section 4.3. The target is null in a Discovery session.
/// </summary>
internal readonly record struct SessionKey(string Initiator, ulong Isid, string? Target, ushort Tag);
