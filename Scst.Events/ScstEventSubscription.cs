// Licensed under the Apache License, Version 2.0.

using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;

namespace Scst.Events;

/// <summary>
/// One subscriber's view of an <see cref="IScstEventBus"/>: a set of filters and a bounded queue of the events they
/// selected. Created by <see cref="IScstEventBus.Subscribe"/>; dispose it to unsubscribe.
/// </summary>
/// <remarks>
/// <para>
/// The queue holds at most <see cref="Capacity"/> events. When it is full, a newly published event is dropped for
/// this subscription only and counted in <see cref="DroppedCount"/>; the publisher never waits (SCST loses events the
/// same way when a subscriber's queue holds 2048). Events already queued are never discarded.
/// </para>
/// <para>
/// With no filter left (after <see cref="RemoveFilter"/>) the subscription receives nothing, like an SCST event file
/// descriptor before its first ALLOW. Reading is safe from several threads, though one reader is the usual shape.
/// Continuations of pending reads never run on the publisher's thread.
/// </para>
/// </remarks>
public sealed class ScstEventSubscription : IDisposable
{
    /// <summary>The default queue capacity (2048, SCST's per-subscriber limit).</summary>
    public const int DefaultCapacity = 2048;

    private readonly ScstEventBus _bus;
    private readonly Channel<ScstEvent> _queue;
    private readonly Lock _filtersLock = new();
    private ScstEventFilter[] _filters;
    private long _droppedCount;
    private int _disposed;

    internal ScstEventSubscription(ScstEventBus bus, ScstEventFilter filter, int capacity, bool observer)
    {
        _bus = bus;
        _filters = [filter];
        Capacity = capacity;
        IsObserver = observer;

        // FullMode.Wait makes TryWrite fail on a full queue instead of silently dropping (DropWrite reports success),
        // which is what lets us count drops; TryWrite itself never waits. Synchronous continuations stay off so that
        // a reader's code never runs inside Publish.
        _queue = Channel.CreateBounded<ScstEvent>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = false,
            AllowSynchronousContinuations = false,
        });
    }

    /// <summary>What became of a completion event offered to this subscription.</summary>
    internal enum Delivery
    {
        Queued,
        Full,
        Closed,
    }

    /// <summary>
    /// Gets a value indicating whether this subscription is an observer: it receives copies of completion events but
    /// is never chosen to complete them (see <see cref="IScstEventBus.PublishAndWaitAsync"/>).
    /// </summary>
    public bool IsObserver { get; }

    /// <summary>Gets the maximum number of undelivered events the queue holds.</summary>
    public int Capacity { get; }

    /// <summary>Gets the number of events this subscription matched but lost because its queue was full.</summary>
    public long DroppedCount => Interlocked.Read(ref _droppedCount);

    /// <summary>Gets the number of events waiting to be read.</summary>
    public int Count => _queue.Reader.Count;

    /// <summary>Gets a snapshot of the current filters.</summary>
    public IReadOnlyList<ScstEventFilter> Filters => [.. Volatile.Read(ref _filters)];

    /// <summary>
    /// Adds a filter (SCST's ALLOW). Events published from now on that match any filter are queued.
    /// </summary>
    /// <param name="filter">The filter.</param>
    /// <returns><see langword="true"/> when added; <see langword="false"/> when an equal filter is already present
    /// (SCST answers EEXIST).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="filter"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The subscription has been disposed.</exception>
    public bool AddFilter(ScstEventFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        lock (_filtersLock)
        {
            var current = _filters;
            if (Array.IndexOf(current, filter) >= 0)
            {
                return false;
            }

            var next = new ScstEventFilter[current.Length + 1];
            current.CopyTo(next, 0);
            next[^1] = filter;
            Volatile.Write(ref _filters, next);
            return true;
        }
    }

    /// <summary>
    /// Removes every filter that <paramref name="pattern"/> covers (SCST's DISALLOW): a filter is covered when the
    /// pattern's code is <see cref="ScstEventFilter.AnyCode"/> or equal to the filter's, the pattern's issuer is
    /// <see cref="ScstEventFilter.AnyIssuer"/> or equal to the filter's, and the filter's payload prefix starts with
    /// the pattern's. So <see cref="ScstEventFilter.All"/> removes every filter.
    /// </summary>
    /// <param name="pattern">The removal pattern.</param>
    /// <returns>The number of filters removed; 0 where SCST answers ENOENT.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="pattern"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The subscription has been disposed.</exception>
    public int RemoveFilter(ScstEventFilter pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        lock (_filtersLock)
        {
            var current = _filters;
            var kept = new List<ScstEventFilter>(current.Length);
            foreach (var filter in current)
            {
                if (!pattern.Covers(filter))
                {
                    kept.Add(filter);
                }
            }

            var removed = current.Length - kept.Count;
            if (removed != 0)
            {
                Volatile.Write(ref _filters, kept.ToArray());
            }

            return removed;
        }
    }

    /// <summary>Reads the next event, waiting for one if the queue is empty.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The next event.</returns>
    /// <exception cref="ChannelClosedException">The subscription was disposed and the queue is empty (also ends a
    /// read that was already waiting).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask<ScstEvent> ReadAsync(CancellationToken cancellationToken = default) =>
        _queue.Reader.ReadAsync(cancellationToken);

    /// <summary>Takes the next event if one is queued.</summary>
    /// <param name="scstEvent">The event, when one was queued.</param>
    /// <returns><see langword="true"/> when an event was taken.</returns>
    public bool TryRead([MaybeNullWhen(false)] out ScstEvent scstEvent) => _queue.Reader.TryRead(out scstEvent);

    /// <summary>
    /// Reads events as they arrive. The sequence ends, without an exception, once the subscription is disposed and
    /// the events queued before that have been read.
    /// </summary>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The events.</returns>
    public IAsyncEnumerable<ScstEvent> ReadAllAsync(CancellationToken cancellationToken = default) =>
        _queue.Reader.ReadAllAsync(cancellationToken);

    /// <summary>
    /// Reports the status of a completion event this subscription was chosen for (SCST's NOTIFY_DONE); the publisher's
    /// <see cref="IScstEventBus.PublishAndWaitAsync"/> completes with <paramref name="status"/>. The event may still be
    /// in the queue or already read.
    /// </summary>
    /// <param name="id">The event's <see cref="ScstEvent.Id"/>.</param>
    /// <param name="status">The status, SCST's convention: 0 for success, a negated errno otherwise (see
    /// <see cref="ScstEventStatus"/>).</param>
    /// <returns><see langword="false"/> (SCST answers ENOENT) when the id is unknown: 0, already completed, timed out,
    /// abandoned by its publisher, held by another subscription, or seen by this one only as an observer.</returns>
    public bool NotifyDone(uint id, int status) => id != 0 && _bus.TryComplete(this, id, status);

    /// <summary>
    /// Unsubscribes: no further event is queued, reads waiting on an empty queue end (see <see cref="ReadAsync"/> and
    /// <see cref="ReadAllAsync"/>), and events already queued can still be read. Every completion event this
    /// subscription holds and has not completed (queued or read) completes with
    /// <see cref="ScstEventStatus.SubscriberGone"/>. Idempotent.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _bus.Remove(this);
        _queue.Writer.TryComplete();
        _bus.FailPendingOf(this);
    }

    /// <summary>Waits until an event can be read; <see langword="false"/> once disposed and drained.</summary>
    internal ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken) =>
        _queue.Reader.WaitToReadAsync(cancellationToken);

    /// <summary>Queues a completion event this subscription was chosen for; counts a drop when the queue is full.</summary>
    internal Delivery TryEnqueueCompletion(ScstEvent scstEvent)
    {
        if (_queue.Writer.TryWrite(scstEvent))
        {
            return Delivery.Queued;
        }

        if (Volatile.Read(ref _disposed) != 0)
        {
            return Delivery.Closed;
        }

        Interlocked.Increment(ref _droppedCount);
        _bus.Metrics.Dropped(scstEvent.Code);
        return Delivery.Full;
    }

    /// <summary>
    /// Queues <paramref name="scstEvent"/> if a filter matches; called by the bus on the publisher's thread, so it
    /// must not block, throw or allocate.
    /// </summary>
    internal void Offer(ScstEvent scstEvent)
    {
        if (!Matches(scstEvent))
        {
            return;
        }

        // A false TryWrite means "full" or "completed"; only the first is a drop. A publisher that raced with Dispose
        // sees the second.
        if (!_queue.Writer.TryWrite(scstEvent) && Volatile.Read(ref _disposed) == 0)
        {
            Interlocked.Increment(ref _droppedCount);
            _bus.Metrics.Dropped(scstEvent.Code);
        }
    }

    internal bool Matches(ScstEvent scstEvent)
    {
        var filters = Volatile.Read(ref _filters);
        foreach (var filter in filters)
        {
            if (filter.Matches(scstEvent))
            {
                return true;
            }
        }

        return false;
    }
}
