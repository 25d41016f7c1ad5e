// Licensed under the Apache License, Version 2.0.

using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using Scst.Testing;
using Scst.Transport.Fcoe.Fip;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>An FCoE frame the test initiator received, decoded (CRC checked) and copied.</summary>
internal sealed record ReceivedFcFrame(FcFrameHeader Header, byte[] Payload, byte Sof, byte Eof, MacAddress Source, MacAddress Destination);

/// <summary>What an FCP exchange brought back: XFER_RDY, Data-In frames and the FCP_RSP.</summary>
internal sealed record FcpExchangeResult(IReadOnlyList<ReceivedFcFrame> Frames, ReceivedFcFrame Response)
{
    public byte Status => Response.Payload[11];

    public FcpResponseFlags Flags => (FcpResponseFlags)Response.Payload[10];

    public uint Residual => System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(Response.Payload.AsSpan(12));

    public byte? ResponseCode => FcpResponse.TryRead(Response.Payload, out var view) ? view.ResponseCode : null;

    public byte[] Sense => FcpResponse.TryRead(Response.Payload, out var view) ? view.Sense.ToArray() : [];

    public IEnumerable<ReceivedFcFrame> DataIn => Frames.Where(f => f.Header.RCtl == RCtl.FcpData);

    public byte[] Data => [.. DataIn.OrderBy(f => f.Header.Parameter).SelectMany(f => f.Payload)];
}

/// <summary>
/// A hand-driven FCoE initiator on the other end of an in-memory link: its own VN2VN controller (FCP initiator
/// features) brings its VN_Port up; a pump hands FIP to it and queues every FCoE frame, each decoded with the CRC
/// checked (a frame that fails is counted, and tests assert there are none). Requests are built with the Protocol writers.
/// </summary>
internal sealed class TestFcoeInitiator : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly InMemoryFcoeLink _link;
    private readonly Channel<ReceivedFcFrame> _frames = Channel.CreateUnbounded<ReceivedFcFrame>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pump;
    private ushort _nextOxId = 0x0100;

    public TestFcoeInitiator(InMemoryFcoeLink link, FakeTimeProvider time, ulong portName, uint portId)
    {
        _link = link;
        PortName = portName;
        var options = new Vn2VnOptions
        {
            PortName = portName,
            NodeName = portName ^ 0x3000_0000_0000_0000,
            PreferredPortId = portId,
            Fc4Features = [new Fc4Feature(FcType.Fcp, Fc4FeatureBits.Initiator)],
        };
        Controller = new Vn2VnController(link, options, time, new Random(17), AnswerFipLinkService);
        _pump = Task.Run(PumpAsync);
    }

    public ulong PortName { get; }

    public Vn2VnController Controller { get; }

    public uint PortId => Controller.PortId;

    public MacAddress VnMac => Controller.VnMac;

    /// <summary>The FLOGIs that came inside FIP (from a target with a higher WWPN).</summary>
    public List<FcFrameHeader> FlogisReceived { get; } = [];

    /// <summary>FCoE frames that failed to decode (CRC, fill, delimiters).</summary>
    public int BadFrames { get; private set; }

    public uint TargetId { get; set; }

    public MacAddress TargetMac { get; set; }

    public ushort NextOxId() => _nextOxId++;

    public void Send(FcFrameHeader header, ReadOnlySpan<byte> payload, byte sof = Sof.SofI3, byte eof = Eof.EofT)
    {
        var frame = new byte[FcoeFrame.MaxFrameLength];
        int length = FcoeFrame.Write(frame, TargetMac, VnMac, null, sof, header, payload, eof);
        _link.Send(frame.AsSpan(0, length)).Should().BeTrue();
    }

    public FcFrameHeader Request(byte rCtl, byte type, ushort oxId, uint fCtl = FCtl.Request) => new()
    {
        RCtl = rCtl,
        DestinationId = TargetId,
        SourceId = PortId,
        Type = type,
        FCtl = fCtl,
        OxId = oxId,
        RxId = FcFrameHeader.UnassignedExchangeId,
    };

    /// <summary>The next FCoE frame, or a failure after <see cref="Patience"/>.</summary>
    public async Task<ReceivedFcFrame> ReceiveAsync()
    {
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            return await _frames.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TestAssertionException("The target sent no FCoE frame in time.");
        }
    }

    /// <summary>True when no frame is waiting (frames sent later are not seen).</summary>
    public bool TryReceive(out ReceivedFcFrame? frame) => _frames.Reader.TryRead(out frame);

    /// <summary>Sends an ELS request and returns the reply.</summary>
    public async Task<ReceivedFcFrame> ElsAsync(byte[] payload)
    {
        ushort ox = NextOxId();
        Send(Request(RCtl.ElsRequest, FcType.Els, ox), payload);
        var reply = await ReceiveAsync();
        reply.Header.RCtl.Should().Be(RCtl.ElsReply);
        reply.Header.OxId.Should().Be(ox);
        return reply;
    }

    /// <summary>PLOGI and PRLI with an image pair, as the Linux initiator asks (service parameters 0x1A2).</summary>
    public async Task LoginAsync()
    {
        var plogi = await ElsAsync(PortPayloads.Plogi(PortName));
        plogi.Payload[0].Should().Be(ElsCode.LsAcc);
        var prli = await ElsAsync(PortPayloads.Prli(PrliFlags.EstablishImagePair, 0x1A2));
        prli.Payload[0].Should().Be(ElsCode.LsAcc);
        (prli.Payload[6] & 0x0F).Should().Be(PrliResponseCode.Executed);
    }

    /// <summary>Sends an FCP_CMND; returns its OX_ID.</summary>
    public ushort SendCommand(ReadOnlySpan<byte> cdb, uint dataLength, bool read, bool write, ulong lun = 0, byte taskManagement = 0, ushort? oxId = null)
    {
        ushort ox = oxId ?? NextOxId();
        var iu = new byte[FcpCommand.GetLength(cdb.Length <= 16 ? 0 : (cdb.Length - 13) / 4, read && write)];
        int length = FcpCommand.Write(iu, lun, cdb, dataLength, read, write, taskManagementFlags: taskManagement);
        Send(Request(RCtl.FcpCommand, FcType.Fcp, ox), iu.AsSpan(0, length));
        return ox;
    }

    /// <summary>Sends write data for the exchange: frames of <paramref name="frameSize"/> bytes with relative offsets.</summary>
    public void SendData(ushort oxId, ushort rxId, ReadOnlySpan<byte> data, int frameSize = 2048, uint startOffset = 0, bool endSequence = true)
    {
        ushort count = 0;
        for (int offset = 0; offset < data.Length; offset += frameSize)
        {
            int length = Math.Min(frameSize, data.Length - offset);
            bool last = endSequence && offset + length == data.Length;
            var header = Request(RCtl.FcpData, FcType.Fcp, oxId, last ? FCtl.DataOutLast : FCtl.DataOut) with
            {
                RxId = rxId,
                SeqId = 1,
                SeqCnt = count++,
                Parameter = startOffset + (uint)offset,
            };
            Send(header, data.Slice(offset, length), count == 1 && startOffset == 0 ? Sof.SofI3 : Sof.SofN3, last ? Eof.EofT : Eof.EofN);
        }
    }

    /// <summary>Collects the frames of exchange <paramref name="oxId"/> up to its FCP_RSP.</summary>
    public async Task<FcpExchangeResult> CollectAsync(ushort oxId)
    {
        var frames = new List<ReceivedFcFrame>();
        while (true)
        {
            var frame = await ReceiveAsync();
            frame.Header.OxId.Should().Be(oxId, "frames of one exchange come before the next one's");
            frame.Header.Type.Should().Be(FcType.Fcp);
            if (frame.Header.RCtl == RCtl.FcpResponse)
            {
                return new FcpExchangeResult(frames, frame);
            }

            frames.Add(frame);
        }
    }

    /// <summary>A command without write data: FCP_CMND, then everything up to FCP_RSP.</summary>
    public async Task<FcpExchangeResult> ExecuteAsync(byte[] cdb, uint dataLength, bool read = true, ulong lun = 0) =>
        await CollectAsync(SendCommand(cdb, dataLength, read, write: false, lun));

    /// <summary>A write: FCP_CMND, XFER_RDY (checked), the data, then everything up to FCP_RSP.</summary>
    public async Task<FcpExchangeResult> WriteAsync(byte[] cdb, byte[] data, int frameSize = 2048, ulong lun = 0)
    {
        ushort ox = SendCommand(cdb, (uint)data.Length, read: false, write: true, lun);
        var ready = await ReceiveAsync();
        ready.Header.RCtl.Should().Be(RCtl.FcpTransferReady);
        ready.Header.FCtl.Should().Be(FCtl.TransferReady);
        FcpTransferReady.TryRead(ready.Payload, out uint offset, out uint burst).Should().BeTrue();
        offset.Should().Be(0);
        burst.Should().Be((uint)data.Length);
        SendData(ox, ready.Header.RxId, data, frameSize);
        var result = await CollectAsync(ox);
        return result with { Frames = [ready, .. result.Frames] };
    }

    public async ValueTask DisposeAsync()
    {
        Controller.Dispose();
        await _stop.CancelAsync();
        await _link.DisposeAsync();
        try
        {
            await _pump;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private int AnswerFipLinkService(FipDescriptorType encapsulation, FcFrameHeader header, ReadOnlySpan<byte> elsPayload, MacAddress senderMac,
        Span<byte> reply)
    {
        lock (FlogisReceived)
        {
            FlogisReceived.Add(header);
        }

        return ServiceParameters.TryRead(PortPayloads.Plogi(PortName), out var ours) ? ours.WriteTo(reply, ElsCode.LsAcc) : 0;
    }

    private async Task PumpAsync()
    {
        var buffer = new byte[FcoeFrame.MaxTaggedFrameLength];
        while (!_stop.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await _link.ReceiveAsync(buffer, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (length == 0)
            {
                return;
            }

            var frame = buffer.AsSpan(0, length);
            if (Ethernet.TryReadHeader(frame, out ushort etherType, out _, out _) && etherType == EtherType.Fip)
            {
                Controller.HandleFip(frame);
                continue;
            }

            if (FcoeFrame.TryRead(frame, out var fcoe) != FcoeReadResult.Success)
            {
                BadFrames++;
                continue;
            }

            _frames.Writer.TryWrite(new ReceivedFcFrame(fcoe.Header, fcoe.Payload.ToArray(), fcoe.Sof, fcoe.Eof, fcoe.Source, fcoe.Destination));
        }
    }
}
