// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using Scst.Integration.Tests.Fixtures;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi;
using Scst.Transport.Iscsi.Protocol;
using LoginResult = Scst.Testing.Iscsi.LoginResult;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>A target that offers ErrorRecoveryLevel 2 and four connections per session, with a short Data-Out timeout.</summary>
public sealed class ErrorRecoveryTargetFixture : ScstTargetFixture
{
    protected override void ConfigureIscsi(IscsiTargetOptions options)
    {
        options.ErrorRecoveryLevel = 2;
        options.MaxConnections = 4;
        options.DataOutTimeout = TimeSpan.FromSeconds(1);
        options.DefaultTime2Wait = 0; // held tasks and sessions wait DefaultTime2Wait + DefaultTime2Retain
        options.DefaultTime2Retain = 20;
    }
}

/// <summary>
/// Error recovery (RFC 7143 sections 6 and 7) and several connections per session, each case scripted PDU by PDU with
/// <see cref="IscsiTestInitiator"/>: a Data-Out dropped or corrupted (recovery R2T), a response lost (SNACK, retried
/// command), a connection killed in the middle of a command and its task reassigned to a new connection.
/// </summary>
public sealed class IscsiErrorRecoveryTests(ErrorRecoveryTargetFixture fixture) : IClassFixture<ErrorRecoveryTargetFixture>
{
    private const int Block = ScstTargetFixture.BlockSize;
    private const int Segment = 8192;
    private static int s_nextInitiator;
    private static int s_nextLba;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string UniqueInitiator() => $"{IscsiTestInitiator.DefaultInitiatorName}-erl-{Interlocked.Increment(ref s_nextInitiator)}";

    // Each test writes its own 64-block range, far from the other classes' ranges.
    private static uint UniqueLba() => 1_500_000 + (uint)(Interlocked.Increment(ref s_nextLba) * 64);

    private static List<KeyValuePair<string, string>> Keys(
        string initiator, int errorRecoveryLevel, int maxConnections = 1, bool immediateData = false, string dataDigest = "None", int time2Retain = 20,
        bool initialR2T = true)
    {
        var keys = IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, initiator, maxRecvDataSegmentLength: Segment,
            immediateData: immediateData, initialR2T: initialR2T, dataDigest: dataDigest);
        keys.RemoveAll(k => k.Key == "ErrorRecoveryLevel");
        keys.Add(new("ErrorRecoveryLevel", errorRecoveryLevel.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        keys.Add(new("MaxConnections", maxConnections.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        keys.Add(new("DefaultTime2Wait", "0"));
        keys.Add(new("DefaultTime2Retain", time2Retain.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return keys;
    }

    private async Task<(IscsiTestInitiator Initiator, LoginResult Login)> LoginAsync(
        string initiatorName, int errorRecoveryLevel, int maxConnections = 1, bool immediateData = false, string dataDigest = "None",
        ulong? isid = null, ushort tsih = 0, ushort cid = 0, uint? cmdSn = null, int time2Retain = 20)
    {
        var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        if (isid is { } i)
        {
            initiator.Isid = i;
        }

        initiator.Tsih = tsih;
        initiator.Cid = cid;
        if (cmdSn is { } sn)
        {
            initiator.CmdSn = sn;
        }

        var login = await initiator.LoginAsync(Keys(initiatorName, errorRecoveryLevel, maxConnections, immediateData, dataDigest, time2Retain), Ct);
        return (initiator, login);
    }

    private async Task<IscsiTestInitiator> SessionAsync(int errorRecoveryLevel, bool immediateData = false, string dataDigest = "None")
    {
        var (initiator, login) = await LoginAsync(UniqueInitiator(), errorRecoveryLevel, immediateData: immediateData, dataDigest: dataDigest);
        login.Status.Should().Be(LoginStatus.Success);
        login.Key("ErrorRecoveryLevel").Should().Be(errorRecoveryLevel.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await initiator.ClearUnitAttentionAsync(cancellationToken: Ct);
        return initiator;
    }

    private static byte[] CommandPdu(IscsiTestInitiator initiator, uint itt, byte[] cdb, int writeLength = 0, int readLength = 0,
        int immediateLength = 0, uint? cmdSn = null, TaskAttribute attribute = TaskAttribute.Simple)
    {
        var bhs = new byte[Bhs.Length];
        new ScsiCommandHeader
        {
            Final = true,
            IsWrite = writeLength > 0,
            IsRead = readLength > 0,
            Attribute = attribute,
            DataSegmentLength = immediateLength,
            InitiatorTaskTag = itt,
            ExpectedDataTransferLength = (uint)Math.Max(writeLength, readLength),
            CmdSn = cmdSn ?? initiator.CmdSn++,
            ExpStatSn = initiator.ExpStatSn,
            Cdb = Cdb16.From(cdb),
        }.WriteTo(bhs);
        return bhs;
    }

    private static async Task SendDataOutAsync(IscsiTestInitiator initiator, ReadyToTransferHeader r2t, byte[] data, int offset, int length, uint dataSn, bool final)
    {
        var bhs = new byte[Bhs.Length];
        new DataOutHeader
        {
            Final = final,
            DataSegmentLength = length,
            Lun = r2t.Lun,
            InitiatorTaskTag = r2t.InitiatorTaskTag,
            TargetTransferTag = r2t.TargetTransferTag,
            ExpStatSn = initiator.ExpStatSn,
            DataSn = dataSn,
            BufferOffset = (uint)offset,
        }.WriteTo(bhs);
        await initiator.SendAsync(bhs, data.AsMemory(offset, length), Ct);
    }

    /// <summary>Answers an R2T in full, cut in MaxRecvDataSegmentLength pieces.</summary>
    private static async Task AnswerAsync(IscsiTestInitiator initiator, ReadyToTransferHeader r2t, byte[] data)
    {
        int end = (int)(r2t.BufferOffset + r2t.DesiredDataTransferLength);
        uint dataSn = 0;
        for (int offset = (int)r2t.BufferOffset; offset < end; offset += Segment)
        {
            int n = Math.Min(Segment, end - offset);
            await SendDataOutAsync(initiator, r2t, data, offset, n, dataSn++, offset + n == end);
        }
    }

    private static async Task<ScsiResponseHeader> ExpectGoodAsync(IscsiTestInitiator initiator, uint itt)
    {
        var pdu = await initiator.ExpectAsync(IscsiOpcode.ScsiResponse, Ct);
        var response = pdu.Header.AsScsiResponse();
        response.InitiatorTaskTag.Should().Be(itt);
        response.Status.Should().Be(ScsiResult.Good);
        return response;
    }

    private static async Task<byte[]> ReadAsync(IscsiTestInitiator initiator, uint lba, int blocks)
    {
        var read = await initiator.ExecuteAsync(0, Cdbs.Read10(lba, (ushort)blocks), readLength: blocks * Block, cancellationToken: Ct);
        read.Status.Should().Be(ScsiResult.Good);
        return read.Data;
    }

    [Fact]
    public async Task Login_Erl2AndMaxConnections4_AreNegotiated()
    {
        var (initiator, login) = await LoginAsync(UniqueInitiator(), errorRecoveryLevel: 2, maxConnections: 4);
        await using var _ = initiator;

        login.Status.Should().Be(LoginStatus.Success);
        login.Key("ErrorRecoveryLevel").Should().Be("2");
        login.Key("MaxConnections").Should().Be("4");
    }

    [Fact]
    public async Task Erl1_MiddleDataOutDropped_RecoveryR2tAsksForIt_AndTheDataLands()
    {
        await using var initiator = await SessionAsync(errorRecoveryLevel: 1);
        uint lba = UniqueLba();
        var data = Cdbs.Pattern(3 * Segment, seed: 61);
        await initiator.SendAsync(CommandPdu(initiator, 0x100, Cdbs.Write10(lba, (ushort)(data.Length / Block)), writeLength: data.Length), default, Ct);
        var r2t = (await initiator.ExpectAsync(IscsiOpcode.ReadyToTransfer, Ct)).Header.AsReadyToTransfer();
        r2t.DesiredDataTransferLength.Should().Be((uint)data.Length);

        // DataSN 1 (offset 8192) never reaches the target.
        await SendDataOutAsync(initiator, r2t, data, 0, Segment, dataSn: 0, final: false);
        await SendDataOutAsync(initiator, r2t, data, 2 * Segment, Segment, dataSn: 2, final: true);

        var recovery = (await initiator.ExpectAsync(IscsiOpcode.ReadyToTransfer, Ct)).Header.AsReadyToTransfer();
        recovery.BufferOffset.Should().Be(Segment, "the recovery R2T asks for exactly the range that was lost");
        recovery.DesiredDataTransferLength.Should().Be(Segment);
        recovery.R2TSn.Should().Be(1);
        recovery.TargetTransferTag.Should().NotBe(r2t.TargetTransferTag);
        await AnswerAsync(initiator, recovery, data);

        await ExpectGoodAsync(initiator, 0x100);
        (await ReadAsync(initiator, lba, data.Length / Block)).Should().Equal(data);
    }

    [Fact]
    public async Task Erl1_FinalDataOutDropped_DataOutTimeoutSendsARecoveryR2t()
    {
        await using var initiator = await SessionAsync(errorRecoveryLevel: 1);
        uint lba = UniqueLba();
        var data = Cdbs.Pattern(3 * Segment, seed: 62);
        await initiator.SendAsync(CommandPdu(initiator, 0x110, Cdbs.Write10(lba, (ushort)(data.Length / Block)), writeLength: data.Length), default, Ct);
        var r2t = (await initiator.ExpectAsync(IscsiOpcode.ReadyToTransfer, Ct)).Header.AsReadyToTransfer();
        await SendDataOutAsync(initiator, r2t, data, 0, Segment, dataSn: 0, final: false);
        await SendDataOutAsync(initiator, r2t, data, Segment, Segment, dataSn: 1, final: false);

        // The PDU with the F bit is lost: nothing tells the target but the silence (DataOutTimeout is 1 s here).
        var recovery = (await initiator.ExpectAsync(IscsiOpcode.ReadyToTransfer, Ct)).Header.AsReadyToTransfer();
        recovery.BufferOffset.Should().Be(2 * Segment);
        recovery.DesiredDataTransferLength.Should().Be(Segment);
        await AnswerAsync(initiator, recovery, data);

        await ExpectGoodAsync(initiator, 0x110);
        (await ReadAsync(initiator, lba, data.Length / Block)).Should().Equal(data);
        fixture.Logs.Faults.Should().Contain(f => f.Contains("asking again with a recovery R2T", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Erl1_DataOutWithBadDataDigest_RejectThenRecoveryR2t_AndTheRightDataLands()
    {
        await using var initiator = await SessionAsync(errorRecoveryLevel: 1, dataDigest: "CRC32C");
        initiator.DataDigest.Should().Be(DigestKind.Crc32C);
        uint lba = UniqueLba();
        var data = Cdbs.Pattern(3 * Segment, seed: 63);
        await initiator.SendAsync(CommandPdu(initiator, 0x120, Cdbs.Write10(lba, (ushort)(data.Length / Block)), writeLength: data.Length), default, Ct);
        var r2t = (await initiator.ExpectAsync(IscsiOpcode.ReadyToTransfer, Ct)).Header.AsReadyToTransfer();

        await SendDataOutAsync(initiator, r2t, data, 0, Segment, dataSn: 0, final: false);
        initiator.CorruptNextDataDigest = true;
        await SendDataOutAsync(initiator, r2t, data, Segment, Segment, dataSn: 1, final: false);
        await SendDataOutAsync(initiator, r2t, data, 2 * Segment, Segment, dataSn: 2, final: true);

        var reject = await initiator.ExpectAsync(IscsiOpcode.Reject, Ct);
        reject.Header.AsReject().Reason.Should().Be(RejectReason.DataDigestError);
        var recovery = (await initiator.ExpectAsync(IscsiOpcode.ReadyToTransfer, Ct)).Header.AsReadyToTransfer();
        recovery.BufferOffset.Should().Be(Segment, "the PDU whose digest failed is asked for again");
        recovery.DesiredDataTransferLength.Should().Be(Segment);
        await AnswerAsync(initiator, recovery, data);

        await ExpectGoodAsync(initiator, 0x120);
        (await ReadAsync(initiator, lba, data.Length / Block)).Should().Equal(data);
    }

    [Fact]
    public async Task Erl1_ImmediateDataWithBadDigest_TheCommandGoesOn_AndARecoveryR2tAsksForTheData()
    {
        await using var initiator = await SessionAsync(errorRecoveryLevel: 1, immediateData: true, dataDigest: "CRC32C");
        uint lba = UniqueLba();
        var data = Cdbs.Pattern(Segment, seed: 64);
        initiator.CorruptNextDataDigest = true;
        await initiator.SendAsync(CommandPdu(initiator, 0x130, Cdbs.Write10(lba, (ushort)(data.Length / Block)), writeLength: data.Length, immediateLength: data.Length), data, Ct);

        (await initiator.ExpectAsync(IscsiOpcode.Reject, Ct)).Header.AsReject().Reason.Should().Be(RejectReason.DataDigestError);
        var recovery = (await initiator.ExpectAsync(IscsiOpcode.ReadyToTransfer, Ct)).Header.AsReadyToTransfer();
        recovery.BufferOffset.Should().Be(0);
        recovery.DesiredDataTransferLength.Should().Be((uint)data.Length);
        await AnswerAsync(initiator, recovery, data);

        await ExpectGoodAsync(initiator, 0x130);
        (await ReadAsync(initiator, lba, 16)).Should().Equal(data);
    }

    [Fact]
    public async Task Erl0_SnackIsRejected()
    {
        await using var initiator = await SessionAsync(errorRecoveryLevel: 0);
        await initiator.SendAsync(Snack(initiator, SnackType.Status, Bhs.ReservedTag, begRun: 0, runLength: 0, initiator.ExpStatSn), default, Ct);

        (await initiator.ExpectAsync(IscsiOpcode.Reject, Ct)).Header.AsReject().Reason.Should().Be(RejectReason.ProtocolError);
    }

    [Fact]
    public async Task Erl1_DataSnack_ResendsTheLostDataInPdus_AsTheyWereFirstSent()
    {
        await using var initiator = await SessionAsync(errorRecoveryLevel: 1);
        uint lba = UniqueLba();
        var data = Cdbs.Pattern(4 * Segment, seed: 65);
        (await initiator.ExecuteAsync(0, Cdbs.Write10(lba, (ushort)(data.Length / Block)), writeData: data, cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);

        uint unacknowledged = initiator.ExpStatSn;
        await initiator.SendAsync(CommandPdu(initiator, 0x140, Cdbs.Read10(lba, (ushort)(data.Length / Block)), readLength: data.Length), default, Ct);
        var first = new List<ReceivedPdu>();
        for (int i = 0; i < 4; i++)
        {
            first.Add(await initiator.ExpectAsync(IscsiOpcode.DataIn, Ct));
        }

        first.Should().OnlyContain(p => !p.Header.AsDataIn().HasStatus, "at ErrorRecoveryLevel 1 the status goes in its own SCSI Response");
        var status = (await initiator.ExpectAsync(IscsiOpcode.ScsiResponse, Ct)).Header.AsScsiResponse();
        status.ExpDataSn.Should().Be(4);

        // The initiator missed DataSN 1 and 2: it asks for them without acknowledging the status.
        await initiator.SendAsync(Snack(initiator, SnackType.DataOrR2T, 0x140, begRun: 1, runLength: 2, expStatSn: unacknowledged), default, Ct);
        var again1 = await initiator.ExpectAsync(IscsiOpcode.DataIn, Ct);
        var again2 = await initiator.ExpectAsync(IscsiOpcode.DataIn, Ct);
        again1.Header.AsDataIn().DataSn.Should().Be(1);
        again1.Data.Should().Equal(first[1].Data);
        again1.Header.AsDataIn().BufferOffset.Should().Be(first[1].Header.AsDataIn().BufferOffset);
        again2.Header.AsDataIn().DataSn.Should().Be(2);
        again2.Data.Should().Equal(data.AsSpan(2 * Segment, Segment).ToArray());
    }

    [Fact]
    public async Task Erl1_StatusSnack_ResendsTheResponseWithItsStatSn()
    {
        await using var initiator = await SessionAsync(errorRecoveryLevel: 1);
        uint unacknowledged = initiator.ExpStatSn;
        await initiator.SendAsync(CommandPdu(initiator, 0x150, Cdbs.TestUnitReady()), default, Ct);
        var response = await ExpectGoodAsync(initiator, 0x150);
        response.StatSn.Should().Be(unacknowledged);

        await initiator.SendAsync(Snack(initiator, SnackType.Status, Bhs.ReservedTag, begRun: response.StatSn, runLength: 1, expStatSn: unacknowledged), default, Ct);

        var again = await ExpectGoodAsync(initiator, 0x150);
        again.StatSn.Should().Be(response.StatSn, "a status resent on its connection keeps its StatSN");
    }

    [Fact]
    public async Task Erl1_AcknowledgedResponse_IsReleased_AndASnackForItIsRejected()
    {
        await using var initiator = await SessionAsync(errorRecoveryLevel: 1);
        uint lba = UniqueLba();
        await initiator.SendAsync(CommandPdu(initiator, 0x160, Cdbs.Read10(lba, 16), readLength: Segment), default, Ct);
        await initiator.ExpectAsync(IscsiOpcode.DataIn, Ct);
        var response = await ExpectGoodAsync(initiator, 0x160);

        // ExpStatSN past the response acknowledges it (RFC 7143 section 4.2.2.2): the target lets it go.
        await initiator.SendAsync(Snack(initiator, SnackType.DataOrR2T, 0x160, begRun: 0, runLength: 0, expStatSn: response.StatSn + 1), default, Ct);

        (await initiator.ExpectAsync(IscsiOpcode.Reject, Ct)).Header.AsReject().Reason.Should().Be(RejectReason.ProtocolError);
    }

    [Fact]
    public async Task Erl1_RetriedCommand_WhoseResponseWasLost_GetsTheSameResponseAgain()
    {
        await using var initiator = await SessionAsync(errorRecoveryLevel: 1);
        uint cmdSn = initiator.CmdSn;
        uint unacknowledged = initiator.ExpStatSn;
        await initiator.SendAsync(CommandPdu(initiator, 0x170, Cdbs.TestUnitReady(), cmdSn: cmdSn), default, Ct);
        initiator.CmdSn = cmdSn + 1;
        var response = await ExpectGoodAsync(initiator, 0x170);

        // The same command again, same ITT and CmdSN (RFC 7143 section 6.2.1), the response not acknowledged.
        initiator.ExpStatSn = unacknowledged;
        await initiator.SendAsync(CommandPdu(initiator, 0x170, Cdbs.TestUnitReady(), cmdSn: cmdSn), default, Ct);

        var again = await ExpectGoodAsync(initiator, 0x170);
        again.StatSn.Should().Be(response.StatSn);
    }

    [Fact]
    public async Task Erl1_CmdSnGap_LaterCommandsWait_UntilTheMissingOneArrives()
    {
        await using var initiator = await SessionAsync(errorRecoveryLevel: 1);
        uint cmdSn = initiator.CmdSn;
        initiator.CmdSn = cmdSn + 2;

        await initiator.SendAsync(CommandPdu(initiator, 0x181, Cdbs.TestUnitReady(), cmdSn: cmdSn + 1), default, Ct);
        (await NextOrNothingAsync(initiator, TimeSpan.FromMilliseconds(500))).Should().BeNull("CmdSN {0} has not arrived, so {1} waits", cmdSn, cmdSn + 1);

        await initiator.SendAsync(CommandPdu(initiator, 0x180, Cdbs.TestUnitReady(), cmdSn: cmdSn), default, Ct);
        var answered = new[]
        {
            (await initiator.ExpectAsync(IscsiOpcode.ScsiResponse, Ct)).Header.AsScsiResponse(),
            (await initiator.ExpectAsync(IscsiOpcode.ScsiResponse, Ct)).Header.AsScsiResponse(),
        };
        answered.Select(r => r.InitiatorTaskTag).Should().BeEquivalentTo(new uint[] { 0x180, 0x181 });
        answered.Should().OnlyContain(r => r.Status == ScsiResult.Good);
        answered.Max(r => r.ExpCmdSn).Should().Be(cmdSn + 2);
    }

    [Fact]
    public async Task McS_SecondConnectionJoinsTheSession_AndCommandsRunInCmdSnOrderAcrossConnections()
    {
        string name = UniqueInitiator();
        var (first, login) = await LoginAsync(name, errorRecoveryLevel: 0, maxConnections: 2, immediateData: true);
        await using var _ = first;
        login.Status.Should().Be(LoginStatus.Success);
        login.Key("MaxConnections").Should().Be("2");
        await first.ClearUnitAttentionAsync(cancellationToken: Ct);
        var (second, joined) = await LoginAsync(name, errorRecoveryLevel: 0, maxConnections: 2, immediateData: true,
            isid: first.Isid, tsih: login.Tsih, cid: 1, cmdSn: first.CmdSn);
        await using var __ = second;
        joined.Status.Should().Be(LoginStatus.Success);
        joined.Tsih.Should().Be(login.Tsih, "the connection joined the session it named");

        // Two ORDERED writes to the same blocks: the later CmdSN arrives first, on the second connection, and waits.
        uint lba = UniqueLba();
        var earlier = Cdbs.Pattern(Segment, seed: 66);
        var later = Cdbs.Pattern(Segment, seed: 67);
        uint cmdSn = first.CmdSn;
        await second.SendAsync(CommandPdu(second, 0x201, Cdbs.Write10(lba, 16), writeLength: Segment, immediateLength: Segment, cmdSn: cmdSn + 1,
            attribute: TaskAttribute.Ordered), later, Ct);
        (await NextOrNothingAsync(second, TimeSpan.FromMilliseconds(500))).Should().BeNull();
        await first.SendAsync(CommandPdu(first, 0x200, Cdbs.Write10(lba, 16), writeLength: Segment, immediateLength: Segment, cmdSn: cmdSn,
            attribute: TaskAttribute.Ordered), earlier, Ct);

        await ExpectGoodAsync(first, 0x200);
        await ExpectGoodAsync(second, 0x201);
        first.CmdSn = cmdSn + 2;
        (await ReadAsync(first, lba, 16)).Should().Equal(later, "CmdSN order decides, not arrival");

        second.CmdSn = first.CmdSn;
        (await ReadAsync(second, lba, 16)).Should().Equal(later, "either connection serves the session");
        first.CmdSn = second.CmdSn;
    }

    [Fact]
    public async Task McS_ASecondConnection_LoggingInTheMomentTheFirstLoginEnds_Joins()
    {
        // The session has its parameters before the leading login's final response leaves: a join right after it is
        // counted against MaxConnections, not refused as if the session had none.
        for (int round = 0; round < 20; round++)
        {
            string name = UniqueInitiator();
            var (first, login) = await LoginAsync(name, errorRecoveryLevel: 0, maxConnections: 2);
            await using var _ = first;
            login.Status.Should().Be(LoginStatus.Success);
            var (second, joined) = await LoginAsync(name, 0, 2, isid: first.Isid, tsih: login.Tsih, cid: 1, cmdSn: first.CmdSn);
            await using var __ = second;
            joined.Status.Should().Be(LoginStatus.Success, $"round {round}");
        }
    }

    [Fact]
    public async Task McS_ConnectionsBeyondMaxConnections_AreRefused_AndLogoutOfOneKeepsTheSession()
    {
        string name = UniqueInitiator();
        var (first, login) = await LoginAsync(name, errorRecoveryLevel: 0, maxConnections: 2);
        await using var _ = first;
        await first.ClearUnitAttentionAsync(cancellationToken: Ct);
        var (second, joined) = await LoginAsync(name, 0, 2, isid: first.Isid, tsih: login.Tsih, cid: 1, cmdSn: first.CmdSn);
        await using var __ = second;
        joined.Status.Should().Be(LoginStatus.Success);
        var (third, refused) = await LoginAsync(name, 0, 2, isid: first.Isid, tsih: login.Tsih, cid: 2, cmdSn: first.CmdSn);
        await using var ___ = third;
        refused.Status.Should().Be(LoginStatus.TooManyConnections);

        second.CmdSn = first.CmdSn;
        var logout = await second.LogoutAsync(LogoutReason.CloseConnection, cid: 1, Ct);
        logout.Response.Should().Be(LogoutResponse.Success);
        (await second.WaitForCloseAsync(TimeSpan.FromSeconds(5), Ct)).Should().BeTrue();

        first.CmdSn = second.CmdSn;
        (await first.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good, "the session lives on");
    }

    [Fact]
    public async Task Erl2_ConnectionKilledMidWrite_NewConnectionReassignsTheTask_AndTheMissingDataIsAskedFor()
    {
        string name = UniqueInitiator();
        var (first, login) = await LoginAsync(name, errorRecoveryLevel: 2, maxConnections: 2);
        login.Status.Should().Be(LoginStatus.Success);
        await first.ClearUnitAttentionAsync(cancellationToken: Ct);
        uint lba = UniqueLba();
        var data = Cdbs.Pattern(3 * Segment, seed: 68);
        await first.SendAsync(CommandPdu(first, 0x300, Cdbs.Write10(lba, (ushort)(data.Length / Block)), writeLength: data.Length), default, Ct);
        var r2t = (await first.ExpectAsync(IscsiOpcode.ReadyToTransfer, Ct)).Header.AsReadyToTransfer();
        await SendDataOutAsync(first, r2t, data, 0, Segment, dataSn: 0, final: false);
        uint cmdSn = first.CmdSn;
        await first.DisposeAsync(); // the connection dies in the middle of the data

        // A new connection (CID 1) joins the session; the old one is removed for recovery; the task is reassigned.
        var (second, joined) = await LoginAsync(name, 2, 2, isid: first.Isid, tsih: login.Tsih, cid: 1, cmdSn: cmdSn);
        await using var _ = second;
        joined.Status.Should().Be(LoginStatus.Success);
        var removed = await second.LogoutAsync(LogoutReason.RemoveConnectionForRecovery, cid: 0, Ct);
        removed.Response.Should().Be(LogoutResponse.Success);
        removed.Time2Retain.Should().Be(20);
        var reassign = await second.TaskManagementAsync(TaskManagementFunction.TaskReassign, 0, 0x300, Ct);
        reassign.Response.Should().Be(TaskManagementResponse.FunctionComplete);

        var recovery = (await second.ExpectAsync(IscsiOpcode.ReadyToTransfer, Ct)).Header.AsReadyToTransfer();
        recovery.BufferOffset.Should().Be(Segment, "the first 8 KiB arrived before the connection died");
        recovery.DesiredDataTransferLength.Should().Be(2 * Segment);
        await AnswerAsync(second, recovery, data);
        await ExpectGoodAsync(second, 0x300);
        (await ReadAsync(second, lba, data.Length / Block)).Should().Equal(data);
        fixture.Logs.Faults.Should().Contain(f => f.Contains("Task 0x00000300 reassigned", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Erl2_ConnectionKilledBeforeTheReadResponseWasRead_ReinstatedConnectionGetsDataAndStatusAfterReassign()
    {
        string name = UniqueInitiator();
        var (first, login) = await LoginAsync(name, errorRecoveryLevel: 2);
        await first.ClearUnitAttentionAsync(cancellationToken: Ct);
        uint lba = UniqueLba();
        var data = Cdbs.Pattern(2 * Segment, seed: 69);
        (await first.ExecuteAsync(0, Cdbs.Write10(lba, (ushort)(data.Length / Block)), writeData: data, cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);
        await first.SendAsync(CommandPdu(first, 0x310, Cdbs.Read10(lba, (ushort)(data.Length / Block)), readLength: data.Length), default, Ct);
        uint cmdSn = first.CmdSn;
        await Task.Delay(200, Ct); // the target answers into a connection whose reader is about to go
        await first.DisposeAsync();

        // Connection reinstatement: same CID, same TSIH (RFC 7143 section 6.3.4).
        var (second, joined) = await LoginAsync(name, 2, isid: first.Isid, tsih: login.Tsih, cid: 0, cmdSn: cmdSn);
        await using var _ = second;
        joined.Status.Should().Be(LoginStatus.Success);
        var reassign = await second.TaskManagementAsync(TaskManagementFunction.TaskReassign, 0, 0x310, Ct);
        reassign.Response.Should().Be(TaskManagementResponse.FunctionComplete);

        var received = new byte[data.Length];
        while (true)
        {
            var pdu = await second.ReceiveAsync(Ct) ?? throw new IOException("closed");
            if (pdu.Opcode == IscsiOpcode.DataIn)
            {
                pdu.Data.CopyTo(received, (int)pdu.Header.AsDataIn().BufferOffset);
                continue;
            }

            pdu.Opcode.Should().Be(IscsiOpcode.ScsiResponse);
            pdu.Header.AsScsiResponse().Status.Should().Be(ScsiResult.Good);
            pdu.Header.AsScsiResponse().InitiatorTaskTag.Should().Be(0x310);
            break;
        }

        received.Should().Equal(data);
    }

    [Fact]
    public async Task Erl2_TaskReassign_ForATaskWhoseConnectionLives_TaskStillAllegiant()
    {
        string name = UniqueInitiator();
        var (first, login) = await LoginAsync(name, errorRecoveryLevel: 2, maxConnections: 2);
        await using var _ = first;
        await first.ClearUnitAttentionAsync(cancellationToken: Ct);
        await first.SendAsync(CommandPdu(first, 0x320, Cdbs.Write10(UniqueLba(), 16), writeLength: Segment), default, Ct);
        await first.ExpectAsync(IscsiOpcode.ReadyToTransfer, Ct);
        var (second, _) = await LoginAsync(name, 2, 2, isid: first.Isid, tsih: login.Tsih, cid: 1, cmdSn: first.CmdSn);
        await using var __ = second;

        var reassign = await second.TaskManagementAsync(TaskManagementFunction.TaskReassign, 0, 0x320, Ct);

        reassign.Response.Should().Be(TaskManagementResponse.TaskStillAllegiant);
    }

    [Fact]
    public async Task Erl2_SessionWithoutConnections_EndsWhenTime2RetainRunsOut()
    {
        string name = UniqueInitiator();
        var (first, login) = await LoginAsync(name, errorRecoveryLevel: 2, time2Retain: 1);
        login.Key("DefaultTime2Retain").Should().Be("1");
        uint cmdSn = first.CmdSn;
        await first.DisposeAsync();
        await Task.Delay(TimeSpan.FromSeconds(2.5), Ct);

        var (second, refused) = await LoginAsync(name, 2, isid: first.Isid, tsih: login.Tsih, cid: 0, cmdSn: cmdSn, time2Retain: 1);
        await using var _ = second;

        refused.Status.Should().Be(LoginStatus.SessionDoesNotExist);
    }

    [Fact]
    public async Task Erl0_TaskReassign_IsNotSupported()
    {
        await using var initiator = await SessionAsync(errorRecoveryLevel: 0);

        var reassign = await initiator.TaskManagementAsync(TaskManagementFunction.TaskReassign, 0, 0x999, Ct);

        reassign.Response.Should().Be(TaskManagementResponse.TaskReassignmentNotSupported);
    }

    [Fact]
    public async Task McS_SecondConnection_UsesTheLeadingLoginsSessionKeys_AndDataOutForAWaitingCommandFollowsIt()
    {
        // The leading login negotiates InitialR2T=No; the second login offers no leading-only key at all (RFC 7143
        // section 13), so the session's values apply to it.
        string name = UniqueInitiator();
        var initiator1 = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        await using var _ = initiator1;
        var login = await initiator1.LoginAsync(Keys(name, 0, maxConnections: 2, immediateData: true, initialR2T: false), Ct);
        login.Key("InitialR2T").Should().Be("No");
        await initiator1.ClearUnitAttentionAsync(cancellationToken: Ct);
        var initiator2 = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        await using var __ = initiator2;
        initiator2.Isid = initiator1.Isid;
        initiator2.Tsih = login.Tsih;
        initiator2.Cid = 1;
        initiator2.CmdSn = initiator1.CmdSn;
        var joinKeys = new List<KeyValuePair<string, string>>
        {
            new("InitiatorName", name), new("SessionType", "Normal"), new("TargetName", ScstTargetFixture.TargetName),
            new("HeaderDigest", "None"), new("DataDigest", "None"), new("MaxRecvDataSegmentLength", "8192"),
        };
        (await initiator2.LoginAsync(joinKeys, Ct)).Status.Should().Be(LoginStatus.Success);

        // On the second connection: a write with immediate data and unsolicited Data-Out, whose CmdSN comes after one
        // not sent yet, so both the command and its Data-Out wait; then the missing command on the first connection.
        uint lba = UniqueLba();
        var data = Cdbs.Pattern(2 * Segment, seed: 71);
        uint cmdSn = initiator1.CmdSn;
        await initiator2.SendAsync(Unsolicited(CommandPdu(initiator2, 0x400, Cdbs.Write10(lba, (ushort)(data.Length / Block)), writeLength: data.Length,
            immediateLength: Segment, cmdSn: cmdSn + 1)), data.AsMemory(0, Segment), Ct);
        var dataOut = new byte[Bhs.Length];
        new DataOutHeader
        {
            Final = true, DataSegmentLength = Segment, InitiatorTaskTag = 0x400, TargetTransferTag = Bhs.ReservedTag,
            ExpStatSn = initiator2.ExpStatSn, DataSn = 0, BufferOffset = Segment,
        }.WriteTo(dataOut);
        await initiator2.SendAsync(dataOut, data.AsMemory(Segment, Segment), Ct);
        (await NextOrNothingAsync(initiator2, TimeSpan.FromMilliseconds(300))).Should().BeNull();
        await initiator1.SendAsync(CommandPdu(initiator1, 0x401, Cdbs.TestUnitReady(), cmdSn: cmdSn), default, Ct);

        await ExpectGoodAsync(initiator1, 0x401);
        await ExpectGoodAsync(initiator2, 0x400);
        initiator1.CmdSn = cmdSn + 2;
        (await ReadAsync(initiator1, lba, data.Length / Block)).Should().Equal(data);
    }

    [Fact]
    public async Task Erl1_TaskManagement_DoesNotWaitForTheInitiatorToAcknowledgeKeptResponses()
    {
        await using var initiator = await SessionAsync(errorRecoveryLevel: 1);
        uint unacknowledged = initiator.ExpStatSn;
        await initiator.SendAsync(CommandPdu(initiator, 0x410, Cdbs.Read10(UniqueLba(), 16), readLength: Segment), default, Ct);
        await initiator.ExpectAsync(IscsiOpcode.DataIn, Ct);
        await ExpectGoodAsync(initiator, 0x410);

        // The response is kept until acknowledged; a LOGICAL UNIT RESET that does not acknowledge it is answered at once
        // all the same (the kept copy is the transport's, the command is long released in the core).
        initiator.ExpStatSn = unacknowledged;
        initiator.ReceiveTimeout = TimeSpan.FromSeconds(5);
        var reset = await initiator.TaskManagementAsync(TaskManagementFunction.LogicalUnitReset, 0, cancellationToken: Ct);

        reset.Response.Should().Be(TaskManagementResponse.FunctionComplete);
    }

    private static byte[] Unsolicited(byte[] bhs)
    {
        bhs[1] &= 0x7f; // F = 0: unsolicited Data-Out follows
        return bhs;
    }

    private static byte[] Snack(IscsiTestInitiator initiator, SnackType type, uint itt, uint begRun, uint runLength, uint expStatSn)
    {
        _ = initiator;
        var bhs = new byte[Bhs.Length];
        new SnackRequestHeader
        {
            Type = type,
            InitiatorTaskTag = itt,
            TargetTransferTagOrSnackTag = Bhs.ReservedTag,
            ExpStatSn = expStatSn,
            BegRun = begRun,
            RunLength = runLength,
        }.WriteTo(bhs);
        return bhs;
    }

    private static async Task<ReceivedPdu?> NextOrNothingAsync(IscsiTestInitiator initiator, TimeSpan wait)
    {
        try
        {
            return await initiator.ReceiveAsync(wait, Ct);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }
}
