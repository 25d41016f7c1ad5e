// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Scst.Core;
using Scst.Testing;
using Scst.Testing.Pcap;
using Scst.Transport.Fcoe.Link;
using Scst.Transport.Fcoe.Port;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// The FCoE target driver end to end over an in-memory Ethernet link: a hand-driven initiator with its own VN2VN
/// controller brings its port up next to ours, logs in (or is logged in to) and runs FCP exchanges against a fileio LUN;
/// every frame the target sends is decoded with the CRC checked, and its FC header fields are asserted.
/// </summary>
public sealed class FcoeTargetTests : IAsyncLifetime
{
    private const ulong LowTargetName = 0x2000_0200_0000_0b02;
    private const ulong HighTargetName = 0x2000_fe00_0000_0b02;
    private const ulong InitiatorName = 0x2000_5254_0012_3456;
    private const uint InitiatorId = 0x003456;
    private static readonly MacAddress s_targetENode = MacAddress.Parse("02:00:00:00:0b:02");
    private static readonly MacAddress s_initiatorENode = MacAddress.Parse("52:54:00:12:34:56");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly TempDirectory _dir = new();
    private ScstStack _stack = null!;
    private FcoeTargetDriver _driver = null!;
    private InMemoryFcoeLink _targetLink = null!;
    private TestFcoeInitiator _initiator = null!;

    private FcoePort Port => _driver.Ports.Single();

    public async ValueTask InitializeAsync() => _stack = await ScstStack.StartFileIoAsync(_dir.File("lun0.img"), "4M");

    public async ValueTask DisposeAsync()
    {
        if (_driver is not null)
        {
            await _driver.StopAsync(CancellationToken.None);
        }

        if (_initiator is not null)
        {
            await _initiator.DisposeAsync();
        }

        await _stack.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Initiator_LogsIn_AndReadsInquiry_InOneDataInFrameWithFill_ThenGoodStatusWithTheResidual()
    {
        await StartAsync(LowTargetName, capture: null);
        await _initiator.LoginAsync();
        _stack.Engine.FindTarget(FcoeTargetDriver.DriverName, FcoeTargetDriver.FormatWwn(LowTargetName))!.Sessions
            .Should().ContainSingle().Which.InitiatorName.Should().Be("20:00:52:54:00:12:34:56");

        // 37 bytes asked for in the CDB, 64 expected by FCP_DL: a 37-byte frame padded to 40, and a residual of 27.
        var result = await _initiator.ExecuteAsync(CdbBuilder.Inquiry(allocationLength: 37), 64);

        result.Status.Should().Be((byte)ScsiStatus.Good);
        var data = result.DataIn.Should().ContainSingle().Subject;
        data.Header.FCtl.Should().Be(FCtl.DataInLast | 3, "the last Data-In frame ends its sequence and carries the fill count");
        data.Sof.Should().Be(Sof.SofI3);
        data.Eof.Should().Be(Eof.EofT);
        data.Payload.Should().HaveCount(37);
        data.Payload[0].Should().Be(0x00, "a disk");
        data.Header.SourceId.Should().Be(Port.PortId!.Value);
        data.Header.DestinationId.Should().Be(InitiatorId);
        result.Flags.Should().Be(FcpResponseFlags.ResidualUnder);
        result.Residual.Should().Be(27);
        result.Response.Header.FCtl.Should().Be(FCtl.LastReply);
        result.Response.Header.RxId.Should().Be(data.Header.RxId);
        result.Response.Header.SeqId.Should().NotBe(data.Header.SeqId, "the response is a sequence of its own");
        _initiator.BadFrames.Should().Be(0);
    }

    [Fact]
    public async Task Write256K_InFramesOf2048_ThenRead_ReturnsTheData_InFramesOfTheNegotiatedSize()
    {
        await StartAsync(LowTargetName, capture: null);
        await _initiator.LoginAsync();
        byte[] data = new byte[256 * 1024];
        new Random(5).NextBytes(data);

        var write = await _initiator.WriteAsync(CdbBuilder.Write10(100, 512), data);
        write.Status.Should().Be((byte)ScsiStatus.Good);
        write.Flags.Should().Be(FcpResponseFlags.None);

        var read = await _initiator.ExecuteAsync(CdbBuilder.Read10(100, 512), (uint)data.Length);
        read.Status.Should().Be((byte)ScsiStatus.Good);
        read.Data.Should().Equal(data);
        var frames = read.DataIn.ToList();
        frames.Should().AllSatisfy(f => f.Payload.Length.Should().BeLessThanOrEqualTo(2048, "the initiator receives 2048-byte payloads"));
        frames.Select(f => (int)f.Header.SeqCnt).Should().Equal(Enumerable.Range(0, frames.Count));
        frames.Select(f => f.Header.Parameter).Should().BeInAscendingOrder();
        frames[0].Sof.Should().Be(Sof.SofI3);
        frames.Skip(1).Should().AllSatisfy(f => f.Sof.Should().Be(Sof.SofN3));
        frames.SkipLast(1).Should().AllSatisfy(f => (f.Eof, f.Header.FCtl).Should().Be((Eof.EofN, FCtl.DataIn)));
        (frames[^1].Eof, frames[^1].Header.FCtl).Should().Be((Eof.EofT, FCtl.DataInLast));
        frames.Select(f => f.Header.SeqId).Distinct().Should().ContainSingle();
        Port.Exchanges.InUse.Should().Be(0);
        _stack.Engine.OutstandingBuffers.Should().Be(0);
    }

    [Fact]
    public async Task LunReset_AnswersTaskManagementComplete_AndTheNextCommandSeesTheResetUnitAttention()
    {
        await StartAsync(LowTargetName, capture: null);
        await _initiator.LoginAsync();

        ushort ox = _initiator.SendCommand(new byte[16], 0, read: false, write: false, taskManagement: FcpTaskManagement.LogicalUnitReset);
        var reset = await _initiator.CollectAsync(ox);
        reset.Frames.Should().BeEmpty();
        reset.ResponseCode.Should().Be(FcpResponseCode.TaskManagementComplete);
        reset.Flags.Should().HaveFlag(FcpResponseFlags.ResponseInfoValid);

        var tur = await _initiator.ExecuteAsync(CdbBuilder.TestUnitReady(), 0, read: false);
        tur.Status.Should().Be((byte)ScsiStatus.CheckCondition);
        SenseAssert.HasCode(tur.Sense, new SenseCode(SenseKey.UnitAttention, 0x29, 0x03));
        (await _initiator.ExecuteAsync(CdbBuilder.TestUnitReady(), 0, read: false)).Status.Should().Be((byte)ScsiStatus.Good);
    }

    [Fact]
    public async Task TwoTaskManagementFlags_AreInvalidCommandFields()
    {
        await StartAsync(LowTargetName, capture: null);
        await _initiator.LoginAsync();
        ushort ox = _initiator.SendCommand(new byte[16], 0, false, false,
            taskManagement: FcpTaskManagement.LogicalUnitReset | FcpTaskManagement.ClearTaskSet);
        (await _initiator.CollectAsync(ox)).ResponseCode.Should().Be(FcpResponseCode.InvalidCommandFields);
    }

    [Fact]
    public async Task Abts_OnAWriteWaitingForData_IsAccepted_NoResponseFollows_AndRrqFreesTheExchange()
    {
        await StartAsync(LowTargetName, capture: null);
        await _initiator.LoginAsync();
        ushort ox = _initiator.SendCommand(CdbBuilder.Write10(0, 8), 4096, read: false, write: true);
        var ready = await _initiator.ReceiveAsync();
        ready.Header.RCtl.Should().Be(RCtl.FcpTransferReady);
        ushort rx = ready.Header.RxId;

        _initiator.Send(_initiator.Request(RCtl.Abts, FcType.Bls, ox, FCtl.Abts) with { RxId = rx }, default);
        var accept = await _initiator.ReceiveAsync();
        accept.Header.RCtl.Should().Be(RCtl.BaAcc);
        (accept.Header.OxId, accept.Header.RxId).Should().Be((ox, rx));
        await WaitUntilAsync(() => _stack.Engine.OutstandingBuffers == 0);
        Port.Exchanges.InUse.Should().Be(1, "the recovery qualifier is held until RRQ");

        var rrq = new byte[RrqPayload.Length];
        new RrqPayload(_initiator.PortId, ox, rx).WriteTo(rrq);
        (await _initiator.ElsAsync(rrq)).Payload[0].Should().Be(ElsCode.LsAcc);
        Port.Exchanges.InUse.Should().Be(0);

        // The same OX_ID opens a new exchange, and nothing of the aborted one ever came.
        var tur = await _initiator.ExecuteAsync(CdbBuilder.TestUnitReady(), 0, read: false);
        tur.Status.Should().Be((byte)ScsiStatus.Good);
        _initiator.TryReceive(out _).Should().BeFalse();
    }

    [Fact]
    public async Task LostDataFrame_LeavesTheWriteWaiting_UntilTheInitiatorsAbts_ThenEverythingIsReleased()
    {
        await StartAsync(LowTargetName, capture: null);
        await _initiator.LoginAsync();
        ushort ox = _initiator.SendCommand(CdbBuilder.Write10(0, 16), 8192, read: false, write: true);
        var ready = await _initiator.ReceiveAsync();

        // Frames 0 and 2 of 4 arrive (1 was lost), 3 never leaves: the exchange waits, no response comes.
        var data = new byte[8192];
        _initiator.SendData(ox, ready.Header.RxId, data.AsSpan(0, 2048), endSequence: false);
        _initiator.SendData(ox, ready.Header.RxId, data.AsSpan(4096, 2048), startOffset: 4096, endSequence: false);
        await Task.Delay(50, TestContext.Current.CancellationToken);
        _initiator.TryReceive(out _).Should().BeFalse();
        Port.Exchanges.InUse.Should().Be(1);

        _initiator.Send(_initiator.Request(RCtl.Abts, FcType.Bls, ox, FCtl.Abts) with { RxId = ready.Header.RxId }, default);
        (await _initiator.ReceiveAsync()).Header.RCtl.Should().Be(RCtl.BaAcc);
        await WaitUntilAsync(() => _stack.Engine.OutstandingBuffers == 0);

        // Without RRQ the qualifier lapses after R_A_TOV.
        Step(FcoePort.ResourceAllocationTimeout + TimeSpan.FromMilliseconds(300));
        await WaitUntilAsync(() => Port.Exchanges.InUse == 0);
    }

    [Fact]
    public async Task FullExchangeTable_AnswersTaskSetFull_AndLogoReleasesTheWaitingWrites()
    {
        await StartAsync(LowTargetName, capture: null, maxExchanges: 16);
        await _initiator.LoginAsync();
        for (int i = 0; i < 16; i++)
        {
            _initiator.SendCommand(CdbBuilder.Write10((uint)i, 1), 512, read: false, write: true);
            (await _initiator.ReceiveAsync()).Header.RCtl.Should().Be(RCtl.FcpTransferReady);
        }

        ushort ox = _initiator.SendCommand(CdbBuilder.TestUnitReady(), 0, false, false);
        var full = await _initiator.CollectAsync(ox);
        full.Status.Should().Be((byte)ScsiStatus.TaskSetFull);
        full.Response.Header.RxId.Should().Be(FcFrameHeader.UnassignedExchangeId);

        var logo = new byte[LogoPayload.Length];
        new LogoPayload(_initiator.PortId, InitiatorName).WriteTo(logo);
        (await _initiator.ElsAsync(logo)).Payload[0].Should().Be(ElsCode.LsAcc);
        await WaitUntilAsync(() => Port.Exchanges.InUse == 0 && _stack.Engine.OutstandingBuffers == 0);
        _initiator.TryReceive(out _).Should().BeFalse("nothing is sent for the exchanges of an ended session");
    }

    [Fact]
    public async Task Abts_ForAnUnknownExchange_GetsBaRjt()
    {
        await StartAsync(LowTargetName, capture: null);
        await _initiator.LoginAsync();
        _initiator.Send(_initiator.Request(RCtl.Abts, FcType.Bls, 0x4444, FCtl.Abts), default);
        (await _initiator.ReceiveAsync()).Header.RCtl.Should().Be(RCtl.BaRjt);
    }

    [Fact]
    public async Task Command_FromAPortWithoutLogin_IsAnsweredWithLogo()
    {
        await StartAsync(LowTargetName, capture: null);
        _initiator.SendCommand(CdbBuilder.TestUnitReady(), 0, false, false);
        var logo = await _initiator.ReceiveAsync();
        logo.Header.RCtl.Should().Be(RCtl.ElsRequest);
        logo.Payload[0].Should().Be(ElsCode.Logo);
        LogoPayload.TryRead(logo.Payload, out var body).Should().BeTrue();
        body.PortName.Should().Be(LowTargetName);
    }

    [Fact]
    public async Task MalformedCommand_GetsInvalidCommandFields_AndTheSessionGoesOn()
    {
        await StartAsync(LowTargetName, capture: null);
        await _initiator.LoginAsync();
        ushort ox = _initiator.NextOxId();
        _initiator.Send(_initiator.Request(RCtl.FcpCommand, FcType.Fcp, ox), new byte[20]);
        var answer = await _initiator.CollectAsync(ox);
        answer.ResponseCode.Should().Be(FcpResponseCode.InvalidCommandFields);
        (await _initiator.ExecuteAsync(CdbBuilder.TestUnitReady(), 0, read: false)).Status.Should().Be((byte)ScsiStatus.Good);
    }

    [Fact]
    public async Task WriteData_BeyondTheBurst_FailsTheCommandWithDataPhaseError()
    {
        await StartAsync(LowTargetName, capture: null);
        await _initiator.LoginAsync();
        ushort ox = _initiator.SendCommand(CdbBuilder.Write10(0, 1), 512, read: false, write: true);
        var ready = await _initiator.ReceiveAsync();
        _initiator.SendData(ox, ready.Header.RxId, new byte[512], startOffset: 512);
        var result = await _initiator.CollectAsync(ox);
        result.Status.Should().Be((byte)ScsiStatus.CheckCondition);
        SenseAssert.HasCode(result.Sense, SenseCode.DataPhaseError);
    }

    [Fact]
    public async Task Logo_EndsTheSession()
    {
        await StartAsync(LowTargetName, capture: null);
        await _initiator.LoginAsync();
        var target = _stack.Engine.FindTarget(FcoeTargetDriver.DriverName, FcoeTargetDriver.FormatWwn(LowTargetName))!;
        target.Sessions.Should().ContainSingle();
        var logo = new byte[LogoPayload.Length];
        new LogoPayload(_initiator.PortId, InitiatorName).WriteTo(logo);
        (await _initiator.ElsAsync(logo)).Payload[0].Should().Be(ElsCode.LsAcc);
        target.Sessions.Should().BeEmpty();
    }

    [Fact]
    public async Task TargetWithTheHigherWwpn_SendsFlogiInFip_ThenPlogi_AndTheInitiatorsPrliOpensTheSession()
    {
        await StartAsync(HighTargetName, capture: null);
        Step(FcoePort.LoginDelay + TimeSpan.FromMilliseconds(300));
        await WaitUntilAsync(() => _initiator.FlogisReceived.Count > 0);
        _initiator.FlogisReceived[0].SourceId.Should().Be(Port.PortId!.Value);

        var plogi = await _initiator.ReceiveAsync();
        plogi.Header.RCtl.Should().Be(RCtl.ElsRequest);
        plogi.Payload[0].Should().Be(ElsCode.Plogi);
        ServiceParameters.TryRead(plogi.Payload, out var theirs).Should().BeTrue();
        theirs.PortName.Should().Be(HighTargetName);
        var accept = PortPayloads.Plogi(InitiatorName);
        accept[0] = ElsCode.LsAcc;
        _initiator.Send(plogi.Header.ToReply(RCtl.ElsReply, FCtl.LastReplyWithInitiative, FcFrameHeader.UnassignedExchangeId), accept);
        await WaitUntilAsync(() => Port.RemotePorts.IsLoggedIn(InitiatorId));

        var prli = await _initiator.ElsAsync(PortPayloads.Prli(PrliFlags.EstablishImagePair, 0x1A2));
        prli.Payload[0].Should().Be(ElsCode.LsAcc);
        (await _initiator.ExecuteAsync(CdbBuilder.TestUnitReady(), 0, read: false)).Status.Should().Be((byte)ScsiStatus.Good);
    }

    [Fact]
    public async Task Capture_RecordsEveryFrameBothWays_AsPcap()
    {
        string path = _dir.File("fcoe.pcap");
        await StartAsync(LowTargetName, capture: path);
        await _initiator.LoginAsync();
        await _initiator.ExecuteAsync(CdbBuilder.Inquiry(allocationLength: 36), 36);
        await _driver.StopAsync(CancellationToken.None);
        _driver = null!;

        var records = PcapReader.ReadFile(path);
        int fcoe = 0;
        foreach (var record in records)
        {
            Ethernet.TryReadHeader(record.Data, out ushort etherType, out _, out _).Should().BeTrue();
            if (etherType == EtherType.Fcoe)
            {
                FcoeFrame.TryRead(record.Data, out _).Should().Be(FcoeReadResult.Success);
                fcoe++;
            }
        }

        fcoe.Should().BeGreaterThanOrEqualTo(7, "PLOGI, PRLI and their accepts, FCP_CMND, Data-In, FCP_RSP; then the LOGO on stop");
        records.Count(r => r.Data.Length > 14 && r.Data[12] == 0x89 && r.Data[13] == 0x14).Should().BeGreaterThan(0, "FIP frames are captured too");
    }

    private async Task StartAsync(ulong targetName, string? capture, int maxExchanges = 4096)
    {
        (_targetLink, var initiatorLink) = InMemoryFcoeLink.CreatePair(s_targetENode, s_initiatorENode, _time);
        var options = new FcoeTargetOptions { MaxExchanges = maxExchanges };
        options.Ports.Add(new FcoePortOptions { Interface = "mem0", PortName = FcoeTargetDriver.FormatWwn(targetName), CapturePath = capture });
        _driver = new FcoeTargetDriver(_stack.Engine, Options.Create(options)) { OpenLink = _ => _targetLink, TimeProvider = _time };
        _stack.Engine.RegisterDriver(_driver);
        await _driver.StartAsync(CancellationToken.None);
        var target = _stack.Engine.FindTarget(FcoeTargetDriver.DriverName, FcoeTargetDriver.FormatWwn(targetName));
        target.Should().NotBeNull("the driver creates the target of its port");
        _stack.Engine.MapLun(target!, 0, "disk0");

        _initiator = new TestFcoeInitiator(initiatorLink, _time, InitiatorName, InitiatorId);
        _initiator.Controller.Start();

        // Both ports probe, claim and come up; each learns the other from its claim.
        for (int i = 0; i < 40 && !(Port.PortId is not null && _initiator.Controller.State == Fip.Vn2VnState.Up
            && Port.Fip!.Peers.Count == 1 && _initiator.Controller.Peers.Count == 1); i++)
        {
            Step(TimeSpan.FromMilliseconds(50));
            await Task.Delay(2);
        }

        Port.PortId.Should().NotBeNull();
        _initiator.Controller.Peers.Should().ContainSingle();
        _initiator.TargetId = Port.PortId!.Value;
        _initiator.TargetMac = MacAddress.FromVn2VnPortId(Port.PortId.Value);
    }

    private void Step(TimeSpan duration) => FipVn2VnControllerTests.Step(_time, duration);

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TestFcoeInitiator.Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TestAssertionException("The condition did not come true in time.");
            }

            await Task.Delay(5);
        }
    }
}
