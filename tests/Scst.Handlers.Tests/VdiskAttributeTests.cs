// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Text;
using Scst.Core;
using Scst.Core.Alua;
using Scst.Core.Configuration;
using Scst.Core.Management;
using Scst.Events;
using Scst.Handlers.Io;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Handlers.Tests;

/// <summary>
/// The vdisk attributes of vdisk_fileio and vdisk_nullio through the management tree and an initiator on the local
/// transport: SCST's defaults and key marks, each attribute's effect, runtime writes with their unit attentions, and the
/// refusals of bad values.
/// </summary>
public sealed class VdiskAttributeTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private Task<ScstStack> StartFileIoAsync(Dictionary<string, string>? extra = null, Action<ScstOptions>? options = null)
    {
        var parameters = new Dictionary<string, string> { ["filename"] = _dir.File("disk0.img"), ["size"] = "4M" };
        foreach (KeyValuePair<string, string> p in extra ?? [])
        {
            parameters[p.Key] = p.Value;
        }

        return ScstStack.StartAsync("vdisk_fileio", "disk0", parameters, options);
    }

    private static Task<ScstStack> StartNullIoAsync(Dictionary<string, string>? extra = null)
    {
        var parameters = new Dictionary<string, string> { ["size"] = "64M" };
        foreach (KeyValuePair<string, string> p in extra ?? [])
        {
            parameters[p.Key] = p.Value;
        }

        return ScstStack.StartAsync("vdisk_nullio", "null0", parameters);
    }

    private static async Task<(LocalResult Result, byte[] Data)> ReadAsync(LocalSession session, byte[] cdb, int length = 1024)
    {
        var data = new byte[length];
        LocalResult result = await session.ExecuteAsync(0, cdb, DataDirection.Read, data);
        return (result, data[..result.TransferredLength]);
    }

    private static Task<LocalResult> RunAsync(LocalSession session, byte[] cdb, DataDirection direction = DataDirection.None, byte[]? data = null) =>
        session.ExecuteAsync(0, cdb, direction, data ?? Memory<byte>.Empty).AsTask();

    private static async Task<long> CapacityAsync(LocalSession session)
    {
        (LocalResult result, byte[] d) = await ReadAsync(session, CdbBuilder.ReadCapacity16(), 32);
        SenseAssert.IsGood(result);
        return (long)BinaryPrimitives.ReadUInt64BigEndian(d) + 1;
    }

    // Designators of VPD page 83h by type, association ignored.
    private static async Task<List<(int Type, byte[] Value)>> DesignatorsAsync(LocalSession session)
    {
        (LocalResult result, byte[] d) = await ReadAsync(session, CdbBuilder.Inquiry(1024, evpd: true, page: 0x83));
        SenseAssert.IsGood(result);
        var list = new List<(int, byte[])>();
        for (int i = 4; i < d.Length; i += 4 + d[i + 3])
        {
            list.Add((d[i + 1] & 0x0F, d[(i + 4)..(i + 4 + d[i + 3])]));
        }

        return list;
    }

    private static string Read(ManagementTree tree, string device, string attribute) => tree.Read($"devices/{device}/{attribute}").Message;

    [Fact]
    public async Task FileIo_Defaults_AreScstsAndOnlyChangedAttributesAreKeys()
    {
        await using ScstStack stack = await StartFileIoAsync();
        var tree = new ManagementTree(stack.Engine);
        DeviceIdentity derived = DeviceIdentity.FromName("disk0");

        Read(tree, "disk0", "blocksize").Should().Be("512\n");
        Read(tree, "disk0", "read_only").Should().Be("0\n");
        Read(tree, "disk0", "removable").Should().Be("0\n");
        Read(tree, "disk0", "rotational").Should().Be("1\n");
        Read(tree, "disk0", "tst").Should().Be("1\n");
        Read(tree, "disk0", "thin_provisioned").Should().Be("0\n");
        Read(tree, "disk0", "nv_cache").Should().Be("0\n");
        Read(tree, "disk0", "write_through").Should().Be("0\n");
        Read(tree, "disk0", "o_direct").Should().Be("0\n");
        Read(tree, "disk0", "async").Should().Be("0\n");
        Read(tree, "disk0", "active").Should().Be("1\n");
        Read(tree, "disk0", "io_engine").Should().Be("pread\n");
        Read(tree, "disk0", "opt_trans_len").Should().Be("524288\n");
        Read(tree, "disk0", "expl_alua").Should().Be("0\n");
        Read(tree, "disk0", "filename").Should().Be(_dir.File("disk0.img") + "\n[key]\n");
        Read(tree, "disk0", "size").Should().Be("4194304\n[key]\n");
        Read(tree, "disk0", "size_mb").Should().Be("4\n", "size is saved, size_mb never");
        Read(tree, "disk0", "t10_vend_id").Should().Be("SCST_FIO\n");
        Read(tree, "disk0", "prod_id").Should().Be("disk0\n");
        Read(tree, "disk0", "prod_rev_lvl").Should().Be("3110\n");
        Read(tree, "disk0", "t10_dev_id").Should().Be(derived.T10DeviceId + "\n");
        Read(tree, "disk0", "vend_specific_id").Should().Be(derived.T10DeviceId + "\n");
        Read(tree, "disk0", "usn").Should().Be(derived.SerialNumber + "\n");
        Read(tree, "disk0", "eui64_id").Should().Be("\n");
        Read(tree, "disk0", "naa_id").Should().Be("\n");
        Read(tree, "disk0", "scsi_device_name").Should().Be("\n");
        Read(tree, "disk0", "inq_vend_specific").Should().Be("\n");
        derived.T10DeviceId.Should().Be("ab5f2545-disk0", "crc32c(0, \"disk0\\0\") as the kernel computes it, computed outside .NET");
    }

    [Fact]
    public async Task NullIo_Defaults_AreScstsAndDefaultSizeIsNotAKey()
    {
        await using ScstStack stack = await ScstStack.StartAsync("vdisk_nullio", "null0", new Dictionary<string, string>());
        var tree = new ManagementTree(stack.Engine);

        Read(tree, "null0", "size").Should().Be("2748779069440\n", "SCST's 2.5 TiB default is not saved");
        Read(tree, "null0", "dummy").Should().Be("0\n");
        Read(tree, "null0", "read_zero").Should().Be("0\n");
        Read(tree, "null0", "rotational").Should().Be("1\n");
        Read(tree, "null0", "t10_vend_id").Should().Be("SCST_FIO\n");
        tree.Read("devices/null0/filename").Status.Should().Be(-2, "vdisk_nullio has no file");
    }

    [Fact]
    public async Task IdentityWrites_ChangeInquiryAndVpd_RaiseInquiryDataChanged_AndBecomeKeys()
    {
        await using ScstStack stack = await StartFileIoAsync();
        var tree = new ManagementTree(stack.Engine);
        LocalSession session = stack.OpenSession();
        string t10Before = DeviceIdentity.FromName("disk0").T10DeviceId;

        (await tree.WriteAsync("devices/disk0/t10_vend_id", "ACME\n")).Should().Be(ManagementResult.Ok);
        (await tree.WriteAsync("devices/disk0/prod_id", "Storage Box")).Should().Be(ManagementResult.Ok);
        (await tree.WriteAsync("devices/disk0/prod_rev_lvl", "0042")).Should().Be(ManagementResult.Ok);
        (await tree.WriteAsync("devices/disk0/usn", "SERIAL-0001")).Should().Be(ManagementResult.Ok);
        (await tree.WriteAsync("devices/disk0/t10_dev_id", "custom-t10-id")).Should().Be(ManagementResult.Ok);
        (await tree.WriteAsync("devices/disk0/inq_vend_specific", "vendor bytes")).Should().Be(ManagementResult.Ok);
        (await tree.WriteAsync("devices/disk0/scsi_device_name", "iqn.2026-11.org.example:disk0")).Should().Be(ManagementResult.Ok);

        SenseAssert.IsCheckCondition(await RunAsync(session, CdbBuilder.TestUnitReady()), SenseCode.InquiryDataChanged);
        (LocalResult result, byte[] standard) = await ReadAsync(session, CdbBuilder.Inquiry(255), 255);
        SenseAssert.IsGood(result);
        Encoding.ASCII.GetString(standard, 8, 8).Should().Be("ACME    ");
        Encoding.ASCII.GetString(standard, 16, 16).Should().Be("Storage Box     ");
        Encoding.ASCII.GetString(standard, 32, 4).Should().Be("0042");
        Encoding.ASCII.GetString(standard, 36, 12).Should().Be("vendor bytes", "up to 20 vendor-specific bytes go in bytes 36-55");
        (LocalResult serialResult, byte[] serial) = await ReadAsync(session, CdbBuilder.Inquiry(255, evpd: true, page: 0x80), 255);
        SenseAssert.IsGood(serialResult);
        Encoding.ASCII.GetString(serial, 4, serial.Length - 4).Should().Be("SERIAL-0001");
        List<(int Type, byte[] Value)> designators = await DesignatorsAsync(session);
        designators.Select(d => d.Type).Should().Equal([8, 1, 4, 5, 2], "SCSI name, T10 vendor ID, port, port group, EUI-64");
        Encoding.UTF8.GetString(designators[0].Value).Should().Be("iqn.2026-11.org.example:disk0\0\0\0", "null-terminated, padded to 4");
        Encoding.ASCII.GetString(designators[1].Value).Should().Be("ACME    " + t10Before, "vend_specific_id keeps the t10_dev_id the device was made with");
        designators[4].Value.Should().Equal(Encoding.ASCII.GetBytes("custom-t"), "the first 8 bytes of the new t10_dev_id");
        Read(tree, "disk0", "t10_vend_id").Should().Be("ACME\n[key]\n");
        Read(tree, "disk0", "usn").Should().Be("SERIAL-0001\n[key]\n");
        Read(tree, "disk0", "t10_dev_id").Should().Be("custom-t10-id\n[key]\n");
        Read(tree, "disk0", "vend_specific_id").Should().Be(t10Before + "\n", "not set by hand");
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task IdentityWrite_SameAsDerived_IsStillAKeyAsInScst()
    {
        await using ScstStack stack = await StartFileIoAsync();
        var tree = new ManagementTree(stack.Engine);

        (await tree.WriteAsync("devices/disk0/t10_vend_id", "SCST_FIO")).Should().Be(ManagementResult.Ok);

        Read(tree, "disk0", "t10_vend_id").Should().Be("SCST_FIO\n[key]\n");
    }

    [Fact]
    public async Task Eui64AndNaa_ReplaceTheCompatibilityDesignator_AndEmptyClears()
    {
        await using ScstStack stack = await StartNullIoAsync();
        var tree = new ManagementTree(stack.Engine);
        LocalSession session = stack.OpenSession();

        (await tree.WriteAsync("devices/null0/eui64_id", "0x0123456789abcdef")).Should().Be(ManagementResult.Ok);
        (await tree.WriteAsync("devices/null0/naa_id", "6001405abcdef0123456789abcdef012")).Should().Be(ManagementResult.Ok);

        List<(int Type, byte[] Value)> both = await DesignatorsAsync(session);
        both.Select(d => d.Type).Should().Equal([1, 4, 5, 2, 3]);
        both[3].Value.Should().Equal(Convert.FromHexString("0123456789abcdef"));
        both[4].Value.Should().Equal(Convert.FromHexString("6001405abcdef0123456789abcdef012"));
        Read(tree, "null0", "eui64_id").Should().Be("0x0123456789abcdef\n[key]\n");
        Read(tree, "null0", "naa_id").Should().Be("0x6001405abcdef0123456789abcdef012\n[key]\n");

        (await tree.WriteAsync("devices/null0/eui64_id", "")).Should().Be(ManagementResult.Ok);
        (await DesignatorsAsync(session)).Select(d => d.Type).Should().Equal([1, 4, 5, 3], "an NAA alone: no compatibility EUI-64");
        (await tree.WriteAsync("devices/null0/naa_id", "\n")).Should().Be(ManagementResult.Ok);
        List<(int Type, byte[] Value)> cleared = await DesignatorsAsync(session);
        cleared.Select(d => d.Type).Should().Equal([1, 4, 5, 2]);
        cleared[3].Value.Should().Equal(Encoding.ASCII.GetBytes(DeviceIdentity.FromName("null0").T10DeviceId[..8]));
    }

    [Theory]
    [InlineData("t10_vend_id", "TOOLONGVENDOR")]
    [InlineData("prod_id", "a product name of 17")]
    [InlineData("prod_rev_lvl", "12345")]
    [InlineData("usn", "123456789012345678901")]
    [InlineData("t10_dev_id", "12345678901234567890123456")]
    [InlineData("eui64_id", "0x0123")]
    [InlineData("eui64_id", "zz23456789abcdef")]
    [InlineData("naa_id", "0x4123456789abcdef")]
    [InlineData("naa_id", "0x5123456789abcdef00")]
    [InlineData("naa_id", "0x5123456789abcdef5123456789abcdef")]
    [InlineData("prod_id", "tab\there")]
    [InlineData("opt_trans_len", "1000")]
    [InlineData("read_zero", "2")]
    [InlineData("size", "1000")]
    [InlineData("size", "twelve")]
    public async Task BadValues_AreRefusedWithEinval_AndChangeNothing(string attribute, string value)
    {
        await using ScstStack stack = await StartNullIoAsync();
        var tree = new ManagementTree(stack.Engine);
        string before = Read(tree, "null0", attribute);

        ManagementResult result = await tree.WriteAsync($"devices/null0/{attribute}", value);

        result.Status.Should().Be(-22, result.Message);
        result.Message.Should().Contain(attribute);
        Read(tree, "null0", attribute).Should().Be(before);
    }

    [Theory]
    [InlineData("blocksize", "4096")]
    [InlineData("read_only", "1")]
    [InlineData("removable", "1")]
    [InlineData("rotational", "0")]
    [InlineData("tst", "0")]
    [InlineData("dummy", "1")]
    [InlineData("thin_provisioned", "1")]
    public async Task CreationParameters_AreReadOnlyAtRunTime(string attribute, string value)
    {
        await using ScstStack stack = await StartNullIoAsync();
        var tree = new ManagementTree(stack.Engine);

        (await tree.WriteAsync($"devices/null0/{attribute}", value)).Status.Should().Be(-13);
    }

    [Fact]
    public async Task IdentityCreationParameters_AreAppliedAndAreKeys()
    {
        await using ScstStack stack = await StartNullIoAsync(new()
        {
            ["t10_dev_id"] = "given-id", ["usn"] = "GIVEN", ["prod_id"] = "P", ["naa_id"] = "0x5000000000000001",
        });
        var tree = new ManagementTree(stack.Engine);
        LocalSession session = stack.OpenSession();

        Read(tree, "null0", "t10_dev_id").Should().Be("given-id\n[key]\n");
        Read(tree, "null0", "vend_specific_id").Should().Be("given-id\n", "vend_specific_id starts as the t10_dev_id the device is made with");
        Read(tree, "null0", "usn").Should().Be("GIVEN\n[key]\n");
        Read(tree, "null0", "prod_id").Should().Be("P\n[key]\n");
        List<(int Type, byte[] Value)> designators = await DesignatorsAsync(session);
        designators.Select(d => d.Type).Should().Equal([1, 4, 5, 3]);
        Encoding.ASCII.GetString(designators[0].Value).Should().Be("SCST_FIOgiven-id");
    }

    [Fact]
    public async Task SetupId_IsInTheHigh32BitsOfTheDerivedIds()
    {
        await using ScstStack stack = ScstStack.Create();
        await stack.StartAsync();
        stack.Engine.SetupId = 0x2A;

        ScsiDevice device = stack.Engine.AddDevice("vdisk_nullio", "disk1", new Dictionary<string, string> { ["size"] = "1M", ["usn"] = "kept" });

        // crc32c(0, "disk1\0") = 0xB8FDBD32, computed outside .NET.
        device.Identity.DeviceId.Should().Be(0x2A_B8FD_BD32UL);
        device.Identity.T10DeviceId.Should().Be("2ab8fdbd32-disk1");
        device.Identity.EffectiveVendorSpecificId.Should().Be("2ab8fdbd32-disk1");
        device.Identity.SerialNumber.Should().Be("kept", "an identifier given by hand is not derived");
    }

    [Fact]
    public async Task UsnOfAnotherDevice_IsRefused_AndTheRefusedDeviceLeavesNoOpenFile()
    {
        await using ScstStack stack = await StartNullIoAsync();
        string taken = stack.Engine.FindDevice("null0")!.Identity.SerialNumber;
        string path = _dir.File("second.img");

        Action act = () => stack.Engine.AddDevice("vdisk_fileio", "second", new Dictionary<string, string> { ["filename"] = path, ["size"] = "1M", ["usn"] = taken });

        act.Should().Throw<ArgumentException>().WithMessage($"*'{taken}'*null0*");
        stack.Engine.FindDevice("second").Should().BeNull();
        OpenDescriptorsOf(path).Should().Be(0, "the device made for the refused registration closed its file");
    }

    [Fact]
    public async Task ReadOnly_RefusesWritesWithDataProtect_AndRefusesWriteOptions()
    {
        await using ScstStack stack = await StartFileIoAsync(new() { ["read_only"] = "1" });
        LocalSession session = stack.OpenSession();

        SenseAssert.IsCheckCondition(await RunAsync(session, CdbBuilder.Write10(0, 1), DataDirection.Write, new byte[512]), SenseCode.WriteProtected);
        Action act = () => stack.Engine.AddDevice("vdisk_fileio", "ro2", new Dictionary<string, string>
        {
            ["filename"] = _dir.File("ro2.img"), ["size"] = "1M", ["read_only"] = "1", ["write_through"] = "1",
        });
        act.Should().Throw<ArgumentException>().WithMessage("*write_through*read-only*");
    }

    [Fact]
    public async Task Removable_SetsRmb_AndTst0_SetsControlPageTst()
    {
        await using ScstStack stack = await StartNullIoAsync(new() { ["removable"] = "1", ["tst"] = "0" });
        LocalSession session = stack.OpenSession();

        (_, byte[] inquiry) = await ReadAsync(session, CdbBuilder.Inquiry(255), 255);
        (LocalResult result, byte[] control) = await ReadAsync(session, CdbBuilder.ModeSense6(0x0A, dbd: true), 255);

        inquiry[1].Should().Be(0x80, "RMB");
        SenseAssert.IsGood(result);
        (control[4 + 2] >> 5).Should().Be(0, "TST 000b: one task set for every I_T nexus");
        stack.Engine.FindDevice("null0")!.SingleTaskSet.Should().BeTrue();
    }

    [Theory]
    [InlineData("write_through", false, true)]
    [InlineData("nv_cache", false, false)]
    public async Task WriteThroughAndNvCache_ClearWce_NvCacheMakesItUnchangeable(string attribute, bool wce, bool changeable)
    {
        await using ScstStack stack = await StartFileIoAsync(new() { [attribute] = "1" });
        LocalSession session = stack.OpenSession();

        (_, byte[] current) = await ReadAsync(session, CdbBuilder.ModeSense6(0x08, dbd: true), 255);
        (_, byte[] changeableMask) = await ReadAsync(session, CdbBuilder.ModeSense6(0x08, dbd: true, pageControl: 1), 255);

        ((current[4 + 2] & 0x04) != 0).Should().Be(wce);
        ((changeableMask[4 + 2] & 0x04) != 0).Should().Be(changeable);
        Read(new ManagementTree(stack.Engine), "disk0", attribute).Should().Be("1\n[key]\n");
    }

    [Fact]
    public async Task WriteThrough_FollowsModeSelectOfWce_AsScstsWtFlag()
    {
        await using ScstStack stack = await StartFileIoAsync();
        var tree = new ManagementTree(stack.Engine);
        LocalSession session = stack.OpenSession();
        (_, byte[] page) = await ReadAsync(session, CdbBuilder.ModeSense6(0x08, dbd: true), 255);
        byte[] parameters = [0, 0, 0, 0, .. page[4..(4 + 2 + page[5])]];
        parameters[4] &= 0x3F;
        parameters[6] &= unchecked((byte)~0x04); // WCE 0

        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.ModeSelect6((byte)parameters.Length), DataDirection.Write, parameters));

        Read(tree, "disk0", "write_through").Should().Be("1\n[key]\n");
    }

    [Fact]
    public async Task DirectIo_OnPreadWithoutAsync_IsRefusedAsInScst()
    {
        await using ScstStack stack = ScstStack.Create();
        await stack.StartAsync();

        Action act = () => stack.Engine.AddDevice("vdisk_fileio", "d", new Dictionary<string, string>
        {
            ["filename"] = _dir.File("d.img"), ["size"] = "1M", ["o_direct"] = "1", ["io_engine"] = "pread",
        });

        act.Should().Throw<ArgumentException>().WithMessage("*o_direct requires async=1 (or io_engine=io_uring)*");
        File.Exists(_dir.File("d.img")).Should().BeFalse("nothing is created for a refused device");
    }

    [Fact]
    public async Task DirectIo_WithoutIoEngine_TakesIoUring_ShownAsTheDefault()
    {
        await using ScstStack stack = await StartFileIoAsync(new() { ["o_direct"] = "1" });
        var tree = new ManagementTree(stack.Engine);
        var device = (FileIoDevice)stack.Engine.FindDevice("disk0")!;
        LocalSession session = stack.OpenSession();
        long before = device.Ring!.Completed;

        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Write10(8, 8), DataDirection.Write, new byte[4096]));

        device.Ring.Completed.Should().Be(before + 1, "the write went through the ring");
        Read(tree, "disk0", "io_engine").Should().Be("io_uring\n", "the default of an o_direct device, so not a key");
        Read(tree, "disk0", "async").Should().Be("0\n");
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task DirectIo_WithPreadAskedFor_KeepsPread_AsAKey()
    {
        await using ScstStack stack = await StartFileIoAsync(new() { ["o_direct"] = "1", ["io_engine"] = "pread", ["async"] = "1" });
        var tree = new ManagementTree(stack.Engine);

        ((FileIoDevice)stack.Engine.FindDevice("disk0")!).Ring.Should().BeNull();
        Read(tree, "disk0", "io_engine").Should().Be("pread\n[key]\n", "not the default of an o_direct device here, so saved");
        Read(tree, "disk0", "async").Should().Be("1\n[key]\n");
    }

    [Fact]
    public async Task DirectIo_WithoutIoEngine_SavedAndLoadedAgain_KeepsTheEngines()
    {
        string text;
        await using (ScstStack first = await StartFileIoAsync(new() { ["o_direct"] = "1" }))
        {
            first.Engine.AddDevice("vdisk_fileio", "pinned", new Dictionary<string, string>
            {
                ["filename"] = _dir.File("pinned.img"), ["size"] = "1M", ["o_direct"] = "1", ["io_engine"] = "pread", ["async"] = "1",
            });
            text = ScstConfigWriter.Write(ScstConfigApplier.Capture(first.Engine));
        }

        await using ScstStack second = ScstStack.Create();
        await second.StartAsync();
        ScstConfigApplyResult result = await new ScstConfigApplier(second.Engine).ApplyAsync(ScstConfigReader.Parse(text));

        result.Succeeded.Should().BeTrue(result.Describe());
        ((FileIoDevice)second.Engine.FindDevice("disk0")!).Ring.Should().NotBeNull("o_direct without io_engine takes io_uring again");
        ((FileIoDevice)second.Engine.FindDevice("pinned")!).Ring.Should().BeNull("io_engine pread was saved");
        second.Engine.FindDevice("pinned")!.ManagementAttributes.Single(a => a.Name == "async").Read!().Should().Be("1");
    }

    [Fact]
    public async Task DirectIo_WithoutIoEngine_OnAMachineWithoutIoUring_RunsPreadOnTheThreadPool()
    {
        // A ring owner whose io_uring_setup fails (0 entries: EINVAL) stands for a kernel without io_uring.
        var handler = new VdiskFileIoHandler(new SharedUring(0));
        string path = _dir.File("fallback.img");

        var device = (FileIoDevice)handler.CreateDevice("d", new Dictionary<string, string> { ["filename"] = path, ["size"] = "1M", ["o_direct"] = "1" });
        Action refused = () => handler.CreateDevice("e", new Dictionary<string, string> { ["filename"] = path, ["o_direct"] = "1", ["async"] = "0" });

        try
        {
            device.Ring.Should().BeNull();
            var tree = device.ManagementAttributes.ToDictionary(a => a.Name);
            tree["async"].Read!().Should().Be("1", "o_direct on pread runs on the thread pool");
            tree["io_engine"].Read!().Should().Be("pread");
            tree["io_engine"].IsKey.Should().BeFalse("pread is this device's default here");
            tree["async"].IsKey.Should().BeFalse("async 1 is the default of o_direct on pread");
            refused.Should().Throw<ArgumentException>().WithMessage("*o_direct requires async=1 here*io_uring*not available*errno 22*");
        }
        finally
        {
            await device.DisposeAsync();
        }
    }

    /// <summary>The parameters that select an I/O engine: pread on the thread pool (O_DIRECT requires it), or io_uring.</summary>
    public static TheoryData<string> IoEngines => ["pread", "io_uring"];

    private static Dictionary<string, string> Engine(string engine, Dictionary<string, string>? extra = null)
    {
        Dictionary<string, string> parameters = extra ?? [];
        // Named either way: with o_direct, the default engine depends on the machine.
        parameters["io_engine"] = engine;

        return parameters;
    }

    [Theory]
    [MemberData(nameof(IoEngines))]
    public async Task DirectIo_OpensTheFileWithODirect_AndReadsWhatItWrote(string engine)
    {
        // io_uring never waits on the command's thread, so o_direct does not need async there.
        await using ScstStack stack = await StartFileIoAsync(Engine(engine, engine == "pread" ? new() { ["o_direct"] = "1", ["async"] = "1" } : new() { ["o_direct"] = "1" }));
        LocalSession session = stack.OpenSession();
        byte[] pattern = [.. Enumerable.Range(0, 8192).Select(i => (byte)(i * 7))];

        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Write10(3, 16), DataDirection.Write, pattern));
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Write10(40, 1, fua: true), DataDirection.Write, pattern[..512]));
        (LocalResult read, byte[] back) = await ReadAsync(session, CdbBuilder.Read10(3, 16), 8192);

        SenseAssert.IsGood(read);
        back.Should().Equal(pattern);
        DescriptorFlags(_dir.File("disk0.img")).Should().Contain(flags => (flags & 0x4000) != 0, "one descriptor of the file has O_DIRECT (040000)");
        byte[] onDisk = new byte[8192];
        using (FileStream f = File.OpenRead(_dir.File("disk0.img")))
        {
            f.Seek(3 * 512, SeekOrigin.Begin);
            f.ReadExactly(onDisk);
        }

        onDisk.Should().Equal(pattern);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task IoEngine_IoUring_MovesTheDataThroughTheRing_AndIsAReadOnlyKey()
    {
        await using ScstStack stack = await StartFileIoAsync(new() { ["io_engine"] = "io_uring" });
        var tree = new ManagementTree(stack.Engine);
        var device = (FileIoDevice)stack.Engine.FindDevice("disk0")!;
        LocalSession session = stack.OpenSession();
        byte[] data = [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 13))];
        long before = device.Ring!.Completed;

        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Write10(8, 8, fua: true), DataDirection.Write, data));
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.SynchronizeCache10()));
        (LocalResult read, byte[] back) = await ReadAsync(session, CdbBuilder.Read10(8, 8), 4096);

        SenseAssert.IsGood(read);
        back.Should().Equal(data);
        device.Ring.Completed.Should().Be(before + 4, "the write, its FUA flush, SYNCHRONIZE CACHE and the read went through the ring");
        Read(tree, "disk0", "io_engine").Should().Be("io_uring\n[key]\n", "saved in scst.conf only when not the default");
        (await tree.WriteAsync("devices/disk0/io_engine", "pread")).Status.Should().Be(-13, "a creation parameter");
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task IoEngine_IoUring_ReadPastTheEndOfATruncatedFile_ReturnsZeros()
    {
        await using ScstStack stack = await StartFileIoAsync(new() { ["io_engine"] = "io_uring" });
        LocalSession session = stack.OpenSession();
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Write10(0, 8), DataDirection.Write, [.. Enumerable.Repeat((byte)0xAB, 4096)]));
        using (FileStream f = File.Open(_dir.File("disk0.img"), FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            f.SetLength(1024); // cut behind the device's back: two blocks of data remain
        }

        (LocalResult read, byte[] back) = await ReadAsync(session, CdbBuilder.Read10(0, 8), 4096);

        SenseAssert.IsGood(read);
        back[..1024].Should().OnlyContain(b => b == 0xAB);
        back[1024..].Should().OnlyContain(b => b == 0, "past the end of the file the device reads zeros");
    }

    [Fact]
    public async Task IoEngine_IoUring_ManyConcurrentCommands_AllLandAndReadBack()
    {
        await using ScstStack stack = await StartFileIoAsync(new() { ["io_engine"] = "io_uring" });
        LocalSession session = stack.OpenSession();
        byte[][] data = [.. Enumerable.Range(0, 64).Select(i => Enumerable.Repeat((byte)(i + 1), 4096).ToArray())];

        LocalResult[] writes = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => RunAsync(session, CdbBuilder.Write10((uint)(i * 8), 8), DataDirection.Write, data[i])));
        (LocalResult Result, byte[] Data)[] reads = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => ReadAsync(session, CdbBuilder.Read10((uint)(i * 8), 8), 4096)));

        foreach (LocalResult w in writes)
        {
            SenseAssert.IsGood(w);
        }

        reads.Select((r, i) => r.Data.SequenceEqual(data[i])).Should().OnlyContain(equal => equal);
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData("uring")]
    [InlineData("IO_URING")]
    [InlineData("")]
    public async Task IoEngine_UnknownValue_IsRefusedNamingTheParameter(string value)
    {
        await using ScstStack stack = ScstStack.Create();
        await stack.StartAsync();

        Action act = () => stack.Engine.AddDevice("vdisk_fileio", "d", new Dictionary<string, string> { ["filename"] = _dir.File("d.img"), ["size"] = "1M", ["io_engine"] = value });

        act.Should().Throw<ArgumentException>().WithMessage($"*'io_engine'*'{value}'*pread or io_uring*");
        File.Exists(_dir.File("d.img")).Should().BeFalse("nothing is created for a refused device");
    }

    [Fact]
    public async Task IoEngine_IoUring_DevicesShareOneRing_ClosedWithTheLast()
    {
        await using ScstStack stack = ScstStack.Create();
        await stack.StartAsync();
        stack.Engine.AddDevice("vdisk_fileio", "a", new Dictionary<string, string> { ["filename"] = _dir.File("a.img"), ["size"] = "1M", ["io_engine"] = "io_uring" });
        stack.Engine.AddDevice("vdisk_fileio", "b", new Dictionary<string, string> { ["filename"] = _dir.File("b.img"), ["size"] = "1M", ["io_engine"] = "io_uring" });
        Scst.Handlers.Io.UringIoEngine ring = ((FileIoDevice)stack.Engine.FindDevice("a")!).Ring!;
        var b = (FileIoDevice)stack.Engine.FindDevice("b")!;
        using Microsoft.Win32.SafeHandles.SafeFileHandle probe = File.OpenHandle(_dir.File("a.img"));

        b.Ring.Should().BeSameAs(ring);
        (await stack.Engine.RemoveDeviceAsync("a")).Should().BeTrue();
        (await ring.ReadAsync(probe, new byte[512], 0)).Should().Be(512, "b still uses the ring");
        (await stack.Engine.RemoveDeviceAsync("b")).Should().BeTrue();
        (await ring.ReadAsync(probe, new byte[512], 0)).Should().Be(-125, "the last device closed it (ECANCELED)");
    }

    [Fact]
    public async Task Async_RunsIoOffTheCommandsThread_AndIsWritable()
    {
        await using ScstStack stack = await StartFileIoAsync(new() { ["async"] = "1" });
        var tree = new ManagementTree(stack.Engine);
        LocalSession session = stack.OpenSession();
        byte[] data = [.. Enumerable.Repeat((byte)0x5A, 1024)];

        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Write10(0, 2), DataDirection.Write, data));
        (_, byte[] back) = await ReadAsync(session, CdbBuilder.Read10(0, 2), 1024);
        (await tree.WriteAsync("devices/disk0/async", "0")).Should().Be(ManagementResult.Ok);
        (_, byte[] again) = await ReadAsync(session, CdbBuilder.Read10(0, 2), 1024);

        back.Should().Equal(data);
        again.Should().Equal(data);
        Read(tree, "disk0", "async").Should().Be("0\n");
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task GenTpSoftThresholdReachedUA_OnAThinDevice_QueuesTheUnitAttentionForEveryNexus()
    {
        await using ScstStack stack = await StartFileIoAsync(new() { ["thin_provisioned"] = "1" });
        var tree = new ManagementTree(stack.Engine);
        LocalSession first = stack.OpenSession();
        LocalSession second = stack.OpenSession(initiator: "iqn.2026-11.org.scst-dotnet:second");
        SenseAssert.IsGood(await RunAsync(first, CdbBuilder.TestUnitReady()));
        SenseAssert.IsGood(await RunAsync(second, CdbBuilder.TestUnitReady()));

        (await tree.WriteAsync("devices/disk0/gen_tp_soft_threshold_reached_UA", "1")).Should().Be(ManagementResult.Ok);

        SenseAssert.IsCheckCondition(await RunAsync(first, CdbBuilder.TestUnitReady()), SenseCode.ThinProvisioningSoftThresholdReached);
        SenseAssert.IsCheckCondition(await RunAsync(second, CdbBuilder.TestUnitReady()), SenseCode.ThinProvisioningSoftThresholdReached);
        SenseAssert.IsGood(await RunAsync(first, CdbBuilder.TestUnitReady())); // reported once
        Read(tree, "disk0", "gen_tp_soft_threshold_reached_UA").Should().Be("\n", "the attribute is write-only");
    }

    [Fact]
    public async Task GenTpSoftThresholdReachedUA_IsAbsentWithoutThinProvisioning()
    {
        await using ScstStack stack = await StartFileIoAsync();
        var tree = new ManagementTree(stack.Engine);

        (await tree.WriteAsync("devices/disk0/gen_tp_soft_threshold_reached_UA", "1")).Status.Should().Be(-2);
    }

    [Theory]
    [MemberData(nameof(IoEngines))]
    public async Task Active0_ClosesTheFile_MediumCommandsGetMediumNotPresent_ReadCapacityStillAnswers(string engine)
    {
        await using ScstStack stack = await StartFileIoAsync(Engine(engine));
        var tree = new ManagementTree(stack.Engine);
        LocalSession session = stack.OpenSession();
        string path = _dir.File("disk0.img");
        OpenDescriptorsOf(path).Should().BeGreaterThan(0);

        (await tree.WriteAsync("devices/disk0/active", "0")).Should().Be(ManagementResult.Ok);

        OpenDescriptorsOf(path).Should().Be(0, "an inactive device has its file closed");
        Read(tree, "disk0", "active").Should().Be("0\n[key]\n");
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.TestUnitReady()));
        SenseAssert.IsCheckCondition((await ReadAsync(session, CdbBuilder.Read10(0, 1), 512)).Result, SenseCode.MediumNotPresent);
        SenseAssert.IsCheckCondition(await RunAsync(session, CdbBuilder.Write10(0, 1), DataDirection.Write, new byte[512]), SenseCode.MediumNotPresent);
        SenseAssert.IsCheckCondition(await RunAsync(session, CdbBuilder.SynchronizeCache10()), SenseCode.MediumNotPresent);
        (await CapacityAsync(session)).Should().Be(8192);
        (await tree.WriteAsync("devices/disk0/size", "8M")).Status.Should().Be(-16, "an inactive device has no file to resize");

        (await tree.WriteAsync("devices/disk0/active", "1")).Should().Be(ManagementResult.Ok);
        SenseAssert.IsGood((await ReadAsync(session, CdbBuilder.Read10(0, 1), 512)).Result);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Filename_ChangesOnlyWhileInactive_AndActivationTakesTheNewFilesSize()
    {
        await using ScstStack stack = await StartFileIoAsync();
        var tree = new ManagementTree(stack.Engine);
        LocalSession session = stack.OpenSession();
        string other = _dir.File("other.img");
        await File.WriteAllBytesAsync(other, [.. Enumerable.Repeat((byte)0xEE, 1 << 20)], TestContext.Current.CancellationToken);

        (await tree.WriteAsync("devices/disk0/filename", other)).Status.Should().Be(-16, "SCST changes filename only while the device is inactive");
        (await tree.WriteAsync("devices/disk0/active", "0")).Should().Be(ManagementResult.Ok);
        (await tree.WriteAsync("devices/disk0/filename", "relative.img")).Status.Should().Be(-22);
        (await tree.WriteAsync("devices/disk0/filename", other)).Should().Be(ManagementResult.Ok);
        (await tree.WriteAsync("devices/disk0/active", "1")).Should().Be(ManagementResult.Ok);

        SenseAssert.IsCheckCondition(await RunAsync(session, CdbBuilder.TestUnitReady()), SenseCode.CapacityDataChanged);
        (await CapacityAsync(session)).Should().Be(2048);
        (_, byte[] data) = await ReadAsync(session, CdbBuilder.Read10(0, 1), 512);
        data.Should().OnlyContain(b => b == 0xEE);
        Read(tree, "disk0", "filename").Should().Be(other + "\n[key]\n");
    }

    [Fact]
    public async Task CreatedInactive_LeavesTheFileClosedUntilActivated()
    {
        string path = _dir.File("disk0.img");
        await File.WriteAllBytesAsync(path, new byte[1 << 20], TestContext.Current.CancellationToken);

        await using ScstStack stack = await StartFileIoAsync(new() { ["active"] = "0" });
        LocalSession session = stack.OpenSession();

        OpenDescriptorsOf(path).Should().Be(0);
        (await CapacityAsync(session)).Should().Be(2048, "the size of the closed file, read without opening it");
        SenseAssert.IsCheckCondition((await ReadAsync(session, CdbBuilder.Read10(0, 1), 512)).Result, SenseCode.MediumNotPresent);
        (await new ManagementTree(stack.Engine).WriteAsync("devices/disk0/active", "1")).Should().Be(ManagementResult.Ok);
        SenseAssert.IsGood((await ReadAsync(session, CdbBuilder.Read10(0, 1), 512)).Result);
    }

    [Theory]
    [MemberData(nameof(IoEngines))]
    public async Task BindAluaState_TheFileFollowsTheLocalTargetGroupsState_ARemoteGroupChangesNothing(string engine)
    {
        await using ScstStack stack = await StartFileIoAsync(Engine(engine, new() { ["bind_alua_state"] = "1" }));
        var tree = new ManagementTree(stack.Engine);
        string path = _dir.File("disk0.img");
        Read(tree, "disk0", "bind_alua_state").Should().Be("1\n[key]\n");
        DeviceGroup dg = stack.Engine.CreateDeviceGroup("dg");
        dg.AddDevice("disk0");
        TargetGroup local = dg.CreateTargetGroup("local");
        local.GroupId = 1;
        local.AddTarget(ScstStack.TargetName);
        TargetGroup remote = dg.CreateTargetGroup("remote");
        remote.GroupId = 2;
        remote.AddTarget("peer-target").RelativeTargetPortId = 200;

        remote.State = AluaState.Standby;
        OpenDescriptorsOf(path).Should().BeGreaterThan(0, "the other node's group going standby says nothing of this node");
        Read(tree, "disk0", "active").Should().Be("1\n");

        local.State = AluaState.Transitioning;
        OpenDescriptorsOf(path).Should().Be(0, "a device in transition to another state lets go of its store");
        local.State = AluaState.Standby;
        OpenDescriptorsOf(path).Should().Be(0);
        Read(tree, "disk0", "active").Should().Be("0\n[key]\n");

        local.State = AluaState.ActiveNonOptimized;
        OpenDescriptorsOf(path).Should().BeGreaterThan(0);
        Read(tree, "disk0", "active").Should().Be("1\n");
        LocalSession session = stack.OpenSession();
        await RunAsync(session, CdbBuilder.TestUnitReady()); // the unit attention of the state changes
        SenseAssert.IsGood((await ReadAsync(session, CdbBuilder.Read10(0, 1), 512)).Result);

        local.State = AluaState.Offline;
        OpenDescriptorsOf(path).Should().Be(0);
        local.State = AluaState.ActiveOptimized;
        OpenDescriptorsOf(path).Should().BeGreaterThan(0);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task BindAluaState_Off_IsTheFileIoDefault_AndTheFileStaysOpenInStandby()
    {
        await using ScstStack stack = await StartFileIoAsync();
        var tree = new ManagementTree(stack.Engine);
        Read(tree, "disk0", "bind_alua_state").Should().Be("0\n");
        DeviceGroup dg = stack.Engine.CreateDeviceGroup("dg");
        dg.AddDevice("disk0");
        TargetGroup local = dg.CreateTargetGroup("local");
        local.GroupId = 1;
        local.AddTarget(ScstStack.TargetName);

        local.State = AluaState.Standby;

        OpenDescriptorsOf(_dir.File("disk0.img")).Should().BeGreaterThan(0);
        Read(tree, "disk0", "active").Should().Be("1\n");
    }

    [Theory]
    [MemberData(nameof(IoEngines))]
    public async Task SizeWrite_GrowsAndShrinksTheFile_WithCapacityDataChangedAndTheCapacityEvent(string engine)
    {
        await using ScstStack stack = await StartFileIoAsync(Engine(engine));
        using ScstEventSubscription events = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.CapacityChanged));
        var tree = new ManagementTree(stack.Engine);
        LocalSession session = stack.OpenSession();
        LocalSession other = stack.OpenSession(initiator: "iqn.2026-11.test:other");
        string path = _dir.File("disk0.img");

        (await tree.WriteAsync("devices/disk0/size", "8M")).Should().Be(ManagementResult.Ok);

        new FileInfo(path).Length.Should().Be(8L << 20);
        SenseAssert.IsCheckCondition(await RunAsync(session, CdbBuilder.TestUnitReady()), SenseCode.CapacityDataChanged);
        SenseAssert.IsCheckCondition(await RunAsync(other, CdbBuilder.TestUnitReady()), SenseCode.CapacityDataChanged);
        (await CapacityAsync(session)).Should().Be(16384);
        events.TryRead(out ScstEvent? grown).Should().BeTrue();
        CapacityChangedEvent.Parse(grown!.Payload.Span).BlockCount.Should().Be(16384UL);

        (await tree.WriteAsync("devices/disk0/size_mb", "2")).Should().Be(ManagementResult.Ok);

        new FileInfo(path).Length.Should().Be(2L << 20);
        SenseAssert.IsCheckCondition(await RunAsync(session, CdbBuilder.TestUnitReady()), SenseCode.CapacityDataChanged);
        (await CapacityAsync(session)).Should().Be(4096);
        SenseAssert.IsCheckCondition((await ReadAsync(session, CdbBuilder.Read10(4096, 1), 512)).Result, SenseCode.LbaOutOfRange);
        Read(tree, "disk0", "size").Should().Be("2097152\n[key]\n");
        Read(tree, "disk0", "size_mb").Should().Be("2\n");

        (await tree.WriteAsync("devices/disk0/size", "2M")).Should().Be(ManagementResult.Ok);
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.TestUnitReady()));
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task SizeWrite_OnAReadOnlyFile_IsRefused()
    {
        await using ScstStack stack = await StartFileIoAsync(new() { ["read_only"] = "1" });

        ManagementResult result = await new ManagementTree(stack.Engine).WriteAsync("devices/disk0/size", "8M");

        result.Status.Should().Be(-16);
        result.Message.Should().Contain("read-only");
        new FileInfo(_dir.File("disk0.img")).Length.Should().Be(4L << 20);
    }

    [Fact]
    public async Task ResyncSize_TakesTheSizeOfAFileResizedOutside()
    {
        await using ScstStack stack = await StartFileIoAsync();
        var tree = new ManagementTree(stack.Engine);
        LocalSession session = stack.OpenSession();
        using (FileStream f = File.Open(_dir.File("disk0.img"), FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            f.SetLength(6L << 20);
        }

        (await CapacityAsync(session)).Should().Be(8192, "nothing changes before resync_size");
        (await tree.WriteAsync("devices/disk0/resync_size", "1")).Should().Be(ManagementResult.Ok);

        SenseAssert.IsCheckCondition(await RunAsync(session, CdbBuilder.TestUnitReady()), SenseCode.CapacityDataChanged);
        (await CapacityAsync(session)).Should().Be(12288);
        (await tree.WriteAsync("devices/disk0/sync", "1")).Should().Be(ManagementResult.Ok);
        tree.Read("devices/disk0/resync_size").Message.Should().Be("\n", "write-only");
    }

    [Fact]
    public async Task NullIoSize_IsWritable_WithCapacityDataChanged()
    {
        await using ScstStack stack = await StartNullIoAsync();
        var tree = new ManagementTree(stack.Engine);
        LocalSession session = stack.OpenSession();

        (await tree.WriteAsync("devices/null0/size_mb", "128")).Should().Be(ManagementResult.Ok);

        SenseAssert.IsCheckCondition(await RunAsync(session, CdbBuilder.TestUnitReady()), SenseCode.CapacityDataChanged);
        (await CapacityAsync(session)).Should().Be(128L << 11);
        Read(tree, "null0", "size").Should().Be("134217728\n[key]\n");
    }

    [Fact]
    public async Task ReadZero_ZerosReads_WithoutItAReadLeavesTheBufferAsItWas()
    {
        await using ScstStack stack = await StartNullIoAsync();
        var tree = new ManagementTree(stack.Engine);
        LocalSession session = stack.OpenSession();
        byte[] pattern = [.. Enumerable.Repeat((byte)0xAB, 4096)];

        // The write's buffer goes back to the pool, and the read after it rents that buffer again.
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Write10(0, 8), DataDirection.Write, pattern));
        (_, byte[] raw) = await ReadAsync(session, CdbBuilder.Read10(0, 8), 4096);
        (await tree.WriteAsync("devices/null0/read_zero", "1")).Should().Be(ManagementResult.Ok);
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Write10(0, 8), DataDirection.Write, pattern));
        (_, byte[] zeroed) = await ReadAsync(session, CdbBuilder.Read10(0, 8), 4096);

        raw.Should().Equal(pattern, "SCST's read_zero 0: the data is whatever the buffer held");
        zeroed.Should().OnlyContain(b => b == 0);
        Read(tree, "null0", "read_zero").Should().Be("1\n[key]\n");
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Dummy_ReportsQualifier001AndType1F_ButTheLunStaysListed()
    {
        await using ScstStack stack = await StartNullIoAsync(new() { ["dummy"] = "1" });
        LocalSession session = stack.OpenSession();

        (_, byte[] standard) = await ReadAsync(session, CdbBuilder.Inquiry(255), 255);
        (_, byte[] serial) = await ReadAsync(session, CdbBuilder.Inquiry(255, evpd: true, page: 0x80), 255);
        (_, byte[] luns) = await ReadAsync(session, CdbBuilder.ReportLuns(), 4096);

        standard[0].Should().Be(0x3F, "PERIPHERAL QUALIFIER 001b, PERIPHERAL DEVICE TYPE 1Fh");
        serial[0].Should().Be(0x3F);
        BinaryPrimitives.ReadUInt32BigEndian(luns).Should().Be(8u, "LUN 0 is still reported");
        Read(new ManagementTree(stack.Engine), "null0", "dummy").Should().Be("1\n[key]\n");
    }

    [Fact]
    public async Task OptTransLen_IsVpdB0sOptimalTransferLength()
    {
        await using ScstStack stack = await StartNullIoAsync();
        var tree = new ManagementTree(stack.Engine);
        LocalSession session = stack.OpenSession();
        (_, byte[] before) = await ReadAsync(session, CdbBuilder.Inquiry(255, evpd: true, page: 0xB0), 255);

        (await tree.WriteAsync("devices/null0/opt_trans_len", "65536")).Should().Be(ManagementResult.Ok);
        SenseAssert.IsCheckCondition(await RunAsync(session, CdbBuilder.TestUnitReady()), SenseCode.InquiryDataChanged);
        (_, byte[] after) = await ReadAsync(session, CdbBuilder.Inquiry(255, evpd: true, page: 0xB0), 255);

        BinaryPrimitives.ReadUInt32BigEndian(before.AsSpan(12)).Should().Be(524288u / 512, "SCST's default opt_trans_len, in blocks");
        BinaryPrimitives.ReadUInt32BigEndian(after.AsSpan(12)).Should().Be(128u);
        Read(tree, "null0", "opt_trans_len").Should().Be("65536\n[key]\n");
    }

    [Fact]
    public async Task InqVendSpecific_LongerThan20Bytes_FollowsTheVersionDescriptors()
    {
        string text = new('v', 40);
        await using ScstStack stack = await StartNullIoAsync(new() { ["inq_vend_specific"] = text });
        LocalSession session = stack.OpenSession();

        (_, byte[] standard) = await ReadAsync(session, CdbBuilder.Inquiry(255), 255);

        standard.Length.Should().Be(96 + 40);
        standard[4].Should().Be(96 + 40 - 5);
        Encoding.ASCII.GetString(standard, 96, 40).Should().Be(text);
        standard.AsSpan(36, 20).ToArray().Should().OnlyContain(b => b == 0);
    }

    // Descriptors of this process that are open on path.
    private static int OpenDescriptorsOf(string path) =>
        Directory.GetFiles("/proc/self/fd").Count(fd => ResolveLink(fd) == path);

    // The open flags (octal in /proc/self/fdinfo) of every descriptor of this process open on path.
    private static List<int> DescriptorFlags(string path) =>
    [
        .. Directory.GetFiles("/proc/self/fd").Where(fd => ResolveLink(fd) == path).Select(fd =>
        {
            string line = File.ReadAllLines($"/proc/self/fdinfo/{Path.GetFileName(fd)}").First(l => l.StartsWith("flags:", StringComparison.Ordinal));
            return Convert.ToInt32(line["flags:".Length..].Trim(), 8);
        }),
    ];

    private static string? ResolveLink(string fd)
    {
        try
        {
            return new FileInfo(fd).LinkTarget;
        }
        catch (IOException)
        {
            return null; // closed meanwhile
        }
    }
}
