// Licensed under the Apache License, Version 2.0.

using System.Threading.Channels;

namespace Scst.Events.Tests;

public class ScstEventSubscriptionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void AddFilter_SecondFilter_WidensSelection()
    {
        using var bus = new ScstEventBus();
        using var sub = bus.Subscribe(new ScstEventFilter(ScstEventCode.LunNotFound));

        sub.AddFilter(new ScstEventFilter(ScstEventCode.VirtualDeviceRegistered)).Should().BeTrue();
        bus.Publish(ScstEvents.LunNotFound(0, "i", "t"));
        bus.Publish(ScstEvents.VirtualDeviceRegistered("d"));
        bus.Publish(ScstEvents.NegativeLunsInquiry("i", "t"));

        sub.Count.Should().Be(2);
    }

    [Fact]
    public void AddFilter_EventMatchingTwoFilters_IsQueuedOnce()
    {
        using var bus = new ScstEventBus();
        using var sub = bus.Subscribe(ScstEventFilter.All);
        sub.AddFilter(new ScstEventFilter(ScstEventCode.LunNotFound));

        bus.Publish(ScstEvents.LunNotFound(0, "i", "t"));

        sub.Count.Should().Be(1);
    }

    [Fact]
    public void AddFilter_DuplicateFilter_ReturnsFalse()
    {
        using var bus = new ScstEventBus();
        using var sub = bus.Subscribe(new ScstEventFilter(1, "x"));

        sub.AddFilter(new ScstEventFilter(1, "x")).Should().BeFalse();
        sub.Filters.Should().HaveCount(1);
    }

    [Fact]
    public void RemoveFilter_AllPattern_RemovesEveryFilterAndStopsDelivery()
    {
        using var bus = new ScstEventBus();
        using var sub = bus.Subscribe(new ScstEventFilter(1));
        sub.AddFilter(new ScstEventFilter(2, "x", new byte[] { 1 }));

        var removed = sub.RemoveFilter(ScstEventFilter.All);
        bus.Publish(ScstEvents.LunNotFound(0, "i", "t"));

        removed.Should().Be(2);
        sub.Filters.Should().BeEmpty();
        sub.TryRead(out _).Should().BeFalse();
    }

    [Fact]
    public void RemoveFilter_CodePattern_RemovesOnlyFiltersOfThatCode()
    {
        using var bus = new ScstEventBus();
        using var sub = bus.Subscribe(new ScstEventFilter(1, "a"));
        sub.AddFilter(new ScstEventFilter(1, "b"));
        sub.AddFilter(new ScstEventFilter(2, "a"));

        var removed = sub.RemoveFilter(new ScstEventFilter(1));

        removed.Should().Be(2);
        sub.Filters.Should().ContainSingle().Which.Should().Be(new ScstEventFilter(2, "a"));
    }

    [Fact]
    public void RemoveFilter_NothingCovered_ReturnsZero()
    {
        using var bus = new ScstEventBus();
        using var sub = bus.Subscribe(new ScstEventFilter(1, "a"));

        sub.RemoveFilter(new ScstEventFilter(1, "b")).Should().Be(0);
        sub.Filters.Should().HaveCount(1);
    }

    [Fact]
    public void TryRead_EmptyQueue_ReturnsFalse()
    {
        using var bus = new ScstEventBus();
        using var sub = bus.Subscribe(ScstEventFilter.All);

        sub.TryRead(out var e).Should().BeFalse();
        e.Should().BeNull();
    }

    [Fact]
    public async Task ReadAsync_EventPublishedLater_CompletesWithThatEvent()
    {
        using var bus = new ScstEventBus();
        using var sub = bus.Subscribe(ScstEventFilter.All);
        var read = sub.ReadAsync(Ct);
        read.IsCompleted.Should().BeFalse();

        var published = ScstEvents.VirtualDeviceRegistered("d");
        bus.Publish(published);

        (await read).Should().BeSameAs(published);
    }

    [Fact]
    public async Task ReadAsync_Cancelled_ThrowsOperationCanceled()
    {
        using var bus = new ScstEventBus();
        using var sub = bus.Subscribe(ScstEventFilter.All);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var read = sub.ReadAsync(cts.Token);

        await cts.CancelAsync();

        var act = async () => await read;
        await act.Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task Dispose_PendingReadAsync_EndsWithChannelClosed()
    {
        using var bus = new ScstEventBus();
        var sub = bus.Subscribe(ScstEventFilter.All);
        var read = sub.ReadAsync(Ct);

        sub.Dispose();

        var act = async () => await read;
        await act.Should().ThrowAsync<ChannelClosedException>();
    }

    [Fact]
    public async Task Dispose_PendingReadAllAsync_CompletesAfterQueuedEvents()
    {
        using var bus = new ScstEventBus();
        var sub = bus.Subscribe(ScstEventFilter.All);
        bus.Publish(ScstEvents.VirtualDeviceRegistered("a"));
        var received = new List<ScstEvent>();
        var reader = Task.Run(
            async () =>
            {
                await foreach (var e in sub.ReadAllAsync(Ct))
                {
                    received.Add(e);
                }
            },
            Ct);

        sub.Dispose();
        await reader.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        received.Should().ContainSingle();
    }

    [Fact]
    public void Dispose_Subscription_UnsubscribesAndStopsQueueing()
    {
        using var bus = new ScstEventBus();
        var sub = bus.Subscribe(ScstEventFilter.All);

        sub.Dispose();
        sub.Dispose();
        bus.Publish(ScstEvents.VirtualDeviceRegistered("a"));

        bus.SubscriptionCount.Should().Be(0);
        sub.TryRead(out _).Should().BeFalse();
        sub.DroppedCount.Should().Be(0);
    }

    [Fact]
    public void AddFilter_AfterDispose_ThrowsObjectDisposed()
    {
        using var bus = new ScstEventBus();
        var sub = bus.Subscribe(ScstEventFilter.All);
        sub.Dispose();

        var act = () => sub.AddFilter(new ScstEventFilter(1));

        act.Should().Throw<ObjectDisposedException>();
    }
}
