// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Scst.Events.Diagnostics;

namespace Scst.Events;

/// <summary>
/// The default <see cref="IScstEventBus"/>: fans events out to per-subscription bounded queues, and tracks the
/// completion events that wait for a subscriber's status.
/// </summary>
/// <remarks>
/// Publishing reads an immutable snapshot array of the subscriptions, so it takes no lock and allocates nothing
/// beyond what the queue write needs; subscribing and unsubscribing copy the array under a lock (they are rare).
/// Completion events (<see cref="PublishAndWaitAsync"/>) allocate their stamped copy and a pending entry; they are
/// rare too. Each publication and each drop is counted on the meter <see cref="ScstEventsMetrics.MeterName"/>, without
/// allocating. Disposing the bus ends every subscription (pending reads complete as after
/// <see cref="ScstEventSubscription.Dispose"/>, pending completions with <see cref="ScstEventStatus.SubscriberGone"/>)
/// and turns further publishing into a no-op.
/// </remarks>
public sealed class ScstEventBus : IScstEventBus, IDisposable
{
    /// <summary>SCST's completion timeout: 60 seconds.</summary>
    public static readonly TimeSpan DefaultCompletionTimeout = TimeSpan.FromSeconds(60);

    private readonly Lock _lock = new();
    private readonly TimeProvider _timeProvider;
    private readonly ConcurrentDictionary<uint, PendingCompletion> _pending = new();
    private ScstEventSubscription[] _subscriptions = [];
    private int _lastId;
    private bool _disposed;

    /// <summary>Creates a bus whose completion timeouts run on the system clock.</summary>
    public ScstEventBus()
        : this(TimeProvider.System)
    {
    }

    /// <summary>Creates a bus whose completion timeouts run on <paramref name="timeProvider"/> (tests use a fake).</summary>
    /// <param name="timeProvider">The clock for <see cref="PublishAndWaitAsync"/>'s timeouts.</param>
    /// <param name="meterFactory">Where the bus's meter comes from (the host's, through DI); null: a meter of its own,
    /// disposed with the bus.</param>
    /// <exception cref="ArgumentNullException"><paramref name="timeProvider"/> is <see langword="null"/>.</exception>
    public ScstEventBus(TimeProvider timeProvider, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _timeProvider = timeProvider;
        Metrics = new EventBusMetrics(meterFactory);
    }

    /// <summary>Gets the number of open subscriptions.</summary>
    public int SubscriptionCount => Volatile.Read(ref _subscriptions).Length;

    /// <summary>Gets the number of completion events still waiting for a status.</summary>
    public int PendingCompletionCount => _pending.Count;

    /// <summary>Gets the bus's instruments.</summary>
    internal EventBusMetrics Metrics { get; }

    /// <inheritdoc />
    public void Publish(ScstEvent scstEvent)
    {
        ArgumentNullException.ThrowIfNull(scstEvent);
        if (Volatile.Read(ref _disposed))
        {
            return;
        }

        Metrics.Published(scstEvent.Code);
        var subscriptions = Volatile.Read(ref _subscriptions);
        foreach (var subscription in subscriptions)
        {
            subscription.Offer(scstEvent);
        }
    }

    /// <inheritdoc />
    public Task<int> PublishAndWaitAsync(ScstEvent scstEvent, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scstEvent);
        if (timeout <= TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be positive or infinite.");
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<int>(cancellationToken);
        }

        if (!Volatile.Read(ref _disposed))
        {
            Metrics.Published(scstEvent.Code);
        }

        var subscriptions = Volatile.Read(ref _subscriptions);
        ScstEventSubscription? chosen = null;
        foreach (var subscription in subscriptions)
        {
            if (!subscription.IsObserver && subscription.Matches(scstEvent))
            {
                chosen = subscription;
                break;
            }
        }

        var id = chosen is null ? NextId() : 0;
        PendingCompletion? pending = null;
        if (chosen is not null)
        {
            pending = new PendingCompletion(this, chosen);
            do
            {
                id = NextId();
            }
            while (!_pending.TryAdd(id, pending));

            pending.Arm(id, timeout, cancellationToken);
        }

        var stamped = new ScstEvent(scstEvent.Code, scstEvent.IssuerName, scstEvent.Payload, id);
        if (chosen is not null)
        {
            var delivery = chosen.TryEnqueueCompletion(stamped);
            if (delivery != ScstEventSubscription.Delivery.Queued)
            {
                var status = delivery == ScstEventSubscription.Delivery.Full ? ScstEventStatus.QueueFull : ScstEventStatus.NoSubscriber;
                TryComplete(chosen, id, status);
            }
        }

        foreach (var subscription in subscriptions)
        {
            if (subscription.IsObserver)
            {
                subscription.Offer(stamped);
            }
        }

        return pending?.Task ?? Task.FromResult(ScstEventStatus.NoSubscriber);
    }

    /// <inheritdoc />
    public ScstEventSubscription Subscribe(ScstEventFilter filter, int capacity = ScstEventSubscription.DefaultCapacity, bool observer = false)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);

        var subscription = new ScstEventSubscription(this, filter, capacity, observer);
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

        Metrics.Dispose();
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

    /// <summary>
    /// Completes the pending event <paramref name="id"/> with <paramref name="status"/> if <paramref name="owner"/>
    /// holds it; the first completion wins (status, timeout, cancellation or disposal).
    /// </summary>
    /// <returns><see langword="false"/> when the id is unknown, already completed, or held by another subscription.</returns>
    internal bool TryComplete(ScstEventSubscription owner, uint id, int status)
    {
        if (!_pending.TryGetValue(id, out var pending)
            || !ReferenceEquals(pending.Owner, owner)
            || !_pending.TryRemove(new KeyValuePair<uint, PendingCompletion>(id, pending)))
        {
            return false;
        }

        pending.Complete(status);
        return true;
    }

    /// <summary>Completes every event <paramref name="owner"/> holds with <see cref="ScstEventStatus.SubscriberGone"/>.</summary>
    internal void FailPendingOf(ScstEventSubscription owner)
    {
        if (_pending.IsEmpty)
        {
            return;
        }

        foreach (var entry in _pending)
        {
            if (ReferenceEquals(entry.Value.Owner, owner) && _pending.TryRemove(entry))
            {
                entry.Value.Complete(ScstEventStatus.SubscriberGone);
            }
        }
    }

    private uint NextId()
    {
        while (true)
        {
            var id = (uint)Interlocked.Increment(ref _lastId);
            if (id != 0)
            {
                return id;
            }
        }
    }

    private void OnTimeout(PendingCompletion pending)
    {
        if (_pending.TryRemove(new KeyValuePair<uint, PendingCompletion>(pending.Id, pending)))
        {
            pending.Complete(ScstEventStatus.TimedOut);
        }
    }

    private void OnCanceled(PendingCompletion pending, CancellationToken cancellationToken)
    {
        if (_pending.TryRemove(new KeyValuePair<uint, PendingCompletion>(pending.Id, pending)))
        {
            pending.Cancel(cancellationToken);
        }
    }

    /// <summary>One completion event in flight: who holds it, its timer, the publisher's task.</summary>
    private sealed class PendingCompletion(ScstEventBus bus, ScstEventSubscription owner)
    {
        // Continuations run asynchronously so that a subscriber's NotifyDone never runs the publisher's code.
        private readonly TaskCompletionSource<int> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private ITimer? _timer;
        private CancellationTokenRegistration _registration;

        public ScstEventSubscription Owner { get; } = owner;

        public uint Id { get; private set; }

        public Task<int> Task => _completion.Task;

        /// <summary>Starts the timeout and watches the token; called once the entry is in the pending table.</summary>
        public void Arm(uint id, TimeSpan timeout, CancellationToken cancellationToken)
        {
            Id = id;
            if (timeout != Timeout.InfiniteTimeSpan)
            {
                _timer = bus._timeProvider.CreateTimer(
                    static state => ((PendingCompletion)state!).OnTimer(), this, timeout, Timeout.InfiniteTimeSpan);
            }

            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.UnsafeRegister(
                    static (state, token) => ((PendingCompletion)state!).OnCanceled(token), this);
            }

            // A completion that raced with arming (the entry was removed before the timer existed) must not leave the
            // timer running.
            if (_completion.Task.IsCompleted)
            {
                Release();
            }
        }

        public void Complete(int status)
        {
            Release();
            _completion.TrySetResult(status);
        }

        public void Cancel(CancellationToken cancellationToken)
        {
            Release();
            _completion.TrySetCanceled(cancellationToken);
        }

        private void OnTimer() => bus.OnTimeout(this);

        private void OnCanceled(CancellationToken token) => bus.OnCanceled(this, token);

        private void Release()
        {
            Interlocked.Exchange(ref _timer, null)?.Dispose();
            _registration.Unregister();
        }
    }
}
