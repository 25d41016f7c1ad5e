// Licensed under the Apache License, Version 2.0.

using Scst.Core;
using Scst.Events;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests;

/// <summary>The task management functions of SAM-5 section 7 over the Local transport, one behaviour per test.</summary>
public sealed class TaskManagementFunctionTests
{
    private const string OtherInitiator = "iqn.2024-01.test:other";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ValueTask<LocalResult> Read(LocalSession s, uint lba) => s.ExecuteAsync(0, CdbBuilder.Read10(lba, 1), DataDirection.Read, new byte[512]);

    private static ValueTask<LocalResult> Tur(LocalSession s) => s.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty);

    private static async Task SetTaskAbortedStatusAsync(LocalSession s)
    {
        byte[] page = CdbBuilder.ControlModePage(taskAbortedStatus: true);
        SenseAssert.IsGood(await s.ExecuteAsync(0, CdbBuilder.ModeSelect6((byte)page.Length), DataDirection.Write, page));
    }

    [Fact]
    public async Task QueryTask_PendingCommand_Succeeds_AndCompletesOnceItIsGone()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        ValueTask<LocalResult> pending = Read(session, 0);
        const ulong Tag = 1;

        session.Session.QueryTask(LunAddress.Encode(0), Tag).Should().Be(TaskManagementResponse.FunctionSucceeded);
        session.Session.QueryTask(LunAddress.Encode(0), Tag + 10).Should().Be(TaskManagementResponse.FunctionComplete);
        device.CompleteNextRead();
        await pending;

        session.Session.QueryTask(LunAddress.Encode(0), Tag).Should().Be(TaskManagementResponse.FunctionComplete);
        session.Session.QueryTask(LunAddress.Encode(5), Tag).Should().Be(TaskManagementResponse.LunDoesNotExist);
    }

    [Fact]
    public async Task QueryTaskSet_SeesOnlyThisNexusCommands()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        LocalSession other = stack.OpenSession(initiator: OtherInitiator);
        ValueTask<LocalResult> pending = Read(other, 0);

        session.Session.QueryTaskSet(LunAddress.Encode(0)).Should().Be(TaskManagementResponse.FunctionComplete);
        other.Session.QueryTaskSet(LunAddress.Encode(0)).Should().Be(TaskManagementResponse.FunctionSucceeded);
        device.CompleteNextRead();
        await pending;
        other.Session.QueryTaskSet(LunAddress.Encode(0)).Should().Be(TaskManagementResponse.FunctionComplete);
    }

    [Fact]
    public async Task QueryAsynchronousEvent_ReportsThePendingAttentionWithoutClearingIt()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();
        session.Session.QueryAsynchronousEvent(LunAddress.Encode(0), out _).Should().Be(TaskManagementResponse.FunctionComplete);
        session.Session.EstablishUnitAttention(0, SenseCode.ModeParametersChanged);

        session.Session.QueryAsynchronousEvent(LunAddress.Encode(0), out SenseCode pending).Should().Be(TaskManagementResponse.FunctionSucceeded);

        pending.Should().Be(SenseCode.ModeParametersChanged);
        SenseAssert.IsCheckCondition(await Tur(session), SenseCode.ModeParametersChanged);
        SenseAssert.IsGood(await Tur(session));
    }

    [Fact]
    public async Task ItNexusReset_AbortsOnlyTheNexusCommands_AndReportsNexusLoss()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        LocalSession other = stack.OpenSession(initiator: OtherInitiator);
        ValueTask<LocalResult> mine = Read(session, 0);
        ValueTask<LocalResult> theirs = Read(other, 1);

        ValueTask<TaskManagementResponse> reset = session.Session.ExecuteTaskManagementAsync(TaskManagementFunction.ItNexusReset, 0, 0);
        device.CompleteNextRead();
        device.CompleteNextRead();

        (await reset.AsTask().WaitAsync(Timeout, Ct)).Should().Be(TaskManagementResponse.FunctionComplete);
        (await mine.AsTask().WaitAsync(Timeout, Ct)).Aborted.Should().BeTrue();
        SenseAssert.IsGood(await theirs.AsTask().WaitAsync(Timeout, Ct));
        SenseAssert.IsCheckCondition(await Tur(session), SenseCode.NexusLossOccurred);
        SenseAssert.IsGood(await Tur(other));
    }

    [Fact]
    public async Task ClearTaskSet_SingleTaskSet_ClearsEveryNexus_AndTellsTheOthers()
    {
        var device = new PendingBlockDevice("shared0", singleTaskSet: true);
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        LocalSession other = stack.OpenSession(initiator: OtherInitiator);
        ValueTask<LocalResult> theirs = Read(other, 1);

        ValueTask<TaskManagementResponse> clear = session.Session.ExecuteTaskManagementAsync(TaskManagementFunction.ClearTaskSet, LunAddress.Encode(0), 0);
        device.CompleteNextRead();

        (await clear.AsTask().WaitAsync(Timeout, Ct)).Should().Be(TaskManagementResponse.FunctionComplete);
        (await theirs.AsTask().WaitAsync(Timeout, Ct)).Aborted.Should().BeTrue("TAS=0: no status for the other nexus's command");
        SenseAssert.IsCheckCondition(await Tur(other), SenseCode.CommandsClearedByAnotherInitiator);
        SenseAssert.IsGood(await Tur(session));
    }

    [Fact]
    public async Task ClearTaskSet_PerNexusTaskSets_LeavesOtherNexusesAlone()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        LocalSession other = stack.OpenSession(initiator: OtherInitiator);
        ValueTask<LocalResult> theirs = Read(other, 1);

        (await session.Session.ExecuteTaskManagementAsync(TaskManagementFunction.ClearTaskSet, LunAddress.Encode(0), 0))
            .Should().Be(TaskManagementResponse.FunctionComplete);

        theirs.IsCompleted.Should().BeFalse();
        device.CompleteNextRead();
        SenseAssert.IsGood(await theirs.AsTask().WaitAsync(Timeout, Ct));
    }

    [Fact]
    public async Task LogicalUnitReset_WithTas_OtherNexusCommandEndsWithTaskAborted()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        LocalSession other = stack.OpenSession(initiator: OtherInitiator);
        await SetTaskAbortedStatusAsync(session);
        await Tur(other); // the mode change's unit attention
        ValueTask<LocalResult> mine = Read(session, 0);
        ValueTask<LocalResult> theirs = Read(other, 1);

        ValueTask<TaskManagementResponse> reset = session.ResetLogicalUnitAsync(0);
        device.CompleteNextRead();
        device.CompleteNextRead();

        (await reset.AsTask().WaitAsync(Timeout, Ct)).Should().Be(TaskManagementResponse.FunctionComplete);
        (await mine.AsTask().WaitAsync(Timeout, Ct)).Aborted.Should().BeTrue("the issuing nexus's commands end without status");
        LocalResult other1 = await theirs.AsTask().WaitAsync(Timeout, Ct);
        other1.Aborted.Should().BeFalse();
        other1.Status.Should().Be(ScsiStatus.TaskAborted, "TAS=1: another nexus's function aborted it");
        other1.TransferredLength.Should().Be(0);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task LunAddedOrRemoved_IsReportedLunsDataHasChanged_ForTheSessionsOfTheTarget()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        stack.Engine.RegisterDevice(new PendingBlockDevice("pend1"));

        stack.Engine.MapLun(stack.Target(), 1, "pend1");

        SenseAssert.IsCheckCondition(await Tur(session), SenseCode.ReportedLunsDataChanged);
        SenseAssert.IsGood(await Tur(session));
        stack.Target().Luns.Remove(1).Should().BeTrue();
        SenseAssert.IsCheckCondition(await Tur(session), SenseCode.ReportedLunsDataChanged);
    }

    [Fact]
    public async Task CapacityAndInquiryChanges_ReachEveryNexusOfTheDevice()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession a = stack.OpenSession();
        LocalSession b = stack.OpenSession(initiator: OtherInitiator);

        stack.Engine.NotifyCapacityChanged(device);
        stack.Engine.NotifyInquiryDataChanged(device);

        foreach (LocalSession s in new[] { a, b })
        {
            SenseAssert.IsCheckCondition(await Tur(s), SenseCode.CapacityDataChanged);
            SenseAssert.IsCheckCondition(await Tur(s), SenseCode.InquiryDataChanged);
            SenseAssert.IsGood(await Tur(s));
        }
    }

    [Theory]
    [InlineData(TaskManagementFunction.AbortTaskSet)]
    [InlineData(TaskManagementFunction.ClearAca)]
    [InlineData(TaskManagementFunction.ClearTaskSet)]
    [InlineData(TaskManagementFunction.LogicalUnitReset)]
    [InlineData(TaskManagementFunction.TargetReset)]
    [InlineData(TaskManagementFunction.ItNexusReset)]
    [InlineData(TaskManagementFunction.QueryTask)]
    [InlineData(TaskManagementFunction.QueryTaskSet)]
    [InlineData(TaskManagementFunction.QueryAsynchronousEvent)]
    public async Task EveryFunction_PublishesEvent4WithItsFields(TaskManagementFunction function)
    {
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(new PendingBlockDevice("pend0"));
        using ScstEventSubscription events = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.TaskManagementFunctionReceived));
        LocalSession session = stack.OpenSession();
        bool addressesLun = function is not (TaskManagementFunction.TargetReset or TaskManagementFunction.ItNexusReset);

        await session.Session.ExecuteTaskManagementAsync(function, LunAddress.Encode(0), 7);

        events.TryRead(out ScstEvent? e).Should().BeTrue();
        TaskManagementFunctionReceivedEvent payload = TaskManagementFunctionReceivedEvent.Parse(e!.Payload.Span);
        payload.Function.Should().Be((uint)function);
        payload.InitiatorName.Should().Be(ScstStack.InitiatorName);
        payload.TargetName.Should().Be(ScstStack.TargetName);
        payload.DeviceName.Should().Be(addressesLun ? "pend0" : string.Empty);
        events.TryRead(out _).Should().BeFalse("one event per function");
    }

    [Fact]
    public async Task AbortTask_PublishesEvent4WithTheTagLunAndCdbOfTheCommand()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        using ScstEventSubscription events = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.TaskManagementFunctionReceived));
        LocalSession session = stack.OpenSession();
        ValueTask<LocalResult> pending = Read(session, 3);

        ValueTask<TaskManagementResponse> abort = session.AbortTaskAsync(1);
        device.CompleteNextRead();
        await abort;
        await pending;

        events.TryRead(out ScstEvent? e).Should().BeTrue();
        TaskManagementFunctionReceivedEvent payload = TaskManagementFunctionReceivedEvent.Parse(e!.Payload.Span);
        payload.Function.Should().Be((uint)TaskManagementFunction.AbortTask);
        payload.CommandToAbortTag.Should().Be(1UL);
        payload.Lun.Should().Be(LunAddress.Encode(0));
        payload.DeviceName.Should().Be("pend0");
        payload.Cdb.ToArray()[..10].Should().Equal(CdbBuilder.Read10(3, 1));
    }
}
