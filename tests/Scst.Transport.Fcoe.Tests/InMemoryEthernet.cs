// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Time.Testing;
using Scst.Testing;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// An Ethernet segment in memory with any number of links: a frame one link sends reaches every other link whose
/// address filter takes it. Each link has a receiver; <see cref="Pump"/> hands the waiting frames to them until none
/// is left, and <see cref="Run"/> moves a fake clock 1 ms at a time, pumping after each step (FakeTimeProvider fires
/// a timer at most once per Advance, and not one that a callback created within it).
/// </summary>
internal sealed class InMemoryEthernet
{
    private readonly List<(InMemoryFcoeLink Link, Action<byte[]> Receive)> _nodes = [];

    public InMemoryEthernet(FakeTimeProvider time) => Time = time;

    public FakeTimeProvider Time { get; }

    /// <summary>When set, a frame for which it returns true is lost on the way (to every receiver).</summary>
    public Func<byte[], bool>? Drop { get; set; }

    /// <summary>Every frame sent on the segment, in order, with the sender's clock.</summary>
    public List<SentFrame> Trace { get; } = [];

    public InMemoryFcoeLink Attach(MacAddress address, int mtu = 9000, string name = "seg")
    {
        var link = new InMemoryFcoeLink(address, Time, mtu, name) { Segment = this };
        _nodes.Add((link, _ => { }));
        return link;
    }

    /// <summary>Sets who receives what <paramref name="link"/> gets.</summary>
    public void SetReceiver(InMemoryFcoeLink link, Action<byte[]> receive)
    {
        int at = _nodes.FindIndex(n => n.Link == link);
        _nodes[at] = (link, receive);
    }

    internal void Deliver(InMemoryFcoeLink from, byte[] frame)
    {
        Trace.Add(new SentFrame(Time.GetUtcNow(), frame));
        if (Drop?.Invoke(frame) == true)
        {
            return;
        }

        var destination = MacAddress.Read(frame);
        foreach (var (link, _) in _nodes)
        {
            if (link != from && link.Accepts(destination))
            {
                link.Deliver(frame);
            }
        }
    }

    /// <summary>
    /// Pumps until <paramref name="condition"/> holds, waiting a little between rounds: the core may complete a command
    /// on another thread (fileio I/O), so its frames can come after a pump found none.
    /// </summary>
    public async Task PumpUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TestFcoeInitiator.Patience;
        while (true)
        {
            Pump();
            if (condition())
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TestAssertionException("The frames did not come in time.");
            }

            await Task.Delay(5, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Hands every waiting frame to its receiver, again until no link has any.</summary>
    public void Pump()
    {
        bool moved;
        do
        {
            moved = false;
            foreach (var (link, receive) in _nodes.ToArray())
            {
                while (link.TryReceive(out var frame))
                {
                    receive(frame);
                    moved = true;
                }
            }
        }
        while (moved);
    }

    /// <summary>Moves the clock by <paramref name="duration"/>, 1 ms at a time, pumping frames after each step.</summary>
    public void Run(TimeSpan duration)
    {
        Pump();
        var step = TimeSpan.FromMilliseconds(1);
        while (duration > TimeSpan.Zero)
        {
            var next = duration < step ? duration : step;
            Time.Advance(next);
            duration -= next;
            Pump();
        }
    }

    /// <summary>Runs until <paramref name="condition"/> holds, at most <paramref name="limit"/>; true when it held.</summary>
    public bool RunUntil(Func<bool> condition, TimeSpan limit)
    {
        Pump();
        var end = Time.GetUtcNow() + limit;
        while (!condition())
        {
            if (Time.GetUtcNow() >= end)
            {
                return false;
            }

            Time.Advance(TimeSpan.FromMilliseconds(1));
            Pump();
        }

        return true;
    }
}
