// Licensed under the Apache License, Version 2.0.

namespace Scst.Events;

/// <summary>
/// The default <see cref="IScstEventBus"/>: fans events out to per-subscription bounded queues.
/// </summary>
/// <remarks>
/// Publishing reads an immutable snapshot array of the subscriptions, so it takes no lock and allocates nothing
/// beyond what the queue write needs; subscribing and unsubscribing copy the array under a lock (they are rare).
/// Disposing the bus ends every subscription (pending reads complete as after
/// <see cref="ScstEventSubscription.Dispose"/>) and turns further publishing into a no-op.
/// </remarks>
public sealed class ScstEventBus : IScstEventBus, IDisposable
{
    private readonly Lock _lock = new();
    private ScstEventSubscription[] _subscriptions = [];
    private bool _disposed;

    /// <summary>Gets the number of open subscriptions.</summary>
    public int SubscriptionCount => Volatile.Read(ref _subscriptions).Length;

    /// <inheritdoc />
    public void Publish(ScstEvent scstEvent)
    {
        ArgumentNullException.ThrowIfNull(scstEvent);
        var subscriptions = Volatile.Read(ref _subscriptions);
        foreach (var subscription in subscriptions)
        {
            subscription.Offer(scstEvent);
        }
    }

    /// <inheritdoc />
    public ScstEventSubscription Subscribe(ScstEventFilter filter, int capacity = ScstEventSubscription.DefaultCapacity)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);

        var subscription = new ScstEventSubscription(this, filter, capacity);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var current = _subscriptions;
            var next = new ScstEventSubscription[current.Length + 1];
            current.CopyTo(next, 0);
            next[^1] = subscription;
            Volatile.Write(ref _subscriptions, next);
        }

        return subscription;
    }

    /// <summary>Ends every subscription and stops delivering events.</summary>
    public void Dispose()
    {
        ScstEventSubscription[] subscriptions;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            subscriptions = _subscriptions;
            Volatile.Write(ref _subscriptions, []);
        }

        foreach (var subscription in subscriptions)
        {
            subscription.Dispose();
        }
    }

    /// <summary>Removes <paramref name="subscription"/> from the snapshot; called by the subscription's Dispose.</summary>
    internal void Remove(ScstEventSubscription subscription)
    {
        lock (_lock)
        {
            var current = _subscriptions;
            var index = Array.IndexOf(current, subscription);
            if (index < 0)
            {
                return;
            }

            var next = new ScstEventSubscription[current.Length - 1];
            Array.Copy(current, 0, next, 0, index);
            Array.Copy(current, index + 1, next, index, current.Length - index - 1);
            Volatile.Write(ref _subscriptions, next);
        }
    }
}
