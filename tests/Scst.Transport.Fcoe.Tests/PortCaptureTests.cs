// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Fcoe.Port;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// The link service requests of the pair capture fed to a <see cref="LinkServiceResponder"/> that has the identity of
/// the port that answered them, and our replies compared with the captured ones: the Linux initiator's accept of
/// LIO's PLOGI (libfc's policy: identical), LIO's accepts of the initiator's PRLI, RTV and ADISC (identical but where
/// our policy differs, said at each test). Frame numbers count from 0.
/// </summary>
public class PortCaptureTests
{
    [Fact]
    public void Plogi_FromLio_IsAnsweredAsTheLinuxInitiatorAnswered()
    {
        // In VN2VN the port with the higher WWPN sends the PLOGI: here LIO (frame 13); the initiator accepts (frame 14).
        var harness = new PortHarness(Captures.InitiatorPortName, Captures.InitiatorNodeName, Captures.InitiatorPortId);

        var reply = Answer(harness, 13, out var request);

        AssertSameFrame(Captures.PairFrame(14), request, reply);
        harness.Ports.TryGet(Captures.TargetPortId, out var lio).Should().BeTrue();
        lio!.LoggedIn.Should().BeTrue();
        lio.PortName.Should().Be(Captures.TargetPortName);
        lio.NodeName.Should().Be(Captures.TargetNodeName);
        lio.Mac.Should().Be(Captures.TargetVnMac);
        lio.MaxPayload.Should().Be(2112);
        lio.ImagePairEstablished.Should().BeFalse();
        harness.Events.Established.Should().BeEmpty();
    }

    [Fact]
    public void Prli_OfTheLinuxInitiator_EstablishesTheImagePair_AndIsAnsweredAsLioAnswered_ButForRetryAndConfirmation()
    {
        var harness = LioWithTheInitiatorLoggedIn();

        var reply = Answer(harness, 15, out var request);

        // LIO echoes the initiator's confirmed-completion and initiator-function bits (0xB2); we offer the target
        // function and READ XFER_RDY disabled only (0x12): no confirmed completion, which we do not implement, and we
        // are not an initiator. Everything else (header, page, flags 0x21 = EST_IMG_PAIR | executed) is LIO's.
        FcoeFrame.TryRead(Captures.PairFrame(18), out var lio).Should().Be(FcoeReadResult.Success);
        var expected = lio.Payload.ToArray();
        expected[16..20].Should().Equal(0x00, 0x00, 0x00, 0xB2);
        expected[19] = 0x12;
        AssertSameFrame(Captures.PairFrame(18), request, reply, expected);

        harness.Events.Established.Should().ContainSingle();
        var port = harness.Events.Established[0];
        port.PortId.Should().Be(Captures.InitiatorPortId);
        port.SessionName.Should().Be("20:00:52:54:00:fc:00:01");
        port.FcpParameters.Should().Be(0x1A2u);
        harness.Ports.TryGet(Captures.InitiatorPortId, out var stored).Should().BeTrue();
        stored!.ImagePairEstablished.Should().BeTrue();
    }

    [Fact]
    public void Rtv_OfTheLinuxInitiator_IsAccepted_WithOurResourceAllocationTimeout()
    {
        var harness = LioWithTheInitiatorLoggedIn();

        var reply = Answer(harness, 20, out var request);

        // LIO accepted with R_A_TOV 4000 ms (frame 22); ours is 10000 ms (FC-FS default). E_D_TOV 2000 ms as LIO.
        FcoeFrame.TryRead(Captures.PairFrame(22), out var lio).Should().Be(FcoeReadResult.Success);
        RtvAccept.TryRead(lio.Payload, out var lioRtv).Should().BeTrue();
        lioRtv.Should().Be(new RtvAccept(4000, 2000));
        var expected = new byte[RtvAccept.Length];
        new RtvAccept(10000, 2000).WriteTo(expected);
        AssertSameFrame(Captures.PairFrame(22), request, reply, expected);
    }

    [Fact]
    public void Adisc_OfTheLinuxInitiator_IsAnsweredAsLioAnswered()
    {
        var harness = LioWithTheInitiatorLoggedIn();

        var reply = Answer(harness, 82, out var request);

        AssertSameFrame(Captures.PairFrame(83), request, reply);
    }

    [Fact]
    public void TheCapturedLogin_PlogiPrliRtvAdisc_GivesExactlyOneImagePair()
    {
        var harness = LioWithTheInitiatorLoggedIn();

        foreach (int index in new[] { 15, 20, 82 })
        {
            Answer(harness, index, out _);
        }

        harness.Events.Established.Should().ContainSingle();
        harness.Events.Ended.Should().BeEmpty();
        harness.Ports.Count.Should().Be(1);
    }

    // LIO's responder, with the initiator logged in by the PLOGI whose service parameters the initiator sent in its
    // accept (frame 14): the capture has no PLOGI from the initiator, because LIO, with the higher WWPN, sent it.
    private static PortHarness LioWithTheInitiatorLoggedIn()
    {
        var harness = new PortHarness(Captures.TargetPortName, Captures.TargetNodeName, Captures.TargetPortId);
        FcoeFrame.TryRead(Captures.PairFrame(14), out var accept).Should().Be(FcoeReadResult.Success);
        var plogi = accept.Payload.ToArray();
        plogi[0] = ElsCode.Plogi;
        var (_, reply) = harness.Els(Captures.InitiatorPortId, plogi);
        reply[0].Should().Be(ElsCode.LsAcc);
        return harness;
    }

    private static byte[] Answer(PortHarness harness, int index, out byte[] request)
    {
        request = Captures.PairFrame(index);
        FcoeFrame.TryRead(request, out var frame).Should().Be(FcoeReadResult.Success);
        frame.Header.DestinationId.Should().Be(harness.PortId);
        var reply = Bytes.Dirty(FcoeFrame.MaxPayloadLength);
        harness.Responder.Respond(frame.Header, frame.Payload, frame.Source, reply, out var result).Should().BeTrue();

        // The reply as the driver sends it: back to the sender's MAC, from ours, a single-frame sequence.
        var written = new byte[FcoeFrame.MaxTaggedFrameLength];
        int length = FcoeFrame.Write(written, frame.Source, frame.Destination, null, LinkServiceReply.Sof, result.Header,
            reply.AsSpan(0, result.PayloadLength), LinkServiceReply.Eof);
        return written[..length];
    }

    private static void AssertSameFrame(byte[] captured, byte[] request, byte[] ours, byte[]? expectedPayload = null)
    {
        FcoeFrame.TryRead(captured, out var theirs).Should().Be(FcoeReadResult.Success);
        FcoeFrame.TryRead(ours, out var mine).Should().Be(FcoeReadResult.Success);
        FcoeFrame.TryRead(request, out var asked).Should().Be(FcoeReadResult.Success);

        mine.Header.Should().Be(theirs.Header);
        mine.Header.Should().Be(asked.Header.ToReply(RCtl.ElsReply, FCtl.LastReplyWithInitiative, FcFrameHeader.UnassignedExchangeId));
        mine.Sof.Should().Be(theirs.Sof);
        mine.Eof.Should().Be(theirs.Eof);
        mine.Destination.Should().Be(theirs.Destination);
        mine.Source.Should().Be(theirs.Source);
        if (expectedPayload is null)
        {
            Bytes.Equal(captured, ours);
        }
        else
        {
            Bytes.Equal(expectedPayload, mine.Payload);
        }
    }
}
