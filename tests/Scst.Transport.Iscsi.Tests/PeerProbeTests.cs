// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Net.Sockets;
using Scst.Transport.Iscsi.Interop;

namespace Scst.Transport.Iscsi.Tests;

/// <summary>PeerProbe tells a closed peer from a quiet one and from one whose bytes wait, and takes no byte.</summary>
public sealed class PeerProbeTests
{
    private static async Task<(Socket Server, Socket Client)> ConnectAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!, TestContext.Current.CancellationToken);
        Socket server = await listener.AcceptAsync(TestContext.Current.CancellationToken);
        return (server, client);
    }

    [Fact]
    public async Task QuietPeer_IsOpen_AndWaitingBytesAreLeftInPlace()
    {
        (Socket server, Socket client) = await ConnectAsync();
        using (server)
        using (client)
        {
            PeerProbe.HasClosed(server).Should().BeFalse();

            client.Send([1, 2, 3]);
            await Task.Delay(50, TestContext.Current.CancellationToken); // loopback delivery
            PeerProbe.HasClosed(server).Should().BeFalse();
            server.Available.Should().Be(3, "the probe peeks and takes nothing");
        }
    }

    [Fact]
    public async Task PeerThatClosed_IsClosed()
    {
        (Socket server, Socket client) = await ConnectAsync();
        using (server)
        {
            client.Shutdown(SocketShutdown.Both);
            client.Dispose();
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (!PeerProbe.HasClosed(server) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10, TestContext.Current.CancellationToken);
            }

            PeerProbe.HasClosed(server).Should().BeTrue();
        }
    }
}
