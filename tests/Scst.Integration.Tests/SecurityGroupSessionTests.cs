// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using Microsoft.Extensions.DependencyInjection;
using Scst.Core;
using Scst.Core.Management;
using Scst.Events;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests;

/// <summary>
/// Security groups seen from sessions (over scst_local): which LUNs a session sees, which sessions learn of a LUN
/// change, what the LUN events carry, and how open sessions follow a change of the groups' initiators (SCST's
/// scst_check_reassign_sessions), through the C# API and the management verbs.
/// </summary>
public sealed class SecurityGroupSessionTests
{
    private const string Host1 = "iqn.2026-11.test:host1";
    private const string Host2 = "iqn.2026-11.test:host2";
    private const string Other = "iqn.2026-11.test:other";
    private const string IniGroups = "targets/scst_local/tgt/ini_groups";

    // null0 is LUN 0 of the default map; null1 and null2 exist for the groups.
    private static async Task<ScstStack> StartAsync()
    {
        ScstStack stack = await ScstStack.StartNullIoAsync();
        foreach (string name in (string[])["null1", "null2"])
        {
            stack.Engine.AddDevice("vdisk_nullio", name, new Dictionary<string, string> { ["size"] = "1M" });
        }

        return stack;
    }

    private static ScsiDevice Device(ScstStack stack, string name) => stack.Engine.FindDevice(name)!;

    [Fact]
    public async Task OpenSession_InitiatorOfAGroup_SeesTheGroupsLuns_OthersTheDefault()
    {
        await using ScstStack stack = await StartAsync();
        SecurityGroup group = stack.Target().CreateGroup("hosts");
        group.AddInitiator("iqn.2026-11.test:host*");
        group.Luns.Add(3, Device(stack, "null1"));

        LocalSession host = stack.OpenSession(initiator: Host1);
        LocalSession other = stack.OpenSession(initiator: Other);

        (await ReportLunsAsync(host)).Should().Equal(3);
        (await ReportLunsAsync(other)).Should().Equal(0);
        host.Session.Luns.Should().BeSameAs(group.Luns);
        other.Session.Luns.Should().BeSameAs(stack.Target().Luns);
        SenseAssert.IsCheckCondition(await host.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty), SenseCode.LunNotSupported);
        SenseAssert.IsGood(await host.ExecuteAsync(3, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty));
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task OpenSession_InitiatorOfNoGroup_WithAnEmptyDefaultMap_SeesNoLun_AndEvent2IsPublished()
    {
        await using ScstStack stack = await StartAsync();
        using ScstEventSubscription events = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.NegativeLunsInquiry));
        stack.Target().Luns.Remove(0);
        SecurityGroup group = stack.Target().CreateGroup("allowed");
        group.AddInitiator(Host1);
        group.Luns.Add(0, Device(stack, "null0"));

        stack.Target().InitiatorHasLuns(Host1).Should().BeTrue();
        LocalSession stranger = stack.OpenSession(initiator: Other);

        (await ReportLunsAsync(stranger)).Should().BeEmpty();
        events.TryRead(out ScstEvent? e).Should().BeTrue();
        NegativeLunsInquiryEvent.Parse(e!.Payload.Span).InitiatorName.Should().Be(Other);
    }

    [Fact]
    public async Task GroupLunChange_ReachesOnlyTheSessionsOfThatGroup_AndTheEventsNameTheGroup()
    {
        await using ScstStack stack = await StartAsync();
        SecurityGroup group = stack.Target().CreateGroup("hosts");
        group.AddInitiator(Host1);
        group.Luns.Add(0, Device(stack, "null1"));
        LocalSession host = stack.OpenSession(initiator: Host1);
        LocalSession other = stack.OpenSession(initiator: Other);
        using ScstEventSubscription events = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.LunAdded));
        events.AddFilter(new ScstEventFilter(ScstEventCode.LunRemoved));

        group.Luns.Add(7, Device(stack, "null2"), readOnly: true);
        group.Luns.Remove(7);

        (await UnitAttentionsAsync(host, 0)).Should().Equal(SenseCode.ReportedLunsDataChanged);
        (await UnitAttentionsAsync(other, 0)).Should().BeEmpty("the default map did not change");
        events.TryRead(out ScstEvent? added).Should().BeTrue();
        added!.Code.Should().Be(ScstEventCode.LunAdded);
        LunEvent.Parse(added.Payload.Span).Should().Be(new LunEvent(LocalTargetDriver.DriverName, ScstStack.TargetName, "hosts", 7, "null2", true));
        events.TryRead(out ScstEvent? removed).Should().BeTrue();
        removed!.Code.Should().Be(ScstEventCode.LunRemoved);
        LunEvent.Parse(removed.Payload.Span).GroupName.Should().Be("hosts");

        stack.Target().Luns.Add(1, Device(stack, "null2"));

        (await UnitAttentionsAsync(other, 0)).Should().Equal(SenseCode.ReportedLunsDataChanged);
        (await UnitAttentionsAsync(host, 0)).Should().BeEmpty("the group's map did not change");
        events.TryRead(out ScstEvent? defaultAdded).Should().BeTrue();
        LunEvent.Parse(defaultAdded!.Payload.Span).GroupName.Should().BeEmpty();
    }

    [Fact]
    public async Task AddInitiator_MovesTheOpenSessionToTheGroup_WithReportedLunsChangedAndInquiryChangedOnAReplacedLun()
    {
        await using ScstStack stack = await StartAsync();
        SecurityGroup group = stack.Target().CreateGroup("hosts");
        group.Luns.Add(0, Device(stack, "null1"));
        group.Luns.Add(4, Device(stack, "null2"));
        LocalSession host = stack.OpenSession(initiator: Host1);
        LocalSession other = stack.OpenSession(initiator: Other);

        group.AddInitiator(Host1).Should().BeTrue();

        host.Session.Luns.Should().BeSameAs(group.Luns);
        other.Session.Luns.Should().BeSameAs(stack.Target().Luns);
        (await ReportLunsAsync(host)).Should().Equal(0, 4);
        (await UnitAttentionsAsync(host, 0)).Should().Equal(SenseCode.ReportedLunsDataChanged, SenseCode.InquiryDataChanged);
        (await UnitAttentionsAsync(host, 4)).Should().Equal(SenseCode.ReportedLunsDataChanged);
        (await UnitAttentionsAsync(other, 0)).Should().BeEmpty();
    }

    [Fact]
    public async Task MoveBetweenGroupsWithTheSameLuns_KeepsTheSessionsLunsWithoutUnitAttention()
    {
        await using ScstStack stack = await StartAsync();
        SecurityGroup first = stack.Target().CreateGroup("first");
        SecurityGroup second = stack.Target().CreateGroup("second");
        first.Luns.Add(2, Device(stack, "null1"));
        second.Luns.Add(2, Device(stack, "null1"));
        first.AddInitiator(Host1);
        LocalSession host = stack.OpenSession(initiator: Host1);

        first.MoveInitiator(Host1, second).Should().BeTrue();

        host.Session.Luns.Should().BeSameAs(second.Luns);
        (await UnitAttentionsAsync(host, 2)).Should().BeEmpty("the same device answers at the same LUN, as SCST keeps such a LUN");
    }

    [Fact]
    public async Task DelAndClearInitiators_SendTheSessionsBackToTheDefaultLuns()
    {
        await using ScstStack stack = await StartAsync();
        SecurityGroup group = stack.Target().CreateGroup("hosts");
        group.Luns.Add(5, Device(stack, "null1"));
        group.AddInitiator(Host1);
        group.AddInitiator(Host2);
        LocalSession host1 = stack.OpenSession(initiator: Host1);
        LocalSession host2 = stack.OpenSession(initiator: Host2);

        group.RemoveInitiator(Host1).Should().BeTrue();

        host1.Session.Luns.Should().BeSameAs(stack.Target().Luns);
        host2.Session.Luns.Should().BeSameAs(group.Luns);
        (await ReportLunsAsync(host1)).Should().Equal(0);
        (await UnitAttentionsAsync(host1, 0)).Should().Equal(SenseCode.ReportedLunsDataChanged);

        group.ClearInitiators();

        host2.Session.Luns.Should().BeSameAs(stack.Target().Luns);
        (await ReportLunsAsync(host2)).Should().Equal(0);
    }

    [Fact]
    public async Task Regrouping_TellsTheDevicesWhichNexusGainedAndLostThem()
    {
        var old = new NexusRecorder("rec-old");
        var now = new NexusRecorder("rec-new");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(old);
        stack.Engine.RegisterDevice(now);
        SecurityGroup group = stack.Target().CreateGroup("hosts");
        group.Luns.Add(1, now);
        LocalSession host = stack.OpenSession(initiator: Host1);
        old.Attached.Should().Equal(Host1);

        group.AddInitiator(Host1);

        old.Detached.Should().Equal(Host1);
        now.Attached.Should().Equal(Host1);
        host.Dispose();
        now.Detached.Should().Equal(Host1);
    }

    [Fact]
    public async Task RemoveGroup_InUse_IsRefused_AndOnceIdle_Succeeds()
    {
        await using ScstStack stack = await StartAsync();
        SecurityGroup group = stack.Target().CreateGroup("hosts");
        group.AddInitiator(Host1);
        LocalSession host = stack.OpenSession(initiator: Host1);

        FluentActions.Invoking(() => stack.Target().RemoveGroup("hosts")).Should().Throw<InvalidOperationException>().WithMessage("*in use*");

        host.Dispose();
        stack.Target().RemoveGroup("hosts").Should().BeTrue();
    }

    [Fact]
    public async Task UnregisterDevice_RemovesItsLunsFromTheGroupsToo()
    {
        await using ScstStack stack = await StartAsync();
        SecurityGroup group = stack.Target().CreateGroup("hosts");
        group.Luns.Add(3, Device(stack, "null1"));

        (await stack.Engine.UnregisterDeviceAsync(Device(stack, "null1"))).Should().BeTrue();

        group.Luns.Luns.Should().BeEmpty();
        stack.Engine.FindDevice("null1").Should().BeNull();
    }

    [Fact]
    public async Task RemoveDevice_MappedOnlyInAGroup_IsRefused()
    {
        await using ScstStack stack = await StartAsync();
        stack.Target().CreateGroup("hosts").Luns.Add(3, Device(stack, "null1"));

        await FluentActions.Awaiting(async () => await stack.Engine.RemoveDeviceAsync("null1")).Should().ThrowAsync<InvalidOperationException>();
    }

    [Fact]
    public async Task ManagementVerbs_CreateGroupAddLunsAndInitiators_MoveAndDelete()
    {
        await using ScstStack stack = await StartAsync();
        var commands = new ManagementCommands(stack.Engine);
        LocalSession host = stack.OpenSession(initiator: Host1);

        (await commands.ExecuteAsync($"{IniGroups}/mgmt", "create hosts")).Should().Be(ManagementResult.Ok);
        (await commands.ExecuteAsync($"{IniGroups}/mgmt", "create spare")).Should().Be(ManagementResult.Ok);
        (await commands.ExecuteAsync($"{IniGroups}/hosts/luns/mgmt", "add null1 0 read_only=1")).Should().Be(ManagementResult.Ok);
        (await commands.ExecuteAsync($"{IniGroups}/hosts/initiators/mgmt", "add iqn.2026-11.test:host*")).Should().Be(ManagementResult.Ok);

        SecurityGroup hosts = stack.Target().FindGroup("hosts")!;
        hosts.Luns.Find(0)!.ReadOnly.Should().BeTrue();
        host.Session.Luns.Should().BeSameAs(hosts.Luns);
        (await UnitAttentionsAsync(host, 0)).Should().Equal(SenseCode.ReportedLunsDataChanged, SenseCode.InquiryDataChanged);

        (await commands.ExecuteAsync($"{IniGroups}/hosts/luns/mgmt", "replace null2 0")).Should().Be(ManagementResult.Ok);
        (await UnitAttentionsAsync(host, 0)).Should().Contain(SenseCode.InquiryDataChanged);

        (await commands.ExecuteAsync($"{IniGroups}/hosts/initiators/mgmt", "move iqn.2026-11.test:host* spare")).Should().Be(ManagementResult.Ok);
        stack.Target().FindGroup("spare")!.Initiators.Should().Equal("iqn.2026-11.test:host*");
        host.Session.Luns.Should().BeSameAs(stack.Target().FindGroup("spare")!.Luns);

        (await commands.ExecuteAsync($"{IniGroups}/mgmt", "del spare")).Status.Should().Be(-16, "a session sees the group");
        (await commands.ExecuteAsync($"{IniGroups}/spare/initiators/mgmt", "clear")).Should().Be(ManagementResult.Ok);
        (await commands.ExecuteAsync($"{IniGroups}/mgmt", "del spare")).Should().Be(ManagementResult.Ok);
        (await commands.ExecuteAsync($"{IniGroups}/hosts/luns/mgmt", "clear")).Should().Be(ManagementResult.Ok);
        (await commands.ExecuteAsync($"{IniGroups}/hosts/luns/mgmt", "del 0")).Status.Should().Be(-2);
        stack.Target().Groups.Select(g => g.Name).Should().Equal("hosts");
    }

    [Theory]
    [InlineData("ini_groups/mgmt", "create", -22, "unknown command")]
    [InlineData("ini_groups/mgmt", "create g1", -17, "already exists")]
    [InlineData("ini_groups/mgmt", "del nosuch", -2, "does not exist")]
    [InlineData("ini_groups/mgmt", "rename g1 g2", -22, "unknown command")]
    [InlineData("ini_groups/nosuch/initiators/mgmt", "add x", -2, "no such group")]
    [InlineData("ini_groups/nosuch/luns/mgmt", "add null1 0", -2, "no such group")]
    [InlineData("ini_groups/g1/initiators/mgmt", "add iqn.2026-11.test:a", -17, "already in group g1")]
    [InlineData("ini_groups/g1/initiators/mgmt", "del iqn.2026-11.test:zz", -2, "not in group g1")]
    [InlineData("ini_groups/g1/initiators/mgmt", "move iqn.2026-11.test:zz g2", -2, "not in group g1")]
    [InlineData("ini_groups/g1/initiators/mgmt", "move iqn.2026-11.test:a nosuch", -2, "nosuch of tgt does not exist")]
    [InlineData("ini_groups/g1/initiators/mgmt", "move iqn.2026-11.test:a g1", -17, "already in group g1")]
    [InlineData("ini_groups/g1/initiators/mgmt", "add", -22, "unknown command")]
    [InlineData("ini_groups/g1/luns/mgmt", "add null1 0", -17, "already mapped")]
    [InlineData("ini_groups/g1/luns/mgmt", "add nosuch 1", -2, "does not exist")]
    public async Task BadGroupCommands_AreRefusedWithTheReason_AndChangeNothing(string file, string line, int status, string reason)
    {
        await using ScstStack stack = await StartAsync();
        var commands = new ManagementCommands(stack.Engine);
        SecurityGroup g1 = stack.Target().CreateGroup("g1");
        g1.AddInitiator("iqn.2026-11.test:a");
        g1.Luns.Add(0, Device(stack, "null1"));
        stack.Target().CreateGroup("g2");

        ManagementResult result = await commands.ExecuteAsync($"targets/scst_local/tgt/{file}", line);

        result.Status.Should().Be(status);
        result.Message.Should().Contain(reason);
        stack.Target().Groups.Select(g => g.Name).Should().Equal("g1", "g2");
        g1.Initiators.Should().Equal("iqn.2026-11.test:a");
        stack.Target().FindGroup("g2")!.Initiators.Should().BeEmpty();
        g1.Luns.Luns.Select(m => (m.Lun, m.Device.Name)).Should().Equal((0, "null1"));
    }

    [Fact]
    public async Task Configuration_GroupsOfATargetDefinition_AreCreatedWithTheirLunsAndInitiators()
    {
        await using ScstStack stack = ScstStack.Create(b => b
            .AddDevice("vdisk_nullio", "null0", new Dictionary<string, string> { ["size"] = "1M" })
            .AddTarget(LocalTargetDriver.DriverName, ScstStack.TargetName, t => t
                .AddGroup("allowed", g => g.AddInitiator(Host1).AddLun(0, "null0"))));
        await stack.StartAsync();

        LocalSession host = stack.OpenSession(initiator: Host1);
        LocalSession other = stack.OpenSession(initiator: Other);

        (await ReportLunsAsync(host)).Should().Equal(0);
        (await ReportLunsAsync(other)).Should().BeEmpty();
        stack.Target().InitiatorHasLuns(Other).Should().BeFalse();
    }

    private static async Task<int[]> ReportLunsAsync(LocalSession session)
    {
        byte[] data = new byte[512];
        LocalResult result = await session.ExecuteAsync(0, CdbBuilder.ReportLuns(512), DataDirection.Read, data);
        SenseAssert.IsGood(result);
        int length = (int)BinaryPrimitives.ReadUInt32BigEndian(data);
        return [.. Enumerable.Range(0, length / 8).Select(i => LunAddress.Decode(BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(8 + (8 * i)))))];
    }

    // The unit attentions a session has pending for a LUN, oldest first, each taken by a TEST UNIT READY.
    private static async Task<List<SenseCode>> UnitAttentionsAsync(LocalSession session, int lun)
    {
        var codes = new List<SenseCode>();
        for (int i = 0; i < 8; i++)
        {
            LocalResult tur = await session.ExecuteAsync(lun, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty);
            if (tur.Status == ScsiStatus.Good)
            {
                return codes;
            }

            SenseCode code = tur.Outcome.Sense;
            code.Key.Should().Be(SenseKey.UnitAttention, "only unit attentions are expected before GOOD (got {0})", SenseAssert.Describe(code));
            codes.Add(code);
        }

        throw new TestAssertionException("TEST UNIT READY never became GOOD.");
    }

    /// <summary>A device that records the initiators of the nexuses attached to and detached from it.</summary>
    private sealed class NexusRecorder(string name) : ScsiDevice(name, "test_recorder", PeripheralDeviceType.DirectAccess)
    {
        public List<string> Attached { get; } = [];

        public List<string> Detached { get; } = [];

        public override ValueTask<CommandOutcome> ExecuteAsync(ScsiCommand command) => new(CommandOutcome.Good);

        protected internal override void OnNexusAttached(ScsiSession session, LunMapping mapping) => Attached.Add(session.InitiatorName);

        protected internal override void OnNexusDetached(ScsiSession session, LunMapping mapping) => Detached.Add(session.InitiatorName);
    }
}
