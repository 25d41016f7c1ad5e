// Licensed under the Apache License, Version 2.0.

using System.Diagnostics.Metrics;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Scst.Core;
using Scst.Events.Remote;
using Scst.UserDevice.Diagnostics;

namespace Scst.UserDevice.Target;

/// <summary>
/// Listens on the user-device socket and serves each accepted device process on its own <see cref="DeviceChannel"/>.
/// Only this user, root and the configured group may connect (SO_PEERCRED, checked on every connection).
/// </summary>
internal sealed class UserDeviceServer : IHostedService, IAsyncDisposable
{
    private readonly ScstEngine _engine;
    private readonly UserDeviceOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly List<(DeviceChannel Channel, Task Run)> _channels = [];
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _listener;
    private Task? _acceptLoop;
    private uint? _allowedGid;

    public UserDeviceServer(ScstEngine engine, IOptions<UserDeviceOptions> options, ILogger<UserDeviceServer> logger, IMeterFactory? meterFactory = null)
    {
        _engine = engine;
        _options = options.Value;
        _logger = logger;
        Metrics = new UserDeviceServerMetrics(this, meterFactory);
    }

    /// <summary>The server's instruments (the host's meter factory's meter, or one of its own).</summary>
    public UserDeviceServerMetrics Metrics { get; }

    /// <summary>The devices registered over this server and still served.</summary>
    public int ServedDeviceCount
    {
        get
        {
            lock (_lock)
            {
                int n = 0;
                foreach ((DeviceChannel channel, _) in _channels)
                {
                    if (channel.ServedDevice is not null)
                    {
                        n++;
                    }
                }

                return n;
            }
        }
    }

    /// <summary>The devices registered over this server and still connected.</summary>
    public IReadOnlyList<ScsiDevice> Devices
    {
        get
        {
            lock (_lock)
            {
                return [.. _channels.Select(c => c.Channel.Device).OfType<ScsiDevice>()];
            }
        }
    }

    /// <summary>A snapshot of the device connections (some may have ended).</summary>
    public DeviceChannel[] Channels()
    {
        lock (_lock)
        {
            var channels = new DeviceChannel[_channels.Count];
            for (int i = 0; i < channels.Length; i++)
            {
                channels[i] = _channels[i].Channel;
            }

            return channels;
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("User devices need Linux (memfd, SCM_RIGHTS, SO_PEERCRED).");
        }

        string path = Path.GetFullPath(_options.SocketPath);
        _allowedGid = _options.Group is { } group ? UnixEndpointSocket.ResolveGroupId(group) : null;
        Socket listener = UnixEndpointSocket.Listen(path, _allowedGid, 64, "the user-device server");
        _listener = listener;
        Log.Listening(_logger, path, _allowedGid is null ? "0600" : $"0660, group {_allowedGid}");
        _acceptLoop = AcceptLoopAsync(listener);
        return Task.CompletedTask;
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            if (!UnixEndpointSocket.TryGetPeerCredentials(socket, out int pid, out uint uid, out uint gid) ||
                !UnixEndpointSocket.IsAllowed(uid, gid, UnixEndpointSocket.EffectiveUserId, _allowedGid))
            {
                Log.PeerRefused(_logger, pid, uid, gid);
                socket.Dispose();
                continue;
            }

            var channel = new DeviceChannel(socket, pid, _engine, _options, _logger);
            lock (_lock)
            {
                _channels.RemoveAll(c => c.Run.IsCompleted);
                _channels.Add((channel, Task.Factory.StartNew(() => channel.Run(_stopping.Token), CancellationToken.None, TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach, TaskScheduler.Default)));
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener?.Dispose();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }

        (DeviceChannel Channel, Task Run)[] channels;
        lock (_lock)
        {
            channels = [.. _channels];
        }

        foreach ((DeviceChannel channel, _) in channels)
        {
            channel.Abort();
        }

        await Task.WhenAll(channels.Select(c => c.Run)).ConfigureAwait(false);
        try
        {
            File.Delete(Path.GetFullPath(_options.SocketPath));
        }
        catch (IOException)
        {
        }
    }

    public ValueTask DisposeAsync()
    {
        _listener?.Dispose();
        _stopping.Dispose();
        Metrics.Dispose();
        return ValueTask.CompletedTask;
    }
}
