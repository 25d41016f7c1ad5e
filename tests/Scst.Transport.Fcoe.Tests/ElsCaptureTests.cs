// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// The link service frames of the pair capture (PLOGI, PRLI, RTV, ADISC and their accepts, FCoE-encapsulated between
/// the VN_Port MACs): decoded fields against what l2tool.py shows, then the frame written again by FcoeFrame.Write
/// around the payload the ELS codec writes from those values.
/// </summary>
public class ElsCaptureTests
{
    [Fact]
    public void Plogi_DecodesServiceParameters_AndIsWrittenIdentically()
    {
        // 16.5206 0e:fd:00:00:00:02 > 0e:fd:00:00:00:01 len=176 FC ELS_REQ PLOGI wwpn=20:00:52:54:00:fc:00:02 S_ID=000002
        //   D_ID=000001 type=0x01 ox=0x0000 rx=0xffff f_ctl=0x290000
        var captured = Captures.PairFrame(13);

        FcoeFrame.TryRead(captured, out var frame).Should().Be(FcoeReadResult.Success);
        var header = Request(Captures.TargetPortId, Captures.InitiatorPortId);
        frame.Header.Should().Be(header);
        frame.Sof.Should().Be(Sof.SofI3);
        frame.Eof.Should().Be(Eof.EofT);
        frame.Payload.Length.Should().Be(ServiceParameters.Length);
        ServiceParameters.TryRead(frame.Payload, out var parameters).Should().BeTrue();
        var expected = LinuxPlogiParameters(Captures.TargetPortName, Captures.TargetNodeName);
        parameters.Should().Be(expected);
        parameters.ErrorDetectTimeout.Should().Be(2000);
        parameters.TotalConcurrentSequences.Should().Be(255);

        var payload = Bytes.Dirty(ServiceParameters.Length);
        expected.WriteTo(payload, ElsCode.Plogi).Should().Be(ServiceParameters.Length);
        AssertWrittenIdentically(captured, Captures.InitiatorVnMac, Captures.TargetVnMac, Sof.SofI3, header, payload, Eof.EofT);
    }

    [Fact]
    public void PlogiAccept_IsWrittenIdentically()
    {
        // 16.5250 0e:fd:00:00:00:01 > 0e:fd:00:00:00:02 len=176 FC ELS_REP LS_ACC ... f_ctl=0x990000
        var captured = Captures.PairFrame(14);

        FcoeFrame.TryRead(captured, out var frame).Should().Be(FcoeReadResult.Success);
        var reply = Request(Captures.TargetPortId, Captures.InitiatorPortId)
            .ToReply(RCtl.ElsReply, FCtl.LastReplyWithInitiative, FcFrameHeader.UnassignedExchangeId);
        frame.Header.Should().Be(reply);
        ServiceParameters.TryRead(frame.Payload, out var parameters).Should().BeTrue();
        var expected = LinuxPlogiParameters(Captures.InitiatorPortName, Captures.InitiatorNodeName);
        parameters.Should().Be(expected);

        var payload = Bytes.Dirty(ServiceParameters.Length);
        expected.WriteTo(payload, ElsCode.LsAcc);
        AssertWrittenIdentically(captured, Captures.TargetVnMac, Captures.InitiatorVnMac, Sof.SofI3, reply, payload, Eof.EofT);
    }

    [Theory]
    [InlineData(15, Captures.InitiatorPortId, Captures.TargetPortId, 0x1A2u)]
    [InlineData(16, Captures.TargetPortId, Captures.InitiatorPortId, 0x0B2u)]
    public void Prli_DecodesTheFcpPage_AndIsWrittenIdentically(int index, uint source, uint destination, uint parameters)
    {
        // 16.5259 ... FC ELS_REQ PRLI spp_type=0x08 flags=0x20 fcp_params=0x000001a2 (the initiator)
        // 16.5274 ... FC ELS_REQ PRLI spp_type=0x08 flags=0x20 fcp_params=0x000000b2 (LIO)
        var captured = Captures.PairFrame(index);

        FcoeFrame.TryRead(captured, out var frame).Should().Be(FcoeReadResult.Success);
        frame.Header.Should().Be(Request(source, destination));
        Prli.TryReadHeader(frame.Payload, out byte code, out int pages).Should().BeTrue();
        code.Should().Be(ElsCode.Prli);
        pages.Should().Be(1);
        Prli.TryRead(frame.Payload, out _, out var page).Should().BeTrue();
        var expected = new PrliPage { Type = FcType.Fcp, Flags = PrliFlags.EstablishImagePair, Parameters = parameters };
        page.Should().Be(expected);

        var payload = Bytes.Dirty(Prli.SinglePageLength);
        Prli.Write(payload, ElsCode.Prli, expected).Should().Be(20);
        AssertWrittenIdentically(captured, MacAddress.FromVn2VnPortId(destination), MacAddress.FromVn2VnPortId(source), Sof.SofI3,
            Request(source, destination), payload, Eof.EofT);
    }

    [Fact]
    public void Prli_OfTheLinuxInitiator_AsksForRetryConfirmedCompletionAndNoReadXferRdy()
    {
        FcoeFrame.TryRead(Captures.PairFrame(15), out var frame).Should().Be(FcoeReadResult.Success);
        Prli.TryRead(frame.Payload, out _, out var page).Should().BeTrue();

        page.Parameters.Should().Be(FcpServiceParameters.Retry | FcpServiceParameters.ConfirmedCompletion
            | FcpServiceParameters.InitiatorFunction | FcpServiceParameters.ReadTransferReadyDisabled);
        (page.Parameters & FcpServiceParameters.TargetFunction).Should().Be(0);
    }

    [Fact]
    public void PrliAccept_OfLio_CarriesExecutedAndTheTargetFunction_AndIsWrittenIdentically()
    {
        // 16.5320 0e:fd:00:00:00:02 > 0e:fd:00:00:00:01 len=80 FC ELS_REP LS_ACC (PRLI acc fcp_params=0x000000b2)
        var captured = Captures.PairFrame(18);

        FcoeFrame.TryRead(captured, out var frame).Should().Be(FcoeReadResult.Success);
        var reply = Request(Captures.InitiatorPortId, Captures.TargetPortId)
            .ToReply(RCtl.ElsReply, FCtl.LastReplyWithInitiative, FcFrameHeader.UnassignedExchangeId);
        frame.Header.Should().Be(reply);
        Prli.TryRead(frame.Payload, out byte code, out var page).Should().BeTrue();
        code.Should().Be(ElsCode.LsAcc);
        page.ResponseCode.Should().Be(PrliResponseCode.Executed);
        (page.Flags & PrliFlags.EstablishImagePair).Should().NotBe(0);
        (page.Parameters & FcpServiceParameters.TargetFunction).Should().NotBe(0);

        var accept = new PrliPage
        {
            Type = FcType.Fcp,
            Flags = PrliFlags.EstablishImagePair | PrliResponseCode.Executed,
            Parameters = FcpServiceParameters.ConfirmedCompletion | FcpServiceParameters.InitiatorFunction
                | FcpServiceParameters.TargetFunction | FcpServiceParameters.ReadTransferReadyDisabled,
        };
        var payload = Bytes.Dirty(Prli.SinglePageLength);
        Prli.Write(payload, ElsCode.LsAcc, accept);
        AssertWrittenIdentically(captured, Captures.InitiatorVnMac, Captures.TargetVnMac, Sof.SofI3, reply, payload, Eof.EofT);
    }

    [Fact]
    public void RtvRequestAndAccept_DecodeTimeouts_AndAreWrittenIdentically()
    {
        // 16.5331 ... len=64 FC ELS_REQ RTV S_ID=000002 D_ID=000001; 16.5346 ... len=76 FC ELS_REP LS_ACC S_ID=000002 D_ID=000001
        var request = Captures.PairFrame(19);
        var accept = Captures.PairFrame(22);

        FcoeFrame.TryRead(request, out var requestFrame).Should().Be(FcoeReadResult.Success);
        requestFrame.Payload.ToArray().Should().Equal(ElsCode.Rtv, 0, 0, 0);
        var payload = Bytes.Dirty(Els.CommandLength);
        Els.WriteCommand(payload, ElsCode.Rtv);
        AssertWrittenIdentically(request, Captures.InitiatorVnMac, Captures.TargetVnMac, Sof.SofI3,
            Request(Captures.TargetPortId, Captures.InitiatorPortId), payload, Eof.EofT);

        FcoeFrame.TryRead(accept, out var acceptFrame).Should().Be(FcoeReadResult.Success);
        RtvAccept.TryRead(acceptFrame.Payload, out var rtv).Should().BeTrue();
        rtv.Should().Be(new RtvAccept(4000, 2000, 0));
        var acceptPayload = Bytes.Dirty(RtvAccept.Length);
        rtv.WriteTo(acceptPayload).Should().Be(RtvAccept.Length);
        var reply = Request(Captures.InitiatorPortId, Captures.TargetPortId)
            .ToReply(RCtl.ElsReply, FCtl.LastReplyWithInitiative, FcFrameHeader.UnassignedExchangeId);
        AssertWrittenIdentically(accept, Captures.InitiatorVnMac, Captures.TargetVnMac, Sof.SofI3, reply, acceptPayload, Eof.EofT);
    }

    [Fact]
    public void AdiscAndAccept_DecodeNamesAndPortIds_AndAreWrittenIdentically()
    {
        // 17.9235 0e:fd:00:00:00:01 > 0e:fd:00:00:00:02 len=88 FC ELS_REQ ADISC; 17.9269 ... LS_ACC
        var request = Captures.PairFrame(82);
        var accept = Captures.PairFrame(83);

        FcoeFrame.TryRead(request, out var requestFrame).Should().Be(FcoeReadResult.Success);
        AdiscPayload.TryRead(requestFrame.Payload, out var adisc).Should().BeTrue();
        adisc.Should().Be(new AdiscPayload(0, Captures.InitiatorPortName, Captures.InitiatorNodeName, Captures.InitiatorPortId));
        var payload = Bytes.Dirty(AdiscPayload.Length);
        adisc.WriteTo(payload, ElsCode.Adisc);
        var header = Request(Captures.InitiatorPortId, Captures.TargetPortId);
        AssertWrittenIdentically(request, Captures.TargetVnMac, Captures.InitiatorVnMac, Sof.SofI3, header, payload, Eof.EofT);

        FcoeFrame.TryRead(accept, out var acceptFrame).Should().Be(FcoeReadResult.Success);
        AdiscPayload.TryRead(acceptFrame.Payload, out var answer).Should().BeTrue();
        answer.Should().Be(new AdiscPayload(0, Captures.TargetPortName, Captures.TargetNodeName, Captures.TargetPortId));
        var acceptPayload = Bytes.Dirty(AdiscPayload.Length);
        answer.WriteTo(acceptPayload, ElsCode.LsAcc);
        AssertWrittenIdentically(accept, Captures.InitiatorVnMac, Captures.TargetVnMac, Sof.SofI3,
            header.ToReply(RCtl.ElsReply, FCtl.LastReplyWithInitiative, FcFrameHeader.UnassignedExchangeId), acceptPayload, Eof.EofT);
    }

    internal static FcFrameHeader Request(uint source, uint destination) => new()
    {
        RCtl = RCtl.ElsRequest,
        DestinationId = destination,
        SourceId = source,
        Type = FcType.Els,
        FCtl = FCtl.Request,
        RxId = FcFrameHeader.UnassignedExchangeId,
    };

    internal static void AssertWrittenIdentically(byte[] captured, MacAddress destination, MacAddress source, byte sof, FcFrameHeader header,
        ReadOnlySpan<byte> payload, byte eof)
    {
        var written = Bytes.Dirty(FcoeFrame.MaxTaggedFrameLength);
        int length = FcoeFrame.Write(written, destination, source, null, sof, header, payload, eof);
        length.Should().Be(FcoeFrame.GetFrameLength(false, payload.Length));
        Bytes.Equal(captured, written.AsSpan(0, length));
    }

    private static ServiceParameters LinuxPlogiParameters(ulong portName, ulong nodeName) => new()
    {
        HighestVersion = ServiceParameters.FcPhVersion,
        LowestVersion = ServiceParameters.FcPhVersion,
        BbCredit = 10,
        CommonFeatures = CommonFeatures.ContinuouslyIncreasingOffset,
        ReceiveDataFieldSize = 2112,
        TotalConcurrentSequences = 255,
        RelativeOffsetByCategory = 0x1F,
        ErrorDetectTimeout = 2000,
        PortName = portName,
        NodeName = nodeName,
        Class3ServiceOptions = ClassServiceOptions.Valid | ClassServiceOptions.SequentialDelivery,
        Class3ReceiveDataFieldSize = 2112,
        Class3ConcurrentSequences = 255,
        Class3OpenSequencesPerExchange = 1,
    };
}
