// Licensed under the Apache License, Version 2.0.

using System.Threading.Channels;
using Scst.Transport.Fcoe.Link;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>One frame an <see cref="InMemoryFcoeLink"/> sent, and when (by the link's clock).</summary>
internal sealed record SentFrame(DateTimeOffset At, byte[] Data)
{
    public MacAddress Destination => MacAddress.Read(Data);

    public MacAddress Source => MacAddress.Read(Data.AsSpan(MacAddress.Length));
}

/// <summary>
/// An Ethernet interface in memory: it records what is sent, keeps the unicast addresses and multicast groups it was
/// given, and (when paired) delivers each sent frame to the other end if that end would receive it, as a NIC's
/// address filter would. Delivered frames wait in an inbox that the test drains.
/// </summary>
internal sealed class InMemoryFcoeLink : IFcoeLink
{
    private readonly TimeProvider _time;
    private readonly Channel<byte[]> _inbox = Channel.CreateUnbounded<byte[]>();
    private readonly List<SentFrame> _sent = [];
    private readonly HashSet<MacAddress> _unicast = [];
    private readonly HashSet<MacAddress> _multicast = [];
    private readonly Lock _lock = new();

    public InMemoryFcoeLink(MacAddress address, TimeProvider time, int mtu = 9000, string name = "mem0")
    {
        Address = address;
        _time = time;
        Mtu = mtu;
        Name = name;
    }

    public string Name { get; }

    public MacAddress Address { get; }

    public int Mtu { get; }

    public InMemoryFcoeLink? Peer { get; private set; }

    /// <summary>The segment this link is attached to instead of a single peer (<see cref="InMemoryEthernet"/>).</summary>
    public InMemoryEthernet? Segment { get; internal set; }

    public bool Closed { get; private set; }

    public IReadOnlyList<SentFrame> Sent
    {
        get
        {
            lock (_lock)
            {
                return [.. _sent];
            }
        }
    }

    public IReadOnlyCollection<MacAddress> UnicastAddresses
    {
        get
        {
            lock (_lock)
            {
                return [.. _unicast];
            }
        }
    }

    public IReadOnlyCollection<MacAddress> MulticastGroups
    {
        get
        {
            lock (_lock)
            {
                return [.. _multicast];
            }
        }
    }

    public static (InMemoryFcoeLink A, InMemoryFcoeLink B) CreatePair(MacAddress a, MacAddress b, TimeProvider time, int mtu = 9000)
    {
        var linkA = new InMemoryFcoeLink(a, time, mtu, "memA");
        var linkB = new InMemoryFcoeLink(b, time, mtu, "memB");
        linkA.Peer = linkB;
        linkB.Peer = linkA;
        return (linkA, linkB);
    }

    public void ClearSent()
    {
        lock (_lock)
        {
            _sent.Clear();
        }
    }

    public void AddUnicastAddress(MacAddress address)
    {
        lock (_lock)
        {
            _unicast.Add(address);
        }
    }

    public void RemoveUnicastAddress(MacAddress address)
    {
        lock (_lock)
        {
            _unicast.Remove(address);
        }
    }

    public void JoinMulticast(MacAddress group)
    {
        lock (_lock)
        {
            _multicast.Add(group);
        }
    }

    public bool Accepts(MacAddress destination)
    {
        lock (_lock)
        {
            return destination == Address || _unicast.Contains(destination) || destination == MacAddress.Broadcast
                || (destination.IsMulticast && _multicast.Contains(destination));
        }
    }

    public bool Send(ReadOnlySpan<byte> frame)
    {
        if (Closed || !Ethernet.TryReadHeader(frame, out _, out var tag, out int headerLength)
            || frame.Length - headerLength > Mtu)
        {
            return false;
        }

        var copy = frame.ToArray();
        lock (_lock)
        {
            _sent.Add(new SentFrame(_time.GetUtcNow(), copy));
        }

        if (Segment is { } segment)
        {
            segment.Deliver(this, copy);
        }
        else if (Peer is { } peer && peer.Accepts(MacAddress.Read(copy)))
        {
            peer._inbox.Writer.TryWrite(copy);
        }

        return true;
    }

    /// <summary>Puts a frame in the inbox (the segment's delivery).</summary>
    internal void Deliver(byte[] frame) => _inbox.Writer.TryWrite(frame);

    /// <summary>The next delivered frame, if any (tests pump frames by hand).</summary>
    public bool TryReceive(out byte[] frame) => _inbox.Reader.TryRead(out frame!);

    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            var frame = await _inbox.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            frame.CopyTo(buffer);
            return frame.Length;
        }
        catch (ChannelClosedException)
        {
            return 0;
        }
    }

    public ValueTask DisposeAsync()
    {
        Closed = true;
        _inbox.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }
}
