// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// The FIP frames of the captures, one of each kind: decoded fields checked against what l2tool.py shows for them
/// (the .decoded.txt beside the captures), then the same frame written by the FipFrame writer from those values.
/// </summary>
public class FipCaptureTests
{
    // What the Linux stack announces: FCP (with the initiator bit, and the target bit when LIO runs on the port) and FC-CT.
    private static readonly Fc4Feature[] s_initiatorFeatures = [new(FcType.Fcp, Fc4FeatureBits.Initiator), new(FcType.Ct, 0)];
    private static readonly Fc4Feature[] s_lioFeatures = [new(FcType.Fcp, Fc4FeatureBits.Target | Fc4FeatureBits.Initiator), new(FcType.Ct, 0)];

    private static VnPortIdentity InitiatorVnPort => new(Captures.InitiatorVnMac, Captures.InitiatorPortId, Captures.InitiatorPortName);

    private static VnPortIdentity TargetVnPort => new(Captures.TargetVnMac, Captures.TargetPortId, Captures.TargetPortName);

    [Fact]
    public void ProbeRequest_FromTheInitiatorAlone_DecodesAndIsWrittenIdentically()
    {
        // 0.0000 52:54:00:fc:00:01 > 01:10:18:01:00:04 len=64 FIP VN2VN Probe Request flags=0x0000 MAC=52:54:00:fc:00:01
        //   NAME=10:00:52:54:00:fc:00:01 VN_PORT(mac=0e:fd:00:00:00:01 id=000001 wwpn=20:00:52:54:00:fc:00:01)
        var captured = Captures.Alone[0].Data;

        FipFrame.TryRead(captured, out var frame).Should().Be(FipReadResult.Success);
        frame.Destination.Should().Be(MacAddress.AllVn2VnMacs);
        frame.Source.Should().Be(Captures.InitiatorENode);
        frame.VlanTag.Should().BeNull();
        frame.Header.Should().Be(FipHeader.For(FipMessage.ProbeRequest, 0, 10));
        frame.Header.Operation.Should().Be(FipOperation.Vn2Vn);
        frame.Header.Subcode.Should().Be(1);
        AssertVn2VnDescriptors(frame, Captures.InitiatorENode, Captures.InitiatorNodeName, InitiatorVnPort);

        var written = Bytes.Dirty(100);
        int length = FipFrame.WriteProbeRequest(written, MacAddress.AllVn2VnMacs, Captures.InitiatorENode, null, 0,
            Captures.InitiatorENode, Captures.InitiatorNodeName, InitiatorVnPort);
        Bytes.Equal(captured, written.AsSpan(0, length));
    }

    [Fact]
    public void ProbeRequest_FromLio_IsWrittenIdentically()
    {
        var captured = Captures.PairFrame(0);

        var written = Bytes.Dirty(100);
        int length = FipFrame.WriteProbeRequest(written, MacAddress.AllVn2VnMacs, Captures.TargetENode, null, 0,
            Captures.TargetENode, Captures.TargetNodeName, TargetVnPort);

        Bytes.Equal(captured, written.AsSpan(0, length));
    }

    [Fact]
    public void ProbeReply_IsTheProbeLayoutWithSubcode2_UnicastToTheProber()
    {
        // No probe reply in the captures (no N_Port_ID conflict happened): LIO's probe request, readdressed to the
        // prober's ENode MAC and with subcode 2 at byte 14 + 5, is the probe reply LIO would have sent.
        var expected = (byte[])Captures.PairFrame(0).Clone();
        Captures.InitiatorENode.WriteTo(expected);
        expected[Ethernet.HeaderLength + 5] = 2;

        var written = Bytes.Dirty(100);
        int length = FipFrame.WriteProbeReply(written, Captures.InitiatorENode, Captures.TargetENode, null, 0,
            Captures.TargetENode, Captures.TargetNodeName, TargetVnPort);

        Bytes.Equal(expected, written.AsSpan(0, length));
        FipFrame.TryRead(written.AsSpan(0, length), out var frame).Should().Be(FipReadResult.Success);
        frame.Header.Message.Should().Be(FipMessage.ProbeReply);
    }

    [Fact]
    public void ClaimNotification_DecodesFc4FeaturesAndMaxFcoeSize_AndIsWrittenIdentically()
    {
        // 16.1008 52:54:00:fc:00:01 > 01:10:18:01:00:04 len=232 FIP VN2VN Claim Notification ... FC4F(00000100 00000001 ...
        //   features word 1 = 00000002: FCP initiator) MFS=2158
        var captured = Captures.PairFrame(8);

        FipFrame.TryRead(captured, out var frame).Should().Be(FipReadResult.Success);
        frame.Header.Message.Should().Be(FipMessage.ClaimNotification);
        frame.Header.DescriptorListLengthWords.Should().Be(52);
        frame.Source.Should().Be(Captures.InitiatorENode);
        var reader = frame.GetDescriptorReader();
        reader.TryReadNext(out var d).Should().BeTrue();
        d.TryReadMacAddress(out var enode).Should().BeTrue();
        enode.Should().Be(Captures.InitiatorENode);
        reader.TryReadNext(out d).Should().BeTrue();
        d.TryReadName(out ulong nodeName).Should().BeTrue();
        nodeName.Should().Be(Captures.InitiatorNodeName);
        reader.TryReadNext(out d).Should().BeTrue();
        d.TryReadVnPortId(out var vnPort).Should().BeTrue();
        vnPort.Should().Be(InitiatorVnPort);
        reader.TryReadNext(out d).Should().BeTrue();
        d.Type.Should().Be(FipDescriptorType.Fc4Features);
        d.LengthWords.Should().Be(41);
        d.TryReadFc4Features(out var types, out var features).Should().BeTrue();
        Fc4Bitmap.IsTypeSet(types, FcType.Fcp).Should().BeTrue();
        Fc4Bitmap.IsTypeSet(types, FcType.Ct).Should().BeTrue();
        Fc4Bitmap.IsTypeSet(types, FcType.Els).Should().BeFalse();
        Fc4Bitmap.GetFeatures(features, FcType.Fcp).Should().Be(Fc4FeatureBits.Initiator);
        Fc4Bitmap.GetFeatures(features, FcType.Ct).Should().Be(0);
        reader.TryReadNext(out d).Should().BeTrue();
        d.TryReadMaxFcoeSize(out ushort maxFcoeSize).Should().BeTrue();
        maxFcoeSize.Should().Be(2158);
        reader.TryReadNext(out _).Should().BeFalse();
        reader.Error.Should().Be(FipDescriptorError.None);

        var written = Bytes.Dirty(300);
        int length = FipFrame.WriteClaimNotification(written, MacAddress.AllVn2VnMacs, Captures.InitiatorENode, null, 0,
            Captures.InitiatorENode, Captures.InitiatorNodeName, InitiatorVnPort, s_initiatorFeatures, FcoeFrame.MaxFcoeSize);
        length.Should().Be(232);
        Bytes.Equal(captured, written.AsSpan(0, length));
    }

    [Fact]
    public void ClaimResponse_IsPaddedToTheMaxFcoeSize_AndIsWrittenIdentically()
    {
        // 16.1025 52:54:00:fc:00:02 > 52:54:00:fc:00:01 len=2172 FIP VN2VN Claim Response: 208 descriptor bytes, then
        // zeros up to 14 + 2158 bytes.
        var captured = Captures.PairFrame(9);

        FipFrame.TryRead(captured, out var frame).Should().Be(FipReadResult.Success);
        frame.Header.Message.Should().Be(FipMessage.ClaimResponse);
        frame.Destination.Should().Be(Captures.InitiatorENode);
        frame.Descriptors.Length.Should().Be(FipFrame.Vn2VnClaimDescriptorsLength);
        captured.Length.Should().Be(FcoeFrame.MaxFrameLength);

        var written = Bytes.Dirty(FcoeFrame.MaxFrameLength);
        int length = FipFrame.WriteClaimResponse(written, Captures.InitiatorENode, Captures.TargetENode, null, 0,
            Captures.TargetENode, Captures.TargetNodeName, TargetVnPort, s_lioFeatures, FcoeFrame.MaxFcoeSize,
            Ethernet.HeaderLength + FcoeFrame.MaxFcoeSize);
        Bytes.Equal(captured, written.AsSpan(0, length));
    }

    [Fact]
    public void Beacon_IsSentFromTheVnPortMac_AndIsWrittenIdentically()
    {
        // 0.9303 0e:fd:00:00:00:01 > 01:10:18:01:00:04 len=64 FIP VN2VN Beacon flags=0x0000 MAC=52:54:00:fc:00:01 ...
        var captured = Captures.Alone[3].Data;

        FipFrame.TryRead(captured, out var frame).Should().Be(FipReadResult.Success);
        frame.Header.Message.Should().Be(FipMessage.Beacon);
        frame.Source.Should().Be(MacAddress.FromVn2VnPortId(Captures.InitiatorPortId));
        AssertVn2VnDescriptors(frame, Captures.InitiatorENode, Captures.InitiatorNodeName, InitiatorVnPort);

        var written = Bytes.Dirty(100);
        int length = FipFrame.WriteBeacon(written, MacAddress.AllVn2VnMacs, Captures.InitiatorVnMac, null, 0,
            Captures.InitiatorENode, Captures.InitiatorNodeName, InitiatorVnPort);
        Bytes.Equal(captured, written.AsSpan(0, length));
    }

    [Fact]
    public void EncapsulatedFlogi_DecodesHeaderAndServiceParameters_AndIsWrittenIdentically()
    {
        // 16.5155 52:54:00:fc:00:02 > 52:54:00:fc:00:01 len=176 FIP FLOGI/FDISC/LOGO Request flags=0x0000 FLOGI(...) MAC=0e:fd:00:00:00:02
        var captured = Captures.PairFrame(11);

        FipFrame.TryRead(captured, out var frame).Should().Be(FipReadResult.Success);
        frame.Header.Should().Be(FipHeader.For(FipMessage.LinkServiceRequest, 0, 38));
        var reader = frame.GetDescriptorReader();
        reader.TryReadNext(out var d).Should().BeTrue();
        d.Type.Should().Be(FipDescriptorType.Flogi);
        d.LengthWords.Should().Be(36);
        d.TryReadEncapsulatedEls(out var header, out var els).Should().BeTrue();
        var expectedHeader = new FcFrameHeader
        {
            RCtl = RCtl.ElsRequest,
            DestinationId = Captures.InitiatorPortId,
            SourceId = Captures.TargetPortId,
            Type = FcType.Els,
            FCtl = FCtl.Request,
            OxId = 0,
            RxId = FcFrameHeader.UnassignedExchangeId,
        };
        header.Should().Be(expectedHeader);
        els[0].Should().Be(ElsCode.Flogi);
        ServiceParameters.TryRead(els, out var parameters).Should().BeTrue();
        var expectedParameters = LinuxFlogiParameters(Captures.TargetPortName, Captures.TargetNodeName);
        parameters.Should().Be(expectedParameters);
        (parameters.CommonFeatures & CommonFeatures.FPort).Should().Be(0);
        parameters.MaxPayload.Should().Be(2112);
        reader.TryReadNext(out d).Should().BeTrue();
        d.TryReadMacAddress(out var mac).Should().BeTrue();
        mac.Should().Be(Captures.TargetVnMac);

        var payload = Bytes.Dirty(ServiceParameters.Length);
        expectedParameters.WriteTo(payload, ElsCode.Flogi);
        var written = Bytes.Dirty(200);
        int length = FipFrame.WriteLinkServiceRequest(written, Captures.InitiatorENode, Captures.TargetENode, null, 0,
            FipDescriptorType.Flogi, expectedHeader, payload, Captures.TargetVnMac);
        Bytes.Equal(captured, written.AsSpan(0, length));
    }

    [Fact]
    public void EncapsulatedFlogiAccept_IsAReplyWithTheInitiative_AndIsWrittenIdentically()
    {
        // 16.5180 52:54:00:fc:00:01 > 52:54:00:fc:00:02 len=176 FIP FLOGI/FDISC/LOGO Reply: LS_ACC, F_CTL 0x990000.
        var captured = Captures.PairFrame(12);

        FipFrame.TryRead(captured, out var frame).Should().Be(FipReadResult.Success);
        frame.Header.Message.Should().Be(FipMessage.LinkServiceReply);
        var reader = frame.GetDescriptorReader();
        reader.TryReadNext(out var d).Should().BeTrue();
        d.TryReadEncapsulatedEls(out var header, out var els).Should().BeTrue();
        header.RCtl.Should().Be(RCtl.ElsReply);
        header.FCtl.Should().Be(FCtl.LastReplyWithInitiative);
        els[0].Should().Be(ElsCode.LsAcc);

        var request = new FcFrameHeader
        {
            RCtl = RCtl.ElsRequest,
            DestinationId = Captures.InitiatorPortId,
            SourceId = Captures.TargetPortId,
            Type = FcType.Els,
            FCtl = FCtl.Request,
            RxId = FcFrameHeader.UnassignedExchangeId,
        };
        var reply = request.ToReply(RCtl.ElsReply, FCtl.LastReplyWithInitiative, FcFrameHeader.UnassignedExchangeId);
        reply.Should().Be(header);
        var payload = Bytes.Dirty(ServiceParameters.Length);
        LinuxFlogiParameters(Captures.InitiatorPortName, Captures.InitiatorNodeName).WriteTo(payload, ElsCode.LsAcc);
        var written = Bytes.Dirty(200);
        int length = FipFrame.WriteLinkServiceReply(written, Captures.TargetENode, Captures.InitiatorENode, null, 0,
            FipDescriptorType.Flogi, reply, payload, Captures.InitiatorVnMac);
        Bytes.Equal(captured, written.AsSpan(0, length));
    }

    [Fact]
    public void EveryFipFrameOfTheCaptures_HasAWellFormedDescriptorList()
    {
        int fipFrames = 0;
        foreach (var record in Captures.All)
        {
            if (FipFrame.TryRead(record.Data, out var frame) != FipReadResult.Success)
            {
                continue;
            }

            fipFrames++;
            var reader = frame.GetDescriptorReader();
            int count = 0;
            while (reader.TryReadNext(out _))
            {
                count++;
            }

            reader.Error.Should().Be(FipDescriptorError.None);
            count.Should().BeGreaterThanOrEqualTo(2);
        }

        fipFrames.Should().Be(7 + 15);
    }

    internal static ServiceParameters LinuxFlogiParameters(ulong portName, ulong nodeName) => new()
    {
        HighestVersion = ServiceParameters.FcPhVersion,
        LowestVersion = ServiceParameters.FcPhVersion,
        BbCredit = 10,
        CommonFeatures = CommonFeatures.ContinuouslyIncreasingOffset,
        ReceiveDataFieldSize = 2112,
        PortName = portName,
        NodeName = nodeName,
        Class3ServiceOptions = ClassServiceOptions.Valid | ClassServiceOptions.SequentialDelivery,
    };

    private static void AssertVn2VnDescriptors(FipFrameView frame, MacAddress enodeMac, ulong nodeName, VnPortIdentity vnPort)
    {
        var reader = frame.GetDescriptorReader();
        reader.TryReadNext(out var d).Should().BeTrue();
        d.Type.Should().Be(FipDescriptorType.MacAddress);
        d.TryReadMacAddress(out var mac).Should().BeTrue();
        mac.Should().Be(enodeMac);
        reader.TryReadNext(out d).Should().BeTrue();
        d.TryReadName(out ulong name).Should().BeTrue();
        name.Should().Be(nodeName);
        reader.TryReadNext(out d).Should().BeTrue();
        d.TryReadVnPortId(out var identity).Should().BeTrue();
        identity.Should().Be(vnPort);
        identity.Mac.Should().Be(MacAddress.FromVn2VnPortId(identity.PortId));
        reader.TryReadNext(out _).Should().BeFalse();
        reader.Error.Should().Be(FipDescriptorError.None);
    }
}
