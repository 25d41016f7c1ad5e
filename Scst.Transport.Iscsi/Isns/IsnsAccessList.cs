// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Isns;

/// <summary>
/// iSNS access control: per target, the initiators the iSNS server last said share a discovery domain with it (the
/// answer to a DevAttrQry with the target as source). The client writes it; logins and SendTargets read it and never
/// wait for the server. A target with no answer yet admits nobody; an answer stays until the next one replaces it, so
/// an unreachable server leaves the last answer in force (as SCST's iSCSI daemon keeps its list).
/// </summary>
internal sealed class IsnsAccessList
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, HashSet<string>> _visible = new(StringComparer.Ordinal);
    private int _answers;

    /// <summary>Answers taken in since the driver started (tests wait on it).</summary>
    public int Answers => Volatile.Read(ref _answers);

    /// <summary>Whether the last answer for <paramref name="target"/> named <paramref name="initiator"/>.</summary>
    public bool Allows(string target, string initiator)
    {
        lock (_lock)
        {
            return _visible.TryGetValue(target, out HashSet<string>? initiators) && initiators.Contains(initiator);
        }
    }

    /// <summary>The initiators of the last answer for <paramref name="target"/>; null when none came yet.</summary>
    public IReadOnlyList<string>? VisibleTo(string target)
    {
        lock (_lock)
        {
            return _visible.TryGetValue(target, out HashSet<string>? initiators) ? [.. initiators.Order(StringComparer.Ordinal)] : null;
        }
    }

    /// <summary>Takes the server's answer for <paramref name="target"/> (iSCSI names compare without case, RFC 3722).</summary>
    public void Set(string target, IEnumerable<string> initiators)
    {
        var set = new HashSet<string>(initiators, StringComparer.OrdinalIgnoreCase);
        lock (_lock)
        {
            _visible[target] = set;
        }

        Interlocked.Increment(ref _answers);
    }

    /// <summary>Forgets the targets no longer registered.</summary>
    public void RetainOnly(IReadOnlyCollection<string> targets)
    {
        lock (_lock)
        {
            foreach (string target in _visible.Keys.Where(t => !targets.Contains(t)).ToList())
            {
                _visible.Remove(target);
            }
        }
    }

    /// <summary>Forgets every answer (another iSNS server was configured).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _visible.Clear();
        }
    }
}
