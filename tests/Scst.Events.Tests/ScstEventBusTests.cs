// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Threading.Channels;

namespace Scst.Events.Tests;

public class ScstEventBusTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Publish_SeveralMatchingSubscribers_DeliversSameEventToEach()
    {
        using var bus = new ScstEventBus();
        using var all = bus.Subscribe(ScstEventFilter.All);
        using var core = bus.Subscribe(new ScstEventFilter(issuerName: ScstEvents.CoreIssuerName));
        using var lunOnly = bus.Subscribe(new ScstEventFilter(ScstEventCode.LunNotFound));
        using var other = bus.Subscribe(new ScstEventFilter(ScstEventCode.FirstCustomCode));
        var published = ScstEvents.LunNotFound(1, "i", "t");

        bus.Publish(published);

        foreach (var sub in new[] { all, core, lunOnly })
        {
            sub.TryRead(out var e).Should().BeTrue();
            e.Should().BeSameAs(published);
        }

        other.TryRead(out _).Should().BeFalse();
    }

    [Fact]
    public void Publish_NoSubscriber_IsDiscardedSilently()
    {
        using var bus = new ScstEventBus();

        var act = () => bus.Publish(ScstEvents.VirtualDeviceRegistered("d"));

        act.Should().NotThrow();
    }

    [Fact]
    public void Publish_PreservesOrderPerSubscriber()
    {
        using var bus = new ScstEventBus();
        using var sub = bus.Subscribe(ScstEventFilter.All);

        for (var i = 0; i < 100; i++)
        {
            bus.Publish(new ScstEvent(ScstEventCode.FirstCustomCode + i, "x"));
        }

        for (var i = 0; i < 100; i++)
        {
            sub.TryRead(out var e).Should().BeTrue();
            e!.Code.Should().Be(ScstEventCode.FirstCustomCode + i);
        }
    }

    [Fact]
    public void Publish_3000IntoDefaultCapacity_Drops952AndKeepsFirst2048()
    {
        using var bus = new ScstEventBus();
        using var sub = bus.Subscribe(ScstEventFilter.All);

        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < 3000; i++)
        {
            bus.Publish(new ScstEvent(ScstEventCode.FirstCustomCode, "x", id: (uint)i));
        }

        stopwatch.Stop();

        sub.Capacity.Should().Be(2048);
        sub.DroppedCount.Should().Be(952);
        var read = 0;
        while (sub.TryRead(out var e))
        {
            e.Id.Should().Be((uint)read); // the new events were dropped, not the old ones
            read++;
        }

        read.Should().Be(2048);
        stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5), "a full queue must not make the publisher wait");
    }

    [Fact]
    public void Publish_OneSubscriberFull_OthersStillReceive()
    {
        using var bus = new ScstEventBus();
        using var slow = bus.Subscribe(ScstEventFilter.All, capacity: 1);
        using var fast = bus.Subscribe(ScstEventFilter.All, capacity: 10);

        for (var i = 0; i < 5; i++)
        {
            bus.Publish(ScstEvents.VirtualDeviceRegistered("d"));
        }

        slow.DroppedCount.Should().Be(4);
        fast.DroppedCount.Should().Be(0);
        fast.Count.Should().Be(5);
    }

    [Fact]
    public void Publish_NonMatchingEventWhileFull_IsNotCountedAsDropped()
    {
        using var bus = new ScstEventBus();
        using var sub = bus.Subscribe(new ScstEventFilter(ScstEventCode.LunNotFound), capacity: 1);
        bus.Publish(ScstEvents.LunNotFound(0, "i", "t"));

        bus.Publish(ScstEvents.VirtualDeviceRegistered("d"));

        sub.DroppedCount.Should().Be(0);
    }

    [Fact]
    public void Publish_WarmQueues_AllocatesNothing()
    {
        using var bus = new ScstEventBus();
        using var matching = bus.Subscribe(ScstEventFilter.All, capacity: 64);
        using var other = bus.Subscribe(new ScstEventFilter(ScstEventCode.LunNotFound), capacity: 64);
        var e = ScstEvents.VirtualDeviceRegistered("d");
        PublishAndDrain(bus, matching, e); // warm up: the queue's internal buffer grows once

        var before = GC.GetAllocatedBytesForCurrentThread();
        PublishAndDrain(bus, matching, e);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        allocated.Should().Be(0);

        static void PublishAndDrain(ScstEventBus bus, ScstEventSubscription sub, ScstEvent e)
        {
            for (var round = 0; round < 100; round++)
            {
                for (var i = 0; i < 64; i++)
                {
                    bus.Publish(e);
                }

                while (sub.TryRead(out _))
                {
                }
            }
        }
    }

    [Fact]
    public void Subscribe_NonPositiveCapacity_Throws()
    {
        using var bus = new ScstEventBus();

        var act = () => bus.Subscribe(ScstEventFilter.All, capacity: 0);

        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task Publish_ConcurrentPublishers_CountsAddUp()
    {
        const int publishers = 4;
        const int perPublisher = 20_000;
        using var bus = new ScstEventBus();
        using var everything = bus.Subscribe(ScstEventFilter.All, capacity: publishers * perPublisher);
        using var small = bus.Subscribe(ScstEventFilter.All, capacity: 100);
        using var evenCodes = bus.Subscribe(new ScstEventFilter(ScstEventCode.FirstCustomCode), capacity: publishers * perPublisher);
        using var start = new Barrier(publishers);

        var tasks = Enumerable.Range(0, publishers).Select(p => Task.Factory.StartNew(
            () =>
            {
                start.SignalAndWait(Ct);
                for (var i = 0; i < perPublisher; i++)
                {
                    bus.Publish(new ScstEvent(ScstEventCode.FirstCustomCode + (i % 2), $"p{p}"));
                }
            },
            Ct,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60), Ct);

        everything.Count.Should().Be(publishers * perPublisher);
        everything.DroppedCount.Should().Be(0);
        (small.Count + small.DroppedCount).Should().Be(publishers * perPublisher);
        small.Count.Should().Be(100);
        evenCodes.Count.Should().Be(publishers * perPublisher / 2);
    }

    [Fact]
    public async Task Publish_WhileSubscriptionsComeAndGo_NeverThrows()
    {
        using var bus = new ScstEventBus();
        using var stable = bus.Subscribe(ScstEventFilter.All, capacity: 1_000_000);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var published = 0;

        var publisher = Task.Run(
            () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    bus.Publish(ScstEvents.VirtualDeviceRegistered("d"));
                    published++;
                }
            },
            Ct);
        for (var i = 0; i < 500; i++)
        {
            using var transient = bus.Subscribe(ScstEventFilter.All, capacity: 4);
        }

        await stop.CancelAsync();
        await publisher.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        bus.SubscriptionCount.Should().Be(1);
        (stable.Count + stable.DroppedCount).Should().Be(published);
    }

    [Fact]
    public async Task Dispose_Bus_EndsSubscriptionsAndIgnoresLaterPublishes()
    {
        var bus = new ScstEventBus();
        var sub = bus.Subscribe(ScstEventFilter.All);
        var read = sub.ReadAsync(Ct);

        bus.Dispose();
        bus.Publish(ScstEvents.VirtualDeviceRegistered("d"));

        var act = async () => await read;
        await act.Should().ThrowAsync<ChannelClosedException>();
        bus.SubscriptionCount.Should().Be(0);
        var subscribe = () => bus.Subscribe(ScstEventFilter.All);
        subscribe.Should().Throw<ObjectDisposedException>();
    }
}
