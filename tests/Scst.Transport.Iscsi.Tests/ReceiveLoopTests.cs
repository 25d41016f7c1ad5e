// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Net.Sockets;
using Scst.Transport.Iscsi.Interop;

namespace Scst.Transport.Iscsi.Tests;

/// <summary>The receive loop over real loopback sockets: reads that wait, the thread that completes them, and their ends.</summary>
public sealed class ReceiveLoopTests : IDisposable
{
    private readonly ReceiveLoop _loop = new("test receive");
    private readonly List<Socket> _sockets = [];

    [Fact]
    public async Task Read_WithDataAlreadyThere_CompletesAtOnce()
    {
        (Socket client, Socket server) = Pair();
        client.Send("abc"u8);
        await WaitReadableAsync(server);
        using ReceiveLoopStream stream = _loop.Open(server);
        var buffer = new byte[16];

        ValueTask<int> read = stream.ReadAsync(buffer, TestContext.Current.CancellationToken);

        read.IsCompleted.Should().BeTrue();
        (await read).Should().Be(3);
        buffer.AsSpan(0, 3).ToArray().Should().Equal("abc"u8.ToArray());
    }

    [Fact]
    public async Task Read_ThatWaits_IsCompletedOnTheLoopsThread_WhenDataArrives()
    {
        (Socket client, Socket server) = Pair();
        using ReceiveLoopStream stream = _loop.Open(server);
        var buffer = new byte[16];

        ValueTask<int> read = stream.ReadAsync(buffer, TestContext.Current.CancellationToken);
        read.IsCompleted.Should().BeFalse("nothing was sent yet");
        Task<string?> continued = ContinueAsync(read, buffer); // awaits the read before anything is sent
        client.Send("hello"u8);
        string? thread = await continued.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        thread.Should().Be("test receive", "the continuation runs where the loop woke, not on a pool thread");
    }

    [Fact]
    public async Task ManyStreams_OnOneLoop_EachGetsItsOwnData()
    {
        var pairs = Enumerable.Range(0, 20).Select(_ => Pair()).ToList();
        var streams = pairs.Select(p => _loop.Open(p.Server)).ToList();
        var buffers = pairs.Select(_ => new byte[8]).ToList();
        var reads = streams.Select((s, i) => s.ReadAsync(buffers[i], TestContext.Current.CancellationToken).AsTask()).ToList();
        _loop.Count.Should().Be(20);

        for (int i = pairs.Count - 1; i >= 0; i--)
        {
            pairs[i].Client.Send([(byte)i]);
        }

        int[] counts = await Task.WhenAll(reads).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        counts.Should().AllBeEquivalentTo(1);
        buffers.Select(b => (int)b[0]).Should().Equal(Enumerable.Range(0, 20));
        streams.ForEach(s => s.Dispose());
        _loop.Count.Should().Be(0);
    }

    [Fact]
    public async Task AStreamThatAlwaysHasData_DoesNotKeepTheLoopFromAnother()
    {
        (Socket busyClient, Socket busyServer) = Pair();
        (Socket quietClient, Socket quietServer) = Pair();
        using ReceiveLoopStream busy = _loop.Open(busyServer);
        using ReceiveLoopStream quiet = _loop.Open(quietServer);
        int busyReads = 0;
        int busyReadsWhenQuietDone = -1;
        Task quietDone = ReadOneAsync(quiet, () => busyReadsWhenQuietDone = Volatile.Read(ref busyReads));
        Task busyDone = ReadAllAsync(busy, 64 * 1024, () => Interlocked.Increment(ref busyReads));

        busyClient.Send(new byte[64 * 1024]); // 4096 reads of 16 bytes, all there at once, each taking 20 µs or more
        await Task.Delay(10, TestContext.Current.CancellationToken);
        quietClient.Send([1]);

        await Task.WhenAll(quietDone, busyDone).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        busyReadsWhenQuietDone.Should().BeInRange(1, 3000, "the busy stream yields the loop's thread every few reads, so the quiet one is served long before the busy one is drained");
    }

    [Fact]
    public async Task PeerClose_EndsTheWaitingRead_WithEndOfStream()
    {
        (Socket client, Socket server) = Pair();
        using ReceiveLoopStream stream = _loop.Open(server);
        ValueTask<int> read = stream.ReadAsync(new byte[8], TestContext.Current.CancellationToken);

        client.Shutdown(SocketShutdown.Send);

        (await read.AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Should().Be(0);
    }

    [Fact]
    public async Task Abandon_EndsTheWaitingRead_SoThatTheSocketCanBeClosed()
    {
        (_, Socket server) = Pair();
        ReceiveLoopStream stream = _loop.Open(server);
        ValueTask<int> read = stream.ReadAsync(new byte[8], TestContext.Current.CancellationToken);

        stream.Abandon();
        server.Dispose();

        (await read.AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Should().Be(0);
        (await stream.ReadAsync(new byte[8], TestContext.Current.CancellationToken)).Should().Be(0, "an abandoned stream reads nothing more");
        _loop.Count.Should().Be(0);
    }

    [Fact]
    public async Task LoopDisposed_EndsWaitingReads()
    {
        var loop = new ReceiveLoop("disposed loop");
        (_, Socket server) = Pair();
        ReceiveLoopStream stream = loop.Open(server);
        ValueTask<int> read = stream.ReadAsync(new byte[8], TestContext.Current.CancellationToken);

        loop.Dispose();

        (await read.AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Should().Be(0);
    }

    public void Dispose()
    {
        _loop.Dispose();
        _sockets.ForEach(s => s.Dispose());
    }

    private static async Task<string?> ContinueAsync(ValueTask<int> read, byte[] buffer)
    {
        int n = await read.ConfigureAwait(false);
        string? thread = Thread.CurrentThread.Name;
        n.Should().Be(5);
        buffer.AsSpan(0, 5).ToArray().Should().Equal("hello"u8.ToArray());
        return thread;
    }

    private static async Task ReadOneAsync(ReceiveLoopStream stream, Action done)
    {
        (await stream.ReadAsync(new byte[1]).ConfigureAwait(false)).Should().Be(1);
        done();
    }

    private static async Task ReadAllAsync(ReceiveLoopStream stream, int total, Action counted)
    {
        var buffer = new byte[16];
        for (int read = 0; read < total;)
        {
            int n = await stream.ReadAsync(buffer).ConfigureAwait(false);
            n.Should().BePositive();
            read += n;
            counted();
            long until = System.Diagnostics.Stopwatch.GetTimestamp() + (System.Diagnostics.Stopwatch.Frequency / 50_000);
            while (System.Diagnostics.Stopwatch.GetTimestamp() < until)
            {
                Thread.SpinWait(10); // the work of a PDU, on the loop's thread
            }
        }
    }

    private static async Task WaitReadableAsync(Socket socket)
    {
        for (int i = 0; i < 200 && socket.Available == 0; i++)
        {
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    private (Socket Client, Socket Server) Pair()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        Socket server = listener.Accept();
        _sockets.Add(client);
        _sockets.Add(server);
        return (client, server);
    }
}
