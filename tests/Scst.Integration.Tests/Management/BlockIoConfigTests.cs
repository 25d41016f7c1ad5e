// Licensed under the Apache License, Version 2.0.

using Scst.Core.Configuration;
using Scst.Core.Management;
using Scst.Testing;

namespace Scst.Integration.Tests.Management;

/// <summary>
/// A vdisk_blockio device through scst.conf: a saved configuration holds its key attributes (the device node, the
/// creation parameters given, the attributes changed at run time) and never its size, which is the device's; a fresh
/// core that applies it serves the same device with the same values, and a second apply changes nothing.
/// </summary>
public sealed class BlockIoConfigTests : IDisposable
{
    private readonly LoopDevice _loop = LoopDevice.Create(32L << 20, 4096);

    public void Dispose() => _loop.Dispose();

    [Fact]
    public async Task SavedConfiguration_HoldsTheKeyAttributes_AndRecreatesTheSameDevice()
    {
        var values = new Dictionary<string, string>();
        string text;
        await using (ScstStack first = await ScstStack.StartAsync("vdisk_blockio", "disk0", new Dictionary<string, string>
        {
            ["filename"] = _loop.Path, ["nv_cache"] = "1", ["rotational"] = "0", ["t10_dev_id"] = "bio-disk0",
        }))
        {
            var tree = new ManagementTree(first.Engine);
            foreach ((string name, string value) in new Dictionary<string, string>
            {
                ["prod_id"] = "Block Box", ["usn"] = "BIO-0001", ["opt_trans_len"] = "131072",
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
        text.Should().Contain("HANDLER vdisk_blockio {");
        device.Should().Be(
            "DEVICE disk0 {\n" +
            $"\t\tfilename {_loop.Path}\n" +
            "\t\tnv_cache 1\n" +
            "\t\trotational 0\n" +
            "\t\tt10_dev_id bio-disk0\n" +
            "\t\tblocksize 4096\n" +
            "\t\topt_trans_len 131072\n" +
            "\t\tprod_id \"Block Box\"\n" +
            "\t\tusn BIO-0001\n" +
            "\t}",
            "the creation parameters given first, then the other key attributes: the block size the device gave (not SCST's 512) " +
            "and those set at run time; never the size, which is the device's");
        values["size"].Should().StartWith((32L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture));

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
}
