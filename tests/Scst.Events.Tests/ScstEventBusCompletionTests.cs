// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Time.Testing;

namespace Scst.Events.Tests;

public class ScstEventBusCompletionTests
{
    private static readonly TimeSpan Timeout60 = ScstEventBus.DefaultCompletionTimeout;

    private static ScstEvent Stpg() => new(ScstEventCode.StpgUserInvoke, ScstEvents.CoreIssuerName, new byte[] { 1, 2, 3 });

    [Fact]
    public void PublishAndWait_TwoMatchingSubscribers_OnlyFirstReceivesEventWithFreshId()
    {
        using var bus = new ScstEventBus();
        using var first = bus.Subscribe(new ScstEventFilter(ScstEventCode.StpgUserInvoke));
        using var second = bus.Subscribe(ScstEventFilter.All);
        var published = Stpg();

        var task = bus.PublishAndWaitAsync(published, Timeout60, TestContext.Current.CancellationToken);

        first.TryRead(out var received).Should().BeTrue();
        received!.Id.Should().NotBe(0u);
        received.Code.Should().Be(ScstEventCode.StpgUserInvoke);
        received.Payload.ToArray().Should().Equal(1, 2, 3);
        second.TryRead(out _).Should().BeFalse();
        task.IsCompleted.Should().BeFalse();
    }

    [Fact]
    public async Task NotifyDone_ChosenSubscriber_CompletesWithItsStatus()
    {
        using var bus = new ScstEventBus();
        using var subscriber = bus.Subscribe(ScstEventFilter.All);
        var task = bus.PublishAndWaitAsync(Stpg(), Timeout60, TestContext.Current.CancellationToken);
        subscriber.TryRead(out var received).Should().BeTrue();

        subscriber.NotifyDone(received!.Id, -5).Should().BeTrue();

        (await task).Should().Be(-5);
        subscriber.NotifyDone(received.Id, 0).Should().BeFalse("the id is already completed");
        bus.PendingCompletionCount.Should().Be(0);
    }

    [Fact]
    public async Task PublishAndWait_TwoEvents_GetDistinctIds()
    {
        using var bus = new ScstEventBus();
        using var subscriber = bus.Subscribe(ScstEventFilter.All);
        var a = bus.PublishAndWaitAsync(Stpg(), Timeout60, TestContext.Current.CancellationToken);
        var b = bus.PublishAndWaitAsync(Stpg(), Timeout60, TestContext.Current.CancellationToken);
        subscriber.TryRead(out var first).Should().BeTrue();
        subscriber.TryRead(out var second).Should().BeTrue();

        first!.Id.Should().NotBe(second!.Id);
        subscriber.NotifyDone(second.Id, 2).Should().BeTrue();
        subscriber.NotifyDone(first.Id, 1).Should().BeTrue();

        (await a).Should().Be(1);
        (await b).Should().Be(2);
    }

    [Fact]
    public async Task PublishAndWait_NoSubscriber_ReturnsEnoentAtOnce()
    {
        using var bus = new ScstEventBus();
        using var other = bus.Subscribe(new ScstEventFilter(ScstEventCode.LunNotFound));

        var task = bus.PublishAndWaitAsync(Stpg(), Timeout60, TestContext.Current.CancellationToken);

        task.IsCompleted.Should().BeTrue();
        (await task).Should().Be(ScstEventStatus.NoSubscriber).And.Be(-2);
    }

    [Fact]
    public async Task PublishAndWait_NoStatusBeforeTimeout_ReturnsEtimedout()
    {
        var time = new FakeTimeProvider();
        using var bus = new ScstEventBus(time);
        using var subscriber = bus.Subscribe(ScstEventFilter.All);
        var task = bus.PublishAndWaitAsync(Stpg(), TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        subscriber.TryRead(out var received).Should().BeTrue();

        time.Advance(TimeSpan.FromSeconds(59));
        task.IsCompleted.Should().BeFalse();
        time.Advance(TimeSpan.FromSeconds(1));

        (await task).Should().Be(ScstEventStatus.TimedOut).And.Be(-110);
        subscriber.NotifyDone(received!.Id, 0).Should().BeFalse("a timed-out id is unknown");
    }

    [Fact]
    public async Task NotifyDone_BeforeTimeout_DisarmsTimer()
    {
        var time = new FakeTimeProvider();
        using var bus = new ScstEventBus(time);
        using var subscriber = bus.Subscribe(ScstEventFilter.All);
        var task = bus.PublishAndWaitAsync(Stpg(), TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        subscriber.TryRead(out var received).Should().BeTrue();

        subscriber.NotifyDone(received!.Id, 0).Should().BeTrue();
        time.Advance(TimeSpan.FromSeconds(120));

        (await task).Should().Be(0);
    }

    [Fact]
    public async Task Dispose_SubscriberHoldingQueuedAndReadEvents_CompletesEachWithEfault()
    {
        using var bus = new ScstEventBus();
        var subscriber = bus.Subscribe(ScstEventFilter.All);
        var read = bus.PublishAndWaitAsync(Stpg(), Timeout60, TestContext.Current.CancellationToken);
        var queued = bus.PublishAndWaitAsync(Stpg(), Timeout60, TestContext.Current.CancellationToken);
        subscriber.TryRead(out _).Should().BeTrue();

        subscriber.Dispose();

        (await read).Should().Be(ScstEventStatus.SubscriberGone).And.Be(-14);
        (await queued).Should().Be(-14);
        bus.PendingCompletionCount.Should().Be(0);
    }

    [Fact]
    public async Task PublishAndWait_ChosenQueueFull_ReturnsEmfileAndCountsDrop()
    {
        using var bus = new ScstEventBus();
        using var subscriber = bus.Subscribe(ScstEventFilter.All, capacity: 1);
        bus.Publish(new ScstEvent(ScstEventCode.FirstCustomCode, "x"));

        var status = await bus.PublishAndWaitAsync(Stpg(), Timeout60, TestContext.Current.CancellationToken);

        status.Should().Be(ScstEventStatus.QueueFull).And.Be(-24);
        subscriber.DroppedCount.Should().Be(1);
        bus.PendingCompletionCount.Should().Be(0);
    }

    [Fact]
    public async Task PublishAndWait_ObserverFirst_ObserverGetsCopyButCompletingSubscriberIsChosen()
    {
        using var bus = new ScstEventBus();
        using var printer = bus.Subscribe(ScstEventFilter.All, observer: true);
        using var agent = bus.Subscribe(new ScstEventFilter(ScstEventCode.StpgUserInvoke));
        var task = bus.PublishAndWaitAsync(Stpg(), Timeout60, TestContext.Current.CancellationToken);

        printer.TryRead(out var copy).Should().BeTrue();
        agent.TryRead(out var chosen).Should().BeTrue();
        copy!.Id.Should().Be(chosen!.Id);
        printer.NotifyDone(copy.Id, 0).Should().BeFalse("an observer is never chosen to complete");
        task.IsCompleted.Should().BeFalse();
        agent.NotifyDone(chosen.Id, 0).Should().BeTrue();

        (await task).Should().Be(0);
    }

    [Fact]
    public async Task PublishAndWait_OnlyObserver_ReturnsEnoentAndObserverStillSeesIt()
    {
        using var bus = new ScstEventBus();
        using var printer = bus.Subscribe(ScstEventFilter.All, observer: true);

        var status = await bus.PublishAndWaitAsync(Stpg(), Timeout60, TestContext.Current.CancellationToken);

        status.Should().Be(ScstEventStatus.NoSubscriber);
        printer.TryRead(out var copy).Should().BeTrue();
        copy!.Code.Should().Be(ScstEventCode.StpgUserInvoke);
        printer.IsObserver.Should().BeTrue();
    }

    [Fact]
    public void Publish_PlainEvent_ReachesObserversToo()
    {
        using var bus = new ScstEventBus();
        using var printer = bus.Subscribe(ScstEventFilter.All, observer: true);

        bus.Publish(ScstEvents.VirtualDeviceRegistered("d"));

        printer.TryRead(out _).Should().BeTrue();
    }

    [Fact]
    public async Task PublishAndWait_Cancelled_TaskCancelsAndIdBecomesUnknown()
    {
        using var bus = new ScstEventBus();
        using var subscriber = bus.Subscribe(ScstEventFilter.All);
        using var cts = new CancellationTokenSource();
        var task = bus.PublishAndWaitAsync(Stpg(), Timeout60, cts.Token);
        subscriber.TryRead(out var received).Should().BeTrue();

        await cts.CancelAsync();

        await FluentActions.Awaiting(() => task).Should().ThrowAsync<OperationCanceledException>();
        subscriber.NotifyDone(received!.Id, 0).Should().BeFalse();
    }

    [Fact]
    public void NotifyDone_UnknownOrZeroId_ReturnsFalse()
    {
        using var bus = new ScstEventBus();
        using var subscriber = bus.Subscribe(ScstEventFilter.All);

        subscriber.NotifyDone(0, 0).Should().BeFalse();
        subscriber.NotifyDone(12345, 0).Should().BeFalse();
    }

    [Fact]
    public void NotifyDone_IdHeldByAnotherSubscription_ReturnsFalse()
    {
        using var bus = new ScstEventBus();
        using var agent = bus.Subscribe(ScstEventFilter.All);
        using var other = bus.Subscribe(new ScstEventFilter(ScstEventCode.LunNotFound));
        _ = bus.PublishAndWaitAsync(Stpg(), Timeout60, TestContext.Current.CancellationToken);
        agent.TryRead(out var received).Should().BeTrue();

        other.NotifyDone(received!.Id, 0).Should().BeFalse();
        bus.PendingCompletionCount.Should().Be(1);
    }

    [Fact]
    public void PublishAndWait_BadTimeout_Throws()
    {
        using var bus = new ScstEventBus();

        Action act = () => bus.PublishAndWaitAsync(Stpg(), TimeSpan.Zero);

        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task Dispose_Bus_FailsPendingCompletionsWithEfault()
    {
        var bus = new ScstEventBus();
        _ = bus.Subscribe(ScstEventFilter.All);
        var task = bus.PublishAndWaitAsync(Stpg(), Timeout.InfiniteTimeSpan, TestContext.Current.CancellationToken);

        bus.Dispose();

        (await task).Should().Be(ScstEventStatus.SubscriberGone);
    }
}
