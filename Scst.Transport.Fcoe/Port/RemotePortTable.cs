// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Fcoe.Port;

/// <summary>
/// The remote ports of one local N_Port, by N_Port_ID. Thread-safe with one lock: the link service responder writes
/// it, the FCP path and the driver read it. Entries are immutable <see cref="RemotePort"/> records.
/// </summary>
internal sealed class RemotePortTable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, RemotePort> _ports = [];

    /// <summary>The number of ports known.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _ports.Count;
            }
        }
    }

    /// <summary>The port at <paramref name="portId"/>, if known.</summary>
    public bool TryGet(uint portId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RemotePort? port)
    {
        lock (_lock)
        {
            return _ports.TryGetValue(portId, out port);
        }
    }

    /// <summary>True when the port at <paramref name="portId"/> is logged in.</summary>
    public bool IsLoggedIn(uint portId) => TryGet(portId, out var port) && port.LoggedIn;

    /// <summary>Stores <paramref name="port"/> under its N_Port_ID and returns the entry it replaced, if any.</summary>
    public RemotePort? Set(RemotePort port)
    {
        ArgumentNullException.ThrowIfNull(port);
        lock (_lock)
        {
            _ports.Remove(port.PortId, out var previous);
            _ports.Add(port.PortId, port);
            return previous;
        }
    }

    /// <summary>
    /// Replaces the entry at <paramref name="portId"/> with <paramref name="update"/> of it, atomically; returns the entry
    /// before and after, or false when the port is not known.
    /// </summary>
    public bool TryUpdate(uint portId, Func<RemotePort, RemotePort> update, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RemotePort? before,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RemotePort? after)
    {
        ArgumentNullException.ThrowIfNull(update);
        lock (_lock)
        {
            if (!_ports.TryGetValue(portId, out before))
            {
                after = null;
                return false;
            }

            after = update(before);
            _ports[portId] = after;
            return true;
        }
    }

    /// <summary>Removes the port at <paramref name="portId"/>; returns the removed entry.</summary>
    public bool TryRemove(uint portId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RemotePort? removed)
    {
        lock (_lock)
        {
            return _ports.Remove(portId, out removed);
        }
    }

    /// <summary>A copy of the entries, for the driver's periodic work (aging, link loss).</summary>
    public RemotePort[] Snapshot()
    {
        lock (_lock)
        {
            return [.. _ports.Values];
        }
    }

    /// <summary>Removes every port (link loss: implicit logout of all) and returns what was removed.</summary>
    public RemotePort[] Clear()
    {
        lock (_lock)
        {
            RemotePort[] all = [.. _ports.Values];
            _ports.Clear();
            return all;
        }
    }
}
