// Licensed under the Apache License, Version 2.0.

using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Scst.Core.Management;
using Scst.Events;

namespace Scst.Samples.Stpgd;

/// <summary>
/// Makes the changes of an STPG event itself, with no helper: writes each new state to
/// <c>device_groups/DG/target_groups/TG/state</c> through the management endpoint, one connection per event (so a
/// restarted target is simply reached again).
/// </summary>
/// <remarks>
/// Every group is written even after one write fails; the status is 0 when all succeeded, else the first failure: the
/// endpoint's negated errno (-ENOENT for a group that does not exist, -EINVAL for a state it does not know),
/// <see cref="Errno.ConnectionRefused"/> or <see cref="Errno.AccessDenied"/> when the endpoint cannot be used,
/// <see cref="Errno.IoError"/> when it drops the connection, <see cref="Errno.TimedOut"/> when the writes of the event
/// take longer than the timeout.
/// </remarks>
internal sealed class ManagementStateChanger : IAluaStateChanger
{
    private readonly string _socket;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;

    public ManagementStateChanger(string socket, TimeSpan timeout, ILogger<ManagementStateChanger> logger)
    {
        _socket = socket;
        _timeout = timeout;
        _logger = logger;
    }

    public string Description => $"new states written through the management endpoint at {_socket}";

    public async Task<int> ChangeAsync(StpgUserInvokeEvent stpg, CancellationToken stopping)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        limit.CancelAfter(_timeout);
        try
        {
            await using ManagementClient client = await ManagementClient.ConnectAsync(_socket, limit.Token).ConfigureAwait(false);
            int status = 0;
            foreach (StpgDescriptor group in stpg.Descriptors)
            {
                int result = await WriteAsync(client, group, limit.Token).ConfigureAwait(false);
                if (status == 0)
                {
                    status = result;
                }
            }

            return status;
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested)
        {
            if (stopping.IsCancellationRequested)
            {
                return Errno.Interrupted;
            }

            Log.ManagementTimedOut(_logger, stpg.DeviceName, _timeout.TotalSeconds);
            return Errno.TimedOut;
        }
        catch (SocketException ex)
        {
            Log.ManagementFailed(_logger, _socket, ex.Message);
            return ex.SocketErrorCode == SocketError.AccessDenied ? Errno.AccessDenied : Errno.ConnectionRefused;
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException)
        {
            Log.ManagementFailed(_logger, _socket, ex.Message);
            return Errno.IoError;
        }
    }

    private async Task<int> WriteAsync(ManagementClient client, StpgDescriptor group, CancellationToken cancellationToken)
    {
        ManagementResult result;
        try
        {
            result = await client.WriteAsync($"device_groups/{group.DeviceGroupName}/target_groups/{group.TargetGroupName}/state", group.NewState, cancellationToken).ConfigureAwait(false);
        }
        catch (ArgumentException ex)
        {
            // A name with white space, or an empty state: nothing the endpoint could be asked.
            Log.StateWriteFailed(_logger, group.DeviceGroupName, group.TargetGroupName, group.NewState, Errno.InvalidArgument, ex.Message);
            return Errno.InvalidArgument;
        }

        if (result.Succeeded)
        {
            Log.StateWritten(_logger, group.DeviceGroupName, group.TargetGroupName, group.NewState);
            return 0;
        }

        Log.StateWriteFailed(_logger, group.DeviceGroupName, group.TargetGroupName, group.NewState, result.Status, result.Message.TrimEnd());

        // The endpoint answers a negative errno; anything else would read as success or as a helper's exit code.
        return result.Status < 0 ? result.Status : Errno.IoError;
    }
}
