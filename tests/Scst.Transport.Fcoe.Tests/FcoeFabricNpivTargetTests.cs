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
/// The FCoE target driver with two or three fabric-mode ports on one interface (one ENode, NPIV) on an emulated
/// fabric: one FIP FLOGI then FIP FDISCs, each port with its own N_Port_ID and FPMA, each registered with the name
/// server on its own, each serving its own LUN to an initiator that logs in through the FCF; a Clear Virtual Links of
/// one VN_Port, FCF silence and a port stopped affect only what they should. The FCF is this project's own emulator,
/// not an independent peer.
/// </summary>
public sealed class FcoeFabricNpivTargetTests : IAsyncLifetime
{
    private const ulong InitiatorName = 0x2000_5254_0012_3456;
    private static readonly MacAddress s_fcfMac = MacAddress.Parse("00:0d:ec:aa:bb:00");
    private static readonly MacAddress s_targetMac = MacAddress.Parse("02:00:00:00:0b:02");
    private static readonly ulong[] s_targetNames = [0x2000_0200_0000_0b02, 0x2001_0200_0000_0b02, 0x2002_0200_0000_0b02];

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly TempDirectory _dir = new();
    private InMemoryEthernet _net = null!;
    private FcfEmulator _fcf = null!;
    private ScstStack _stack = null!;
    private FcoeTargetDriver? _driver;
    private FabricNode _initiator = null!;

    public async ValueTask InitializeAsync()
    {
        _stack = await ScstStack.StartFileIoAsync(_dir.File("lun0.img"), "4M");
        for (int i = 1; i < s_targetNames.Length; i++)
        {
            _stack.Engine.AddDevice("vdisk_fileio", $"disk{i}", new Dictionary<string, string>
            {
                ["filename"] = _dir.File($"lun{i}.img"), ["size"] = "4M", ["blocksize"] = "512",
            });
        }

        _net = new InMemoryEthernet(_time);
        _fcf = new FcfEmulator(_net, new FcfEmulatorOptions { Mac = s_fcfMac });
        _fcf.Start();
        _initiator = new FabricNode(_net, MacAddress.Parse("52:54:00:12:34:56"), InitiatorName,
            new FabricOptions { NodeName = InitiatorName ^ 0x3000_0000_0000_0000 }, features: Fc4FeatureBits.Initiator);
    }

    public async ValueTask DisposeAsync()
    {
        if (_driver is not null)
        {
            await _driver.StopAsync(CancellationToken.None);
        }

        _initiator.Dispose();
        _fcf.Dispose();
        await _stack.DisposeAsync();
        _dir.Dispose();
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task PortsOnOneInterface_OneFlogiThenFdiscs_EachRegistered_AndEachServesItsOwnLun(int count)
    {
        var ports = await StartTargetAsync(count);

        _initiator.Port.Start();
        _net.RunUntil(() => ports.All(p => p.Fabric!.Value.Services.Registered) && _initiator.Services.Registered, TimeSpan.FromSeconds(10))
            .Should().BeTrue();

        _fcf.Flogis.Where(f => f.ENode == s_targetMac).Should().ContainSingle();
        _fcf.Fdiscs.Where(f => f.ENode == s_targetMac).Select(f => (f.PortName, f.Accepted)).Should()
            .Equal(s_targetNames.Skip(1).Take(count - 1).Select(name => (name, true)));
        _driver!.FabricInterfaces.Should().ContainSingle().Which.Ports.Should().Equal(ports);
        ports.Select(p => p.PortId).Should().OnlyHaveUniqueItems().And.NotContainNulls();
        ports.Select(p => p.LocalMac).Should().OnlyHaveUniqueItems();
        ports.Should().OnlyContain(p => p.LocalMac == MacAddress.FromFpma(MacAddress.DefaultFcMap, p.PortId!.Value));
        ports.Select(p => p.Fabric!.Value.VnPort.LoggedInByFdisc).Should().Equal(Enumerable.Range(0, count).Select(i => i > 0));
        for (int i = 0; i < ports.Length; i++)
        {
            var entry = _fcf.Registry[ports[i].PortId!.Value];
            (entry.PortName, entry.FcpFeatures, entry.HasType(FcType.Fcp)).Should().Be((s_targetNames[i], Fc4FeatureBits.Target, true));
        }

        var written = new List<byte[]>();
        for (int i = 0; i < ports.Length; i++)
        {
            uint targetId = ports[i].PortId!.Value;
            LogIn(targetId, (ushort)(0x0100 * (i + 1)));
            var data = new byte[4096];
            new Random(i + 1).NextBytes(data);
            await WriteAsync(targetId, data, (ushort)((0x0100 * (i + 1)) + 0x10));
            written.Add(data);
        }

        for (int i = 0; i < ports.Length; i++)
        {
            (await ReadAsync(ports[i].PortId!.Value, (ushort)((0x0100 * (i + 1)) + 0x20))).Should().Equal(written[i], "each target serves its own LUN");
            Target(i).Sessions.Should().ContainSingle().Which.InitiatorName.Should().Be(FcoeTargetDriver.FormatWwn(InitiatorName));
        }
    }

    [Fact]
    public async Task ClearVirtualLinks_OfOnePort_TakesOnlyItDown_AndItComesBackWithFdiscAndRegistersAgain()
    {
        var ports = await StartTargetAsync(2);
        _initiator.Port.Start();
        _net.RunUntil(() => ports.All(p => p.Fabric!.Value.Services.Registered) && _initiator.Services.Registered, TimeSpan.FromSeconds(10))
            .Should().BeTrue();
        uint firstId = ports[0].PortId!.Value, secondId = ports[1].PortId!.Value;
        LogIn(firstId, 0x0100);
        LogIn(secondId, 0x0200);
        Target(0).Sessions.Should().ContainSingle();
        Target(1).Sessions.Should().ContainSingle();

        var vnPort = ports[1].Fabric!.Value.VnPort;
        _fcf.ClearVirtualLinks(s_targetMac, new VnPortIdentity(vnPort.PortMac, secondId, s_targetNames[1]));
        _net.Pump();
        _net.RunUntil(() => ports[1].Fabric!.Value.Services.Registered, TimeSpan.FromSeconds(10)).Should().BeTrue();

        ports[0].PortId.Should().Be(firstId);
        Target(0).Sessions.Should().ContainSingle("the other VN_Port kept its link and its session");
        Target(1).Sessions.Should().BeEmpty("the cleared VN_Port logged its initiators out");
        uint newId = ports[1].PortId!.Value;
        newId.Should().NotBe(secondId);
        _fcf.Fdiscs.Where(f => f.ENode == s_targetMac && f.Accepted).Should().HaveCount(2);
        _fcf.Flogis.Where(f => f.ENode == s_targetMac).Should().ContainSingle();
        _fcf.Registry[newId].PortName.Should().Be(s_targetNames[1]);
        _fcf.Registry.Should().NotContainKey(secondId);

        var data = new byte[4096];
        new Random(7).NextBytes(data);
        LogIn(newId, 0x0300);
        await WriteAsync(newId, data, 0x0310);
        (await ReadAsync(newId, 0x0320)).Should().Equal(data);
    }

    [Fact]
    public async Task FcfSilence_TakesBothPortsDown_AndTheyComeBackFlogiThenFdisc()
    {
        var ports = await StartTargetAsync(2);
        _net.RunUntil(() => ports.All(p => p.Fabric!.Value.Services.Registered), TimeSpan.FromSeconds(10)).Should().BeTrue();

        _fcf.Silent = true;
        _net.RunUntil(() => ports.All(p => p.PortId is null), TimeSpan.FromSeconds(30)).Should().BeTrue("2.5 FKA periods without an advertisement");
        _fcf.Silent = false;
        _net.RunUntil(() => ports.All(p => p.PortId is not null && p.Fabric!.Value.Services.Registered), TimeSpan.FromSeconds(30)).Should().BeTrue();

        _fcf.Flogis.Where(f => f.ENode == s_targetMac).Should().HaveCount(2);
        _fcf.Fdiscs.Where(f => f.ENode == s_targetMac).Should().HaveCount(2);
        _fcf.LoginsOf(s_targetMac).Select(l => (l.PortName, l.ByFdisc)).Should().Equal((s_targetNames[0], false), (s_targetNames[1], true));
    }

    [Fact]
    public async Task APortStopped_SendsItsOwnLogo_AndTheOtherStaysLoggedInAndRegistered()
    {
        var ports = await StartTargetAsync(2);
        _net.RunUntil(() => ports.All(p => p.Fabric!.Value.Services.Registered), TimeSpan.FromSeconds(10)).Should().BeTrue();
        uint firstId = ports[0].PortId!.Value, secondId = ports[1].PortId!.Value;

        await ports[0].DisposeAsync();
        _net.Run(TimeSpan.FromSeconds(100));

        _fcf.Logouts.Select(l => (l.PortId, l.PortName)).Should().Equal((firstId, s_targetNames[0]));
        _fcf.LoginsOf(s_targetMac).Select(l => l.PortId).Should().Equal(secondId);
        _fcf.Registry[secondId].FcpFeatures.Should().Be(Fc4FeatureBits.Target);
        (ports[1].PortId, ports[1].Fabric!.Value.Services.Registered).Should().Be((secondId, true));
        _driver!.FabricInterfaces.Single().Ports.Should().Equal(ports[1]);
        _fcf.KeepAlives.Where(k => k.VnPort is not null).Select(k => k.VnPort!.Value.PortId).Should().Equal(secondId);
    }

    [Fact]
    public void TwoPortsOnOneInterface_WithoutPortNames_AreRefusedByTheValidator()
    {
        var options = new FcoeTargetOptions();
        options.Ports.Add(new FcoePortOptions { Interface = "eth0", Mode = FcoeMode.Fabric });
        options.Ports.Add(new FcoePortOptions { Interface = "eth0", Mode = FcoeMode.Fabric });
        options.Ports.Add(new FcoePortOptions { Interface = "eth1", Mode = FcoeMode.Fabric });

        var result = new FcoeTargetOptionsValidator().Validate(null, options);

        result.Failed.Should().BeTrue();
        result.Failures.Should().ContainSingle().Which.Should().Contain("eth0");
        options.Ports[1].PortName = FcoeTargetDriver.FormatWwn(s_targetNames[1]);
        new FcoeTargetOptionsValidator().Validate(null, options).Succeeded.Should().BeTrue();
    }

    private async Task<FcoePort[]> StartTargetAsync(int count)
    {
        var link = _net.Attach(s_targetMac, name: "target");
        var options = new FcoeTargetOptions();
        for (int i = 0; i < count; i++)
        {
            options.Ports.Add(new FcoePortOptions { Interface = "target", PortName = FcoeTargetDriver.FormatWwn(s_targetNames[i]), Mode = FcoeMode.Fabric });
        }

        int opened = 0;
        _driver = new FcoeTargetDriver(_stack.Engine, Options.Create(options))
        {
            OpenLink = _ =>
            {
                opened++;
                return link;
            },
            TimeProvider = _time,
            ReceiveLoops = false,
        };
        _stack.Engine.RegisterDriver(_driver);
        await _driver.StartAsync(CancellationToken.None);
        opened.Should().Be(1, "the ports of one interface share its link");
        _net.SetReceiver(link, frame => _driver.FabricInterfaces.Single().HandleFrame(frame));
        for (int i = 0; i < count; i++)
        {
            _stack.Engine.MapLun(Target(i), 0, i == 0 ? "disk0" : $"disk{i}");
        }

        return [.. _driver.Ports];
    }

    private ScsiTarget Target(int index) => _stack.Engine.FindTarget(FcoeTargetDriver.DriverName, FcoeTargetDriver.FormatWwn(s_targetNames[index]))!;

    // PLOGI and PRLI (image pair) through the FCF, both accepted.
    private void LogIn(uint targetId, ushort oxId)
    {
        uint initiatorId = _initiator.Port.PortId;
        _initiator.Unclaimed.Clear();
        var plogi = new byte[ServiceParameters.Length];
        _initiator.Responder!.LocalServiceParameters.WriteTo(plogi, ElsCode.Plogi);
        _initiator.SendFc(FabricNode.Request(RCtl.ElsRequest, FcType.Els, targetId, initiatorId, oxId), plogi);
        _initiator.SendFc(FabricNode.Request(RCtl.ElsRequest, FcType.Els, targetId, initiatorId, (ushort)(oxId + 1)),
            PortPayloads.Prli(PrliFlags.EstablishImagePair, 0x1A2));
        _net.Pump();
        _initiator.Unclaimed.Select(f => (f.Header.SourceId, f.Header.RCtl, f.Header.OxId, f.Payload[0])).Should()
            .Equal((targetId, RCtl.ElsReply, oxId, ElsCode.LsAcc), (targetId, RCtl.ElsReply, (ushort)(oxId + 1), ElsCode.LsAcc));
    }

    // WRITE(10) of 4 KiB at LBA 8: XFER_RDY, two data frames, GOOD.
    private async Task WriteAsync(uint targetId, byte[] data, ushort oxId)
    {
        uint initiatorId = _initiator.Port.PortId;
        _initiator.Unclaimed.Clear();
        _initiator.SendFcpCommand(CdbBuilder.Write10(8, 8), 4096, write: true, targetId, initiatorId, oxId);
        _net.Pump();
        var ready = _initiator.Unclaimed.Should().ContainSingle().Subject;
        (ready.Header.RCtl, ready.Header.SourceId).Should().Be((RCtl.FcpTransferReady, targetId));
        for (int i = 0; i < 2; i++)
        {
            var header = FabricNode.Request(RCtl.FcpData, FcType.Fcp, targetId, initiatorId, oxId) with
            {
                FCtl = i == 1 ? FCtl.DataOutLast : FCtl.DataOut, RxId = ready.Header.RxId, SeqId = 1, SeqCnt = (ushort)i, Parameter = (uint)(i * 2048),
            };
            _initiator.SendFc(header, data.AsSpan(i * 2048, 2048));
        }

        await _net.PumpUntilAsync(() => _initiator.Unclaimed.Count == 2);
        (_initiator.Unclaimed[1].Header.RCtl, _initiator.Unclaimed[1].Payload[11]).Should().Be((RCtl.FcpResponse, (byte)ScsiStatus.Good));
    }

    // READ(10) of 4 KiB at LBA 8: the data frames, then GOOD.
    private async Task<byte[]> ReadAsync(uint targetId, ushort oxId)
    {
        _initiator.Unclaimed.Clear();
        _initiator.SendFcpCommand(CdbBuilder.Read10(8, 8), 4096, write: false, targetId, _initiator.Port.PortId, oxId);
        await _net.PumpUntilAsync(() => _initiator.Unclaimed.Any(f => f.Header.RCtl == RCtl.FcpResponse));
        _initiator.Unclaimed.Should().OnlyContain(f => f.Header.SourceId == targetId && f.Header.OxId == oxId);
        _initiator.Unclaimed[^1].Payload[11].Should().Be((byte)ScsiStatus.Good);
        return [.. _initiator.Unclaimed.Where(f => f.Header.RCtl == RCtl.FcpData).SelectMany(f => f.Payload)];
    }
}
