// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Scst.Events.Remote;

namespace Scst.Events.Tests;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class ScstEventEndpointTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<ScstEvent> ReadOneAsync(ScstEventClient client)
    {
        await using var e = client.ReadAllAsync(Ct).GetAsyncEnumerator(Ct);
        (await e.MoveNextAsync()).Should().BeTrue("the connection should still be open");
        return e.Current;
    }

    [Fact]
    public async Task Allow_Disallow_AnswerAsScstDoes()
    {
        await using var fixture = await EndpointFixture.StartAsync();
        await using var client = await fixture.ConnectAsync();
        var filter = new ScstEventFilter(ScstEventCode.LunAdded, ScstEvents.CoreIssuerName);

        (await client.AllowAsync(filter, cancellationToken: Ct)).Should().BeTrue();
        (await client.AllowAsync(filter, cancellationToken: Ct)).Should().BeFalse("an equal filter is EEXIST");
        (await client.DisallowAsync(new ScstEventFilter(ScstEventCode.LunRemoved), Ct)).Should().BeFalse("nothing matches: ENOENT");
        (await client.DisallowAsync(ScstEventFilter.All, Ct)).Should().BeTrue();
        (await client.DisallowAsync(ScstEventFilter.All, Ct)).Should().BeFalse();
        client.ServerProtocolVersion.Should().Be(1u);
    }

    [Fact]
    public async Task Allow_OtherRoleThanFirstAllow_IsRefused()
    {
        await using var fixture = await EndpointFixture.StartAsync();
        await using var client = await fixture.ConnectAsync();
        await client.AllowAsync(new ScstEventFilter(1), observer: true, Ct);

        var act = () => client.AllowAsync(new ScstEventFilter(2), observer: false, Ct);

        await act.Should().ThrowAsync<InvalidOperationException>();
    }

    [Fact]
    public async Task Events_FilteredByCode_OnlyMatchingArriveWithPayloadAndIssuer()
    {
        await using var fixture = await EndpointFixture.StartAsync();
        await using var client = await fixture.ConnectAsync();
        await client.AllowAsync(new ScstEventFilter(ScstEventCode.SessionAdded), cancellationToken: Ct);
        var session = new SessionEvent("iscsi", "iqn.t", "iqn.i", "iqn.i-1");

        fixture.Bus.Publish(ScstEvents.LunNotFound(1, "i", "t"));
        fixture.Bus.Publish(ScstEvents.SessionAdded(session));
        var received = await ReadOneAsync(client);

        received.Code.Should().Be(ScstEventCode.SessionAdded);
        received.IssuerName.Should().Be("SCST core");
        received.Id.Should().Be(0u);
        SessionEvent.Parse(received.Payload.Span).Should().Be(session);
    }

    [Fact]
    public async Task Completion_AcrossSocket_StatusReachesPublisher()
    {
        await using var fixture = await EndpointFixture.StartAsync();
        await using var agent = await fixture.ConnectAsync();
        await agent.AllowAsync(new ScstEventFilter(ScstEventCode.StpgUserInvoke), cancellationToken: Ct);
        var stpg = new StpgUserInvokeEvent(9, "disk01", [new StpgDescriptor(1, "active", "standby", "dg", "tg")]);

        var task = fixture.Bus.PublishAndWaitAsync(ScstEvents.StpgUserInvoke(stpg, 1), ScstEventBus.DefaultCompletionTimeout, Ct);
        var received = await ReadOneAsync(agent);
        (await agent.NotifyDoneAsync(received.Id, 7, Ct)).Should().BeTrue();

        (await task).Should().Be(7);
        StpgUserInvokeEvent.Parse(received.Payload.Span).DeviceName.Should().Be("disk01");
        (await agent.NotifyDoneAsync(received.Id, 0, Ct)).Should().BeFalse("the id is completed: ENOENT");
    }

    [Fact]
    public async Task Completion_ObserverClient_GetsCopyAndCannotComplete()
    {
        await using var fixture = await EndpointFixture.StartAsync();
        await using var printer = await fixture.ConnectAsync();
        await printer.AllowAsync(ScstEventFilter.All, observer: true, Ct);
        await using var agent = await fixture.ConnectAsync();
        await agent.AllowAsync(ScstEventFilter.All, cancellationToken: Ct);

        var task = fixture.Bus.PublishAndWaitAsync(new ScstEvent(ScstEventCode.StpgUserInvoke, "x"), ScstEventBus.DefaultCompletionTimeout, Ct);
        var copy = await ReadOneAsync(printer);
        (await printer.NotifyDoneAsync(copy.Id, 0, Ct)).Should().BeFalse();
        var chosen = await ReadOneAsync(agent);
        (await agent.NotifyDoneAsync(chosen.Id, 3, Ct)).Should().BeTrue();

        (await task).Should().Be(3);
    }

    [Fact]
    public async Task Disconnect_WithUndoneEvent_PublisherGetsEfault()
    {
        await using var fixture = await EndpointFixture.StartAsync();
        var agent = await fixture.ConnectAsync();
        await agent.AllowAsync(ScstEventFilter.All, cancellationToken: Ct);
        var task = fixture.Bus.PublishAndWaitAsync(new ScstEvent(ScstEventCode.StpgUserInvoke, "x"), ScstEventBus.DefaultCompletionTimeout, Ct);
        _ = await ReadOneAsync(agent);

        await agent.DisposeAsync();

        (await task).Should().Be(ScstEventStatus.SubscriberGone);
    }

    [Theory]
    [InlineData("unknown type")]
    [InlineData("length below header")]
    [InlineData("length above 64 KiB")]
    [InlineData("oversized prefix")]
    [InlineData("prefix length disagrees")]
    [InlineData("no hello")]
    public async Task MalformedMessage_ClosesOnlyThatClient(string kind)
    {
        await using var fixture = await EndpointFixture.StartAsync();
        await using var bystander = await fixture.ConnectAsync();
        await bystander.AllowAsync(ScstEventFilter.All, observer: true, Ct);
        using var bad = new RawClient(fixture.SocketPath);
        if (kind != "no hello")
        {
            bad.Send(RawClient.Hello());
            (await bad.ReceiveAsync())!.Value.Type.Should().Be(0x01);
            bad.Send(RawClient.Allow(0));
            (await bad.ReceiveResultAsync()).Should().Be(0);
        }

        bad.Send(kind switch
        {
            "unknown type" => RawClient.Message(0x7F, []),
            "length below header" => RawClient.Message(0x02, [], lengthOverride: 4),
            "length above 64 KiB" => RawClient.Message(0x02, [], lengthOverride: 65537),
            "oversized prefix" => RawClient.Allow(1, prefixLength: 3073),
            "prefix length disagrees" => RawClient.Message(0x02, RawClient.Allow(1, prefixLength: 4).AsSpan(8, 60)),
            _ => RawClient.Allow(1),
        });

        (await bad.ReceiveAsync()).Should().BeNull("the endpoint closes a client that breaks the framing");
        fixture.Bus.Publish(ScstEvents.VirtualDeviceRegistered("still-here"));
        VirtualDeviceRegisteredEvent.Parse((await ReadOneAsync(bystander)).Payload.Span).DeviceName.Should().Be("still-here");
        (await bystander.AllowAsync(new ScstEventFilter(5), true, Ct)).Should().BeTrue();
    }

    [Fact]
    public async Task Allow_InvalidFilterButWellFramed_AnswersEinvalAndKeepsConnection()
    {
        await using var fixture = await EndpointFixture.StartAsync();
        using var raw = new RawClient(fixture.SocketPath);
        raw.Send(RawClient.Hello());
        _ = await raw.ReceiveAsync();

        raw.Send(RawClient.Allow(-1));
        (await raw.ReceiveResultAsync()).Should().Be(ScstEventStatus.InvalidArgument);
        raw.Send(RawClient.Allow(1, flags: 0x80));
        (await raw.ReceiveResultAsync()).Should().Be(-22);
        raw.Send(RawClient.Allow(1, issuer: new string('x', 50)));
        (await raw.ReceiveResultAsync()).Should().Be(-22, "an issuer without NUL is invalid");
        raw.Send(RawClient.Allow(1));
        (await raw.ReceiveResultAsync()).Should().Be(0);
    }

    [Fact]
    public async Task Hello_OtherVersion_ServerAnswersItsVersionAndCloses()
    {
        await using var fixture = await EndpointFixture.StartAsync();
        using var raw = new RawClient(fixture.SocketPath);

        raw.Send(RawClient.Hello(2));
        var answer = await raw.ReceiveAsync();

        answer!.Value.Type.Should().Be(0x01);
        BinaryPrimitives.ReadUInt32LittleEndian(answer.Value.Body).Should().Be(1u);
        (await raw.ReceiveAsync()).Should().BeNull();
    }

    [Fact]
    public async Task QueueOverflow_ReportsDroppedWithCumulativeCount()
    {
        const int published = 400;
        await using var fixture = await EndpointFixture.StartAsync(o => o.QueueCapacity = 2);
        using var raw = new RawClient(fixture.SocketPath);
        raw.Send(RawClient.Hello());
        _ = await raw.ReceiveAsync();
        raw.Send(RawClient.Allow(ScstEventCode.FirstCustomCode));
        (await raw.ReceiveResultAsync()).Should().Be(0);

        // 400 x 32 KiB is far more than the socket buffers hold while this client does not read, so the endpoint's
        // send loop blocks and its 2-event queue overflows.
        var payload = new byte[32 * 1024];
        for (var i = 0; i < published; i++)
        {
            fixture.Bus.Publish(new ScstEvent(ScstEventCode.FirstCustomCode, "test", payload));
        }

        var events = 0;
        ulong dropped = 0;
        while (events + (long)dropped < published)
        {
            var message = await raw.ReceiveAsync();
            message.Should().NotBeNull();
            if (message!.Value.Type == 0x83)
            {
                var count = BinaryPrimitives.ReadUInt64LittleEndian(message.Value.Body);
                count.Should().BeGreaterThan(dropped, "the count is cumulative and only sent when it grew");
                dropped = count;
            }
            else
            {
                message.Value.Type.Should().Be(0x82);
                BinaryPrimitives.ReadInt32LittleEndian(message.Value.Body).Should().Be(payload.Length);
                events++;
            }
        }

        dropped.Should().BeGreaterThan(0);
        (events + (long)dropped).Should().Be(published);
    }

    [Fact]
    public async Task Start_Default_SocketIsOwnerOnly0600()
    {
        await using var fixture = await EndpointFixture.StartAsync();

        File.GetUnixFileMode(fixture.SocketPath).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    [Fact]
    public async Task Start_WithGroup_Socket0660OwnedByThatGroup()
    {
        var gid = CurrentGroupId();
        await using var fixture = await EndpointFixture.StartAsync(o => o.Group = gid.ToString(System.Globalization.CultureInfo.InvariantCulture));

        File.GetUnixFileMode(fixture.SocketPath).Should().Be(
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
        Run("stat", "-c", "%g", fixture.SocketPath).Trim().Should().Be(gid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await using var client = await fixture.ConnectAsync();
        (await client.AllowAsync(ScstEventFilter.All, cancellationToken: Ct)).Should().BeTrue();
    }

    [Fact]
    public async Task Start_StaleSocketFile_IsReplaced()
    {
        var directory = Directory.CreateTempSubdirectory("scst-events-").FullName;
        var path = Path.Combine(directory, "events.sock");
        using (var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            stale.Bind(new UnixDomainSocketEndPoint(path)); // never listens, never unlinked: a crashed run's leftover
        }

        try
        {
            await using var fixture = await EndpointFixture.StartAsync(o => o.SocketPath = path);
            await using var client = await fixture.ConnectAsync();
            (await client.AllowAsync(ScstEventFilter.All, cancellationToken: Ct)).Should().BeTrue();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }

        File.Exists(path).Should().BeFalse();
    }

    [Fact]
    public async Task Start_PathIsRegularFileOrLiveSocket_Fails()
    {
        await using var fixture = await EndpointFixture.StartAsync();
        var file = Path.Combine(fixture.Directory, "plain");
        await File.WriteAllTextAsync(file, "not a socket", Ct);

        var onFile = () => new ScstEventEndpoint(new ScstEventBus(), Options.Create(new ScstEventEndpointOptions { SocketPath = file })).StartAsync(Ct);
        var onLive = () => new ScstEventEndpoint(new ScstEventBus(), Options.Create(new ScstEventEndpointOptions { SocketPath = fixture.SocketPath })).StartAsync(Ct);

        await onFile.Should().ThrowAsync<IOException>();
        await onLive.Should().ThrowAsync<IOException>();
        File.ReadAllText(file).Should().Be("not a socket");
    }

    [Fact]
    public async Task Stop_RemovesSocketAndDisconnectsClients()
    {
        var fixture = await EndpointFixture.StartAsync();
        var client = await fixture.ConnectAsync();
        await client.AllowAsync(ScstEventFilter.All, cancellationToken: Ct);

        await fixture.Endpoint.StopAsync(Ct);

        File.Exists(fixture.SocketPath).Should().BeFalse();
        await using var e = client.ReadAllAsync(Ct).GetAsyncEnumerator(Ct);
        (await e.MoveNextAsync()).Should().BeFalse("the connection ended");
        await client.DisposeAsync();
        await fixture.DisposeAsync();
    }

    [Theory]
    [InlineData(1000u, 1000u, 1000u, null, true)]   // our uid
    [InlineData(0u, 0u, 1000u, null, true)]         // root
    [InlineData(1001u, 1000u, 1000u, null, false)]  // another uid, even in our gid, without a group option
    [InlineData(1001u, 50u, 1000u, 50u, true)]      // another uid in the configured group
    [InlineData(1001u, 51u, 1000u, 50u, false)]     // another uid, another group
    public void PeerCredentialPolicy_IsAllowed(uint peerUid, uint peerGid, uint ownUid, uint? group, bool expected)
    {
        UnixEndpointSocket.IsAllowed(peerUid, peerGid, ownUid, group).Should().Be(expected);
    }

    [Fact]
    public void PeerCredentialPolicy_ResolveGroup_NameOrNumber()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(file, ["root:x:0:", "scst:x:4242:alice,bob"]);

            UnixEndpointSocket.ResolveGroupId("scst", file).Should().Be(4242u);
            UnixEndpointSocket.ResolveGroupId("77", file).Should().Be(77u);
            FluentActions.Invoking(() => UnixEndpointSocket.ResolveGroupId("nope", file)).Should().Throw<InvalidOperationException>();
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Peer_WithAnotherUid_IsRefused()
    {
        if (Environment.UserName != "root" || !File.Exists("/usr/bin/setpriv") || !File.Exists("/usr/bin/python3"))
        {
            Assert.Skip("Needs root, setpriv and python3 to connect as another uid.");
        }

        await using var fixture = await EndpointFixture.StartAsync();

        // Let the file mode pass so that the SO_PEERCRED check is what refuses.
        File.SetUnixFileMode(fixture.Directory, (UnixFileMode)0x1FF);
        File.SetUnixFileMode(Path.GetDirectoryName(fixture.SocketPath)!, (UnixFileMode)0x1FF);
        File.SetUnixFileMode(fixture.SocketPath, (UnixFileMode)0x1B6);
        const string script = "import socket,struct,sys\n"
            + "s=socket.socket(socket.AF_UNIX,socket.SOCK_STREAM);s.connect(sys.argv[1])\n"
            + "try:\n"
            + "  s.sendall(struct.pack('<IHHI',12,1,0,1)); d=s.recv(64)\n"
            + "except (ConnectionResetError, BrokenPipeError):\n"
            + "  d=b''\n"
            + "print(len(d))\n";

        var output = Run("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script, fixture.SocketPath);

        output.Trim().Should().Be("0", "the endpoint closes the connection without answering HELLO");
        await using var client = await fixture.ConnectAsync();
        (await client.AllowAsync(ScstEventFilter.All, cancellationToken: Ct)).Should().BeTrue("our own uid is still served");
    }

    [Fact]
    public async Task AddScstEventEndpoint_CalledTwice_OneEndpointOneHostedServiceThatOwnsTheSocket()
    {
        var directory = Directory.CreateTempSubdirectory("scst-events-").FullName;
        var path = Path.Combine(directory, "events.sock");
        try
        {
            var services = new ServiceCollection();
            services.AddScstEventEndpoint(o => o.SocketPath = path).AddScstEventEndpoint();

            services.Where(d => d.ServiceType == typeof(IHostedService)).Should().ContainSingle();
            services.Where(d => d.ServiceType == typeof(ScstEventEndpoint)).Should().ContainSingle();
            await using var provider = services.BuildServiceProvider();
            var hosted = provider.GetRequiredService<IHostedService>();
            await hosted.StartAsync(Ct);
            File.Exists(path).Should().BeTrue();
            await hosted.StopAsync(Ct);
            File.Exists(path).Should().BeFalse();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Client_FilterThatCannotBeEncoded_ThrowsBeforeSending()
    {
        await using var fixture = await EndpointFixture.StartAsync();
        await using var client = await fixture.ConnectAsync();

        var longIssuer = () => client.AllowAsync(new ScstEventFilter(1, new string('i', 50)), cancellationToken: Ct);
        var longPrefix = () => client.AllowAsync(new ScstEventFilter(1, "*", new byte[3073]), cancellationToken: Ct);

        await longIssuer.Should().ThrowAsync<ArgumentException>();
        await longPrefix.Should().ThrowAsync<ArgumentException>();
        (await client.AllowAsync(new ScstEventFilter(1, new string('i', 49), new byte[3072]), cancellationToken: Ct)).Should().BeTrue();
    }

    private static uint CurrentGroupId() => uint.Parse(Run("id", "-g").Trim(), System.Globalization.CultureInfo.InvariantCulture);

    private static string Run(string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return output + error;
    }
}
