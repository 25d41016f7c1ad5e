// Licensed under the Apache License, Version 2.0.

using Scst.Core;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests;

/// <summary>Task attributes and task sets (SAM-5 section 8) over the Local transport, with reads the test completes by hand.</summary>
public sealed class TaskSetTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ValueTask<LocalResult> Read(LocalSession s, uint lba, TaskAttribute attribute = TaskAttribute.Simple) =>
        s.ExecuteAsync(0, CdbBuilder.Read10(lba, 1), DataDirection.Read, new byte[512], attribute);

    private static ValueTask<LocalResult> Write(LocalSession s, uint lba, TaskAttribute attribute = TaskAttribute.Simple) =>
        s.ExecuteAsync(0, CdbBuilder.Write10(lba, 1), DataDirection.Write, new byte[512], attribute);

    private static async Task SettleAsync() => await Task.Delay(50, Ct);

    [Fact]
    public async Task Ordered_WaitsForOlderSimple_AndNewerSimpleWaitsForIt()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();

        ValueTask<LocalResult> olderRead = Read(session, 0);
        ValueTask<LocalResult> ordered = Write(session, 1, TaskAttribute.Ordered);
        ValueTask<LocalResult> newerRead = Read(session, 2);
        await SettleAsync();

        ordered.IsCompleted.Should().BeFalse("an ORDERED command waits for every older command");
        device.PendingReads.Should().Be(1, "the newer SIMPLE read waits for the ORDERED write");

        device.CompleteNextRead();
        SenseAssert.IsGood(await olderRead.AsTask().WaitAsync(Timeout, Ct));
        SenseAssert.IsGood(await ordered.AsTask().WaitAsync(Timeout, Ct));
        await WaitForPendingReadsAsync(device, 1);
        newerRead.IsCompleted.Should().BeFalse();
        device.CompleteNextRead();
        SenseAssert.IsGood(await newerRead.AsTask().WaitAsync(Timeout, Ct));
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task HeadOfQueue_RunsAtOnce_PastWaitingCommands()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();

        ValueTask<LocalResult> olderRead = Read(session, 0);
        ValueTask<LocalResult> ordered = Write(session, 1, TaskAttribute.Ordered);
        LocalResult head = await session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty, TaskAttribute.HeadOfQueue)
            .AsTask().WaitAsync(Timeout, Ct);

        SenseAssert.IsGood(head);
        ordered.IsCompleted.Should().BeFalse();
        device.CompleteNextRead();
        SenseAssert.IsGood(await olderRead.AsTask().WaitAsync(Timeout, Ct));
        SenseAssert.IsGood(await ordered.AsTask().WaitAsync(Timeout, Ct));
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Simple_WaitsForOlderHeadOfQueue()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();

        ValueTask<LocalResult> head = Read(session, 0, TaskAttribute.HeadOfQueue);
        ValueTask<LocalResult> simple = Read(session, 1);
        await SettleAsync();

        device.PendingReads.Should().Be(1, "a SIMPLE command is not enabled before an older HEAD OF QUEUE command completes");
        device.CompleteNextRead();
        SenseAssert.IsGood(await head.AsTask().WaitAsync(Timeout, Ct));
        await WaitForPendingReadsAsync(device, 1);
        device.CompleteNextRead();
        SenseAssert.IsGood(await simple.AsTask().WaitAsync(Timeout, Ct));
    }

    [Fact]
    public async Task PerNexusTaskSets_AnotherNexusIsNotHeldByAnOrderedCommand()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession first = stack.OpenSession();
        LocalSession second = stack.OpenSession(initiator: "iqn.2024-01.test:second");

        ValueTask<LocalResult> olderRead = Read(first, 0);
        ValueTask<LocalResult> ordered = Write(first, 1, TaskAttribute.Ordered);
        LocalResult otherWrite = await Write(second, 2).AsTask().WaitAsync(Timeout, Ct);

        SenseAssert.IsGood(otherWrite);
        ordered.IsCompleted.Should().BeFalse();
        device.CompleteNextRead();
        await olderRead;
        SenseAssert.IsGood(await ordered.AsTask().WaitAsync(Timeout, Ct));
    }

    [Fact]
    public async Task SingleTaskSet_AnOrderedCommandHoldsEveryNexus()
    {
        var device = new PendingBlockDevice("shared0", singleTaskSet: true);
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession first = stack.OpenSession();
        LocalSession second = stack.OpenSession(initiator: "iqn.2024-01.test:second");

        ValueTask<LocalResult> olderRead = Read(first, 0);
        ValueTask<LocalResult> ordered = Write(first, 1, TaskAttribute.Ordered);
        ValueTask<LocalResult> otherWrite = Write(second, 2);
        await SettleAsync();

        otherWrite.IsCompleted.Should().BeFalse("with TST=0 the other nexus's command waits behind the ORDERED one");
        device.CompleteNextRead();
        SenseAssert.IsGood(await olderRead.AsTask().WaitAsync(Timeout, Ct));
        SenseAssert.IsGood(await ordered.AsTask().WaitAsync(Timeout, Ct));
        SenseAssert.IsGood(await otherWrite.AsTask().WaitAsync(Timeout, Ct));
    }

    [Fact]
    public async Task AbortTask_OfAWaitingCommand_EndsItWithoutWaitingForTheCommandsAhead()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        ValueTask<LocalResult> olderRead = Read(session, 0);
        ValueTask<LocalResult> ordered = Write(session, 1, TaskAttribute.Ordered);
        const ulong OrderedTag = 2;
        await SettleAsync();

        TaskManagementResponse response = await session.AbortTaskAsync(OrderedTag).AsTask().WaitAsync(Timeout, Ct);

        response.Should().Be(TaskManagementResponse.FunctionComplete);
        (await ordered.AsTask().WaitAsync(Timeout, Ct)).Aborted.Should().BeTrue();
        olderRead.IsCompleted.Should().BeFalse();
        device.CompleteNextRead();
        SenseAssert.IsGood(await olderRead.AsTask().WaitAsync(Timeout, Ct));
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task RestrictedReordering_OverlappingSimpleWriteWaits_DisjointDoesNot()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        byte[] page = CdbBuilder.ControlModePage(queueAlgorithmModifier: 0);
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.ModeSelect6((byte)page.Length), DataDirection.Write, page));

        ValueTask<LocalResult> read = Read(session, 5);
        LocalResult disjoint = await Write(session, 6).AsTask().WaitAsync(Timeout, Ct);
        ValueTask<LocalResult> overlapping = Write(session, 5);
        await SettleAsync();

        SenseAssert.IsGood(disjoint);
        overlapping.IsCompleted.Should().BeFalse("with restricted reordering a write to blocks an older read still reads waits");
        device.CompleteNextRead();
        SenseAssert.IsGood(await read.AsTask().WaitAsync(Timeout, Ct));
        SenseAssert.IsGood(await overlapping.AsTask().WaitAsync(Timeout, Ct));
    }

    [Fact]
    public async Task UnrestrictedReordering_OverlappingSimpleWriteRunsAtOnce()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();

        ValueTask<LocalResult> read = Read(session, 5);
        LocalResult overlapping = await Write(session, 5).AsTask().WaitAsync(Timeout, Ct);

        SenseAssert.IsGood(overlapping);
        device.CompleteNextRead();
        SenseAssert.IsGood(await read.AsTask().WaitAsync(Timeout, Ct));
    }

    private static async Task WaitForPendingReadsAsync(PendingBlockDevice device, int count)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(Timeout);
        while (device.PendingReads < count)
        {
            await Task.Delay(5, cts.Token);
        }
    }
}
