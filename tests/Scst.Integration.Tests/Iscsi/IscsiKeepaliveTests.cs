// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Scst.Integration.Tests.Fixtures;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>A target whose keepalive runs on a fake clock: time moves only when a test advances it.</summary>
public class KeepaliveTargetFixture : ScstTargetFixture
{
    public FakeTimeProvider Time { get; } = new();

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<TimeProvider>(Time);
}

/// <summary>The same, with the pings turned off (NopInInterval 0).</summary>
public sealed class KeepaliveDisabledTargetFixture : KeepaliveTargetFixture
{
    protected override void ConfigureIscsi(IscsiTargetOptions options) => options.NopInInterval = 0;
}

/// <summary>
/// NOP-In keepalive with SCST's defaults (NopInInterval 30 s, NopInTimeout 30 s) on a fake clock: the timer fires inside
/// <see cref="FakeTimeProvider.Advance"/>, so what the target sent is on the wire when it returns, and no test depends on
/// how fast anything runs.
/// </summary>
public sealed class IscsiKeepaliveTests(KeepaliveTargetFixture fixture) : IClassFixture<KeepaliveTargetFixture>
{
    private const int Block = ScstTargetFixture.BlockSize;
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static int s_nextInitiator;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string UniqueInitiator() => $"{IscsiTestInitiator.DefaultInitiatorName}-keepalive-{Interlocked.Increment(ref s_nextInitiator)}";

    private async Task<(IscsiTestInitiator Initiator, string Name)> LoginAsync(bool immediateData = true)
    {
        string name = UniqueInitiator();
        var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        var login = await initiator.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, name, immediateData: immediateData), Ct);
        login.Status.Should().Be(LoginStatus.Success);
        await initiator.ClearUnitAttentionAsync(cancellationToken: Ct);
        return (initiator, name);
    }

    private static async Task SendNopOutAsync(IscsiTestInitiator initiator, uint itt, uint ttt)
    {
        var bhs = new byte[Bhs.Length];
        new NopOutHeader { Immediate = true, InitiatorTaskTag = itt, TargetTransferTag = ttt, CmdSn = initiator.CmdSn, ExpStatSn = initiator.ExpStatSn }.WriteTo(bhs);
        await initiator.SendAsync(bhs, ReadOnlyMemory<byte>.Empty, Ct);
    }

    private static async Task<NopInHeader> ExpectPingAsync(IscsiTestInitiator initiator)
    {
        var pdu = await initiator.ReceiveAsync(Ct);
        pdu.Should().NotBeNull("an idle connection is pinged, not dropped");
        pdu!.Opcode.Should().Be(IscsiOpcode.NopIn);
        pdu.Data.Should().BeEmpty();
        return pdu.Header.AsNopIn();
    }

    [Fact]
    public async Task IdleConnection_PingedWithATargetTag_AnsweredItStays()
    {
        var (initiator, _) = await LoginAsync();
        await using var owned = initiator;
        uint nextStatSn = initiator.ExpStatSn;

        fixture.Time.Advance(Interval);
        var ping = await ExpectPingAsync(initiator);

        ping.InitiatorTaskTag.Should().Be(Bhs.ReservedTag, "the target starts this exchange");
        ping.TargetTransferTag.Should().NotBe(Bhs.ReservedTag, "the ping asks for an answer");
        ping.StatSn.Should().Be(nextStatSn, "a NOP-In with ITT 0xffffffff carries the next StatSN without advancing it");
        await SendNopOutAsync(initiator, Bhs.ReservedTag, ping.TargetTransferTag ^ 0x5555_0000); // another tag: ignored
        await SendNopOutAsync(initiator, Bhs.ReservedTag, ping.TargetTransferTag);
        var tur = await initiator.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct);
        tur.Status.Should().Be(ScsiResult.Good, "neither answer is rejected or answered");
        tur.ResponseHeader!.Value.StatSn.Should().Be(nextStatSn);

        fixture.Time.Advance(Timeout);

        (await initiator.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good, "the answered ping keeps the connection");
    }

    [Fact]
    public async Task BusyConnection_NotPinged()
    {
        var (initiator, _) = await LoginAsync();
        await using var owned = initiator;

        // Traffic at every half interval: the connection is never idle for a whole one.
        for (int i = 0; i < 4; i++)
        {
            fixture.Time.Advance(Interval / 2);
            await SendNopOutAsync(initiator, 0x4000u + (uint)i, Bhs.ReservedTag);
            var pdu = await initiator.ReceiveAsync(Ct);
            pdu!.Opcode.Should().Be(IscsiOpcode.NopIn);
            pdu.Header.InitiatorTaskTag.Should().Be(0x4000u + (uint)i, "the next PDU is the echo of our ping, not a ping of the target");
        }
    }

    [Fact]
    public async Task UnansweredPing_DropsTheConnection_ItsSessionsCommandsEnd()
    {
        var (initiator, name) = await LoginAsync(immediateData: false);
        await using var owned = initiator;
        var before = Cdbs.Pattern(8 * Block, seed: 31);
        (await initiator.ExecuteAsync(0, Cdbs.Write10(40_000, 8), writeData: before, cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);
        Scst.Core.ScsiSession session = fixture.Engine.FindTarget(IscsiTargetDriver.DriverName, ScstTargetFixture.TargetName)!.Sessions.Single(s => s.InitiatorName == name);

        // A WRITE that gets its R2T and never its data: a command in flight when the connection goes.
        var bhs = new byte[Bhs.Length];
        new ScsiCommandHeader
        {
            Final = true,
            IsWrite = true,
            Attribute = TaskAttribute.Simple,
            InitiatorTaskTag = 0x9191,
            ExpectedDataTransferLength = (uint)before.Length,
            CmdSn = initiator.CmdSn++,
            ExpStatSn = initiator.ExpStatSn,
            Cdb = Cdb16.From(Cdbs.Write10(40_000, 8)),
        }.WriteTo(bhs);
        await initiator.SendAsync(bhs, ReadOnlyMemory<byte>.Empty, Ct);
        (await initiator.ExpectAsync(IscsiOpcode.ReadyToTransfer, Ct)).Header.InitiatorTaskTag.Should().Be(0x9191u);
        session.CommandsInUse.Should().Be(1);

        fixture.Time.Advance(Interval);
        await ExpectPingAsync(initiator);
        fixture.Time.Advance(Timeout);

        (await initiator.ReceiveAsync(Ct)).Should().BeNull("no answer within NopInTimeout drops the connection");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(10));
        while (!session.IsClosed || session.CommandsInUse != 0)
        {
            await Task.Delay(10, deadline.Token);
        }

        fixture.Logs.Faults.Should().Contain(f => f.Contains("No answer from", StringComparison.Ordinal));
        var (reader, _) = await LoginAsync();
        await using (reader)
        {
            var read = await reader.ExecuteAsync(0, Cdbs.Read10(40_000, 8), readLength: before.Length, cancellationToken: Ct);
            read.Data.Should().Equal(before, "the write whose data never came changed nothing");
        }
    }
}

/// <summary>NopInInterval 0 turns the pings off.</summary>
public sealed class IscsiKeepaliveDisabledTests(KeepaliveDisabledTargetFixture fixture) : IClassFixture<KeepaliveDisabledTargetFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task NopInIntervalZero_AnHourOfSilence_NoPingAndTheConnectionStays()
    {
        await using var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        (await initiator.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName), Ct)).Status.Should().Be(LoginStatus.Success);

        fixture.Time.Advance(TimeSpan.FromHours(1));

        var bhs = new byte[Bhs.Length];
        new NopOutHeader { Immediate = true, InitiatorTaskTag = 0x77, TargetTransferTag = Bhs.ReservedTag, CmdSn = initiator.CmdSn, ExpStatSn = initiator.ExpStatSn }.WriteTo(bhs);
        await initiator.SendAsync(bhs, ReadOnlyMemory<byte>.Empty, Ct);
        var pdu = await initiator.ReceiveAsync(Ct);
        pdu.Should().NotBeNull();
        pdu!.Opcode.Should().Be(IscsiOpcode.NopIn);
        pdu.Header.InitiatorTaskTag.Should().Be(0x77u, "the first PDU after the hour is the echo of our ping: the target sent none");
    }
}
