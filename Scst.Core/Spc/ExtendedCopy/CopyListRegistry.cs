// Licensed under the Apache License, Version 2.0.

namespace Scst.Core.Spc.ExtendedCopy;

/// <summary>
/// The copies of one I_T nexus that carry a list identifier (LIST ID USAGE 00b or 10b): running ones, and finished
/// ones for <see cref="CopyLimits.ListIdRetentionMilliseconds"/> or until RECEIVE COPY RESULTS retrieved them, as SCST
/// keeps them. List identifiers are per I_T nexus (SPC-4 section 6.4.3).
/// </summary>
/// <remarks>
/// Expired entries are dropped on the next access, so no timer runs. A handful of entries exist at most, and the list
/// is only touched by EXTENDED COPY and RECEIVE COPY RESULTS, never by READ or WRITE.
/// </remarks>
internal sealed class CopyListRegistry(Func<long> clock)
{
    private readonly Lock _lock = new();
    private readonly List<CopyListState> _lists = [];

    /// <summary>Registers a new copy; null when a running copy of the nexus already uses <paramref name="listId"/>.</summary>
    public CopyListState? TryStart(byte listId)
    {
        lock (_lock)
        {
            DropExpired();
            int i = IndexOf(listId);
            if (i >= 0)
            {
                if (!_lists[i].IsDone)
                {
                    return null;
                }

                // The results of a finished copy give way to a new copy with the same identifier.
                _lists.RemoveAt(i);
            }

            var state = new CopyListState(listId);
            _lists.Add(state);
            return state;
        }
    }

    /// <summary>The copy known by <paramref name="listId"/>, running or finished, or null.</summary>
    public CopyListState? Find(byte listId)
    {
        lock (_lock)
        {
            DropExpired();
            int i = IndexOf(listId);
            return i >= 0 ? _lists[i] : null;
        }
    }

    /// <summary>Marks a copy finished; its results stay available for the retention time.</summary>
    public void Finish(CopyListState state, in CommandOutcome outcome)
    {
        lock (_lock)
        {
            state.Finish(outcome, clock());
        }
    }

    /// <summary>Forgets a copy (refused before it started, or its results were retrieved).</summary>
    public void Remove(CopyListState state)
    {
        lock (_lock)
        {
            _lists.Remove(state);
        }
    }

    /// <summary>The number of list identifiers known (running or held).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                DropExpired();
                return _lists.Count;
            }
        }
    }

    private int IndexOf(byte listId)
    {
        for (int i = 0; i < _lists.Count; i++)
        {
            if (_lists[i].ListId == listId)
            {
                return i;
            }
        }

        return -1;
    }

    private void DropExpired()
    {
        long now = clock();
        _lists.RemoveAll(l => l.IsDone && now - l.FinishedAt >= CopyLimits.ListIdRetentionMilliseconds);
    }
}

/// <summary>
/// The progress and result of one copy with a list identifier. The copy updates the counters as it goes; RECEIVE COPY
/// RESULTS on another command reads them at any time.
/// </summary>
internal sealed class CopyListState(byte listId)
{
    private int _segmentsProcessed;
    private long _bytesTransferred;
    private int _done;

    public byte ListId { get; } = listId;

    /// <summary>Segments processed, counting the one in progress (as SCST counts them).</summary>
    public int SegmentsProcessed => Volatile.Read(ref _segmentsProcessed);

    /// <summary>Bytes written to destinations.</summary>
    public long BytesTransferred => Interlocked.Read(ref _bytesTransferred);

    public bool IsDone => Volatile.Read(ref _done) != 0;

    /// <summary>How the copy ended; meaningful once <see cref="IsDone"/>.</summary>
    public CommandOutcome Outcome { get; private set; }

    /// <summary>The clock reading when the copy ended.</summary>
    public long FinishedAt { get; private set; }

    public void SetSegmentsProcessed(int count) => Volatile.Write(ref _segmentsProcessed, count);

    public void AddTransferred(long bytes) => Interlocked.Add(ref _bytesTransferred, bytes);

    internal void Finish(in CommandOutcome outcome, long now)
    {
        Outcome = outcome;
        FinishedAt = now;
        Volatile.Write(ref _done, 1);
    }
}
