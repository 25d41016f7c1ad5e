// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Scst.Core;
using Scst.Testing;
using Scst.Transport.Local;
using Scst.UserDevice.Client;
using Scst.UserDevice.Diagnostics;
using Scst.UserDevice.Target;

namespace Scst.UserDevice.Tests;

/// <summary>
/// The user-device server's metrics, read with a MeterListener while a device process (the client library, in this
/// process) holds a known number of commands unanswered.
/// </summary>
public sealed class UserDeviceMetricsTests : IDisposable
{
    private const string DeviceName = "udev0";
    private const int Size = 1 << 20;
    private readonly TempDirectory _dir = new();
    private readonly CancellationTokenSource _cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);

    private string SocketPath => _dir.File("user.sock");

    public void Dispose()
    {
        _cts.Cancel();
        _cts.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task CommandsTheDeviceHolds_AreItsQueueDepth_UntilAnswered_ThenCountAsRequests()
    {
        const int held = 3;
        await using ScstStack stack = await StartTargetAsync();
        UserDeviceServer server = stack.Services.GetRequiredService<UserDeviceServer>();
        using var recorder = new Recorder(server.Metrics.Meter);
        recorder.Observe(UserDeviceMetrics.Devices).Should().Be(0);
        var device = new MemoryUserDevice(Size) { HoldReads = true };
        (_, Task run) = await ConnectAsync(device);
        stack.Engine.MapLun(stack.Target(), 0, DeviceName);
        LocalSession session = stack.OpenSession();
        await WaitFor.ConditionAsync(() => !device.Attached.IsEmpty, "ATTACH_SESS");
        recorder.Observe(UserDeviceMetrics.Devices).Should().Be(1);
        recorder.Observe(UserDeviceMetrics.QueueDepth, DeviceName).Should().Be(0);
        long before = recorder.Observe(UserDeviceMetrics.Requests, DeviceName);

        var reads = new List<Task<LocalResult>>();
        for (int i = 0; i < held; i++)
        {
            reads.Add(session.ExecuteAsync(0, CdbBuilder.Read10((uint)(i * 8), 8), DataDirection.Read, new byte[4096]).AsTask());
        }

        await WaitFor.ConditionAsync(() => device.HeldReads == held, $"the device process to hold {held} reads");
        recorder.Observe(UserDeviceMetrics.QueueDepth, DeviceName).Should().Be(held, "the device process holds them unanswered");
        recorder.Observe(UserDeviceMetrics.Requests, DeviceName).Should().Be(before, "nothing was answered yet");

        device.ReleaseHeldReads();
        foreach (Task<LocalResult> read in reads)
        {
            SenseAssert.IsGood(await read.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken));
        }

        recorder.Observe(UserDeviceMetrics.QueueDepth, DeviceName).Should().Be(0, "every request was answered");
        recorder.Observe(UserDeviceMetrics.Requests, DeviceName).Should().Be(before + held);

        await _cts.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        await WaitFor.ConditionAsync(() => stack.Engine.FindDevice(DeviceName) is null, "the device to be unregistered");
        recorder.Observe(UserDeviceMetrics.Devices).Should().Be(0, "a device whose process left is no longer served");
        recorder.Series(UserDeviceMetrics.QueueDepth).Should().BeEmpty("the device's series go with it");
    }

    [Fact]
    public async Task DeviceProcessDeath_EndsItsQueue_AndTheDeviceLeavesTheCount()
    {
        await using ScstStack stack = await StartTargetAsync();
        UserDeviceServer server = stack.Services.GetRequiredService<UserDeviceServer>();
        using var recorder = new Recorder(server.Metrics.Meter);
        var device = new MemoryUserDevice(Size) { HoldReads = true };
        (UserDeviceConnection connection, _) = await ConnectAsync(device);
        stack.Engine.MapLun(stack.Target(), 0, DeviceName);
        LocalSession session = stack.OpenSession();
        ValueTask<LocalResult> read = session.ExecuteAsync(0, CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[512]);
        await device.FirstHeldRead.Task.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        recorder.Observe(UserDeviceMetrics.QueueDepth, DeviceName).Should().Be(1);
        recorder.Observe(UserDeviceMetrics.Devices).Should().Be(1);

        connection.Drop();

        SenseAssert.IsCheckCondition(await read.AsTask().WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken), SenseCode.LunNotSupported);
        device.ReleaseHeldReads();
        await WaitFor.ConditionAsync(() => recorder.Observe(UserDeviceMetrics.Devices) == 0, "the dead device to leave the count");
        recorder.Series(UserDeviceMetrics.QueueDepth).Should().BeEmpty();
        server.Channels().Should().ContainSingle().Which.OutstandingRequests.Should().Be(0, "the pending request ended with the connection");
    }

    [Fact]
    public async Task WithTheHostsMeterFactory_TheInstrumentsAreOnItsMeter()
    {
        await using ScstStack stack = ScstStack.Create(b =>
        {
            b.Services.AddMetrics();
            b.AddUserDevices(o => o.SocketPath = SocketPath);
        });
        await stack.StartAsync();

        UserDeviceServer server = stack.Services.GetRequiredService<UserDeviceServer>();
        Meter meter = stack.Services.GetRequiredService<IMeterFactory>().Create(UserDeviceMetrics.MeterName);

        server.Metrics.Meter.Should().BeSameAs(meter, "the factory hands out one meter per name, the one the server took");
        using var recorder = new Recorder(meter);
        recorder.Observe(UserDeviceMetrics.Devices).Should().Be(0);
    }

    private async Task<ScstStack> StartTargetAsync()
    {
        ScstStack stack = ScstStack.Create(b => b
            .AddUserDevices(o => o.SocketPath = SocketPath)
            .AddTarget(LocalTargetDriver.DriverName, ScstStack.TargetName));
        await stack.StartAsync();
        return stack;
    }

    private async Task<(UserDeviceConnection Connection, Task Run)> ConnectAsync(MemoryUserDevice device)
    {
        var connection = new UserDeviceConnection { MaxConcurrency = 4 };
        var descriptor = new UserDeviceDescriptor { Name = DeviceName, BlockCount = Size / 512, RegionSize = 16 << 20 };
        Task run = connection.RunAsync(SocketPath, descriptor, device, _cts.Token);
        await connection.Registered.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        return (connection, run);
    }

    /// <summary>Reads a meter's observable instruments on demand, with their tags.</summary>
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(string Name, long Value, string? Device)> _observations = new();

        public Recorder(Meter meter)
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter == meter)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, tags, _) =>
            {
                string? device = null;
                foreach (KeyValuePair<string, object?> t in tags)
                {
                    if (t.Key == UserDeviceMetrics.DeviceTag)
                    {
                        device = (string?)t.Value;
                    }
                }

                _observations.Enqueue((i.Name, v, device));
            });
            _listener.Start();
        }

        /// <summary>Every series of <paramref name="name"/> observed now: (device, value).</summary>
        public List<(string? Device, long Value)> Series(string name)
        {
            _observations.Clear();
            _listener.RecordObservableInstruments();
            return [.. _observations.Where(o => o.Name == name).Select(o => (o.Device, o.Value))];
        }

        /// <summary>The value of <paramref name="name"/> observed now, for one device or (null) the untagged series.</summary>
        public long Observe(string name, string? device = null)
        {
            List<(string? Device, long Value)> series = Series(name);
            series.Should().ContainSingle(s => s.Device == device, $"{name} has one series for {device ?? "the server"}");
            return series.Single(s => s.Device == device).Value;
        }

        public void Dispose() => _listener.Dispose();
    }
}
