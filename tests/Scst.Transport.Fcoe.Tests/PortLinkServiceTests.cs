// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using Scst.Transport.Fcoe.Port;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>The link service responder against hand-built requests: each ELS, ABTS, logins and logouts, bad payloads.</summary>
public class PortLinkServiceTests
{
    private const uint Us = 0x000002;
    private const uint Initiator = 0x003456;
    private const ulong InitiatorWwpn = 0x2000_5254_0012_3456;
    private const ulong OurWwpn = 0x2000_0200_0000_0b02;

    private readonly PortHarness _port = new(OurWwpn, 0x1000_0200_0000_0b02, Us);

    [Fact]
    public void Plogi_IsAcceptedWithOurServiceParameters()
    {
        var (header, reply) = _port.Els(Initiator, PortPayloads.Plogi(InitiatorWwpn), oxId: 0x1234);

        header.Should().Be(new FcFrameHeader
        {
            RCtl = RCtl.ElsReply, DestinationId = Initiator, SourceId = Us, Type = FcType.Els, FCtl = 0x990000, OxId = 0x1234,
            RxId = 0xFFFF,
        });
        ServiceParameters.TryRead(reply, out var ours).Should().BeTrue();
        reply[0].Should().Be(ElsCode.LsAcc);
        ours.Should().Be(_port.Responder.LocalServiceParameters);
        ours.CommonFeatures.Should().Be(CommonFeatures.ContinuouslyIncreasingOffset);
        ours.ReceiveDataFieldSize.Should().Be(2112);
        ours.ErrorDetectTimeout.Should().Be(2000);
        ours.Class3ServiceOptions.Should().Be(ClassServiceOptions.Valid | ClassServiceOptions.SequentialDelivery);
        ours.Class3ReceiveDataFieldSize.Should().Be(2112);
        ours.PortName.Should().Be(OurWwpn);

        _port.Ports.TryGet(Initiator, out var port).Should().BeTrue();
        port!.MaxPayload.Should().Be(2048, "the initiator receives 2048 bytes at most");
        port.Mac.Should().Be(MacAddress.FromVn2VnPortId(Initiator));
    }

    [Fact]
    public void Plogi_WithoutClass3_IsRejected()
    {
        var (_, reply) = _port.Els(Initiator, PortPayloads.Plogi(InitiatorWwpn, class3Options: 0));

        AssertReject(reply, LsRjtReason.LogicalError, LsRjtExplanation.ServiceParameterOptions);
        _port.Ports.Count.Should().Be(0);
    }

    [Fact]
    public void SecondPlogi_IsAnImplicitLogout_EndingTheImagePair()
    {
        _port.LoginWithImagePair(Initiator, InitiatorWwpn);

        var (_, reply) = _port.Els(Initiator, PortPayloads.Plogi(InitiatorWwpn));

        reply[0].Should().Be(ElsCode.LsAcc);
        _port.Events.Ended.Should().ContainSingle().Which.PortId.Should().Be(Initiator);
        _port.Ports.TryGet(Initiator, out var port).Should().BeTrue();
        port!.LoggedIn.Should().BeTrue();
        port.ImagePairEstablished.Should().BeFalse();
    }

    [Fact]
    public void Plogi_OfAKnownWwpnFromAnotherPortId_LogsTheOldAddressOut()
    {
        _port.LoginWithImagePair(Initiator, InitiatorWwpn);

        _port.Login(0x000777, InitiatorWwpn);

        _port.Events.Ended.Should().ContainSingle().Which.PortId.Should().Be(Initiator);
        _port.Ports.IsLoggedIn(Initiator).Should().BeFalse();
        _port.Ports.Count.Should().Be(1);
    }

    [Fact]
    public void Logo_RemovesThePort_AndEndsItsImagePair()
    {
        _port.LoginWithImagePair(Initiator, InitiatorWwpn);
        var logo = new byte[LogoPayload.Length];
        new LogoPayload(Initiator, InitiatorWwpn).WriteTo(logo);

        var (header, reply) = _port.Els(Initiator, logo);

        header.RCtl.Should().Be(RCtl.ElsReply);
        reply.Should().Equal(ElsCode.LsAcc, 0, 0, 0);
        _port.Ports.Count.Should().Be(0);
        _port.Events.Ended.Should().ContainSingle().Which.SessionName.Should().Be("20:00:52:54:00:12:34:56");
    }

    [Fact]
    public void Logo_FromAPortNotLoggedIn_IsAccepted()
    {
        var logo = new byte[LogoPayload.Length];
        new LogoPayload(Initiator, InitiatorWwpn).WriteTo(logo);

        _port.Els(Initiator, logo).Payload.Should().Equal(ElsCode.LsAcc, 0, 0, 0);
        _port.Events.Ended.Should().BeEmpty();
    }

    [Fact]
    public void Prli_OfTheLinuxInitiator_EstablishesTheImagePair_OfferingTheTargetFunction()
    {
        _port.Login(Initiator, InitiatorWwpn);

        var (_, reply) = _port.Els(Initiator, PortPayloads.Prli(PrliFlags.EstablishImagePair, 0x1A2));

        Prli.TryRead(reply, out byte code, out var page).Should().BeTrue();
        code.Should().Be(ElsCode.LsAcc);
        page.Should().Be(new PrliPage
        {
            Type = FcType.Fcp,
            Flags = PrliFlags.EstablishImagePair | PrliResponseCode.Executed,
            Parameters = FcpServiceParameters.TargetFunction | FcpServiceParameters.ReadTransferReadyDisabled,
        });
        _port.Events.Established.Should().ContainSingle().Which.SessionName.Should().Be("20:00:52:54:00:12:34:56");
    }

    [Fact]
    public void Prli_Repeated_KeepsOneImagePair()
    {
        _port.LoginWithImagePair(Initiator, InitiatorWwpn);

        _port.Els(Initiator, PortPayloads.Prli(PrliFlags.EstablishImagePair, 0x22)).Payload[6]
            .Should().Be(PrliFlags.EstablishImagePair | PrliResponseCode.Executed);

        _port.Events.Established.Should().ContainSingle();
        _port.Ports.TryGet(Initiator, out var port).Should().BeTrue();
        port!.FcpParameters.Should().Be(0x22u);
    }

    [Fact]
    public void Prli_WithoutEstablishImagePair_IsExecuted_WithoutAnImagePair()
    {
        _port.Login(Initiator, InitiatorWwpn);

        var (_, reply) = _port.Els(Initiator, PortPayloads.Prli(0, FcpServiceParameters.InitiatorFunction));

        Prli.TryRead(reply, out _, out var page).Should().BeTrue();
        page.Flags.Should().Be(PrliResponseCode.Executed);
        page.Parameters.Should().Be(FcpServiceParameters.TargetFunction);
        _port.Events.Established.Should().BeEmpty();
        _port.Ports.TryGet(Initiator, out var port).Should().BeTrue();
        port!.ImagePairEstablished.Should().BeFalse();
    }

    [Fact]
    public void Prli_FromATargetOnlyPort_IsExecuted_WithoutAnImagePair()
    {
        _port.Login(Initiator, InitiatorWwpn);

        var (_, reply) = _port.Els(Initiator, PortPayloads.Prli(PrliFlags.EstablishImagePair, FcpServiceParameters.TargetFunction));

        reply[6].Should().Be(PrliResponseCode.Executed);
        _port.Events.Established.Should().BeEmpty();
    }

    [Theory]
    [InlineData(PrliFlags.OriginatorPaValid)]
    [InlineData(PrliFlags.ResponderPaValid)]
    public void Prli_WithAProcessAssociator_IsRefused(byte flag)
    {
        _port.Login(Initiator, InitiatorWwpn);

        var (_, reply) = _port.Els(Initiator, PortPayloads.Prli((byte)(PrliFlags.EstablishImagePair | flag), 0x1A2));

        reply[0].Should().Be(ElsCode.LsAcc);
        Prli.TryRead(reply, out _, out var page).Should().BeTrue();
        page.Should().Be(new PrliPage { Type = FcType.Fcp, Flags = PrliResponseCode.NoSuchTargetImage });
        _port.Events.Established.Should().BeEmpty();
    }

    [Fact]
    public void Prli_WithNeitherInitiatorNorTargetFunction_HasInvalidServiceParameters()
    {
        _port.Login(Initiator, InitiatorWwpn);

        var (_, reply) = _port.Els(Initiator, PortPayloads.Prli(PrliFlags.EstablishImagePair, FcpServiceParameters.ReadTransferReadyDisabled));

        reply[6].Should().Be(PrliResponseCode.InvalidServiceParameters);
        _port.Events.Established.Should().BeEmpty();
    }

    [Fact]
    public void Prli_WithTheTargetDisabled_EstablishesNothing()
    {
        var port = new PortHarness(OurWwpn, 0x1000_0200_0000_0b02, Us, targetEnabled: false);
        port.Login(Initiator, InitiatorWwpn);

        var (_, reply) = port.Els(Initiator, PortPayloads.Prli(PrliFlags.EstablishImagePair, 0x1A2));

        Prli.TryRead(reply, out _, out var page).Should().BeTrue();
        page.Should().Be(new PrliPage { Type = FcType.Fcp, Flags = PrliResponseCode.PreconditionsNotMet });
        port.Events.Established.Should().BeEmpty();

        port.Responder.TargetEnabled = true;
        port.Els(Initiator, PortPayloads.Prli(PrliFlags.EstablishImagePair, 0x1A2)).Payload[6]
            .Should().Be(PrliFlags.EstablishImagePair | PrliResponseCode.Executed);
        port.Events.Established.Should().ContainSingle();
    }

    [Fact]
    public void Prli_ForAnotherFc4Type_IsNotProvided()
    {
        _port.Login(Initiator, InitiatorWwpn);

        var (_, reply) = _port.Els(Initiator, PortPayloads.Prli(PrliFlags.EstablishImagePair, 0x20, type: 0x05));

        Prli.TryRead(reply, out _, out var page).Should().BeTrue();
        page.Should().Be(new PrliPage { Type = 0x05, Flags = PrliResponseCode.InvalidServiceParameters });
        _port.Events.Established.Should().BeEmpty();
    }

    [Fact]
    public void Prlo_EndsTheImagePair_AndKeepsTheLogin()
    {
        _port.LoginWithImagePair(Initiator, InitiatorWwpn);

        var (_, reply) = _port.Els(Initiator, PortPayloads.Prli(0, 0, code: ElsCode.Prlo));

        Prli.TryRead(reply, out byte code, out var page).Should().BeTrue();
        code.Should().Be(ElsCode.LsAcc);
        page.Should().Be(new PrliPage { Type = FcType.Fcp, Flags = PrliResponseCode.Executed });
        _port.Events.Ended.Should().ContainSingle();
        _port.Ports.TryGet(Initiator, out var port).Should().BeTrue();
        port!.LoggedIn.Should().BeTrue();
        port.ImagePairEstablished.Should().BeFalse();
    }

    [Fact]
    public void Adisc_AnswersOurAddressAndNames()
    {
        _port.Login(Initiator, InitiatorWwpn);
        var adisc = new byte[AdiscPayload.Length];
        new AdiscPayload(0, InitiatorWwpn, 0x1000_5254_0012_3456, Initiator).WriteTo(adisc, ElsCode.Adisc);

        var (_, reply) = _port.Els(Initiator, adisc);

        reply[0].Should().Be(ElsCode.LsAcc);
        AdiscPayload.TryRead(reply, out var answer).Should().BeTrue();
        answer.Should().Be(new AdiscPayload(0, OurWwpn, 0x1000_0200_0000_0b02, Us));
    }

    [Fact]
    public void Rtv_AnswersResourceAllocationAndErrorDetectTimeouts()
    {
        _port.Login(Initiator, InitiatorWwpn);

        var (_, reply) = _port.Els(Initiator, PortPayloads.Command(ElsCode.Rtv));

        RtvAccept.TryRead(reply, out var rtv).Should().BeTrue();
        rtv.Should().Be(new RtvAccept(10000, 2000, 0));
    }

    [Fact]
    public void Echo_ReturnsThePayload()
    {
        _port.Login(Initiator, InitiatorWwpn);
        var echo = new byte[4 + 301];
        echo[0] = ElsCode.Echo;
        for (int i = 4; i < echo.Length; i++)
        {
            echo[i] = (byte)(i * 7);
        }

        var (_, reply) = _port.Els(Initiator, echo);

        reply[..4].Should().Equal(ElsCode.LsAcc, 0, 0, 0);
        reply[4..].Should().Equal(echo[4..]);
    }

    [Fact]
    public void Rls_AnswersAZeroLinkErrorStatusBlock()
    {
        _port.Login(Initiator, InitiatorWwpn);
        var rls = new byte[Rls.RequestLength];
        Rls.WriteRequest(rls, Us);

        var (_, reply) = _port.Els(Initiator, rls);

        reply.Length.Should().Be(Rls.AcceptLength);
        Rls.TryReadAccept(reply, out var status).Should().BeTrue();
        status.Should().Be(default(LinkErrorStatus));
        reply[1..].Should().OnlyContain(b => b == 0);
    }

    [Fact]
    public void Rrq_ReleasesTheRecoveryQualifier()
    {
        _port.Login(Initiator, InitiatorWwpn);
        _port.Events.HeldQualifiers.Add((Initiator, 0x0042, 0x0007));
        var rrq = new byte[RrqPayload.Length];
        new RrqPayload(Initiator, 0x0042, 0x0007).WriteTo(rrq);

        _port.Els(Initiator, rrq).Payload.Should().Equal(ElsCode.LsAcc, 0, 0, 0);
        _port.Events.Released.Should().Equal((Initiator, Initiator, (ushort)0x0042, (ushort)0x0007));
        _port.Events.HeldQualifiers.Should().BeEmpty();

        // The same qualifier again is no longer held.
        AssertReject(_port.Els(Initiator, rrq).Payload, LsRjtReason.LogicalError, LsRjtExplanation.InvalidExchangeIds);
    }

    [Theory]
    [InlineData(ElsCode.Rec, 16)]
    [InlineData(ElsCode.Srr, 16)]
    [InlineData(ElsCode.Rnid, 8)]
    [InlineData(0x7F, 4)]
    public void UnsupportedEls_IsRejectedAsNotSupported(byte code, int length)
    {
        _port.Login(Initiator, InitiatorWwpn);

        var (header, reply) = _port.Els(Initiator, PortPayloads.Command(code, length));

        header.RCtl.Should().Be(RCtl.ElsReply);
        AssertReject(reply, LsRjtReason.CommandNotSupported, LsRjtExplanation.None);
    }

    [Fact]
    public void Fc4ElsSrr_IsRejectedAsNotSupported_InAnFc4ElsReply()
    {
        _port.LoginWithImagePair(Initiator, InitiatorWwpn);
        var request = ElsCaptureTests.Request(Initiator, Us) with { RCtl = RCtl.Fc4ElsRequest, Type = FcType.Fcp, OxId = 0x99 };

        var (header, reply) = _port.Send(request, PortPayloads.Command(ElsCode.Srr, 16));

        header.Should().Be(request.ToReply(RCtl.Fc4ElsReply, FCtl.LastReplyWithInitiative, FcFrameHeader.UnassignedExchangeId));
        header.Type.Should().Be(FcType.Fcp);
        AssertReject(reply, LsRjtReason.CommandNotSupported, LsRjtExplanation.None);
    }

    [Theory]
    [InlineData(ElsCode.Prli)]
    [InlineData(ElsCode.Prlo)]
    [InlineData(ElsCode.Adisc)]
    [InlineData(ElsCode.Rtv)]
    [InlineData(ElsCode.Echo)]
    [InlineData(ElsCode.Rls)]
    [InlineData(ElsCode.Rrq)]
    [InlineData(ElsCode.Rec)]
    [InlineData(0x7F)]
    public void Els_FromAPortNotLoggedIn_NeedsALogin(byte code)
    {
        var payload = code is ElsCode.Prli or ElsCode.Prlo ? PortPayloads.Prli(PrliFlags.EstablishImagePair, 0x1A2, code) : PortPayloads.Command(code, 32);

        var (_, reply) = _port.Els(Initiator, payload);

        AssertReject(reply, LsRjtReason.UnableToPerform, LsRjtExplanation.LoginRequired);
        _port.Ports.Count.Should().Be(0);
        _port.Events.Established.Should().BeEmpty();
    }

    [Fact]
    public void Els_AfterLogo_NeedsALoginAgain()
    {
        _port.LoginWithImagePair(Initiator, InitiatorWwpn);
        var logo = new byte[LogoPayload.Length];
        new LogoPayload(Initiator, InitiatorWwpn).WriteTo(logo);
        _port.Els(Initiator, logo);

        AssertReject(_port.Els(Initiator, PortPayloads.Prli(PrliFlags.EstablishImagePair, 0x1A2)).Payload,
            LsRjtReason.UnableToPerform, LsRjtExplanation.LoginRequired);
    }

    [Theory]
    [InlineData(ElsCode.Plogi, 0)]
    [InlineData(ElsCode.Plogi, 1)]
    [InlineData(ElsCode.Plogi, 115)]
    [InlineData(ElsCode.Flogi, 60)]
    [InlineData(ElsCode.Logo, 8)]
    [InlineData(ElsCode.Prli, 4)]
    [InlineData(ElsCode.Prli, 19)]
    [InlineData(ElsCode.Prlo, 12)]
    [InlineData(ElsCode.Adisc, 20)]
    [InlineData(ElsCode.Rls, 4)]
    [InlineData(ElsCode.Rrq, 8)]
    public void ShortPayload_IsRejectedAsInvalidLength(byte code, int length)
    {
        _port.Login(Initiator, InitiatorWwpn);
        var payload = new byte[length];
        if (length > 0)
        {
            payload[0] = code;
        }

        if (length >= 4 && code is ElsCode.Prli or ElsCode.Prlo)
        {
            payload[1] = PrliPage.Length;
            BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(2), 20);
        }

        var (_, reply) = _port.Els(Initiator, payload);

        AssertReject(reply, LsRjtReason.LogicalError, LsRjtExplanation.InvalidPayloadLength);
        _port.Ports.IsLoggedIn(Initiator).Should().BeTrue("a bad request disturbs nothing");
    }

    [Fact]
    public void Prli_WithAPageLengthThatIsNot16_IsRejected()
    {
        _port.Login(Initiator, InitiatorWwpn);
        var prli = PortPayloads.Prli(PrliFlags.EstablishImagePair, 0x1A2);
        prli[1] = 0x14;

        AssertReject(_port.Els(Initiator, prli).Payload, LsRjtReason.LogicalError, LsRjtExplanation.InvalidPayloadLength);
        _port.Events.Established.Should().BeEmpty();
    }

    [Fact]
    public void Abts_ForAKnownExchange_GetsBaAccWithItsExchangeIds()
    {
        _port.LoginWithImagePair(Initiator, InitiatorWwpn);
        _port.Events.KnownExchanges.Add((Initiator, 0x0005, 0x0011));
        var abts = Abts(0x0005, 0x0011);

        var (header, reply) = _port.Send(abts, default);

        header.Should().Be(new FcFrameHeader
        {
            RCtl = RCtl.BaAcc, DestinationId = Initiator, SourceId = Us, Type = FcType.Bls, FCtl = 0x980000, OxId = 0x0005, RxId = 0x0011,
        });
        BaAcc.TryRead(reply, out var accept).Should().BeTrue();
        reply.Length.Should().Be(BaAcc.Length);
        accept.Should().Be(new BaAcc(false, 0, 0x0005, 0x0011, 0, 0xFFFF));
        _port.Events.KnownExchanges.Should().BeEmpty();
    }

    [Fact]
    public void Abts_ForAnUnknownExchange_GetsBaRjt()
    {
        var (header, reply) = _port.Send(Abts(0x0006, 0xFFFF), default);

        header.RCtl.Should().Be(RCtl.BaRjt);
        header.Type.Should().Be(FcType.Bls);
        header.OxId.Should().Be(0x0006);
        reply.Should().Equal(0, BaRjtReason.LogicalError, BaRjtExplanation.InvalidExchangeIds, 0);
    }

    [Fact]
    public void FramesNotForTheLinkServices_OrNotForUs_GetNoReply()
    {
        var reply = new byte[FcoeFrame.MaxPayloadLength];
        var els = ElsCaptureTests.Request(Initiator, Us);
        var mac = MacAddress.FromVn2VnPortId(Initiator);

        _port.Responder.Respond(els with { DestinationId = 0x000003 }, PortPayloads.Plogi(InitiatorWwpn), mac, reply, out _).Should().BeFalse();
        _port.Responder.Respond(els with { RCtl = RCtl.FcpCommand, Type = FcType.Fcp }, new byte[32], mac, reply, out _).Should().BeFalse();
        _port.Responder.Respond(els with { Type = FcType.Fcp }, PortPayloads.Plogi(InitiatorWwpn), mac, reply, out _).Should().BeFalse();
        _port.Responder.Respond(els with { RCtl = RCtl.ElsReply }, PortPayloads.Command(ElsCode.LsAcc), mac, reply, out _).Should().BeFalse();
        _port.Ports.Count.Should().Be(0);
    }

    [Fact]
    public void RecordLogin_OfAPlogiWeSent_LetsThePortPrli()
    {
        ServiceParameters.TryRead(PortPayloads.Plogi(InitiatorWwpn), out var theirs).Should().BeTrue();

        _port.Responder.RecordLogin(Initiator, theirs, MacAddress.FromVn2VnPortId(Initiator)).LoggedIn.Should().BeTrue();

        _port.Els(Initiator, PortPayloads.Prli(PrliFlags.EstablishImagePair, 0x1A2)).Payload[6]
            .Should().Be(PrliFlags.EstablishImagePair | PrliResponseCode.Executed);
    }

    [Fact]
    public void Logo_ToAPortNotLoggedIn_CarriesOurIdentity()
    {
        var payload = Bytes.Dirty(LogoPayload.Length);

        int length = _port.Responder.WriteLogo(Initiator, 0x0321, payload, out var header);

        length.Should().Be(LogoPayload.Length);
        header.Should().Be(ElsCaptureTests.Request(Us, Initiator) with { OxId = 0x0321 });
        payload.Should().Equal(Bytes.Hex("05000000 00000002 2000020000000b02"));
    }

    [Theory]
    [InlineData(9000, 2112)]
    [InlineData(2500, 2112)]
    [InlineData(2158, 2112)]
    [InlineData(1500, 1452)]
    public void ReceiveSize_FollowsTheMtu(int mtu, int size) => LinkServiceResponder.ReceiveSizeFromMtu(mtu).Should().Be(size);

    [Fact]
    public void SessionName_IsTheWwpnInColonForm() =>
        RemotePort.FormatWwn(0x2100_0024_ff31_4c5a).Should().Be("21:00:00:24:ff:31:4c:5a");

    private static FcFrameHeader Abts(ushort oxId, ushort rxId) => new()
    {
        RCtl = RCtl.Abts,
        DestinationId = Us,
        SourceId = Initiator,
        Type = FcType.Bls,
        FCtl = FCtl.Abts,
        OxId = oxId,
        RxId = rxId,
    };

    private static void AssertReject(byte[] reply, byte reason, byte explanation)
    {
        LsRjt.TryRead(reply, out var reject).Should().BeTrue();
        reply.Length.Should().Be(LsRjt.Length);
        reject.Should().Be(new LsRjt(reason, explanation));
    }
}
