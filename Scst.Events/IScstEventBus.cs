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
    /// Opens a subscription with one filter; add more with <see cref="ScstEventSubscription.AddFilter"/>. Only events
    /// published after this call are delivered. Dispose the subscription to end it.
    /// </summary>
    /// <param name="filter">The first filter.</param>
    /// <param name="capacity">How many undelivered events the subscription's queue holds before new ones are dropped.
    /// Defaults to <see cref="ScstEventSubscription.DefaultCapacity"/> (2048, SCST's per-subscriber limit); each queued
    /// event costs a reference, the events themselves are shared.</param>
    /// <returns>The subscription.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="filter"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is not positive.</exception>
    /// <exception cref="ObjectDisposedException">The bus has been disposed.</exception>
    ScstEventSubscription Subscribe(ScstEventFilter filter, int capacity = ScstEventSubscription.DefaultCapacity);
}
