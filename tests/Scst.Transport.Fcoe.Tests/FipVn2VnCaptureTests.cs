// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Time.Testing;
using Scst.Transport.Fcoe.Fip;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// The VN2VN controller against the recorded captures: given the identity of one of the captured ports, it must send
/// what that port sent, byte for byte, and answer the Linux initiator's recorded frames as LIO did.
/// </summary>
public sealed class FipVn2VnCaptureTests
{
    private static readonly Fc4Feature[] s_lioFeatures = [new(FcType.Fcp, Fc4FeatureBits.Target | Fc4FeatureBits.Initiator), new(FcType.Ct, 0)];
    private static readonly Fc4Feature[] s_initiatorFeatures = [new(FcType.Fcp, Fc4FeatureBits.Initiator), new(FcType.Ct, 0)];

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public void AsLio_ItsProbesClaimAndFirstBeacon_AreLiosFramesByteForByte()
    {
        var (link, controller) = Lio();

        controller.Start();
        Advance(TimeSpan.FromMilliseconds(900));

        // LIO's own ID comes from the low 16 bits of its WWPN (20:00:52:54:00:fc:00:02), as ours does.
        controller.PortId.Should().Be(Captures.TargetPortId);
        link.Sent.Should().HaveCount(4);
        Bytes.Equal(Captures.PairFrame(0), link.Sent[0].Data);
        Bytes.Equal(Captures.PairFrame(1), link.Sent[1].Data);
        Bytes.Equal(Captures.PairFrame(2), link.Sent[2].Data);
        Bytes.Equal(Captures.PairFrame(3), link.Sent[3].Data);
        link.UnicastAddresses.Should().Equal(Captures.TargetVnMac);
    }

    [Fact]
    public void AsLio_TheInitiatorAloneReplayed_GetsLiosClaimResponse_IsLearnt_AndAgesOutAfterItsBeaconsStop()
    {
        var (link, controller) = Lio();
        var lost = new List<Vn2VnPeer>();
        controller.PeerLost += lost.Add;
        controller.Start();
        Advance(TimeSpan.FromSeconds(1));
        link.ClearSent();

        var start = Captures.Alone[0].Timestamp;
        var replayStart = _time.GetUtcNow();
        var answers = new List<(int Index, SentFrame Frame)>();
        for (int i = 0; i < Captures.Alone.Count; i++)
        {
            var record = Captures.Alone[i];
            AdvanceTo(replayStart + (record.Timestamp - start));
            int before = link.Sent.Count;
            controller.HandleFip(record.Data).Should().BeTrue($"frame {i} is a VN2VN frame from another port");
            answers.AddRange(link.Sent.Skip(before).Select(f => (i, f)));
        }

        // Only the claim notification (frame 2) is answered, with the claim response LIO sent in the pair capture.
        answers.Should().ContainSingle();
        answers[0].Index.Should().Be(2);
        Bytes.Equal(Captures.PairFrame(9), answers[0].Frame.Data);
        link.Sent.Where(f => f.Destination != MacAddress.AllVn2VnMacs).Should().ContainSingle("beacons aside, nothing else went out");

        var peer = controller.Peers.Should().ContainSingle().Subject;
        peer.Should().Be(new Vn2VnPeer(Captures.InitiatorPortId, Captures.InitiatorPortName, Captures.InitiatorNodeName,
            Captures.InitiatorENode, Captures.InitiatorVnMac, Fc4FeatureBits.Initiator, FcoeFrame.MaxFcoeSize, _time.GetUtcNow()));

        var lastBeacon = _time.GetUtcNow();
        AdvanceTo(lastBeacon + TimeSpan.FromSeconds(20) - TimeSpan.FromMilliseconds(1));
        lost.Should().BeEmpty();
        AdvanceTo(lastBeacon + TimeSpan.FromSeconds(20));
        lost.Should().ContainSingle().Which.PortName.Should().Be(Captures.InitiatorPortName);
    }

    [Fact]
    public void UpOnTheInitiatorsId_ItsRecordedProbeGetsAProbeReply_AndItsClaimIsDefended()
    {
        // LIO's identity, but holding 000001, the ID the initiator probes for; LIO's WWPN is the higher one.
        var (link, controller) = Lio(preferredPortId: Captures.InitiatorPortId);
        controller.Start();
        Advance(TimeSpan.FromSeconds(1));
        link.ClearSent();

        controller.HandleFip(Captures.Alone[0].Data).Should().BeTrue();

        link.Sent.Should().HaveCount(1);
        var expected = (byte[])Captures.PairFrame(0).Clone(); // LIO's probe, readdressed and with subcode 2 and ID 000001
        Captures.InitiatorENode.WriteTo(expected);
        expected[Ethernet.HeaderLength + 5] = 2;
        FipDescriptorWriter.WriteVnPortId(expected.AsSpan(Ethernet.HeaderLength + FipHeader.Length + 20),
            new VnPortIdentity(Captures.InitiatorVnMac, Captures.InitiatorPortId, Captures.TargetPortName));
        Bytes.Equal(expected, link.Sent[0].Data);

        controller.HandleFip(Captures.Alone[2].Data).Should().BeTrue();

        link.Sent.Should().HaveCount(2);
        FipFrame.TryRead(link.Sent[1].Data, out var claim).Should().Be(FipReadResult.Success);
        claim.Header.Message.Should().Be(FipMessage.ClaimNotification);
        controller.State.Should().Be(Vn2VnState.Up);
        controller.PortId.Should().Be(Captures.InitiatorPortId);
        controller.Peers.Should().BeEmpty();
    }

    [Fact]
    public void AsTheInitiator_LiosEncapsulatedFlogi_IsAnsweredWithTheInitiatorsReplyByteForByte()
    {
        // The pair capture holds one FIP FLOGI: LIO's, answered by the Linux initiator. A controller with the
        // initiator's identity, given the LS_ACC the initiator's stack built, must send the initiator's reply.
        var link = new InMemoryFcoeLink(Captures.InitiatorENode, _time);
        var options = new Vn2VnOptions
        {
            PortName = Captures.InitiatorPortName,
            NodeName = Captures.InitiatorNodeName,
            Fc4Features = s_initiatorFeatures,
        };
        var seen = new List<(FipDescriptorType Type, FcFrameHeader Header, byte[] Payload, MacAddress Mac)>();
        using var controller = new Vn2VnController(link, options, _time, new Random(7), (type, header, payload, mac, reply) =>
        {
            seen.Add((type, header, payload.ToArray(), mac));
            FipCaptureTests.LinuxFlogiParameters(Captures.InitiatorPortName, Captures.InitiatorNodeName).WriteTo(reply, ElsCode.LsAcc);
            return ServiceParameters.Length;
        });
        controller.Start();
        Advance(TimeSpan.FromSeconds(1));
        controller.PortId.Should().Be(Captures.InitiatorPortId);
        link.ClearSent();

        controller.HandleFip(Captures.PairFrame(11)).Should().BeTrue();

        seen.Should().ContainSingle();
        seen[0].Type.Should().Be(FipDescriptorType.Flogi);
        seen[0].Header.Should().Be(new FcFrameHeader
        {
            RCtl = RCtl.ElsRequest,
            DestinationId = Captures.InitiatorPortId,
            SourceId = Captures.TargetPortId,
            Type = FcType.Els,
            FCtl = FCtl.Request,
            RxId = FcFrameHeader.UnassignedExchangeId,
        });
        seen[0].Payload.Should().HaveCount(ServiceParameters.Length);
        seen[0].Payload[0].Should().Be(ElsCode.Flogi);
        seen[0].Mac.Should().Be(Captures.TargetVnMac);

        link.Sent.Should().ContainSingle();
        var sent = link.Sent[0].Data;
        var captured = Captures.PairFrame(12);
        FipFrame.TryRead(sent, out var ours).Should().Be(FipReadResult.Success);
        FipFrame.TryRead(captured, out var theirs).Should().Be(FipReadResult.Success);
        ours.Destination.Should().Be(theirs.Destination).And.Be(Captures.TargetENode);
        ours.Source.Should().Be(theirs.Source).And.Be(Captures.InitiatorENode);
        ours.Header.Should().Be(theirs.Header);
        var ourReader = ours.GetDescriptorReader();
        var theirReader = theirs.GetDescriptorReader();
        ourReader.TryReadNext(out var ourEls).Should().BeTrue();
        theirReader.TryReadNext(out var theirEls).Should().BeTrue();
        ourEls.Type.Should().Be(FipDescriptorType.Flogi);
        ourEls.TryReadEncapsulatedEls(out var ourHeader, out var ourPayload).Should().BeTrue();
        theirEls.TryReadEncapsulatedEls(out var theirHeader, out var theirPayload).Should().BeTrue();
        ourHeader.Should().Be(theirHeader);
        ourHeader.FCtl.Should().Be(FCtl.LastReplyWithInitiative);
        ourPayload.ToArray().Should().Equal(theirPayload.ToArray());
        ourReader.TryReadNext(out var ourMac).Should().BeTrue();
        theirReader.TryReadNext(out var theirMac).Should().BeTrue();
        ourMac.TryReadMacAddress(out var mac).Should().BeTrue();
        theirMac.TryReadMacAddress(out var capturedMac).Should().BeTrue();
        mac.Should().Be(capturedMac).And.Be(Captures.InitiatorVnMac);
        Bytes.Equal(captured, sent);
    }

    private (InMemoryFcoeLink Link, Vn2VnController Controller) Lio(uint? preferredPortId = null)
    {
        var link = new InMemoryFcoeLink(Captures.TargetENode, _time, mtu: 9000);
        var options = new Vn2VnOptions
        {
            PortName = Captures.TargetPortName,
            NodeName = Captures.TargetNodeName,
            PreferredPortId = preferredPortId,
            Fc4Features = s_lioFeatures,
        };
        return (link, new Vn2VnController(link, options, _time, new Random(7), null));
    }

    private void Advance(TimeSpan duration) => FipVn2VnControllerTests.Step(_time, duration);

    private void AdvanceTo(DateTimeOffset at) => Advance(at - _time.GetUtcNow());
}
