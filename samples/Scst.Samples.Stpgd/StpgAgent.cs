// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Scst.Events;
using Scst.Events.Remote;

namespace Scst.Samples.Stpgd;

/// <summary>
/// The agent: subscribes to the target's STPG events (as the completing subscriber, so that each one is handed to
/// it) and to its task management events, carries out each STPG with an <see cref="IAluaStateChanger"/> and reports
/// the status, and connects again whenever the event endpoint goes away.
/// </summary>
/// <remarks>
/// Each STPG event is handled on its own task, so a slow helper holds up only its own event. When the connection is
/// lost, the events in progress go on, but their status can no longer be delivered: the target has already completed
/// them with -EFAULT (subscriber gone). When the agent stops, running helpers are killed and the events in progress
/// are answered with -EINTR before the connection closes.
/// </remarks>
internal sealed class StpgAgent
{
    private static readonly TimeSpan s_firstRetry = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan s_lastRetry = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_notifyWait = TimeSpan.FromSeconds(5);

    private readonly string _eventsSocket;
    private readonly IAluaStateChanger _changer;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<Task, byte> _inProgress = new();

    public StpgAgent(string eventsSocket, IAluaStateChanger changer, ILogger<StpgAgent> logger)
    {
        _eventsSocket = eventsSocket;
        _changer = changer;
        _logger = logger;
    }

    /// <summary>Runs until <paramref name="stopping"/> is signalled, then waits for the events in progress.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        Log.Starting(_logger, _eventsSocket, _changer.Description);
        TimeSpan retry = s_firstRetry;
        bool reported = false;
        while (!stopping.IsCancellationRequested)
        {
            (ScstEventClient? client, string? failure) = await TryConnectAsync(stopping).ConfigureAwait(false);
            if (client is null)
            {
                if (stopping.IsCancellationRequested)
                {
                    break;
                }

                if (!reported)
                {
                    Log.ConnectFailed(_logger, _eventsSocket, failure!);
                    reported = true;
                }
                else
                {
                    Log.ConnectRetry(_logger, _eventsSocket, failure!, (long)retry.TotalMilliseconds);
                }

                try
                {
                    await Task.Delay(retry, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, s_lastRetry.Ticks));
                continue;
            }

            retry = s_firstRetry;
            reported = false;
            await using (client.ConfigureAwait(false))
            {
                await ReadAsync(client, stopping).ConfigureAwait(false);
                if (stopping.IsCancellationRequested)
                {
                    // The events in progress answer -EINTR on this connection before it closes.
                    Log.Stopping(_logger, _inProgress.Count);
                    await Task.WhenAll(_inProgress.Keys).ConfigureAwait(false);
                }
            }
        }

        await Task.WhenAll(_inProgress.Keys).ConfigureAwait(false);
        Log.Stopped(_logger);
    }

    // Connects and subscribes; on failure, the reason (or neither, when stopping).
    private async Task<(ScstEventClient? Client, string? Failure)> TryConnectAsync(CancellationToken stopping)
    {
        ScstEventClient? client = null;
        try
        {
            client = await ScstEventClient.ConnectAsync(_eventsSocket, stopping).ConfigureAwait(false);
            var stpg = new ScstEventFilter(ScstEventCode.StpgUserInvoke, ScstEvents.CoreIssuerName);
            var tm = new ScstEventFilter(ScstEventCode.TaskManagementFunctionReceived, ScstEvents.CoreIssuerName);
            await client.AllowAsync(stpg, observer: false, stopping).ConfigureAwait(false);
            await client.AllowAsync(tm, observer: false, stopping).ConfigureAwait(false);
            Log.Subscribed(_logger, _eventsSocket);
            return (client, null);
        }
        catch (Exception ex) when (ex is SocketException or IOException or InvalidOperationException or OperationCanceledException)
        {
            if (client is not null)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }

            return ex switch
            {
                OperationCanceledException => (null, null),
                // ENOENT from connect(2), as .NET names it.
                SocketException { SocketErrorCode: SocketError.AddressNotAvailable } => (null, "no such socket; is the target running with an event endpoint?"),
                _ => (null, ex.Message),
            };
        }
    }

    private async Task ReadAsync(ScstEventClient client, CancellationToken stopping)
    {
        long dropped = 0;
        try
        {
            await foreach (ScstEvent e in client.ReadAllAsync(stopping).ConfigureAwait(false))
            {
                if (client.DroppedCount != dropped)
                {
                    Log.EventsDropped(_logger, client.DroppedCount - dropped);
                    dropped = client.DroppedCount;
                }

                switch (e.Code)
                {
                    case ScstEventCode.StpgUserInvoke:
                        Track(Task.Run(() => HandleStpgAsync(client, e, stopping), CancellationToken.None));
                        break;
                    case ScstEventCode.TaskManagementFunctionReceived:
                        // A hook for abandoning a transition that an aborted STPG started; only logged here.
                        LogTaskManagement(e);
                        break;
                    default:
                        Log.EventIgnored(_logger, e.Code, e.IssuerName);
                        break;
                }
            }

            Log.ConnectionLost(_logger, _eventsSocket);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (IOException ex)
        {
            Log.ProtocolBroken(_logger, _eventsSocket, ex.Message);
        }
    }

    private void Track(Task task)
    {
        _inProgress.TryAdd(task, 0);
        _ = task.ContinueWith(static (t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _), _inProgress, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task HandleStpgAsync(ScstEventClient client, ScstEvent e, CancellationToken stopping)
    {
        long started = Stopwatch.GetTimestamp();
        if (!StpgUserInvokeEvent.TryParse(e.Payload.Span, out StpgUserInvokeEvent stpg))
        {
            Log.StpgMalformed(_logger, e.Id, e.Payload.Length, Errno.InvalidArgument);
            await NotifyAsync(client, e, Errno.InvalidArgument).ConfigureAwait(false);
            return;
        }

        string groups = Describe(stpg);
        Log.StpgReceived(_logger, e.Id, stpg.StpgCommandTag, stpg.DeviceName, groups);
        if (!e.ExpectsCompletion)
        {
            Log.StpgWithoutCompletion(_logger, e.Id);
        }

        int status;
        try
        {
            status = stpg.Descriptors.Count == 0 ? 0 : await _changer.ChangeAsync(stpg, stopping).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.UnexpectedFailure(_logger, e.Id, ex);
            status = Errno.IoError;
        }

        await NotifyAsync(client, e, status).ConfigureAwait(false);
        long milliseconds = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (status == 0)
        {
            Log.StpgDone(_logger, e.Id, stpg.StpgCommandTag, stpg.DeviceName, milliseconds, groups);
        }
        else
        {
            Log.StpgFailed(_logger, e.Id, stpg.StpgCommandTag, stpg.DeviceName, status, milliseconds, groups);
        }
    }

    private async Task NotifyAsync(ScstEventClient client, ScstEvent e, int status)
    {
        if (!e.ExpectsCompletion)
        {
            return;
        }

        // Not cancelled by stopping: the status of an event interrupted by a stop is still worth delivering.
        using var wait = new CancellationTokenSource(s_notifyWait);
        try
        {
            if (!await client.NotifyDoneAsync(e.Id, status, wait.Token).ConfigureAwait(false))
            {
                Log.StatusNotDelivered(_logger, e.Id, status, "the target no longer waits for it (timed out, or completed otherwise)");
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The connection the event came on is closed (and, once lost, disposed): the target answered it already.
            Log.StatusNotDelivered(_logger, e.Id, status, "the connection to the event endpoint is closed");
        }
        catch (OperationCanceledException)
        {
            Log.StatusNotDelivered(_logger, e.Id, status, "the event endpoint did not answer");
        }
    }

    private void LogTaskManagement(ScstEvent e)
    {
        if (!TaskManagementFunctionReceivedEvent.TryParse(e.Payload.Span, out TaskManagementFunctionReceivedEvent tm))
        {
            Log.TaskManagementMalformed(_logger, e.Payload.Length);
            return;
        }

        Log.TaskManagementReceived(_logger, FunctionName(tm.Function), tm.Lun, tm.DeviceName, tm.InitiatorName, tm.TargetName, tm.SessionSysfsName);
    }

    // SCST's numbering of task management functions (see TaskManagementFunctionReceivedEvent).
    private static string FunctionName(uint function) => function switch
    {
        0 => "ABORT TASK",
        1 => "ABORT TASK SET",
        2 => "CLEAR ACA",
        3 => "CLEAR TASK SET",
        4 => "LUN RESET",
        5 => "TARGET RESET",
        6 => "I_T NEXUS RESET",
        7 => "ABORT ALL TASKS (session)",
        8 => "NEXUS LOSS",
        9 => "ABORT ALL TASKS",
        12 => "QUERY TASK",
        13 => "QUERY TASK SET",
        14 => "QUERY ASYNCHRONOUS EVENT",
        _ => function.ToString(CultureInfo.InvariantCulture),
    };

    // "dg/tg1 (1) active -> standby, dg/tg2 (2) standby -> active"
    private static string Describe(StpgUserInvokeEvent stpg)
    {
        if (stpg.Descriptors.Count == 0)
        {
            return "no group changes state";
        }

        var text = new StringBuilder();
        foreach (StpgDescriptor d in stpg.Descriptors)
        {
            if (text.Length > 0)
            {
                text.Append(", ");
            }

            text.Append(CultureInfo.InvariantCulture, $"{d.DeviceGroupName}/{d.TargetGroupName} ({d.GroupId}) {d.PreviousState} -> {d.NewState}");
        }

        return text.ToString();
    }
}
