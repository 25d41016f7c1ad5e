// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Scst.Events.Diagnostics;
using Scst.Events.Remote;

namespace Scst.Events.Tests;

/// <summary>The bus's and the endpoint's metrics under a known load, read with a MeterListener.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ScstEventsMetricsTests
{
    private static readonly (string, object) s_lunAdded = (ScstEventsMetrics.CodeTag, "lun_added");

    [Fact]
    public async Task Publish_CountsEachEventByTheNameOfItsCode()
    {
        using var bus = new ScstEventBus();
        using var recorder = new MetricRecorder(bus.Metrics.Meter);

        for (var i = 0; i < 3; i++)
        {
            bus.Publish(ScstEvents.SessionAdded(new SessionEvent("iscsi", "iqn.t", "iqn.i", "iqn.i-1")));
        }

        bus.Publish(ScstEvents.LunNotFound(1, "iqn.i", "iqn.t"));
        bus.Publish(ScstEvents.LunNotFound(2, "iqn.i", "iqn.t"));
        bus.Publish(new ScstEvent(4242, "an application"));
        var status = await bus.PublishAndWaitAsync(new ScstEvent(ScstEventCode.StpgUserInvoke, "x"), TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        status.Should().Be(ScstEventStatus.NoSubscriber);
        recorder.Sum(ScstEventsMetrics.Published, (ScstEventsMetrics.CodeTag, "session_added")).Should().Be(3);
        recorder.Sum(ScstEventsMetrics.Published, (ScstEventsMetrics.CodeTag, "lun_not_found")).Should().Be(2);
        recorder.Sum(ScstEventsMetrics.Published, (ScstEventsMetrics.CodeTag, ScstEventsMetrics.CustomCode)).Should().Be(1, "a code without a name is counted as custom, so the tag's values stay a fixed set");
        recorder.Sum(ScstEventsMetrics.Published, (ScstEventsMetrics.CodeTag, "stpg_user_invoke")).Should().Be(1, "a completion event is published too");
        recorder.Sum(ScstEventsMetrics.Published).Should().Be(7);
        recorder.Sum(ScstEventsMetrics.Dropped).Should().Be(0, "nobody subscribed, so nothing was dropped");
    }

    [Fact]
    public void CodeTag_NamesEveryNamedCode_InLowerCaseWithUnderscores()
    {
        EventBusMetrics.CodeName(ScstEventCode.TaskManagementFunctionReceived).Should().Be("task_management_function_received");
        EventBusMetrics.CodeName(ScstEventCode.VirtualDeviceRegistered).Should().Be("virtual_device_registered");
        EventBusMetrics.CodeName(ScstEventCode.CapacityChanged).Should().Be("capacity_changed");
        EventBusMetrics.CodeName(0).Should().Be(ScstEventsMetrics.CustomCode);
        EventBusMetrics.CodeName(ScstEventCode.FirstCustomCode + 50).Should().Be(ScstEventsMetrics.CustomCode);
    }

    [Fact]
    public async Task FullQueue_CountsEachDropByCode_AsTheSubscriptionDoes()
    {
        using var bus = new ScstEventBus();
        using var recorder = new MetricRecorder(bus.Metrics.Meter);
        using var small = bus.Subscribe(ScstEventFilter.All, capacity: 2);
        using var large = bus.Subscribe(ScstEventFilter.All, capacity: 100, observer: true);

        for (var i = 0; i < 5; i++)
        {
            bus.Publish(new ScstEvent(ScstEventCode.LunAdded, "test"));
        }

        var status = await bus.PublishAndWaitAsync(new ScstEvent(ScstEventCode.StpgUserInvoke, "x"), TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        status.Should().Be(ScstEventStatus.QueueFull, "the completing subscriber's queue is full");
        small.DroppedCount.Should().Be(4);
        large.DroppedCount.Should().Be(0);
        recorder.Sum(ScstEventsMetrics.Dropped, s_lunAdded).Should().Be(3);
        recorder.Sum(ScstEventsMetrics.Dropped, (ScstEventsMetrics.CodeTag, "stpg_user_invoke")).Should().Be(1);
        recorder.Sum(ScstEventsMetrics.Published).Should().Be(6);
    }

    [Fact]
    public void Publish_WithAListener_AllocatesNothingToCountTheEvent()
    {
        using var bus = new ScstEventBus();
        long recorded = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == bus.Metrics.Meter)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, _, _) => Interlocked.Increment(ref recorded));
        listener.Start();
        var scstEvent = new ScstEvent(ScstEventCode.SessionAdded, "test");
        for (var i = 0; i < 1000; i++)
        {
            bus.Publish(scstEvent);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            bus.Publish(scstEvent);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Interlocked.Read(ref recorded).Should().Be(11_000, "every publication was counted");
        allocated.Should().BeLessThan(10_000, "counting an event with its code's tag allocates nothing: less than a byte per publication allows for the runtime's own one-off allocations, while one object per event would be 240 KB");
    }

    [Fact]
    public async Task RemoteSubscriberThatDoesNotRead_QueueDepthGrows_ThenDrainsAsItReads()
    {
        const int count = 10_000;
        await using var fixture = await EndpointFixture.StartAsync(o => o.QueueCapacity = 2 * count);
        using var recorder = new MetricRecorder(fixture.Bus.Metrics.Meter, fixture.Endpoint.Metrics.Meter);
        using var client = await SubscribeAsync(fixture.SocketPath);
        using var idle = new RawClient(fixture.SocketPath); // connected, never subscribes
        idle.Send(RawClient.Hello());
        (await idle.ReceiveAsync())!.Value.Type.Should().Be(EventProtocol.Hello);
        await WaitForAsync(() => fixture.Endpoint.ConnectionCount == 2, "both connections to be accepted");

        // Each event is larger than the others so that the socket's buffer holds far fewer than count of them.
        for (var i = 0; i < count; i++)
        {
            fixture.Bus.Publish(new ScstEvent(ScstEventCode.LunAdded, "test", new byte[256]));
        }

        var depth = recorder.Observe(ScstEventsMetrics.QueueDepth);
        recorder.Sum(ScstEventsMetrics.Published, s_lunAdded).Should().Be(count);
        depth.Should().BeInRange(1, count, "a subscriber that does not read leaves what its socket cannot hold in its queue");
        recorder.Observe(ScstEventsMetrics.Subscribers).Should().Be(1, "a connection counts as a subscriber once it sent an ALLOW");

        var received = 0;
        while (received < count)
        {
            var message = await client.ReceiveAsync();
            message.Should().NotBeNull();
            message!.Value.Type.Should().Be(EventProtocol.Event, "the queue was large enough: nothing was dropped");
            received++;
        }

        await WaitForAsync(() => recorder.Observe(ScstEventsMetrics.QueueDepth) == 0, "the queue depth to come back to 0 once every event was read");
        recorder.Sum(ScstEventsMetrics.Dropped).Should().Be(0);
        client.Dispose();
        await WaitForAsync(() => recorder.Observe(ScstEventsMetrics.Subscribers) == 0, "the subscriber to go with its connection");
    }

    [Fact]
    public async Task RemoteSubscriberWithAFullQueue_ShowsItsCapacityPlusTheEventBeingWritten_AndDroppedCountsWhatItWasTold()
    {
        const int capacity = 16;
        await using var fixture = await EndpointFixture.StartAsync(o => o.QueueCapacity = capacity);
        using var recorder = new MetricRecorder(fixture.Bus.Metrics.Meter, fixture.Endpoint.Metrics.Meter);
        using var client = await SubscribeAsync(fixture.SocketPath);
        var published = 0;

        // Publish until the socket is full and the send loop waits with one event in hand while the queue is full.
        await WaitForAsync(
            () =>
            {
                for (var i = 0; i < 50; i++)
                {
                    fixture.Bus.Publish(new ScstEvent(ScstEventCode.LunAdded, "test", new byte[256]));
                    published++;
                }

                return recorder.Observe(ScstEventsMetrics.QueueDepth) == capacity + 1;
            },
            "the queue depth to reach the queue's capacity plus the event being written");
        long events = 0;
        ulong told = 0;
        while (events + (long)told < published)
        {
            var message = await client.ReceiveAsync();
            message.Should().NotBeNull();
            if (message!.Value.Type == EventProtocol.Dropped)
            {
                told = BinaryPrimitives.ReadUInt64LittleEndian(message.Value.Body);
            }
            else
            {
                message.Value.Type.Should().Be(EventProtocol.Event);
                events++;
            }
        }

        told.Should().BeGreaterThan(0);
        recorder.Sum(ScstEventsMetrics.Dropped, s_lunAdded).Should().Be((long)told, "the metric counts the drops the subscriber is told of");
        recorder.Sum(ScstEventsMetrics.Published, s_lunAdded).Should().Be(published);
        await WaitForAsync(() => recorder.Observe(ScstEventsMetrics.QueueDepth) == 0, "the queue depth to come back to 0");
    }

    [Fact]
    public async Task InAContainerWithAMeterFactory_TheBusAndTheEndpointTakeTheirMeterFromIt()
    {
        var services = new ServiceCollection();
        using var factory = new RecordingMeterFactory();
        services.AddSingleton<IMeterFactory>(factory);
        services.AddScstEventEndpoint(o => o.SocketPath = "/nonexistent/events.sock");

        await using var provider = services.BuildServiceProvider();
        var bus = (ScstEventBus)provider.GetRequiredService<IScstEventBus>();
        var endpoint = provider.GetRequiredService<ScstEventEndpoint>();

        factory.Created.Should().HaveCount(2).And.OnlyContain(m => m.Name == ScstEventsMetrics.MeterName);
        bus.Metrics.Meter.Should().BeSameAs(factory.Created[0]);
        endpoint.Metrics.Meter.Should().BeSameAs(factory.Created[1]);
    }

    // A raw client that says HELLO and ALLOWs every event, then reads only when the test says so.
    private static async Task<RawClient> SubscribeAsync(string path)
    {
        var client = new RawClient(path);
        client.Send(RawClient.Hello());
        (await client.ReceiveAsync())!.Value.Type.Should().Be(EventProtocol.Hello);
        client.Send(RawClient.Allow(0));
        (await client.ReceiveResultAsync()).Should().Be(ScstEventStatus.Success);
        return client;
    }

    // Waits for a condition another thread brings about; fails after a generous bound (not a timing assertion).
    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var give = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > give)
            {
                throw new Xunit.Sdk.XunitException($"Gave up waiting for {what}.");
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>A meter factory that keeps what it made (the host's factory would cache one meter per name).</summary>
    private sealed class RecordingMeterFactory : IMeterFactory
    {
        public List<Meter> Created { get; } = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options.Name, options.Version);
            Created.Add(meter);
            return meter;
        }

        public void Dispose()
        {
            foreach (var meter in Created)
            {
                meter.Dispose();
            }
        }
    }
}
