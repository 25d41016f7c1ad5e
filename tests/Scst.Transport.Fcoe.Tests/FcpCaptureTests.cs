// Licensed under the Apache License, Version 2.0.

using System.Text;
using Scst.Core;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// The FCP frames of the pair capture (the Linux initiator's commands and Data-Out, LIO's XFER_RDY, Data-In and
/// FCP_RSP): decoded fields against what l2tool.py shows, then written again with the FCP and FCoE writers.
/// </summary>
public class FcpCaptureTests
{
    private static FcFrameHeader Command(ushort oxId = 0) => new()
    {
        RCtl = RCtl.FcpCommand,
        DestinationId = Captures.TargetPortId,
        SourceId = Captures.InitiatorPortId,
        Type = FcType.Fcp,
        FCtl = FCtl.Request,
        OxId = oxId,
        RxId = FcFrameHeader.UnassignedExchangeId,
    };

    [Fact]
    public void FcpCommand_Inquiry_Decodes_AndIsWrittenIdentically()
    {
        // 16.5693 0e:fd:00:00:00:01 > 0e:fd:00:00:00:02 len=92 FC FCP_CMND lun=0000000000000000 INQUIRY dl=36
        //   S_ID=000001 D_ID=000002 type=0x08 ox=0x0000 rx=0xffff f_ctl=0x290000
        var captured = Captures.PairFrame(23);

        FcoeFrame.TryRead(captured, out var frame).Should().Be(FcoeReadResult.Success);
        frame.Header.Should().Be(Command());
        FcpCommand.TryRead(frame.Payload, out var command).Should().BeTrue();
        command.Lun.Should().Be(0);
        command.Cdb.ToArray().Should().Equal(0x12, 0, 0, 0, 0x24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        command.DataLength.Should().Be(36);
        command.ReadData.Should().BeTrue();
        command.WriteData.Should().BeFalse();
        command.TaskAttribute.Should().Be(FcpTaskAttribute.Simple);
        command.TryGetTaskAttribute(out var attribute).Should().BeTrue();
        attribute.Should().Be(TaskAttribute.Simple);
        command.IsTaskManagement.Should().BeFalse();
        command.AdditionalCdbWords.Should().Be(0);
        command.CommandReferenceNumber.Should().Be(0);

        var payload = Bytes.Dirty(FcpCommand.MinLength);
        FcpCommand.Write(payload, 0, [0x12, 0, 0, 0, 0x24, 0], 36, readData: true, writeData: false).Should().Be(FcpCommand.MinLength);
        ElsCaptureTests.AssertWrittenIdentically(captured, Captures.TargetVnMac, Captures.InitiatorVnMac, Sof.SofI3, Command(), payload, Eof.EofT);
    }

    [Fact]
    public void FcpCommand_Write10_CarriesWrdataAndOneMebibyte()
    {
        // 17.9... FC FCP_CMND lun=0000000000000000 WRITE(10) dl=1048576
        var captured = Captures.PairFrame(96);

        FcoeFrame.TryRead(captured, out var frame).Should().Be(FcoeReadResult.Success);
        FcpCommand.TryRead(frame.Payload, out var command).Should().BeTrue();
        command.Cdb[0].Should().Be(0x2A);
        command.WriteData.Should().BeTrue();
        command.ReadData.Should().BeFalse();
        command.DataLength.Should().Be(1_048_576);
        command.Priority.Should().Be(0);

        var payload = Bytes.Dirty(FcpCommand.MinLength);
        FcpCommand.Write(payload, 0, command.Cdb, 1_048_576, readData: false, writeData: true);
        ElsCaptureTests.AssertWrittenIdentically(captured, Captures.TargetVnMac, Captures.InitiatorVnMac, Sof.SofI3, Command(), payload, Eof.EofT);
    }

    [Fact]
    public void DataIn_SingleFrameSequence_IsSofI3EofT_AndIsWrittenIdentically()
    {
        // 16.5747 0e:fd:00:00:00:02 > 0e:fd:00:00:00:01 len=96 FC FCP_DATA 36 bytes ... rx=0x0000 f_ctl=0x880008
        var captured = Captures.PairFrame(24);

        FcoeFrame.TryRead(captured, out var frame).Should().Be(FcoeReadResult.Success);
        var header = Command().ToReply(RCtl.FcpData, FCtl.DataInLast, 0, seqId: 1);
        frame.Header.Should().Be(header);
        frame.Sof.Should().Be(Sof.SofI3);
        frame.Eof.Should().Be(Eof.EofT);
        frame.Payload.Length.Should().Be(36);
        Encoding.ASCII.GetString(frame.Payload[8..16]).Should().Be("LIO-ORG ");

        ElsCaptureTests.AssertWrittenIdentically(captured, Captures.InitiatorVnMac, Captures.TargetVnMac, Sof.SofI3, header,
            frame.Payload.ToArray(), Eof.EofT);
    }

    [Fact]
    public void DataIn_TwoFrameSequence_UsesSofN3AndTheRelativeOffsetOnTheSecondFrame()
    {
        // 16.6848 len=2172 FC FCP_DATA 2112 bytes f_ctl=0x800008; 16.6854 len=2044 FC FCP_DATA 1984 bytes f_ctl=0x880008
        var first = Captures.PairFrame(69);
        var second = Captures.PairFrame(70);

        FcoeFrame.TryRead(first, out var firstFrame).Should().Be(FcoeReadResult.Success);
        FcoeFrame.TryRead(second, out var secondFrame).Should().Be(FcoeReadResult.Success);
        var header = Command().ToReply(RCtl.FcpData, FCtl.DataIn, 0, seqId: 1);
        firstFrame.Header.Should().Be(header);
        firstFrame.Sof.Should().Be(Sof.SofI3);
        firstFrame.Eof.Should().Be(Eof.EofN);
        firstFrame.Payload.Length.Should().Be(FcoeFrame.MaxPayloadLength);
        first.Length.Should().Be(FcoeFrame.MaxFrameLength);
        var last = header with { FCtl = FCtl.DataInLast, SeqCnt = 1, Parameter = 2112 };
        secondFrame.Header.Should().Be(last);
        secondFrame.Sof.Should().Be(Sof.SofN3);
        secondFrame.Eof.Should().Be(Eof.EofT);
        secondFrame.Payload.Length.Should().Be(4096 - 2112);

        ElsCaptureTests.AssertWrittenIdentically(first, Captures.InitiatorVnMac, Captures.TargetVnMac, Sof.SofI3, header,
            firstFrame.Payload.ToArray(), Eof.EofN);
        ElsCaptureTests.AssertWrittenIdentically(second, Captures.InitiatorVnMac, Captures.TargetVnMac, Sof.SofN3, last,
            secondFrame.Payload.ToArray(), Eof.EofT);
    }

    [Fact]
    public void DataIn_WrittenAroundAPayloadAlreadyInPlace_IsTheCapturedFrame()
    {
        var captured = Captures.PairFrame(70);
        FcoeFrame.TryRead(captured, out var frame).Should().Be(FcoeReadResult.Success);
        var buffer = Bytes.Dirty(FcoeFrame.MaxFrameLength);
        frame.Payload.CopyTo(buffer.AsSpan(FcoeFrame.GetPayloadOffset(tagged: false)));

        int length = FcoeFrame.WriteAroundPayload(buffer, frame.Destination, frame.Source, null, frame.Sof, frame.Header,
            frame.Payload.Length, frame.Eof);

        Bytes.Equal(captured, buffer.AsSpan(0, length));
    }

    [Fact]
    public void FcpResponse_Good_IsWrittenIdentically()
    {
        // 16.5754 0e:fd:00:00:00:02 > 0e:fd:00:00:00:01 len=84 FC FCP_RSP status=0x00 flags=0x00 ... f_ctl=0x980000
        var captured = Captures.PairFrame(25);

        FcoeFrame.TryRead(captured, out var frame).Should().Be(FcoeReadResult.Success);
        var header = Command().ToReply(RCtl.FcpResponse, FCtl.LastReply, 0, seqId: 2);
        frame.Header.Should().Be(header);
        FcpResponse.TryRead(frame.Payload, out var response).Should().BeTrue();
        response.Status.Should().Be((byte)ScsiStatus.Good);
        response.Flags.Should().Be(FcpResponseFlags.None);
        response.Residual.Should().Be(0);
        response.Sense.IsEmpty.Should().BeTrue();
        response.ResponseCode.Should().BeNull();

        var payload = Bytes.Dirty(FcpResponse.HeaderLength);
        FcpResponse.Write(payload, 0, FcpResponseFlags.None, 0, default).Should().Be(24);
        ElsCaptureTests.AssertWrittenIdentically(captured, Captures.InitiatorVnMac, Captures.TargetVnMac, Sof.SofI3, header, payload, Eof.EofT);
    }

    [Fact]
    public void FcpResponse_WithResidualUnder_IsWrittenIdentically()
    {
        // 16.5993 ... FC FCP_RSP status=0x00 flags=0x08: REPORT LUNS dl=4096 answered with 16 bytes, residual 4080.
        var captured = Captures.PairFrame(37);

        FcoeFrame.TryRead(captured, out var frame).Should().Be(FcoeReadResult.Success);
        FcpResponse.TryRead(frame.Payload, out var response).Should().BeTrue();
        response.Flags.Should().Be(FcpResponseFlags.ResidualUnder);
        response.Residual.Should().Be(4096 - 16);

        var payload = Bytes.Dirty(FcpResponse.HeaderLength);
        FcpResponse.Write(payload, 0, FcpResponseFlags.ResidualUnder, 4080, default);
        ElsCaptureTests.AssertWrittenIdentically(captured, Captures.InitiatorVnMac, Captures.TargetVnMac, Sof.SofI3,
            Command().ToReply(RCtl.FcpResponse, FCtl.LastReply, 0, seqId: 2), payload, Eof.EofT);
    }

    [Fact]
    public void FcpResponse_CheckConditionWithSense_DecodesTheSense_AndIsWrittenIdentically()
    {
        // 16.6343 ... len=180 FC FCP_RSP status=0x02 flags=0x02: MAINTENANCE IN (REPORT SUPPORTED OPCODES) refused
        // with ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE; LIO sends its whole 96-byte sense buffer.
        var captured = Captures.PairFrame(50);

        FcoeFrame.TryRead(captured, out var frame).Should().Be(FcoeReadResult.Success);
        var header = Command().ToReply(RCtl.FcpResponse, FCtl.LastReply, 0, seqId: 1);
        frame.Header.Should().Be(header);
        FcpResponse.TryRead(frame.Payload, out var response).Should().BeTrue();
        response.Status.Should().Be((byte)ScsiStatus.CheckCondition);
        response.Flags.Should().Be(FcpResponseFlags.SenseValid);
        response.Sense.Length.Should().Be(96);
        response.Sense[0].Should().Be(0x70);
        (response.Sense[2] & 0x0F).Should().Be((int)SenseKey.IllegalRequest);
        response.Sense[12].Should().Be(0x20);
        response.Sense[13].Should().Be(0x00);

        var sense = new byte[96];
        sense[0] = 0x70;
        sense[2] = (byte)SenseKey.IllegalRequest;
        sense[7] = 10;
        sense[12] = 0x20;
        var payload = Bytes.Dirty(FcpResponse.GetLength(96, hasResponseInfo: false));
        FcpResponse.Write(payload, (byte)ScsiStatus.CheckCondition, FcpResponseFlags.None, 0, sense).Should().Be(120);
        ElsCaptureTests.AssertWrittenIdentically(captured, Captures.InitiatorVnMac, Captures.TargetVnMac, Sof.SofI3, header, payload, Eof.EofT);
    }

    [Fact]
    public void TransferReady_Decodes_AndIsWrittenIdentically()
    {
        // FC FCP_XFER_RDY off=0 burst=1048576 S_ID=000002 D_ID=000001 ox=0x0000 rx=0x0000 f_ctl=0x890000
        var captured = Captures.PairFrame(97);

        FcoeFrame.TryRead(captured, out var frame).Should().Be(FcoeReadResult.Success);
        var header = Command().ToReply(RCtl.FcpTransferReady, FCtl.TransferReady, 0, seqId: 1);
        frame.Header.Should().Be(header);
        FcpTransferReady.TryRead(frame.Payload, out uint offset, out uint burst).Should().BeTrue();
        offset.Should().Be(0);
        burst.Should().Be(1_048_576);

        var payload = Bytes.Dirty(FcpTransferReady.Length);
        FcpTransferReady.Write(payload, 0, 1_048_576).Should().Be(12);
        ElsCaptureTests.AssertWrittenIdentically(captured, Captures.InitiatorVnMac, Captures.TargetVnMac, Sof.SofI3, header, payload, Eof.EofT);
    }

    [Fact]
    public void DataOut_FromTheInitiator_CarriesNoExchangeContextAndItsOffsets()
    {
        // FC FCP_DATA 2048 bytes S_ID=000001 D_ID=000002 ox=0x0000 rx=0x0000 f_ctl=0x000008
        var first = Captures.PairFrame(98);
        var second = Captures.PairFrame(99);

        FcoeFrame.TryRead(first, out var firstFrame).Should().Be(FcoeReadResult.Success);
        var header = Command() with { RCtl = RCtl.FcpData, FCtl = FCtl.DataOut, SeqId = 1, RxId = 0 };
        firstFrame.Header.Should().Be(header);
        firstFrame.Sof.Should().Be(Sof.SofI3);
        firstFrame.Eof.Should().Be(Eof.EofN);
        firstFrame.Payload.Length.Should().Be(2048);
        FcoeFrame.TryRead(second, out var secondFrame).Should().Be(FcoeReadResult.Success);
        secondFrame.Header.Should().Be(header with { SeqCnt = 1, Parameter = 2048 });
        secondFrame.Sof.Should().Be(Sof.SofN3);

        ElsCaptureTests.AssertWrittenIdentically(first, Captures.TargetVnMac, Captures.InitiatorVnMac, Sof.SofI3, header,
            firstFrame.Payload.ToArray(), Eof.EofN);
    }
}
