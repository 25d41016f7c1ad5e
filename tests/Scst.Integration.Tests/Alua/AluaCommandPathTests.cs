// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using Scst.Core;
using Scst.Core.Alua;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests.Alua;

/// <summary>
/// ALUA in the command path: the target group that applies to a device through a target, INQUIRY's TPGS field and
/// target port group designator, REPORT TARGET PORT GROUPS, the commands each access state refuses, and the unit
/// attention of a state change.
/// </summary>
public sealed class AluaCommandPathTests
{
    private const string SecondTarget = "tgt2";

    // null0 is LUN 0 of both targets, in device group dg: target group "near" (id 1, preferred) holds tgt, target group
    // "far" (id 2) holds tgt2 and "remote", a target of another node with relative port id 200.
    private static async Task<ScstStack> StartAsync(AluaState farState = AluaState.ActiveOptimized)
    {
        ScstStack stack = await ScstStack.StartNullIoAsync();
        ScsiTarget second = stack.Engine.AddTarget(stack.LocalDriver, SecondTarget);
        stack.Engine.MapLun(second, 0, "null0");
        second.Enabled = true;
        DeviceGroup dg = stack.Engine.CreateDeviceGroup("dg");
        dg.AddDevice("null0");
        TargetGroup near = dg.CreateTargetGroup("near");
        near.GroupId = 1;
        near.Preferred = true;
        near.AddTarget(ScstStack.TargetName);
        TargetGroup far = dg.CreateTargetGroup("far");
        far.GroupId = 2;
        far.AddTarget(SecondTarget);
        far.AddTarget("remote").RelativeTargetPortId = 200;
        far.State = farState;
        return stack;
    }

    private static TargetGroup Group(ScstStack stack, string name) => stack.Engine.FindDeviceGroup("dg")!.FindTargetGroup(name)!;

    private static async Task<(LocalResult Result, byte[] Data)> ReadAsync(LocalSession session, byte[] cdb, int length = 1024)
    {
        var data = new byte[length];
        LocalResult result = await session.ExecuteAsync(0, cdb, DataDirection.Read, data);
        return (result, data[..result.TransferredLength]);
    }

    private static ValueTask<LocalResult> TestUnitReadyAsync(LocalSession session) =>
        session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty);

    [Fact]
    public async Task Lookup_FindsTheTargetGroupNamingTheTarget_AndFollowsMembershipChanges()
    {
        await using ScstStack stack = await StartAsync();
        TargetGroup near = Group(stack, "near");
        TargetGroup far = Group(stack, "far");
        ScsiDevice device = stack.Engine.FindDevice("null0")!;

        device.DeviceGroup.Should().BeSameAs(near.DeviceGroup);
        ScstEngine.FindTargetGroup(device, stack.Target()).Should().BeSameAs(near);
        ScstEngine.FindTargetGroup(device, stack.Target(SecondTarget)).Should().BeSameAs(far);

        far.RemoveTarget(SecondTarget).Should().BeTrue();
        ScstEngine.FindTargetGroup(device, stack.Target(SecondTarget)).Should().BeNull("no target group names tgt2 now");
        near.AddTarget(SecondTarget);
        ScstEngine.FindTargetGroup(device, stack.Target(SecondTarget)).Should().BeSameAs(near);
        near.DeviceGroup.RemoveTargetGroup("near").Should().BeTrue();
        ScstEngine.FindTargetGroup(device, stack.Target()).Should().BeNull();

        near.DeviceGroup.RemoveDevice("null0").Should().BeTrue();
        device.DeviceGroup.Should().BeNull();
        near.DeviceGroup.AddDevice("null0");
        device.DeviceGroup.Should().BeSameAs(near.DeviceGroup);
        stack.Engine.RemoveDeviceGroup("dg").Should().BeTrue();
        device.DeviceGroup.Should().BeNull("a removed device group holds no device");
    }

    [Fact]
    public async Task Lookup_ADeviceRegisteredAgainUnderItsName_IsInItsDeviceGroup()
    {
        await using ScstStack stack = await StartAsync();
        TargetGroup near = Group(stack, "near");
        ScsiDevice old = stack.Engine.FindDevice("null0")!;

        (await stack.Engine.UnregisterDeviceAsync(old)).Should().BeTrue();
        ScsiDevice again = stack.Engine.AddDevice("vdisk_nullio", "null0", new Dictionary<string, string> { ["size"] = "1M" });

        again.DeviceGroup.Should().BeSameAs(near.DeviceGroup);
    }

    [Fact]
    public async Task Inquiry_TpgsIsImplicitForADeviceInADeviceGroup_AndZeroOtherwise()
    {
        await using ScstStack stack = await StartAsync();
        TargetGroup near = Group(stack, "near");
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, CdbBuilder.Inquiry(96), 96);
        SenseAssert.IsGood(result);
        (d[5] & 0x30).Should().Be(0x10, "TPGS 01b: implicit ALUA");

        near.DeviceGroup.RemoveDevice("null0");
        (result, d) = await ReadAsync(session, CdbBuilder.Inquiry(96), 96);
        SenseAssert.IsGood(result);
        (d[5] & 0x30).Should().Be(0x00, "no ALUA for a device in no device group");
        (d[5] & 0x08).Should().Be(0x08, "3PC stays");
    }

    [Fact]
    public async Task Inquiry_Vpd83_CarriesTheApplyingTargetGroupsId_ElseTheTargetsOwn()
    {
        await using ScstStack stack = await StartAsync();
        TargetGroup far = Group(stack, "far");
        stack.Target(SecondTarget).TargetPortGroupId = 7;

        (await PortGroupDesignatorAsync(stack.OpenSession())).Should().Be(1);
        (await PortGroupDesignatorAsync(stack.OpenSession(SecondTarget))).Should().Be(2);

        far.RemoveTarget(SecondTarget);
        (await PortGroupDesignatorAsync(stack.OpenSession(SecondTarget, "iqn.2026-11.test:other"))).Should().Be(7, "no target group names tgt2: its own setting");
    }

    private static async Task<int> PortGroupDesignatorAsync(LocalSession session)
    {
        (LocalResult result, byte[] d) = await ReadAsync(session, CdbBuilder.Inquiry(1024, evpd: true, page: 0x83));
        SenseAssert.IsGood(result);
        for (int i = 4; i < d.Length; i += 4 + d[i + 3])
        {
            if ((d[i + 1] & 0x3F) == 0x15)
            {
                d[i + 3].Should().Be(4);
                return BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(i + 6));
            }
        }

        throw new TestAssertionException("VPD page 83h has no target port group designator.");
    }

    [Fact]
    public async Task ReportTargetPortGroups_LengthOnlyFormat_DescribesEachTargetGroupWithItsPorts()
    {
        await using ScstStack stack = await StartAsync(AluaState.Standby);
        ushort tgt = stack.Target().RelativeTargetPortId;
        ushort tgt2 = stack.Target(SecondTarget).RelativeTargetPortId;
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, CdbBuilder.ReportTargetPortGroups());

        SenseAssert.IsGood(result);
        ByteAssert.Equal(ByteAssert.FromHex(
            "0000001C" +
            "80 CF 0001 00 00 00 01" + $"0000{tgt:X4}" +
            "02 CF 0002 00 02 00 02" + $"0000{tgt2:X4}" + "000000C8"), d);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ReportTargetPortGroups_ExtendedFormat_HasTheHeaderWithTheTransitionTime()
    {
        await using ScstStack stack = await StartAsync(AluaState.Unavailable);
        LocalSession session = stack.OpenSession(SecondTarget);

        (LocalResult result, byte[] d) = await ReadAsync(session, CdbBuilder.ReportTargetPortGroups(format: 1));

        SenseAssert.IsGood(result); // REPORT TARGET PORT GROUPS runs in the unavailable state
        d.Length.Should().Be(8 + 12 + 16);
        BinaryPrimitives.ReadUInt32BigEndian(d).Should().Be(32, "RETURN DATA LENGTH: what follows the field");
        d[4].Should().Be(0x10, "FORMAT TYPE 001b");
        d[5].Should().Be(0, "IMPLICIT TRANSITION TIME");
        d[8].Should().Be(0x80, "near: PREF, active/optimized");
        d[8 + 12].Should().Be(0x03, "far: unavailable, not preferred");
        d[8 + 12 + 5].Should().Be(0x02, "far's state was altered implicitly");
        d[8 + 12 + 7].Should().Be(2);
    }

    [Fact]
    public async Task ReportTargetPortGroups_HonoursTheAllocationLength()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReadAsync(session, CdbBuilder.ReportTargetPortGroups(allocationLength: 10));

        SenseAssert.IsGood(result);
        d.Length.Should().Be(10);
        BinaryPrimitives.ReadUInt32BigEndian(d).Should().Be(28, "the length of the whole list, not of what was returned");
        d[4].Should().Be(0x80);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ReportTargetPortGroups_BadFormat_IsInvalidFieldInCdb_AndWithoutADeviceGroupInvalidOpcode()
    {
        await using ScstStack stack = await StartAsync();
        TargetGroup near = Group(stack, "near");
        LocalSession session = stack.OpenSession();

        SenseAssert.IsInvalidFieldInCdb((await ReadAsync(session, CdbBuilder.ReportTargetPortGroups(format: 2))).Result, 1, 7);

        near.DeviceGroup.RemoveDevice("null0");
        SenseAssert.IsCheckCondition((await ReadAsync(session, CdbBuilder.ReportTargetPortGroups())).Result, SenseCode.InvalidOpcode);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Standby_RefusesMediumAccessAndTestUnitReady_AndRunsItsList_OnlyThroughItsPorts()
    {
        await using ScstStack stack = await StartAsync(AluaState.Standby);
        LocalSession standby = stack.OpenSession(SecondTarget);
        LocalSession active = stack.OpenSession();

        SenseAssert.IsCheckCondition(await TestUnitReadyAsync(standby), SenseCode.TargetPortInStandbyState);
        SenseAssert.IsCheckCondition((await ReadAsync(standby, CdbBuilder.Read10(0, 1), 512)).Result, SenseCode.TargetPortInStandbyState);
        SenseAssert.IsCheckCondition((await ReadAsync(standby, CdbBuilder.ReadCapacity10(), 8)).Result, SenseCode.TargetPortInStandbyState);
        SenseAssert.IsGood((await ReadAsync(standby, CdbBuilder.Inquiry(96), 96)).Result);
        SenseAssert.IsGood((await ReadAsync(standby, CdbBuilder.ReportLuns(), 4096)).Result);
        SenseAssert.IsGood((await ReadAsync(standby, CdbBuilder.ModeSense6(0x3F), 255)).Result);
        SenseAssert.IsGood((await ReadAsync(standby, CdbBuilder.RequestSense(), 252)).Result);
        SenseAssert.IsGood((await ReadAsync(standby, CdbBuilder.ReportTargetPortGroups())).Result);

        SenseAssert.IsGood(await TestUnitReadyAsync(active));
        SenseAssert.IsGood((await ReadAsync(active, CdbBuilder.Read10(0, 1), 512)).Result);
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData(AluaState.Unavailable, 0x0C)]
    [InlineData(AluaState.Offline, 0x12)]
    [InlineData(AluaState.Transitioning, 0x0A)]
    public async Task UnavailableOfflineAndTransitioning_RunOnlyTheShortList(AluaState state, byte ascq)
    {
        await using ScstStack stack = await StartAsync(state);
        LocalSession session = stack.OpenSession(SecondTarget);
        var notReady = new SenseCode(SenseKey.NotReady, 0x04, ascq);

        SenseAssert.IsCheckCondition(await TestUnitReadyAsync(session), notReady);
        SenseAssert.IsCheckCondition((await ReadAsync(session, CdbBuilder.Read10(0, 1), 512)).Result, notReady);
        SenseAssert.IsCheckCondition((await ReadAsync(session, CdbBuilder.ModeSense6(0x3F), 255)).Result, notReady);
        SenseAssert.IsGood((await ReadAsync(session, CdbBuilder.Inquiry(96), 96)).Result);
        SenseAssert.IsGood((await ReadAsync(session, CdbBuilder.ReportLuns(), 4096)).Result);
        SenseAssert.IsGood((await ReadAsync(session, CdbBuilder.RequestSense(), 252)).Result);
        SenseAssert.IsGood((await ReadAsync(session, CdbBuilder.ReportTargetPortGroups())).Result);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ActiveNonOptimized_RunsEverything()
    {
        await using ScstStack stack = await StartAsync(AluaState.ActiveNonOptimized);
        LocalSession session = stack.OpenSession(SecondTarget);

        SenseAssert.IsGood(await TestUnitReadyAsync(session));
        SenseAssert.IsGood((await ReadAsync(session, CdbBuilder.Read10(0, 1), 512)).Result);
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Write10(0, 1), DataDirection.Write, new byte[512]));
    }

    [Fact]
    public async Task AStateChange_TellsEverySessionOfTheDevice_OnceAndOnlyWhenTheStateDiffers()
    {
        await using ScstStack stack = await StartAsync();
        TargetGroup near = Group(stack, "near");
        TargetGroup far = Group(stack, "far");
        stack.Engine.AddDevice("vdisk_nullio", "null1", new Dictionary<string, string> { ["size"] = "1M" });
        stack.Engine.MapLun(stack.Target(), 1, "null1");
        LocalSession first = stack.OpenSession();
        LocalSession second = stack.OpenSession(SecondTarget);

        far.State = AluaState.ActiveOptimized;
        SenseAssert.IsGood(await TestUnitReadyAsync(first));

        far.State = AluaState.Standby;
        near.StateChanged.Should().BeFalse();
        far.StateChanged.Should().BeTrue();
        SenseAssert.IsCheckCondition(await TestUnitReadyAsync(first), SenseCode.AsymmetricAccessStateChanged);
        SenseAssert.IsGood(await TestUnitReadyAsync(first));
        SenseAssert.IsCheckCondition(await TestUnitReadyAsync(second), SenseCode.AsymmetricAccessStateChanged);
        SenseAssert.IsCheckCondition(await TestUnitReadyAsync(second), SenseCode.TargetPortInStandbyState);
        SenseAssert.IsGood(await first.ExecuteAsync(1, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty));
    }
}
