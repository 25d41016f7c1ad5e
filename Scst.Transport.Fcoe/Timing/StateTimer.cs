// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Fcoe.Timing;

/// <summary>
/// The one-shot timer of a state machine that its owner guards with a lock: <see cref="Schedule"/> replaces any
/// pending firing and <see cref="Cancel"/> drops it. A firing that had already started when it was replaced or
/// cancelled still calls back, with its generation; the owner takes its lock and ignores it unless
/// <see cref="IsCurrent"/>. Schedule and Cancel are called under the owner's lock.
/// </summary>
internal sealed class StateTimer
{
    private readonly TimeProvider _time;
    private readonly Action<long> _fire;
    private ITimer? _timer;
    private long _generation;

    /// <summary>A timer on <paramref name="time"/> that calls <paramref name="fire"/> with the generation it was set in.</summary>
    public StateTimer(TimeProvider time, Action<long> fire)
    {
        _time = time;
        _fire = fire;
    }

    /// <summary>Fires once after <paramref name="due"/> (now when negative), instead of any earlier schedule.</summary>
    public void Schedule(TimeSpan due)
    {
        Cancel();
        long generation = ++_generation;
        _timer = _time.CreateTimer(static s => ((Firing)s!).Fire(), new Firing(this, generation),
            due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Drops the pending firing, if any.</summary>
    public void Cancel()
    {
        _generation++;
        _timer?.Dispose();
        _timer = null;
    }

    /// <summary>Whether a firing of <paramref name="generation"/> is the one last scheduled and not cancelled.</summary>
    public bool IsCurrent(long generation) => generation == _generation;

    private sealed record Firing(StateTimer Owner, long Generation)
    {
        public void Fire() => Owner._fire(Generation);
    }
}

/// <summary>
/// Events a state machine decides to raise while it holds its lock, queued and raised after it has released it, so
/// that a handler may call back into the machine.
/// </summary>
internal sealed class DeferredNotifications
{
    private readonly Lock _lock;
    private readonly List<Action> _pending = [];

    /// <summary>Notifications queued under <paramref name="ownerLock"/>.</summary>
    public DeferredNotifications(Lock ownerLock) => _lock = ownerLock;

    /// <summary>Queues <paramref name="notification"/>; called under the owner's lock.</summary>
    public void Add(Action notification) => _pending.Add(notification);

    /// <summary>Forgets what was queued; called under the owner's lock.</summary>
    public void Clear() => _pending.Clear();

    /// <summary>Raises what was queued, in order; called without the owner's lock.</summary>
    public void Raise()
    {
        Action[] pending;
        lock (_lock)
        {
            if (_pending.Count == 0)
            {
                return;
            }

            pending = [.. _pending];
            _pending.Clear();
        }

        foreach (var notify in pending)
        {
            notify();
        }
    }
}
