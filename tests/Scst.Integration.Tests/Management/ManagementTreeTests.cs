// Licensed under the Apache License, Version 2.0.

using Scst.Core;
using Scst.Core.Alua;
using Scst.Core.Management;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests.Management;

/// <summary>
/// The management tree (<see cref="ManagementTree"/>) over a running core: SCST's sysfs layout, attribute values with
/// <c>[key]</c> where they differ from their defaults, writes of attributes and mgmt files, and the errors of bad paths.
/// </summary>
public sealed class ManagementTreeTests
{
    private const string Target = $"targets/{LocalTargetDriver.DriverName}/{ScstStack.TargetName}";

    [Fact]
    public async Task Root_Handlers_Devices_AndTargets_AreLaidOutAsScstsSysfs()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        var tree = new ManagementTree(stack.Engine);

        tree.List(string.Empty).Message.Should().Be("version\nsetup_id\nhandlers/\ndevices/\ntargets/\ndevice_groups/\n");
        tree.List("handlers/vdisk_nullio").Message.Should().Be("mgmt\ntype\nnull0/\n");
        tree.Read("devices/null0/size").Message.Should().Be("67108864\n[key]\n", "a creation parameter is a key attribute, shown with its live value");
        tree.Read("devices/null0/handler").Message.Should().Be("vdisk_nullio\n", "not configurable: no [key]");
        tree.Read("devices/null0/read_only").Message.Should().Be("0\n");
        tree.List(Target).Message.Should().Be("enabled\nrel_tgt_id\nluns/\nini_groups/\nsessions/\n");
        tree.Read($"{Target}/luns/0/device").Message.Should().Be("null0\n");
        tree.Read($"{Target}/luns/mgmt").Message.Should().StartWith("Usage: echo \"add VNAME LUN [read_only=1]\" >mgmt");
        tree.Read("setup_id").Message.Should().Be("0x0\n");
    }

    [Fact]
    public async Task Writes_SetAttributes_RefuseWhatCannotChange_AndNameBadPaths()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        var tree = new ManagementTree(stack.Engine);

        (await tree.WriteAsync("setup_id", "0x1234\n")).Should().Be(ManagementResult.Ok);
        tree.Read("setup_id").Message.Should().Be("0x1234\n[key]\n");
        stack.Engine.SetupId.Should().Be(0x1234);
        (await tree.WriteAsync($"{Target}/rel_tgt_id", "9")).Should().Be(ManagementResult.Ok);
        stack.Target().RelativeTargetPortId.Should().Be(9);

        stack.OpenSession();
        (await tree.WriteAsync($"{Target}/rel_tgt_id", "10")).Status.Should().Be(-16, "a target with sessions keeps its rel_tgt_id");
        tree.List($"{Target}/sessions").Message.Should().Be(ScstStack.InitiatorName + "/\n");
        tree.Read($"{Target}/sessions/{ScstStack.InitiatorName}/active_commands").Message.Should().Be("0\n");
        tree.Read($"{Target}/sessions/{ScstStack.InitiatorName}/luns").Message.Should().Be("0\n");
        LocalSession session = stack.LocalDriver.OpenSession(ScstStack.TargetName, "iqn.2026-11.test:counted");
        await session.ExecuteAsync(0, [0x00, 0, 0, 0, 0, 0], DataDirection.None, Memory<byte>.Empty); // TEST UNIT READY
        await session.ExecuteAsync(0, [0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0], DataDirection.Read, new byte[4096]); // READ(10) of 8 blocks
        await session.ExecuteAsync(0, [0x2A, 0, 0, 0, 0, 0, 0, 0, 16, 0], DataDirection.Write, new byte[8192]); // WRITE(10) of 16
        string counted = $"{Target}/sessions/iqn.2026-11.test:counted";
        tree.Read($"{counted}/commands").Message.Should().Be("3\n");
        tree.Read($"{counted}/read_cmd_count").Message.Should().Be("1\n");
        tree.Read($"{counted}/write_cmd_count").Message.Should().Be("1\n");
        tree.Read($"{counted}/none_cmd_count").Message.Should().Be("1\n");
        tree.Read($"{counted}/read_io_count_kb").Message.Should().Be("4\n");
        tree.Read($"{counted}/write_io_count_kb").Message.Should().Be("8\n");
        session.Dispose();

        (await tree.WriteAsync("devices/null0/blocksize", "4096")).Status.Should().Be(-13, "a creation parameter cannot change");
        (await tree.WriteAsync($"{Target}/enabled", "perhaps")).Status.Should().Be(-22);
        tree.Read("devices/nosuch/size").Status.Should().Be(-2);
        tree.Read("devices/null0/size/more").Status.Should().Be(-20);
        tree.Read("devices/null0").Status.Should().Be(-21);
        tree.List("setup_id").Status.Should().Be(-20);
    }

    [Fact]
    public async Task DriverMgmt_AddsADisabledTarget_SetsItsAttributes_AndRemovesIt()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        var tree = new ManagementTree(stack.Engine);

        (await tree.WriteAsync($"targets/{LocalTargetDriver.DriverName}/mgmt", "add_target t2 rel_tgt_id=42")).Should().Be(ManagementResult.Ok);
        tree.Read($"targets/{LocalTargetDriver.DriverName}/t2/enabled").Message.Should().Be("0\n", "a target made through mgmt starts disabled, as in SCST");
        tree.Read($"targets/{LocalTargetDriver.DriverName}/t2/rel_tgt_id").Message.Should().Be("42\n[key]\n");
        (await tree.WriteAsync($"{Target}/rel_tgt_id", "3")).Should().Be(ManagementResult.Ok, "3 is the id the next new target would get");
        (await tree.WriteAsync($"targets/{LocalTargetDriver.DriverName}/mgmt", "add_target t4")).Should().Be(ManagementResult.Ok);
        stack.Engine.FindTarget(LocalTargetDriver.DriverName, "t4")!.RelativeTargetPortId.Should().Be(4, "a new id skips those held (3 by tgt)");
        (await tree.WriteAsync($"targets/{LocalTargetDriver.DriverName}/t4/rel_tgt_id", "42")).Status.Should().Be(-22, "t2 holds 42");
        (await tree.WriteAsync($"targets/{LocalTargetDriver.DriverName}/mgmt", "add_target t3 nosuch=1")).Status.Should().Be(-2);
        stack.Engine.FindTarget(LocalTargetDriver.DriverName, "t3").Should().BeNull("a target whose parameters fail is not left behind");
        (await tree.WriteAsync($"targets/{LocalTargetDriver.DriverName}/mgmt", "del_target t2")).Should().Be(ManagementResult.Ok);
        stack.Engine.FindTarget(LocalTargetDriver.DriverName, "t2").Should().BeNull();
    }

    [Fact]
    public async Task DeviceGroupVerbs_BuildGroupsWithTypedAttributes()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        var tree = new ManagementTree(stack.Engine);

        (await tree.WriteAsync("device_groups/mgmt", "create dg1")).Should().Be(ManagementResult.Ok);
        (await tree.WriteAsync("device_groups/dg1/devices/mgmt", "add null0")).Should().Be(ManagementResult.Ok);
        (await tree.WriteAsync("device_groups/dg1/devices/mgmt", "add nosuch")).Status.Should().Be(-22);
        (await tree.WriteAsync("device_groups/dg1/target_groups/mgmt", "add tg1")).Should().Be(ManagementResult.Ok);
        (await tree.WriteAsync("device_groups/dg1/target_groups/tg1/mgmt", $"add {ScstStack.TargetName}")).Should().Be(ManagementResult.Ok);
        (await tree.WriteAsync("device_groups/dg1/target_groups/tg1/state", "standby")).Should().Be(ManagementResult.Ok);
        (await tree.WriteAsync("device_groups/dg1/target_groups/tg1/group_id", "3")).Should().Be(ManagementResult.Ok);
        ManagementResult bad = await tree.WriteAsync("device_groups/dg1/target_groups/tg1/state", "sleepy");

        bad.Status.Should().Be(-22);
        bad.Message.Should().Contain("active, nonoptimized, standby, unavailable, lba_dependent, offline, transitioning");
        tree.Read("device_groups/dg1/target_groups/tg1/state").Message.Should().Be("standby\n[key]\n");
        tree.Read("device_groups/dg1/target_groups/tg1/preferred").Message.Should().Be("0\n");
        tree.List("device_groups/dg1/target_groups/tg1").Message.Should().Be($"mgmt\ngroup_id\npreferred\nstate\n{ScstStack.TargetName}/\n");
        TargetGroup group = stack.Engine.FindDeviceGroup("dg1")!.FindTargetGroup("tg1")!;
        group.State.Should().Be(AluaState.Standby);
        group.GroupId.Should().Be(3);
        stack.Engine.FindDeviceGroup("dg1")!.Devices.Should().Equal("null0");
    }
}
