// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Scst.Core;
using Scst.Testing;
using Scst.Transport.Fcoe.Fip;
using Scst.Transport.Fcoe.Port;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// The FCoE target driver in fabric mode (FC-BB-5) on an emulated fabric: it finds the FCF, logs in with FIP FLOGI,
/// registers with the name server as an FCP target, and an initiator on the same fabric finds it, logs in through the
/// FCF and reads and writes the LUN. The FCF is this project's own emulator, not an independent peer.
/// </summary>
public sealed class FcoeFabricTargetTests : IAsyncLifetime
{
    private const ulong TargetName = 0x2000_0200_0000_0b02;
    private const ulong InitiatorName = 0x2000_5254_0012_3456;
    private static readonly MacAddress s_fcfMac = MacAddress.Parse("00:0d:ec:aa:bb:00");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly TempDirectory _dir = new();
    private InMemoryEthernet _net = null!;
    private FcfEmulator _fcf = null!;
    private ScstStack _stack = null!;
    private FcoeTargetDriver _driver = null!;
    private FabricNode _initiator = null!;

    public async ValueTask InitializeAsync()
    {
        _stack = await ScstStack.StartFileIoAsync(_dir.File("lun0.img"), "4M");
        _net = new InMemoryEthernet(_time);
        _fcf = new FcfEmulator(_net, new FcfEmulatorOptions { Mac = s_fcfMac });
        _fcf.Start();
        var link = _net.Attach(MacAddress.Parse("02:00:00:00:0b:02"), name: "target");
        var options = new FcoeTargetOptions();
        options.Ports.Add(new FcoePortOptions { Interface = "target", PortName = FcoeTargetDriver.FormatWwn(TargetName), Mode = FcoeMode.Fabric });
        _driver = new FcoeTargetDriver(_stack.Engine, Options.Create(options)) { OpenLink = _ => link, TimeProvider = _time, ReceiveLoops = false };
        _stack.Engine.RegisterDriver(_driver);
        await _driver.StartAsync(CancellationToken.None);
        _net.SetReceiver(link, frame => _driver.FabricInterfaces.Single().HandleFrame(frame));
        _stack.Engine.MapLun(_stack.Engine.FindTarget(FcoeTargetDriver.DriverName, FcoeTargetDriver.FormatWwn(TargetName))!, 0, "disk0");
        _initiator = new FabricNode(_net, MacAddress.Parse("52:54:00:12:34:56"), InitiatorName,
            new FabricOptions { NodeName = InitiatorName ^ 0x3000_0000_0000_0000 }, features: Fc4FeatureBits.Initiator);
    }

    public async ValueTask DisposeAsync()
    {
        await _driver.StopAsync(CancellationToken.None);
        _initiator.Dispose();
        _fcf.Dispose();
        await _stack.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Target_RegistersAsAnFcpTarget_AndAnInitiatorOnTheFabricWritesAndReadsThroughTheFcf()
    {
        var port = _driver.Ports.Single();
        _initiator.Port.Start();
        _net.RunUntil(() => port.Fabric!.Value.Services.Registered && _initiator.Services.Registered, TimeSpan.FromSeconds(10)).Should().BeTrue();

        uint targetId = port.PortId!.Value;
        _fcf.Registry[targetId].PortName.Should().Be(TargetName);
        _fcf.Registry[targetId].FcpFeatures.Should().Be(Fc4FeatureBits.Target);
        _fcf.Registry[targetId].HasType(FcType.Fcp).Should().BeTrue();
        uint initiatorId = _initiator.Port.PortId;

        // PLOGI and PRLI through the FCF: the target's replies come back from the FCF's MAC as every fabric frame does.
        var plogi = new byte[ServiceParameters.Length];
        _initiator.Responder!.LocalServiceParameters.WriteTo(plogi, ElsCode.Plogi);
        _initiator.SendFc(FabricNode.Request(RCtl.ElsRequest, FcType.Els, targetId, initiatorId, 0x0011), plogi);
        _initiator.SendFc(FabricNode.Request(RCtl.ElsRequest, FcType.Els, targetId, initiatorId, 0x0012), PortPayloads.Prli(PrliFlags.EstablishImagePair, 0x1A2));
        _net.Pump();
        _initiator.Unclaimed.Select(f => (f.Header.RCtl, f.Header.OxId, f.Payload[0])).Should()
            .Equal((RCtl.ElsReply, (ushort)0x0011, ElsCode.LsAcc), (RCtl.ElsReply, (ushort)0x0012, ElsCode.LsAcc));
        _stack.Engine.FindTarget(FcoeTargetDriver.DriverName, FcoeTargetDriver.FormatWwn(TargetName))!.Sessions
            .Should().ContainSingle().Which.InitiatorName.Should().Be(FcoeTargetDriver.FormatWwn(InitiatorName));

        // WRITE(10) of 4 KiB: XFER_RDY, two data frames, GOOD; then READ(10) returns it.
        _initiator.Unclaimed.Clear();
        byte[] data = new byte[4096];
        new Random(3).NextBytes(data);
        _initiator.SendFcpCommand(CdbBuilder.Write10(8, 8), 4096, write: true, targetId, initiatorId, 0x0020);
        _net.Pump();
        var ready = _initiator.Unclaimed.Should().ContainSingle().Subject;
        ready.Header.RCtl.Should().Be(RCtl.FcpTransferReady);
        for (int i = 0; i < 2; i++)
        {
            var header = FabricNode.Request(RCtl.FcpData, FcType.Fcp, targetId, initiatorId, 0x0020) with
            {
                FCtl = i == 1 ? FCtl.DataOutLast : FCtl.DataOut, RxId = ready.Header.RxId, SeqId = 1, SeqCnt = (ushort)i, Parameter = (uint)(i * 2048),
            };
            _initiator.SendFc(header, data.AsSpan(i * 2048, 2048));
        }

        await _net.PumpUntilAsync(() => _initiator.Unclaimed.Count == 2);
        _initiator.Unclaimed[1].Header.RCtl.Should().Be(RCtl.FcpResponse);
        _initiator.Unclaimed[1].Payload[11].Should().Be((byte)ScsiStatus.Good);

        _initiator.Unclaimed.Clear();
        _initiator.SendFcpCommand(CdbBuilder.Read10(8, 8), 4096, write: false, targetId, initiatorId, 0x0021);
        await _net.PumpUntilAsync(() => _initiator.Unclaimed.Any(f => f.Header.RCtl == RCtl.FcpResponse));
        _initiator.Unclaimed.Where(f => f.Header.RCtl == RCtl.FcpData).SelectMany(f => f.Payload).Should().Equal(data);
        _initiator.Unclaimed[^1].Payload[11].Should().Be((byte)ScsiStatus.Good);
    }

    [Fact]
    public void FcfSilence_TakesThePortDown_AndItComesBackAndRegistersAgain()
    {
        var port = _driver.Ports.Single();
        var services = port.Fabric!.Value.Services;
        _net.RunUntil(() => services.Registered, TimeSpan.FromSeconds(10)).Should().BeTrue();

        _fcf.Silent = true;
        _net.RunUntil(() => port.PortId is null, TimeSpan.FromSeconds(30)).Should().BeTrue("2.5 FKA periods without an advertisement");
        _fcf.Silent = false;
        _net.RunUntil(() => port.PortId is not null && services.Registered, TimeSpan.FromSeconds(30)).Should().BeTrue();
        _fcf.Registry[port.PortId!.Value].PortName.Should().Be(TargetName);
    }
}
