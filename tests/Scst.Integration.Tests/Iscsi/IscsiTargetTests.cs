// Licensed under the Apache License, Version 2.0.

using Scst.Integration.Tests.Fixtures;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>
/// The iSCSI driver over real TCP on 127.0.0.1, driven PDU by PDU by <see cref="IscsiTestInitiator"/>. Each test uses its
/// own LBA range and initiator name so that tests of the class can share the target.
/// </summary>
public sealed class IscsiTargetTests(ScstTargetFixture fixture) : IClassFixture<ScstTargetFixture>
{
    private const int Block = ScstTargetFixture.BlockSize;
    private static int s_nextInitiator;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string UniqueInitiator() => $"{IscsiTestInitiator.DefaultInitiatorName}-{Interlocked.Increment(ref s_nextInitiator)}";

    private async Task<IscsiTestInitiator> LoginAsync(List<KeyValuePair<string, string>>? keys = null, string? initiatorName = null)
    {
        var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        var login = await initiator.LoginAsync(keys ?? IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, initiatorName ?? UniqueInitiator()), Ct);
        login.Status.Should().Be(LoginStatus.Success);
        await initiator.ClearUnitAttentionAsync(cancellationToken: Ct);
        return initiator;
    }

    [Fact]
    public async Task Login_Normal_ReachesFullFeaturePhaseWithTsihAndDeclaredLimits()
    {
        await using var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);

        var login = await initiator.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, UniqueInitiator()), Ct);

        login.Status.Should().Be(LoginStatus.Success);
        login.Tsih.Should().NotBe(0);
        login.Key("MaxRecvDataSegmentLength").Should().NotBeNull();
        login.Key("HeaderDigest").Should().Be("None");
        (await initiator.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct)).Response.Should().Be(0);
    }

    [Fact]
    public async Task Login_DiscoverySendTargetsAll_ListsTheTargetAndItsAddress()
    {
        await using var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        (await initiator.LoginAsync(IscsiTestInitiator.DiscoveryKeys(UniqueInitiator()), Ct)).Status.Should().Be(LoginStatus.Success);

        var keys = await initiator.SendTargetsAsync("All", Ct);

        keys.Should().Contain(new KeyValuePair<string, string>("TargetName", ScstTargetFixture.TargetName));
        keys.Should().Contain(new KeyValuePair<string, string>("TargetAddress", $"{fixture.EndPoint.Address}:{fixture.EndPoint.Port},1"));
        (await initiator.LogoutAsync(Ct)).Response.Should().Be(LogoutResponse.Success);
    }

    [Fact]
    public async Task Login_UnknownTarget_Fails0203NotFound()
    {
        await using var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);

        var login = await initiator.LoginAsync(IscsiTestInitiator.NormalKeys("iqn.2026-11.org.scst-dotnet:no-such-target", UniqueInitiator()), Ct);

        login.Status.Should().Be(LoginStatus.NotFound);
        (await initiator.WaitForCloseAsync(TimeSpan.FromSeconds(5), Ct)).Should().BeTrue("a failed login closes the connection");
    }

    [Fact]
    public async Task Login_MissingInitiatorName_Fails0207MissingParameter()
    {
        await using var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);

        var login = await initiator.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, initiatorName: null), Ct);

        login.Status.Should().Be(LoginStatus.MissingParameter);
    }

    [Fact]
    public async Task WriteRead_ImmediateData_RoundTrips()
    {
        await using var initiator = await LoginAsync();
        var data = Cdbs.Pattern(16 * Block, seed: 1);

        var write = await initiator.ExecuteAsync(0, Cdbs.Write10(1000, 16), writeData: data, cancellationToken: Ct);
        var read = await initiator.ExecuteAsync(0, Cdbs.Read10(1000, 16), readLength: data.Length, cancellationToken: Ct);

        initiator.ImmediateData.Should().BeTrue();
        write.Status.Should().Be(ScsiResult.Good);
        write.R2Ts.Should().BeEmpty("8 KiB fits in the immediate data (R2Ts: {0}; negotiated FirstBurstLength {1}, target MaxRecvDataSegmentLength {2})",
            string.Join(", ", write.R2Ts.Select(r => $"offset {r.BufferOffset} length {r.DesiredDataTransferLength}")), initiator.FirstBurstLength, initiator.TargetMaxRecvDataSegmentLength);
        read.Status.Should().Be(ScsiResult.Good);
        read.Data.Should().Equal(data);
        write.Violations.Should().BeEmpty("a WRITE is answered by a SCSI Response, never by Data-In");
    }

    [Fact]
    public async Task WriteRead_ImmediateDataNoInitialR2TYes_UsesR2TAndRoundTrips()
    {
        var keys = IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, UniqueInitiator(), immediateData: false, initialR2T: true);
        await using var initiator = await LoginAsync(keys);
        var data = Cdbs.Pattern(32 * Block, seed: 2);

        var write = await initiator.ExecuteAsync(0, Cdbs.Write10(2000, 32), writeData: data, cancellationToken: Ct);
        var read = await initiator.ExecuteAsync(0, Cdbs.Read10(2000, 32), readLength: data.Length, cancellationToken: Ct);

        initiator.ImmediateData.Should().BeFalse();
        initiator.InitialR2T.Should().BeTrue();
        write.Status.Should().Be(ScsiResult.Good);
        write.R2Ts.Should().NotBeEmpty();
        write.R2Ts[0].BufferOffset.Should().Be(0);
        write.R2Ts.Sum(r => r.DesiredDataTransferLength).Should().Be((uint)data.Length);
        read.Data.Should().Equal(data);
        write.Violations.Should().BeEmpty("a WRITE is answered by a SCSI Response, never by Data-In");
    }

    [Fact]
    public async Task Write_LargerThanMaxBurstLength_NeedsSeveralR2Ts()
    {
        const int MaxBurst = 64 * 1024;
        var keys = IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, UniqueInitiator(), immediateData: false, maxBurstLength: MaxBurst, firstBurstLength: MaxBurst);
        await using var initiator = await LoginAsync(keys);
        var data = Cdbs.Pattern(256 * 1024, seed: 3);

        var write = await initiator.ExecuteAsync(0, Cdbs.Write10(4000, (ushort)(data.Length / Block)), writeData: data, cancellationToken: Ct);
        var read = await initiator.ExecuteAsync(0, Cdbs.Read10(4000, (ushort)(data.Length / Block)), readLength: data.Length, cancellationToken: Ct);

        write.Status.Should().Be(ScsiResult.Good);
        initiator.MaxBurstLength.Should().Be(MaxBurst);
        write.R2Ts.Should().HaveCountGreaterThanOrEqualTo(4);
        write.R2Ts.Should().OnlyContain(r => r.DesiredDataTransferLength <= MaxBurst);
        write.R2Ts.Select(r => r.R2TSn).Should().Equal(Enumerable.Range(0, write.R2Ts.Count).Select(i => (uint)i));
        read.Data.Should().Equal(data);
        write.Violations.Should().BeEmpty("a WRITE is answered by a SCSI Response, never by Data-In");
    }

    [Fact]
    public async Task Read_LargerThanInitiatorMaxRecvDataSegmentLength_SplitsIntoDataInWithStatusInTheLast()
    {
        const int Mrdsl = 8192;
        await using var initiator = await LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, UniqueInitiator(), maxRecvDataSegmentLength: Mrdsl));
        var data = Cdbs.Pattern(3 * Mrdsl, seed: 4);
        var write = await initiator.ExecuteAsync(0, Cdbs.Write10(6000, (ushort)(data.Length / Block)), writeData: data, cancellationToken: Ct);
        write.Status.Should().Be(ScsiResult.Good);

        var read = await initiator.ExecuteAsync(0, Cdbs.Read10(6000, (ushort)(data.Length / Block)), readLength: data.Length, cancellationToken: Ct);

        read.Status.Should().Be(ScsiResult.Good);
        read.Data.Should().Equal(data);
        read.DataIn.Select(d => d.DataSn).Should().Equal(0u, 1u, 2u);
        read.DataIn.Select(d => d.BufferOffset).Should().Equal(0u, (uint)Mrdsl, (uint)(2 * Mrdsl));
        read.DataIn.Select(d => d.HasStatus).Should().Equal(false, false, true);
        read.DataIn[^1].Final.Should().BeTrue();
        read.ResponseHeader.Should().BeNull("the status came with the last Data-In");
        write.Violations.Should().BeEmpty("a WRITE is answered by a SCSI Response, never by Data-In");
    }

    [Fact]
    public async Task NopOut_Ping_IsEchoedWithItsDataAndTag()
    {
        await using var initiator = await LoginAsync();
        var payload = Cdbs.Pattern(100, seed: 5);

        var nopIn = await initiator.PingAsync(payload, Ct);

        nopIn.Header.TargetTransferTag.Should().Be(Bhs.ReservedTag);
        nopIn.Header.InitiatorTaskTag.Should().NotBe(Bhs.ReservedTag);
        nopIn.Data.Should().Equal(payload);
    }

    [Fact]
    public async Task Logout_CloseSession_RespondsThenClosesTheConnection()
    {
        await using var initiator = await LoginAsync();

        var response = await initiator.LogoutAsync(Ct);

        response.Response.Should().Be(LogoutResponse.Success);
        (await initiator.WaitForCloseAsync(TimeSpan.FromSeconds(5), Ct)).Should().BeTrue();
    }

    [Fact]
    public async Task DataSegmentLongerThanNegotiated_RejectThenClose_AnotherSessionKeepsWorking()
    {
        await using var other = await LoginAsync();
        await using var initiator = await LoginAsync();
        var tooLong = initiator.TargetMaxRecvDataSegmentLength + 512;
        var header = new ScsiCommandHeader
        {
            Final = true,
            IsWrite = true,
            Attribute = TaskAttribute.Simple,
            DataSegmentLength = tooLong,
            InitiatorTaskTag = 0x7777,
            ExpectedDataTransferLength = (uint)tooLong,
            CmdSn = initiator.CmdSn++,
            ExpStatSn = initiator.ExpStatSn,
            Cdb = Cdb16.From(Cdbs.Write10(8000, (ushort)(tooLong / Block))),
        };
        var bhs = new byte[Bhs.Length];
        header.WriteTo(bhs);

        await initiator.SendAsync(bhs, new byte[tooLong], Ct);

        var reject = await initiator.ReceiveAsync(Ct);
        reject.Should().NotBeNull("the target must answer with a Reject before closing");
        reject!.Opcode.Should().Be(IscsiOpcode.Reject);
        reject.Header.AsReject().Reason.Should().Be(RejectReason.ProtocolError);
        reject.Data.Take(Bhs.Length).Should().Equal(bhs, "a Reject quotes the rejected header");
        (await initiator.WaitForCloseAsync(TimeSpan.FromSeconds(5), Ct)).Should().BeTrue();
        var data = Cdbs.Pattern(4 * Block, seed: 6);
        var write = await other.ExecuteAsync(0, Cdbs.Write10(8100, 4), writeData: data, cancellationToken: Ct);
        write.Status.Should().Be(ScsiResult.Good);
        (await other.ExecuteAsync(0, Cdbs.Read10(8100, 4), readLength: data.Length, cancellationToken: Ct)).Data.Should().Equal(data);
        write.Violations.Should().BeEmpty("a WRITE is answered by a SCSI Response, never by Data-In");
    }

    [Fact]
    public async Task UnknownOpcode_RejectCommandNotSupported_ConnectionCarriesOn()
    {
        await using var initiator = await LoginAsync();
        var bhs = new byte[Bhs.Length];
        bhs[0] = 0x0f; // not an initiator opcode
        bhs[1] = 0x80;
        bhs[16] = 0x12; // ITT

        await initiator.SendAsync(bhs, ReadOnlyMemory<byte>.Empty, Ct);

        var reject = await initiator.ExpectAsync(IscsiOpcode.Reject, Ct);
        reject.Header.AsReject().Reason.Should().Be(RejectReason.CommandNotSupported);
        reject.Data.Take(Bhs.Length).Should().Equal(bhs);
        (await initiator.PingAsync([1, 2, 3, 4], Ct)).Data.Should().Equal(1, 2, 3, 4);
        (await initiator.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);
    }

    [Fact]
    public async Task CommandToMissingLun_CheckConditionIllegalRequestLunNotSupported()
    {
        await using var initiator = await LoginAsync();
        const ulong Lun5 = 0x0005_0000_0000_0000; // peripheral addressing, LUN 5

        var result = await initiator.ExecuteAsync(Lun5, Cdbs.Read10(0, 1), readLength: Block, cancellationToken: Ct);

        result.Response.Should().Be(0);
        result.Status.Should().Be(ScsiResult.CheckCondition);
        result.SenseCodes.Should().Be(((byte)0x05, (byte)0x25, (byte)0x00));
    }

    [Fact]
    public async Task ReadPastTheEnd_CheckConditionLbaOutOfRange_NextCommandWorks()
    {
        await using var initiator = await LoginAsync();
        const uint LastLba = (uint)(ScstTargetFixture.DiskBytes / Block) - 1;

        var past = await initiator.ExecuteAsync(0, Cdbs.Read10(LastLba, 2), readLength: 2 * Block, cancellationToken: Ct);
        var last = await initiator.ExecuteAsync(0, Cdbs.Read10(LastLba, 1), readLength: Block, cancellationToken: Ct);

        past.Status.Should().Be(ScsiResult.CheckCondition);
        past.SenseCodes.Should().Be(((byte)0x05, (byte)0x21, (byte)0x00));
        last.Status.Should().Be(ScsiResult.Good);
    }

    [Fact]
    public async Task CmdSnOutsideTheWindow_IsIgnored_AndTheSessionCarriesOn()
    {
        await using var initiator = await LoginAsync();
        var header = new ScsiCommandHeader
        {
            Final = true,
            Attribute = TaskAttribute.Simple,
            InitiatorTaskTag = 0xbad,
            CmdSn = initiator.MaxCmdSn + 1000,
            ExpStatSn = initiator.ExpStatSn,
            Cdb = Cdb16.From(Cdbs.TestUnitReady()),
        };
        var bhs = new byte[Bhs.Length];
        header.WriteTo(bhs);

        await initiator.SendAsync(bhs, ReadOnlyMemory<byte>.Empty, Ct);
        var good = await initiator.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct);

        good.Status.Should().Be(ScsiResult.Good);
        good.ResponseHeader!.Value.InitiatorTaskTag.Should().NotBe(0xbadu, "the out-of-window command must not be executed");
        var late = await Record.ExceptionAsync(() => initiator.ReceiveAsync(TimeSpan.FromMilliseconds(500), Ct));
        late.Should().BeOfType<TimeoutException>("nothing may answer the ignored command");
    }

    [Fact]
    public async Task SecondLoginWithSameInitiatorAndIsid_ReinstatesTheSession_ClosingTheFirstConnection()
    {
        var name = UniqueInitiator();
        await using var first = await LoginAsync(initiatorName: name);
        await using var second = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        second.Isid = first.Isid;

        var login = await second.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, name), Ct);

        login.Status.Should().Be(LoginStatus.Success);
        (await first.WaitForCloseAsync(TimeSpan.FromSeconds(5), Ct)).Should().BeTrue("the old connection of the reinstated session is closed");
        await second.ClearUnitAttentionAsync(cancellationToken: Ct);
        (await second.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);
    }

    [Fact]
    public async Task AbortTask_UnknownTag_TaskDoesNotExist()
    {
        await using var initiator = await LoginAsync();

        var response = await initiator.TaskManagementAsync(TaskManagementFunction.AbortTask, 0, referencedTaskTag: 0xdead_beef, Ct);

        response.Response.Should().Be(TaskManagementResponse.TaskDoesNotExist);
    }

    [Fact]
    public async Task AbortTask_ForACommandNotYetArrived_FunctionComplete_AndTheCommandIsDroppedWhenItComes()
    {
        // RFC 7143 section 11.5.1: RefCmdSN in the window and before the function's CmdSN names a command still on its way.
        await using var initiator = await LoginAsync();
        await initiator.ClearUnitAttentionAsync(cancellationToken: Ct);
        uint late = initiator.CmdSn;
        initiator.CmdSn = late + 1;

        var response = await initiator.TaskManagementAsync(TaskManagementFunction.AbortTask, 0, 0x7777, late, Ct);
        response.Response.Should().Be(TaskManagementResponse.FunctionComplete);

        // The aborted command arrives after all: it is dropped without an answer; the next command is answered.
        var header = new ScsiCommandHeader
        {
            Final = true,
            Attribute = TaskAttribute.Simple,
            Lun = 0,
            InitiatorTaskTag = 0x7777,
            CmdSn = late,
            ExpStatSn = initiator.ExpStatSn,
            Cdb = Cdb16.From(Cdbs.TestUnitReady()),
        };
        var bhs = new byte[Bhs.Length];
        header.WriteTo(bhs);
        await initiator.SendAsync(bhs, ReadOnlyMemory<byte>.Empty, Ct);

        ScsiResult next = await initiator.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct);
        next.Status.Should().Be(ScsiResult.Good);
        next.ResponseHeader!.Value.InitiatorTaskTag.Should().NotBe(0x7777u, "the aborted command gets no response");
    }

    [Fact]
    public async Task AbortTask_RefCmdSnOutsideTheWindow_TaskDoesNotExist()
    {
        await using var initiator = await LoginAsync();
        await initiator.ClearUnitAttentionAsync(cancellationToken: Ct);

        // A CmdSN below ExpCmdSN: that command came and went.
        var response = await initiator.TaskManagementAsync(TaskManagementFunction.AbortTask, 0, 0x7778, initiator.CmdSn - 1, Ct);

        response.Response.Should().Be(TaskManagementResponse.TaskDoesNotExist);
    }

    [Fact]
    public async Task LogicalUnitReset_FunctionComplete_AndTheLunStillWorks()
    {
        await using var initiator = await LoginAsync();

        var response = await initiator.TaskManagementAsync(TaskManagementFunction.LogicalUnitReset, 0, cancellationToken: Ct);

        response.Response.Should().Be(TaskManagementResponse.FunctionComplete);
        await initiator.ClearUnitAttentionAsync(cancellationToken: Ct);
        (await initiator.ExecuteAsync(0, Cdbs.Read10(0, 1), readLength: Block, cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);
    }

    [Fact]
    public async Task TargetColdReset_RespondsThenClosesEveryConnectionOfTheTarget()
    {
        await using var resetter = await LoginAsync();
        await using var other = await LoginAsync();

        var response = await resetter.TaskManagementAsync(TaskManagementFunction.TargetColdReset, 0, cancellationToken: Ct);

        response.Response.Should().Be(TaskManagementResponse.FunctionComplete, "RFC 7143 section 11.5.1: the response goes out before the connections close");
        (await resetter.WaitForCloseAsync(TimeSpan.FromSeconds(5), Ct)).Should().BeTrue("a cold reset closes the issuing connection");
        (await other.WaitForCloseAsync(TimeSpan.FromSeconds(5), Ct)).Should().BeTrue("a cold reset closes every connection to the target");
        await using var again = await LoginAsync();
        await again.ClearUnitAttentionAsync(cancellationToken: Ct);
        (await again.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);
    }

    [Fact]
    public async Task ConnectionReset_WithoutLogout_IsForgottenByTheDriver()
    {
        var before = fixture.IscsiDriver.ConnectionCount;
        var initiator = await LoginAsync();

        await initiator.DisposeAsync();

        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (fixture.IscsiDriver.ConnectionCount > before && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, Ct);
        }

        fixture.IscsiDriver.ConnectionCount.Should().BeLessThanOrEqualTo(before);
    }
}
