// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Scst.Core;
using Scst.Core.Alua;
using Scst.Core.Configuration;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests.Management;

/// <summary>
/// <see cref="ScstConfigApplier"/> over a running core with the local transport: a configuration applies as a
/// difference, what it leaves alone keeps its sessions without unit attentions, a broken configuration changes nothing,
/// and capturing the running state and applying it again changes nothing.
/// </summary>
public sealed class ConfigApplierTests
{
    private const string Driver = LocalTargetDriver.DriverName;

    private static ScstConfiguration Configuration(Action<TargetConfiguration>? target = null, bool secondDevice = true)
    {
        var config = new ScstConfiguration();
        var handler = new HandlerConfiguration("vdisk_nullio", 1);
        var null0 = new DeviceConfiguration("null0", 2);
        null0.Attributes.Add("size", "64M", 3);
        null0.Attributes.Add("blocksize", "512", 4);
        handler.Devices.Add(null0);
        if (secondDevice)
        {
            var null1 = new DeviceConfiguration("null1", 5);
            null1.Attributes.Add("size", "16M", 6);
            handler.Devices.Add(null1);
        }

        config.Handlers.Add(handler);
        var driver = new TargetDriverConfiguration(Driver, 10);
        var tgt = new TargetConfiguration(ScstStack.TargetName, 11);
        tgt.Attributes.Add("enabled", "1", 12);
        tgt.Attributes.Add("rel_tgt_id", "1", 13);
        tgt.Luns.Add(new LunConfiguration(0, "null0", 14));
        driver.Targets.Add(tgt);
        target?.Invoke(tgt);
        config.TargetDrivers.Add(driver);
        return config;
    }

    // GROUP special { LUN 0 null1 { read_only 1 }; INITIATOR iqn.2005-03.org.open-iscsi:* } on lines 20 to 23.
    private static void AddSpecialGroup(TargetConfiguration target)
    {
        var group = new GroupConfiguration("special", 20);
        var lun = new LunConfiguration(0, "null1", 21);
        lun.Attributes.Add("read_only", "1", 22);
        group.Luns.Add(lun);
        group.Initiators.Add(new ConfigAttribute("INITIATOR", "iqn.2005-03.org.open-iscsi:*", 23));
        target.Groups.Add(group);
    }

    [Fact]
    public async Task CaptureThenApply_ChangesNothing_AndRaisesNoUnitAttention()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();
        ScstConfigApplyResult first = await new ScstConfigApplier(stack.Engine).ApplyAsync(Configuration(AddSpecialGroup));
        first.Errors.Should().BeEmpty();

        ScstConfiguration captured = ScstConfigApplier.Capture(stack.Engine);
        ScstConfigApplyResult again = await new ScstConfigApplier(stack.Engine).ApplyAsync(captured);

        again.Errors.Should().BeEmpty();
        again.Changes.Should().BeEmpty("the captured state is the running state");
        again.Applied.Should().BeTrue();
        session.Session.HasPendingUnitAttention.Should().BeFalse("a group was added for other initiators only, and the second apply changed nothing");
    }

    [Fact]
    public async Task Apply_CreatesDevicesTargetsGroupsAndDeviceGroups_ThenASecondApplyChangesNothing()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        ScstConfiguration config = Configuration(AddSpecialGroup);
        var second = new TargetConfiguration("tgt2", 30);
        second.Attributes.Add("enabled", "1", 31);
        second.Luns.Add(new LunConfiguration(3, "null1", 32));
        config.TargetDrivers[0].Targets.Add(second);
        var dg = new DeviceGroupConfiguration("dg1", 40);
        dg.Devices.Add(new ConfigAttribute("DEVICE", "null1", 41));
        var tg = new TargetGroupConfiguration("tg1", 42);
        tg.Attributes.Add("group_id", "7", 43);
        tg.Attributes.Add("state", "standby", 44);
        tg.Targets.Add(new TargetGroupMemberConfiguration("tgt2", 45));
        dg.TargetGroups.Add(tg);
        config.DeviceGroups.Add(dg);

        ScstConfigApplyResult result = await new ScstConfigApplier(stack.Engine).ApplyAsync(config);

        result.Errors.Should().BeEmpty();
        stack.Engine.FindDevice("null1").Should().NotBeNull();
        SecurityGroup special = stack.Target().FindGroup("special")!;
        special.Luns.Find(0)!.Device.Name.Should().Be("null1");
        special.Luns.Find(0)!.ReadOnly.Should().BeTrue();
        special.Initiators.Should().Equal("iqn.2005-03.org.open-iscsi:*");
        ScsiTarget tgt2 = stack.Target("tgt2");
        tgt2.Enabled.Should().BeTrue();
        tgt2.Luns.Find(3)!.Device.Name.Should().Be("null1");
        TargetGroup group1 = stack.Engine.FindDeviceGroup("dg1")!.FindTargetGroup("tg1")!;
        group1.GroupId.Should().Be(7);
        group1.State.Should().Be(AluaState.Standby);
        group1.Targets.Select(m => m.Name).Should().Equal("tgt2");

        ScstConfigApplyResult again = await new ScstConfigApplier(stack.Engine).ApplyAsync(config);
        again.Errors.Should().BeEmpty();
        again.Changes.Should().BeEmpty();
    }

    [Fact]
    public async Task ALunThatChangedDevice_IsReplacedWithInquiryDataChanged_AndOtherTargetsSessionsSeeNothing()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        await new ScstConfigApplier(stack.Engine).ApplyAsync(Configuration(t => t.Luns.Add(new LunConfiguration(1, "null0", 15))));
        stack.Engine.AddTarget(stack.LocalDriver, "other");
        stack.Engine.MapLun(stack.Target("other"), 0, "null1");
        LocalSession onTgt = stack.OpenSession();
        LocalSession onOther = stack.OpenSession("other");

        // LUN 1 of tgt now names null1; target "other" is not listed and is kept.
        ScstConfigApplyResult result = await new ScstConfigApplier(stack.Engine).ApplyAsync(Configuration(t => t.Luns.Add(new LunConfiguration(1, "null1", 15))));

        result.Errors.Should().BeEmpty();
        result.Changes.Should().ContainSingle().Which.Should().Contain("replace LUN 1 -> null1");
        result.Notes.Should().Contain(n => n.Contains("target other", StringComparison.Ordinal) && n.Contains("kept", StringComparison.Ordinal));
        stack.Target().Luns.Find(1)!.Device.Name.Should().Be("null1");
        var raised = new List<SenseCode>();
        while (onTgt.Session.TryTakeUnitAttention(1, out SenseCode sense))
        {
            raised.Add(sense);
        }

        raised.Should().Contain(SenseCode.InquiryDataChanged, "what answers at LUN 1 changed");
        onTgt.Session.PendingUnitAttentions(0).Should().Be(0, "LUN 0 did not change");
        onOther.Session.HasPendingUnitAttention.Should().BeFalse("target other was not touched");
    }

    [Fact]
    public async Task ABrokenConfiguration_NamesEachLine_AndChangesNothing()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        ScstConfiguration config = Configuration(t =>
        {
            t.Luns.Add(new LunConfiguration(5, "nosuch", 16));
            t.Attributes.Add("no_such_attribute", "1", 17);
        });
        var fresh = new TargetConfiguration("fresh", 70);
        fresh.Attributes.Add("bogus", "1", 71);
        config.TargetDrivers[0].Targets.Add(fresh);
        config.Handlers.Add(new HandlerConfiguration("vdisk_nosuch", 50));
        config.TargetDrivers.Add(new TargetDriverConfiguration("nosuch_driver", 60));
        string before = Describe(stack.Engine);

        ScstConfigApplyResult result = await new ScstConfigApplier(stack.Engine).ApplyAsync(config);

        result.Succeeded.Should().BeFalse();
        result.Applied.Should().BeFalse();
        result.ErrorNumber.Should().Be(22);
        result.Errors.Should().Contain(e => e.StartsWith("line 16: LUN 5 names device nosuch", StringComparison.Ordinal));
        result.Errors.Should().Contain(e => e.StartsWith("line 17: target tgt has no attribute 'no_such_attribute'", StringComparison.Ordinal));
        result.Errors.Should().Contain(e => e.StartsWith("line 50: HANDLER vdisk_nosuch: no such handler", StringComparison.Ordinal));
        result.Errors.Should().Contain(e => e.StartsWith("line 71: target fresh has no attribute 'bogus'", StringComparison.Ordinal), "a new target's attributes are checked too");
        stack.Engine.FindTarget(Driver, "fresh").Should().BeNull();
        result.Errors.Should().Contain(e => e.StartsWith("line 60: TARGET_DRIVER nosuch_driver: no such target driver", StringComparison.Ordinal));
        Describe(stack.Engine).Should().Be(before, "nothing is applied from a configuration with an error");
        stack.Engine.FindDevice("null1").Should().BeNull();
    }

    [Fact]
    public async Task AStepThatFailsWhileApplying_StopsTheApply_AndTheDevicesItMadeGoAgain()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        ScstConfiguration config = Configuration(t => t.Luns.Add(new LunConfiguration(1, "missing", 15)));
        var fileio = new HandlerConfiguration("vdisk_fileio", 80);
        var missing = new DeviceConfiguration("missing", 81);
        missing.Attributes.Add("filename", "/nonexistent-dir/missing.img", 82);
        fileio.Devices.Add(missing);
        config.Handlers.Add(fileio);

        ScstConfigApplyResult result = await new ScstConfigApplier(stack.Engine).ApplyAsync(config);

        result.Succeeded.Should().BeFalse();
        result.Errors[0].Should().StartWith("add device missing: ").And.EndWith("(line 81)");
        result.Errors[1].Should().MatchRegex("^[0-9]+ later change\\(s\\) not made$");
        stack.Engine.FindDevice("null1").Should().BeNull("the device made before the failure was removed again");
        stack.Target().Luns.Find(1).Should().BeNull();
    }

    [Fact]
    public async Task Force_RemovesWhatIsNotListed_AndRecreatesADeviceInUse()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        await new ScstConfigApplier(stack.Engine).ApplyAsync(Configuration());
        stack.Engine.AddTarget(stack.LocalDriver, "other");
        ScstConfiguration smaller = Configuration(secondDevice: false);
        ((DeviceConfiguration)smaller.Handlers[0].Devices[0]).Attributes.Add("read_only", "1", 7);

        ScstConfigApplyResult refused = await new ScstConfigApplier(stack.Engine).ApplyAsync(smaller);
        refused.Errors.Should().ContainSingle().Which.Should().Contain("device null0 is in use and its parameters changed (read_only (unset) -> 1)");
        stack.Engine.FindDevice("null0")!.ReadOnly.Should().BeFalse();

        ScstConfigApplyResult forced = await new ScstConfigApplier(stack.Engine).ApplyAsync(smaller, new ScstConfigApplyOptions { Force = true });

        forced.Errors.Should().BeEmpty();
        stack.Engine.FindDevice("null1").Should().BeNull("force removes a device that is not listed");
        stack.Engine.FindTarget(Driver, "other").Should().BeNull("force removes a target that is not listed");
        stack.Engine.FindDevice("null0")!.ReadOnly.Should().BeTrue("the device was made again with its new parameters");
        stack.Target().Luns.Find(0)!.Device.Should().BeSameAs(stack.Engine.FindDevice("null0"), "its LUN maps the new device");
    }

    [Fact]
    public async Task DryRun_ListsTheChanges_AndMakesNone()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();

        ScstConfigApplyResult result = await new ScstConfigApplier(stack.Engine).ApplyAsync(Configuration(), new ScstConfigApplyOptions { DryRun = true });

        result.Succeeded.Should().BeTrue();
        result.Applied.Should().BeFalse();
        result.Changes.Should().Contain("add device null1");
        stack.Engine.FindDevice("null1").Should().BeNull();
        result.Describe().Should().Contain("would change: add device null1");
    }

    [Fact]
    public async Task SavedText_ReadBackAndApplied_ChangesNothing_AndIsWrittenTheSameAgain()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        (await new ScstConfigApplier(stack.Engine).ApplyAsync(Configuration(AddSpecialGroup))).Errors.Should().BeEmpty();
        string saved = ScstConfigWriter.Write(ScstConfigApplier.Capture(stack.Engine));

        ScstConfigApplyResult result = await new ScstConfigApplier(stack.Engine).ApplyAsync(ScstConfigReader.Parse(saved, "saved"));

        result.Errors.Should().BeEmpty();
        result.Changes.Should().BeEmpty();
        ScstConfigWriter.Write(ScstConfigApplier.Capture(stack.Engine)).Should().Be(saved);
        saved.Should().Contain("GROUP special").And.Contain("INITIATOR iqn.2005-03.org.open-iscsi:*").And.Contain("DEVICE null1");
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Endpoint_ChecksAppliesAndSavesConfigurations()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "mgmt.sock");
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        await using var endpoint = new Scst.Core.Management.ManagementEndpoint(stack.Engine,
            Microsoft.Extensions.Options.Options.Create(new Scst.Core.Management.ManagementEndpointOptions { SocketPath = path }));
        await endpoint.StartAsync(ct);
        await using var client = await Scst.Core.Management.ManagementClient.ConnectAsync(path, ct);
        string text = ScstConfigWriter.Write(Configuration());

        var checkedOnly = await client.CheckConfigurationAsync(text, ct);
        checkedOnly.Succeeded.Should().BeTrue(checkedOnly.Message);
        checkedOnly.Message.Should().Contain("would change: add device null1");
        stack.Engine.FindDevice("null1").Should().BeNull();

        var broken = await client.ApplyConfigurationAsync(text.Replace("LUN 0 null0", "LUN 0 null0 {", StringComparison.Ordinal), cancellationToken: ct);
        broken.Status.Should().Be(-22);
        broken.Message.Should().MatchRegex("^configuration:[0-9]+:[0-9]+: ", "a reader error names the line and column");
        stack.Engine.FindDevice("null1").Should().BeNull("nothing is applied from a file with an error");

        var applied = await client.ApplyConfigurationAsync(text, cancellationToken: ct);
        applied.Succeeded.Should().BeTrue(applied.Message);
        stack.Engine.FindDevice("null1").Should().NotBeNull();

        var saved = await client.SaveConfigurationAsync(cancellationToken: ct);
        saved.Succeeded.Should().BeTrue();
        (await client.ApplyConfigurationAsync(saved.Message, cancellationToken: ct)).Message.Should().Be("no change\n");
    }

    [Fact]
    public async Task AtStart_AnAppsettingsSectionAndAnScstConfFileApply_AndABrokenFileStopsTheStartNamingItsLine()
    {
        using var dir = new TempDirectory();
        IConfiguration json = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Scst:Handlers:vdisk_nullio:Devices:fromjson:size"] = "8M",
                ["Scst:TargetDrivers:scst_local:Targets:jsontgt:Attributes:enabled"] = "1",
                ["Scst:TargetDrivers:scst_local:Targets:jsontgt:Luns:0"] = "fromjson",
            }).Build();
        string file = dir.File("scst.conf");
        await File.WriteAllTextAsync(file, "HANDLER vdisk_nullio {\n\tDEVICE fromfile {\n\t\tsize 4M\n\t}\n}\n" +
            "TARGET_DRIVER scst_local {\n\tTARGET filetgt {\n\t\tenabled 1\n\t\tLUN 2 fromfile\n\t}\n}\n", TestContext.Current.CancellationToken);

        await using (ScstStack stack = ScstStack.Create(b => b.AddConfiguration(json.GetSection("Scst")).AddConfigurationFile(file)))
        {
            await stack.StartAsync();
            stack.Target("jsontgt").Luns.Find(0)!.Device.Name.Should().Be("fromjson");
            stack.Target("jsontgt").Enabled.Should().BeTrue();
            stack.Target("filetgt").Luns.Find(2)!.Device.Name.Should().Be("fromfile");
        }

        await File.WriteAllTextAsync(file, "HANDLER vdisk_nullio {\n\tDEVICE broken {\n\t\tsize 4M\n}\n", TestContext.Current.CancellationToken);
        await using (ScstStack broken = ScstStack.Create(b => b.AddConfigurationFile(file)))
        {
            Func<Task> start = broken.StartAsync;
            (await start.Should().ThrowAsync<ScstConfigException>()).Which.Line.Should().Be(1, "the HANDLER section of line 1 is never closed");
        }
    }

    // Devices, targets with their LUNs, groups and initiators: what the tests compare before and after.
    private static string Describe(ScstEngine engine) => string.Join('\n',
        engine.Devices.Select(d => $"device {d.Name} {d.HandlerName}").Order(StringComparer.Ordinal).Concat(
        engine.Targets.SelectMany(t => t.Groups.Select(g => $"group {t.Name}/{g.Name} {string.Join(',', g.Initiators)} {string.Join(',', g.Luns.Luns.Select(l => $"{l.Lun}:{l.Device.Name}"))}")
            .Prepend($"target {t.Name} {t.Enabled} {t.RelativeTargetPortId} {string.Join(',', t.Luns.Luns.Select(l => $"{l.Lun}:{l.Device.Name}:{l.ReadOnly}"))}"))));
}
