// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using Scst.Integration.Tests.Fixtures;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>
/// CRC32C header and data digests over real TCP (RFC 7143 sections 7.8, 13.1), against the default policy
/// (<c>CRC32C,None</c> for both keys). <see cref="IscsiTestInitiator"/> checks every digest the target sends and throws on
/// a wrong one, so each exchange here also checks the target's send path.
/// </summary>
public sealed class IscsiDigestTests(ScstTargetFixture fixture) : IClassFixture<ScstTargetFixture>
{
    private const int Block = ScstTargetFixture.BlockSize;
    private static int s_nextInitiator;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string UniqueInitiator() => $"{IscsiTestInitiator.DefaultInitiatorName}-digest-{Interlocked.Increment(ref s_nextInitiator)}";

    private async Task<IscsiTestInitiator> LoginAsync(bool immediateData = true, string headerDigest = "CRC32C,None", string dataDigest = "CRC32C,None")
    {
        var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        var keys = IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, UniqueInitiator(), immediateData: immediateData, initialR2T: true,
            headerDigest: headerDigest, dataDigest: dataDigest);
        var login = await initiator.LoginAsync(keys, Ct);
        login.Status.Should().Be(LoginStatus.Success);
        await initiator.ClearUnitAttentionAsync(cancellationToken: Ct);
        return initiator;
    }

    private static byte[] Command(IscsiTestInitiator initiator, uint itt, byte[] cdb, int writeLength, int immediateLength)
    {
        var bhs = new byte[Bhs.Length];
        new ScsiCommandHeader
        {
            Final = true,
            IsWrite = true,
            Attribute = TaskAttribute.Simple,
            DataSegmentLength = immediateLength,
            InitiatorTaskTag = itt,
            ExpectedDataTransferLength = (uint)writeLength,
            CmdSn = initiator.CmdSn++,
            ExpStatSn = initiator.ExpStatSn,
            Cdb = Cdb16.From(cdb),
        }.WriteTo(bhs);
        return bhs;
    }

    private static async Task ExpectDataDigestRejectAsync(IscsiTestInitiator initiator, byte[] rejectedBhs)
    {
        var reject = await initiator.ReceiveAsync(Ct);
        reject.Should().NotBeNull("a data digest error is answered, not ignored");
        reject!.Opcode.Should().Be(IscsiOpcode.Reject);
        reject.Header.AsReject().Reason.Should().Be(RejectReason.DataDigestError);
        reject.Data.Should().Equal(rejectedBhs, "a Reject quotes the rejected header");
    }

    private static async Task ExpectCrcErrorResponseAsync(IscsiTestInitiator initiator, uint itt)
    {
        var pdu = await initiator.ReceiveAsync(Ct);
        pdu.Should().NotBeNull();
        pdu!.Opcode.Should().Be(IscsiOpcode.ScsiResponse);
        var response = pdu.Header.AsScsiResponse();
        response.InitiatorTaskTag.Should().Be(itt);
        response.Response.Should().Be(0, "the command completed at the target");
        response.Status.Should().Be(ScsiResult.CheckCondition);
        int senseLength = BinaryPrimitives.ReadUInt16BigEndian(pdu.Data);
        var result = new ScsiResult(response.Status, 0, pdu.Data.AsSpan(2, senseLength).ToArray(), [], [], [], response);
        result.SenseCodes.Should().Be(((byte)0x0b, (byte)0x47, (byte)0x05), "ABORTED COMMAND, PROTOCOL SERVICE CRC ERROR");
    }

    private static async Task<byte[]> ReadAsync(IscsiTestInitiator initiator, uint lba, int blocks)
    {
        var read = await initiator.ExecuteAsync(0, Cdbs.Read10(lba, (ushort)blocks), readLength: blocks * Block, cancellationToken: Ct);
        read.Status.Should().Be(ScsiResult.Good);
        return read.Data;
    }

    [Fact]
    public async Task Login_BothDigestsOffered_EveryPduAfterTheLoginCarriesCorrectDigestsBothWays()
    {
        long headerBefore = fixture.IscsiDriver.HeaderDigestsChecked;
        long dataBefore = fixture.IscsiDriver.DataDigestsChecked;
        await using var initiator = await LoginAsync(immediateData: false);
        var data = Cdbs.Pattern(40 * Block, seed: 21);

        var write = await initiator.ExecuteAsync(0, Cdbs.Write10(30_000, 40), writeData: data, cancellationToken: Ct);
        var read = await initiator.ExecuteAsync(0, Cdbs.Read10(30_000, 40), readLength: data.Length, cancellationToken: Ct);

        initiator.HeaderDigest.Should().Be(DigestKind.Crc32C);
        initiator.DataDigest.Should().Be(DigestKind.Crc32C);
        write.Status.Should().Be(ScsiResult.Good);
        write.R2Ts.Should().NotBeEmpty("the write data went as Data-Out PDUs, each with a data digest");
        read.Data.Should().Equal(data);
        initiator.HeaderDigestsVerified.Should().BeGreaterThanOrEqualTo(read.DataIn.Count + write.R2Ts.Count + 2);
        initiator.DataDigestsVerified.Should().BeGreaterThanOrEqualTo(read.DataIn.Count);
        (fixture.IscsiDriver.HeaderDigestsChecked - headerBefore).Should().BeGreaterThanOrEqualTo(4, "the target checked the header digest of every PDU");
        (fixture.IscsiDriver.DataDigestsChecked - dataBefore).Should().BeGreaterThanOrEqualTo(write.R2Ts.Count, "and the data digest of every Data-Out");
    }

    [Theory]
    [InlineData("None,CRC32C", "None")]
    [InlineData("CRC32C", "CRC32C")]
    public async Task Login_InitiatorsOrderDecides(string offer, string answer)
    {
        await using var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);

        var login = await initiator.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, UniqueInitiator(), headerDigest: offer, dataDigest: offer), Ct);

        login.Status.Should().Be(LoginStatus.Success);
        login.Key("HeaderDigest").Should().Be(answer);
        login.Key("DataDigest").Should().Be(answer);
        (await initiator.PingAsync([9, 8, 7], Ct)).Data.Should().Equal(9, 8, 7);
    }

    [Fact]
    public async Task DataDigestError_OnImmediateData_RejectedAndTheCommandEndsWithCrcErrorWithoutWriting()
    {
        await using var initiator = await LoginAsync();
        var before = Cdbs.Pattern(8 * Block, seed: 22);
        (await initiator.ExecuteAsync(0, Cdbs.Write10(31_000, 8), writeData: before, cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);
        var bhs = Command(initiator, 0x5151, Cdbs.Write10(31_000, 8), before.Length, before.Length);

        initiator.CorruptNextDataDigest = true;
        await initiator.SendAsync(bhs, Cdbs.Pattern(before.Length, seed: 23), Ct);

        await ExpectDataDigestRejectAsync(initiator, bhs);
        await ExpectCrcErrorResponseAsync(initiator, 0x5151);
        (await ReadAsync(initiator, 31_000, 8)).Should().Equal(before, "data that failed its digest is never written");
    }

    [Fact]
    public async Task DataDigestError_OnOneDataOutOfABurst_TheCommandWaitsForTheRestThenEndsWithCrcError()
    {
        await using var initiator = await LoginAsync(immediateData: false);
        const int pduLength = 8192;
        const int length = 4 * pduLength;
        int blocks = length / Block;
        var before = Cdbs.Pattern(length, seed: 24);
        (await initiator.ExecuteAsync(0, Cdbs.Write10(32_000, (ushort)blocks), writeData: before, cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);
        var bhs = Command(initiator, 0x6161, Cdbs.Write10(32_000, (ushort)blocks), length, 0);
        await initiator.SendAsync(bhs, ReadOnlyMemory<byte>.Empty, Ct);
        var r2t = (await initiator.ExpectAsync(IscsiOpcode.ReadyToTransfer, Ct)).Header.AsReadyToTransfer();
        r2t.DesiredDataTransferLength.Should().Be((uint)length, "one R2T covers the whole write");
        var replacement = Cdbs.Pattern(length, seed: 25);
        const int pdus = length / pduLength;

        byte[] DataOut(int index)
        {
            int offset = index * pduLength;
            var header = new byte[Bhs.Length];
            new DataOutHeader
            {
                Final = index == pdus - 1,
                DataSegmentLength = Math.Min(pduLength, length - offset),
                InitiatorTaskTag = 0x6161,
                TargetTransferTag = r2t.TargetTransferTag,
                ExpStatSn = initiator.ExpStatSn,
                DataSn = (uint)index,
                BufferOffset = (uint)offset,
            }.WriteTo(header);
            return header;
        }

        await initiator.SendAsync(DataOut(0), replacement.AsMemory(0, pduLength), Ct);
        var corrupted = DataOut(1);
        initiator.CorruptNextDataDigest = true;
        await initiator.SendAsync(corrupted, replacement.AsMemory(pduLength, Math.Min(pduLength, length - pduLength)), Ct);
        await ExpectDataDigestRejectAsync(initiator, corrupted);

        // The response waits for the rest of the burst: a ping sent now is answered before it.
        var pong = await initiator.PingAsync([1, 2, 3], Ct);
        pong.Data.Should().Equal(1, 2, 3);
        for (int i = 2; i < pdus; i++)
        {
            int offset = i * pduLength;
            await initiator.SendAsync(DataOut(i), replacement.AsMemory(offset, Math.Min(pduLength, length - offset)), Ct);
        }

        await ExpectCrcErrorResponseAsync(initiator, 0x6161);
        (await ReadAsync(initiator, 32_000, blocks)).Should().Equal(before, "no byte of the failed command is written");
        (await initiator.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);
    }

    [Fact]
    public async Task DataDigestError_OnAPing_RejectedNotEchoed_TheConnectionCarriesOn()
    {
        await using var initiator = await LoginAsync();
        var bhs = new byte[Bhs.Length];
        new NopOutHeader
        {
            Immediate = true,
            DataSegmentLength = 5,
            InitiatorTaskTag = 0x7171,
            TargetTransferTag = Bhs.ReservedTag,
            CmdSn = initiator.CmdSn,
            ExpStatSn = initiator.ExpStatSn,
        }.WriteTo(bhs);

        initiator.CorruptNextDataDigest = true;
        await initiator.SendAsync(bhs, new byte[] { 1, 2, 3, 4, 5 }, Ct);

        await ExpectDataDigestRejectAsync(initiator, bhs);
        var pong = await initiator.PingAsync([6, 7], Ct);
        pong.Header.InitiatorTaskTag.Should().NotBe(0x7171u, "the ping that failed its digest is not echoed");
        pong.Data.Should().Equal(6, 7);
    }

    [Fact]
    public async Task HeaderDigestError_DropsTheConnectionWithoutReject_AnotherSessionKeepsWorking()
    {
        await using var other = await LoginAsync();
        await using var initiator = await LoginAsync();
        var bhs = new byte[Bhs.Length];
        new NopOutHeader { Immediate = true, InitiatorTaskTag = 0x8181, TargetTransferTag = Bhs.ReservedTag, CmdSn = initiator.CmdSn, ExpStatSn = initiator.ExpStatSn }.WriteTo(bhs);

        initiator.CorruptNextHeaderDigest = true;
        await initiator.SendAsync(bhs, ReadOnlyMemory<byte>.Empty, Ct);

        (await initiator.ReceiveAsync(Ct)).Should().BeNull("a header that failed its digest cannot be trusted: the connection ends, with no Reject");
        var data = Cdbs.Pattern(4 * Block, seed: 26);
        (await other.ExecuteAsync(0, Cdbs.Write10(33_000, 4), writeData: data, cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);
        (await ReadAsync(other, 33_000, 4)).Should().Equal(data);
    }
}

/// <summary>A target whose policy is CRC32C only (SCST: <c>HeaderDigest CRC32C</c>).</summary>
public sealed class Crc32COnlyTargetFixture : ScstTargetFixture
{
    protected override void ConfigureIscsi(IscsiTargetOptions options)
    {
        options.HeaderDigest = "CRC32C";
        options.DataDigest = "CRC32C";
    }
}

/// <summary>The digest policy of <see cref="IscsiTargetOptions"/>: what a target configured for CRC32C only accepts.</summary>
public sealed class IscsiDigestPolicyTests(Crc32COnlyTargetFixture fixture) : IClassFixture<Crc32COnlyTargetFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Crc32COnly_InitiatorOffersNoneFirst_GetsCrc32C()
    {
        await using var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);

        var login = await initiator.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, headerDigest: "None,CRC32C", dataDigest: "None,CRC32C"), Ct);

        login.Status.Should().Be(LoginStatus.Success);
        login.Key("HeaderDigest").Should().Be("CRC32C");
        login.Key("DataDigest").Should().Be("CRC32C");
        (await initiator.PingAsync([4, 2], Ct)).Data.Should().Equal(4, 2);
    }

    [Fact]
    public async Task Crc32COnly_InitiatorWithoutDigests_LoginFailsAndTheConnectionCloses()
    {
        await using var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);

        var login = await initiator.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName), Ct);

        login.Status.Should().Be(LoginStatus.InitiatorError);
        (await initiator.WaitForCloseAsync(TimeSpan.FromSeconds(5), Ct)).Should().BeTrue();
    }

    [Fact]
    public async Task Crc32COnly_DiscoveryWithoutDigests_StillWorks()
    {
        await using var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);

        (await initiator.LoginAsync(IscsiTestInitiator.DiscoveryKeys(), Ct)).Status.Should().Be(LoginStatus.Success);

        (await initiator.SendTargetsAsync("All", Ct)).Should().Contain(new KeyValuePair<string, string>("TargetName", ScstTargetFixture.TargetName));
    }
}
