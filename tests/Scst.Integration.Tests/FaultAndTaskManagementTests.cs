// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.DependencyInjection;
using Scst.Core;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests;

public sealed class FaultAndTaskManagementTests
{
    /// <summary>A buggy handler: reads throw (synchronously, or through a faulted task) on every other call.</summary>
    private sealed class ThrowingBlockDevice(string name, bool faultedTask) : BlockDevice(name, "test_throwing")
    {
        private int _reads;

        public override long BlockCount => 1024;

        protected override ValueTask<CommandOutcome> ReadAsync(long offset, Memory<byte> destination)
        {
            if (Interlocked.Increment(ref _reads) % 2 == 1)
            {
                return faultedTask
                    ? ValueTask.FromException<CommandOutcome>(new InvalidOperationException("handler bug"))
                    : throw new InvalidOperationException("handler bug");
            }

            destination.Span.Fill(0x5A);
            return new(CommandOutcome.Good);
        }

        protected override ValueTask<CommandOutcome> WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess) => new(CommandOutcome.Good);

        protected override ValueTask<CommandOutcome> FlushAsync() => new(CommandOutcome.Good);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Read_HandlerThrows_IsHardwareErrorForThatCommandOnly(bool faultedTask)
    {
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(new ThrowingBlockDevice("bad0", faultedTask));
        LocalSession session = stack.OpenSession();
        var data = new byte[512];

        LocalResult failed = await session.ExecuteAsync(0, CdbBuilder.Read10(0, 1), DataDirection.Read, data);
        LocalResult next = await session.ExecuteAsync(0, CdbBuilder.Read10(0, 1), DataDirection.Read, data);
        LocalResult tur = await session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty);

        SenseAssert.IsCheckCondition(failed, SenseCode.InternalTargetFailure);
        failed.TransferredLength.Should().Be(0);
        SenseAssert.IsGood(next);
        data.Should().OnlyContain(b => b == 0x5A);
        SenseAssert.IsGood(tur);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Read_MoreThanMaxCommandsOutstanding_IsTaskSetFull()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device, o => o.MaxCommandsPerSession = 2);
        LocalSession session = stack.OpenSession();

        ValueTask<LocalResult> first = session.ExecuteAsync(0, CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[512]);
        ValueTask<LocalResult> second = session.ExecuteAsync(0, CdbBuilder.Read10(1, 1), DataDirection.Read, new byte[512]);
        ValueTask<LocalResult> third = session.ExecuteAsync(0, CdbBuilder.Read10(2, 1), DataDirection.Read, new byte[512]);

        first.IsCompleted.Should().BeFalse();
        second.IsCompleted.Should().BeFalse();
        third.IsCompleted.Should().BeTrue("the third command is refused at once");
        LocalResult full = await third;
        full.Status.Should().Be(ScsiStatus.TaskSetFull);
        full.TransferredLength.Should().Be(0);
        device.PendingReads.Should().Be(2, "the refused command never reached the device");
        session.Session.CommandsInUse.Should().Be(2);

        device.CompleteNextRead();
        device.CompleteNextRead();
        SenseAssert.IsGood(await first);
        SenseAssert.IsGood(await second);
        LocalResult after = await session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty);
        SenseAssert.IsGood(after);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task AbortTask_PendingCommand_CompletesAfterTheCommandFinishesAndMarksItAborted()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        var data = new byte[512];
        ValueTask<LocalResult> pending = session.ExecuteAsync(0, CdbBuilder.Read10(0, 1), DataDirection.Read, data);
        const ulong FirstTag = 1;

        ValueTask<TaskManagementResponse> abort = session.AbortTaskAsync(FirstTag);

        await Task.Delay(50, TestContext.Current.CancellationToken);
        abort.IsCompleted.Should().BeFalse("the command is still in the device");
        pending.IsCompleted.Should().BeFalse();
        device.CompleteNextRead();
        TaskManagementResponse response = await abort.AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        LocalResult result = await pending.AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        response.Should().Be(TaskManagementResponse.FunctionComplete);
        result.Aborted.Should().BeTrue();
        result.Status.Should().Be(ScsiStatus.TaskAborted);
        result.TransferredLength.Should().Be(0);
        data.Should().OnlyContain(b => b == 0, "an aborted read delivers no data");
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task AbortTask_UnknownTag_IsTaskDoesNotExist()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();
        await session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty);

        TaskManagementResponse response = await session.AbortTaskAsync(1);

        response.Should().Be(TaskManagementResponse.TaskDoesNotExist, "tag 1 already completed");
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task TargetReset_PendingCommandOfAnotherSession_IsAborted()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession other = stack.OpenSession();
        LocalSession resetter = stack.OpenSession();
        ValueTask<LocalResult> pending = other.ExecuteAsync(0, CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[512]);

        ValueTask<TaskManagementResponse> reset = resetter.Session.ExecuteTaskManagementAsync(TaskManagementFunction.TargetReset, 0, 0);
        await Task.Delay(50, TestContext.Current.CancellationToken);
        reset.IsCompleted.Should().BeFalse("the other session's command is still in the device");
        device.CompleteNextRead();

        (await reset.AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Should().Be(TaskManagementResponse.FunctionComplete);
        (await pending.AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Aborted.Should().BeTrue();
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task LogicalUnitReset_PendingCommands_AbortsThemAll()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        ValueTask<LocalResult> a = session.ExecuteAsync(0, CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[512]);
        ValueTask<LocalResult> b = session.ExecuteAsync(0, CdbBuilder.Read10(1, 1), DataDirection.Read, new byte[512]);

        ValueTask<TaskManagementResponse> reset = session.ResetLogicalUnitAsync(0);
        device.CompleteNextRead();
        device.CompleteNextRead();

        (await reset.AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Should().Be(TaskManagementResponse.FunctionComplete);
        (await a).Aborted.Should().BeTrue();
        (await b).Aborted.Should().BeTrue();
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task LogicalUnitReset_UnknownLun_IsLunDoesNotExist()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();

        TaskManagementResponse response = await session.ResetLogicalUnitAsync(12);

        response.Should().Be(TaskManagementResponse.LunDoesNotExist);
    }

    [Fact]
    public async Task LogicalUnitReset_PendingCommandOfAnotherSession_IsAbortedAndEveryNexusGetsTheResetAttention()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession other = stack.OpenSession(initiator: "iqn.2024-01.test:other");
        LocalSession resetter = stack.OpenSession();
        ValueTask<LocalResult> pending = other.ExecuteAsync(0, CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[512]);

        ValueTask<TaskManagementResponse> reset = resetter.ResetLogicalUnitAsync(0);
        await Task.Delay(50, TestContext.Current.CancellationToken);
        reset.IsCompleted.Should().BeFalse("the other session's command is still in the device");
        device.CompleteNextRead();

        (await reset.AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Should().Be(TaskManagementResponse.FunctionComplete);
        (await pending.AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Aborted.Should().BeTrue();
        foreach (LocalSession s in new[] { resetter, other })
        {
            SenseAssert.IsCheckCondition(await s.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty), SenseCode.BusDeviceResetOccurred);
            SenseAssert.IsGood(await s.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty));
        }

        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task TargetReset_EveryNexus_GetsPowerOnResetOnce()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession a = stack.OpenSession();
        LocalSession b = stack.OpenSession(initiator: "iqn.2024-01.test:other");

        (await a.Session.ExecuteTaskManagementAsync(TaskManagementFunction.TargetReset, 0, 0)).Should().Be(TaskManagementResponse.FunctionComplete);
        (await b.Session.ExecuteTaskManagementAsync(TaskManagementFunction.TargetReset, 0, 0)).Should().Be(TaskManagementResponse.FunctionComplete);

        foreach (LocalSession s in new[] { a, b })
        {
            SenseAssert.IsCheckCondition(await s.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty), SenseCode.PowerOnReset);
            SenseAssert.IsGood(await s.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty));
        }
    }

    [Fact]
    public async Task ResetAttention_IsReportedBeforeAnOlderCondition_AndReplacesAnOlderReset()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();
        session.Session.EstablishUnitAttention(0, SenseCode.ModeParametersChanged);

        await session.ResetLogicalUnitAsync(0);
        await session.Session.ExecuteTaskManagementAsync(TaskManagementFunction.TargetReset, 0, 0);

        SenseAssert.IsCheckCondition(await session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty), SenseCode.PowerOnReset);
        SenseAssert.IsCheckCondition(await session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty), SenseCode.ModeParametersChanged);
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty));
    }
}
