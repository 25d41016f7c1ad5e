// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Fcoe.Fip;
using Scst.Transport.Fcoe.Port;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// An ENode with one VN_Port on an <see cref="InMemoryEthernet"/> segment wired the way a driver would wire it, in the
/// smallest form: FIP to the <see cref="FabricController"/>; once its <see cref="FabricVnPort"/> is up, <see cref="FabricServices"/> started with the granted N_Port_ID
/// and a <see cref="LinkServiceResponder"/> made for it; FCoE frames to our FPMA go to the services (replies in their
/// OX_ID range, RSCN) or to the responder (everything else); what they answer goes to the FCF-MAC as FCoE frames.
/// </summary>
internal sealed class FabricNode : IDisposable
{
    private readonly byte[] _frame = new byte[FcoeFrame.MaxTaggedFrameLength];
    private readonly byte[] _reply = new byte[FcoeFrame.MaxPayloadLength];

    public FabricNode(InMemoryEthernet segment, MacAddress enodeMac, ulong portName, FabricOptions options, string? symbolicName = null,
        bool registerWithFabric = true, byte features = Fc4FeatureBits.Target)
    {
        Segment = segment;
        Link = segment.Attach(enodeMac, name: $"enode-{enodeMac}");
        Controller = new FabricController(Link, options, segment.Time);
        Port = Controller.AddPort(portName, options.NodeName);
        PortName = portName;
        NodeName = options.NodeName;
        var identity = new LocalPortIdentity(portName, options.NodeName, 0x000001, Controller.ReceiveDataFieldSize);
        var parameters = new LinkServiceResponder(identity, true, new RemotePortTable(), new RecordingLinkServiceEvents()).LocalServiceParameters;
        Services = new FabricServices(new FabricServicesOptions { ServiceParameters = parameters, SymbolicPortName = symbolicName, FcpFeatures = features },
            SendFc, segment.Time);
        Port.PortUp += (id, mac, fcf) =>
        {
            Events.Add($"up {id:x6} {mac} via {fcf}");
            Responder = new LinkServiceResponder(identity with { PortId = id }, true, new RemotePortTable(), LinkEvents);
            if (registerWithFabric)
            {
                Services.Start(id);
            }
        };
        Port.PortDown += id =>
        {
            Events.Add($"down {id:x6}");
            Services.Stop();
            Responder = null;
        };
        Services.StateChangeNotified += pages => Rscns.Add(pages);
        segment.SetReceiver(Link, Receive);
    }

    public InMemoryEthernet Segment { get; }

    public InMemoryFcoeLink Link { get; }

    public FabricController Controller { get; }

    /// <summary>The ENode's one VN_Port; starting it starts the ENode.</summary>
    public FabricVnPort Port { get; }

    public FabricServices Services { get; }

    public LinkServiceResponder? Responder { get; private set; }

    public RecordingLinkServiceEvents LinkEvents { get; } = new();

    public ulong PortName { get; }

    public ulong NodeName { get; }

    public List<string> Events { get; } = [];

    public List<IReadOnlyList<RscnPage>> Rscns { get; } = [];

    /// <summary>FCoE frames to us that neither the services nor the responder took (replies to our own test requests).</summary>
    public List<(FcFrameHeader Header, byte[] Payload)> Unclaimed { get; } = [];

    public void Dispose()
    {
        Services.Dispose();
        Controller.Dispose();
    }

    /// <summary>Sends an FC frame to the fabric from our FPMA (what the services' sender does).</summary>
    public void SendFc(in FcFrameHeader header, ReadOnlySpan<byte> payload)
    {
        int length = FcoeFrame.Write(_frame, Controller.FcfMac, Port.PortMac, Controller.VlanTag, Sof.SofI3, header, payload, Eof.EofT);
        Link.Send(_frame.AsSpan(0, length));
    }

    /// <summary>The header of a frame that opens an exchange (or continues one as its originator): no RX_ID yet.</summary>
    public static FcFrameHeader Request(byte rCtl, byte type, uint destination, uint source, ushort oxId) => new()
    {
        RCtl = rCtl, DestinationId = destination, SourceId = source, Type = type, FCtl = FCtl.Request, OxId = oxId,
        RxId = FcFrameHeader.UnassignedExchangeId,
    };

    /// <summary>Sends an FCP_CMND IU for <paramref name="cdb"/> from <paramref name="initiatorId"/> to <paramref name="targetId"/>.</summary>
    public void SendFcpCommand(byte[] cdb, uint length, bool write, uint targetId, uint initiatorId, ushort oxId)
    {
        var iu = new byte[FcpCommand.MinLength];
        FcpCommand.Write(iu, 0, cdb, length, readData: !write, writeData: write);
        SendFc(Request(RCtl.FcpCommand, FcType.Fcp, targetId, initiatorId, oxId), iu);
    }

    private void Receive(byte[] data)
    {
        if (!Ethernet.TryReadHeader(data, out ushort etherType, out _, out _))
        {
            return;
        }

        if (etherType == EtherType.Fip)
        {
            Controller.HandleFip(data);
            return;
        }

        if (FcoeFrame.TryRead(data, out var frame) != FcoeReadResult.Success || frame.Destination != Port.PortMac)
        {
            return;
        }

        var header = frame.Header;
        bool fromResponder = (header.FCtl & FCtl.ExchangeContext) != 0;
        if (fromResponder && Services.OwnsExchange(header.OxId))
        {
            Services.HandleReply(header, frame.Payload);
            return;
        }

        if (!fromResponder && Services.HandleRequest(header, frame.Payload, _reply, out var answer))
        {
            SendFc(answer.Header, _reply.AsSpan(0, answer.PayloadLength));
            return;
        }

        if (!fromResponder && Responder is { } responder
            && responder.Respond(header, frame.Payload, frame.Source, _reply, out var reply))
        {
            SendFc(reply.Header, _reply.AsSpan(0, reply.PayloadLength));
            return;
        }

        Unclaimed.Add((header, frame.Payload.ToArray()));
    }
}
