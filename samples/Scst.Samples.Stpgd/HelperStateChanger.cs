// Licensed under the Apache License, Version 2.0.

using System.ComponentModel;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Scst.Events;

namespace Scst.Samples.Stpgd;

/// <summary>
/// Makes the changes of an STPG event by running a helper program once per target group, all at once, each bounded by
/// a timeout after which it is killed with every process it started.
/// </summary>
/// <remarks>
/// <para>The helper gets the arguments DEVICE PREV_STATE NEW_STATE DEVICE_GROUP TARGET_GROUP and the same values in
/// its environment (SCST_DEVICE_NAME, SCST_PREV_ALUA_STATE, SCST_ALUA_STATE, SCST_DEVICE_GROUP, SCST_TARGET_GROUP),
/// plus SCST_MGMT_SOCKET when the agent was given one. It inherits the agent's other variables, except PATH, which is
/// /bin:/usr/bin:/sbin:/usr/sbin. Its standard input is empty; each line it writes to stdout or stderr is logged.</para>
/// <para>The status is 0 when every helper exited with 0, else the first non-zero result in the event's order: the
/// helper's exit code, <see cref="Errno.TimedOut"/> for a helper that was killed at the timeout,
/// <see cref="Errno.Interrupted"/> for one killed because the agent stops, the negated errno of a failed start
/// (-ENOENT, -EACCES, -ENOEXEC...).</para>
/// </remarks>
internal sealed class HelperStateChanger : IAluaStateChanger
{
    /// <summary>The PATH a helper runs with, as SCST's stpgd sets it.</summary>
    public const string HelperPath = "/bin:/usr/bin:/sbin:/usr/sbin";

    // A helper that leaves a process behind holding its output keeps the pipes open; its lines are read this much longer.
    private static readonly TimeSpan s_outputGrace = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan s_killWait = TimeSpan.FromSeconds(5);

    private readonly string _helper;
    private readonly string? _managementSocket;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;

    public HelperStateChanger(string helper, string? managementSocket, TimeSpan timeout, ILogger<HelperStateChanger> logger)
    {
        _helper = helper;
        _managementSocket = managementSocket;
        _timeout = timeout;
        _logger = logger;
    }

    public string Description => $"helper {_helper} (timeout {_timeout.TotalSeconds:0} s)";

    public async Task<int> ChangeAsync(StpgUserInvokeEvent stpg, CancellationToken stopping)
    {
        // Starting a process blocks for a while (fork and exec): each helper is started from its own task.
        var runs = new Task<int>[stpg.Descriptors.Count];
        for (int i = 0; i < runs.Length; i++)
        {
            StpgDescriptor group = stpg.Descriptors[i];
            runs[i] = Task.Run(() => RunAsync(stpg.DeviceName, group, stopping), CancellationToken.None);
        }

        int[] results = await Task.WhenAll(runs).ConfigureAwait(false);
        foreach (int result in results)
        {
            if (result != 0)
            {
                return result;
            }
        }

        return 0;
    }

    private async Task<int> RunAsync(string device, StpgDescriptor group, CancellationToken stopping)
    {
        var info = new ProcessStartInfo(_helper)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        info.ArgumentList.Add(device);
        info.ArgumentList.Add(group.PreviousState);
        info.ArgumentList.Add(group.NewState);
        info.ArgumentList.Add(group.DeviceGroupName);
        info.ArgumentList.Add(group.TargetGroupName);
        info.Environment["SCST_DEVICE_NAME"] = device;
        info.Environment["SCST_PREV_ALUA_STATE"] = group.PreviousState;
        info.Environment["SCST_ALUA_STATE"] = group.NewState;
        info.Environment["SCST_DEVICE_GROUP"] = group.DeviceGroupName;
        info.Environment["SCST_TARGET_GROUP"] = group.TargetGroupName;
        info.Environment["PATH"] = HelperPath;
        if (_managementSocket is not null)
        {
            info.Environment["SCST_MGMT_SOCKET"] = _managementSocket;
        }

        long started = Stopwatch.GetTimestamp();
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException("no process was started");
        }
        catch (Win32Exception ex)
        {
            Log.HelperCannotStart(_logger, _helper, group.DeviceGroupName, group.TargetGroupName, ex.Message);
            return ex.NativeErrorCode > 0 ? -ex.NativeErrorCode : Errno.IoError;
        }
        catch (InvalidOperationException ex)
        {
            Log.HelperCannotStart(_logger, _helper, group.DeviceGroupName, group.TargetGroupName, ex.Message);
            return Errno.IoError;
        }

        using (process)
        {
            int pid = process.Id;
            Log.HelperStarted(_logger, pid, group.DeviceGroupName, group.TargetGroupName, group.PreviousState, group.NewState);
            process.StandardInput.Close();
            Task output = Task.WhenAll(
                PumpAsync(process.StandardOutput, pid, group, "stdout"),
                PumpAsync(process.StandardError, pid, group, "stderr"));

            int status;
            using (var limit = CancellationTokenSource.CreateLinkedTokenSource(stopping))
            {
                limit.CancelAfter(_timeout);
                try
                {
                    await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
                    status = process.ExitCode;
                }
                catch (OperationCanceledException)
                {
                    await KillTreeAsync(process).ConfigureAwait(false);
                    if (stopping.IsCancellationRequested)
                    {
                        Log.HelperInterrupted(_logger, pid, group.DeviceGroupName, group.TargetGroupName);
                        status = Errno.Interrupted;
                    }
                    else
                    {
                        Log.HelperTimedOut(_logger, pid, group.DeviceGroupName, group.TargetGroupName, _timeout.TotalSeconds);
                        status = Errno.TimedOut;
                    }
                }
            }

            await Task.WhenAny(output, Task.Delay(s_outputGrace, CancellationToken.None)).ConfigureAwait(false);
            long milliseconds = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (status == 0)
            {
                Log.HelperExited(_logger, pid, group.DeviceGroupName, group.TargetGroupName, status, milliseconds);
            }
            else if (status is not (Errno.TimedOut or Errno.Interrupted))
            {
                Log.HelperFailed(_logger, pid, group.DeviceGroupName, group.TargetGroupName, status, milliseconds);
            }

            return status;
        }
    }

    // SIGKILL to the helper and every process below it, then waits (boundedly) until the helper is reaped.
    private static async Task KillTreeAsync(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited meanwhile.
        }
        catch (Win32Exception)
        {
            // A process of the tree could not be signalled (exited, or not ours); the helper itself is gone or going.
        }

        try
        {
            await process.WaitForExitAsync(CancellationToken.None).WaitAsync(s_killWait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Not reaped yet; its status is the timeout's either way.
        }
    }

    // Logs each line the helper writes until the stream ends (or the process object is disposed).
    private async Task PumpAsync(StreamReader reader, int pid, StpgDescriptor group, string stream)
    {
        try
        {
            while (await reader.ReadLineAsync(CancellationToken.None).ConfigureAwait(false) is { } line)
            {
                Log.HelperOutput(_logger, pid, group.DeviceGroupName, group.TargetGroupName, stream, line);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The pipe went away with the process object.
        }
    }
}
