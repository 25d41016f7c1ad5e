// Licensed under the Apache License, Version 2.0.

using System.Net;

namespace Scst.Transport.Iscsi.Security;

/// <summary>
/// Slows down secret guessing: after an authentication failure from a source address, the next failure from that address
/// is answered only after a delay that doubles with each further failure (1 s, 2 s, 4 s, 8 s, then 16 s), and an address
/// that has not failed for a minute is forgotten. Only the failing connection's response waits; other connections,
/// and other addresses, are never delayed. One per driver; thread-safe.
/// </summary>
/// <remarks>
/// Memory is bounded: at most <see cref="MaxTrackedAddresses"/> addresses are tracked. When that many have failed within
/// the last minute (many sources at once, an attack), a failure from an address not tracked yet waits the longest delay,
/// so that a flood of sources does not escape the throttle by evicting each other.
/// </remarks>
internal sealed class AuthenticationThrottle
{
    /// <summary>The delay of an address's second failure; each further failure doubles it.</summary>
    public static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(1);

    /// <summary>The longest delay.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(16);

    /// <summary>How long an address must not fail to be forgotten.</summary>
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromMinutes(1);

    /// <summary>Cap on the addresses tracked.</summary>
    public const int MaxTrackedAddresses = 4096;

    private readonly Lock _lock = new();
    private readonly Dictionary<IPAddress, Entry> _failures = [];

    /// <summary>Creates the throttle.</summary>
    /// <param name="timeProvider">The clock for failure times and delays. Defaults to the system clock.</param>
    public AuthenticationThrottle(TimeProvider? timeProvider = null) => TimeProvider = timeProvider ?? TimeProvider.System;

    /// <summary>The clock.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>Addresses currently tracked (for tests and diagnostics).</summary>
    public int TrackedCount
    {
        get
        {
            lock (_lock)
            {
                return _failures.Count;
            }
        }
    }

    /// <summary>Records an authentication failure from <paramref name="address"/>.</summary>
    /// <returns>How long to hold back the failure's response: zero for the first failure after a quiet minute.</returns>
    public TimeSpan RegisterFailure(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        DateTimeOffset now = TimeProvider.GetUtcNow();
        lock (_lock)
        {
            if (!_failures.TryGetValue(address, out Entry entry) || now - entry.LastFailure >= QuietPeriod)
            {
                if (_failures.Count >= MaxTrackedAddresses && !_failures.ContainsKey(address))
                {
                    ForgetQuiet(now);
                    if (_failures.Count >= MaxTrackedAddresses)
                    {
                        return MaxDelay;
                    }
                }

                _failures[address] = new Entry(now, 1);
                return TimeSpan.Zero;
            }

            int failures = entry.Failures + 1;
            _failures[address] = new Entry(now, failures);

            // Failure n (n >= 2) waits 2^(n-2) s, up to MaxDelay.
            int doublings = Math.Min(failures - 2, 30);
            TimeSpan delay = FirstDelay * (1L << doublings);
            return delay < MaxDelay ? delay : MaxDelay;
        }
    }

    /// <summary>Waits <paramref name="delay"/> on the throttle's clock.</summary>
    public Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken) => Task.Delay(delay, TimeProvider, cancellationToken);

    private void ForgetQuiet(DateTimeOffset now)
    {
        foreach ((IPAddress address, Entry entry) in _failures)
        {
            if (now - entry.LastFailure >= QuietPeriod)
            {
                _failures.Remove(address);
            }
        }
    }

    private readonly record struct Entry(DateTimeOffset LastFailure, int Failures);
}
