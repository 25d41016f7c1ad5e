// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Text;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// Codecs the captures have no example of, checked against bytes built by hand from the layout tables (fabrics.md
/// section 2.3, FC-FS-3, FC-LS-3, FC-GS-7, FCP-4), field by field, then read back.
/// </summary>
public class HandBuiltFrameTests
{
    private static readonly MacAddress s_initiator = MacAddress.FromVn2VnPortId(0x000001);
    private static readonly MacAddress s_target = MacAddress.FromVn2VnPortId(0x000002);

    [Fact]
    public void FcFrameHeader_WritesEveryFieldAtItsOffset()
    {
        var header = new FcFrameHeader
        {
            RCtl = 0x22, DestinationId = 0xFFFFFC, CsCtl = 0x01, SourceId = 0x010203, Type = 0x20, FCtl = 0x290000,
            SeqId = 0x05, DfCtl = 0x06, SeqCnt = 0x0708, OxId = 0x090A, RxId = 0x0B0C, Parameter = 0x0D0E0F10,
        };
        var bytes = Bytes.Dirty(24);

        header.WriteTo(bytes);

        Bytes.Equal(Bytes.Hex("22 FFFFFC 01 010203 20 290000 05 06 0708 090A 0B0C 0D0E0F10"), bytes);
        FcFrameHeader.TryRead(bytes, out var read).Should().BeTrue();
        read.Should().Be(header);
        FcFrameHeader.TryRead(bytes.AsSpan(0, 23), out _).Should().BeFalse();
    }

    [Fact]
    public void AbtsAndBaAcc_AsWholeFcoeFrames_MatchTheLayout()
    {
        // ABTS from the initiator for exchange OX_ID 0x0010 / RX_ID 0x0003: R_CTL 0x81, TYPE 0, F_CTL 0x090000, no payload.
        var abts = new FcFrameHeader { RCtl = RCtl.Abts, DestinationId = 2, SourceId = 1, Type = FcType.Bls, FCtl = FCtl.Abts, OxId = 0x0010, RxId = 0x0003 };
        var frame = Bytes.Dirty(80);
        int length = FcoeFrame.Write(frame, s_target, s_initiator, null, Sof.SofI3, abts, [], Eof.EofT);

        var expected = HandFrame(s_target, s_initiator, Sof.SofI3, "81 000002 00 000001 00 090000 00 00 0000 0010 0003 00000000", "", Eof.EofT);
        Bytes.Equal(expected, frame.AsSpan(0, length));
        FcoeFrame.TryRead(frame.AsSpan(0, length), out var view).Should().Be(FcoeReadResult.Success);
        view.Payload.IsEmpty.Should().BeTrue();
        (view.Header.Parameter & Abts.AbortSequenceOnly).Should().Be(0);

        // BA_ACC: SEQ_ID not valid, OX_ID/RX_ID of the aborted exchange, SEQ_CNT 0..0xFFFF (the whole exchange).
        var reply = abts.ToReply(RCtl.BaAcc, FCtl.LastReply, 0x0003);
        var payload = Bytes.Dirty(BaAcc.Length);
        new BaAcc(false, 0, 0x0010, 0x0003, 0, 0xFFFF).WriteTo(payload).Should().Be(12);
        Bytes.Equal(Bytes.Hex("00 00 0000 0010 0003 0000 FFFF"), payload);
        length = FcoeFrame.Write(frame, s_initiator, s_target, null, Sof.SofI3, reply, payload, Eof.EofT);

        expected = HandFrame(s_initiator, s_target, Sof.SofI3, "84 000001 00 000002 00 980000 00 00 0000 0010 0003 00000000",
            "00 00 0000 0010 0003 0000 FFFF", Eof.EofT);
        Bytes.Equal(expected, frame.AsSpan(0, length));
        FcoeFrame.TryRead(frame.AsSpan(0, length), out view).Should().Be(FcoeReadResult.Success);
        BaAcc.TryRead(view.Payload, out var accept).Should().BeTrue();
        accept.Should().Be(new BaAcc(false, 0, 0x0010, 0x0003, 0, 0xFFFF));
    }

    [Fact]
    public void BaAcc_WithAValidSeqId_SetsTheValidityBit()
    {
        var payload = Bytes.Dirty(BaAcc.Length);

        new BaAcc(true, 0x07, 0x1234, 0x5678, 0x0001, 0x0009).WriteTo(payload);

        Bytes.Equal(Bytes.Hex("80 07 0000 1234 5678 0001 0009"), payload);
        BaAcc.TryRead(payload.AsSpan(0, 11), out _).Should().BeFalse();
    }

    [Fact]
    public void BaRjt_MatchesTheLayout()
    {
        var payload = Bytes.Dirty(BaRjt.Length);

        new BaRjt(BaRjtReason.LogicalError, BaRjtExplanation.InvalidExchangeIds).WriteTo(payload).Should().Be(4);

        Bytes.Equal(Bytes.Hex("00 03 03 00"), payload);
        BaRjt.TryRead(payload, out var reject).Should().BeTrue();
        reject.Should().Be(new BaRjt(0x03, 0x03, 0));
        BaRjt.TryRead(payload.AsSpan(0, 3), out _).Should().BeFalse();
    }

    [Fact]
    public void LsRjt_MatchesTheLayout()
    {
        var payload = Bytes.Dirty(LsRjt.Length);

        new LsRjt(LsRjtReason.UnableToPerform, LsRjtExplanation.RequestNotSupported).WriteTo(payload).Should().Be(8);

        Bytes.Equal(Bytes.Hex("01 000000 00 09 2C 00"), payload);
        LsRjt.TryRead(payload, out var reject).Should().BeTrue();
        reject.Should().Be(new LsRjt(0x09, 0x2C));
        LsRjt.TryRead(Bytes.Hex("02 000000 00 09 2C 00"), out _).Should().BeFalse();
        LsRjt.TryRead(payload.AsSpan(0, 7), out _).Should().BeFalse();
    }

    [Fact]
    public void LsRjtOfAnRtv_AsTheLinuxInitiatorAcceptsIt_IsAWholeFrame()
    {
        var request = ElsCaptureTests.Request(Captures.InitiatorPortId, Captures.TargetPortId) with { OxId = 0x0005 };
        var reply = request.ToReply(RCtl.ElsReply, FCtl.LastReplyWithInitiative, FcFrameHeader.UnassignedExchangeId);
        var payload = new byte[LsRjt.Length];
        new LsRjt(LsRjtReason.CommandNotSupported, LsRjtExplanation.None).WriteTo(payload);
        var frame = Bytes.Dirty(80);

        int length = FcoeFrame.Write(frame, s_initiator, s_target, null, Sof.SofI3, reply, payload, Eof.EofT);

        var expected = HandFrame(s_initiator, s_target, Sof.SofI3, "23 000001 00 000002 01 990000 00 00 0000 0005 FFFF 00000000",
            "01 000000 00 0B 00 00", Eof.EofT);
        Bytes.Equal(expected, frame.AsSpan(0, length));
    }

    [Fact]
    public void Rls_RequestAndAccept_MatchTheLayout()
    {
        var request = Bytes.Dirty(Rls.RequestLength);
        Rls.WriteRequest(request, 0x000002).Should().Be(8);
        Bytes.Equal(Bytes.Hex("0F 000000 00 000002"), request);
        Rls.TryReadRequest(request, out uint portId).Should().BeTrue();
        portId.Should().Be(2);

        var accept = Bytes.Dirty(Rls.AcceptLength);
        var status = new LinkErrorStatus(1, 2, 3, 4, 5, 0x01020304);
        Rls.WriteAccept(accept, status).Should().Be(28);
        Bytes.Equal(Bytes.Hex("02 000000 00000001 00000002 00000003 00000004 00000005 01020304"), accept);
        Rls.TryReadAccept(accept, out var read).Should().BeTrue();
        read.Should().Be(status);
        Rls.TryReadAccept(accept.AsSpan(0, 27), out _).Should().BeFalse();
    }

    [Fact]
    public void Rrq_MatchesTheLayout()
    {
        var payload = Bytes.Dirty(RrqPayload.Length);

        new RrqPayload(0x000001, 0x0010, 0x0003).WriteTo(payload).Should().Be(12);

        Bytes.Equal(Bytes.Hex("12 000000 00 000001 0010 0003"), payload);
        RrqPayload.TryRead(payload, out var rrq).Should().BeTrue();
        rrq.Should().Be(new RrqPayload(1, 0x10, 3));
    }

    [Fact]
    public void Echo_AcceptReturnsTheRequestData()
    {
        var request = Bytes.Dirty(12);
        Echo.WriteRequest(request, Bytes.Hex("DEADBEEF 01020304")).Should().Be(12);
        Bytes.Equal(Bytes.Hex("10 000000 DEADBEEF 01020304"), request);

        var accept = Bytes.Dirty(16);
        int length = Echo.WriteAccept(accept, request);

        Bytes.Equal(Bytes.Hex("02 000000 DEADBEEF 01020304"), accept.AsSpan(0, length));
        Echo.GetData([0x10]).IsEmpty.Should().BeTrue();
    }

    [Fact]
    public void Logo_MatchesTheLayout_AndItsAcceptIsABareLsAcc()
    {
        var payload = Bytes.Dirty(LogoPayload.Length);

        new LogoPayload(0x000001, Captures.InitiatorPortName).WriteTo(payload).Should().Be(16);

        Bytes.Equal(Bytes.Hex("05 000000 00 000001 20005254 00FC0001"), payload);
        LogoPayload.TryRead(payload, out var logo).Should().BeTrue();
        logo.Should().Be(new LogoPayload(1, Captures.InitiatorPortName));
        var accept = Bytes.Dirty(4);
        Els.WriteAccept(accept).Should().Be(4);
        Bytes.Equal(Bytes.Hex("02 000000"), accept);
    }

    [Fact]
    public void Scr_MatchesTheLayout()
    {
        var payload = Bytes.Dirty(Scr.Length);

        Scr.Write(payload, ScrFunction.Full).Should().Be(8);

        Bytes.Equal(Bytes.Hex("62 000000 000000 03"), payload);
        Scr.TryRead(payload, out byte function).Should().BeTrue();
        function.Should().Be(ScrFunction.Full);
    }

    [Fact]
    public void Rscn_ReadsItsPages()
    {
        var payload = Bytes.Hex("61 04 000C 00 010203 02 0A0000");

        Rscn.TryReadHeader(payload, out int pages).Should().BeTrue();
        pages.Should().Be(2);
        Rscn.TryReadPage(payload, 0, out byte format, out uint id).Should().BeTrue();
        (format, id).Should().Be(((byte)0, 0x010203u));
        Rscn.TryReadPage(payload, 1, out format, out id).Should().BeTrue();
        (format, id).Should().Be(((byte)2, 0x0A0000u));
        Rscn.TryReadPage(payload, 2, out _, out _).Should().BeFalse();
        Rscn.TryReadHeader(Bytes.Hex("61 04 0010 00 010203"), out _).Should().BeFalse();
        Rscn.TryReadHeader(Bytes.Hex("61 08 0008 00 010203"), out _).Should().BeFalse();
    }

    [Fact]
    public void Prlo_AndItsAccept_MatchTheLayout()
    {
        var payload = Bytes.Dirty(Prli.SinglePageLength);

        Prli.Write(payload, ElsCode.Prlo, new PrliPage { Type = FcType.Fcp }).Should().Be(20);

        Bytes.Equal(Bytes.Hex("21 10 0014 08 00 00 00 00000000 00000000 00000000"), payload);
        Prli.Write(payload, ElsCode.LsAcc, new PrliPage { Type = FcType.Fcp, Flags = PrliResponseCode.Executed });
        Bytes.Equal(Bytes.Hex("02 10 0014 08 00 01 00 00000000 00000000 00000000"), payload);
        Prli.TryRead(payload, out byte code, out var page).Should().BeTrue();
        code.Should().Be(ElsCode.LsAcc);
        page.ResponseCode.Should().Be(PrliResponseCode.Executed);
    }

    [Fact]
    public void Prli_MalformedHeaders_AreRefused()
    {
        Prli.TryReadHeader(Bytes.Hex("20 10 0014 08 00 20 00 00000000 00000000 000001A2"), out _, out int pages).Should().BeTrue();
        pages.Should().Be(1);
        Prli.TryReadHeader(Bytes.Hex("20 0C 0014 08 00 20 00 00000000 00000000 000001A2"), out _, out _).Should().BeFalse();
        Prli.TryReadHeader(Bytes.Hex("20 10 0024 08 00 20 00 00000000 00000000 000001A2"), out _, out _).Should().BeFalse();
        Prli.TryReadHeader(Bytes.Hex("20 10 0016 08 00 20 00 00000000 00000000 000001A2"), out _, out _).Should().BeFalse();
        Prli.TryReadHeader(Bytes.Hex("20 10 0004"), out _, out _).Should().BeFalse();
        Prli.TryReadHeader(Bytes.Hex("20 10"), out _, out _).Should().BeFalse();
        Prli.TryReadPage(Bytes.Hex("20 10 0014 08 00 20 00 00000000"), 0, out _).Should().BeFalse();
    }

    [Fact]
    public void FlogiAccept_AsAnFcfSendsIt_CarriesRaTovInBytes12To15()
    {
        var parameters = new ServiceParameters
        {
            HighestVersion = 0x20, LowestVersion = 0x20, BbCredit = 0, CommonFeatures = CommonFeatures.FPort,
            ReceiveDataFieldSize = 2112, ResourceAllocationTimeout = 10_000, ErrorDetectTimeout = 2000,
            PortName = 0x2001_000D_ECAA_BB00, NodeName = 0x2064_000D_ECAA_BB01,
            Class3ServiceOptions = ClassServiceOptions.Valid | ClassServiceOptions.SequentialDelivery, Class3ReceiveDataFieldSize = 2112,
        };
        var payload = Bytes.Dirty(ServiceParameters.Length);

        parameters.WriteTo(payload, ElsCode.LsAcc);

        var expected = new byte[116];
        Bytes.Hex("02000000 2020 0000 1000 0840 00002710 000007D0 2001000DECAABB00 2064000DECAABB01").CopyTo(expected, 0);
        Bytes.Hex("8800 0000 0000 0840").CopyTo(expected, 68);
        Bytes.Equal(expected, payload);
        ServiceParameters.TryRead(payload, out var read).Should().BeTrue();
        read.ResourceAllocationTimeout.Should().Be(10_000);
        read.Should().Be(parameters);
        ServiceParameters.TryRead(payload.AsSpan(0, 115), out _).Should().BeFalse();
    }

    [Fact]
    public void CtHeader_AndNameServerRegistrations_MatchTheLayout()
    {
        var iu = Bytes.Dirty(CtHeader.Length + NameServer.RftIdLength);
        CtHeader.NameServerRequest(CtCommand.RftId).WriteTo(iu).Should().Be(16);
        NameServer.WriteRftId(iu.AsSpan(16), 0x010203, [FcType.Fcp]).Should().Be(36);

        Bytes.Equal(Bytes.Hex("01 000000 FC 02 00 00 0217 0000 00 00 00 00" + "00 010203" + "00000100" + new string('0', 56)), iu);
        CtHeader.TryRead(iu, out var header).Should().BeTrue();
        header.Should().Be(CtHeader.NameServerRequest(CtCommand.RftId));
        NameServer.TryReadRftId(iu.AsSpan(16), out uint portId, out var types).Should().BeTrue();
        portId.Should().Be(0x010203);
        Fc4Bitmap.IsTypeSet(types, FcType.Fcp).Should().BeTrue();
        Fc4Bitmap.IsTypeSet(types, FcType.Els).Should().BeFalse();

        var rff = Bytes.Dirty(NameServer.RffIdLength);
        NameServer.WriteRffId(rff, 0x010203, Fc4FeatureBits.Target, FcType.Fcp).Should().Be(8);
        Bytes.Equal(Bytes.Hex("00 010203 0000 01 08"), rff);
        NameServer.TryReadRffId(rff, out portId, out byte features, out byte type).Should().BeTrue();
        (portId, features, type).Should().Be((0x010203u, Fc4FeatureBits.Target, FcType.Fcp));

        var rspn = Bytes.Dirty(16);
        int length = NameServer.WriteRspnId(rspn, 0x010203, Encoding.ASCII.GetBytes("scst"));
        Bytes.Equal(Bytes.Hex("00 010203 04 73637374"), rspn.AsSpan(0, length));

        var rnn = Bytes.Dirty(NameServer.RnnIdLength);
        NameServer.WriteRnnId(rnn, 0x010203, Captures.TargetNodeName).Should().Be(12);
        Bytes.Equal(Bytes.Hex("00 010203 1000525400FC0002"), rnn);

        var gpnFt = Bytes.Dirty(NameServer.GpnFtLength);
        NameServer.WriteGpnFt(gpnFt, FcType.Fcp).Should().Be(4);
        Bytes.Equal(Bytes.Hex("00 00 00 08"), gpnFt);
    }

    [Fact]
    public void CtAcceptAndReject_AndGpnFtEntries_AreRead()
    {
        var accept = Bytes.Hex("01 000000 FC 02 00 00 8002 0000 00 00 00 00"
            + "00 010203 00000000 2000525400FC0001"
            + "80 010204 00000000 2000525400FC0002");
        CtHeader.TryRead(accept, out var header).Should().BeTrue();
        header.CommandResponse.Should().Be(CtCommand.Accept);
        var body = accept.AsSpan(CtHeader.Length);
        NameServer.TryReadGpnFtEntry(body, 0, out uint id, out ulong name, out bool last).Should().BeTrue();
        (id, name, last).Should().Be((0x010203u, Captures.InitiatorPortName, false));
        NameServer.TryReadGpnFtEntry(body, 1, out id, out name, out last).Should().BeTrue();
        (id, name, last).Should().Be((0x010204u, Captures.TargetPortName, true));
        NameServer.TryReadGpnFtEntry(body, 2, out _, out _, out _).Should().BeFalse();

        var reject = new CtHeader
        {
            Revision = 1, GsType = CtServiceType.DirectoryService, GsSubtype = CtServiceType.NameServer,
            CommandResponse = CtCommand.Reject, Reason = CtReason.UnableToPerform, Explanation = CtExplanation.Fc4TypesNotRegistered,
        };
        var bytes = Bytes.Dirty(CtHeader.Length);
        reject.WriteTo(bytes);
        Bytes.Equal(Bytes.Hex("01 000000 FC 02 00 00 8001 0000 00 09 07 00"), bytes);
        CtHeader.TryRead(bytes.AsSpan(0, 15), out _).Should().BeFalse();
    }

    [Fact]
    public void FcpResponse_WithResponseInfo_PutsTheCodeInByte3OfAnEightByteField()
    {
        var payload = Bytes.Dirty(FcpResponse.GetLength(0, hasResponseInfo: true));

        int length = FcpResponse.Write(payload, 0, FcpResponseFlags.None, 0, default, FcpResponseCode.IncorrectLun);

        length.Should().Be(32);
        Bytes.Equal(Bytes.Hex("0000000000000000 0000 01 00 00000000 00000000 00000008 00000009 00000000"), payload);
        FcpResponse.TryRead(payload, out var response).Should().BeTrue();
        response.ResponseCode.Should().Be(FcpResponseCode.IncorrectLun);
        response.Flags.Should().Be(FcpResponseFlags.ResponseInfoValid);
    }

    [Fact]
    public void FcpResponse_WithInfoAndSenseAndResidualOver_OrdersInfoBeforeSense()
    {
        var sense = Bytes.Hex("70 00 06 00 00 00 00 0A 00 00 00 00 29 00 00 00 00 00");
        var payload = Bytes.Dirty(FcpResponse.GetLength(sense.Length, hasResponseInfo: true));

        // Flags the caller passes for SNS/RSP validity are replaced by what the arguments carry.
        int length = FcpResponse.Write(payload, 0x02, FcpResponseFlags.ResidualOver | FcpResponseFlags.ResponseInfoValid, 512, sense,
            FcpResponseCode.TaskManagementComplete, statusQualifier: 0x1234);

        Bytes.Equal(Bytes.Hex("0000000000000000 1234 07 02 00000200 00000012 00000008 0000000000000000") .Concat(sense).ToArray(),
            payload.AsSpan(0, length));
        FcpResponse.TryRead(payload.AsSpan(0, length), out var response).Should().BeTrue();
        response.Sense.ToArray().Should().Equal(sense);
        response.Residual.Should().Be(512);
        response.StatusQualifier.Should().Be(0x1234);
        FcpResponse.TryRead(payload.AsSpan(0, length - 1), out _).Should().BeFalse();
        FcpResponse.Write(payload, 0, FcpResponseFlags.SenseValid, 0, default).Should().Be(24);
        payload[10].Should().Be(0, "no sense was given, so SNS_LEN_VALID stays clear");
    }

    [Fact]
    public void FcpCommand_WithAdditionalCdbAndBidirectionalLength_MatchesTheLayout()
    {
        // A 32-byte CDB (variable length, opcode 0x7F): 16 + 4 words of additional CDB; RDDATA and WRDATA both set.
        var cdb = Enumerable.Range(0, 32).Select(i => (byte)(i == 0 ? 0x7F : i)).ToArray();
        var iu = Bytes.Dirty(FcpCommand.GetLength(4, bidirectional: true));

        int length = FcpCommand.Write(iu, 0x0001_0000_0000_0000, cdb, 4096, readData: true, writeData: true,
            FcpTaskAttribute.Ordered, commandReferenceNumber: 9, priority: 5, bidirectionalReadDataLength: 512);

        length.Should().Be(52);
        Bytes.Equal(Bytes.Hex("0001000000000000 09 2A 00 13").Concat(cdb).Concat(Bytes.Hex("00001000 00000200")).ToArray(), iu);
        FcpCommand.TryRead(iu, out var command).Should().BeTrue();
        command.Lun.Should().Be(0x0001_0000_0000_0000);
        command.CommandReferenceNumber.Should().Be(9);
        command.Priority.Should().Be(5);
        command.TaskAttribute.Should().Be(FcpTaskAttribute.Ordered);
        command.TryGetTaskAttribute(out var attribute).Should().BeTrue();
        attribute.Should().Be(Scst.Core.TaskAttribute.Ordered);
        command.AdditionalCdbWords.Should().Be(4);
        command.Cdb.ToArray().Should().Equal(cdb);
        command.DataLength.Should().Be(4096);
        command.BidirectionalReadDataLength.Should().Be(512);
        command.Length.Should().Be(52);
    }

    [Fact]
    public void FcpCommand_LunReset_IsATaskManagementRequest()
    {
        var iu = Bytes.Hex("0001000000000000 00 00 10 00" + new string('0', 32) + "00000000");

        FcpCommand.TryRead(iu, out var command).Should().BeTrue();

        command.IsTaskManagement.Should().BeTrue();
        command.TaskManagementFlags.Should().Be(FcpTaskManagement.LogicalUnitReset);
        command.Lun.Should().Be(0x0001_0000_0000_0000);
        command.ReadData.Should().BeFalse();
        command.WriteData.Should().BeFalse();
    }

    [Theory]
    [InlineData(0, true, Scst.Core.TaskAttribute.Simple)]
    [InlineData(1, true, Scst.Core.TaskAttribute.HeadOfQueue)]
    [InlineData(2, true, Scst.Core.TaskAttribute.Ordered)]
    [InlineData(4, true, Scst.Core.TaskAttribute.Aca)]
    [InlineData(3, false, Scst.Core.TaskAttribute.Simple)]
    [InlineData(5, false, Scst.Core.TaskAttribute.Simple)]
    public void FcpCommand_TaskAttributes_MapToTheCoresOrRefuseReservedValues(byte raw, bool known, Scst.Core.TaskAttribute expected)
    {
        var iu = new byte[32];
        iu[9] = (byte)(0x78 | raw);

        FcpCommand.TryRead(iu, out var command).Should().BeTrue();

        command.Priority.Should().Be(15);
        command.TryGetTaskAttribute(out var attribute).Should().Be(known);
        attribute.Should().Be(expected);
    }

    [Theory]
    [InlineData(31, 0x00)]
    [InlineData(33, 0x00)]
    [InlineData(32, 0x04)]
    [InlineData(32, 0x03)]
    [InlineData(36, 0x02)]
    [InlineData(0, 0x00)]
    public void FcpCommand_LengthThatDoesNotMatchTheIu_IsRefused(int length, byte byte11)
    {
        var iu = new byte[length];
        if (length > 11)
        {
            iu[11] = byte11;
        }

        FcpCommand.TryRead(iu, out _).Should().BeFalse();
    }

    [Fact]
    public void FcpCommand_Write_RefusesACdbLongerThan268Bytes()
    {
        var act = () => FcpCommand.Write(new byte[400], 0, new byte[269], 0, false, false);

        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void FcpTransferReady_MatchesTheLayout()
    {
        var iu = Bytes.Dirty(FcpTransferReady.Length);

        FcpTransferReady.Write(iu, 0x00010000, 0x00020000);

        Bytes.Equal(Bytes.Hex("00010000 00020000 00000000"), iu);
        FcpTransferReady.TryRead(iu.AsSpan(0, 11), out _, out _).Should().BeFalse();
    }

    /// <summary>An untagged FCoE frame assembled from hex fields, with its CRC from the reference implementation.</summary>
    internal static byte[] HandFrame(MacAddress destination, MacAddress source, byte sof, string headerHex, string payloadHex, byte eof)
    {
        var header = Bytes.Hex(headerHex);
        var payload = Bytes.Hex(payloadHex);
        header.Length.Should().Be(24);
        int fill = -payload.Length & 3;
        var frame = new List<byte>();
        var mac = new byte[6];
        destination.WriteTo(mac);
        frame.AddRange(mac);
        source.WriteTo(mac);
        frame.AddRange(mac);
        frame.AddRange(new byte[] { 0x89, 0x06 });
        frame.AddRange(new byte[13]);
        frame.Add(sof);
        var content = header.Concat(payload).Concat(new byte[fill]).ToArray();
        frame.AddRange(content);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(crc, ReferenceCrc32.Compute(content));
        frame.AddRange(crc);
        frame.AddRange(new byte[] { eof, 0, 0, 0 });
        return [.. frame];
    }
}
