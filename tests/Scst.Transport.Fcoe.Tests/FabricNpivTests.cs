// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Time.Testing;
using Scst.Transport.Fcoe.Fip;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// Several VN_Ports behind one fabric-mode ENode (FC-BB-5 with FC-LS-3 NPIV) against the FCF emulator on an in-memory
/// segment, under a fake clock: one FIP FLOGI, then one FIP FDISC per further VN_Port, each VN_Port with its own
/// N_Port_ID, FPMA, keep-alives, Clear Virtual Links and LOGO. The FDISC request and accept are also checked byte for
/// byte against the layout built by hand.
/// </summary>
public sealed class FabricNpivTests : IDisposable
{
    private const ulong NodeA = 0x1000_0200_0000_0b02;
    private const ulong NameA = 0x2000_0200_0000_0b02;
    private const ulong NameB = 0x2000_0200_0000_0b03;
    private const ulong NodeB = 0x1000_0200_0000_0b03;
    private const ulong NameC = 0x2000_0200_0000_0b04;
    private const ulong NameD = 0x2000_0200_0000_0b05;

    private static readonly MacAddress s_enode = MacAddress.Parse("02:00:00:00:0b:02");
    private static readonly MacAddress s_fcfMac = MacAddress.Parse("00:0d:ec:aa:00:0a");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly InMemoryEthernet _net;
    private readonly InMemoryFcoeLink _link;
    private readonly FabricController _enode;
    private readonly List<string> _events = [];
    private FcfEmulator? _fcf;

    public FabricNpivTests()
    {
        _net = new InMemoryEthernet(_time);
        _link = _net.Attach(s_enode, name: "enode");
        _enode = new FabricController(_link, new FabricOptions { NodeName = NodeA }, _time);
        _net.SetReceiver(_link, frame => _enode.HandleFip(frame));
    }

    public void Dispose()
    {
        _enode.Dispose();
        _fcf?.Dispose();
    }

    [Fact]
    public void TwoVnPorts_TheFirstLogsInWithFlogi_TheSecondWithFdisc_EachGrantedItsOwnIdAndFpma()
    {
        var fcf = Fcf();
        var a = Port("A", NameA, NodeA);
        var b = Port("B", NameB, NodeB);
        var t0 = _time.GetUtcNow();

        a.Start();
        b.Start();
        _net.Run(TimeSpan.FromSeconds(2));

        var requests = LinkServiceRequests();
        requests.Should().HaveCount(2);
        requests.Should().OnlyContain(f => f.At == t0 + TimeSpan.FromSeconds(2));
        var (flogiType, flogiHeader, flogiEls, _) = Encapsulated(requests[0]);
        flogiType.Should().Be(FipDescriptorType.Flogi);
        flogiEls[0].Should().Be(ElsCode.Flogi);
        ServiceParameters.TryRead(flogiEls, out var flogi).Should().BeTrue();
        flogi.PortName.Should().Be(NameA);

        FipFrame.TryRead(requests[1].Data, out var frame).Should().Be(FipReadResult.Success);
        (frame.Destination, frame.Source, frame.VlanTag, frame.Header.Flags).Should().Be((s_fcfMac, s_enode, (ushort?)null, FipFlags.Fpma));
        var (type, header, els, mac) = Encapsulated(requests[1]);
        type.Should().Be(FipDescriptorType.Fdisc);
        (header.RCtl, header.DestinationId, header.SourceId, header.Type, header.FCtl, header.RxId).Should()
            .Be((RCtl.ElsRequest, WellKnownAddress.FabricLogin, 0u, FcType.Els, FCtl.Request, FcFrameHeader.UnassignedExchangeId));
        header.OxId.Should().NotBe(flogiHeader.OxId);
        els[0].Should().Be(ElsCode.Fdisc);
        ServiceParameters.TryRead(els, out var fdisc).Should().BeTrue();
        (fdisc.PortName, fdisc.NodeName).Should().Be((NameB, NodeB), "an FDISC carries the VN_Port's own names");
        fdisc.CommonFeatures.Should().Be(CommonFeatures.MultipleNPortIdSupport);
        fdisc.MaxPayload.Should().Be(2112);
        mac.IsZero.Should().BeTrue("an FPMA is asked for");

        var fpmaA = MacAddress.FromFpma(MacAddress.DefaultFcMap, 0x0A0101);
        var fpmaB = MacAddress.FromFpma(MacAddress.DefaultFcMap, 0x0A0102);
        _events.Should().Equal($"A up 0a0101 {fpmaA}", $"B up 0a0102 {fpmaB}");
        (a.State, a.PortId, a.PortMac, a.LoggedInByFdisc).Should().Be((VnPortState.Up, 0x0A0101u, fpmaA, false));
        (b.State, b.PortId, b.PortMac, b.LoggedInByFdisc).Should().Be((VnPortState.Up, 0x0A0102u, fpmaB, true));
        b.FabricParameters!.Value.CommonFeatures.Should().Be(CommonFeatures.FPort);
        _link.UnicastAddresses.Should().BeEquivalentTo([fpmaA, fpmaB]);
        _enode.State.Should().Be(FabricState.Up);
        _enode.Ports.Should().Equal(a, b);
        fcf.LoginsOf(s_enode).Should().Equal(
            new FabricLogin(0x0A0101, NameA, NodeA, s_enode, fpmaA, 2158),
            new FabricLogin(0x0A0102, NameB, NodeB, s_enode, fpmaB, 2158, ByFdisc: true));
        fcf.Flogis.Should().ContainSingle();
        fcf.Fdiscs.Should().Equal((t0 + TimeSpan.FromSeconds(2), s_enode, NameB, true));
    }

    [Fact]
    public void ThreeVnPorts_OneFlogiThenTwoFdiscs_AndAFourthStartedLaterSendsItsFdiscAtOnce()
    {
        var fcf = Fcf();
        var ports = new[] { Port("A", NameA, NodeA), Port("B", NameB, NodeA), Port("C", NameC, NodeA) };

        foreach (var port in ports)
        {
            port.Start();
        }

        _net.Run(TimeSpan.FromSeconds(2));

        LinkServiceRequests().Select(f => Encapsulated(f).Type).Should()
            .Equal(FipDescriptorType.Flogi, FipDescriptorType.Fdisc, FipDescriptorType.Fdisc);
        ports.Select(p => p.PortId).Should().Equal(0x0A0101u, 0x0A0102u, 0x0A0103u);
        ports.Select(p => p.PortMac).Should().OnlyHaveUniqueItems();
        ports.Select(p => p.LoggedInByFdisc).Should().Equal(false, true, true);
        fcf.LoginsOf(s_enode).Select(l => l.PortName).Should().Equal(NameA, NameB, NameC);

        _net.Run(TimeSpan.FromSeconds(3));
        var d = Port("D", NameD, NodeA);
        var started = _time.GetUtcNow();
        d.Start();
        _net.Pump();

        var last = LinkServiceRequests()[^1];
        Encapsulated(last).Type.Should().Be(FipDescriptorType.Fdisc);
        last.At.Should().Be(started);
        (d.State, d.PortId, d.LoggedInByFdisc).Should().Be((VnPortState.Up, 0x0A0104u, true));
        fcf.Flogis.Should().ContainSingle();
        ports.Should().OnlyContain(p => p.State == VnPortState.Up);
    }

    [Fact]
    public void EachVnPort_SendsItsOwnKeepAlivesFromItsFpma_OneENodeKeepAliveServesThemAll_AndTheFcfFindsThemValid()
    {
        var fcf = Fcf(vnPortKeepAliveTimeout: TimeSpan.FromSeconds(225));
        var (a, b) = BringUpTwo();
        var up = _time.GetUtcNow();

        _net.Run(TimeSpan.FromSeconds(400));

        fcf.KeepAlives.Where(k => k.VnPort is null).Select(k => k.At - up).Should()
            .Equal(Enumerable.Range(1, 50).Select(i => TimeSpan.FromSeconds(8 * i)), "one ENode keep-alive per FKA_ADV_PERIOD, not one per VN_Port");
        foreach (var port in new[] { a, b })
        {
            var own = fcf.KeepAlives.Where(k => k.VnPort?.PortId == port.PortId).ToList();
            own.Select(k => k.At - up).Should().Equal(TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(180), TimeSpan.FromSeconds(270),
                TimeSpan.FromSeconds(360));
            own.Should().OnlyContain(k => k.Source == port.PortMac && k.ENodeMac == s_enode
                && k.VnPort == new VnPortIdentity(port.PortMac, port.PortId, port.PortName));
        }

        fcf.MismatchedKeepAlives.Should().BeEmpty();
        fcf.KeepAliveClears.Should().BeEmpty();
        _events.Should().HaveCount(2, "both VN_Ports stayed up");
    }

    [Fact]
    public void AVnPortWhoseKeepAlivesAreLost_IsClearedAlone_AndLogsInAgainWithFdisc()
    {
        var fcf = Fcf(vnPortKeepAliveTimeout: TimeSpan.FromSeconds(225));
        var (a, b) = BringUpTwo();
        var up = _time.GetUtcNow();
        var lostMac = b.PortMac;
        _net.Drop = frame => MacAddress.Read(frame.AsSpan(MacAddress.Length)) == lostMac; // B's keep-alives never arrive

        _net.RunUntil(() => fcf.KeepAliveClears.Count > 0, TimeSpan.FromSeconds(300)).Should().BeTrue();
        _net.Pump();

        fcf.KeepAliveClears.Should().Equal((up + TimeSpan.FromSeconds(225), 0x0A0102u));
        _events.Skip(2).Should().Equal("B down 0a0102", $"B up 0a0103 {MacAddress.FromFpma(MacAddress.DefaultFcMap, 0x0A0103)}");
        var fdisc = LinkServiceRequests()[^1];
        Encapsulated(fdisc).Type.Should().Be(FipDescriptorType.Fdisc);
        fdisc.At.Should().Be(up + TimeSpan.FromSeconds(225), "the cleared VN_Port logs in again at once");
        (a.State, a.PortId).Should().Be((VnPortState.Up, 0x0A0101u));
        (b.State, b.PortId, b.LoggedInByFdisc).Should().Be((VnPortState.Up, 0x0A0103u, true));
        _link.UnicastAddresses.Should().NotContain(lostMac);
        fcf.Flogis.Should().ContainSingle();
    }

    [Fact]
    public void ClearVirtualLinks_NamingTheFdiscVnPort_TakesOnlyItDown_AndItLogsInAgainWithFdisc()
    {
        var fcf = Fcf();
        var (a, b) = BringUpTwo();
        var fpmaA = a.PortMac;

        fcf.ClearVirtualLinks(s_enode, new VnPortIdentity(b.PortMac, b.PortId, NameB));
        _net.Pump();

        _events.Skip(2).Should().Equal("B down 0a0102", $"B up 0a0103 {MacAddress.FromFpma(MacAddress.DefaultFcMap, 0x0A0103)}");
        Encapsulated(LinkServiceRequests()[^1]).Type.Should().Be(FipDescriptorType.Fdisc);
        (a.State, a.PortId, a.PortMac).Should().Be((VnPortState.Up, 0x0A0101u, fpmaA));
        _enode.State.Should().Be(FabricState.Up);
        fcf.Flogis.Should().ContainSingle();
        fcf.LoginsOf(s_enode).Select(l => l.PortId).Should().Equal(0x0A0101u, 0x0A0103u);
    }

    [Fact]
    public void ClearVirtualLinks_NamingTheFlogiVnPort_TakesOnlyItDown_AndItLogsInAgainWithFdisc()
    {
        var fcf = Fcf();
        var (a, b) = BringUpTwo();

        fcf.ClearVirtualLinks(s_enode, new VnPortIdentity(a.PortMac, a.PortId, NameA));
        _net.Pump();

        _events.Skip(2).Should().Equal("A down 0a0101", $"A up 0a0103 {MacAddress.FromFpma(MacAddress.DefaultFcMap, 0x0A0103)}");
        Encapsulated(LinkServiceRequests()[^1]).Type.Should().Be(FipDescriptorType.Fdisc, "B still holds the ENode's fabric login");
        (a.LoggedInByFdisc, b.State, b.PortId).Should().Be((true, VnPortState.Up, 0x0A0102u));
        fcf.Flogis.Should().ContainSingle();
    }

    [Fact]
    public void ClearVirtualLinks_OfTheENode_TakesEveryVnPortDown_AndTheyLogInAgainFlogiFirstThenFdisc()
    {
        var fcf = Fcf();
        var (a, b) = BringUpTwo();
        int before = LinkServiceRequests().Count;

        fcf.ClearVirtualLinks(s_enode);
        _net.Pump();

        _events.Skip(2).Should().Equal("A down 0a0101", "B down 0a0102");
        _enode.State.Should().Be(FabricState.Soliciting);
        _link.UnicastAddresses.Should().BeEmpty();
        _net.Run(TimeSpan.FromSeconds(2));
        LinkServiceRequests().Skip(before).Select(f => Encapsulated(f).Type).Should().Equal(FipDescriptorType.Flogi, FipDescriptorType.Fdisc);
        (a.PortId, a.LoggedInByFdisc, b.PortId, b.LoggedInByFdisc).Should().Be((0x0A0103u, false, 0x0A0104u, true));
    }

    [Fact]
    public void ClearVirtualLinks_NamingEveryVnPort_TakesThemAllDown_AndTheENodeStartsOver()
    {
        var fcf = Fcf();
        var (a, b) = BringUpTwo();

        fcf.ClearVirtualLinks(s_enode, new VnPortIdentity(a.PortMac, a.PortId, NameA), new VnPortIdentity(b.PortMac, b.PortId, NameB));
        _net.Pump();

        _events.Skip(2).Should().Equal("A down 0a0101", "B down 0a0102");
        _enode.State.Should().Be(FabricState.Soliciting);
        _net.Run(TimeSpan.FromSeconds(2));
        (a.State, a.LoggedInByFdisc, b.State, b.LoggedInByFdisc).Should().Be((VnPortState.Up, false, VnPortState.Up, true));
        fcf.Flogis.Should().HaveCount(2);
    }

    [Fact]
    public void FcfSilence_TakesEveryVnPortDown_AndTheyComeBackFlogiFirstThenFdisc()
    {
        var fcf = Fcf();
        var (a, b) = BringUpTwo();
        fcf.Silent = true;

        _net.RunUntil(() => _events.Count == 4, TimeSpan.FromSeconds(30)).Should().BeTrue();
        _events.Skip(2).Should().Equal("A down 0a0101", "B down 0a0102");
        (a.State, b.State).Should().Be((VnPortState.Waiting, VnPortState.Waiting));
        int before = LinkServiceRequests().Count;
        fcf.Silent = false;
        _net.RunUntil(() => a.State == VnPortState.Up && b.State == VnPortState.Up, TimeSpan.FromSeconds(20)).Should().BeTrue();

        LinkServiceRequests().Skip(before).Select(f => Encapsulated(f).Type).Should().Equal(FipDescriptorType.Flogi, FipDescriptorType.Fdisc);
        fcf.LoginsOf(s_enode).Select(l => (l.PortName, l.ByFdisc)).Should().Equal((NameA, false), (NameB, true));
    }

    [Fact]
    public void FdiscRejected_IsTriedOnceMore_ThenAgain10sLater_WhileTheFlogiVnPortStaysUp()
    {
        var fcf = Fcf();
        fcf.RejectFdiscs = 2;
        var a = Port("A", NameA, NodeA);
        var b = Port("B", NameB, NodeA);
        var t0 = _time.GetUtcNow();

        a.Start();
        b.Start();
        _net.Run(TimeSpan.FromSeconds(11));
        b.State.Should().Be(VnPortState.Waiting);
        _net.Run(TimeSpan.FromSeconds(1));

        fcf.Fdiscs.Select(f => (f.At - t0, f.Accepted)).Should().Equal(
            (TimeSpan.FromSeconds(2), false), (TimeSpan.FromSeconds(2), false), (TimeSpan.FromSeconds(12), true));
        (b.State, b.PortId).Should().Be((VnPortState.Up, 0x0A0102u));
        (a.State, a.PortId).Should().Be((VnPortState.Up, 0x0A0101u));
        _events.Should().HaveCount(2).And.NotContain(e => e.Contains("down", StringComparison.Ordinal));
    }

    [Fact]
    public void FdiscUnanswered_IsSentAgainAfter2s_WithANewOxId()
    {
        var fcf = Fcf();
        fcf.IgnoreFdiscs = 1;
        var a = Port("A", NameA, NodeA);
        var b = Port("B", NameB, NodeA);
        var t0 = _time.GetUtcNow();

        a.Start();
        b.Start();
        _net.Run(TimeSpan.FromMilliseconds(3999));
        b.State.Should().Be(VnPortState.LoggingIn);
        _net.Run(TimeSpan.FromMilliseconds(1));

        var fdiscs = LinkServiceRequests().Where(f => Encapsulated(f).Type == FipDescriptorType.Fdisc).ToList();
        fdiscs.Select(f => f.At - t0).Should().Equal(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4));
        Encapsulated(fdiscs[0]).Header.OxId.Should().NotBe(Encapsulated(fdiscs[1]).Header.OxId);
        b.State.Should().Be(VnPortState.Up);
    }

    [Fact]
    public void FdiscRepliesThatAreNotOurs_AreIgnored_AndTheVnPortGetsItsOwnAfterwards()
    {
        var fcf = Fcf();
        fcf.IgnoreFdiscs = 1;
        var a = Port("A", NameA, NodeA);
        var b = Port("B", NameB, NodeA);
        a.Start();
        b.Start();
        _net.Run(TimeSpan.FromSeconds(2));
        b.State.Should().Be(VnPortState.LoggingIn);
        ushort oxId = Encapsulated(LinkServiceRequests()[^1]).Header.OxId;
        var accept = new byte[ServiceParameters.Length];
        new ServiceParameters { CommonFeatures = CommonFeatures.FPort, ReceiveDataFieldSize = 2112 }.WriteTo(accept, ElsCode.LsAcc);
        var buffer = new byte[300];

        int Reply(FipDescriptorType type, ushort ox, uint portId, MacAddress mac)
        {
            var header = new FcFrameHeader
            {
                RCtl = RCtl.ElsReply, DestinationId = portId, SourceId = WellKnownAddress.FabricLogin, Type = FcType.Els, FCtl = FCtl.LastReply,
                OxId = ox, RxId = 0x0100,
            };
            return FipFrame.WriteLinkServiceReply(buffer, s_enode, s_fcfMac, null, FipFlags.Fpma, type, header, accept, mac);
        }

        var fpma = MacAddress.FromFpma(MacAddress.DefaultFcMap, 0x0A0177);
        _enode.HandleFip(buffer.AsSpan(0, Reply(FipDescriptorType.Fdisc, (ushort)(oxId + 5), 0x0A0177, fpma))).Should().BeFalse("another OX_ID");
        _enode.HandleFip(buffer.AsSpan(0, Reply(FipDescriptorType.Flogi, oxId, 0x0A0177, fpma))).Should().BeFalse("an FLOGI reply");
        _enode.HandleFip(buffer.AsSpan(0, Reply(FipDescriptorType.Fdisc, oxId, 0x0A0177, default))).Should().BeFalse("no FPMA");
        _enode.HandleFip(buffer.AsSpan(0, Reply(FipDescriptorType.Fdisc, oxId, a.PortId, a.PortMac))).Should().BeFalse("A's N_Port_ID");
        _enode.HandleFip(buffer.AsSpan(0, Reply(FipDescriptorType.Fdisc, oxId, 0, fpma))).Should().BeFalse("no N_Port_ID");
        b.State.Should().Be(VnPortState.LoggingIn);

        _net.Run(TimeSpan.FromSeconds(2));
        (b.State, b.PortId).Should().Be((VnPortState.Up, 0x0A0102u));
        _events.Should().HaveCount(2);
    }

    [Fact]
    public void StoppingTheFdiscVnPort_SendsItsOwnLogo_AndTheOtherStaysUp()
    {
        var fcf = Fcf();
        var (a, b) = BringUpTwo();
        var fpmaA = a.PortMac;
        var fpmaB = b.PortMac;

        b.Stop();
        _net.Pump();

        var logo = LinkServiceRequests()[^1];
        FipFrame.TryRead(logo.Data, out var frame).Should().Be(FipReadResult.Success);
        (frame.Destination, frame.Source).Should().Be((s_fcfMac, s_enode));
        var (type, header, els, mac) = Encapsulated(logo);
        type.Should().Be(FipDescriptorType.Logo);
        (header.DestinationId, header.SourceId).Should().Be((WellKnownAddress.FabricLogin, 0x0A0102u));
        LogoPayload.TryRead(els, out var payload).Should().BeTrue();
        payload.Should().Be(new LogoPayload(0x0A0102, NameB));
        mac.Should().Be(fpmaB);
        fcf.Logouts.Should().ContainSingle().Which.PortId.Should().Be(0x0A0102u);
        fcf.LoginsOf(s_enode).Select(l => l.PortId).Should().Equal(0x0A0101u);
        _link.UnicastAddresses.Should().Equal(fpmaA);
        (b.State, b.PortId).Should().Be((VnPortState.Stopped, 0u));
        (a.State, _enode.State).Should().Be((VnPortState.Up, FabricState.Up));
        _events.Should().HaveCount(2, "a stopped VN_Port raises no PortDown");

        _net.Run(TimeSpan.FromSeconds(100));
        fcf.KeepAlives.Where(k => k.VnPort is not null).Should().ContainSingle().Which.VnPort!.Value.PortId.Should().Be(0x0A0101u);
    }

    [Fact]
    public void StoppingTheFlogiVnPort_LogsOnlyItOut_AndAVnPortStartedLaterStillLogsInWithFdisc()
    {
        var fcf = Fcf();
        var (a, b) = BringUpTwo();

        a.Stop();
        _net.Pump();

        fcf.Logouts.Should().ContainSingle().Which.PortId.Should().Be(0x0A0101u);
        (b.State, b.PortId, _enode.State).Should().Be((VnPortState.Up, 0x0A0102u, FabricState.Up));
        var c = Port("C", NameC, NodeA);
        c.Start();
        _net.Pump();
        (c.State, c.LoggedInByFdisc).Should().Be((VnPortState.Up, true));
        fcf.Flogis.Should().ContainSingle();

        b.Stop();
        c.Stop();
        _net.Pump();
        _enode.State.Should().Be(FabricState.Stopped);
        fcf.Logouts.Select(l => l.PortId).Should().Equal(0x0A0101u, 0x0A0102u, 0x0A0103u);
        int sent = _link.Sent.Count;
        _net.Run(TimeSpan.FromSeconds(30));
        _link.Sent.Should().HaveCount(sent, "an ENode without VN_Ports sends nothing");
    }

    [Fact]
    public void AFabricWithoutNpiv_GetsNoFdisc_AndTheSecondVnPortLogsInWithFlogiOnceTheFirstStops()
    {
        var fcf = Fcf(npiv: false);
        var a = Port("A", NameA, NodeA);
        var b = Port("B", NameB, NodeA);

        a.Start();
        b.Start();
        _net.Run(TimeSpan.FromSeconds(30));

        _enode.MultipleIdsGranted.Should().BeFalse();
        (a.State, b.State).Should().Be((VnPortState.Up, VnPortState.Waiting));
        LinkServiceRequests().Should().ContainSingle("the FLOGI, and no FDISC the fabric would refuse");

        a.Stop();
        _net.Pump();

        Encapsulated(LinkServiceRequests()[^1]).Type.Should().Be(FipDescriptorType.Flogi);
        (b.State, b.PortId, b.LoggedInByFdisc).Should().Be((VnPortState.Up, 0x0A0102u, false));
        fcf.Fdiscs.Should().BeEmpty();
    }

    [Fact]
    public void StartingAVnPortTwice_OrTwoWithOneWwpn_Throws()
    {
        Fcf();
        var a = Port("A", NameA, NodeA);
        a.Start();

        var again = () => a.Start();
        again.Should().Throw<InvalidOperationException>();
        var twin = () => _enode.AddPort(NameA, NodeB).Start();
        twin.Should().Throw<InvalidOperationException>().WithMessage("*20:00:02:00:00:00:0b:02*");
        _enode.Ports.Should().ContainSingle();
    }

    [Fact]
    public void FdiscRequest_IsTheFcBb5LayoutByteForByte()
    {
        Fcf();
        BringUpTwo();

        // FIP header: op 2 (link service) sub 1 (request), 38 words of descriptors, FPMA. FDISC descriptor (type 8, 36 words):
        // 2 reserved, the FC header (ELS request from S_ID 0 to F_Port login, OX_ID 2 after the FLOGI's 1), the FDISC
        // payload (FC-LS-3: code 0x51, common service parameters, port and node names, class 3 valid with sequential
        // delivery). Then the MAC address descriptor, zero: FPMA asked for.
        string expected = "000DECAA000A" + "020000000B02" + "8914"
            + "10 00 0002 00 01 0026 8000"
            + "08 24 0000"
            + "22 FFFFFE 00 000000 01 290000 00 00 0000 0002 FFFF 00000000"
            + "51 000000" + "20 20 000A 8000 0840 0000 0000 000007D0"
            + "2000020000000B03" + "1000020000000B03"
            + new string('0', 64)
            + "8800 0000 0000 0840 0000 0000 00 00 0000"
            + new string('0', 64)
            + "02 02 000000000000";
        Bytes.Equal(Bytes.Hex(expected), LinkServiceRequests()[1].Data);
    }

    [Fact]
    public void FdiscAccept_BuiltByHand_IsWhatTheWriterWrites_AndGrantsTheVnPortItsIdAndFpma()
    {
        var fcf = Fcf();
        fcf.IgnoreFdiscs = 1;
        var a = Port("A", NameA, NodeA);
        var b = Port("B", NameB, NodeB);
        a.Start();
        b.Start();
        _net.Run(TimeSpan.FromSeconds(2));
        b.State.Should().Be(VnPortState.LoggingIn);
        Encapsulated(LinkServiceRequests()[^1]).Header.OxId.Should().Be(2);

        // FIP op 2 sub 2 (reply), FPMA; FDISC descriptor with the LS_ACC: D_ID the N_Port_ID granted, S_ID F_Port login,
        // F_CTL of a last reply, OX_ID 2, RX_ID the FCF's; the F_Port's service parameters (F_Port bit, R_A_TOV 10 s,
        // E_D_TOV 2 s, its names, class 3); then the MAC address descriptor with the FPMA 0E:FC:00 || N_Port_ID.
        string hex = "020000000B02" + "000DECAA000A" + "8914"
            + "10 00 0002 00 02 0026 8000"
            + "08 24 0000"
            + "23 0A0177 00 FFFFFE 01 980000 00 00 0000 0002 0123 00000000"
            + "02 000000" + "20 20 0000 1000 0840 0000 2710 000007D0"
            + "2001000DECAA000B" + "1001000DECAABB00"
            + new string('0', 64)
            + "8800 0000 0000 0840 0000 0000 00 00 0000"
            + new string('0', 64)
            + "02 02 0EFC000A0177";
        var handBuilt = Bytes.Hex(hex);
        var header = new FcFrameHeader
        {
            RCtl = RCtl.ElsReply, DestinationId = 0x0A0177, SourceId = WellKnownAddress.FabricLogin, Type = FcType.Els, FCtl = FCtl.LastReply,
            OxId = 2, RxId = 0x0123,
        };
        var parameters = new ServiceParameters
        {
            HighestVersion = 0x20, LowestVersion = 0x20, CommonFeatures = CommonFeatures.FPort, ReceiveDataFieldSize = 2112,
            ResourceAllocationTimeout = 10000, ErrorDetectTimeout = 2000, PortName = 0x2001_000D_ECAA_000B, NodeName = 0x1001_000D_ECAA_BB00,
            Class3ServiceOptions = ClassServiceOptions.Valid | ClassServiceOptions.SequentialDelivery, Class3ReceiveDataFieldSize = 2112,
        };
        var els = new byte[ServiceParameters.Length];
        parameters.WriteTo(els, ElsCode.LsAcc);
        var written = Bytes.Dirty(300);
        var fpma = MacAddress.FromFpma(MacAddress.DefaultFcMap, 0x0A0177);

        int length = FipFrame.WriteLinkServiceReply(written, s_enode, s_fcfMac, null, FipFlags.Fpma, FipDescriptorType.Fdisc, header, els, fpma);

        Bytes.Equal(handBuilt, written.AsSpan(0, length));
        _enode.HandleFip(handBuilt).Should().BeTrue();
        _net.Pump();
        (b.State, b.PortId, b.PortMac, b.LoggedInByFdisc).Should().Be((VnPortState.Up, 0x0A0177u, fpma, true));
        b.FabricParameters.Should().Be(parameters);
        _events.Should().EndWith($"B up 0a0177 {fpma}");
    }

    private FcfEmulator Fcf(bool npiv = true, TimeSpan? vnPortKeepAliveTimeout = null)
    {
        _fcf = new FcfEmulator(_net, new FcfEmulatorOptions
        {
            Mac = s_fcfMac, SwitchName = 0x2001_000D_ECAA_000A, Npiv = npiv, VnPortKeepAliveTimeout = vnPortKeepAliveTimeout,
        });
        _fcf.Start();
        return _fcf;
    }

    private FabricVnPort Port(string label, ulong portName, ulong nodeName)
    {
        var port = _enode.AddPort(portName, nodeName);
        port.PortUp += (id, mac, fcf) =>
        {
            fcf.Should().Be(s_fcfMac);
            _events.Add($"{label} up {id:x6} {mac}");
        };
        port.PortDown += id => _events.Add($"{label} down {id:x6}");
        return port;
    }

    private (FabricVnPort A, FabricVnPort B) BringUpTwo()
    {
        var a = Port("A", NameA, NodeA);
        var b = Port("B", NameB, NodeB);
        a.Start();
        b.Start();
        _net.Run(TimeSpan.FromSeconds(2));
        (a.State, b.State).Should().Be((VnPortState.Up, VnPortState.Up));
        return (a, b);
    }

    // FIP link service requests our ENode sent (FLOGI, FDISC, LOGO), in order.
    private List<SentFrame> LinkServiceRequests() =>
        [.. _link.Sent.Where(f => FipFrame.TryRead(f.Data, out var view) == FipReadResult.Success
            && view.Header.Message == FipMessage.LinkServiceRequest)];

    private static (FipDescriptorType Type, FcFrameHeader Header, byte[] Els, MacAddress Mac) Encapsulated(SentFrame frame)
    {
        FipFrame.TryRead(frame.Data, out var view).Should().Be(FipReadResult.Success);
        var reader = view.GetDescriptorReader();
        reader.TryReadNext(out var d).Should().BeTrue();
        var type = d.Type;
        d.TryReadEncapsulatedEls(out var header, out var els).Should().BeTrue();
        var copy = els.ToArray();
        reader.TryReadNext(out d).Should().BeTrue();
        d.TryReadMacAddress(out var mac).Should().BeTrue();
        reader.TryReadNext(out _).Should().BeFalse();
        return (type, header, copy, mac);
    }
}
