// Licensed under the Apache License, Version 2.0.

namespace Scst.Events;

/// <summary>
/// The in-process event bus: components publish <see cref="ScstEvent"/>s, subscribers receive the ones their filters
/// select, each through its own bounded queue.
/// </summary>
public interface IScstEventBus
{
    /// <summary>
    /// Hands <paramref name="scstEvent"/> to every subscription with a matching filter. Safe from any thread, including
    /// the command path: it never blocks and never runs subscriber code. A subscription whose queue is full loses this
    /// event and counts it in <see cref="ScstEventSubscription.DroppedCount"/>; other subscriptions are unaffected. An
    /// event that no subscription matches is discarded.
    /// </summary>
    /// <param name="scstEvent">The event; it and its payload must not be modified afterwards.</param>
    /// <exception cref="ArgumentNullException"><paramref name="scstEvent"/> is <see langword="null"/>.</exception>
    void Publish(ScstEvent scstEvent);

    /// <summary>
    /// Publishes an event that expects a completion (SCST's STPG case) and waits for the status a subscriber reports
    /// through <see cref="ScstEventSubscription.NotifyDone"/>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The bus stamps a copy of <paramref name="scstEvent"/> with a fresh non-zero <see cref="ScstEvent.Id"/> (whatever
    /// id the event carried is replaced) and hands it to the <em>first</em> subscription, in subscription order, that
    /// is not an observer and whose filters match; no other completing subscription sees it. Every matching observer
    /// subscription (see <see cref="Subscribe"/>) receives the same copy, but its <c>NotifyDone</c> for that id returns
    /// <see langword="false"/>: an event printer cannot steal a completion from the agent that must act on it.
    /// </para>
    /// <para>
    /// The task completes with the subscriber's status, or with one of the bus's own (<see cref="ScstEventStatus"/>):
    /// <see cref="ScstEventStatus.NoSubscriber"/> at once when no completing subscription matches,
    /// <see cref="ScstEventStatus.QueueFull"/> at once when the chosen subscription's queue is full (counted there as a
    /// drop), <see cref="ScstEventStatus.TimedOut"/> when no status arrived within <paramref name="timeout"/>, and
    /// <see cref="ScstEventStatus.SubscriberGone"/> when the chosen subscription is disposed first, whether it had
    /// read the event or not. Like <see cref="Publish"/> it never blocks and never runs subscriber code; the task's
    /// continuations never run on the subscriber's thread.
    /// </para>
    /// </remarks>
    /// <param name="scstEvent">The event; it and its payload must not be modified afterwards.</param>
    /// <param name="timeout">How long to wait for the status; SCST waits
    /// <see cref="ScstEventBus.DefaultCompletionTimeout"/> (60 s). <see cref="Timeout.InfiniteTimeSpan"/> waits
    /// forever.</param>
    /// <param name="cancellationToken">Abandons the wait: the task is cancelled and a later <c>NotifyDone</c> for the id
    /// returns <see langword="false"/>.</param>
    /// <returns>The status: 0 for success, any other value as the subscriber or the bus reported it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="scstEvent"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is neither positive nor
    /// infinite.</exception>
    Task<int> PublishAndWaitAsync(ScstEvent scstEvent, TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens a subscription with one filter; add more with <see cref="ScstEventSubscription.AddFilter"/>. Only events
    /// published after this call are delivered. Dispose the subscription to end it.
    /// </summary>
    /// <param name="filter">The first filter.</param>
    /// <param name="capacity">How many undelivered events the subscription's queue holds before new ones are dropped.
    /// Defaults to <see cref="ScstEventSubscription.DefaultCapacity"/> (2048, SCST's per-subscriber limit); each queued
    /// event costs a reference, the events themselves are shared.</param>
    /// <param name="observer"><see langword="true"/> to open an observer: it receives the events its filters select,
    /// completion events included, but is never chosen to complete one (see <see cref="PublishAndWaitAsync"/>).
    /// Defaults to <see langword="false"/>.</param>
    /// <returns>The subscription.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="filter"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is not positive.</exception>
    /// <exception cref="ObjectDisposedException">The bus has been disposed.</exception>
    ScstEventSubscription Subscribe(ScstEventFilter filter, int capacity = ScstEventSubscription.DefaultCapacity, bool observer = false);
}
