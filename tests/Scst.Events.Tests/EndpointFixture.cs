// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Scst.Events.Remote;

namespace Scst.Events.Tests;

/// <summary>A bus and a started endpoint on a socket in a fresh temporary directory.</summary>
internal sealed class EndpointFixture : IAsyncDisposable
{
    private EndpointFixture(string directory, ScstEventBus bus, ScstEventEndpoint endpoint)
    {
        Directory = directory;
        Bus = bus;
        Endpoint = endpoint;
    }

    public string Directory { get; }

    public ScstEventBus Bus { get; }

    public ScstEventEndpoint Endpoint { get; }

    public string SocketPath => Endpoint.SocketPath;

    public static async Task<EndpointFixture> StartAsync(Action<ScstEventEndpointOptions>? configure = null)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("scst-events-").FullName;
        var options = new ScstEventEndpointOptions { SocketPath = Path.Combine(directory, "run", "events.sock") };
        configure?.Invoke(options);
        var bus = new ScstEventBus();
        var endpoint = new ScstEventEndpoint(bus, Options.Create(options));
        await endpoint.StartAsync(TestContext.Current.CancellationToken);
        return new EndpointFixture(directory, bus, endpoint);
    }

    public Task<ScstEventClient> ConnectAsync() => ScstEventClient.ConnectAsync(SocketPath, TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        await Endpoint.DisposeAsync();
        Bus.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}

/// <summary>A hand-driven protocol peer, for what the real client would never send.</summary>
internal sealed class RawClient : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);

    public RawClient(string path) => _socket.Connect(new UnixDomainSocketEndPoint(path));

    public static byte[] Message(ushort type, ReadOnlySpan<byte> body, uint? lengthOverride = null)
    {
        var message = new byte[8 + body.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(message, lengthOverride ?? (uint)message.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(4), type);
        body.CopyTo(message.AsSpan(8));
        return message;
    }

    public static byte[] Hello(uint version = 1)
    {
        var body = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(body, version);
        return Message(0x01, body);
    }

    public static byte[] Allow(int code, string issuer = "*", byte flags = 0, int prefixLength = 0)
    {
        var body = new byte[58 + prefixLength];
        BinaryPrimitives.WriteInt32LittleEndian(body, code);
        System.Text.Encoding.ASCII.GetBytes(issuer).CopyTo(body, 4);
        body[54] = flags;
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(56), (ushort)prefixLength);
        return Message(0x02, body);
    }

    public void Send(byte[] message) => _socket.Send(message);

    /// <summary>Reads one message: its type and body, or null when the server closed the connection.</summary>
    public async Task<(ushort Type, byte[] Body)?> ReceiveAsync()
    {
        var header = new byte[8];
        if (!await ReadExactlyAsync(header))
        {
            return null;
        }

        var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(header);
        var body = new byte[length - 8];
        if (!await ReadExactlyAsync(body))
        {
            return null;
        }

        return (BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(4)), body);
    }

    public async Task<int> ReceiveResultAsync()
    {
        var message = await ReceiveAsync();
        message.Should().NotBeNull();
        message!.Value.Type.Should().Be(0x81);
        return BinaryPrimitives.ReadInt32LittleEndian(message.Value.Body);
    }

    public void Dispose() => _socket.Dispose();

    private async Task<bool> ReadExactlyAsync(byte[] buffer)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            int n;
            try
            {
                n = await _socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, TestContext.Current.CancellationToken);
            }
            catch (SocketException)
            {
                return false;
            }

            if (n == 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }
}
