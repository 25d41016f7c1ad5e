// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Scst.Core;
using Scst.Events;
using Scst.Integration.Tests.Fixtures;
using Scst.Testing;
using Scst.Transport.Iscsi;

namespace Scst.Integration.Tests.Conformance;

/// <summary>A target that a conformance run talks to: started, asked for its URL, disposed.</summary>
public interface IConformanceTarget : IAsyncLifetime
{
    /// <summary>The libiscsi URL of the LU under test.</summary>
    string Url { get; }
}

/// <summary>
/// The stack the user-device configuration runs against, every part as in production: an in-process target with the
/// iSCSI driver on 127.0.0.1 (ephemeral port) and the user-device server on a Unix socket, its iSCSI target with no LUN;
/// the <c>Scst.Samples.UserFileIo</c> sample as a child process serving a sparse file of
/// <see cref="ScstTargetFixture.DiskBytes"/> in <see cref="ScstTargetFixture.BlockSize"/>-byte blocks (the plain
/// vdisk_fileio configuration's geometry, write-back, fully provisioned); and the fixture, in the host's place, mapping
/// the device as LUN 0 when its event 6 (virtual device registered) arrives. A device process that dies before the
/// fixture is disposed fails the fixture, with its output.
/// </summary>
public sealed class UserDeviceTargetFixture : IConformanceTarget
{
    public const string DeviceName = "user0";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _directory = new();
    private readonly StringBuilder _deviceOutput = new();
    private IHost? _host;
    private Process? _device;
    private bool _mapped;

    public string Url { get; private set; } = string.Empty;

    /// <summary>Whether the sample serves the file thin provisioned (<c>--thin</c>: UNMAP punches holes). Defaults to false.</summary>
    public bool ThinProvisioned { get; init; }

    /// <summary>The latest log entries of the target (Information and above).</summary>
    public RecordingLoggerProvider Logs { get; } = new() { MinimumLevel = LogLevel.Information };

    /// <summary>What the device process printed so far.</summary>
    public string DeviceOutput
    {
        get
        {
            lock (_deviceOutput)
            {
                return _deviceOutput.ToString();
            }
        }
    }

    private string SocketPath => _directory.File("user.sock");

    public async ValueTask InitializeAsync()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddProvider(Logs);
        builder.Services.AddScst()
            .AddIscsiTarget(o => o.Portals.Add("127.0.0.1:0"))
            .AddUserDevices(o => o.SocketPath = SocketPath)
            .AddTarget("iscsi", ScstTargetFixture.TargetName);
        _host = builder.Build();
        using var start = new CancellationTokenSource(Patience);
        await _host.StartAsync(start.Token);
        IPEndPoint endPoint = _host.Services.GetRequiredService<IscsiTargetDriver>().LocalEndPoints.Should().ContainSingle().Subject;
        Url = $"iscsi://{endPoint.Address}:{endPoint.Port}/{ScstTargetFixture.TargetName}/0";

        ScstEngine engine = _host.Services.GetRequiredService<ScstEngine>();
        using ScstEventSubscription registrations = _host.Services.GetRequiredService<IScstEventBus>()
            .Subscribe(new ScstEventFilter(ScstEventCode.VirtualDeviceRegistered));
        _device = StartDevice();

        // Event 6, or the device process ending first (it could not open its file, or registration was refused).
        using var wait = new CancellationTokenSource(Patience);
        Task<ScstEvent> registration = registrations.ReadAsync(wait.Token).AsTask();
        Task exited = _device.WaitForExitAsync(wait.Token);
        if (await Task.WhenAny(registration, exited) != registration || !registration.IsCompletedSuccessfully)
        {
            await wait.CancelAsync();
            throw new TestAssertionException(
                $"No event 6 for the device process (waited at most {Patience}).{Environment.NewLine}{Diagnostics()}");
        }

        VirtualDeviceRegisteredEvent.Parse(registration.Result.Payload.Span).DeviceName.Should().Be(DeviceName);
        engine.FindDevice(DeviceName)!.HandlerName.Should().Be("dev_user");
        engine.MapLun(engine.FindTarget("iscsi", ScstTargetFixture.TargetName)!, 0, DeviceName);
        _mapped = true;
        await wait.CancelAsync();
    }

    public async ValueTask DisposeAsync()
    {
        // Only a death after the LUN was mapped is news here; one before it already failed InitializeAsync.
        bool diedEarly = _mapped && _device is { HasExited: true };
        string diagnostics = diedEarly ? Diagnostics() : string.Empty;
        try
        {
            if (_host is not null)
            {
                // The target going away ends the device's connection; the sample then exits (status 3).
                using var stop = new CancellationTokenSource(ScstTargetFixture.StopBudget);
                await _host.StopAsync(stop.Token);
                _host.Dispose();
            }

            if (_device is not null)
            {
                using var exit = new CancellationTokenSource(Patience);
                try
                {
                    await _device.WaitForExitAsync(exit.Token);
                }
                catch (OperationCanceledException)
                {
                    _device.Kill();
                    if (_mapped)
                    {
                        throw new TestAssertionException($"The device process did not exit within {Patience} of the target's stop.{Environment.NewLine}{Diagnostics()}");
                    }
                }
            }
        }
        finally
        {
            _device?.Dispose();
            _directory.Dispose();
        }

        if (diedEarly)
        {
            throw new TestAssertionException($"The device process died during the run.{Environment.NewLine}{diagnostics}");
        }
    }

    // The sample, built with the solution in this test assembly's configuration: write-back, 7 threads, page cache.
    private Process StartDevice()
    {
        var info = new ProcessStartInfo(SamplePrograms.Find("Scst.Samples.UserFileIo", "Scst.Samples.UserFileIo"))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in new[]
        {
            "--socket", SocketPath,
            "--block", ScstTargetFixture.BlockSize.ToString(CultureInfo.InvariantCulture),
            "--size", ScstTargetFixture.DiskBytes.ToString(CultureInfo.InvariantCulture),
            DeviceName, _directory.File(DeviceName + ".img"),
        })
        {
            info.ArgumentList.Add(a);
        }

        if (ThinProvisioned)
        {
            info.ArgumentList.Insert(0, "--thin");
        }

        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_deviceOutput)
            {
                _deviceOutput.AppendLine(line);
            }
        }
    }

    private string Diagnostics() =>
        $"--- device process{(_device is { HasExited: true } ? $" (exit status {_device.ExitCode})" : string.Empty)} ---{Environment.NewLine}{DeviceOutput}" +
        $"--- target log ---{Environment.NewLine}{string.Join(Environment.NewLine, Logs.Faults)}";
}
