// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using Scst.Core;
using Scst.Core.Management;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Handlers.Tests;

/// <summary>
/// A vcdrom LUN over the local transport: the SBC and MMC commands it answers, the ones it refuses, write protection,
/// the empty drive, the tray (START STOP UNIT), removal prevention and medium changes with their unit attention and
/// media events.
/// </summary>
public sealed class VcdromCommandTests : IAsyncLifetime
{
    private const int Sectors = 100;
    private const int Sector = 2048;
    private readonly TempDirectory _dir = new();
    private ScstStack _stack = null!;
    private LocalSession _a = null!;
    private LocalSession _b = null!;
    private string _image = null!;

    private VcdromDevice Device => (VcdromDevice)_stack.Engine.FindDevice("cd0")!;

    public async ValueTask InitializeAsync()
    {
        _image = IsoImageFile.Write(_dir.File("disc.iso"), Sectors);
        _stack = await ScstStack.StartAsync("vcdrom", "cd0", new Dictionary<string, string> { ["filename"] = _image });
        _a = _stack.OpenSession(initiator: "iqn.2026-11.test:a");
        _b = _stack.OpenSession(initiator: "iqn.2026-11.test:b");
    }

    public async ValueTask DisposeAsync()
    {
        _stack.AssertNoLeaks();
        await _stack.DisposeAsync();
        _dir.Dispose();
    }

    private static ValueTask<LocalResult> RunAsync(LocalSession s, byte[] cdb, DataDirection direction = DataDirection.None, byte[]? data = null) =>
        s.ExecuteAsync(0, cdb, direction, data ?? Memory<byte>.Empty);

    private ValueTask<LocalResult> RunAsync(byte[] cdb, DataDirection direction = DataDirection.None, byte[]? data = null) =>
        RunAsync(_a, cdb, direction, data);

    private async Task<byte[]> ReadDataAsync(byte[] cdb, int allocation)
    {
        byte[] data = new byte[allocation];
        LocalResult r = await RunAsync(cdb, DataDirection.Read, data);
        SenseAssert.IsGood(r);
        return data[..r.TransferredLength];
    }

    private static byte[] Cdb10(byte opcode, byte b1 = 0, uint lba = 0, ushort length = 0, byte b6 = 0, byte control = 0)
    {
        byte[] cdb = new byte[10];
        cdb[0] = opcode;
        cdb[1] = b1;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(2), lba);
        cdb[6] = b6;
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), length);
        cdb[9] = control;
        return cdb;
    }

    private static byte[] ReadToc(bool msf, byte format, byte track, ushort allocation = 1024, byte control = 0)
    {
        byte[] cdb = Cdb10(0x43, msf ? (byte)0x02 : (byte)0, 0, allocation, track, control);
        cdb[2] = format;
        return cdb;
    }

    private static byte[] GetConfiguration(byte requestType, ushort startingFeature = 0, ushort allocation = 1024)
    {
        byte[] cdb = Cdb10(0x46, requestType, 0, allocation);
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(2), startingFeature);
        return cdb;
    }

    private static byte[] EventStatus(byte classRequest = 0x10, bool polled = true, ushort allocation = 8)
    {
        byte[] cdb = Cdb10(0x4A, polled ? (byte)1 : (byte)0, 0, allocation);
        cdb[4] = classRequest;
        return cdb;
    }

    private static byte[] MechanismStatus(ushort allocation = 8)
    {
        byte[] cdb = new byte[12];
        cdb[0] = 0xBD;
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(8), allocation);
        return cdb;
    }

    private static byte[] StartStop(bool loadEject, bool start) => [0x1B, 0, 0, 0, (byte)((loadEject ? 0x02 : 0) | (start ? 0x01 : 0)), 0];

    private static byte[] PreventAllow(bool prevent) => [0x1E, 0, 0, 0, prevent ? (byte)1 : (byte)0, 0];

    private static void ShouldBeNotReadyNoMedium(LocalResult r) => SenseAssert.IsCheckCondition(r, SenseCode.MediumNotPresent);

    [Fact]
    public async Task Inquiry_Standard_IsARemovableCdRomClaimingNoSbc()
    {
        byte[] inquiry = await ReadDataAsync(CdbBuilder.Inquiry(96), 96);

        (inquiry[0] & 0x1F).Should().Be(0x05, "peripheral device type 05h, CD/DVD");
        (inquiry[1] & 0x80).Should().Be(0x80, "RMB: the medium is removable");
        System.Text.Encoding.ASCII.GetString(inquiry, 16, 16).Should().Be("Virtual CD-ROM  ");
        ushort[] versions = [.. Enumerable.Range(0, 8).Select(i => BinaryPrimitives.ReadUInt16BigEndian(inquiry.AsSpan(58 + (2 * i))))];
        versions.Should().NotContain(0x04C0, "a CD-ROM does not claim SBC-3");
        versions.Should().Contain(0x0460, "SPC-4 is claimed");
    }

    [Fact]
    public async Task Inquiry_Vpd_HasNoBlockDevicePages()
    {
        byte[] pages = await ReadDataAsync(CdbBuilder.Inquiry(255, evpd: true, page: 0x00), 255);

        pages[0].Should().Be(0x05);
        pages[4..].Should().Equal(0x00, 0x80, 0x83, 0x86, 0x8F);
        SenseAssert.IsInvalidFieldInCdb(await RunAsync(CdbBuilder.Inquiry(255, evpd: true, page: 0xB0), DataDirection.Read, new byte[255]), 2);
        SenseAssert.IsInvalidFieldInCdb(await RunAsync(CdbBuilder.Inquiry(255, evpd: true, page: 0xB1), DataDirection.Read, new byte[255]), 2);
    }

    [Fact]
    public async Task ReadCapacity10_ReportsTheLastSectorAnd2048ByteBlocks()
    {
        byte[] capacity = await ReadDataAsync(CdbBuilder.ReadCapacity10(), 8);

        BinaryPrimitives.ReadUInt32BigEndian(capacity).Should().Be(Sectors - 1);
        BinaryPrimitives.ReadUInt32BigEndian(capacity.AsSpan(4)).Should().Be(Sector);
    }

    [Fact]
    public async Task Read10AndRead12_ReturnTheImageSectors()
    {
        byte[] ten = await ReadDataAsync(CdbBuilder.Read10(40, 2), 2 * Sector);
        byte[] twelve = await ReadDataAsync(CdbBuilder.Read12(Sectors - 1, 1), Sector);

        ten.Should().Equal([.. IsoImageFile.Sector(40), .. IsoImageFile.Sector(41)]);
        twelve.Should().Equal(IsoImageFile.Sector(Sectors - 1));
    }

    [Fact]
    public async Task Read_BeyondTheLastSector_IsLbaOutOfRange()
    {
        SenseAssert.IsCheckCondition(await RunAsync(CdbBuilder.Read10(Sectors - 1, 2), DataDirection.Read, new byte[2 * Sector]), SenseCode.LbaOutOfRange);
        SenseAssert.IsCheckCondition(await RunAsync(CdbBuilder.Read12(Sectors, 1), DataDirection.Read, new byte[Sector]), SenseCode.LbaOutOfRange);
    }

    [Fact]
    public async Task Writes_GetDataProtect_AndLeaveTheImageAlone()
    {
        byte[] before = await File.ReadAllBytesAsync(_image, TestContext.Current.CancellationToken);
        byte[] data = new byte[Sector];
        data.AsSpan().Fill(0xEE);

        SenseAssert.IsCheckCondition(await RunAsync(CdbBuilder.Write10(3, 1), DataDirection.Write, data), SenseCode.WriteProtected);
        SenseAssert.IsCheckCondition(await RunAsync(CdbBuilder.Write12(3, 1), DataDirection.Write, data), SenseCode.WriteProtected);
        SenseAssert.IsCheckCondition(await RunAsync(Cdb10(0x2E, 0, 3, 1), DataDirection.Write, data), SenseCode.WriteProtected);
        SenseAssert.IsCheckCondition(await RunAsync([0x04, 0, 0, 0, 0, 0]), SenseCode.WriteProtected);

        (await File.ReadAllBytesAsync(_image, TestContext.Current.CancellationToken)).Should().Equal(before);
    }

    [Theory]
    [InlineData(new byte[] { 0x08, 0, 0, 0, 1, 0 })]                                     // READ(6)
    [InlineData(new byte[] { 0x0A, 0, 0, 0, 1, 0 })]                                     // WRITE(6)
    [InlineData(new byte[] { 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 })]       // READ(16)
    [InlineData(new byte[] { 0x8A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 })]       // WRITE(16)
    [InlineData(new byte[] { 0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0 })]   // READ CAPACITY(16)
    [InlineData(new byte[] { 0x9E, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0 })]   // GET LBA STATUS
    [InlineData(new byte[] { 0x41, 0, 0, 0, 0, 0, 0, 0, 1, 0 })]                         // WRITE SAME(10)
    [InlineData(new byte[] { 0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0 })]                        // UNMAP
    [InlineData(new byte[] { 0x34, 0, 0, 0, 0, 0, 0, 0, 1, 0 })]                         // PRE-FETCH(10)
    [InlineData(new byte[] { 0x37, 0, 0, 0, 0, 0, 0, 0, 4, 0 })]                         // READ DEFECT DATA(10)
    [InlineData(new byte[] { 0x48, 0x01, 0, 0, 0, 0, 0, 0, 0, 0 })]                      // SANITIZE
    [InlineData(new byte[] { 0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 })]       // COMPARE AND WRITE
    [InlineData(new byte[] { 0x91, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]       // SYNCHRONIZE CACHE(16)
    [InlineData(new byte[] { 0xAF, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 })]                   // VERIFY(12)
    [InlineData(new byte[] { 0xC2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]                   // vendor-specific, unknown here
    [InlineData(new byte[] { 0xBE, 0, 0, 0, 0, 0, 0, 0, 1, 0x10, 0, 0 })]                // READ CD (not implemented)
    public async Task CommandsOutsideTheDrive_AreInvalidOpcode(byte[] cdb)
    {
        DataDirection direction = cdb[0] is 0x0A or 0x8A or 0x41 or 0x42 or 0x89 ? DataDirection.Write : DataDirection.Read;

        LocalResult r = await RunAsync(cdb, direction, new byte[4096]);

        SenseAssert.IsCheckCondition(r, SenseCode.InvalidOpcode);
    }

    [Fact]
    public async Task ModeSense_AllPages_AreTheCdRomPagesWithWriteProtect()
    {
        byte[] sense = await ReadDataAsync(CdbBuilder.ModeSense10(0x3F), 1024);

        sense[3].Should().Be(0x80, "WP set, and no DPOFUA on a CD-ROM");
        BinaryPrimitives.ReadUInt16BigEndian(sense.AsSpan(6)).Should().Be(8, "one block descriptor");
        BinaryPrimitives.ReadUInt32BigEndian(sense.AsSpan(8)).Should().Be(Sectors);
        (BinaryPrimitives.ReadUInt32BigEndian(sense.AsSpan(12)) & 0xFFFFFF).Should().Be(Sector);
        var pages = new List<int>();
        for (int at = 16; at < sense.Length; at += 2 + sense[at + 1])
        {
            pages.Add(sense[at] & 0x3F);
        }

        pages.Should().Equal(0x01, 0x0A, 0x1C);
        SenseAssert.IsInvalidFieldInCdb(await RunAsync(CdbBuilder.ModeSense6(0x08), DataDirection.Read, new byte[255]), 2, 5);
        SenseAssert.IsInvalidFieldInCdb(await RunAsync(CdbBuilder.ModeSense6(0x04), DataDirection.Read, new byte[255]), 2, 5);
    }

    [Fact]
    public async Task ReadToc_Format0_ListsTrackOneAndTheLeadOutAsLbas()
    {
        byte[] toc = await ReadDataAsync(ReadToc(msf: false, 0, 0), 1024);

        toc.Should().Equal(
            0x00, 0x12, 0x01, 0x01,
            0x00, 0x14, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x14, 0xAA, 0x00, 0x00, 0x00, 0x00, (byte)Sectors);
        (await ReadDataAsync(ReadToc(msf: false, 0, 1), 1024)).Should().Equal(toc, "track 1 is the first track");
    }

    [Fact]
    public async Task ReadToc_Msf_GivesMinutesSecondsAndFramesFromTwoSecondsIn()
    {
        byte[] toc = await ReadDataAsync(ReadToc(msf: true, 0, 0), 1024);

        // Track 1 starts at 00:02:00; the lead-out at LBA 100 is frame 250: 00:03:25.
        toc[8..12].Should().Equal(0x00, 0x00, 0x02, 0x00);
        toc[16..20].Should().Equal(0x00, 0x00, 0x03, 25);
    }

    [Fact]
    public async Task ReadToc_TrackAAh_ListsTheLeadOutOnly()
    {
        byte[] toc = await ReadDataAsync(ReadToc(msf: false, 0, 0xAA), 1024);

        toc.Should().Equal(0x00, 0x0A, 0x01, 0x01, 0x00, 0x14, 0xAA, 0x00, 0x00, 0x00, 0x00, (byte)Sectors);
    }

    [Fact]
    public async Task ReadToc_Format1_GivesTheFirstTrackOfTheOneSession()
    {
        byte[] session = await ReadDataAsync(ReadToc(msf: false, 1, 0), 1024);
        byte[] oldStyle = await ReadDataAsync(ReadToc(msf: false, 0, 0, control: 0x40), 1024);

        session.Should().Equal(0x00, 0x0A, 0x01, 0x01, 0x00, 0x14, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00);
        oldStyle.Should().Equal(session, "SFF-8020's format field in the control byte asks for the same");
    }

    [Fact]
    public async Task ReadToc_ShortAllocation_CutsTheAnswerButNotItsLength()
    {
        byte[] header = await ReadDataAsync(ReadToc(msf: false, 0, 0, allocation: 4), 4);

        header.Should().Equal(0x00, 0x12, 0x01, 0x01);
    }

    [Fact]
    public async Task ReadToc_BadFields_AreInvalidFieldInCdb()
    {
        SenseAssert.IsInvalidFieldInCdb(await RunAsync(ReadToc(false, 0, 2), DataDirection.Read, new byte[64]), 6);
        SenseAssert.IsInvalidFieldInCdb(await RunAsync(ReadToc(false, 1, 1), DataDirection.Read, new byte[64]), 6);
        SenseAssert.IsInvalidFieldInCdb(await RunAsync(ReadToc(false, 2, 0), DataDirection.Read, new byte[64]), 2, 3);
        SenseAssert.IsInvalidFieldInCdb(await RunAsync(ReadToc(false, 0, 0, control: 0x80), DataDirection.Read, new byte[64]), 9, 7);
        byte[] reserved = ReadToc(false, 0, 0);
        reserved[3] = 1;
        SenseAssert.IsInvalidFieldInCdb(await RunAsync(reserved, DataDirection.Read, new byte[64]), 3, 0);
        SenseAssert.IsInvalidFieldInCdb(await RunAsync(ReadToc(false, 0x10, 0), DataDirection.Read, new byte[64]), 2, 4);
    }

    [Fact]
    public async Task GetConfiguration_All_ListsTheCdRomFeatures()
    {
        byte[] config = await ReadDataAsync(GetConfiguration(0), 1024);

        BinaryPrimitives.ReadUInt32BigEndian(config).Should().Be((uint)(config.Length - 4));
        BinaryPrimitives.ReadUInt16BigEndian(config.AsSpan(6)).Should().Be(0x0008, "the current profile is CD-ROM");
        Dictionary<int, byte[]> features = Features(config);
        features.Keys.Should().Equal(0x0000, 0x0001, 0x0002, 0x0003, 0x0010);
        features[0x0000].Should().Equal(0x00, 0x00, 0x03, 0x04, 0x00, 0x08, 0x01, 0x00);
        features[0x0001][4..8].Should().Equal(0x00, 0x00, 0x00, 0x01);
        features[0x0003][4].Should().Be(0x29, "a tray that ejects and locks");
        features[0x0010].Should().Equal(0x00, 0x10, 0x01, 0x08, 0x00, 0x00, 0x08, 0x00, 0x00, 0x01, 0x00, 0x00);
    }

    [Fact]
    public async Task GetConfiguration_RequestTypes_SelectTheFeatures()
    {
        Features(await ReadDataAsync(GetConfiguration(0, startingFeature: 0x0003), 1024)).Keys.Should().Equal(0x0003, 0x0010);
        Features(await ReadDataAsync(GetConfiguration(2, startingFeature: 0x0002), 1024)).Keys.Should().Equal(0x0002);
        Features(await ReadDataAsync(GetConfiguration(2, startingFeature: 0x0105), 1024)).Keys.Should().BeEmpty();
        SenseAssert.IsInvalidFieldInCdb(await RunAsync(GetConfiguration(3), DataDirection.Read, new byte[64]), 1, 1);
    }

    [Fact]
    public async Task GetConfiguration_EmptyDrive_HasNoCurrentProfileNorRandomReadable()
    {
        Device.ChangeMedium(string.Empty);

        byte[] all = await ReadDataAsync(GetConfiguration(0), 1024);
        byte[] current = await ReadDataAsync(GetConfiguration(1), 1024);

        BinaryPrimitives.ReadUInt16BigEndian(all.AsSpan(6)).Should().Be(0);
        Features(all)[0x0010][2].Should().Be(0x00, "Random Readable is not current without a medium");
        Features(all)[0x0000][6].Should().Be(0x00, "no CURRENTP without a medium");
        Features(current).Keys.Should().Equal(0x0000, 0x0001, 0x0002, 0x0003);
    }

    private static Dictionary<int, byte[]> Features(byte[] config)
    {
        var features = new Dictionary<int, byte[]>();
        for (int at = 8; at + 4 <= config.Length; at += 4 + config[at + 3])
        {
            features.Add(BinaryPrimitives.ReadUInt16BigEndian(config.AsSpan(at)), config[at..(at + 4 + config[at + 3])]);
        }

        return features;
    }

    [Fact]
    public async Task EventStatus_MediaClass_ReportsMediaPresentAndNoChange()
    {
        byte[] status = await ReadDataAsync(EventStatus(), 8);

        status.Should().Equal(0x00, 0x06, 0x04, 0x10, 0x00, 0x02, 0x00, 0x00);
    }

    [Fact]
    public async Task EventStatus_OtherClasses_HaveNoEventAvailable()
    {
        byte[] status = await ReadDataAsync(EventStatus(classRequest: 0x02 | 0x04 | 0x40), 8);

        status.Should().Equal(0x00, 0x02, 0x80, 0x10);
    }

    [Fact]
    public async Task EventStatus_Asynchronous_IsInvalidFieldInCdb()
    {
        SenseAssert.IsInvalidFieldInCdb(await RunAsync(EventStatus(polled: false), DataDirection.Read, new byte[8]), 1, 0);
    }

    [Fact]
    public async Task EventStatus_NewMedium_IsReportedOncePerNexus_AndLeavesTheUnitAttention()
    {
        await ReadDataAsync(EventStatus(), 8);
        string other = IsoImageFile.Write(_dir.File("other.iso"), 60);

        Device.ChangeMedium(other);

        // GET EVENT STATUS NOTIFICATION is answered with the unit attention pending, and leaves it pending.
        (await ReadDataAsync(EventStatus(), 8))[4..6].Should().Equal(0x02, 0x02);
        (await ReadDataAsync(EventStatus(), 8))[4..6].Should().Equal(0x00, 0x02);
        SenseAssert.IsCheckCondition(await RunAsync(CdbBuilder.TestUnitReady()), SenseCode.MediumMayHaveChanged);
        SenseAssert.IsGood(await RunAsync(CdbBuilder.TestUnitReady()));
    }

    [Fact]
    public async Task EventStatus_ShortAllocation_DoesNotTakeTheEvent()
    {
        await ReadDataAsync(EventStatus(), 8);
        Device.ChangeMedium(string.Empty);

        (await ReadDataAsync(EventStatus(allocation: 4), 4)).Should().Equal(0x00, 0x06, 0x04, 0x10);
        (await ReadDataAsync(EventStatus(), 8))[4..6].Should().Equal(new byte[] { 0x03, 0x00 }, "media removal, no medium");
    }

    [Fact]
    public async Task ReadDiscInformation_IsAFinalizedSingleSessionCdRom()
    {
        byte[] info = await ReadDataAsync(Cdb10(0x51, 0, 0, 34), 34);

        info.Should().HaveCount(34);
        info[..9].Should().Equal(0x00, 0x20, 0x0E, 0x01, 0x01, 0x01, 0x01, 0x20, 0x00);
        info[16..24].Should().Equal(0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF);
        info[33].Should().Be(0, "no OPC tables");
        SenseAssert.IsInvalidFieldInCdb(await RunAsync(Cdb10(0x51, 1, 0, 34), DataDirection.Read, new byte[34]), 1, 2);
    }

    [Fact]
    public async Task MechanismStatus_ReportsTheTray()
    {
        (await ReadDataAsync(MechanismStatus(), 8)).Should().Equal(0, 0, 0, 0, 0, 0, 0, 0);

        SenseAssert.IsGood(await RunAsync(StartStop(loadEject: true, start: false)));

        (await ReadDataAsync(MechanismStatus(), 8))[1].Should().Be(0x10, "DOOR OPEN after the eject");
    }

    [Fact]
    public async Task StartStopUnit_EjectAndLoad_OpenAndCloseTheTray()
    {
        await ReadDataAsync(EventStatus(), 8);

        SenseAssert.IsGood(await RunAsync(StartStop(loadEject: true, start: false)));

        Device.TrayOpen.Should().BeTrue();
        ShouldBeNotReadyNoMedium(await RunAsync(CdbBuilder.TestUnitReady()));
        ShouldBeNotReadyNoMedium(await RunAsync(CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[Sector]));
        (await ReadDataAsync(EventStatus(), 8))[4..6].Should().Equal(new byte[] { 0x03, 0x01 }, "media removal, tray open");

        SenseAssert.IsGood(await RunAsync(StartStop(loadEject: true, start: true)));

        Device.TrayOpen.Should().BeFalse();
        SenseAssert.IsGood(await RunAsync(CdbBuilder.TestUnitReady()));
        (await ReadDataAsync(CdbBuilder.Read10(7, 1), Sector)).Should().Equal(IsoImageFile.Sector(7));
        (await ReadDataAsync(EventStatus(), 8))[4..6].Should().Equal(new byte[] { 0x02, 0x02 }, "new media, present");
    }

    [Fact]
    public async Task PreventAllow_HoldsTheMedium_AgainstEjectAndChange()
    {
        string other = IsoImageFile.Write(_dir.File("other.iso"), 60);
        var tree = new ManagementTree(_stack.Engine);
        SenseAssert.IsGood(await RunAsync(PreventAllow(prevent: true)));

        SenseAssert.IsCheckCondition(await RunAsync(_b, StartStop(loadEject: true, start: false)), SenseCode.MediumRemovalPrevented);
        Action change = () => Device.ChangeMedium(other);
        change.Should().Throw<InvalidOperationException>().WithMessage("*cd0*medium removal is prevented*");
        ManagementResult refused = await tree.WriteAsync("handlers/vcdrom/cd0/filename", other);
        refused.Status.Should().Be(-16, "EBUSY, as SCST answers");
        refused.Message.Should().Contain("medium removal is prevented");
        (await tree.WriteAsync("handlers/vcdrom/cd0/filename", string.Empty)).Status.Should().Be(-16);
        Device.Filename.Should().Be(_image);

        SenseAssert.IsGood(await RunAsync(PreventAllow(prevent: false)));

        (await tree.WriteAsync("handlers/vcdrom/cd0/filename", other)).Should().Be(ManagementResult.Ok);
        Device.Filename.Should().Be(other);
        tree.Read("handlers/vcdrom/cd0/filename").Message.Should().Be(other + "\n[key]\n");
    }

    [Fact]
    public async Task PreventAllow_OfALostNexus_NoLongerHoldsTheMedium()
    {
        SenseAssert.IsGood(await RunAsync(_b, PreventAllow(prevent: true)));

        _b.Dispose();

        Device.ChangeMedium(string.Empty);
        Device.MediumPresent.Should().BeFalse();
    }

    [Fact]
    public async Task MediumChange_NewImage_RaisesMediumMayHaveChangedForEveryNexus()
    {
        string other = IsoImageFile.Write(_dir.File("other.iso"), 60);

        Device.ChangeMedium(other);

        foreach (LocalSession s in new[] { _a, _b })
        {
            SenseAssert.IsCheckCondition(await RunAsync(s, CdbBuilder.TestUnitReady()), SenseCode.MediumMayHaveChanged);
            SenseAssert.IsGood(await RunAsync(s, CdbBuilder.TestUnitReady()));
        }

        BinaryPrimitives.ReadUInt32BigEndian(await ReadDataAsync(CdbBuilder.ReadCapacity10(), 8)).Should().Be(59);
        (await ReadDataAsync(CdbBuilder.Read10(59, 1), Sector)).Should().Equal(IsoImageFile.Sector(59));
        SenseAssert.IsCheckCondition(await RunAsync(CdbBuilder.Read10(60, 1), DataDirection.Read, new byte[Sector]), SenseCode.LbaOutOfRange);
    }

    [Fact]
    public async Task MediumChange_Empty_AnswersMediumAccessWithNotReady_AndTheRestAsUsual()
    {
        Device.ChangeMedium(string.Empty);

        ShouldBeNotReadyNoMedium(await RunAsync(CdbBuilder.TestUnitReady()));
        ShouldBeNotReadyNoMedium(await RunAsync(CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[Sector]));
        ShouldBeNotReadyNoMedium(await RunAsync(CdbBuilder.Read12(0, 1), DataDirection.Read, new byte[Sector]));
        ShouldBeNotReadyNoMedium(await RunAsync(CdbBuilder.ReadCapacity10(), DataDirection.Read, new byte[8]));
        ShouldBeNotReadyNoMedium(await RunAsync(ReadToc(false, 0, 0), DataDirection.Read, new byte[64]));
        ShouldBeNotReadyNoMedium(await RunAsync(Cdb10(0x51, 0, 0, 34), DataDirection.Read, new byte[34]));
        ShouldBeNotReadyNoMedium(await RunAsync(CdbBuilder.Write10(0, 1), DataDirection.Write, new byte[Sector]));
        ShouldBeNotReadyNoMedium(await RunAsync(CdbBuilder.SynchronizeCache10()));

        SenseAssert.IsGood(await RunAsync(CdbBuilder.Inquiry(96), DataDirection.Read, new byte[96]));
        SenseAssert.IsGood(await RunAsync(CdbBuilder.ModeSense10(0x3F), DataDirection.Read, new byte[1024]));
        SenseAssert.IsGood(await RunAsync(GetConfiguration(0), DataDirection.Read, new byte[1024]));
        SenseAssert.IsGood(await RunAsync(MechanismStatus(), DataDirection.Read, new byte[8]));
        SenseAssert.IsGood(await RunAsync(PreventAllow(prevent: false)));
        SenseAssert.IsGood(await RunAsync(StartStop(loadEject: true, start: true)));
        ShouldBeNotReadyNoMedium(await RunAsync(CdbBuilder.TestUnitReady()));
    }

    [Fact]
    public async Task MediumChange_BackFromEmpty_RaisesTheUnitAttentionAndReadsTheNewImage()
    {
        Device.ChangeMedium(string.Empty);
        ShouldBeNotReadyNoMedium(await RunAsync(CdbBuilder.TestUnitReady()));

        Device.ChangeMedium(_image);

        SenseAssert.IsCheckCondition(await RunAsync(CdbBuilder.TestUnitReady()), SenseCode.MediumMayHaveChanged);
        (await ReadDataAsync(CdbBuilder.Read10(5, 1), Sector)).Should().Equal(IsoImageFile.Sector(5));
    }

    [Fact]
    public async Task VerifyAndSynchronizeCache_WorkOnTheImage()
    {
        byte[] same = IsoImageFile.Sector(9);
        byte[] different = IsoImageFile.Sector(9);
        different[100] ^= 0xFF;

        SenseAssert.IsGood(await RunAsync(Cdb10(0x2F, 0x02, 9, 1), DataDirection.Write, same));
        LocalResult miscompare = await RunAsync(Cdb10(0x2F, 0x02, 9, 1), DataDirection.Write, different);
        SenseAssert.IsGood(await RunAsync(CdbBuilder.SynchronizeCache10()));

        SenseAssert.IsCheckCondition(miscompare, SenseCode.MiscompareDuringVerify);
        miscompare.Outcome.Information.Should().Be(100UL);
    }

    [Fact]
    public async Task ReportSupportedOpcodes_ListsTheDrivesCommandsOnly()
    {
        byte[] cdb = [0xA3, 0x0C, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0];
        byte[] all = await ReadDataAsync(cdb, 4096);

        var opcodes = new HashSet<int>();
        for (int at = 4; at + 8 <= all.Length; at += 8)
        {
            opcodes.Add(all[at]);
        }

        opcodes.Should().Contain([0x00, 0x12, 0x1A, 0x5A, 0x1B, 0x1E, 0x25, 0x28, 0xA8, 0x2A, 0xAA, 0x43, 0x46, 0x4A, 0x51, 0xBD]);
        opcodes.Should().NotContain([0x08, 0x0A, 0x88, 0x8A, 0x9E, 0x41, 0x42, 0x48, 0x89, 0x93]);
    }

    [Fact]
    public async Task MmcCommands_ReservedBits_AreInvalidFieldInCdb()
    {
        byte[] configuration = GetConfiguration(0);
        configuration[5] = 0x01;
        byte[] events = EventStatus();
        events[2] = 0x80;
        byte[] disc = Cdb10(0x51, 0x08, 0, 34);
        byte[] mechanism = MechanismStatus();
        mechanism[1] = 0x20;

        SenseAssert.IsInvalidFieldInCdb(await RunAsync(configuration, DataDirection.Read, new byte[64]), 5, 0);
        SenseAssert.IsInvalidFieldInCdb(await RunAsync(events, DataDirection.Read, new byte[8]), 2, 7);
        SenseAssert.IsInvalidFieldInCdb(await RunAsync(disc, DataDirection.Read, new byte[34]), 1, 3);
        SenseAssert.IsInvalidFieldInCdb(await RunAsync(mechanism, DataDirection.Read, new byte[8]), 1, 5);
    }

    [Fact]
    public async Task LogicalUnitReset_AllowsMediumRemovalAgain()
    {
        SenseAssert.IsGood(await RunAsync(PreventAllow(prevent: true)));

        (await _b.ResetLogicalUnitAsync(0)).Should().Be(TaskManagementResponse.FunctionComplete);

        SenseAssert.IsCheckCondition(await RunAsync(CdbBuilder.TestUnitReady()), SenseCode.BusDeviceResetOccurred);
        SenseAssert.IsGood(await RunAsync(StartStop(loadEject: true, start: false)));
        Device.TrayOpen.Should().BeTrue();
    }

    [Fact]
    public async Task PowerOnUnitAttention_WaitsBehindGetConfigurationAndEventStatus_OnTheCdRomOnly()
    {
        string image = IsoImageFile.Write(_dir.File("ua.iso"), 20);
        await using ScstStack cd = await ScstStack.StartAsync("vcdrom", "cd1", new Dictionary<string, string> { ["filename"] = image },
            o => o.UnitAttentionOnNewNexus = true);
        await using ScstStack disk = await ScstStack.StartNullIoAsync(options: o => o.UnitAttentionOnNewNexus = true);
        LocalSession onCd = cd.OpenSession();
        LocalSession onDisk = disk.OpenSession();

        SenseAssert.IsGood(await RunAsync(onCd, GetConfiguration(0), DataDirection.Read, new byte[1024]));
        SenseAssert.IsGood(await RunAsync(onCd, EventStatus(), DataDirection.Read, new byte[8]));
        SenseAssert.IsCheckCondition(await RunAsync(onCd, CdbBuilder.TestUnitReady()), SenseCode.PowerOnReset);

        // A disk has no such commands: the unit attention comes first, then the unknown opcode.
        SenseAssert.IsCheckCondition(await RunAsync(onDisk, GetConfiguration(0), DataDirection.Read, new byte[1024]), SenseCode.PowerOnReset);
        SenseAssert.IsCheckCondition(await RunAsync(onDisk, GetConfiguration(0), DataDirection.Read, new byte[1024]), SenseCode.InvalidOpcode);
    }

    [Fact]
    public async Task ManagementTree_ShowsTheDrive_WithItsImageAndTaskSetType()
    {
        var tree = new ManagementTree(_stack.Engine);

        tree.Read("handlers/vcdrom/type").Message.Should().Be("5\n");
        tree.Read("devices/cd0/type").Message.Should().Be("5\n");
        tree.Read("devices/cd0/filename").Message.Should().Be(_image + "\n[key]\n");
        tree.Read("devices/cd0/tst").Message.Should().Be("1\n", "the default is not a key");

        await using ScstStack other = await ScstStack.StartAsync("vcdrom", "cd9", new Dictionary<string, string> { ["tst"] = "0" });
        var otherTree = new ManagementTree(other.Engine);
        otherTree.Read("devices/cd9/tst").Message.Should().Be("0\n[key]\n");
        otherTree.Read("devices/cd9/filename").Message.Should().Be("\n", "an empty drive");
    }
}
