// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Time.Testing;
using Scst.Transport.Fcoe.Fip;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// The VN2VN controller over an in-memory link and a fake clock: every frame it sends is decoded with the Protocol
/// readers and checked field by field; timing is checked against the clock at which the link saw each frame.
/// </summary>
public sealed class FipVn2VnControllerTests : IDisposable
{
    private const ulong OurPortName = 0x2000_0200_0000_1234;
    private const ulong OurNodeName = 0x1000_0200_0000_1234;
    private const uint OurPreferredId = 0x001234; // the low 16 bits of the WWPN

    private static readonly MacAddress s_ourENode = MacAddress.Parse("02:00:00:00:12:34");
    private static readonly MacAddress s_otherENode = MacAddress.Parse("52:54:00:aa:bb:cc");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly InMemoryFcoeLink _link;
    private readonly Vn2VnController _controller;
    private readonly List<string> _events = [];
    private readonly List<Vn2VnPeer> _lost = [];
    private readonly List<Vn2VnPeer> _discovered = [];
    private Func<FipDescriptorType, FcFrameHeader, byte[], MacAddress, byte[]?>? _onLinkService;

    public FipVn2VnControllerTests()
    {
        _link = new InMemoryFcoeLink(s_ourENode, _time, mtu: 9000);
        _controller = CreateController(_link, new Vn2VnOptions { PortName = OurPortName, NodeName = OurNodeName });
    }

    public void Dispose() => _controller.Dispose();

    [Fact]
    public void Start_ProbesTwice100msApart_Claims400msLater_AndIsUp400msAfterTheClaim()
    {
        var t0 = _time.GetUtcNow();
        _controller.Start();

        _link.MulticastGroups.Should().Contain(MacAddress.AllVn2VnMacs);
        _link.Sent.Should().HaveCount(1);
        AssertVn2Vn(_link.Sent[0], FipMessage.ProbeRequest, MacAddress.AllVn2VnMacs, s_ourENode, OurPreferredId);
        _link.Sent[0].At.Should().Be(t0);

        Advance(TimeSpan.FromMilliseconds(99));
        _link.Sent.Should().HaveCount(1);
        Advance(TimeSpan.FromMilliseconds(1));
        _link.Sent.Should().HaveCount(2);
        AssertVn2Vn(_link.Sent[1], FipMessage.ProbeRequest, MacAddress.AllVn2VnMacs, s_ourENode, OurPreferredId);

        Advance(TimeSpan.FromMilliseconds(399));
        _link.Sent.Should().HaveCount(2);
        Advance(TimeSpan.FromMilliseconds(1));
        _link.Sent.Should().HaveCount(3);
        var claim = AssertVn2Vn(_link.Sent[2], FipMessage.ClaimNotification, MacAddress.AllVn2VnMacs, s_ourENode, OurPreferredId);
        AssertClaimExtras(claim, Fc4FeatureBits.Target, FcoeFrame.MaxFcoeSize);
        _link.Sent[2].Data.Length.Should().Be(232);
        _controller.State.Should().Be(Vn2VnState.Claiming);
        _link.UnicastAddresses.Should().BeEmpty();
        _events.Should().BeEmpty();

        Advance(TimeSpan.FromMilliseconds(399));
        _controller.State.Should().Be(Vn2VnState.Claiming);
        Advance(TimeSpan.FromMilliseconds(1));

        _controller.State.Should().Be(Vn2VnState.Up);
        var vnMac = MacAddress.FromVn2VnPortId(OurPreferredId);
        vnMac.ToString().Should().Be("0e:fd:00:00:12:34");
        _link.UnicastAddresses.Should().Equal(vnMac);
        _events.Should().Equal($"up {OurPreferredId:x6} {vnMac}");
        _link.Sent.Should().HaveCount(4);
        AssertVn2Vn(_link.Sent[3], FipMessage.Beacon, MacAddress.AllVn2VnMacs, vnMac, OurPreferredId);
        _link.Sent[3].At.Should().Be(t0 + TimeSpan.FromMilliseconds(900));
    }

    [Fact]
    public void Up_SendsABeaconEvery8sPlusLessThan100ms_FromTheVnMac()
    {
        BringUp();
        var vnMac = MacAddress.FromVn2VnPortId(OurPreferredId);

        for (int i = 1; i <= 5; i++)
        {
            var previous = _link.Sent[^1];
            AdvanceTo(previous.At + TimeSpan.FromSeconds(8) - TimeSpan.FromMilliseconds(1));
            _link.Sent.Should().HaveCount(3 + i, "no beacon comes before 8 s");
            AdvanceTo(previous.At + TimeSpan.FromMilliseconds(8100));
            _link.Sent.Should().HaveCount(4 + i, "a beacon comes within 8 s + 100 ms");
            var beacon = _link.Sent[^1];
            AssertVn2Vn(beacon, FipMessage.Beacon, MacAddress.AllVn2VnMacs, vnMac, OurPreferredId);
            (beacon.At - previous.At).Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(8)).And.BeLessThan(TimeSpan.FromMilliseconds(8100));
        }
    }

    [Fact]
    public void ProbeRequestForOurId_FromAHigherWwpnWhileProbing_GivesTheIdUp_AndProbesARandomOne()
    {
        _controller.Start();
        _link.ClearSent();

        _controller.HandleFip(OtherFrame(FipMessage.ProbeRequest, OurPreferredId, portName: OurPortName + 1)).Should().BeTrue();

        _link.Sent.Should().BeEmpty("no probe reply: the other port keeps the ID");
        _controller.State.Should().Be(Vn2VnState.Restarting);
        uint newId = _controller.PortId;
        newId.Should().NotBe(OurPreferredId).And.BeInRange(1u, 0xFFFEu);
        Advance(TimeSpan.FromMilliseconds(100));
        _link.Sent.Should().HaveCount(1, "the new ID is probed within PROBE_WAIT");
        AssertVn2Vn(_link.Sent[0], FipMessage.ProbeRequest, MacAddress.AllVn2VnMacs, s_ourENode, newId);

        Advance(TimeSpan.FromSeconds(1));
        _controller.State.Should().Be(Vn2VnState.Up);
        _events.Should().Equal($"up {newId:x6} {MacAddress.FromVn2VnPortId(newId)}");
    }

    [Fact]
    public void ProbeRequestForOurId_FromALowerWwpnWhileProbing_IsAnsweredWithAProbeReply_AndTheIdIsKept()
    {
        _controller.Start();
        _link.ClearSent();

        _controller.HandleFip(OtherFrame(FipMessage.ProbeRequest, OurPreferredId, portName: OurPortName - 1)).Should().BeTrue();

        _link.Sent.Should().HaveCount(1);
        AssertVn2Vn(_link.Sent[0], FipMessage.ProbeReply, s_otherENode, s_ourENode, OurPreferredId);
        _controller.PortId.Should().Be(OurPreferredId);
        Advance(TimeSpan.FromSeconds(1));
        _controller.State.Should().Be(Vn2VnState.Up);
        _controller.PortId.Should().Be(OurPreferredId);
    }

    [Fact]
    public void ProbeReplyForOurId_WhileProbing_IsAConflict()
    {
        _controller.Start();
        Advance(TimeSpan.FromMilliseconds(100));

        _controller.HandleFip(OtherFrame(FipMessage.ProbeReply, OurPreferredId, destination: s_ourENode)).Should().BeTrue();

        _controller.State.Should().Be(Vn2VnState.Restarting);
        _controller.PortId.Should().NotBe(OurPreferredId);
    }

    [Fact]
    public void ProbeRequestForAnotherId_IsIgnored()
    {
        BringUp();
        _link.ClearSent();

        _controller.HandleFip(OtherFrame(FipMessage.ProbeRequest, 0x000042)).Should().BeTrue();

        _link.Sent.Should().BeEmpty();
        _controller.State.Should().Be(Vn2VnState.Up);
    }

    [Fact]
    public void ProbeRequestForOurId_WhenUp_IsAnsweredWithAProbeReplyToTheProbersENode()
    {
        BringUp();
        _link.ClearSent();

        _controller.HandleFip(OtherFrame(FipMessage.ProbeRequest, OurPreferredId, portName: ulong.MaxValue)).Should().BeTrue();

        _link.Sent.Should().HaveCount(1);
        AssertVn2Vn(_link.Sent[0], FipMessage.ProbeReply, s_otherENode, s_ourENode, OurPreferredId);
        _controller.State.Should().Be(Vn2VnState.Up);
    }

    [Fact]
    public void ClaimForOurId_FromAHigherWwpnWhenUp_TakesThePortDown_AndANewIdComesUp()
    {
        BringUp();
        _link.ClearSent();

        _controller.HandleFip(OtherFrame(FipMessage.ClaimNotification, OurPreferredId, portName: OurPortName + 1)).Should().BeTrue();

        _events.Should().Equal($"up {OurPreferredId:x6} {MacAddress.FromVn2VnPortId(OurPreferredId)}", $"down {OurPreferredId:x6}");
        _link.UnicastAddresses.Should().BeEmpty();
        _link.Sent.Should().BeEmpty();
        uint newId = _controller.PortId;
        newId.Should().NotBe(OurPreferredId);

        Advance(TimeSpan.FromSeconds(1));
        _controller.State.Should().Be(Vn2VnState.Up);
        _link.UnicastAddresses.Should().Equal(MacAddress.FromVn2VnPortId(newId));
        _link.Sent.Select(f => Message(f)).Should().Equal(FipMessage.ProbeRequest, FipMessage.ProbeRequest,
            FipMessage.ClaimNotification, FipMessage.Beacon);
    }

    [Fact]
    public void ClaimForOurId_FromALowerWwpnWhenUp_IsDefendedWithOurClaim()
    {
        BringUp();
        _link.ClearSent();

        _controller.HandleFip(OtherFrame(FipMessage.ClaimNotification, OurPreferredId, portName: OurPortName - 1)).Should().BeTrue();

        _link.Sent.Should().HaveCount(1);
        var claim = AssertVn2Vn(_link.Sent[0], FipMessage.ClaimNotification, MacAddress.AllVn2VnMacs, s_ourENode, OurPreferredId);
        AssertClaimExtras(claim, Fc4FeatureBits.Target, FcoeFrame.MaxFcoeSize);
        _controller.State.Should().Be(Vn2VnState.Up);
        _controller.Peers.Should().BeEmpty();
    }

    [Fact]
    public void ClaimForOurId_WhileProbing_IsAConflict()
    {
        _controller.Start();

        _controller.HandleFip(OtherFrame(FipMessage.ClaimNotification, OurPreferredId, portName: 1)).Should().BeTrue();

        _controller.State.Should().Be(Vn2VnState.Restarting);
        _controller.PortId.Should().NotBe(OurPreferredId);
    }

    [Fact]
    public void AfterTenNewIdsInARow_EachFurtherTryWaits10s()
    {
        _controller.Start();
        for (int i = 1; i <= Vn2VnController.RateLimitCount; i++)
        {
            _link.ClearSent();
            _controller.HandleFip(OtherFrame(FipMessage.ProbeReply, _controller.PortId, destination: s_ourENode));
            Advance(TimeSpan.FromMilliseconds(100));
            _link.Sent.Should().HaveCount(1, $"try {i} probes within PROBE_WAIT");
        }

        _link.ClearSent();
        _controller.HandleFip(OtherFrame(FipMessage.ProbeReply, _controller.PortId, destination: s_ourENode));
        Advance(TimeSpan.FromMilliseconds(9999));
        _link.Sent.Should().BeEmpty("the 11th new ID waits for the rate limit");
        Advance(TimeSpan.FromMilliseconds(1));
        _link.Sent.Should().HaveCount(1);
        AssertVn2Vn(_link.Sent[0], FipMessage.ProbeRequest, MacAddress.AllVn2VnMacs, s_ourENode, _controller.PortId);
    }

    [Fact]
    public void PeersClaim_IsAnsweredWithAUnicastClaimResponse_AndThePeerIsLearnt()
    {
        BringUp();
        _link.ClearSent();
        const uint PeerId = 0x000077;

        _controller.HandleFip(OtherFrame(FipMessage.ClaimNotification, PeerId, fcp: Fc4FeatureBits.Initiator, maxFcoeSize: 2000))
            .Should().BeTrue();

        _link.Sent.Should().HaveCount(1);
        var response = AssertVn2Vn(_link.Sent[0], FipMessage.ClaimResponse, s_otherENode, s_ourENode, OurPreferredId);
        AssertClaimExtras(response, Fc4FeatureBits.Target, FcoeFrame.MaxFcoeSize);
        _link.Sent[0].Data.Length.Should().Be(Ethernet.HeaderLength + 2000, "padded to the smaller of the two max FCoE sizes");
        _link.Sent[0].Data.AsSpan(232).IndexOfAnyExcept((byte)0).Should().Be(-1);

        var peer = _controller.Peers.Should().ContainSingle().Subject;
        peer.Should().Be(new Vn2VnPeer(PeerId, OtherPortName, OtherNodeName, s_otherENode, MacAddress.FromVn2VnPortId(PeerId),
            Fc4FeatureBits.Initiator, 2000, _time.GetUtcNow()));
        _discovered.Should().Equal(peer);
    }

    [Fact]
    public void PeersClaimResponse_ToOurClaim_LearnsThePeer()
    {
        _controller.Start();
        Advance(TimeSpan.FromMilliseconds(500));
        _controller.State.Should().Be(Vn2VnState.Claiming);
        _link.ClearSent();

        _controller.HandleFip(OtherFrame(FipMessage.ClaimResponse, 0x000009, destination: s_ourENode, fcp: Fc4FeatureBits.Initiator))
            .Should().BeTrue();

        _link.Sent.Should().BeEmpty();
        _controller.TryGetPeer(9, out var peer).Should().BeTrue();
        peer!.ENodeMac.Should().Be(s_otherENode);
        peer.FcpFeatures.Should().Be(Fc4FeatureBits.Initiator);
    }

    [Fact]
    public void Peer_IsAgedOut20sAfterItsLastBeacon_NotBefore()
    {
        BringUp();
        const uint PeerId = 0x000077;
        _controller.HandleFip(OtherFrame(FipMessage.ClaimNotification, PeerId));
        for (int i = 0; i < 3; i++)
        {
            Advance(TimeSpan.FromSeconds(8));
            _controller.HandleFip(OtherFrame(FipMessage.Beacon, PeerId, source: MacAddress.FromVn2VnPortId(PeerId))).Should().BeTrue();
        }

        var lastBeacon = _time.GetUtcNow();
        _controller.TryGetPeer(PeerId, out var refreshed).Should().BeTrue();
        refreshed!.LastHeard.Should().Be(lastBeacon);

        Advance(TimeSpan.FromSeconds(20) - TimeSpan.FromMilliseconds(1));
        _lost.Should().BeEmpty();
        _controller.Peers.Should().HaveCount(1);

        Advance(TimeSpan.FromMilliseconds(1));
        _lost.Should().ContainSingle().Which.PortId.Should().Be(PeerId);
        _controller.Peers.Should().BeEmpty();
        _controller.State.Should().Be(Vn2VnState.Up, "losing a peer does not touch our own port");
    }

    [Fact]
    public void BeaconFromAnUnknownPort_WhenUp_IsAnsweredWithOurClaim_SoThatItAnswersWithAClaimResponse()
    {
        BringUp();
        Advance(TimeSpan.FromSeconds(1));
        _link.ClearSent();

        _controller.HandleFip(OtherFrame(FipMessage.Beacon, 0x000055, source: MacAddress.FromVn2VnPortId(0x55))).Should().BeTrue();
        _controller.HandleFip(OtherFrame(FipMessage.Beacon, 0x000055, source: MacAddress.FromVn2VnPortId(0x55))).Should().BeTrue();

        _link.Sent.Should().HaveCount(1, "one claim per ANNOUNCE_WAIT");
        AssertVn2Vn(_link.Sent[0], FipMessage.ClaimNotification, MacAddress.AllVn2VnMacs, s_ourENode, OurPreferredId);
        _controller.Peers.Should().BeEmpty("a beacon alone does not make a peer");
    }

    [Fact]
    public void Stop_EndsTheBeacons_AndRemovesTheVnMac()
    {
        BringUp();
        _link.ClearSent();

        _controller.Stop();
        Advance(TimeSpan.FromSeconds(60));

        _link.Sent.Should().BeEmpty();
        _link.UnicastAddresses.Should().BeEmpty();
        _controller.State.Should().Be(Vn2VnState.Stopped);
        _controller.HandleFip(OtherFrame(FipMessage.ClaimNotification, 0x77)).Should().BeFalse();
    }

    [Fact]
    public void HandleFip_RejectsWhatIsNotForIt()
    {
        BringUp();
        _link.ClearSent();

        _controller.HandleFip(Captures.PairFrame(13)).Should().BeFalse("an FCoE frame is not FIP");
        _controller.HandleFip(new byte[10]).Should().BeFalse("truncated");
        var own = OtherFrame(FipMessage.ClaimNotification, 0x77, portName: OurPortName);
        _controller.HandleFip(own).Should().BeFalse("our own frame looped back");
        var tagged = new byte[OtherFrame(FipMessage.ClaimNotification, 0x77).Length + 4];
        int length = FipFrame.WriteClaimNotification(tagged, MacAddress.AllVn2VnMacs, s_otherENode, 5, 0, s_otherENode, OtherNodeName,
            new VnPortIdentity(MacAddress.FromVn2VnPortId(0x77), 0x77, OtherPortName), [new(FcType.Fcp, Fc4FeatureBits.Initiator)], 2158);
        _controller.HandleFip(tagged.AsSpan(0, length)).Should().BeFalse("another VLAN");
        var broken = OtherFrame(FipMessage.ClaimNotification, 0x77);
        broken[Ethernet.HeaderLength + FipHeader.Length + 1] = 0; // the MAC descriptor's length
        _controller.HandleFip(broken).Should().BeFalse("a malformed descriptor list");

        _link.Sent.Should().BeEmpty();
        _controller.Peers.Should().BeEmpty();
    }

    [Fact]
    public void EncapsulatedLogo_ForOurId_IsHandedToTheDriver_AndItsAnswerGoesBackAsALinkServiceReply()
    {
        BringUp();
        _link.ClearSent();
        const uint PeerId = 0x000077;
        var peerVnMac = MacAddress.FromVn2VnPortId(PeerId);
        var logo = new byte[16];
        logo[0] = ElsCode.Logo;
        WireFormat.WriteUInt24(logo.AsSpan(5), PeerId);
        WireFormat.WriteWwn(logo.AsSpan(8), OtherPortName);
        var header = new FcFrameHeader
        {
            RCtl = RCtl.ElsRequest, DestinationId = OurPreferredId, SourceId = PeerId, Type = FcType.Els, FCtl = FCtl.Request,
            OxId = 0x1234, RxId = FcFrameHeader.UnassignedExchangeId,
        };
        var request = new byte[100];
        int length = FipFrame.WriteLinkServiceRequest(request, s_ourENode, s_otherENode, null, 0, FipDescriptorType.Logo, header, logo, peerVnMac);
        (FipDescriptorType Type, FcFrameHeader Header, byte[] Payload, MacAddress Mac)? seen = null;
        _onLinkService = (type, h, payload, mac) =>
        {
            seen = (type, h, payload, mac);
            return [ElsCode.LsAcc, 0, 0, 0];
        };

        _controller.HandleFip(request.AsSpan(0, length)).Should().BeTrue();

        seen.Should().NotBeNull();
        seen!.Value.Type.Should().Be(FipDescriptorType.Logo);
        seen.Value.Header.Should().Be(header);
        seen.Value.Payload.Should().Equal(logo);
        seen.Value.Mac.Should().Be(peerVnMac);
        _link.Sent.Should().HaveCount(1);
        var sent = _link.Sent[0];
        FipFrame.TryRead(sent.Data, out var frame).Should().Be(FipReadResult.Success);
        frame.Destination.Should().Be(s_otherENode);
        frame.Source.Should().Be(s_ourENode);
        frame.Header.Should().Be(FipHeader.For(FipMessage.LinkServiceReply, 0, (FipDescriptor.EncapsulationOverhead + 4 + 8) / 4));
        var reader = frame.GetDescriptorReader();
        reader.TryReadNext(out var d).Should().BeTrue();
        d.Type.Should().Be(FipDescriptorType.Logo);
        d.TryReadEncapsulatedEls(out var replyHeader, out var replyPayload).Should().BeTrue();
        replyHeader.Should().Be(header.ToReply(RCtl.ElsReply, FCtl.LastReplyWithInitiative, FcFrameHeader.UnassignedExchangeId));
        replyHeader.SourceId.Should().Be(OurPreferredId);
        replyHeader.OxId.Should().Be(0x1234);
        replyPayload.ToArray().Should().Equal(ElsCode.LsAcc, 0, 0, 0);
        reader.TryReadNext(out d).Should().BeTrue();
        d.TryReadMacAddress(out var mac).Should().BeTrue();
        mac.Should().Be(MacAddress.FromVn2VnPortId(OurPreferredId));
        reader.TryReadNext(out _).Should().BeFalse();
    }

    [Fact]
    public void EncapsulatedFlogi_ForAnotherIdOrBeforeUp_IsNotAnswered()
    {
        int calls = 0;
        _onLinkService = (_, _, _, _) =>
        {
            calls++;
            return [ElsCode.LsAcc];
        };
        var flogi = Captures.PairFrame(11); // D_ID 000001, to ENode 52:54:00:fc:00:01

        _controller.HandleFip(flogi).Should().BeFalse("not up");
        BringUp();
        _controller.HandleFip(flogi).Should().BeFalse("another ENode and another N_Port_ID");

        calls.Should().Be(0);
        _link.Sent.Where(f => Message(f) == FipMessage.LinkServiceReply).Should().BeEmpty();
    }

    [Fact]
    public async Task TwoControllers_WithTheSamePreferredId_EndUpWithTwoIds_AndLearnEachOther()
    {
        var (linkA, linkB) = InMemoryFcoeLink.CreatePair(MacAddress.Parse("02:00:00:00:00:0a"), MacAddress.Parse("02:00:00:00:00:0b"), _time);
        using var a = CreateController(linkA, new Vn2VnOptions { PortName = 0x2000_0000_0000_0a00, NodeName = 0x1000_0000_0000_0a00, PreferredPortId = 5 });
        using var b = CreateController(linkB, new Vn2VnOptions { PortName = 0x2000_0000_0000_0b00, NodeName = 0x1000_0000_0000_0b00, PreferredPortId = 5 });

        a.Start();
        b.Start();
        for (int step = 0; step < 400; step++)
        {
            Pump(linkA, a);
            Pump(linkB, b);
            Advance(TimeSpan.FromMilliseconds(10));
        }

        a.State.Should().Be(Vn2VnState.Up);
        b.State.Should().Be(Vn2VnState.Up);
        b.PortId.Should().Be(5, "the higher WWPN keeps the contested ID");
        a.PortId.Should().NotBe(5);
        a.Peers.Should().ContainSingle().Which.Should().Match<Vn2VnPeer>(p => p.PortId == 5 && p.PortName == 0x2000_0000_0000_0b00
            && p.ENodeMac == linkB.Address && p.FcpFeatures == Fc4FeatureBits.Target);
        b.Peers.Should().ContainSingle().Which.Should().Match<Vn2VnPeer>(p => p.PortId == a.PortId && p.ENodeMac == linkA.Address);
        linkA.UnicastAddresses.Should().Equal(MacAddress.FromVn2VnPortId(a.PortId));
        await linkA.DisposeAsync();
        await linkB.DisposeAsync();
    }

    private const ulong OtherPortName = 0x2000_5254_00aa_bbcc;
    private const ulong OtherNodeName = 0x1000_5254_00aa_bbcc;

    private static void Pump(InMemoryFcoeLink link, Vn2VnController controller)
    {
        while (link.TryReceive(out var frame))
        {
            controller.HandleFip(frame);
        }
    }

    private Vn2VnController CreateController(InMemoryFcoeLink link, Vn2VnOptions options)
    {
        var controller = new Vn2VnController(link, options, _time, new Random(1234), (type, header, payload, mac, reply) =>
        {
            var answer = _onLinkService?.Invoke(type, header, payload.ToArray(), mac);
            if (answer is null)
            {
                return 0;
            }

            answer.CopyTo(reply);
            return answer.Length;
        });
        if (link == _link)
        {
            controller.PortUp += (id, mac) => _events.Add($"up {id:x6} {mac}");
            controller.PortDown += id => _events.Add($"down {id:x6}");
            controller.PeerLost += _lost.Add;
            controller.PeerDiscovered += _discovered.Add;
        }

        return controller;
    }

    private void AdvanceTo(DateTimeOffset at) => Advance(at - _time.GetUtcNow());

    // FakeTimeProvider fires a timer at most once per Advance and a timer the callback sets up is not fired within the
    // same Advance: step 1 ms at a time, so that each timer fires at its due time as a real clock would.
    private void Advance(TimeSpan duration) => Step(_time, duration);

    internal static void Step(FakeTimeProvider time, TimeSpan duration)
    {
        var step = TimeSpan.FromMilliseconds(1);
        while (duration > TimeSpan.Zero)
        {
            var next = duration < step ? duration : step;
            time.Advance(next);
            duration -= next;
        }
    }

    private void BringUp()
    {
        _controller.Start();
        Advance(TimeSpan.FromMilliseconds(900));
        _controller.State.Should().Be(Vn2VnState.Up);
        _link.Sent.Should().HaveCount(4);
    }

    private static byte[] OtherFrame(FipMessage message, uint portId, MacAddress? destination = null, MacAddress? source = null,
        ulong portName = OtherPortName, byte fcp = Fc4FeatureBits.Initiator, ushort maxFcoeSize = 2158)
    {
        var buffer = new byte[FcoeFrame.MaxFrameLength];
        var identity = new VnPortIdentity(MacAddress.FromVn2VnPortId(portId), portId, portName);
        var to = destination ?? MacAddress.AllVn2VnMacs;
        var from = source ?? s_otherENode;
        Fc4Feature[] features = [new(FcType.Fcp, fcp)];
        int length = message switch
        {
            FipMessage.ProbeRequest => FipFrame.WriteProbeRequest(buffer, to, from, null, 0, s_otherENode, OtherNodeName, identity),
            FipMessage.ProbeReply => FipFrame.WriteProbeReply(buffer, to, from, null, 0, s_otherENode, OtherNodeName, identity),
            FipMessage.Beacon => FipFrame.WriteBeacon(buffer, to, from, null, 0, s_otherENode, OtherNodeName, identity),
            FipMessage.ClaimNotification => FipFrame.WriteClaimNotification(buffer, to, from, null, 0, s_otherENode, OtherNodeName,
                identity, features, maxFcoeSize),
            _ => FipFrame.WriteClaimResponse(buffer, to, from, null, 0, s_otherENode, OtherNodeName, identity, features, maxFcoeSize, 0),
        };
        return buffer.AsSpan(0, length).ToArray();
    }

    private static FipMessage Message(SentFrame frame)
    {
        FipFrame.TryRead(frame.Data, out var view).Should().Be(FipReadResult.Success);
        return view.Header.Message;
    }

    // Checks the Ethernet and FIP headers and the MAC, name and VN_Port descriptors every VN2VN frame of ours carries;
    // returns the frame for the claim-specific checks.
    private static byte[] AssertVn2Vn(SentFrame sent, FipMessage message, MacAddress destination, MacAddress source, uint portId)
    {
        FipFrame.TryRead(sent.Data, out var frame).Should().Be(FipReadResult.Success);
        frame.Destination.Should().Be(destination);
        frame.Source.Should().Be(source);
        frame.VlanTag.Should().BeNull();
        bool claim = message is FipMessage.ClaimNotification or FipMessage.ClaimResponse;
        int descriptorBytes = claim ? FipFrame.Vn2VnClaimDescriptorsLength : FipFrame.Vn2VnDescriptorsLength;
        frame.Header.Should().Be(FipHeader.For(message, 0, (ushort)(descriptorBytes / 4)));
        var reader = frame.GetDescriptorReader();
        reader.TryReadNext(out var d).Should().BeTrue();
        d.TryReadMacAddress(out var enode).Should().BeTrue();
        enode.Should().Be(s_ourENode);
        reader.TryReadNext(out d).Should().BeTrue();
        d.TryReadName(out ulong name).Should().BeTrue();
        name.Should().Be(OurNodeName);
        reader.TryReadNext(out d).Should().BeTrue();
        d.TryReadVnPortId(out var identity).Should().BeTrue();
        identity.Should().Be(new VnPortIdentity(MacAddress.FromVn2VnPortId(portId), portId, OurPortName));
        if (!claim)
        {
            reader.TryReadNext(out _).Should().BeFalse();
            sent.Data.Length.Should().Be(Ethernet.MinimumFrameLength + 4, "64 bytes: 14 + 10 + 40 of descriptors");
        }

        return sent.Data;
    }

    private static void AssertClaimExtras(byte[] data, byte fcpFeatures, ushort maxFcoeSize)
    {
        FipFrame.TryRead(data, out var frame).Should().Be(FipReadResult.Success);
        var reader = frame.GetDescriptorReader();
        for (int i = 0; i < 3; i++)
        {
            reader.TryReadNext(out _).Should().BeTrue();
        }

        reader.TryReadNext(out var d).Should().BeTrue();
        d.TryReadFc4Features(out var types, out var features).Should().BeTrue();
        Fc4Bitmap.IsTypeSet(types, FcType.Fcp).Should().BeTrue();
        types.IndexOfAnyExcept((byte)0).Should().Be(2, "FCP (TYPE 8) is the only TYPE: bit 8 of word 0");
        Fc4Bitmap.GetFeatures(features, FcType.Fcp).Should().Be(fcpFeatures);
        reader.TryReadNext(out d).Should().BeTrue();
        d.TryReadMaxFcoeSize(out ushort size).Should().BeTrue();
        size.Should().Be(maxFcoeSize);
        reader.TryReadNext(out _).Should().BeFalse();
    }
}
