// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Scst.Core;

namespace Scst.Transport.Iscsi.Isns;

/// <summary>
/// Registers the driver's enabled targets and its portals with an iSNS server (RFC 4171) as one network entity, keeps
/// the registration current (the targets enabled, added or removed show within <see cref="PollInterval"/>; the whole
/// entity is registered again every half registration period), registers for state change notifications, answers the
/// server's ESI and SCN messages on a port of its own, and deregisters the entity when the driver stops. With access
/// control on (<see cref="IscsiTargetOptions.IsnsAccessControl"/>) it also asks, per target, which initiators share a
/// discovery domain with it, and keeps the answers in the driver's <see cref="IsnsAccessList"/>.
/// </summary>
/// <remarks>
/// <para>Each registration replaces the entity (DevAttrReg with the replace flag): the entity, its portals (with the ESI
/// and SCN port), one storage node per enabled target and one portal group per target and portal with the driver's
/// portal group tag. Its source is <see cref="IscsiTargetOptions.IsnsEntityName"/>, or the first enabled target. A
/// portal bound to a wildcard address is registered with the local address of the connection to the server. A failure
/// is logged and retried; the iSCSI service never waits for the iSNS server.</para>
/// <para>Access control: the visibility query is a DevAttrQry with the target as source, the node type Initiator as
/// message key and the iSCSI name and node type as operating attributes; the server answers with the initiators in the
/// target's discovery domains (RFC 4171 sections 5.6.5.2 and 6.1). It is asked after each registration, at once after a
/// state change notification (an initiator registered or gone, a discovery domain member added or removed), and every
/// <see cref="IscsiTargetDriver.IsnsAccessRefreshInterval"/> besides, in case a notification was lost.</para>
/// </remarks>
internal sealed class IsnsClient : IAsyncDisposable
{
    /// <summary>How often the client looks for a change of the targets or portals.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    // SCN bitmap (RFC 4171 section 6.4.4, bit 31 the least significant): DD/DDS member added and removed, object
    // updated, added and removed.
    private const uint ScnBitmap = 0x1F;

    // iSCSI Node Type (RFC 4171 section 6.4.2, bit 31 the least significant): Target, Initiator.
    private const uint NodeTypeTarget = 0x1;
    private const uint NodeTypeInitiator = 0x2;

    private readonly IscsiTargetDriver _driver;
    private readonly string _server;
    private readonly string _entity;
    private readonly TimeSpan _period;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _wake = new(0);
    private Task? _loop;
    private Socket? _listener;
    private Task? _listenLoop;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly Lock _exchangeLock = new();
    private TcpClient? _connection;
    private Task _reader = Task.CompletedTask;
    private Exchange? _awaiting;
    private ushort _nextTransaction;
    private Registration? _registered;
    private DateTime _registeredAt;
    private DateTime _accessAskedAt;
    private int _accessWanted;
    private int _accessAnswered;
    private int _notifications;
    private int _statusInquiries;

    public IsnsClient(IscsiTargetDriver driver, string server, string entity, TimeSpan registrationPeriod, ILogger logger)
    {
        _driver = driver;
        _server = server;
        _entity = entity;
        _period = registrationPeriod;
        _logger = logger;
    }

    /// <summary>State change notifications received from the server.</summary>
    public int Notifications => Volatile.Read(ref _notifications);

    /// <summary>Entity status inquiries answered.</summary>
    public int StatusInquiries => Volatile.Read(ref _statusInquiries);

    /// <summary>Completes when the first registration succeeded (tests).</summary>
    public TaskCompletionSource FirstRegistration { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The source of the registration in force, or null (tests).</summary>
    public string? RegisteredSource => _registered?.Source;

    /// <summary>Asks the server again, at once, which initiators see each target (a state change, access control turned on).</summary>
    public void RequestAccessRefresh()
    {
        Interlocked.Increment(ref _accessWanted);
        _wake.Release();
    }

    public void Start() => _loop = RunAsync(_stopping.Token);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        if (_registered is not null && _connection is not null)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                IsnsMessage dereg = new IsnsMessage(IsnsFunction.DevDereg, NextTransaction(), IsnsMessage.FlagClient)
                    .Add(IsnsTag.IscsiName, _registered.Source).Delimiter()
                    .Add(IsnsTag.EntityIdentifier, _entity);
                uint error = await ExchangeAsync(dereg, timeout.Token).ConfigureAwait(false);
                Log.IsnsDeregistered(_logger, _entity, error);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or InvalidDataException or TimeoutException)
            {
                Log.IsnsFailed(_logger, _server, "deregistration", ex.Message);
            }
        }

        _connection?.Dispose();
        await _reader.ConfigureAwait(false);
        _listener?.Dispose();
        if (_listenLoop is not null)
        {
            await _listenLoop.ConfigureAwait(false);
        }

        _stopping.Dispose();
        _wake.Dispose();
        _sendLock.Dispose();
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await EnsureConnectedAsync(stopping).ConfigureAwait(false);
                Registration wanted = BuildRegistration();
                bool due = DateTime.UtcNow - _registeredAt >= _period / 2;
                if (wanted.Message is not null && (wanted.Description != _registered?.Description || due))
                {
                    uint error = await ExchangeAsync(wanted.Message, stopping).ConfigureAwait(false);
                    if (error != 0)
                    {
                        Log.IsnsFailed(_logger, _server, "registration", $"error code {error}");
                    }
                    else
                    {
                        await RegisterForNotificationsAsync(wanted.Targets, stopping).ConfigureAwait(false);
                        _registered = wanted;
                        _registeredAt = DateTime.UtcNow;
                        Interlocked.Increment(ref _accessWanted);
                        Log.IsnsRegistered(_logger, _entity, _server, wanted.Description);
                        FirstRegistration.TrySetResult();
                    }
                }

                // A notification that comes while the server is asked asks again: the answer may predate its change.
                int asked = Volatile.Read(ref _accessWanted);
                if (_driver.Options.IsnsAccessControl && _registered is { } registered
                    && (asked != _accessAnswered || DateTime.UtcNow - _accessAskedAt >= _driver.IsnsAccessRefreshInterval))
                {
                    await AskAccessAsync(registered.Targets, stopping).ConfigureAwait(false);
                    _accessAnswered = asked;
                    _accessAskedAt = DateTime.UtcNow;
                }

                await _wake.WaitAsync(PollInterval, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException or OperationCanceledException or InvalidOperationException or TimeoutException)
            {
                // InvalidOperationException: a registration too large for one PDU; it is logged and tried again.
                Log.IsnsFailed(_logger, _server, "connection", ex.Message);
                _connection?.Dispose();
                _connection = null;
                _registered = null;
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(5), stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task EnsureConnectedAsync(CancellationToken stopping)
    {
        if (_connection is { Connected: true } && !_reader.IsCompleted)
        {
            return;
        }

        _connection?.Dispose();
        (string host, int port) = SplitServer(_server);
        var client = new TcpClient { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            await client.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
        }
        catch
        {
            client.Dispose();
            throw;
        }

        _connection = client;
        _reader = ReadAnswersAsync(client.GetStream());
        if (_listener is null)
        {
            // ESI and SCN come in on a port of our own, on the address the server reaches us through.
            IPAddress local = LocalAddress(client);
            var listener = new Socket(local.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(local, 0));
            listener.Listen(16);
            _listener = listener;
            _listenLoop = ListenAsync(listener, _stopping.Token);
        }
    }

    // The entity as it should be registered now, with a description that changes when it does; no message when no
    // target is enabled (an entity without storage nodes is not registered).
    private Registration BuildRegistration()
    {
        ScsiTarget[] enabled = [.. _driver.EnabledTargets()];
        string[] targets = [.. enabled.Select(t => t.Name).Order(StringComparer.Ordinal)];
        string source = _driver.Options.IsnsEntityName is { Length: > 0 } name ? name : enabled.Length > 0 ? enabled[0].Name : string.Empty;
        IPAddress reachable = LocalAddress(_connection!);
        (IPEndPoint EndPoint, ushort Tag)[] groups = [.. _driver.Portals().Select(p => (
            p.EndPoint.Address.Equals(IPAddress.Any) || p.EndPoint.Address.Equals(IPAddress.IPv6Any) ? new IPEndPoint(reachable, p.EndPoint.Port) : p.EndPoint,
            p.Tag))];
        IPEndPoint[] portals = [.. groups.Select(g => g.EndPoint)];
        string description = string.Join(',', targets) + " @ " + string.Join(',', groups.Select(g => $"{g.EndPoint},{g.Tag}")) + " as " + source;
        if (targets.Length == 0 || portals.Length == 0)
        {
            return new Registration(description, source, targets, null);
        }

        int servicePort = ((IPEndPoint)_listener!.LocalEndPoint!).Port;
        IsnsMessage m = new IsnsMessage(IsnsFunction.DevAttrReg, NextTransaction(), IsnsMessage.FlagClient | IsnsMessage.FlagReplace)
            .Add(IsnsTag.IscsiName, source)
            .Add(IsnsTag.EntityIdentifier, _entity)
            .Delimiter()
            .Add(IsnsTag.EntityIdentifier, _entity)
            .Add(IsnsTag.EntityProtocol, 2) // iSCSI
            .Add(IsnsTag.RegistrationPeriod, (uint)_period.TotalSeconds);
        foreach (IPEndPoint portal in portals)
        {
            m.Add(IsnsTag.PortalIpAddress, portal.Address)
                .Add(IsnsTag.PortalPort, (uint)portal.Port)
                .Add(IsnsTag.EsiPort, (uint)servicePort)
                .Add(IsnsTag.ScnPort, (uint)servicePort);
        }

        foreach (string target in targets)
        {
            m.Add(IsnsTag.IscsiName, target).Add(IsnsTag.IscsiNodeType, NodeTypeTarget);
            foreach ((IPEndPoint portal, ushort tag) in groups)
            {
                m.Add(IsnsTag.PgIscsiName, target)
                    .Add(IsnsTag.PgPortalIpAddress, portal.Address)
                    .Add(IsnsTag.PgPortalPort, (uint)portal.Port)
                    .Add(IsnsTag.PgTag, tag);
            }
        }

        return new Registration(description, source, targets, m);
    }

    private async Task RegisterForNotificationsAsync(string[] targets, CancellationToken stopping)
    {
        foreach (string target in targets)
        {
            IsnsMessage scnReg = new IsnsMessage(IsnsFunction.ScnReg, NextTransaction(), IsnsMessage.FlagClient)
                .Add(IsnsTag.IscsiName, target)
                .Add(IsnsTag.IscsiName, target)
                .Delimiter()
                .Add(IsnsTag.IscsiScnBitmap, ScnBitmap);
            uint error = await ExchangeAsync(scnReg, stopping).ConfigureAwait(false);
            if (error != 0)
            {
                Log.IsnsFailed(_logger, _server, $"SCN registration of {target}", $"error code {error}");
            }
        }
    }

    // Asks, for each registered target, which initiators share a discovery domain with it. An error answer keeps the
    // target's last answer, as a server that cannot be reached does.
    private async Task AskAccessAsync(string[] targets, CancellationToken stopping)
    {
        foreach (string target in targets)
        {
            IsnsMessage query = new IsnsMessage(IsnsFunction.DevAttrQry, NextTransaction(), IsnsMessage.FlagClient)
                .Add(IsnsTag.IscsiName, target)
                .Add(IsnsTag.IscsiNodeType, NodeTypeInitiator)
                .Delimiter()
                .Add(IsnsTag.IscsiName, ReadOnlySpan<byte>.Empty)
                .Add(IsnsTag.IscsiNodeType, ReadOnlySpan<byte>.Empty);
            IsnsPdu answer = await ExchangeForAnswerAsync(query, stopping).ConfigureAwait(false);
            if (answer.ErrorCode != 0)
            {
                Log.IsnsFailed(_logger, _server, $"access query for {target}", $"error code {answer.ErrorCode}");
                continue;
            }

            List<string> initiators = Initiators(answer.Attributes(4));
            _driver.IsnsAccess.Set(target, initiators);
            Log.IsnsAccessUpdated(_logger, target, initiators.Count);
        }

        _driver.IsnsAccess.RetainOnly(targets);
    }

    /// <summary>
    /// The initiators named in a DevAttrQry answer: each iSCSI Name followed by an iSCSI Node Type with the Initiator bit
    /// (the message key and the delimiter in front carry no name).
    /// </summary>
    internal static List<string> Initiators(List<(uint Tag, byte[] Value)> attributes)
    {
        List<string> initiators = [];
        string? name = null;
        foreach ((uint tag, byte[] value) in attributes)
        {
            if (tag == IsnsTag.IscsiName)
            {
                name = Text(value);
                continue;
            }

            if (tag == IsnsTag.IscsiNodeType && name is { Length: > 0 } && value.Length == 4
                && (System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(value) & NodeTypeInitiator) != 0)
            {
                initiators.Add(name);
            }

            name = null;
        }

        return initiators;
    }

    private async Task<uint> ExchangeAsync(IsnsMessage request, CancellationToken cancellationToken) =>
        (await ExchangeForAnswerAsync(request, cancellationToken).ConfigureAwait(false)).ErrorCode;

    // Sends a request and waits, at most 10 seconds, for its answer, which the reader puts together.
    private async Task<IsnsPdu> ExchangeForAnswerAsync(IsnsMessage request, CancellationToken cancellationToken)
    {
        NetworkStream stream = _connection!.GetStream();
        var exchange = new Exchange((ushort)((ushort)request.Function | (ushort)IsnsFunction.Response), request.TransactionId);
        lock (_exchangeLock)
        {
            _awaiting = exchange;
        }

        try
        {
            if (_reader.IsCompleted)
            {
                throw new IOException("The connection to the iSNS server has ended.");
            }

            await SendAsync(stream, request.ToPdu(), cancellationToken).ConfigureAwait(false);
            return await exchange.Answer.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            lock (_exchangeLock)
            {
                if (_awaiting == exchange)
                {
                    _awaiting = null;
                }
            }
        }
    }

    private async Task SendAsync(NetworkStream stream, byte[] pdu, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await stream.WriteAsync(pdu, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    // Reads the client connection for as long as it lasts, as SCST's daemon polls it: the answer to the request in
    // flight, put together from every PDU of the message (RFC 4171 section 5.3: the payloads of one message's PDUs
    // follow each other), and a state change notification should the server send one here rather than to the SCN
    // port, which is answered and asks the access answers again. Anything else is not ours to answer. The end of the
    // connection, noticed at once, fails the request in flight.
    private async Task ReadAnswersAsync(NetworkStream stream)
    {
        Exception ended = new IOException("The iSNS server closed the connection.");
        try
        {
            while (await IsnsPdu.ReadAsync(stream, CancellationToken.None).ConfigureAwait(false) is { } pdu)
            {
                if (pdu.Function == (ushort)IsnsFunction.Scn)
                {
                    await SendAsync(stream, AnswerScn(pdu).ToPdu(), CancellationToken.None).ConfigureAwait(false);
                    continue;
                }

                Exchange? exchange;
                lock (_exchangeLock)
                {
                    exchange = _awaiting;
                }

                if (exchange is null || pdu.Function != exchange.Function || pdu.TransactionId != exchange.TransactionId)
                {
                    continue;
                }

                bool last = (pdu.Flags & IsnsMessage.FlagLastPdu) != 0;
                if (last && exchange.Parts is null)
                {
                    exchange.Answer.TrySetResult(pdu);
                    continue;
                }

                (exchange.Parts ??= []).Add(pdu.Payload);
                if (last)
                {
                    exchange.Answer.TrySetResult(pdu with { Payload = [.. exchange.Parts.SelectMany(p => p)] });
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException or ObjectDisposedException or OperationCanceledException)
        {
            ended = ex;
        }

        lock (_exchangeLock)
        {
            _awaiting?.Answer.TrySetException(ended);
        }
    }

    /// <summary>A request waiting for its answer: the answer's function and transaction id, and the PDUs come so far.</summary>
    private sealed class Exchange(ushort function, ushort transactionId)
    {
        public ushort Function { get; } = function;

        public ushort TransactionId { get; } = transactionId;

        public List<byte[]>? Parts { get; set; }

        public TaskCompletionSource<IsnsPdu> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    // The ESI and SCN port: the server connects and sends ESI (are you there?) or SCN (something changed); each is
    // answered with its response, error 0.
    private async Task ListenAsync(Socket listener, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket peer;
            try
            {
                peer = await listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = ServePeerAsync(peer, stopping);
        }
    }

    private async Task ServePeerAsync(Socket peer, CancellationToken stopping)
    {
        using var stream = new NetworkStream(peer, ownsSocket: true);
        try
        {
            while (await IsnsPdu.ReadAsync(stream, stopping).ConfigureAwait(false) is { } pdu)
            {
                IsnsMessage response;
                if (pdu.Function == (ushort)IsnsFunction.Esi)
                {
                    // ESIRsp carries the request's attributes back.
                    response = new IsnsMessage(IsnsFunction.Esi | IsnsFunction.Response, pdu.TransactionId, IsnsMessage.FlagClient).ErrorCode(0);
                    foreach ((uint tag, byte[] value) in pdu.Attributes(0))
                    {
                        response.Add(tag, value);
                    }

                    Interlocked.Increment(ref _statusInquiries);
                }
                else if (pdu.Function == (ushort)IsnsFunction.Scn)
                {
                    response = AnswerScn(pdu);
                }
                else
                {
                    response = new IsnsMessage((IsnsFunction)(pdu.Function | (ushort)IsnsFunction.Response), pdu.TransactionId, IsnsMessage.FlagClient)
                        .ErrorCode(4); // Message Not Understood
                }

                await stream.WriteAsync(response.ToPdu(), stopping).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException or OperationCanceledException or ObjectDisposedException)
        {
            // The server's connection ended or sent garbage (it reconnects when it needs us), or the client is stopping.
        }
    }

    // A state change notification: counted, and the access answers are asked again. SCNRsp names the destination,
    // the first attribute of the SCN.
    private IsnsMessage AnswerScn(IsnsPdu scn)
    {
        var response = new IsnsMessage(IsnsFunction.Scn | IsnsFunction.Response, scn.TransactionId, IsnsMessage.FlagClient).ErrorCode(0);
        List<(uint Tag, byte[] Value)> attributes = scn.Attributes(0);
        if (attributes.Count > 0)
        {
            response.Add(attributes[0].Tag, attributes[0].Value);
            string destination = Text(attributes[0].Value);
            Log.IsnsNotification(_logger, destination);
        }

        Interlocked.Increment(ref _notifications);
        if (_driver.Options.IsnsAccessControl)
        {
            RequestAccessRefresh();
        }

        return response;
    }

    // The address the server reaches us through (an IPv4 peer of a dual-mode socket shows as IPv4-mapped IPv6).
    private static IPAddress LocalAddress(TcpClient client)
    {
        IPAddress address = ((IPEndPoint)client.Client.LocalEndPoint!).Address;
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }

    private ushort NextTransaction() => ++_nextTransaction == 0 ? ++_nextTransaction : _nextTransaction;

    private static string Text(byte[] value) => Encoding.UTF8.GetString(value).TrimEnd('\0');

    /// <summary>Splits <c>host[:port]</c> (IPv6 in brackets when a port follows); the port defaults to 3205.</summary>
    internal static (string Host, int Port) SplitServer(string server)
    {
        if (IPEndPoint.TryParse(server, out IPEndPoint? endPoint))
        {
            return (endPoint.Address.ToString(), endPoint.Port == 0 ? 3205 : endPoint.Port);
        }

        int colon = server.LastIndexOf(':');
        return colon > 0 && int.TryParse(server.AsSpan(colon + 1), out int port) ? (server[..colon], port) : (server, 3205);
    }

    /// <summary>One registration: its description (it changes when the registration does), source, targets and message.</summary>
    private sealed record Registration(string Description, string Source, string[] Targets, IsnsMessage? Message);
}
