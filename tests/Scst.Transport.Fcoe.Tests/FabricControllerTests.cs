// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Time.Testing;
using Scst.Transport.Fcoe.Fip;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// The fabric-mode controller (FC-BB-5) against the FCF emulator on an in-memory segment, under a fake clock: every frame
/// it sends is decoded with the Protocol readers and checked field by field; times are those at which the segment
/// carried each frame.
/// </summary>
public sealed class FabricControllerTests : IDisposable
{
    private const ulong OurPortName = 0x2000_0200_0000_0b02;
    private const ulong OurNodeName = 0x1000_0200_0000_0b02;

    private static readonly MacAddress s_enode = MacAddress.Parse("02:00:00:00:0b:02");
    private static readonly MacAddress s_fcfA = MacAddress.Parse("00:0d:ec:aa:00:0a");
    private static readonly MacAddress s_fcfB = MacAddress.Parse("00:0d:ec:bb:00:0b");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly InMemoryEthernet _net;
    private readonly List<IDisposable> _owned = [];

    public FabricControllerTests() => _net = new InMemoryEthernet(_time);

    public void Dispose()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
    }

    [Fact]
    public void Start_JoinsAllENodeMacs_AndSolicitsAllFcfMacs_WithOurMacNameAndMaxFcoeSize()
    {
        var node = Node();

        node.Port.Start();

        node.Link.MulticastGroups.Should().Equal(MacAddress.AllENodeMacs);
        node.Controller.State.Should().Be(FabricState.Soliciting);
        var sent = Ours(node);
        sent.Should().ContainSingle();
        FipFrame.TryRead(sent[0].Data, out var frame).Should().Be(FipReadResult.Success);
        frame.Destination.Should().Be(MacAddress.AllFcfMacs);
        frame.Source.Should().Be(s_enode);
        frame.VlanTag.Should().BeNull();
        frame.Header.Should().Be(FipHeader.For(FipMessage.DiscoverySolicitation, FipFlags.Fpma, 6));
        var reader = frame.GetDescriptorReader();
        reader.TryReadNext(out var d).Should().BeTrue();
        d.TryReadMacAddress(out var mac).Should().BeTrue();
        mac.Should().Be(s_enode);
        reader.TryReadNext(out d).Should().BeTrue();
        d.TryReadName(out ulong name).Should().BeTrue();
        name.Should().Be(OurNodeName);
        reader.TryReadNext(out d).Should().BeTrue();
        d.TryReadMaxFcoeSize(out ushort size).Should().BeTrue();
        size.Should().Be(2158, "the link MTU (9000) is more than the largest FCoE frame needs");
        reader.TryReadNext(out _).Should().BeFalse();
    }

    [Fact]
    public void Discovery_SendsTheFlogiToTheFcf2sLater_AndTheGrantBringsThePortUpWithTheFpma()
    {
        var fcf = Fcf(s_fcfA);
        var node = Node();
        var t0 = _time.GetUtcNow();

        node.Port.Start();
        _net.Run(TimeSpan.FromMilliseconds(1999));
        node.Controller.State.Should().Be(FabricState.Soliciting);
        fcf.Flogis.Should().BeEmpty();
        _net.Run(TimeSpan.FromMilliseconds(1));

        var flogi = Ours(node).Single(f => Message(f) == FipMessage.LinkServiceRequest);
        flogi.At.Should().Be(t0 + TimeSpan.FromSeconds(2));
        FipFrame.TryRead(flogi.Data, out var frame).Should().Be(FipReadResult.Success);
        frame.Destination.Should().Be(s_fcfA);
        frame.Source.Should().Be(s_enode);
        frame.Header.Flags.Should().Be(FipFlags.Fpma);
        var reader = frame.GetDescriptorReader();
        reader.TryReadNext(out var d).Should().BeTrue();
        d.Type.Should().Be(FipDescriptorType.Flogi);
        d.TryReadEncapsulatedEls(out var header, out var els).Should().BeTrue();
        header.RCtl.Should().Be(RCtl.ElsRequest);
        header.DestinationId.Should().Be(WellKnownAddress.FabricLogin);
        header.SourceId.Should().Be(0u);
        header.Type.Should().Be(FcType.Els);
        header.FCtl.Should().Be(FCtl.Request);
        header.RxId.Should().Be(FcFrameHeader.UnassignedExchangeId);
        els[0].Should().Be(ElsCode.Flogi);
        ServiceParameters.TryRead(els, out var parameters).Should().BeTrue();
        parameters.PortName.Should().Be(OurPortName);
        parameters.NodeName.Should().Be(OurNodeName);
        parameters.MaxPayload.Should().Be(2112);
        parameters.Class3ReceiveDataFieldSize.Should().Be(2112);
        parameters.CommonFeatures.Should().Be(CommonFeatures.MultipleNPortIdSupport, "an N_Port (F_Port bit clear) that asks for NPIV");
        parameters.Class3ServiceOptions.Should().Be(ClassServiceOptions.Valid | ClassServiceOptions.SequentialDelivery);
        reader.TryReadNext(out d).Should().BeTrue();
        d.TryReadMacAddress(out var askedMac).Should().BeTrue();
        askedMac.IsZero.Should().BeTrue("an FPMA is asked for, so the FCF fills the MAC in");
        reader.TryReadNext(out _).Should().BeFalse();

        uint portId = 0x0A0101;
        var fpma = MacAddress.FromFpma(MacAddress.DefaultFcMap, portId);
        fpma.ToString().Should().Be("0e:fc:00:0a:01:01");
        node.Events.Should().Equal($"up 0a0101 {fpma} via {s_fcfA}");
        node.Controller.State.Should().Be(FabricState.Up);
        node.Port.PortId.Should().Be(portId);
        node.Port.PortMac.Should().Be(fpma);
        node.Controller.FcfMac.Should().Be(s_fcfA);
        node.Link.UnicastAddresses.Should().Equal(fpma);
        node.Port.FabricParameters!.Value.CommonFeatures.Should().Be(CommonFeatures.FPort | CommonFeatures.MultipleNPortIdAssignment);
        node.Controller.MultipleIdsGranted.Should().BeTrue();
        node.Port.LoggedInByFdisc.Should().BeFalse();
        node.Port.FabricParameters!.Value.ErrorDetectTimeout.Should().Be(2000);
        fcf.Logins.Should().ContainKey(portId).WhoseValue.Should().Be(new FabricLogin(portId, OurPortName, OurNodeName, s_enode, fpma, 2158));
    }

    [Fact]
    public void TwoFcfs_TheLowerPriorityValueWins_AndAnUnavailableFcfIsNeverChosen()
    {
        var worse = Fcf(s_fcfA, priority: 200);
        var better = Fcf(s_fcfB, priority: 10);
        var best = Fcf(MacAddress.Parse("00:0d:ec:cc:00:0c"), priority: 1, available: false);
        var node = Node();

        node.Port.Start();
        _net.Run(TimeSpan.FromSeconds(3));

        node.Controller.FcfMac.Should().Be(s_fcfB);
        better.Flogis.Should().ContainSingle().Which.Accepted.Should().BeTrue();
        worse.Flogis.Should().BeEmpty();
        best.Flogis.Should().BeEmpty();
        node.Controller.Fcfs.Select(f => (f.Mac, f.Priority, f.Available, f.Solicited)).Should().BeEquivalentTo(new[]
        {
            (s_fcfA, (byte)200, true, true), (s_fcfB, (byte)10, true, true), (best.Mac, (byte)1, false, true),
        });
    }

    [Fact]
    public void EqualPriorities_PreferTheDefaultFcMap_ThenTheLowerFabricName()
    {
        var otherMap = Fcf(s_fcfA, fcMap: 0x0EFC10, fabricName: 0x1000_0000_0000_0001);
        var higherName = Fcf(s_fcfB, fabricName: 0x1000_0000_0000_0003);
        var lowerName = Fcf(MacAddress.Parse("00:0d:ec:cc:00:0c"), fabricName: 0x1000_0000_0000_0002);
        var node = Node();

        node.Port.Start();
        _net.Run(TimeSpan.FromSeconds(3));

        node.Controller.FcfMac.Should().Be(lowerName.Mac);
        otherMap.Flogis.Should().BeEmpty();
        higherName.Flogis.Should().BeEmpty();
    }

    [Fact]
    public void ConfiguredFcMap_MakesOnlyThoseFcfsEligible_AndTheFpmaCarriesIt()
    {
        Fcf(s_fcfA, priority: 1);
        Fcf(s_fcfB, priority: 100, fcMap: 0x0EFC10);
        var node = Node(new FabricOptions { NodeName = OurNodeName, FcMap = 0x0EFC10 });

        node.Port.Start();
        _net.Run(TimeSpan.FromSeconds(3));

        node.Controller.FcfMac.Should().Be(s_fcfB);
        node.Port.PortMac.Should().Be(MacAddress.FromFpma(0x0EFC10, 0x0A0101));
    }

    [Fact]
    public void AnFcfHeardOnlyInAMulticastAdvertisement_GetsAUnicastSolicitation_AndIsEligibleOnceItAnswers()
    {
        var node = Node();
        node.Port.Start(); // nobody hears this solicitation
        _net.Run(TimeSpan.FromMilliseconds(500));
        var fcf = Fcf(s_fcfA); // its first multicast advertisement goes out now

        _net.Run(TimeSpan.Zero);

        var solicitations = fcf.FipFrames.Where(f => f.Message == FipMessage.DiscoverySolicitation).ToList();
        solicitations.Should().ContainSingle();
        solicitations[0].Destination.Should().Be(s_fcfA);
        solicitations[0].Source.Should().Be(s_enode);
        node.Controller.Fcfs.Should().ContainSingle().Which.Solicited.Should().BeTrue();
        _net.Run(TimeSpan.FromMilliseconds(1500));
        node.Controller.State.Should().Be(FabricState.Up, "the selection 2 s after the solicitation finds it eligible");
    }

    [Fact]
    public void NoFcf_RepeatsTheSolicitationEvery2s_UntilOneAnswers()
    {
        var node = Node();
        var t0 = _time.GetUtcNow();

        node.Port.Start();
        _net.Run(TimeSpan.FromMilliseconds(6500));

        Ours(node).Select(f => (f.At - t0, Message(f))).Should().Equal(
            (TimeSpan.Zero, FipMessage.DiscoverySolicitation), (TimeSpan.FromSeconds(2), FipMessage.DiscoverySolicitation),
            (TimeSpan.FromSeconds(4), FipMessage.DiscoverySolicitation), (TimeSpan.FromSeconds(6), FipMessage.DiscoverySolicitation));
        Fcf(s_fcfA);
        _net.Run(TimeSpan.FromSeconds(2));
        node.Controller.State.Should().Be(FabricState.Up);
    }

    [Fact]
    public void Up_SendsENodeKeepAlivesEveryFkaPeriod_AndVnPortKeepAlivesEvery90s()
    {
        var fcf = Fcf(s_fcfA);
        var node = BringUp(fcf);
        var up = _time.GetUtcNow();
        var fpma = node.Port.PortMac;

        _net.Run(TimeSpan.FromSeconds(100));

        var enodeKeepAlives = fcf.KeepAlives.Where(k => k.VnPort is null).ToList();
        enodeKeepAlives.Select(k => k.At - up).Should().Equal(Enumerable.Range(1, 12).Select(i => TimeSpan.FromSeconds(8 * i)));
        enodeKeepAlives.Should().OnlyContain(k => k.Source == s_enode && k.ENodeMac == s_enode);
        var vnKeepAlives = fcf.KeepAlives.Where(k => k.VnPort is not null).ToList();
        vnKeepAlives.Should().ContainSingle();
        vnKeepAlives[0].At.Should().Be(up + TimeSpan.FromSeconds(90));
        vnKeepAlives[0].Source.Should().Be(fpma);
        vnKeepAlives[0].ENodeMac.Should().Be(s_enode);
        vnKeepAlives[0].VnPort.Should().Be(new VnPortIdentity(fpma, 0x0A0101, OurPortName));
        var frames = Ours(node).Where(f => Message(f) == FipMessage.KeepAlive).ToList();
        frames.Should().HaveCount(13);
        FipFrame.TryRead(frames[0].Data, out var first).Should().Be(FipReadResult.Success);
        first.Header.Should().Be(FipHeader.For(FipMessage.KeepAlive, 0, 2));
        first.Destination.Should().Be(s_fcfA);
        node.Controller.State.Should().Be(FabricState.Up, "the FCF's advertisements keep the link");
    }

    [Fact]
    public void KeepAlivePeriod_ComesFromTheFcfsAdvertisement()
    {
        var fcf = Fcf(s_fcfA, periodMs: 2000);
        var node = BringUp(fcf);
        var up = _time.GetUtcNow();

        _net.Run(TimeSpan.FromMilliseconds(10_500));

        fcf.KeepAlives.Where(k => k.VnPort is null).Select(k => k.At - up).Should()
            .Equal(Enumerable.Range(1, 5).Select(i => TimeSpan.FromSeconds(2 * i)));
        node.Controller.Fcfs.Single().KeepAlivePeriod.Should().Be(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public void DFlag_StopsBothKeepAlives_ButTheAdvertisementsStillKeepTheLink()
    {
        var fcf = Fcf(s_fcfA, noKeepAlives: true);
        var node = BringUp(fcf);

        _net.Run(TimeSpan.FromSeconds(100));

        fcf.KeepAlives.Should().BeEmpty();
        node.Controller.State.Should().Be(FabricState.Up);
        node.Events.Should().ContainSingle();
    }

    [Fact]
    public void FcfSilentFor2AndAHalfPeriods_TakesThePortDown_RemovesTheFpma_AndDiscoveryStartsOver()
    {
        var fcf = Fcf(s_fcfA);
        var node = BringUp(fcf);
        var fpma = node.Port.PortMac;
        _net.Run(TimeSpan.FromSeconds(5));
        fcf.Silent = true;
        var lastAdvertisement = _net.Trace.Last(f => f.Source == s_fcfA && Message(f) == FipMessage.DiscoveryAdvertisement).At;

        _net.RunUntil(() => node.Events.Count == 2, TimeSpan.FromSeconds(30)).Should().BeTrue();

        _time.GetUtcNow().Should().Be(lastAdvertisement + TimeSpan.FromSeconds(20));
        node.Events[1].Should().Be("down 0a0101");
        node.Link.UnicastAddresses.Should().BeEmpty();
        node.Controller.State.Should().Be(FabricState.Soliciting);
        node.Port.PortId.Should().Be(0u);
        node.Controller.Fcfs.Should().BeEmpty("the lost FCF is forgotten");
        var solicitation = Ours(node).Last();
        Message(solicitation).Should().Be(FipMessage.DiscoverySolicitation);
        solicitation.At.Should().Be(_time.GetUtcNow());
        solicitation.Destination.Should().Be(MacAddress.AllFcfMacs);

        fcf.Silent = false;
        _net.RunUntil(() => node.Events.Count == 3, TimeSpan.FromSeconds(10)).Should().BeTrue();
        node.Events[2].Should().Be($"up 0a0102 {MacAddress.FromFpma(MacAddress.DefaultFcMap, 0x0A0102)} via {s_fcfA}");
        fpma.Should().NotBe(node.Port.PortMac);
    }

    [Fact]
    public void ClearVirtualLinks_NamingOurVnPort_TakesThePortDown_AndItLogsInAgain()
    {
        var fcf = Fcf(s_fcfA);
        var node = BringUp(fcf);
        var fpma = node.Port.PortMac;

        fcf.ClearVirtualLinks(s_enode, new VnPortIdentity(fpma, 0x0A0101, OurPortName));
        _net.Pump();

        node.Events.Should().HaveCount(2).And.EndWith("down 0a0101");
        node.Link.UnicastAddresses.Should().BeEmpty();
        node.Controller.State.Should().Be(FabricState.Soliciting);
        _net.Run(TimeSpan.FromSeconds(2));
        node.Controller.State.Should().Be(FabricState.Up);
        node.Port.PortId.Should().Be(0x0A0102u);
    }

    [Fact]
    public void ClearVirtualLinks_WithNoVnPortDescriptor_ClearsTheENode()
    {
        var fcf = Fcf(s_fcfA);
        var node = BringUp(fcf);

        fcf.ClearVirtualLinks(s_enode);
        _net.Pump();

        node.Events.Should().EndWith("down 0a0101");
        node.Controller.State.Should().Be(FabricState.Soliciting);
    }

    [Fact]
    public void ClearVirtualLinks_NamingAnotherVnPort_OrFromAnotherFcf_OrWithTheWrongName_LeavesThePortUp()
    {
        var fcf = Fcf(s_fcfA);
        var node = BringUp(fcf);
        var fpma = node.Port.PortMac;
        var buffer = new byte[200];

        var other = new VnPortIdentity(MacAddress.FromFpma(MacAddress.DefaultFcMap, 0x0A0177), 0x0A0177, OurPortName + 1);
        int length = FipFrame.WriteClearVirtualLinks(buffer, s_enode, s_fcfA, null, fcf.Options.SwitchName, [other]);
        node.Controller.HandleFip(buffer.AsSpan(0, length)).Should().BeTrue("a CVL of our FCF, for another port");

        var samePortOtherName = new VnPortIdentity(fpma, 0x0A0101, OurPortName + 1);
        length = FipFrame.WriteClearVirtualLinks(buffer, s_enode, s_fcfA, null, fcf.Options.SwitchName, [samePortOtherName]);
        node.Controller.HandleFip(buffer.AsSpan(0, length)).Should().BeTrue();

        length = FipFrame.WriteClearVirtualLinks(buffer, s_enode, s_fcfB, null, fcf.Options.SwitchName, []);
        node.Controller.HandleFip(buffer.AsSpan(0, length)).Should().BeFalse("not from our FCF");

        length = FipFrame.WriteClearVirtualLinks(buffer, s_enode, s_fcfA, null, fcf.Options.SwitchName + 5, []);
        node.Controller.HandleFip(buffer.AsSpan(0, length)).Should().BeFalse("not our FCF's switch name");

        length = FipFrame.WriteClearVirtualLinks(buffer, MacAddress.Parse("02:00:00:00:0b:03"), s_fcfA, null, fcf.Options.SwitchName, []);
        node.Controller.HandleFip(buffer.AsSpan(0, length)).Should().BeFalse("for another ENode");

        node.Controller.State.Should().Be(FabricState.Up);
        node.Events.Should().ContainSingle();
        node.Link.UnicastAddresses.Should().Equal(fpma);
    }

    [Fact]
    public void FlogiRejected_IsTriedOnceMore_ThenTheNextFcfIsTried()
    {
        var preferred = Fcf(s_fcfA, priority: 1);
        var next = Fcf(s_fcfB, priority: 2);
        preferred.RejectFlogis = 5;
        var node = Node();
        var t0 = _time.GetUtcNow();

        node.Port.Start();
        _net.Run(TimeSpan.FromSeconds(3));

        preferred.Flogis.Should().HaveCount(2).And.OnlyContain(f => !f.Accepted && f.At == t0 + TimeSpan.FromSeconds(2));
        next.Flogis.Should().ContainSingle().Which.Should().Be((t0 + TimeSpan.FromSeconds(2), s_enode, true));
        node.Controller.FcfMac.Should().Be(s_fcfB);
        node.Events.Should().Equal($"up 0a0101 {MacAddress.FromFpma(MacAddress.DefaultFcMap, 0x0A0101)} via {s_fcfB}");
    }

    [Fact]
    public void FlogiUnanswered_IsSentAgainAfter2s_WithANewOxId()
    {
        var fcf = Fcf(s_fcfA);
        fcf.IgnoreFlogis = 1;
        var node = Node();
        var t0 = _time.GetUtcNow();

        node.Port.Start();
        _net.Run(TimeSpan.FromMilliseconds(3999));
        node.Controller.State.Should().Be(FabricState.LoggingIn);
        _net.Run(TimeSpan.FromMilliseconds(1));

        var flogis = Ours(node).Where(f => Message(f) == FipMessage.LinkServiceRequest).ToList();
        flogis.Select(f => f.At - t0).Should().Equal(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4));
        OxIdOf(flogis[0]).Should().NotBe(OxIdOf(flogis[1]));
        node.Controller.State.Should().Be(FabricState.Up);
    }

    [Fact]
    public void EveryFcfRejecting_StartsTheDiscoveryOver()
    {
        var fcf = Fcf(s_fcfA);
        fcf.RejectFlogis = 2;
        var node = Node();
        var t0 = _time.GetUtcNow();

        node.Port.Start();
        _net.Run(TimeSpan.FromSeconds(5));

        Ours(node).Select(f => (f.At - t0, Message(f))).Should().Equal(
            (TimeSpan.Zero, FipMessage.DiscoverySolicitation),
            (TimeSpan.FromSeconds(2), FipMessage.LinkServiceRequest), (TimeSpan.FromSeconds(2), FipMessage.LinkServiceRequest),
            (TimeSpan.FromSeconds(2), FipMessage.DiscoverySolicitation),
            (TimeSpan.FromSeconds(4), FipMessage.LinkServiceRequest));
        node.Controller.State.Should().Be(FabricState.Up);
    }

    [Fact]
    public void Stop_SendsALogoInsideFip_RemovesTheFpma_AndRaisesNoPortDown()
    {
        var fcf = Fcf(s_fcfA);
        var node = BringUp(fcf);
        var fpma = node.Port.PortMac;

        node.Port.Stop();
        _net.Pump();

        node.Controller.State.Should().Be(FabricState.Stopped);
        node.Link.UnicastAddresses.Should().BeEmpty();
        node.Events.Should().ContainSingle();
        fcf.Logouts.Should().ContainSingle().Which.Should().Match<(DateTimeOffset, uint PortId, ulong PortName)>(
            l => l.PortId == 0x0A0101 && l.PortName == OurPortName);
        fcf.Logins.Should().BeEmpty();
        var logo = Ours(node).Last();
        FipFrame.TryRead(logo.Data, out var frame).Should().Be(FipReadResult.Success);
        frame.Header.Message.Should().Be(FipMessage.LinkServiceRequest);
        frame.Destination.Should().Be(s_fcfA);
        frame.Source.Should().Be(s_enode);
        var reader = frame.GetDescriptorReader();
        reader.TryReadNext(out var d).Should().BeTrue();
        d.Type.Should().Be(FipDescriptorType.Logo);
        d.TryReadEncapsulatedEls(out var header, out var els).Should().BeTrue();
        (header.RCtl, header.DestinationId, header.SourceId, header.Type, header.FCtl).Should()
            .Be((RCtl.ElsRequest, WellKnownAddress.FabricLogin, 0x0A0101u, FcType.Els, FCtl.Request));
        els[0].Should().Be(ElsCode.Logo);
        LogoPayload.TryRead(els, out var payload).Should().BeTrue();
        payload.Should().Be(new LogoPayload(0x0A0101, OurPortName));
        reader.TryReadNext(out d).Should().BeTrue();
        d.TryReadMacAddress(out var mac).Should().BeTrue();
        mac.Should().Be(fpma);

        _net.Run(TimeSpan.FromSeconds(30));
        Ours(node).Last().Should().BeSameAs(logo, "a stopped controller sends nothing more");
        node.Controller.HandleFip(_net.Trace.Last(f => f.Source == s_fcfA).Data).Should().BeFalse();
    }

    [Fact]
    public void VlanDiscovery_AsksUntagged_ThenDiscoversAndLogsInOnTheNotifiedVlan()
    {
        var fcf = Fcf(s_fcfA, vlanId: 1002);
        var node = Node(new FabricOptions { NodeName = OurNodeName, VlanDiscovery = true, VlanTag = 0x6000 });

        node.Port.Start();
        _net.Run(TimeSpan.FromSeconds(3));

        var sent = Ours(node);
        Message(sent[0]).Should().Be(FipMessage.VlanRequest);
        FipFrame.TryRead(sent[0].Data, out var request).Should().Be(FipReadResult.Success);
        request.VlanTag.Should().BeNull();
        request.Destination.Should().Be(MacAddress.AllFcfMacs);
        request.Header.Should().Be(FipHeader.For(FipMessage.VlanRequest, 0, 2));
        FipFrame.TryRead(sent[1].Data, out var solicitation).Should().Be(FipReadResult.Success);
        solicitation.Header.Message.Should().Be(FipMessage.DiscoverySolicitation);
        solicitation.VlanTag.Should().Be(0x6000 | 1002, "the priority bits of the configured tag stay");
        node.Controller.VlanTag.Should().Be((ushort)(0x6000 | 1002));
        node.Controller.State.Should().Be(FabricState.Up);
        sent.Skip(1).Should().OnlyContain(f => TagOf(f) == (0x6000 | 1002));
    }

    [Fact]
    public void VlanDiscovery_WithoutAnAnswer_AsksThreeTimes_ThenGoesOnWithTheConfiguredVlan()
    {
        Fcf(s_fcfA); // untagged, sends no VLAN notification
        var node = Node(new FabricOptions { NodeName = OurNodeName, VlanDiscovery = true });
        var t0 = _time.GetUtcNow();

        node.Port.Start();
        _net.Run(TimeSpan.FromSeconds(6));

        Ours(node).Take(4).Select(f => (f.At - t0, Message(f))).Should().Equal(
            (TimeSpan.Zero, FipMessage.VlanRequest), (TimeSpan.FromSeconds(1), FipMessage.VlanRequest),
            (TimeSpan.FromSeconds(2), FipMessage.VlanRequest), (TimeSpan.FromSeconds(3), FipMessage.DiscoverySolicitation));
        node.Controller.VlanTag.Should().BeNull();
        node.Controller.State.Should().Be(FabricState.Up);
    }

    [Fact]
    public void FramesOnAnotherVlan_AreNotOurs()
    {
        Fcf(s_fcfA, vlanId: 1002);
        var node = Node(); // untagged: never hears the FCF

        node.Port.Start();
        _net.Run(TimeSpan.FromSeconds(5));

        node.Controller.State.Should().Be(FabricState.Soliciting);
        node.Controller.Fcfs.Should().BeEmpty();
    }

    [Fact]
    public void MalformedFipFrames_AreIgnoredWithoutExceptions_AndTheControllerCarriesOn()
    {
        var fcf = Fcf(s_fcfA);
        var node = BringUp(fcf);
        // Every FIP frame kind the controller reads, as our FCF would send it to us.
        var buffer = new byte[FcoeFrame.MaxFrameLength];
        var samples = new List<byte[]>
        {
            _net.Trace.First(f => f.Source == s_fcfA && Message(f) == FipMessage.DiscoveryAdvertisement && f.Destination == s_enode).Data,
            _net.Trace.Last(f => f.Source == s_fcfA && Message(f) == FipMessage.DiscoveryAdvertisement).Data,
            _net.Trace.First(f => f.Source == s_fcfA && Message(f) == FipMessage.LinkServiceReply).Data,
            buffer.AsSpan(0, FipFrame.WriteClearVirtualLinks(buffer, s_enode, s_fcfA, null, fcf.Options.SwitchName,
                [new VnPortIdentity(node.Port.PortMac, 0x0A0101, OurPortName)])).ToArray(),
            buffer.AsSpan(0, FipFrame.WriteVlanNotification(buffer, s_enode, s_fcfA, [1002])).ToArray(),
        };
        var random = new Random(0x8914);
        int cases = 0, handled = 0;

        foreach (var sample in samples)
        {
            for (int cut = 0; cut < sample.Length; cut++)
            {
                cases++;
                handled += Feed(node, sample.AsSpan(0, cut)) ? 1 : 0;
            }

            for (int i = 0; i < 300; i++)
            {
                var mutated = (byte[])sample.Clone();
                for (int n = random.Next(1, 4); n > 0; n--)
                {
                    mutated[14 + random.Next(mutated.Length - 14)] = (byte)random.Next(256); // keep the Ethernet header
                }

                cases++;
                handled += Feed(node, mutated) ? 1 : 0;
            }
        }

        for (int i = 0; i < 300; i++)
        {
            var noise = new byte[random.Next(0, 120)];
            random.NextBytes(noise);
            if (noise.Length >= 14)
            {
                s_enode.WriteTo(noise);
                noise[12] = 0x89;
                noise[13] = 0x14;
            }

            cases++;
            handled += Feed(node, noise) ? 1 : 0;
        }

        cases.Should().BeGreaterThan(1800);
        handled.Should().BeGreaterThan(0, "some mutations still read as good frames (a changed priority, say)");
        _net.Run(TimeSpan.FromSeconds(60));
        node.Controller.State.Should().Be(FabricState.Up, "whatever the noise did, the controller comes back up with the FCF");
    }

    [Fact]
    public void Start_Twice_Throws_AndATooSmallMaxFcoeSizeIsRefused()
    {
        var node = Node();
        node.Port.Start();

        var again = () => node.Port.Start();
        again.Should().Throw<InvalidOperationException>();
        var tiny = () => new FabricController(node.Link, new FabricOptions { NodeName = 2, MaxFcoeSize = 200 }, _time);
        tiny.Should().Throw<ArgumentOutOfRangeException>();
    }

    private static bool Feed(FabricNode node, ReadOnlySpan<byte> frame)
    {
        try
        {
            return node.Controller.HandleFip(frame);
        }
        catch (Exception ex)
        {
            Assert.Fail($"HandleFip threw {ex}\nbytes: {Convert.ToHexString(frame)}");
            return false;
        }
    }

    private FcfEmulator Fcf(MacAddress mac, byte priority = 128, bool available = true, uint fcMap = MacAddress.DefaultFcMap,
        ulong fabricName = 0x1001_000D_ECAA_BB00, uint periodMs = 8000, bool noKeepAlives = false, ushort? vlanId = null)
    {
        var fcf = new FcfEmulator(_net, new FcfEmulatorOptions
        {
            Mac = mac, Priority = priority, Available = available, FcMap = fcMap, FabricName = fabricName, KeepAlivePeriodMilliseconds = periodMs,
            NoKeepAlivesExpected = noKeepAlives, VlanId = vlanId, SwitchName = 0x2000_0000_0000_0000 | mac.ToUInt64(),
        });
        _owned.Add(fcf);
        fcf.Start();
        return fcf;
    }

    private FabricNode Node(FabricOptions? options = null)
    {
        var node = new FabricNode(_net, s_enode, OurPortName, options ?? new FabricOptions { NodeName = OurNodeName },
            registerWithFabric: false);
        _owned.Add(node);
        return node;
    }

    private FabricNode BringUp(FcfEmulator fcf)
    {
        var node = Node();
        node.Port.Start();
        _net.Run(TimeSpan.FromSeconds(2));
        node.Controller.State.Should().Be(FabricState.Up);
        node.Controller.FcfMac.Should().Be(fcf.Mac);
        return node;
    }

    // What our ENode sent: from the ENode MAC or from the FPMA.
    private List<SentFrame> Ours(FabricNode node) =>
        _net.Trace.Where(f => f.Source == s_enode || f.Source.Prefix == MacAddress.DefaultFcMap || f.Source.Prefix == 0x0EFC10).ToList();

    private static FipMessage Message(SentFrame frame) =>
        FipFrame.TryRead(frame.Data, out var view) == FipReadResult.Success ? view.Header.Message : 0;

    private static ushort? TagOf(SentFrame frame) =>
        Ethernet.TryReadHeader(frame.Data, out _, out var tag, out _) ? tag : null;

    private static ushort OxIdOf(SentFrame frame)
    {
        FipFrame.TryRead(frame.Data, out var view).Should().Be(FipReadResult.Success);
        var reader = view.GetDescriptorReader();
        reader.TryReadNext(out var d).Should().BeTrue();
        d.TryReadEncapsulatedEls(out var header, out _).Should().BeTrue();
        return header.OxId;
    }
}
