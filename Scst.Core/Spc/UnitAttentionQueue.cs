// Licensed under the Apache License, Version 2.0.

namespace Scst.Core.Spc;

/// <summary>
/// The unit attention conditions pending for one I_T nexus, per LUN (SAM-5 section 5.14, SPC-4 section 4.5.6). The
/// oldest condition of a LUN is reported first, as CHECK CONDITION to any command but INQUIRY, REPORT LUNS and REQUEST
/// SENSE, or as the sense data of REQUEST SENSE; reporting it clears it.
/// </summary>
/// <remarks>
/// The queue is small and bounded: a condition already pending for the LUN is not queued twice, and when the queue is
/// full a new condition is dropped (the ones already queued were established earlier and are reported first anyway).
/// A reset condition (ASC 29h, the highest precedence in SAM-5) is reported before any other of its LUN and replaces an
/// older one. The command path reads only <see cref="HasPending"/>, one volatile read, when nothing is pending.
/// </remarks>
internal sealed class UnitAttentionQueue
{
    /// <summary>The most conditions kept per session.</summary>
    public const int Capacity = 16;

    private const byte ResetAsc = 0x29;

    private readonly Lock _lock = new();
    private readonly (int Lun, SenseCode Sense)[] _entries = new (int, SenseCode)[Capacity];
    private int _count;

    /// <summary>Whether any condition is pending, for any LUN.</summary>
    public bool HasPending => Volatile.Read(ref _count) != 0;

    /// <summary>Establishes a condition for <paramref name="lun"/>.</summary>
    /// <returns>False when it was already pending or the queue is full.</returns>
    public bool Establish(int lun, SenseCode sense)
    {
        lock (_lock)
        {
            for (int i = 0; i < _count; i++)
            {
                if (_entries[i].Lun == lun && _entries[i].Sense == sense)
                {
                    return false;
                }
            }

            if (sense.Asc == ResetAsc)
            {
                // A reset condition (SAM-5 table 43: the highest precedence) goes first, and replaces an older reset
                // condition of the same LUN: the initiator learns once that the LU was reset.
                Remove(lun, static s => s.Asc == ResetAsc);
                if (_count == Capacity)
                {
                    Remove(lun, static _ => true);
                }

                if (_count == Capacity)
                {
                    return false;
                }

                Array.Copy(_entries, 0, _entries, 1, _count);
                _entries[0] = (lun, sense);
                Volatile.Write(ref _count, _count + 1);
                return true;
            }

            if (_count == Capacity)
            {
                return false;
            }

            _entries[_count] = (lun, sense);
            Volatile.Write(ref _count, _count + 1);
            return true;
        }
    }

    // Removes the first condition of the LUN that matches; the caller holds the lock.
    private void Remove(int lun, Func<SenseCode, bool> match)
    {
        for (int i = 0; i < _count; i++)
        {
            if (_entries[i].Lun == lun && match(_entries[i].Sense))
            {
                RemoveAt(i);
                return;
            }
        }
    }

    // The caller holds the lock.
    private void RemoveAt(int i)
    {
        Array.Copy(_entries, i + 1, _entries, i, _count - i - 1);
        _entries[_count - 1] = default;
        Volatile.Write(ref _count, _count - 1);
    }

    /// <summary>Reads the condition <see cref="TryTake"/> would take, leaving it pending.</summary>
    public bool TryPeek(int lun, out SenseCode sense) => TryRead(lun, take: false, out sense);

    /// <summary>Takes the oldest condition of <paramref name="lun"/>.</summary>
    /// <returns>False when none is pending for that LUN.</returns>
    public bool TryTake(int lun, out SenseCode sense) => TryRead(lun, take: true, out sense);

    private bool TryRead(int lun, bool take, out SenseCode sense)
    {
        sense = default;
        if (!HasPending)
        {
            return false;
        }

        lock (_lock)
        {
            for (int i = 0; i < _count; i++)
            {
                if (_entries[i].Lun == lun)
                {
                    sense = _entries[i].Sense;
                    if (take)
                    {
                        RemoveAt(i);
                    }

                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>The number of conditions pending for <paramref name="lun"/>.</summary>
    public int CountFor(int lun)
    {
        lock (_lock)
        {
            int n = 0;
            for (int i = 0; i < _count; i++)
            {
                if (_entries[i].Lun == lun)
                {
                    n++;
                }
            }

            return n;
        }
    }
}
