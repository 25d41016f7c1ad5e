// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Diagnostics;
using Scst.Core;
using Scst.Core.Alua;
using Scst.Core.Management;
using Scst.Events;
using Scst.Integration.Tests.Spc;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests.Alua;

/// <summary>
/// Explicit ALUA: SET TARGET PORT GROUPS checked by the core, carried out by an agent through the STPG event, and what
/// the initiators see of it (INQUIRY TPGS, REPORT TARGET PORT GROUPS status codes, unit attentions).
/// </summary>
public sealed class SetTargetPortGroupsTests
{
    private const string SecondTarget = "tgt2";

    // null0 is LUN 0 of tgt and tgt2, in device group dg with explicit ALUA: target group "near" (id 1) holds tgt,
    // "far" (id 2) holds tgt2.
    private static async Task<ScstStack> StartAsync(bool explicitAlua = true, TimeSpan? timeout = null)
    {
        ScstStack stack = await ScstStack.StartNullIoAsync(options: o => o.StpgTimeout = timeout ?? TimeSpan.FromSeconds(60));
        ScsiTarget second = stack.Engine.AddTarget(stack.LocalDriver, SecondTarget);
        stack.Engine.MapLun(second, 0, "null0");
        second.Enabled = true;
        DeviceGroup dg = stack.Engine.CreateDeviceGroup("dg");
        dg.AddDevice("null0");
        TargetGroup near = dg.CreateTargetGroup("near");
        near.GroupId = 1;
        near.AddTarget(ScstStack.TargetName);
        TargetGroup far = dg.CreateTargetGroup("far");
        far.GroupId = 2;
        far.AddTarget(SecondTarget);
        stack.Engine.FindDevice("null0")!.ExplicitAlua = explicitAlua;
        return stack;
    }

    private static TargetGroup Group(ScstStack stack, string name) => stack.Engine.FindDeviceGroup("dg")!.FindTargetGroup(name)!;

    private static byte[] Descriptors(params (AluaState State, int GroupId)[] requests) => CdbBuilder.TargetPortGroupDescriptors(requests);

    private static ValueTask<LocalResult> SendStpgAsync(LocalSession session, byte[] list) =>
        session.ExecuteAsync(0, CdbBuilder.SetTargetPortGroups(list.Length), DataDirection.Write, list);

    private static ValueTask<LocalResult> TestUnitReadyAsync(LocalSession session) =>
        session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty);

    private static async Task<byte[]> ReportTargetPortGroupsAsync(LocalSession session)
    {
        var data = new byte[1024];
        LocalResult result = await session.ExecuteAsync(0, CdbBuilder.ReportTargetPortGroups(), DataDirection.Read, data);
        SenseAssert.IsGood(result);
        return data[..result.TransferredLength];
    }

    // An agent in the manner of stpgd: for each STPG event, sets every group to its new state, then reports status.
    private static async Task<List<StpgUserInvokeEvent>> RunAgentAsync(ScstStack stack, ScstEventSubscription agent, int events, int status = 0, bool change = true)
    {
        var seen = new List<StpgUserInvokeEvent>();
        for (int i = 0; i < events; i++)
        {
            ScstEvent e = await agent.ReadAsync(TestContext.Current.CancellationToken);
            e.Code.Should().Be(ScstEventCode.StpgUserInvoke);
            StpgUserInvokeEvent stpg = StpgUserInvokeEvent.Parse(e.Payload.Span);
            seen.Add(stpg);
            if (change)
            {
                foreach (StpgDescriptor d in stpg.Descriptors)
                {
                    TargetGroup.TryParseState(d.NewState, out AluaState state).Should().BeTrue();
                    stack.Engine.FindDeviceGroup(d.DeviceGroupName)!.FindTargetGroup(d.TargetGroupName)!.State = state;
                }
            }

            agent.NotifyDone(e.Id, status).Should().BeTrue();
        }

        return seen;
    }

    [Fact]
    public async Task Inquiry_TpgsIsExplicitAndImplicit_WithExplAlua_AndStpgIsUnsupportedWithout()
    {
        await using ScstStack stack = await StartAsync(explicitAlua: false);
        ScsiDevice device = stack.Engine.FindDevice("null0")!;
        LocalSession session = stack.OpenSession();
        var inquiry = new byte[96];

        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Inquiry(96), DataDirection.Read, inquiry));
        (inquiry[5] & 0x30).Should().Be(0x10, "TPGS 01b: implicit only");
        SenseAssert.IsCheckCondition(await SendStpgAsync(session, Descriptors((AluaState.Standby, 2))), SenseCode.InvalidOpcode);

        device.ExplicitAlua = true;
        SenseAssert.IsCheckCondition(await TestUnitReadyAsync(session), SenseCode.InquiryDataChanged);
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Inquiry(96), DataDirection.Read, inquiry));
        (inquiry[5] & 0x30).Should().Be(0x30, "TPGS 11b: explicit and implicit");
        new ManagementTree(stack.Engine).Read("devices/null0/expl_alua").Message.Should().Be("1\n[key]\n");
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Stpg_TheAgentChangesTheStates_TheCommandSucceeds_AndOnlyTheOtherNexusesGetTheUnitAttention()
    {
        await using ScstStack stack = await StartAsync();
        using ScstEventSubscription agent = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.StpgUserInvoke));
        LocalSession issuer = stack.OpenSession();
        LocalSession other = stack.OpenSession(SecondTarget);
        Task<List<StpgUserInvokeEvent>> agentRun = RunAgentAsync(stack, agent, events: 1);

        LocalResult result = await SendStpgAsync(issuer, Descriptors((AluaState.ActiveNonOptimized, 1), (AluaState.Standby, 2)));

        SenseAssert.IsGood(result);
        StpgUserInvokeEvent stpg = (await agentRun).Single();
        stpg.DeviceName.Should().Be("null0");
        stpg.Descriptors.Should().Equal(
            new StpgDescriptor(1, "active", "nonoptimized", "dg", "near"),
            new StpgDescriptor(2, "active", "standby", "dg", "far"));
        Group(stack, "near").State.Should().Be(AluaState.ActiveNonOptimized);
        Group(stack, "far").State.Should().Be(AluaState.Standby);

        SenseAssert.IsGood(await TestUnitReadyAsync(issuer));
        SenseAssert.IsCheckCondition(await TestUnitReadyAsync(other), SenseCode.AsymmetricAccessStateChanged);
        SenseAssert.IsCheckCondition(await TestUnitReadyAsync(other), SenseCode.TargetPortInStandbyState);

        byte[] d = await ReportTargetPortGroupsAsync(issuer);
        d[4].Should().Be(0x01, "near: active/non-optimized");
        d[4 + 5].Should().Be(0x01, "STATUS CODE 01h: altered by SET TARGET PORT GROUPS");
        d[16].Should().Be(0x02, "far: standby (after near's 8-byte descriptor and its one port)");
        d[16 + 5].Should().Be(0x01);

        // A later implicit change (a management write) reports 02h, and tells the issuer of the STPG too.
        Group(stack, "far").State = AluaState.ActiveOptimized;
        SenseAssert.IsCheckCondition(await TestUnitReadyAsync(issuer), SenseCode.AsymmetricAccessStateChanged);
        d = await ReportTargetPortGroupsAsync(issuer);
        d[16 + 5].Should().Be(0x02);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Stpg_OnlyGroupsWhoseStateChanges_AreInTheEvent_AndNoChangeNeedsNoAgent()
    {
        await using ScstStack stack = await StartAsync();
        using ScstEventSubscription agent = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.StpgUserInvoke));
        LocalSession session = stack.OpenSession();

        SenseAssert.IsGood(await SendStpgAsync(session, Descriptors((AluaState.ActiveOptimized, 1), (AluaState.ActiveOptimized, 2))));
        agent.TryRead(out _).Should().BeFalse("nothing changes, so no agent is asked");
        SenseAssert.IsGood(await SendStpgAsync(session, Descriptors()));
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.SetTargetPortGroups(0), DataDirection.None, Memory<byte>.Empty));

        Task<List<StpgUserInvokeEvent>> agentRun = RunAgentAsync(stack, agent, events: 1);
        SenseAssert.IsGood(await SendStpgAsync(session, Descriptors((AluaState.ActiveOptimized, 1), (AluaState.Offline, 2))));
        (await agentRun).Single().Descriptors.Should().Equal(new StpgDescriptor(2, "active", "offline", "dg", "far"));
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Stpg_AgentReportsAFailure_OrLeavesAGroupUnchanged_TheCommandFails()
    {
        await using ScstStack stack = await StartAsync();
        using ScstEventSubscription agent = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.StpgUserInvoke));
        LocalSession session = stack.OpenSession();

        Task<List<StpgUserInvokeEvent>> agentRun = RunAgentAsync(stack, agent, events: 1, status: 3, change: false);
        SenseAssert.IsCheckCondition(await SendStpgAsync(session, Descriptors((AluaState.Standby, 2))), SenseCode.SetTargetPortGroupsFailed);
        await agentRun;
        Group(stack, "far").State.Should().Be(AluaState.ActiveOptimized);

        agentRun = RunAgentAsync(stack, agent, events: 1, status: 0, change: false);
        SenseAssert.IsCheckCondition(await SendStpgAsync(session, Descriptors((AluaState.Standby, 2))), SenseCode.SetTargetPortGroupsFailed);
        await agentRun;

        // The failures left nothing behind: the next one goes through.
        agentRun = RunAgentAsync(stack, agent, events: 1);
        SenseAssert.IsGood(await SendStpgAsync(session, Descriptors((AluaState.Standby, 2))));
        await agentRun;
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Stpg_WithoutAnAgent_FailsAtOnce()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();

        var watch = Stopwatch.StartNew();
        SenseAssert.IsCheckCondition(await SendStpgAsync(session, Descriptors((AluaState.Standby, 2))), SenseCode.SetTargetPortGroupsFailed);
        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(30), "no one is subscribed, so there is nothing to wait for");
        Group(stack, "far").State.Should().Be(AluaState.ActiveOptimized);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Stpg_AnAgentThatNeverAnswers_TimesOut_WhileOtherCommandsRun_AndTheNextStpgWorks()
    {
        await using ScstStack stack = await StartAsync(timeout: TimeSpan.FromSeconds(1));
        using ScstEventSubscription silent = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.StpgUserInvoke));
        LocalSession session = stack.OpenSession();
        LocalSession other = stack.OpenSession(SecondTarget);

        var watch = Stopwatch.StartNew();
        ValueTask<LocalResult> pending = SendStpgAsync(session, Descriptors((AluaState.Standby, 2)));
        (await silent.ReadAsync(TestContext.Current.CancellationToken)).Code.Should().Be(ScstEventCode.StpgUserInvoke);
        SenseAssert.IsGood(await TestUnitReadyAsync(other));
        SenseAssert.IsCheckCondition(await pending, SenseCode.SetTargetPortGroupsFailed);
        watch.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(0.9));
        Group(stack, "far").State.Should().Be(AluaState.ActiveOptimized);

        silent.Dispose();
        using ScstEventSubscription agent = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.StpgUserInvoke));
        Task<List<StpgUserInvokeEvent>> agentRun = RunAgentAsync(stack, agent, events: 1);
        SenseAssert.IsGood(await SendStpgAsync(session, Descriptors((AluaState.Standby, 2))));
        await agentRun;
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData("00000000 0F 00 0002", 4, 3)]        // transitioning cannot be asked for
    [InlineData("00000000 04 00 0002", 4, 3)]        // nor logical block dependent
    [InlineData("00000000 10 00 0002", 4, -1)]       // reserved bits
    [InlineData("00000000 02 00 0000", 6, -1)]       // group 0
    [InlineData("00000000 02 00 0009", 6, -1)]       // no such group
    [InlineData("00000000 02 00 0002 01 00 0002", 10, -1)] // one group twice
    public async Task Stpg_BadDescriptor_IsInvalidFieldInParameterList_AndChangesNothing(string hex, int field, int bit)
    {
        await using ScstStack stack = await StartAsync();
        using ScstEventSubscription agent = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.StpgUserInvoke));
        LocalSession session = stack.OpenSession();

        LocalResult result = await SendStpgAsync(session, ByteAssert.FromHex(hex));

        result.ShouldBeInvalidFieldInParameterList(field, bit);
        agent.TryRead(out _).Should().BeFalse();
        Group(stack, "far").State.Should().Be(AluaState.ActiveOptimized);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Stpg_BadLength_IsParameterListLengthError_AndATransitioningGroupIsNotReady()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();

        SenseAssert.IsCheckCondition(await SendStpgAsync(session, ByteAssert.FromHex("00000000 02 00 00")), SenseCode.ParameterListLengthError);
        SenseAssert.IsCheckCondition(await SendStpgAsync(session, ByteAssert.FromHex("0000")), SenseCode.ParameterListLengthError);

        Group(stack, "far").State = AluaState.Transitioning;
        SenseAssert.IsCheckCondition(await SendStpgAsync(session, Descriptors((AluaState.Standby, 2))), SenseCode.AsymmetricAccessStateTransition);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Stpg_IsAllowedThroughAStandbyPort()
    {
        await using ScstStack stack = await StartAsync();
        using ScstEventSubscription agent = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.StpgUserInvoke));
        Group(stack, "far").State = AluaState.Standby;
        LocalSession standby = stack.OpenSession(SecondTarget);
        SenseAssert.IsCheckCondition(await TestUnitReadyAsync(standby), SenseCode.TargetPortInStandbyState);

        Task<List<StpgUserInvokeEvent>> agentRun = RunAgentAsync(stack, agent, events: 1);
        SenseAssert.IsGood(await SendStpgAsync(standby, Descriptors((AluaState.ActiveOptimized, 2), (AluaState.Standby, 1))));
        await agentRun;

        SenseAssert.IsGood(await TestUnitReadyAsync(standby));
        Group(stack, "near").State.Should().Be(AluaState.Standby);
        stack.AssertNoLeaks();
    }
}
