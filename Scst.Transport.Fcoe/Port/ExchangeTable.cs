// Licensed under the Apache License, Version 2.0.

using System.Diagnostics.CodeAnalysis;

namespace Scst.Transport.Fcoe.Port;

/// <summary>
/// The exchanges a local port responds to: one <see cref="FcpExchange"/> per RX_ID, found by RX_ID (FCP_DATA carries
/// ours) and by the initiator's (S_ID, OX_ID) (an ABTS may come before the initiator learnt our RX_ID). An aborted
/// exchange keeps its RX_ID and its recovery qualifier until its command is gone and then RRQ or R_A_TOV releases it
/// (FC-LS), so neither id is reused while a late frame could still name it. No allocation after construction.
/// </summary>
/// <remarks>
/// One lock guards the free list and the index; it is never held while an exchange's own lock is taken, so a caller
/// may hold an exchange's lock when it calls in.
/// </remarks>
internal sealed class ExchangeTable
{
    private readonly Lock _lock = new();
    private readonly FcpExchange[] _exchanges;
    private readonly ushort[] _free;
    private readonly Dictionary<ulong, FcpExchange> _byOriginator;
    private readonly List<FcpExchange> _held;
    private int _freeCount;

    /// <summary>A table of <paramref name="capacity"/> exchanges, RX_IDs 0 to capacity - 1.</summary>
    public ExchangeTable(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 0xFFFF);
        _exchanges = new FcpExchange[capacity];
        _free = new ushort[capacity];
        for (int i = 0; i < capacity; i++)
        {
            _exchanges[i] = new FcpExchange((ushort)i);
            _free[i] = (ushort)(capacity - 1 - i); // RX_ID 0 first, as a fresh port hands them out
        }

        _freeCount = capacity;
        _byOriginator = new Dictionary<ulong, FcpExchange>(capacity);
        _held = new List<FcpExchange>(capacity);
    }

    /// <summary>How many exchanges the table holds.</summary>
    public int Capacity => _exchanges.Length;

    /// <summary>How many exchanges are in use (open or held).</summary>
    public int InUse
    {
        get
        {
            lock (_lock)
            {
                return _exchanges.Length - _freeCount;
            }
        }
    }

    /// <summary>
    /// Opens the exchange for a new FCP_CMND with OX_ID <paramref name="oxId"/> from <paramref name="remoteId"/>. An
    /// aborted exchange with the same OX_ID whose qualifier the initiator did not release gives way (the initiator has
    /// moved on); an open one does not: false with <paramref name="busy"/> false. False with <paramref name="busy"/>
    /// true when every exchange is in use.
    /// </summary>
    public bool TryOpen(uint remoteId, ushort oxId, FcoeSession? session, [NotNullWhen(true)] out FcpExchange? exchange, out bool busy)
    {
        ulong key = Key(remoteId, oxId);
        lock (_lock)
        {
            busy = false;
            exchange = null;
            if (_byOriginator.TryGetValue(key, out var existing))
            {
                if (existing.State != ExchangeState.Aborted)
                {
                    return false;
                }

                _byOriginator.Remove(key);
            }

            if (_freeCount == 0)
            {
                busy = true;
                return false;
            }

            exchange = _exchanges[_free[--_freeCount]];
            exchange.Start(remoteId, oxId, session);
            _byOriginator[key] = exchange;
            return true;
        }
    }

    /// <summary>The exchange with our <paramref name="rxId"/> when it is open for <paramref name="remoteId"/>'s <paramref name="oxId"/>.</summary>
    public bool TryGet(ushort rxId, uint remoteId, ushort oxId, [NotNullWhen(true)] out FcpExchange? exchange)
    {
        exchange = rxId < _exchanges.Length ? _exchanges[rxId] : null;
        lock (_lock)
        {
            if (exchange is null || exchange.State == ExchangeState.Free || exchange.RemoteId != remoteId || exchange.OxId != oxId)
            {
                exchange = null;
                return false;
            }

            return true;
        }
    }

    /// <summary>The exchange <paramref name="remoteId"/> opened with <paramref name="oxId"/>, open or held.</summary>
    public bool TryFind(uint remoteId, ushort oxId, [NotNullWhen(true)] out FcpExchange? exchange)
    {
        lock (_lock)
        {
            return _byOriginator.TryGetValue(Key(remoteId, oxId), out exchange);
        }
    }

    /// <summary>
    /// Marks <paramref name="exchange"/> aborted (the caller holds its lock and has set the state): it is held until
    /// <paramref name="heldUntil"/> (a <see cref="TimeProvider"/> timestamp; 0 holds nothing) or RRQ, and until
    /// <see cref="CommandGone"/>.
    /// </summary>
    public void Hold(FcpExchange exchange, long heldUntil)
    {
        lock (_lock)
        {
            exchange.HeldUntil = heldUntil;
            if (heldUntil != 0 && !_held.Contains(exchange))
            {
                _held.Add(exchange);
            }
        }
    }

    /// <summary>The exchange ended normally (its FCP_RSP went out, or nothing was ever started): its ids are free at once.</summary>
    public void Close(FcpExchange exchange)
    {
        lock (_lock)
        {
            FreeLocked(exchange);
        }
    }

    /// <summary>The command of an aborted exchange was released: the exchange is freed unless its qualifier is still held.</summary>
    public void CommandGone(FcpExchange exchange)
    {
        lock (_lock)
        {
            exchange.CommandGone = true;
            if (exchange.HeldUntil == 0)
            {
                FreeLocked(exchange);
            }
        }
    }

    /// <summary>
    /// RRQ: releases the recovery qualifier of the aborted exchange (<paramref name="remoteId"/>, <paramref name="oxId"/>,
    /// <paramref name="rxId"/>). False when no aborted exchange has it.
    /// </summary>
    public bool ReleaseQualifier(uint remoteId, ushort oxId, ushort rxId)
    {
        lock (_lock)
        {
            foreach (var exchange in _held)
            {
                if (exchange.RemoteId == remoteId && exchange.OxId == oxId && (rxId == Protocol.FcFrameHeader.UnassignedExchangeId || exchange.RxId == rxId))
                {
                    exchange.HeldUntil = 0;
                    _held.Remove(exchange);
                    if (exchange.CommandGone)
                    {
                        FreeLocked(exchange);
                    }

                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Frees the held exchanges whose R_A_TOV has passed at <paramref name="now"/> and whose command is gone.</summary>
    public void ReleaseExpired(long now)
    {
        lock (_lock)
        {
            for (int i = _held.Count - 1; i >= 0; i--)
            {
                var exchange = _held[i];
                if (exchange.HeldUntil <= now)
                {
                    exchange.HeldUntil = 0;
                    _held.RemoveAt(i);
                    if (exchange.CommandGone)
                    {
                        FreeLocked(exchange);
                    }
                }
            }
        }
    }

    /// <summary>Adds the open and held exchanges of <paramref name="session"/> to <paramref name="into"/>.</summary>
    public void CollectSession(FcoeSession session, List<FcpExchange> into)
    {
        lock (_lock)
        {
            foreach (var exchange in _exchanges)
            {
                if (exchange.State != ExchangeState.Free && exchange.Session == session)
                {
                    into.Add(exchange);
                }
            }
        }
    }

    private static ulong Key(uint remoteId, ushort oxId) => ((ulong)remoteId << 16) | oxId;

    private void FreeLocked(FcpExchange exchange)
    {
        if (exchange.State == ExchangeState.Free)
        {
            return;
        }

        ulong key = Key(exchange.RemoteId, exchange.OxId);
        if (_byOriginator.TryGetValue(key, out var mapped) && mapped == exchange)
        {
            _byOriginator.Remove(key);
        }

        if (exchange.HeldUntil != 0)
        {
            _held.Remove(exchange);
        }

        exchange.State = ExchangeState.Free;
        exchange.Session = null;
        exchange.Command = null;
        exchange.HeldUntil = 0;
        _free[_freeCount++] = exchange.RxId;
    }
}
