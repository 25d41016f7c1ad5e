// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Scst.Events.Remote;

namespace Scst.Core.Management;

/// <summary>Options of the management endpoint.</summary>
public sealed class ManagementEndpointOptions
{
    /// <summary>The Unix socket's path. Defaults to <c>/run/scst/mgmt.sock</c>.</summary>
    public string SocketPath { get; set; } = "/run/scst/mgmt.sock";
}

/// <summary>
/// The management verbs (<see cref="ManagementCommands"/>) on a Unix stream socket that only the target's own user (and
/// root) may use: the socket file is created with mode 0600 and every peer's credentials are checked (SO_PEERCRED).
/// </summary>
/// <remarks>
/// A line protocol, usable with <c>socat - UNIX-CONNECT:/run/scst/mgmt.sock</c>: each request is one line, the path of
/// a <c>mgmt</c> file relative to the tree's root, a space, and the command written to it
/// (<c>targets/iscsi/iqn.2026-11.example:t1/luns/mgmt add disk1 0</c>); each answer is one line, <c>0</c> or a negative
/// errno followed by a space and what failed and why (<c>-2 device disk9 does not exist</c>). Requests on one connection
/// are performed in order; lines longer than 4 KiB end the connection.
/// </remarks>
public sealed partial class ManagementEndpoint : IHostedService, IAsyncDisposable
{
    private const int MaxLine = 4096;
    private readonly ManagementCommands _commands;
    private readonly ManagementEndpointOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Socket? _listener;
    private Task _accepting = Task.CompletedTask;

    /// <summary>Creates the endpoint.</summary>
    /// <param name="engine">The core.</param>
    /// <param name="options">Where to listen.</param>
    /// <param name="logger">The logger.</param>
    public ManagementEndpoint(ScstEngine engine, IOptions<ManagementEndpointOptions> options, ILogger<ManagementEndpoint>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _commands = new ManagementCommands(engine);
        _options = options.Value;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The socket's path.</summary>
    public string SocketPath => _options.SocketPath;

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        string path = _options.SocketPath;
        Socket listener = UnixEndpointSocket.Listen(path, groupId: null, backlog: 16, "the management endpoint");
        _listener = listener;
        _accepting = AcceptAsync(listener);
        Log.Listening(_logger, path);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener?.Dispose();
        await _accepting.ConfigureAwait(false);
        try
        {
            File.Delete(_options.SocketPath);
        }
        catch (IOException)
        {
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stop.Dispose();
    }

    /// <summary>
    /// Whether a peer may manage the target: the same user as this process, or root. The credentials are those the
    /// kernel recorded when the peer connected (SO_PEERCRED).
    /// </summary>
    /// <param name="peerUid">The peer's user id.</param>
    /// <param name="ownUid">This process's user id.</param>
    /// <returns>True when allowed.</returns>
    public static bool IsAllowed(uint peerUid, uint ownUid) => UnixEndpointSocket.IsAllowed(peerUid, peerGid: uint.MaxValue, ownUid, allowedGid: null);

    private async Task AcceptAsync(Socket listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            if (!UnixEndpointSocket.TryGetPeerCredentials(client, out _, out uint uid, out _) || !IsAllowed(uid, UnixEndpointSocket.EffectiveUserId))
            {
                Log.PeerRefused(_logger, uid);
                client.Dispose();
                continue;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            var stream = new NetworkStream(client, ownsSocket: false);
            await using (stream.ConfigureAwait(false))
            {
                var reader = new StreamReader(stream, Encoding.UTF8, false, MaxLine);
                try
                {
                    while (await ReadLineAsync(reader).ConfigureAwait(false) is { } line)
                    {
                        ManagementResult result = await PerformAsync(line).ConfigureAwait(false);
                        string answer = result.Succeeded
                            ? "0\n"
                            : $"{result.Status.ToString(CultureInfo.InvariantCulture)} {result.Message.ReplaceLineEndings(" ")}\n";
                        await stream.WriteAsync(Encoding.UTF8.GetBytes(answer), _stop.Token).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidDataException or SocketException)
                {
                    Log.ConnectionEnded(_logger, ex.Message);
                }
            }
        }
    }

    private async ValueTask<string?> ReadLineAsync(StreamReader reader)
    {
        var line = new StringBuilder();
        var one = new char[1];
        while (true)
        {
            int n = await reader.ReadAsync(one, _stop.Token).ConfigureAwait(false);
            if (n == 0)
            {
                return line.Length == 0 ? null : line.ToString();
            }

            if (one[0] == '\n')
            {
                return line.ToString().TrimEnd('\r');
            }

            if (line.Length >= MaxLine)
            {
                throw new InvalidDataException($"a request line is longer than {MaxLine} characters");
            }

            line.Append(one[0]);
        }
    }

    private async ValueTask<ManagementResult> PerformAsync(string line)
    {
        line = line.Trim();
        int space = line.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0)
        {
            return ManagementResult.Error(22, $"'{line}': expected a mgmt path, a space and a command");
        }

        ManagementResult result = await _commands.ExecuteAsync(line[..space], line[(space + 1)..]).ConfigureAwait(false);
        Log.Command(_logger, line, result.Status, result.Message);
        return result;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = ScstCoreEventIds.ManagementListening, Level = LogLevel.Information, Message = "Management endpoint listening on {Path}")]
        public static partial void Listening(ILogger logger, string path);

        [LoggerMessage(EventId = ScstCoreEventIds.ManagementPeerRefused, Level = LogLevel.Warning, Message = "Management connection from uid {Uid} refused: only the target's user and root may manage it")]
        public static partial void PeerRefused(ILogger logger, uint uid);

        [LoggerMessage(EventId = ScstCoreEventIds.ManagementCommand, Level = LogLevel.Information, Message = "Management: {Command} -> {Status} {Message}")]
        public static partial void Command(ILogger logger, string command, int status, string message);

        [LoggerMessage(EventId = ScstCoreEventIds.ManagementConnectionEnded, Level = LogLevel.Debug, Message = "Management connection ended: {Reason}")]
        public static partial void ConnectionEnded(ILogger logger, string reason);
    }
}
