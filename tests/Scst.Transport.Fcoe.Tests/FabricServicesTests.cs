// Licensed under the Apache License, Version 2.0.

using System.Text;
using Microsoft.Extensions.Time.Testing;
using Scst.Transport.Fcoe.Fip;
using Scst.Transport.Fcoe.Port;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// The fabric services client: alone, with the frames it sends recorded and the replies fed by hand (every request
/// decoded field by field, the retries timed with a fake clock); and behind a fabric-mode ENode on the FCF emulator,
/// whose name server shows what was registered.
/// </summary>
public sealed class FabricServicesTests : IDisposable
{
    private const ulong OurPortName = 0x2000_0200_0000_0b02;
    private const ulong OurNodeName = 0x1000_0200_0000_0b02;
    private const uint OurPortId = 0x0A0101;

    private static readonly MacAddress s_fcfMac = MacAddress.Parse("00:0d:ec:aa:00:0a");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly List<(FcFrameHeader Header, byte[] Payload, DateTimeOffset At)> _sent = [];
    private readonly List<string> _events = [];
    private readonly List<IDisposable> _owned = [];

    public void Dispose()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
    }

    [Fact]
    public void Start_SendsAPlogiToTheDirectoryServer_WithOurServiceParameters()
    {
        var services = Services();

        services.Start(OurPortId);

        services.State.Should().Be(FabricServicesState.NameServerLogin);
        _sent.Should().ContainSingle();
        var (header, payload, _) = _sent[0];
        header.Should().Be(new FcFrameHeader
        {
            RCtl = RCtl.ElsRequest, DestinationId = WellKnownAddress.DirectoryServer, SourceId = OurPortId, Type = FcType.Els,
            FCtl = FCtl.Request, OxId = 0x8000, RxId = FcFrameHeader.UnassignedExchangeId,
        });
        payload.Should().HaveCount(ServiceParameters.Length);
        payload[0].Should().Be(ElsCode.Plogi);
        ServiceParameters.TryRead(payload, out var parameters).Should().BeTrue();
        parameters.Should().Be(LocalParameters() with { }, "the port's own PLOGI parameters");
        (parameters.PortName, parameters.NodeName).Should().Be((OurPortName, OurNodeName));
    }

    [Fact]
    public void Accepts_LeadThroughRftIdRffIdRspnIdAndScr_ToRegistered()
    {
        var services = Services(symbolicName: "scst fcoe target");
        services.Start(OurPortId);

        AcceptPlogi(services);
        var rft = Last();
        AssertCtRequest(rft.Header, rft.Payload, CtCommand.RftId, 0x8001);
        NameServer.TryReadRftId(rft.Payload.AsSpan(CtHeader.Length), out uint portId, out var types).Should().BeTrue();
        portId.Should().Be(OurPortId);
        Fc4Bitmap.IsTypeSet(types, FcType.Fcp).Should().BeTrue();
        types.ToArray().Count(b => b != 0).Should().Be(1, "FCP and nothing else");
        rft.Payload.Should().HaveCount(CtHeader.Length + NameServer.RftIdLength);

        AcceptCt(services);
        var rff = Last();
        AssertCtRequest(rff.Header, rff.Payload, CtCommand.RffId, 0x8002);
        NameServer.TryReadRffId(rff.Payload.AsSpan(CtHeader.Length), out portId, out byte features, out byte type).Should().BeTrue();
        (portId, features, type).Should().Be((OurPortId, Fc4FeatureBits.Target, FcType.Fcp));

        AcceptCt(services);
        var rspn = Last();
        AssertCtRequest(rspn.Header, rspn.Payload, CtCommand.RspnId, 0x8003);
        NameServer.TryReadRspnId(rspn.Payload.AsSpan(CtHeader.Length), out portId, out var name).Should().BeTrue();
        (portId, Encoding.UTF8.GetString(name)).Should().Be((OurPortId, "scst fcoe target"));

        AcceptCt(services);
        var scr = Last();
        scr.Header.Should().Be(new FcFrameHeader
        {
            RCtl = RCtl.ElsRequest, DestinationId = WellKnownAddress.FabricController, SourceId = OurPortId, Type = FcType.Els,
            FCtl = FCtl.Request, OxId = 0x8004, RxId = FcFrameHeader.UnassignedExchangeId,
        });
        Scr.TryRead(scr.Payload, out byte function).Should().BeTrue();
        scr.Payload[0].Should().Be(ElsCode.Scr);
        function.Should().Be(ScrFunction.Full);
        services.Registered.Should().BeFalse();

        services.HandleReply(Reply(scr.Header, RCtl.ElsReply), [ElsCode.LsAcc, 0, 0, 0]).Should().BeTrue();

        services.State.Should().Be(FabricServicesState.Registered);
        services.Registered.Should().BeTrue();
        _events.Should().Equal("registered");
        _sent.Should().HaveCount(5);
        Step(TimeSpan.FromSeconds(10));
        _sent.Should().HaveCount(5, "nothing is outstanding once registered");
    }

    [Fact]
    public void WithoutASymbolicName_RffIdIsFollowedByScr()
    {
        var services = Services();
        services.Start(OurPortId);

        AcceptPlogi(services);
        AcceptCt(services);
        AcceptCt(services);

        Last().Header.DestinationId.Should().Be(WellKnownAddress.FabricController);
        Last().Payload[0].Should().Be(ElsCode.Scr);
    }

    [Fact]
    public void CtReject_IsSentAgainAfter500ms_WithANewOxId()
    {
        var services = Services();
        services.Start(OurPortId);
        AcceptPlogi(services);
        var first = Last();
        var t = _time.GetUtcNow();

        services.HandleReply(Reply(first.Header, RCtl.CtReply), CtResponse(CtCommand.Reject, CtReason.LogicalBusy)).Should().BeTrue();
        Step(TimeSpan.FromMilliseconds(499));
        _sent.Should().HaveCount(2);
        Step(TimeSpan.FromMilliseconds(1));

        _sent.Should().HaveCount(3);
        var again = Last();
        again.At.Should().Be(t + TimeSpan.FromMilliseconds(500));
        again.Header.OxId.Should().Be(0x8002);
        again.Payload.Should().Equal(first.Payload);
        services.State.Should().Be(FabricServicesState.RegisteringTypes);
    }

    [Fact]
    public void NoReplyFor2s_SendsTheRequestAgain_AndALateReplyToTheOldExchangeIsIgnored()
    {
        var services = Services();
        services.Start(OurPortId);
        var t0 = _time.GetUtcNow();

        Step(TimeSpan.FromMilliseconds(1999));
        _sent.Should().HaveCount(1);
        Step(TimeSpan.FromMilliseconds(1));

        _sent.Should().HaveCount(2);
        _sent[1].At.Should().Be(t0 + TimeSpan.FromSeconds(2));
        _sent[1].Header.OxId.Should().Be(0x8001);
        _sent[1].Payload.Should().Equal(_sent[0].Payload);
        services.HandleReply(Reply(_sent[0].Header, RCtl.ElsReply), PlogiAccept()).Should().BeFalse("the first exchange timed out");
        services.State.Should().Be(FabricServicesState.NameServerLogin);
        services.HandleReply(Reply(_sent[1].Header, RCtl.ElsReply), PlogiAccept()).Should().BeTrue();
        services.State.Should().Be(FabricServicesState.RegisteringTypes);
    }

    [Fact]
    public void ThreeRejectsOfAStep_FailTheRegistration()
    {
        var services = Services();
        services.Start(OurPortId);
        AcceptPlogi(services);

        for (int i = 0; i < FabricServices.MaxTries; i++)
        {
            services.HandleReply(Reply(Last().Header, RCtl.CtReply), CtResponse(CtCommand.Reject, CtReason.UnableToPerform)).Should().BeTrue();
            Step(FabricServices.RejectRetryDelay);
        }

        services.State.Should().Be(FabricServicesState.Failed);
        _events.Should().Equal("failed RegisteringTypes");
        _sent.Should().HaveCount(4, "PLOGI and three RFT_IDs");
        Step(TimeSpan.FromSeconds(10));
        _sent.Should().HaveCount(4);

        services.Start(OurPortId);
        services.State.Should().Be(FabricServicesState.NameServerLogin, "a failed registration may be started again");
    }

    [Fact]
    public void ThreeTimeoutsOfThePlogi_FailTheRegistration()
    {
        var services = Services();
        services.Start(OurPortId);

        Step(TimeSpan.FromSeconds(6));

        _sent.Select(s => s.Header.OxId).Should().Equal((ushort)0x8000, (ushort)0x8001, (ushort)0x8002);
        services.State.Should().Be(FabricServicesState.Failed);
        _events.Should().Equal("failed NameServerLogin");
    }

    [Fact]
    public void RspnIdRefusedThreeTimes_IsSkipped_AndScrFollows()
    {
        var services = Services(symbolicName: "x");
        services.Start(OurPortId);
        AcceptPlogi(services);
        AcceptCt(services);
        AcceptCt(services);

        for (int i = 0; i < FabricServices.MaxTries; i++)
        {
            Last().Payload.AsSpan(8, 2).ToArray().Should().Equal(0x02, 0x18); // RSPN_ID
            services.HandleReply(Reply(Last().Header, RCtl.CtReply), CtResponse(CtCommand.Reject, CtReason.CommandNotSupported));
            Step(FabricServices.RejectRetryDelay);
        }

        services.State.Should().Be(FabricServicesState.StateChangeRegistration);
        Last().Payload[0].Should().Be(ElsCode.Scr);
    }

    [Fact]
    public void RepliesFromTheWrongPlace_OrOfTheWrongKind_AreNotTaken()
    {
        var services = Services();
        services.Start(OurPortId);
        var plogi = _sent[0].Header;
        var good = Reply(plogi, RCtl.ElsReply);

        services.HandleReply(good with { SourceId = WellKnownAddress.FabricController }, PlogiAccept()).Should().BeFalse("not the directory server");
        services.HandleReply(good with { DestinationId = 0x0A0102 }, PlogiAccept()).Should().BeFalse("not to us");
        services.HandleReply(good with { OxId = 0x8001 }, PlogiAccept()).Should().BeFalse("another exchange");
        services.HandleReply(good with { RCtl = RCtl.CtReply, Type = FcType.Ct }, CtResponse(CtCommand.Accept, 0)).Should().BeFalse("a CT reply to a PLOGI");
        services.HandleReply(good, [ElsCode.LsAcc, 0, 0, 0]).Should().BeFalse("an accept of a PLOGI carries service parameters");
        services.HandleReply(good, [ElsCode.Plogi]).Should().BeFalse();
        services.State.Should().Be(FabricServicesState.NameServerLogin);

        services.HandleReply(good, PlogiAccept()).Should().BeTrue();
        var rft = Reply(Last().Header, RCtl.CtReply);
        services.HandleReply(rft, CtResponse(CtCommand.Accept, 0).AsSpan(0, 15)).Should().BeFalse("shorter than a CT header");
        var other = CtResponse(CtCommand.Accept, 0);
        other[5] = 0x01;
        services.HandleReply(rft, other).Should().BeFalse("not the name server's subtype");
        services.HandleReply(rft with { RCtl = RCtl.ElsReply, Type = FcType.Els }, [ElsCode.LsAcc, 0, 0, 0]).Should().BeFalse("an ELS reply to a CT request");
        services.State.Should().Be(FabricServicesState.RegisteringTypes);
    }

    [Fact]
    public void OxIds_ComeFromTheDriversRange_AndWrapAround()
    {
        var services = Services(firstExchangeId: 0x9000, exchangeIdCount: 2);
        services.Start(OurPortId);

        Step(TimeSpan.FromSeconds(4));
        services.Stop();
        services.Start(OurPortId);

        _sent.Select(s => s.Header.OxId).Should().Equal((ushort)0x9000, (ushort)0x9001, (ushort)0x9000, (ushort)0x9001);
        services.OwnsExchange(0x9000).Should().BeTrue();
        services.OwnsExchange(0x9001).Should().BeTrue();
        services.OwnsExchange(0x9002).Should().BeFalse();
        services.OwnsExchange(0x8FFF).Should().BeFalse();
    }

    [Fact]
    public void Stop_ForgetsTheOutstandingRequest_AndSendsNothingMore()
    {
        var services = Services();
        services.Start(OurPortId);

        services.Stop();
        Step(TimeSpan.FromSeconds(10));

        _sent.Should().ContainSingle();
        services.State.Should().Be(FabricServicesState.Stopped);
        services.PortId.Should().Be(0u);
        services.HandleReply(Reply(_sent[0].Header, RCtl.ElsReply), PlogiAccept()).Should().BeFalse();
    }

    [Fact]
    public void Rscn_IsAccepted_AndItsPagesRaised()
    {
        var services = Services();
        var raised = new List<IReadOnlyList<RscnPage>>();
        services.StateChangeNotified += raised.Add;
        services.Start(OurPortId);
        var payload = new byte[12];
        Rscn.Write(payload, [new RscnPage(RscnAddressFormat.Port, 0x0A0102), new RscnPage(RscnAddressFormat.Fabric, 0)]);
        var request = new FcFrameHeader
        {
            RCtl = RCtl.ElsRequest, DestinationId = OurPortId, SourceId = WellKnownAddress.FabricController, Type = FcType.Els,
            FCtl = FCtl.Request, OxId = 0x4000, RxId = FcFrameHeader.UnassignedExchangeId,
        };
        var reply = Bytes.Dirty(64);

        services.HandleRequest(request, payload, reply, out var result).Should().BeTrue();

        result.PayloadLength.Should().Be(4);
        reply.AsSpan(0, 4).ToArray().Should().Equal(ElsCode.LsAcc, 0, 0, 0);
        result.Header.Should().Be(request.ToReply(RCtl.ElsReply, FCtl.LastReplyWithInitiative, FcFrameHeader.UnassignedExchangeId));
        raised.Should().ContainSingle().Which.Should().Equal(new RscnPage(RscnAddressFormat.Port, 0x0A0102), new RscnPage(RscnAddressFormat.Fabric, 0));
    }

    [Fact]
    public void MalformedRscn_GetsAnLsRjt_AndOtherRequestsAreLeftAlone()
    {
        var services = Services();
        var raised = 0;
        services.StateChangeNotified += _ => raised++;
        var request = new FcFrameHeader
        {
            RCtl = RCtl.ElsRequest, DestinationId = OurPortId, SourceId = WellKnownAddress.FabricController, Type = FcType.Els,
            FCtl = FCtl.Request, OxId = 0x4000, RxId = FcFrameHeader.UnassignedExchangeId,
        };
        var reply = new byte[64];
        byte[] rscn = [ElsCode.Rscn, 4, 0, 8, 0, 0x0A, 0x01, 0x02];

        services.HandleRequest(request, rscn, reply, out _).Should().BeFalse("stopped");
        services.Start(OurPortId);
        services.HandleRequest(request with { DestinationId = 0x0A0102 }, rscn, reply, out _).Should().BeFalse("not to us");
        services.HandleRequest(request, [ElsCode.Plogi, 0, 0, 0], reply, out _).Should().BeFalse("a PLOGI is the responder's");
        services.HandleRequest(request with { RCtl = RCtl.ElsReply }, rscn, reply, out _).Should().BeFalse();

        services.HandleRequest(request, [ElsCode.Rscn, 4, 0, 12, 0, 0x0A, 0x01, 0x02], reply, out var result).Should().BeTrue();

        LsRjt.TryRead(reply.AsSpan(0, result.PayloadLength), out var reject).Should().BeTrue();
        reject.Should().Be(new LsRjt(LsRjtReason.LogicalError, LsRjtExplanation.InvalidPayloadLength));
        raised.Should().Be(0);
    }

    [Fact]
    public void MalformedReplies_InTheOutstandingExchange_AreIgnoredWithoutExceptions()
    {
        var services = Services(symbolicName: "fuzz");
        services.Start(OurPortId);
        var random = new Random(0x0217);
        int cases = 0;

        for (int step = 0; step < 5; step++)
        {
            var state = services.State;
            var request = Last().Header;
            bool els = request.Type == FcType.Els;
            byte[] good = els ? (step == 0 ? PlogiAccept() : [ElsCode.LsAcc, 0, 0, 0]) : CtResponse(CtCommand.Accept, 0);
            for (int i = 0; i < 400; i++)
            {
                byte[] bad = (i % 4) switch
                {
                    0 => good[..random.Next(good.Length)], // truncated
                    1 => RandomBytes(random, random.Next(0, 40), els),
                    2 => Flip(good, random, els),
                    _ => good,
                };
                var header = Reply(request, els ? RCtl.ElsReply : RCtl.CtReply);
                if (i % 4 == 3)
                {
                    header = header with { RCtl = (byte)random.Next(0x04, 0x22) }; // a good payload in a frame of another kind
                }

                cases++;
                bool taken;
                try
                {
                    taken = services.HandleReply(header, bad);
                }
                catch (Exception ex)
                {
                    Assert.Fail($"step {step} case {i} threw {ex}\npayload: {Convert.ToHexString(bad)}");
                    throw;
                }

                taken.Should().BeFalse($"step {step} case {i}: {Convert.ToHexString(bad)}");
                services.State.Should().Be(state);
            }

            services.HandleReply(Reply(request, els ? RCtl.ElsReply : RCtl.CtReply), good).Should().BeTrue();
        }

        cases.Should().Be(2000);
        services.State.Should().Be(FabricServicesState.Registered);
    }

    // ---- behind a fabric-mode ENode, on the FCF emulator ----

    [Fact]
    public void OnTheEmulatedFabric_TheRegistrationSequenceRuns_AndTheNameServerShowsOurWwpnAsAnFcpTarget()
    {
        var (net, fcf) = Fabric();
        var node = Node(net, MacAddress.Parse("02:00:00:00:0b:02"), OurPortName, OurNodeName, "scst fcoe target");
        var registered = 0;
        node.Services.RegistrationCompleted += () => registered++;

        node.Port.Start();
        net.Run(TimeSpan.FromSeconds(2));

        node.Services.Registered.Should().BeTrue();
        registered.Should().Be(1);
        fcf.FcFrames.Select(f => (f.DestinationId, f.RCtl, f.Type, f.CtCommand, f.ElsCode)).Should().Equal(
            (WellKnownAddress.DirectoryServer, RCtl.ElsRequest, FcType.Els, (ushort)0, ElsCode.Plogi),
            (WellKnownAddress.DirectoryServer, RCtl.CtRequest, FcType.Ct, CtCommand.RftId, (byte)1),
            (WellKnownAddress.DirectoryServer, RCtl.CtRequest, FcType.Ct, CtCommand.RffId, (byte)1),
            (WellKnownAddress.DirectoryServer, RCtl.CtRequest, FcType.Ct, CtCommand.RspnId, (byte)1),
            (WellKnownAddress.FabricController, RCtl.ElsRequest, FcType.Els, (ushort)0, ElsCode.Scr));
        fcf.FcFrames.Should().OnlyContain(f => f.SourceId == OurPortId);
        var entry = fcf.Registry[OurPortId];
        entry.PortName.Should().Be(OurPortName);
        entry.NodeName.Should().Be(OurNodeName);
        entry.LoggedIn.Should().BeTrue();
        entry.HasType(FcType.Fcp).Should().BeTrue();
        entry.FcpFeatures.Should().Be(Fc4FeatureBits.Target);
        entry.SymbolicPortName.Should().Be("scst fcoe target");
        entry.ScrFunction.Should().Be(ScrFunction.Full);
    }

    [Fact]
    public void OnTheEmulatedFabric_CtRejectsAndALostRequest_AreRetried()
    {
        var (net, fcf) = Fabric();
        var node = Node(net, MacAddress.Parse("02:00:00:00:0b:02"), OurPortName, OurNodeName);
        fcf.RejectCtRequests = 2; // RFT_ID refused twice (up at 2 s: RFT_ID at 2.0, 2.5 and 3.0 s)
        fcf.LoseNextCtCommand = CtCommand.RffId; // the first RFF_ID (3.0 s) is lost: sent again at 5.0 s

        node.Port.Start();
        net.Run(TimeSpan.FromMilliseconds(4999));

        node.Services.State.Should().Be(FabricServicesState.RegisteringFeatures);
        net.Run(TimeSpan.FromMilliseconds(1));

        node.Services.Registered.Should().BeTrue();
        fcf.FcFrames.Count(f => f.CtCommand == CtCommand.RftId).Should().Be(3);
        fcf.FcFrames.Count(f => f.CtCommand == CtCommand.RffId).Should().Be(2);
        fcf.Registry[OurPortId].FcpFeatures.Should().Be(Fc4FeatureBits.Target);
    }

    [Fact]
    public void OnTheEmulatedFabric_AnRscnFromTheFabricController_IsAcceptedAndRaised()
    {
        var (net, fcf) = Fabric();
        var node = Node(net, MacAddress.Parse("02:00:00:00:0b:02"), OurPortName, OurNodeName);
        node.Port.Start();
        net.Run(TimeSpan.FromSeconds(2));

        fcf.SendRscn(new RscnPage(RscnAddressFormat.Port, 0x0A0177)).Should().Be(1);
        net.Pump();

        node.Rscns.Should().ContainSingle().Which.Should().Equal(new RscnPage(RscnAddressFormat.Port, 0x0A0177));
        fcf.RscnAccepted.Should().Equal(OurPortId);
    }

    [Fact]
    public void OnTheEmulatedFabric_ThePortGoingDownAndUp_RegistersTheNewPortId()
    {
        var (net, fcf) = Fabric();
        var node = Node(net, MacAddress.Parse("02:00:00:00:0b:02"), OurPortName, OurNodeName);
        node.Port.Start();
        net.Run(TimeSpan.FromMilliseconds(2000));
        node.Services.Registered.Should().BeTrue();

        fcf.ClearVirtualLinks(node.Link.Address);
        net.Pump();
        node.Services.State.Should().Be(FabricServicesState.Stopped);
        net.Run(TimeSpan.FromSeconds(2));

        node.Services.Registered.Should().BeTrue();
        node.Services.PortId.Should().Be(0x0A0102u);
        fcf.Registry.Keys.Should().Equal(0x0A0102u);
        fcf.Registry[0x0A0102].FcpFeatures.Should().Be(Fc4FeatureBits.Target);
    }

    [Fact]
    public void OnTheEmulatedFabric_AnInitiatorFindsTheTargetWithGpnFt_AndLogsInToItThroughTheFcf()
    {
        var (net, fcf) = Fabric();
        var target = Node(net, MacAddress.Parse("02:00:00:00:0b:02"), OurPortName, OurNodeName);
        var initiator = Node(net, MacAddress.Parse("52:54:00:12:34:56"), 0x2000_5254_0012_3456, 0x1000_5254_0012_3456,
            features: Fc4FeatureBits.Initiator);
        target.Port.Start();
        net.Run(TimeSpan.FromMilliseconds(100));
        initiator.Port.Start();
        net.Run(TimeSpan.FromSeconds(2));
        target.Services.Registered.Should().BeTrue();
        initiator.Services.Registered.Should().BeTrue();
        uint initiatorId = initiator.Port.PortId;
        initiatorId.Should().Be(0x0A0102);

        // GPN_FT for FCP from the initiator's port, in an exchange of its own.
        var gpnFt = new byte[CtHeader.Length + NameServer.GpnFtLength];
        CtHeader.NameServerRequest(CtCommand.GpnFt).WriteTo(gpnFt);
        NameServer.WriteGpnFt(gpnFt.AsSpan(CtHeader.Length), FcType.Fcp);
        initiator.SendFc(Request(RCtl.CtRequest, FcType.Ct, WellKnownAddress.DirectoryServer, initiatorId, 0x0010), gpnFt);
        net.Pump();

        var (ctHeader, ctPayload) = initiator.Unclaimed.Should().ContainSingle().Subject;
        (ctHeader.RCtl, ctHeader.SourceId, ctHeader.OxId).Should().Be((RCtl.CtReply, WellKnownAddress.DirectoryServer, (ushort)0x0010));
        CtHeader.TryRead(ctPayload, out var ct).Should().BeTrue();
        ct.CommandResponse.Should().Be(CtCommand.Accept);
        var body = ctPayload.AsSpan(CtHeader.Length);
        NameServer.TryReadGpnFtEntry(body, 0, out uint firstId, out ulong firstName, out bool firstLast).Should().BeTrue();
        (firstId, firstName, firstLast).Should().Be((OurPortId, OurPortName, false));
        NameServer.TryReadGpnFtEntry(body, 1, out uint secondId, out ulong secondName, out bool secondLast).Should().BeTrue();
        (secondId, secondName, secondLast).Should().Be((initiatorId, 0x2000_5254_0012_3456ul, true));
        fcf.Registry[OurPortId].FcpFeatures.Should().Be(Fc4FeatureBits.Target);
        fcf.Registry[initiatorId].FcpFeatures.Should().Be(Fc4FeatureBits.Initiator);

        // GID_FT: the same two ports, ids only.
        initiator.Unclaimed.Clear();
        CtHeader.NameServerRequest(CtCommand.GidFt).WriteTo(gpnFt);
        initiator.SendFc(Request(RCtl.CtRequest, FcType.Ct, WellKnownAddress.DirectoryServer, initiatorId, 0x0013), gpnFt);
        net.Pump();
        var gidFt = initiator.Unclaimed.Should().ContainSingle().Subject.Payload;
        CtHeader.TryRead(gidFt, out ct).Should().BeTrue();
        ct.CommandResponse.Should().Be(CtCommand.Accept);
        gidFt.Should().HaveCount(CtHeader.Length + (2 * NameServer.GidFtEntryLength));
        NameServer.TryReadGidFtEntry(gidFt.AsSpan(CtHeader.Length), 0, out firstId, out firstLast).Should().BeTrue();
        NameServer.TryReadGidFtEntry(gidFt.AsSpan(CtHeader.Length), 1, out secondId, out secondLast).Should().BeTrue();
        (firstId, firstLast, secondId, secondLast).Should().Be((OurPortId, false, initiatorId, true));

        // PLOGI and PRLI to the target, forwarded by D_ID; the target's link service responder answers.
        initiator.Unclaimed.Clear();
        var plogi = new byte[ServiceParameters.Length];
        initiator.Responder!.LocalServiceParameters.WriteTo(plogi, ElsCode.Plogi);
        initiator.SendFc(Request(RCtl.ElsRequest, FcType.Els, OurPortId, initiatorId, 0x0011), plogi);
        net.Pump();
        var prli = new byte[Prli.SinglePageLength];
        Prli.Write(prli, ElsCode.Prli, new PrliPage
        {
            Type = FcType.Fcp, Flags = PrliFlags.EstablishImagePair,
            Parameters = FcpServiceParameters.InitiatorFunction | FcpServiceParameters.ReadTransferReadyDisabled,
        });
        initiator.SendFc(Request(RCtl.ElsRequest, FcType.Els, OurPortId, initiatorId, 0x0012), prli);
        net.Pump();

        initiator.Unclaimed.Should().HaveCount(2);
        var (plogiReply, plogiAccept) = initiator.Unclaimed[0];
        (plogiReply.RCtl, plogiReply.SourceId, plogiReply.DestinationId, plogiReply.OxId).Should()
            .Be((RCtl.ElsReply, OurPortId, initiatorId, (ushort)0x0011));
        plogiAccept[0].Should().Be(ElsCode.LsAcc);
        ServiceParameters.TryRead(plogiAccept, out var targetParameters).Should().BeTrue();
        targetParameters.PortName.Should().Be(OurPortName);
        initiator.Unclaimed[1].Payload[0].Should().Be(ElsCode.LsAcc);
        target.LinkEvents.Established.Should().ContainSingle().Which.PortName.Should().Be(0x2000_5254_0012_3456);
        fcf.Forwarded.Should().Be(4, "PLOGI, its accept, PRLI, its accept");
        var forwarded = net.Trace.Where(f => f.Source == s_fcfMac && f.Destination == target.Port.PortMac
            && FcoeFrame.TryRead(f.Data, out var v) == FcoeReadResult.Success && v.Header.SourceId == initiatorId).ToList();
        forwarded.Should().HaveCount(2, "the FCF sends what it forwards from its own MAC to the target's FPMA");
    }

    // ---- helpers ----

    private FabricServices Services(string? symbolicName = null, ushort firstExchangeId = 0x8000, int exchangeIdCount = 0x100)
    {
        var services = new FabricServices(new FabricServicesOptions
        {
            ServiceParameters = LocalParameters(), SymbolicPortName = symbolicName, FirstExchangeId = firstExchangeId,
            ExchangeIdCount = exchangeIdCount,
        }, (in FcFrameHeader header, ReadOnlySpan<byte> payload) => _sent.Add((header, payload.ToArray(), _time.GetUtcNow())), _time);
        services.RegistrationCompleted += () => _events.Add("registered");
        services.RegistrationFailed += step => _events.Add($"failed {step}");
        _owned.Add(services);
        return services;
    }

    private static ServiceParameters LocalParameters() =>
        new LinkServiceResponder(new LocalPortIdentity(OurPortName, OurNodeName, OurPortId, 2112), true, new RemotePortTable(),
            new RecordingLinkServiceEvents()).LocalServiceParameters;

    private (FcFrameHeader Header, byte[] Payload, DateTimeOffset At) Last() => _sent[^1];

    private void AcceptPlogi(FabricServices services) =>
        services.HandleReply(Reply(Last().Header, RCtl.ElsReply), PlogiAccept()).Should().BeTrue();

    private void AcceptCt(FabricServices services) =>
        services.HandleReply(Reply(Last().Header, RCtl.CtReply), CtResponse(CtCommand.Accept, 0)).Should().BeTrue();

    private static FcFrameHeader Reply(in FcFrameHeader request, byte rCtl) => request.ToReply(rCtl, FCtl.LastReply, 0x0123);

    private static byte[] PlogiAccept()
    {
        var payload = new byte[ServiceParameters.Length];
        new ServiceParameters { PortName = 0x2001_000D_ECAA_BB02, NodeName = 0x1001_000D_ECAA_BB00, ReceiveDataFieldSize = 2112 }
            .WriteTo(payload, ElsCode.LsAcc);
        return payload;
    }

    private static byte[] CtResponse(ushort code, byte reason)
    {
        var payload = new byte[CtHeader.Length];
        new CtHeader
        {
            Revision = CtHeader.CurrentRevision, GsType = CtServiceType.DirectoryService, GsSubtype = CtServiceType.NameServer,
            CommandResponse = code, Reason = reason,
        }.WriteTo(payload);
        return payload;
    }

    private static void AssertCtRequest(in FcFrameHeader header, byte[] payload, ushort command, ushort oxId)
    {
        header.Should().Be(new FcFrameHeader
        {
            RCtl = RCtl.CtRequest, DestinationId = WellKnownAddress.DirectoryServer, SourceId = OurPortId, Type = FcType.Ct,
            FCtl = FCtl.Request, OxId = oxId, RxId = FcFrameHeader.UnassignedExchangeId,
        });
        CtHeader.TryRead(payload, out var ct).Should().BeTrue();
        ct.Should().Be(CtHeader.NameServerRequest(command));
    }

    private static FcFrameHeader Request(byte rCtl, byte type, uint destination, uint source, ushort oxId) => new()
    {
        RCtl = rCtl, DestinationId = destination, SourceId = source, Type = type, FCtl = FCtl.Request, OxId = oxId,
        RxId = FcFrameHeader.UnassignedExchangeId,
    };

    // Random bytes; for an ELS reply, never starting with LS_RJT or LS_ACC (a longer accept of SCR is still an accept).
    private static byte[] RandomBytes(Random random, int length, bool els)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        if (els && length > 0 && bytes[0] is ElsCode.LsRjt or ElsCode.LsAcc)
        {
            bytes[0] = ElsCode.Plogi;
        }

        return bytes;
    }

    // One to three changed bytes in a field that decides (the ELS code; the CT revision, types and command), so the
    // payload is no longer an accept or a reject.
    private static byte[] Flip(byte[] good, Random random, bool els)
    {
        var bad = (byte[])good.Clone();
        if (els)
        {
            bad[0] = (byte)random.Next(0x03, 0x100);
            return bad;
        }

        switch (random.Next(3))
        {
            case 0:
                bad[4] = (byte)random.Next(0, 0xFC);
                break;
            case 1:
                bad[5] = (byte)random.Next(3, 0x100);
                break;
            default:
                bad[8] = (byte)random.Next(0, 0x80);
                break;
        }

        return bad;
    }

    private void Step(TimeSpan duration) => FipVn2VnControllerTests.Step(_time, duration);

    private (InMemoryEthernet Net, FcfEmulator Fcf) Fabric()
    {
        var net = new InMemoryEthernet(_time);
        var fcf = new FcfEmulator(net, new FcfEmulatorOptions { Mac = s_fcfMac });
        _owned.Add(fcf);
        fcf.Start();
        return (net, fcf);
    }

    private FabricNode Node(InMemoryEthernet net, MacAddress enode, ulong portName, ulong nodeName, string? symbolicName = null,
        byte features = Fc4FeatureBits.Target)
    {
        var node = new FabricNode(net, enode, portName, new FabricOptions { NodeName = nodeName }, symbolicName, features: features);
        _owned.Add(node);
        return node;
    }
}
