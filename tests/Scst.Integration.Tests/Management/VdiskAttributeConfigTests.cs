// Licensed under the Apache License, Version 2.0.

using Scst.Core.Configuration;
using Scst.Core.Management;
using Scst.Testing;

namespace Scst.Integration.Tests.Management;

/// <summary>
/// The vdisk attributes in the management tree and through scst.conf: a device's directory lists SCST's attributes, a
/// saved configuration holds exactly the key ones (creation parameters given, attributes changed at run time), and a
/// fresh core that applies it gets a device with the same values, which a second apply leaves alone.
/// </summary>
public sealed class VdiskAttributeConfigTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task FileIoDirectory_ListsScstsAttributes()
    {
        await using ScstStack stack = await ScstStack.StartFileIoAsync(_dir.File("disk0.img"));

        string listing = new ManagementTree(stack.Engine).List("devices/disk0").Message;

        listing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().Contain(
        [
            "type", "handler", "filename", "size", "size_mb", "blocksize", "read_only", "removable", "rotational", "tst",
            "thin_provisioned", "opt_trans_len", "expl_alua", "nv_cache", "write_through", "o_direct", "async", "active",
            "resync_size", "sync", "t10_vend_id", "vend_specific_id", "prod_id", "prod_rev_lvl", "scsi_device_name",
            "t10_dev_id", "usn", "eui64_id", "naa_id", "inq_vend_specific",
        ]);
    }

    [Fact]
    public async Task SavedConfiguration_HoldsTheKeyAttributes_AndRecreatesTheSameDevice()
    {
        string path = _dir.File("disk0.img");
        var values = new Dictionary<string, string>();
        string text;
        await using (ScstStack first = await ScstStack.StartAsync("vdisk_fileio", "disk0", new Dictionary<string, string>
        {
            ["filename"] = path, ["size"] = "4M", ["blocksize"] = "4096", ["nv_cache"] = "1", ["rotational"] = "0",
            ["t10_dev_id"] = "rt-disk0", ["thin_provisioned"] = "1",
        }))
        {
            var tree = new ManagementTree(first.Engine);
            foreach ((string name, string value) in new Dictionary<string, string>
            {
                ["t10_vend_id"] = "ACME", ["prod_id"] = "Storage Box", ["prod_rev_lvl"] = "0007", ["usn"] = "RT-0001",
                ["eui64_id"] = "0x0011223344556677", ["naa_id"] = "0x5001122334455667", ["inq_vend_specific"] = "made here",
                ["scsi_device_name"] = "iqn.2026-11.org.example:disk0", ["opt_trans_len"] = "131072", ["async"] = "1", ["size"] = "8M",
            })
            {
                (await tree.WriteAsync($"devices/disk0/{name}", value)).Should().Be(ManagementResult.Ok, name);
            }

            foreach (string name in tree.List("devices/disk0").Message.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                values[name] = tree.Read($"devices/disk0/{name}").Message;
            }

            text = ScstConfigWriter.Write(ScstConfigApplier.Capture(first.Engine));
        }

        string device = text[text.IndexOf("DEVICE disk0 {", StringComparison.Ordinal)..];
        device = device[..(device.IndexOf("\t}", StringComparison.Ordinal) + 2)];
        device.Should().Be(
            "DEVICE disk0 {\n" +
            "\t\tblocksize 4096\n" +
            $"\t\tfilename {path}\n" +
            "\t\tnv_cache 1\n" +
            "\t\trotational 0\n" +
            "\t\tsize 8388608\n" +
            "\t\tt10_dev_id rt-disk0\n" +
            "\t\tthin_provisioned 1\n" +
            "\t\topt_trans_len 131072\n" +
            "\t\tt10_vend_id ACME\n" +
            "\t\tprod_id \"Storage Box\"\n" +
            "\t\tprod_rev_lvl 0007\n" +
            "\t\tscsi_device_name iqn.2026-11.org.example:disk0\n" +
            "\t\tusn RT-0001\n" +
            "\t\teui64_id 0x0011223344556677\n" +
            "\t\tnaa_id 0x5001122334455667\n" +
            "\t\tinq_vend_specific \"made here\"\n" +
            "\t\tasync 1\n" +
            "\t}",
            "creation parameters first, then the attributes set at run time; size in bytes, never size_mb");

        await using ScstStack second = ScstStack.Create();
        await second.StartAsync();
        ScstConfiguration saved = ScstConfigReader.Parse(text);
        ScstConfigApplyResult applied = await new ScstConfigApplier(second.Engine).ApplyAsync(saved);
        applied.Errors.Should().BeEmpty();
        var again = new ManagementTree(second.Engine);

        foreach ((string name, string value) in values.Where(v => v.Key is not ("resync_size" or "sync")))
        {
            again.Read($"devices/disk0/{name}").Message.Should().Be(value, name);
        }

        (await new ScstConfigApplier(second.Engine).ApplyAsync(saved)).Changes.Should().BeEmpty("the running device is what the configuration says");
    }

    [Fact]
    public async Task Apply_ToARunningDevice_SetsChangedAttributesInPlace_WithoutRecreatingIt()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        Scst.Core.ScsiDevice device = stack.Engine.FindDevice("null0")!;
        ScstConfiguration config = ScstConfigApplier.Capture(stack.Engine);
        var changed = new DeviceConfiguration("null0");
        foreach (ConfigAttribute a in config.Handlers[0].Devices[0].Attributes.Where(a => a.Name != "size"))
        {
            changed.Attributes.Add(a.Name, a.Value);
        }

        changed.Attributes.Add("prod_id", "Renamed");
        changed.Attributes.Add("read_zero", "1");
        changed.Attributes.Add("size", "128M");
        config.Handlers[0].Devices[0] = changed;

        ScstConfigApplyResult result = await new ScstConfigApplier(stack.Engine).ApplyAsync(config);

        result.Errors.Should().BeEmpty();
        stack.Engine.FindDevice("null0").Should().BeSameAs(device);
        device.Identity.ProductId.Should().Be("Renamed");
        ((Scst.Handlers.NullIoDevice)device).ReadZero.Should().BeTrue();
        ((Scst.Handlers.NullIoDevice)device).BlockCount.Should().Be(128L << 11);
    }
}
