// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using Scst.Transport.Fcoe.Link;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// <see cref="PacketSocketLink"/> on a real veth pair in a network namespace made for each test. A frame that must
/// not be delivered is followed by a marker frame that must: receiving the marker next shows the first was dropped
/// without waiting for anything. (veth does not filter by destination MAC: it hands the socket every frame, so
/// what is checked for memberships there is the interface's address lists and the link's own filtering; a macvlan,
/// which filters multicast, shows that joining a group is what lets its frames in.)
/// </summary>
public sealed class LinkPacketSocketTests : IAsyncLifetime
{
    private static readonly MacAddress VnPort = MacAddress.FromVn2VnPortId(0x000002);
    private static readonly MacAddress Stranger = MacAddress.Parse("02:00:00:00:99:99");

    private readonly LinkNetwork _network = LinkNetwork.Create();
    private readonly byte[] _buffer = new byte[FcoeFrame.MaxTaggedFrameLength];
    private readonly CancellationTokenSource _hang = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
    private PacketSocketLink _left = null!;
    private PacketSocketLink _right = null!;
    private byte _nextMarker;

    public ValueTask InitializeAsync()
    {
        // Not a timing assertion: only keeps a broken link from hanging the run.
        _hang.CancelAfter(TimeSpan.FromSeconds(60));
        _left = _network.Open(LinkNetwork.Left);
        _right = _network.Open(LinkNetwork.Right);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _left.DisposeAsync();
        await _right.DisposeAsync();
        _network.Dispose();
        _hang.Dispose();
    }

    [Fact]
    public void Open_ReadsTheInterfaceMacAndMtu()
    {
        _right.Name.Should().Be(LinkNetwork.Right);
        _right.Address.Should().Be(_network.MacOf(LinkNetwork.Right));
        _left.Address.Should().Be(_network.MacOf(LinkNetwork.Left));
        _right.Mtu.Should().Be(LinkNetwork.Mtu);
    }

    [Fact]
    public void Open_NoSuchInterface_ThrowsNamingTheInterface()
    {
        Action open = () => _network.Open("nosuch0");

        open.Should().Throw<IOException>().WithMessage("*'nosuch0'*no such interface*");
    }

    [Fact]
    public async Task MaximumFcoeFrame_ArrivesByteIdentical_AndIsNotLoopedBackToTheSender()
    {
        byte[] frame = Frame(_right.Address, _left.Address, EtherType.Fcoe, FcoeFrame.MaxFrameLength);
        Random.Shared.NextBytes(frame.AsSpan(Ethernet.HeaderLength));
        frame.Length.Should().Be(2172);

        _left.Send(frame).Should().BeTrue();

        int length = await _right.ReceiveAsync(_buffer, _hang.Token);
        _buffer.AsSpan(0, length).ToArray().Should().Equal(frame);

        await ExpectMarkerNextAsync(from: _right, to: _left);
    }

    [Fact]
    public async Task FramesTheHostSendsOnTheInterface_AreNotDeliveredAsReceived()
    {
        // The kernel never hands a socket its own frames, but it shows every other socket (another link, the
        // kernel's fcoe, tcpdump's injections) what leaves the interface, as PACKET_OUTGOING. A multicast frame,
        // which the link would otherwise accept by its destination.
        PacketSocketLink other = _network.Open(LinkNetwork.Left);
        try
        {
            byte[] frame = Frame(MacAddress.AllVn2VnMacs, _left.Address, EtherType.Fip, 60);
            other.Send(frame).Should().BeTrue();
            int length = await _right.ReceiveAsync(_buffer, _hang.Token);
            _buffer.AsSpan(0, length).ToArray().Should().Equal(frame);

            await ExpectMarkerNextAsync(from: _right, to: _left);
        }
        finally
        {
            await other.DisposeAsync();
        }
    }

    [Fact]
    public async Task FipFrameToAllVn2VnMacs_ArrivesAfterJoin_AndTheGroupIsOnTheInterfaceUntilDispose()
    {
        string group = MacAddress.AllVn2VnMacs.ToString();
        _network.MulticastListOf(LinkNetwork.Right).Should().NotContain(group);

        _right.JoinMulticast(MacAddress.AllVn2VnMacs);

        _network.MulticastListOf(LinkNetwork.Right).Should().Contain(group);
        byte[] probe = Frame(MacAddress.AllVn2VnMacs, _left.Address, EtherType.Fip, 60);
        probe[Ethernet.HeaderLength] = 0x10;
        _left.Send(probe).Should().BeTrue();
        int length = await _right.ReceiveAsync(_buffer, _hang.Token);
        _buffer.AsSpan(0, length).ToArray().Should().Equal(probe);

        await _right.DisposeAsync();
        _network.MulticastListOf(LinkNetwork.Right).Should().NotContain(group);
    }

    [Fact]
    public async Task OnAMacvlan_WhichFiltersMulticast_JoinPutsAllVn2VnMacsOnItsList_AndTheFipFrameArrives()
    {
        // Unlike veth, a macvlan filters multicast by its list: joining must put the group on the interface's list (what a
        // real NIC's filter is programmed from), and then the frame arrives. Whether a frame to a group not on the list
        // is dropped cannot be asserted: the filter is a 256-bit hash seeded per device, so an unlisted group sometimes
        // shares a bucket with a listed one and gets through.
        const string Macvlan = "fcoemv";
        _network.Run($"link add link {LinkNetwork.Right} name {Macvlan} type macvlan mode bridge");
        _network.Run($"link set {Macvlan} mtu {LinkNetwork.Mtu} up");
        PacketSocketLink macvlan = _network.Open(Macvlan);
        try
        {
            _network.MulticastListOf(Macvlan).Should().NotContain("01:10:18:01:00:04");

            macvlan.JoinMulticast(MacAddress.AllVn2VnMacs);

            _network.MulticastListOf(Macvlan).Should().Contain("01:10:18:01:00:04");
            byte[] probe = Frame(MacAddress.AllVn2VnMacs, _left.Address, EtherType.Fip, 60);
            probe[Ethernet.HeaderLength] = 0x10;
            _left.Send(probe).Should().BeTrue();
            int length = await macvlan.ReceiveAsync(_buffer, _hang.Token);
            _buffer.AsSpan(0, length).ToArray().Should().Equal(probe);
        }
        finally
        {
            await macvlan.DisposeAsync();
        }
    }

    [Fact]
    public async Task UnicastAddress_IsOnTheInterfaceWhileAdded_AndOnlyOurAddressesAreDelivered()
    {
        // veth has no unicast filter: the kernel makes it promiscuous while its unicast list is not empty.
        _network.PromiscuityOf(LinkNetwork.Right).Should().Be(0);

        _right.AddUnicastAddress(VnPort);

        _network.PromiscuityOf(LinkNetwork.Right).Should().Be(1);
        byte[] toVnPort = Frame(VnPort, _left.Address, EtherType.Fcoe, 100);
        _left.Send(toVnPort).Should().BeTrue();
        int length = await _right.ReceiveAsync(_buffer, _hang.Token);
        _buffer.AsSpan(0, length).ToArray().Should().Equal(toVnPort);

        _left.Send(Frame(Stranger, _left.Address, EtherType.Fcoe, 100)).Should().BeTrue();
        await ExpectMarkerNextAsync(from: _left, to: _right);

        _right.RemoveUnicastAddress(VnPort);

        _network.PromiscuityOf(LinkNetwork.Right).Should().Be(0);
        _left.Send(toVnPort).Should().BeTrue();
        await ExpectMarkerNextAsync(from: _left, to: _right);
    }

    [Fact]
    public async Task UnicastAddress_AddedTwice_StaysUntilRemovedTwice()
    {
        _right.AddUnicastAddress(VnPort);
        _right.AddUnicastAddress(VnPort);
        _right.RemoveUnicastAddress(VnPort);

        _network.PromiscuityOf(LinkNetwork.Right).Should().Be(1);
        byte[] toVnPort = Frame(VnPort, _left.Address, EtherType.Fip, 60);
        _left.Send(toVnPort).Should().BeTrue();
        int length = await _right.ReceiveAsync(_buffer, _hang.Token);
        length.Should().Be(toVnPort.Length);

        _right.RemoveUnicastAddress(VnPort);
        _network.PromiscuityOf(LinkNetwork.Right).Should().Be(0);
    }

    [Fact]
    public async Task FrameLongerThanTheMtu_SendReturnsFalse_AndFramesLongerThanFcoeAllowsAreNotDelivered()
    {
        _left.Send(Frame(_right.Address, _left.Address, EtherType.Fcoe, Ethernet.HeaderLength + LinkNetwork.Mtu + 1)).Should().BeFalse();

        // The largest frames the MTU allows go out, but no FCoE or FIP frame is that long: the receiver never sees them.
        _left.Send(Frame(_right.Address, _left.Address, EtherType.Fcoe, Ethernet.HeaderLength + LinkNetwork.Mtu)).Should().BeTrue();
        _left.Send(Frame(_right.Address, _left.Address, EtherType.Fip, FcoeFrame.MaxTaggedFrameLength + 1)).Should().BeTrue();
        await ExpectMarkerNextAsync(from: _left, to: _right);
    }

    [Fact]
    public async Task ReceiveAsync_BufferShorterThanATaggedFcoeFrame_Throws()
    {
        Func<Task> receive = async () => await _right.ReceiveAsync(new byte[FcoeFrame.MaxFrameLength], _hang.Token);

        await receive.Should().ThrowAsync<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task OtherEthertypesAndVlanTaggedFrames_AreNotDelivered()
    {
        _left.Send(Frame(_right.Address, _left.Address, 0x0800, 60)).Should().BeTrue();
        _left.Send(Frame(_right.Address, _left.Address, 0x86DD, 80)).Should().BeTrue();
        byte[] tagged = Frame(_right.Address, _left.Address, EtherType.Vlan, 100);
        BinaryPrimitives.WriteUInt16BigEndian(tagged.AsSpan(14), 1002);
        BinaryPrimitives.WriteUInt16BigEndian(tagged.AsSpan(16), EtherType.Fcoe);
        _left.Send(tagged).Should().BeTrue();

        await ExpectMarkerNextAsync(from: _left, to: _right);
    }

    [Fact]
    public async Task ReceiveAsync_ReturnsZero_OnceDisposed_AndSendReturnsFalse()
    {
        ValueTask<int> pending = _right.ReceiveAsync(_buffer, _hang.Token);
        pending.IsCompleted.Should().BeFalse();

        await _right.DisposeAsync();

        (await pending).Should().Be(0);
        (await _right.ReceiveAsync(_buffer, _hang.Token)).Should().Be(0);
        _right.Send(Frame(_left.Address, _right.Address, EtherType.Fcoe, 100)).Should().BeFalse();
    }

    [Fact]
    public async Task ReceiveAsync_Cancelled_Throws_AndTheLinkStillWorks()
    {
        using var cancel = new CancellationTokenSource();
        ValueTask<int> pending = _right.ReceiveAsync(_buffer, cancel.Token);

        await cancel.CancelAsync();

        Func<Task> wait = async () => await pending;
        await wait.Should().ThrowAsync<OperationCanceledException>();
        await ExpectMarkerNextAsync(from: _left, to: _right);
    }

    private static byte[] Frame(MacAddress destination, MacAddress source, ushort etherType, int length)
    {
        var frame = new byte[length];
        Ethernet.WriteHeader(frame, destination, source, vlanTag: null, etherType);
        return frame;
    }

    /// <summary>Sends a FIP frame carrying a fresh marker byte and checks it is the very next frame received.</summary>
    private async Task ExpectMarkerNextAsync(PacketSocketLink from, PacketSocketLink to)
    {
        byte[] marker = Frame(to.Address, from.Address, EtherType.Fip, 60);
        marker[Ethernet.HeaderLength] = 0x10;
        marker[^1] = ++_nextMarker;
        from.Send(marker).Should().BeTrue();

        int length = await to.ReceiveAsync(_buffer, _hang.Token);

        _buffer.AsSpan(0, length).ToArray().Should().Equal(marker, "only the marker should have been delivered");
    }
}
