// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Scst.Core.Configuration;
using Scst.Events.Remote;

namespace Scst.Core.Management;

/// <summary>Options of the management endpoint.</summary>
public sealed class ManagementEndpointOptions
{
    /// <summary>The Unix socket's path. Defaults to <c>/run/scst/mgmt.sock</c>.</summary>
    public string SocketPath { get; set; } = "/run/scst/mgmt.sock";
}

/// <summary>
/// The management tree (<see cref="ManagementTree"/>) and configuration (<see cref="ScstConfigApplier"/>) on a Unix
/// stream socket that only the target's own user (and root) may use: the socket file is created with mode 0600 and
/// every peer's credentials are checked (SO_PEERCRED). <see cref="ManagementClient"/> speaks it.
/// </summary>
/// <remarks>
/// <para>Each request is one line (at most 4 KiB), performed in order; a configuration request is followed by its text,
/// as many bytes as the line says. Each answer is one line, <c>STATUS LENGTH</c>, followed by LENGTH bytes of UTF-8
/// text: STATUS is 0 or a negative errno; the text is what the request returns, or what failed and why.</para>
/// <list type="table">
/// <item><term><c>read PATH</c></term><description>an attribute's value (a last line <c>[key]</c> for a key attribute), or a mgmt file's help</description></item>
/// <item><term><c>list [PATH]</c></term><description>a directory's entries, one per line, directories with a trailing '/'</description></item>
/// <item><term><c>write PATH TEXT</c></term><description>a command to a mgmt file (<c>write targets/iscsi/T/luns/mgmt add disk1 0</c>) or a value to an attribute</description></item>
/// <item><term><c>config check LENGTH</c></term><description>scst.conf text: checked against the running state, nothing applied; answers the changes it would make</description></item>
/// <item><term><c>config apply [force] LENGTH</c></term><description>scst.conf text applied as a difference; answers the changes made (see <see cref="ScstConfigApplyOptions.Force"/>)</description></item>
/// <item><term><c>config save [nonkey]</c></term><description>the running state as scst.conf text</description></item>
/// </list>
/// <para>A line whose first word is a path ending in <c>mgmt</c> is a write (<c>targets/iscsi/T/luns/mgmt add disk1 0</c>).
/// The endpoint logs each request, but never the value of a secret (CHAP users and passwords).</para>
/// </remarks>
public sealed partial class ManagementEndpoint : IHostedService, IAsyncDisposable
{
    private const int MaxLine = 4096;
    private const int MaxConfiguration = 16 << 20;
    private readonly ScstEngine _engine;
    private readonly ManagementTree _tree;
    private readonly ManagementEndpointOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _serial = new(1, 1);
    private Socket? _listener;
    private Task _accepting = Task.CompletedTask;
    private int _disposed;

    /// <summary>Creates the endpoint.</summary>
    /// <param name="engine">The core.</param>
    /// <param name="options">Where to listen.</param>
    /// <param name="logger">The logger.</param>
    public ManagementEndpoint(ScstEngine engine, IOptions<ManagementEndpointOptions> options, ILogger<ManagementEndpoint>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(options);
        _engine = engine;
        _tree = new ManagementTree(engine);
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
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

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
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stop.Dispose();
        _serial.Dispose();
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
                var reader = new FramedStream(stream);
                try
                {
                    while (await reader.ReadLineAsync(MaxLine, _stop.Token).ConfigureAwait(false) is { } line)
                    {
                        ManagementResult result;

                        // One request at a time across connections: a configuration is applied against a state that
                        // no other request changes meanwhile.
                        await _serial.WaitAsync(_stop.Token).ConfigureAwait(false);
                        try
                        {
                            result = await PerformAsync(line, reader).ConfigureAwait(false);
                        }
                        finally
                        {
                            _serial.Release();
                        }

                        byte[] text = Encoding.UTF8.GetBytes(result.Message);
                        byte[] head = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{result.Status} {text.Length}\n"));
                        await stream.WriteAsync(head, _stop.Token).ConfigureAwait(false);
                        await stream.WriteAsync(text, _stop.Token).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidDataException or SocketException)
                {
                    Log.ConnectionEnded(_logger, ex.Message);
                }
            }
        }
    }

    private async ValueTask<ManagementResult> PerformAsync(string line, FramedStream reader)
    {
        line = line.Trim();
        string[] words = line.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        ManagementResult result;
        string logged;
        switch (words)
        {
            case ["read", string path]:
                result = _tree.Read(path);
                logged = line;
                break;
            case ["list"]:
                result = _tree.List(string.Empty);
                logged = line;
                break;
            case ["list", string path]:
                result = _tree.List(path);
                logged = line;
                break;
            case ["write", string path, string text]:
                result = await _tree.WriteAsync(path, text).ConfigureAwait(false);
                logged = _tree.IsSecretWrite(path, text) ? $"write {path} (value not logged)" : line;
                break;
            case ["config", ..]:
                result = await ConfigureAsync(line.Split(' ', StringSplitOptions.RemoveEmptyEntries), reader).ConfigureAwait(false);
                logged = line;
                break;
            case [string path, string text] when path.EndsWith("mgmt", StringComparison.Ordinal):
                result = await _tree.WriteAsync(path, text).ConfigureAwait(false);
                logged = _tree.IsSecretWrite(path, text) ? $"{path} (value not logged)" : line;
                break;
            case [string path, string first, string rest] when path.EndsWith("mgmt", StringComparison.Ordinal):
                result = await _tree.WriteAsync(path, first + " " + rest).ConfigureAwait(false);
                logged = _tree.IsSecretWrite(path, first + " " + rest) ? $"{path} {first} (value not logged)" : line;
                break;
            default:
                // The line is not repeated: a mistyped request may hold a secret.
                result = ManagementResult.Error(22, $"'{(words.Length > 0 ? words[0] : string.Empty)}': expected read PATH, list [PATH], write PATH TEXT, config check|apply [force] LENGTH, config save [nonkey]");
                logged = words.Length > 0 ? words[0] : string.Empty;
                break;
        }

        Log.Command(_logger, logged, result.Status, result.Succeeded ? string.Empty : result.Message);
        return result;
    }

    private async ValueTask<ManagementResult> ConfigureAsync(string[] words, FramedStream reader)
    {
        switch (words)
        {
            case ["config", "save"]:
                return ManagementResult.Text(ScstConfigWriter.Write(ScstConfigApplier.Capture(_engine)));
            case ["config", "save", "nonkey"]:
                return ManagementResult.Text(ScstConfigWriter.Write(ScstConfigApplier.Capture(_engine, includeNonKey: true)));
            case ["config", "check" or "apply", .., string lengthText] when int.TryParse(lengthText, NumberStyles.None, CultureInfo.InvariantCulture, out int length):
            {
                if (length > MaxConfiguration)
                {
                    throw new InvalidDataException($"a configuration of {length} bytes is larger than {MaxConfiguration}");
                }

                string text = Encoding.UTF8.GetString(await reader.ReadBytesAsync(length, _stop.Token).ConfigureAwait(false));
                bool apply = words[1] == "apply";
                bool force = words.Length == 4 && words[2] == "force";
                if (words.Length != 3 && !(apply && force))
                {
                    return ManagementResult.Error(22, $"'{string.Join(' ', words)}': expected config check LENGTH or config apply [force] LENGTH");
                }

                ScstConfiguration configuration;
                try
                {
                    configuration = ScstConfigReader.Parse(text, "configuration");
                }
                catch (ScstConfigException ex)
                {
                    return ManagementResult.Error(22, ex.Message);
                }

                var applier = new ScstConfigApplier(_engine, _logger);
                ScstConfigApplyResult outcome = await applier.ApplyAsync(configuration, new ScstConfigApplyOptions { Force = force, DryRun = !apply }).ConfigureAwait(false);
                return outcome.Succeeded ? ManagementResult.Text(outcome.Describe()) : ManagementResult.Error(outcome.ErrorNumber, outcome.Describe());
            }

            default:
                return ManagementResult.Error(22, $"'{string.Join(' ', words)}': expected config check LENGTH, config apply [force] LENGTH or config save [nonkey]");
        }
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
