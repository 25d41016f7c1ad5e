// Licensed under the Apache License, Version 2.0.

namespace Scst.Core.Sbc;

/// <summary>
/// Makes COMPARE AND WRITE, ORWRITE and WRITE ATOMIC atomic against every other write to the same blocks, without
/// costing ordinary writes a lock or an allocation while none of those commands is in flight.
/// </summary>
/// <remarks>
/// Ordinary writes take the fast path: they announce themselves in <c>_fastWriters</c> and proceed when no exclusive
/// command is active. An exclusive command first raises <c>_exclusive</c> (from then on new ordinary writes take the
/// slow path), waits for the fast writers already running to drain, and then takes the stripe locks that cover its
/// byte range. Slow-path writes take the same stripes, so they wait for an exclusive command on overlapping regions
/// and run in parallel with it elsewhere. Both counters are updated with interlocked operations (full fences), so a
/// writer either sees the exclusive flag or is counted before the exclusive command stops waiting (Dekker's pattern).
/// Stripes are always taken in ascending index order, so two commands cannot deadlock.
/// </remarks>
internal sealed class WriteExclusion
{
    private const int StripeCount = 64;

    // One region is 1 MiB of the device: COMPARE AND WRITE usually names a block or two, so two commands on different
    // regions rarely share a stripe.
    private const int RegionShift = 20;

    private readonly SemaphoreSlim[] _stripes = new SemaphoreSlim[StripeCount];
    private int _exclusive;
    private int _fastWriters;

    public WriteExclusion()
    {
        for (int i = 0; i < StripeCount; i++)
        {
            _stripes[i] = new SemaphoreSlim(1, 1);
        }
    }

    /// <summary>Enters the fast path of an ordinary write; false when the write must take <see cref="EnterAsync"/>.</summary>
    public bool TryEnterFast()
    {
        Interlocked.Increment(ref _fastWriters);
        if (Volatile.Read(ref _exclusive) == 0)
        {
            return true;
        }

        Interlocked.Decrement(ref _fastWriters);
        return false;
    }

    /// <summary>Leaves the fast path.</summary>
    public void ExitFast() => Interlocked.Decrement(ref _fastWriters);

    /// <summary>Takes the stripes that cover a byte range; <paramref name="exclusive"/> for the atomic commands.</summary>
    public async ValueTask EnterAsync(long offset, long length, bool exclusive)
    {
        if (exclusive)
        {
            Interlocked.Increment(ref _exclusive);

            // Fast writers run synchronously on the page cache in vdisk_fileio: the wait is a few microseconds.
            SpinWait spin = default;
            while (Volatile.Read(ref _fastWriters) != 0)
            {
                spin.SpinOnce();
            }
        }

        (long first, long count) = Regions(offset, length);
        for (int s = 0; s < StripeCount; s++)
        {
            if (Covers(s, first, count))
            {
                await _stripes[s].WaitAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Releases what <see cref="EnterAsync"/> took.</summary>
    public void Exit(long offset, long length, bool exclusive)
    {
        (long first, long count) = Regions(offset, length);
        for (int s = StripeCount - 1; s >= 0; s--)
        {
            if (Covers(s, first, count))
            {
                _stripes[s].Release();
            }
        }

        if (exclusive)
        {
            Interlocked.Decrement(ref _exclusive);
        }
    }

    private static (long First, long Count) Regions(long offset, long length)
    {
        long first = offset >> RegionShift;
        long last = (offset + Math.Max(length, 1) - 1) >> RegionShift;
        return (first, last - first + 1);
    }

    private static bool Covers(int stripe, long firstRegion, long regionCount) =>
        regionCount >= StripeCount || (stripe - (firstRegion % StripeCount) + StripeCount) % StripeCount < regionCount;
}
