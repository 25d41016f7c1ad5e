// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Iscsi.Protocol;

namespace Scst.Transport.Iscsi;

/// <summary>
/// NOP-In keepalive (SCST's NopInInterval and NopInTimeout): once a full-feature-phase connection has received nothing
/// for NopInInterval seconds, the target sends a NOP-In with a Target Transfer Tag of its own (not 0xffffffff), which
/// asks the initiator for a NOP-Out carrying that tag (RFC 7143 sections 11.18, 11.19). No answer within NopInTimeout
/// seconds drops the connection, and its session's commands end as for any connection loss.
/// </summary>
/// <remarks>
/// One timer per connection, from the driver's <see cref="TimeProvider"/>; it is re-armed for the next moment
/// something can be due, so an active connection costs one timestamp per receive and no timer work per PDU. Ping
/// state is guarded by <c>_sendLock</c>, which the ping is sent under anyway.
/// </remarks>
internal sealed partial class IscsiConnection
{
    private ITimer? _keepalive;
    private TimeSpan _nopInInterval;
    private TimeSpan _nopInTimeout;
    private long _lastReceiveTimestamp;
    private bool _pingOutstanding;
    private uint _pingTag;
    private long _pingSentTimestamp;
    private uint _nextPingTag;

    /// <summary>Arms the keepalive when the connection enters the full feature phase (receive loop).</summary>
    private void StartKeepalive()
    {
        IscsiTargetSettings? settings = TargetSettings;
        int interval = settings?.NopInInterval ?? _driver.Options.NopInInterval;
        if (interval <= 0)
        {
            return;
        }

        TimeProvider time = _driver.TimeProvider;
        _nopInInterval = TimeSpan.FromSeconds(interval);
        _nopInTimeout = TimeSpan.FromSeconds(Math.Max(1, settings?.NopInTimeout ?? _driver.Options.NopInTimeout));
        Volatile.Write(ref _lastReceiveTimestamp, time.GetTimestamp());
        _keepalive = time.CreateTimer(static state => ((IscsiConnection)state!).OnKeepaliveTimer(), this, _nopInInterval, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Disposes the timer (Close). A callback already running sees the connection closed.</summary>
    private void StopKeepalive() => Interlocked.Exchange(ref _keepalive, null)?.Dispose();

    /// <summary>Something arrived from the initiator (receive loop): the connection is not idle.</summary>
    private void NoteReceived()
    {
        if (_keepalive is not null)
        {
            Volatile.Write(ref _lastReceiveTimestamp, _driver.TimeProvider.GetTimestamp());
        }
    }

    /// <summary>A NOP-Out with a Target Transfer Tag arrived: it clears the ping it answers; any other tag is ignored.</summary>
    private void OnPingAnswered(uint targetTransferTag)
    {
        lock (_sendLock)
        {
            if (_pingOutstanding && targetTransferTag == _pingTag)
            {
                _pingOutstanding = false;
            }
        }
    }

    private void OnKeepaliveTimer()
    {
        ITimer? timer = Volatile.Read(ref _keepalive);
        if (timer is null || IsClosed)
        {
            return;
        }

        TimeProvider time = _driver.TimeProvider;
        long now = time.GetTimestamp();
        TimeSpan next;
        bool expired = false;
        lock (_sendLock)
        {
            if (_pingOutstanding)
            {
                TimeSpan waited = time.GetElapsedTime(_pingSentTimestamp, now);
                expired = waited >= _nopInTimeout;
                next = _nopInTimeout - waited;
            }
            else
            {
                TimeSpan idle = time.GetElapsedTime(Volatile.Read(ref _lastReceiveTimestamp), now);
                if (idle >= _nopInInterval)
                {
                    SendPingLocked(now);
                    next = _nopInTimeout;
                }
                else
                {
                    next = _nopInInterval - idle;
                }
            }
        }

        if (expired)
        {
            Log.KeepaliveTimedOut(_logger, _remote, (int)_nopInTimeout.TotalSeconds);
            Abort();
            return;
        }

        try
        {
            timer.Change(next, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // Closed meanwhile.
        }
    }

    private void SendPingLocked(long now)
    {
        uint tag;
        do
        {
            tag = ++_nextPingTag;
        }
        while (tag == IscsiTask.ReservedTag);

        _pingTag = tag;
        _pingSentTimestamp = now;
        _pingOutstanding = true;

        // ITT 0xffffffff: not an answer; the StatSN is the next one and does not advance (RFC 7143 section 11.19.4).
        uint exp = ExpCmdSnNow;
        var ping = new NopInHeader
        {
            DataSegmentLength = 0,
            Lun = 0,
            InitiatorTaskTag = IscsiTask.ReservedTag,
            TargetTransferTag = tag,
            StatSn = _statSn,
            ExpCmdSn = exp,
            MaxCmdSn = MaxCmdSn(exp),
        };
        ping.WriteTo(_sendHeader);
        SendLocked(default);
    }
}
