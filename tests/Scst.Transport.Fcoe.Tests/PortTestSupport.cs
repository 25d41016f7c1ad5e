// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Fcoe.Port;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>Records what the link service responder tells the driver; answers ABTS and RRQ from sets of known exchanges.</summary>
internal sealed class RecordingLinkServiceEvents : ILinkServiceEvents
{
    public List<RemotePort> Established { get; } = [];

    public List<RemotePort> Ended { get; } = [];

    public HashSet<(uint Source, ushort OxId, ushort RxId)> KnownExchanges { get; } = [];

    public HashSet<(uint Originator, ushort OxId, ushort RxId)> HeldQualifiers { get; } = [];

    public List<(uint Source, uint Originator, ushort OxId, ushort RxId)> Released { get; } = [];

    public void ImagePairEstablished(RemotePort port) => Established.Add(port);

    public void ImagePairEnded(RemotePort port) => Ended.Add(port);

    public bool AbortExchange(uint sourceId, ushort oxId, ushort rxId) => KnownExchanges.Remove((sourceId, oxId, rxId));

    public bool ReleaseRecoveryQualifier(uint sourceId, uint originatorId, ushort oxId, ushort rxId)
    {
        Released.Add((sourceId, originatorId, oxId, rxId));
        return HeldQualifiers.Remove((originatorId, oxId, rxId));
    }
}

/// <summary>A responder, its table and its recorded events, with helpers to send it requests.</summary>
internal sealed class PortHarness
{
    public PortHarness(ulong portName, ulong nodeName, uint portId, bool targetEnabled = true)
    {
        Responder = new LinkServiceResponder(new LocalPortIdentity(portName, nodeName, portId, 2112), targetEnabled, Ports, Events);
    }

    public RemotePortTable Ports { get; } = new();

    public RecordingLinkServiceEvents Events { get; } = new();

    public LinkServiceResponder Responder { get; }

    public uint PortId => Responder.Identity.PortId;

    /// <summary>Sends an ELS request from <paramref name="source"/> and returns the reply header and payload.</summary>
    public (FcFrameHeader Header, byte[] Payload) Els(uint source, ReadOnlySpan<byte> payload, ushort oxId = 0x0010) =>
        Send(ElsCaptureTests.Request(source, PortId) with { OxId = oxId }, payload);

    public (FcFrameHeader Header, byte[] Payload) Send(FcFrameHeader header, ReadOnlySpan<byte> payload)
    {
        var reply = Bytes.Dirty(FcoeFrame.MaxPayloadLength);
        Responder.Respond(header, payload, MacAddress.FromVn2VnPortId(header.SourceId), reply, out var result).Should().BeTrue();
        return (result.Header, reply[..result.PayloadLength]);
    }

    /// <summary>Logs <paramref name="source"/> in with Linux-like service parameters and checks the accept.</summary>
    public void Login(uint source, ulong portName)
    {
        var (_, reply) = Els(source, PortPayloads.Plogi(portName));
        reply[0].Should().Be(ElsCode.LsAcc);
        Ports.IsLoggedIn(source).Should().BeTrue();
    }

    /// <summary>Logs <paramref name="source"/> in and establishes an FCP image pair.</summary>
    public void LoginWithImagePair(uint source, ulong portName)
    {
        Login(source, portName);
        var (_, reply) = Els(source, PortPayloads.Prli(PrliFlags.EstablishImagePair, 0x1A2));
        reply[6].Should().Be(PrliFlags.EstablishImagePair | PrliResponseCode.Executed);
        Ports.TryGet(source, out var port).Should().BeTrue();
        port!.ImagePairEstablished.Should().BeTrue();
    }
}

/// <summary>Hand-built ELS payloads.</summary>
internal static class PortPayloads
{
    public static byte[] Plogi(ulong portName, ushort class3Options = ClassServiceOptions.Valid | ClassServiceOptions.SequentialDelivery)
    {
        var parameters = new ServiceParameters
        {
            HighestVersion = ServiceParameters.FcPhVersion,
            LowestVersion = ServiceParameters.FcPhVersion,
            BbCredit = 10,
            CommonFeatures = CommonFeatures.ContinuouslyIncreasingOffset,
            ReceiveDataFieldSize = 2048,
            TotalConcurrentSequences = 255,
            ErrorDetectTimeout = 2000,
            PortName = portName,
            NodeName = portName ^ 0x3000_0000_0000_0000,
            Class3ServiceOptions = class3Options,
            Class3ReceiveDataFieldSize = 2048,
            Class3ConcurrentSequences = 255,
            Class3OpenSequencesPerExchange = 1,
        };
        var payload = new byte[ServiceParameters.Length];
        parameters.WriteTo(payload, ElsCode.Plogi);
        return payload;
    }

    public static byte[] Prli(byte flags, uint parameters, byte code = ElsCode.Prli, byte type = FcType.Fcp)
    {
        var payload = new byte[Protocol.Prli.SinglePageLength];
        Protocol.Prli.Write(payload, code, new PrliPage { Type = type, Flags = flags, Parameters = parameters });
        return payload;
    }

    public static byte[] Command(byte code, int length = Els.CommandLength)
    {
        var payload = new byte[length];
        payload[0] = code;
        return payload;
    }
}
