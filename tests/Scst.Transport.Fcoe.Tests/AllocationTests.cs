// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>The codecs of the I/O path allocate nothing: reading a command, writing Data-In, XFER_RDY and FCP_RSP.</summary>
public class AllocationTests
{
    [Fact]
    public void IoPathCodecs_AllocateNothing()
    {
        var command = Captures.PairFrame(96);
        var dataOut = Captures.PairFrame(99);
        var frame = new byte[FcoeFrame.MaxTaggedFrameLength];
        var sense = new byte[18];
        var data = new byte[FcoeFrame.MaxPayloadLength];

        RunIoPath(command, dataOut, frame, sense, data);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            RunIoPath(command, dataOut, frame, sense, data);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        allocated.Should().Be(0);
    }

    private static void RunIoPath(byte[] command, byte[] dataOut, byte[] frame, byte[] sense, byte[] data)
    {
        var mac = MacAddress.FromVn2VnPortId(1);
        // Plain checks: an assertion library allocates even when the assertion holds.
        if (FcoeFrame.TryRead(command, out var commandFrame) != FcoeReadResult.Success || !FcpCommand.TryRead(commandFrame.Payload, out var fcp))
        {
            throw new InvalidOperationException("The captured command does not decode.");
        }

        fcp.TryGetTaskAttribute(out _);
        var reply = commandFrame.Header.ToReply(RCtl.FcpTransferReady, FCtl.TransferReady, 7, 1);

        Span<byte> iu = stackalloc byte[FcpResponse.GetLength(sense.Length, hasResponseInfo: true)];
        int length = FcpTransferReady.Write(iu, 0, fcp.DataLength);
        FcoeFrame.Write(frame, mac, mac, null, Sof.SofI3, reply, iu[..length], Eof.EofT);
        if (FcoeFrame.TryRead(dataOut, out var dataFrame) != FcoeReadResult.Success)
        {
            throw new InvalidOperationException("The captured Data-Out frame does not decode.");
        }

        FcoeFrame.Write(frame, mac, mac, 100, Sof.SofN3, reply with { RCtl = RCtl.FcpData, FCtl = FCtl.DataIn }, data, Eof.EofN);
        FcoeFrame.WriteAroundPayload(frame, mac, mac, null, Sof.SofN3, reply with { RCtl = RCtl.FcpData, FCtl = FCtl.DataInLast }, 1000, Eof.EofT);
        length = FcpResponse.Write(iu, 2, FcpResponseFlags.ResidualUnder, (uint)dataFrame.Payload.Length, sense, FcpResponseCode.TaskManagementComplete);
        FcoeFrame.Write(frame, mac, mac, null, Sof.SofI3, reply with { RCtl = RCtl.FcpResponse, FCtl = FCtl.LastReply }, iu[..length], Eof.EofT);
    }
}
