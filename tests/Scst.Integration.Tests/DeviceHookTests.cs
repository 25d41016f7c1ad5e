// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Collections.Concurrent;
using Scst.Core;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests;

/// <summary>
/// The core's hooks for devices served elsewhere: device-supplied buffers, nexus attach/detach, task management
/// received/done, and unregistering a mapped device.
/// </summary>
public sealed class DeviceHookTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ValueTask<LocalResult> Tur(LocalSession s, int lun = 0) => s.ExecuteAsync(lun, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty);

    [Fact]
    public async Task BufferSource_SuppliesTheCommandBuffer_GetsItBack_AndNoneFreeIsBusy()
    {
        var source = new CountingBufferSource();
        var device = new HookDevice("hook0") { Source = source };
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        byte[] data = [.. Enumerable.Range(0, 1024).Select(i => (byte)i)];

        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Write10(2, 2), DataDirection.Write, data));
        byte[] read = new byte[1024];
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Read10(2, 2), DataDirection.Read, read));

        read.Should().Equal(data);
        device.SawSourceBuffer.Should().BeTrue("the handler's buffer is the one the source rented");
        (source.Rented, source.Returned).Should().Be((2, 2));
        stack.Engine.OutstandingBuffers.Should().Be(0, "the core's pool was not used");

        source.Exhausted = true;
        LocalResult busy = await session.ExecuteAsync(0, CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[512]);
        busy.Status.Should().Be(ScsiStatus.Busy);
        SenseAssert.IsGood(await Tur(session)); // a command without data needs no buffer
    }

    [Fact]
    public async Task NexusAttachAndDetach_FollowSessionsAndLunChanges()
    {
        var device = new HookDevice("hook0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        device.Events.Should().Equal("attach 0");

        stack.Engine.MapLun(stack.Target(), 3, "hook0");
        stack.Target().Luns.Remove(0);
        session.Dispose();

        device.Events.Should().Equal("attach 0", "attach 3", "detach 0", "detach 3");
    }

    [Fact]
    public async Task AbortTask_IsReceivedBeforeTheWait_AndDoneBeforeTheResponse()
    {
        var device = new HookDevice("hook0") { HoldReads = true };
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        ValueTask<LocalResult> read = session.ExecuteAsync(0, CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[512]);
        device.Events.Clear();

        TaskManagementResponse response = await session.AbortTaskAsync(1).AsTask().WaitAsync(TimeSpan.FromSeconds(20), Ct);

        response.Should().Be(TaskManagementResponse.FunctionComplete);
        device.Events.Should().Equal("received AbortTask with command", "done AbortTask");
        (await read).Aborted.Should().BeTrue();
    }

    [Fact]
    public async Task LunReset_AndNexusReset_ReachTheDevice_AndAThrowingDeviceDoesNotBreakThem()
    {
        var device = new HookDevice("hook0") { Throw = true };
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        device.Events.Clear();

        (await session.ResetLogicalUnitAsync(0)).Should().Be(TaskManagementResponse.FunctionComplete);
        (await session.Session.ResetNexusAsync()).Should().Be(TaskManagementResponse.FunctionComplete);

        device.Events.Should().Equal("received LogicalUnitReset", "done LogicalUnitReset", "received ItNexusReset", "done ItNexusReset");
    }

    [Fact]
    public async Task UnregisterDevice_RemovesItsLuns_WithReportedLunsDataChanged_AndDisposesIt()
    {
        var device = new HookDevice("hook0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        stack.Engine.RegisterDevice(new HookDevice("other"));
        stack.Engine.MapLun(stack.Target(), 1, "other");
        LocalSession session = stack.OpenSession();

        (await stack.Engine.UnregisterDeviceAsync(device)).Should().BeTrue();

        stack.Engine.FindDevice("hook0").Should().BeNull();
        stack.Target().Luns.Find(0).Should().BeNull();
        device.Disposed.Should().BeTrue();
        device.Events.Should().Contain("detach 0");
        SenseAssert.IsCheckCondition(await Tur(session, 1), SenseCode.ReportedLunsDataChanged);
        SenseAssert.IsCheckCondition(await Tur(session, 0), SenseCode.LunNotSupported);
        (await stack.Engine.UnregisterDeviceAsync(device)).Should().BeFalse("it is gone already");
    }

    private sealed class HookDevice(string name) : BlockDevice(name, "test_hook")
    {
        private readonly byte[] _store = new byte[2048 * 512];
        private readonly ConcurrentQueue<TaskCompletionSource<CommandOutcome>> _held = new();

        public List<string> Events { get; } = [];

        public CountingBufferSource? Source { get; init; }

        public bool HoldReads { get; init; }

        public bool Throw { get; init; }

        public bool SawSourceBuffer { get; private set; }

        public bool Disposed { get; private set; }

        public override long BlockCount => 2048;

        public override IDeviceBufferSource? BufferSource => Source;

        public override ValueTask DisposeAsync()
        {
            Disposed = true;
            return base.DisposeAsync();
        }

        protected override ValueTask<CommandOutcome> ReadAsync(long offset, Memory<byte> destination)
        {
            SawSourceBuffer |= Source is not null && System.Runtime.InteropServices.MemoryMarshal.TryGetMemoryManager<byte, ArrayManager>(destination, out _);
            _store.AsSpan((int)offset, destination.Length).CopyTo(destination.Span);
            if (!HoldReads)
            {
                return new(CommandOutcome.Good);
            }

            var tcs = new TaskCompletionSource<CommandOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
            _held.Enqueue(tcs);
            return new(tcs.Task);
        }

        protected override ValueTask<CommandOutcome> WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess)
        {
            source.Span.CopyTo(_store.AsSpan((int)offset));
            return new(CommandOutcome.Good);
        }

        protected override ValueTask<CommandOutcome> FlushAsync() => new(CommandOutcome.Good);

        protected internal override void OnNexusAttached(ScsiSession session, LunMapping mapping) => Events.Add($"attach {mapping.Lun}");

        protected internal override void OnNexusDetached(ScsiSession session, LunMapping mapping) => Events.Add($"detach {mapping.Lun}");

        protected internal override void OnTaskManagementReceived(TaskManagementFunction function, ScsiSession session, ScsiCommand? command)
        {
            Events.Add($"received {function}{(command is null ? string.Empty : " with command")}");
            while (_held.TryDequeue(out TaskCompletionSource<CommandOutcome>? tcs))
            {
                tcs.TrySetResult(CommandOutcome.Good); // finish the affected commands quickly
            }

            if (Throw)
            {
                throw new InvalidOperationException("a faulty device");
            }
        }

        protected internal override ValueTask OnTaskManagementDoneAsync(TaskManagementFunction function, ScsiSession session)
        {
            Events.Add($"done {function}");
            return Throw ? ValueTask.FromException(new InvalidOperationException("a faulty device")) : ValueTask.CompletedTask;
        }
    }

    private sealed class CountingBufferSource : IDeviceBufferSource
    {
        public int Rented { get; private set; }

        public int Returned { get; private set; }

        public bool Exhausted { get; set; }

        public MemoryManager<byte>? Rent(int size)
        {
            if (Exhausted)
            {
                return null;
            }

            Rented++;
            return new ArrayManager(size);
        }

        public void Return(MemoryManager<byte> buffer) => Returned++;
    }

    private sealed class ArrayManager(int size) : MemoryManager<byte>
    {
        private readonly byte[] _array = new byte[size];

        public override Span<byte> GetSpan() => _array;

        public override MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
