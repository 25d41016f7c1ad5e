// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Scst.Core;
using Scst.Events;
using Scst.Testing;
using Scst.Transport.Local;
using Scst.UserDevice.Client;
using Scst.UserDevice.Protocol;
using Scst.UserDevice.Target;

namespace Scst.UserDevice.Tests;

/// <summary>
/// The whole loop in one process: a target (the core with the Local transport and the user-device server) and a device
/// process's side (the client library) over a real Unix socket and a real shared region.
/// </summary>
public sealed class UserDeviceLoopTests : IDisposable
{
    private const string DeviceName = "udev0";
    private const int Size = 1 << 20;
    private readonly TempDirectory _dir = new();
    private readonly CancellationTokenSource _cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);

    private string SocketPath => _dir.File("user.sock");

    private static UserDeviceDescriptor Descriptor(string name = DeviceName) =>
        new() { Name = name, BlockCount = Size / 512, ThinProvisioned = true, RegionSize = 16 << 20 };

    public void Dispose()
    {
        _cts.Cancel();
        _cts.Dispose();
        _dir.Dispose();
    }

    // A target with a nullio device as LUN 1 of the local target (the device that must stay unaffected).
    private async Task<ScstStack> StartTargetAsync()
    {
        ScstStack stack = ScstStack.Create(b => b
            .AddUserDevices(o => o.SocketPath = SocketPath)
            .AddDevice("vdisk_nullio", "null1", new Dictionary<string, string> { ["size"] = "1M" })
            .AddTarget(LocalTargetDriver.DriverName, ScstStack.TargetName, t => t.AddLun(1, "null1")));
        await stack.StartAsync();
        return stack;
    }

    private async Task<(UserDeviceConnection Connection, Task Run)> ConnectAsync(MemoryUserDevice device, string name = DeviceName)
    {
        var connection = new UserDeviceConnection { MaxConcurrency = 4 };
        Task run = connection.RunAsync(SocketPath, Descriptor(name), device, _cts.Token);
        await connection.Registered.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        return (connection, run);
    }

    private static byte[] Pattern(int length, byte seed)
    {
        byte[] data = new byte[length];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)((i * 7) + seed);
        }

        return data;
    }

    [Fact]
    public async Task Register_PublishesEvent6_AndWritesAndReadsReachTheDeviceThroughTheSharedRegion()
    {
        await using ScstStack stack = await StartTargetAsync();
        using ScstEventSubscription events = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.VirtualDeviceRegistered));
        var device = new MemoryUserDevice(Size);

        (UserDeviceConnection connection, Task run) = await ConnectAsync(device);

        events.TryRead(out ScstEvent? registered).Should().BeTrue();
        VirtualDeviceRegisteredEvent.Parse(registered!.Payload.Span).DeviceName.Should().Be(DeviceName);
        ScsiDevice target = stack.Engine.FindDevice(DeviceName)!;
        target.HandlerName.Should().Be("dev_user");
        stack.Engine.MapLun(stack.Target(), 0, DeviceName);
        LocalSession session = stack.OpenSession();
        await WaitFor.ConditionAsync(() => !device.Attached.IsEmpty, "ATTACH_SESS");
        device.Attached.Should().ContainSingle(s => s.Lun == 0 && s.InitiatorName == ScstStack.InitiatorName && s.TargetName == ScstStack.TargetName);

        byte[] written = Pattern(8 * 512, 3);
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Write10(16, 8), DataDirection.Write, written));
        device.Store.AsSpan(16 * 512, written.Length).ToArray().Should().Equal(written);
        byte[] read = new byte[8 * 512];
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Read10(16, 8), DataDirection.Read, read));
        read.Should().Equal(written);

        device.BuffersAreShared.Should().BeTrue("the device reads straight into the region");
        stack.Engine.OutstandingBuffers.Should().Be(0, "the user device's commands take region slots, not core buffers");
        ((UserBlockDevice)target).Region.Outstanding.Should().Be(0, "every slot came back");
        await _cts.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        await WaitFor.ConditionAsync(() => stack.Engine.FindDevice(DeviceName) is null, "the graceful UNREGISTER to remove the device");
        _ = connection;
    }

    [Fact]
    public async Task TheExecsOfOneSubmissionBatch_AreHeldUntilItCloses_ThenLeaveTogether()
    {
        await using ScstStack stack = await StartTargetAsync();
        var device = new MemoryUserDevice(Size);
        Pattern(16 * 512, 9).CopyTo(device.Store, 0);
        await ConnectAsync(device);
        stack.Engine.MapLun(stack.Target(), 0, DeviceName);
        LocalSession session = stack.OpenSession();
        await WaitFor.ConditionAsync(() => !device.Attached.IsEmpty, "ATTACH_SESS");
        var user = (UserBlockDevice)stack.Engine.FindDevice(DeviceName)!;
        byte[] first = new byte[8 * 512];
        byte[] second = new byte[8 * 512];

        ValueTask<LocalResult> a, b;
        using (SubmissionBatch.Open())
        {
            a = session.ExecuteAsync(0, CdbBuilder.Read10(0, 8), DataDirection.Read, first);
            b = session.ExecuteAsync(0, CdbBuilder.Read10(8, 8), DataDirection.Read, second);
            user.Channel.HeldBytes.Should().Be(2 * ExecRequest.Length, "both EXECs wait for the batch to close");
            a.IsCompleted.Should().BeFalse();
        }

        user.Channel.HeldBytes.Should().Be(0);
        SenseAssert.IsGood(await a);
        SenseAssert.IsGood(await b);
        first.Should().Equal(device.Store.AsSpan(0, 8 * 512).ToArray());
        second.Should().Equal(device.Store.AsSpan(8 * 512, 8 * 512).ToArray());

        // Outside a batch an EXEC leaves at once.
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[512]));
        user.Channel.HeldBytes.Should().Be(0);
    }

    [Fact]
    public async Task AttachSession_ComesBeforeIO_AndAHeldCommandUsesOneRegionSlot()
    {
        await using ScstStack stack = await StartTargetAsync();
        var device = new MemoryUserDevice(Size) { HoldReads = true };
        await ConnectAsync(device);
        stack.Engine.MapLun(stack.Target(), 0, DeviceName);
        LocalSession session = stack.OpenSession();
        await WaitFor.ConditionAsync(() => !device.Attached.IsEmpty, "ATTACH_SESS");

        ValueTask<LocalResult> pending = session.ExecuteAsync(0, CdbBuilder.Read10(0, 8), DataDirection.Read, new byte[4096]);
        await device.FirstHeldRead.Task.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);

        var user = (UserBlockDevice)stack.Engine.FindDevice(DeviceName)!;
        user.Region.Outstanding.Should().Be(1);
        stack.Engine.OutstandingBuffers.Should().Be(0);
        device.ReleaseHeldReads();
        SenseAssert.IsGood(await pending);
    }

    [Fact]
    public async Task AbortTask_And_LogicalUnitReset_ReachTheDevice_AsReceivedThenDone()
    {
        await using ScstStack stack = await StartTargetAsync();
        var device = new MemoryUserDevice(Size) { HoldReads = true };
        await ConnectAsync(device);
        stack.Engine.MapLun(stack.Target(), 0, DeviceName);
        LocalSession session = stack.OpenSession();

        ValueTask<LocalResult> read = session.ExecuteAsync(0, CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[512]);
        await device.FirstHeldRead.Task.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        TaskManagementResponse abort = await session.AbortTaskAsync(1).AsTask().WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);

        abort.Should().Be(TaskManagementResponse.FunctionComplete);
        (await read).Aborted.Should().BeTrue();
        device.Received.Should().ContainSingle();
        device.Received.Single().Function.Should().Be(TaskManagementFunction.AbortTask);
        device.Received.Single().CommandHandle.Should().NotBe(0UL, "ABORT TASK names the EXEC of the command");
        device.Received.Single().Lun.Should().Be(0);
        device.Done.Should().ContainSingle(d => d.Function == TaskManagementFunction.AbortTask);

        TaskManagementResponse reset = await session.ResetLogicalUnitAsync(0).AsTask().WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);

        reset.Should().Be(TaskManagementResponse.FunctionComplete);
        device.Received.Should().Contain(r => r.Function == TaskManagementFunction.LogicalUnitReset);
        device.Done.Should().Contain(r => r.Function == TaskManagementFunction.LogicalUnitReset);
    }

    [Fact]
    public async Task DeviceProcessDeath_EndsTheCommandInFlight_RemovesTheLun_LeavesTheOtherDevice_AndTheNameRegistersAgain()
    {
        await using ScstStack stack = await StartTargetAsync();
        using ScstEventSubscription events = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.VirtualDeviceRegistered));
        var device = new MemoryUserDevice(Size) { HoldReads = true };
        (UserDeviceConnection connection, Task run) = await ConnectAsync(device);
        stack.Engine.MapLun(stack.Target(), 0, DeviceName);
        LocalSession session = stack.OpenSession();
        ValueTask<LocalResult> inFlight = session.ExecuteAsync(0, CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[512]);
        await device.FirstHeldRead.Task.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);

        connection.Drop();

        SenseAssert.IsCheckCondition(await inFlight.AsTask().WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken), SenseCode.LunNotSupported);
        device.ReleaseHeldReads(); // the client library unmaps the region once its primitives are done with it
        await run.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        await WaitFor.ConditionAsync(() => stack.Engine.FindDevice(DeviceName) is null, "the dead device to be unregistered");
        stack.Target().Luns.Find(0).Should().BeNull();
        SenseAssert.IsCheckCondition(await session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty), SenseCode.LunNotSupported);
        SenseAssert.IsCheckCondition(await session.ExecuteAsync(1, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty), SenseCode.ReportedLunsDataChanged);
        SenseAssert.IsGood(await session.ExecuteAsync(1, CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[512]));
        stack.Engine.OutstandingBuffers.Should().Be(0);

        var again = new MemoryUserDevice(Size);
        events.TryRead(out _).Should().BeTrue("the first registration");
        await ConnectAsync(again);

        events.TryRead(out ScstEvent? second).Should().BeTrue("a restarted device process registers the name again");
        VirtualDeviceRegisteredEvent.Parse(second!.Payload.Span).DeviceName.Should().Be(DeviceName);
        stack.Engine.MapLun(stack.Target(), 0, DeviceName);
        SenseAssert.IsCheckCondition(await session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty), SenseCode.ReportedLunsDataChanged);
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Write10(0, 1), DataDirection.Write, Pattern(512, 9)));
        again.Store.AsSpan(0, 512).ToArray().Should().Equal(Pattern(512, 9));
    }

    [Fact]
    public async Task SecondRegistration_OfATakenName_IsRefusedWithEexist()
    {
        await using ScstStack stack = await StartTargetAsync();
        await ConnectAsync(new MemoryUserDevice(Size));

        Func<Task> second = () => ConnectAsync(new MemoryUserDevice(Size));

        (await second.Should().ThrowAsync<UserDeviceRegistrationException>()).Which.NameTaken.Should().BeTrue();
        stack.Engine.FindDevice(DeviceName).Should().NotBeNull("the first device is untouched");
    }

    [Fact]
    public async Task DeviceTypeOtherThanDisk_WithStandardParsing_IsRefusedWithEinvalAndAReason()
    {
        await using ScstStack stack = await StartTargetAsync();
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), TestContext.Current.CancellationToken);
        byte[] buffer = new byte[4096];
        int length = new RegisterRequest { Name = "tape0", DeviceType = 1, BlockCount = 100 }.Encode(buffer);
        await socket.SendAsync(buffer.AsMemory(0, length), TestContext.Current.CancellationToken);

        int n = await ReceiveMessageAsync(socket, buffer);

        Frame.TryRead(buffer.AsSpan(0, n), out MessageHeader header, out _).Should().Be(n);
        RegisterReply reply = RegisterReply.Decode(buffer.AsSpan(Frame.HeaderLength, n - Frame.HeaderLength))!.Value;
        reply.Result.Should().Be(-22);
        reply.Reason.Should().Contain("type 1 needs parse type CALL or EXCEPTION");
        header.Flags.Should().Be(MessageFlags.None);
        stack.Engine.FindDevice("tape0").Should().BeNull();
    }

    [Fact]
    public async Task ReplyForAnUnknownHandle_ClosesTheConnection_AndUnregistersTheDevice()
    {
        await using ScstStack stack = await StartTargetAsync();
        await ConnectAsync(new MemoryUserDevice(Size), "other0");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), TestContext.Current.CancellationToken);
        byte[] buffer = new byte[4096];
        int length = new RegisterRequest { Name = "bad0", BlockCount = 100 }.Encode(buffer);
        await socket.SendAsync(buffer.AsMemory(0, length), TestContext.Current.CancellationToken);
        await ReceiveMessageAsync(socket, buffer);
        stack.Engine.FindDevice("bad0").Should().NotBeNull();

        length = ExecReply.Encode(buffer, 0x7777, 0, default, 0);
        await socket.SendAsync(buffer.AsMemory(0, length), TestContext.Current.CancellationToken);

        await WaitFor.ConditionAsync(() => stack.Engine.FindDevice("bad0") is null, "the malformed device to be unregistered");
        (await socket.ReceiveAsync(buffer, TestContext.Current.CancellationToken)).Should().Be(0, "the target closed the connection");
        stack.Engine.FindDevice("other0").Should().NotBeNull("another device is untouched");
    }

    [Fact]
    public async Task ThinDevice_GetLbaStatus_AsksTheDeviceProcess_AndReportsWrittenBlocksMappedAndUnmappedOnesDeallocated()
    {
        await using ScstStack stack = await StartTargetAsync();
        var device = new MemoryUserDevice(Size);
        await ConnectAsync(device);
        stack.Engine.MapLun(stack.Target(), 0, DeviceName);
        LocalSession session = stack.OpenSession();

        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Write10(16, 8), DataDirection.Write, Pattern(8 * 512, 5)));
        byte[] unmap = new byte[24]; // header + one descriptor: LBA 20, 2 blocks
        BinaryPrimitives.WriteUInt16BigEndian(unmap, 22);
        BinaryPrimitives.WriteUInt16BigEndian(unmap.AsSpan(2), 16);
        BinaryPrimitives.WriteUInt64BigEndian(unmap.AsSpan(8), 20);
        BinaryPrimitives.WriteUInt32BigEndian(unmap.AsSpan(16), 2);
        SenseAssert.IsGood(await session.ExecuteAsync(0, [0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], DataDirection.Write, unmap));

        byte[] status = new byte[8 + (16 * 8)];
        SenseAssert.IsGood(await session.ExecuteAsync(0, GetLbaStatus(0, status.Length), DataDirection.Read, status));

        BinaryPrimitives.ReadUInt32BigEndian(status).Should().Be(4 + (16 * 5), "five extents cover the device");
        (ulong Lba, uint Blocks, byte Status)[] extents = [.. Enumerable.Range(0, 5).Select(i => Descriptor(status, i))];
        extents.Should().Equal((0UL, 16U, (byte)1), (16UL, 4U, (byte)0), (20UL, 2U, (byte)1), (22UL, 2U, (byte)0), (24UL, (uint)((Size / 512) - 24), (byte)1));
        device.ProvisioningQueries.Select(q => q.Offset).Should().Equal(0L, 16 * 512L, 20 * 512L, 22 * 512L, 24 * 512L);
        device.ProvisioningQueries.Should().OnlyContain(q => q.MaxLength == Size - q.Offset, "each query asks up to the end of the device");

        // From an LBA inside an extent, with room for one descriptor only.
        byte[] one = new byte[24];
        SenseAssert.IsGood(await session.ExecuteAsync(0, GetLbaStatus(17, one.Length), DataDirection.Read, one));
        Descriptor(one, 0).Should().Be((17UL, 3U, (byte)0));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData((uint)(Size / 512) - 10 + 1)]
    public async Task MalformedProvisioningReply_ClosesTheConnection_AndEndsTheCommand(uint blocks)
    {
        await using ScstStack stack = await StartTargetAsync();
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), TestContext.Current.CancellationToken);
        byte[] buffer = new byte[4096];
        int length = new RegisterRequest { Name = "bad0", BlockCount = Size / 512, Flags = RegisterFlags.ThinProvisioned }.Encode(buffer);
        await socket.SendAsync(buffer.AsMemory(0, length), TestContext.Current.CancellationToken);
        var reader = new MessageReader(socket);
        (await reader.NextAsync()).Type.Should().Be(MessageType.RegisterReply);
        stack.Engine.MapLun(stack.Target(), 0, "bad0");
        LocalSession session = stack.OpenSession();

        ValueTask<LocalResult> pending = session.ExecuteAsync(0, GetLbaStatus(10, 64), DataDirection.Read, new byte[64]);
        (MessageType type, ulong handle, byte[] body) = await reader.NextAsync(MessageType.Exec);
        ExecRequest.TryDecode(handle, body, out ExecRequest exec).Should().BeTrue();
        exec.Operation.Should().Be(ExecOperation.GetProvisioning);
        exec.Offset.Should().Be(10 * 512);
        exec.DataLength.Should().Be(Size - (10 * 512));
        length = ExecReply.Encode(buffer, handle, 0, default, (int)blocks);
        await socket.SendAsync(buffer.AsMemory(0, length), TestContext.Current.CancellationToken);

        // A reply taken as valid would make the target ask for the next extent, which this device never answers.
        LocalResult result = await pending.AsTask().WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        SenseAssert.IsCheckCondition(result, SenseCode.LunNotSupported);
        await WaitFor.ConditionAsync(() => stack.Engine.FindDevice("bad0") is null, "the malformed device to be unregistered");
        _ = type;
    }

    [Fact]
    public async Task ProvisioningAnswerOutsideTheAskedRange_FromTheDevice_IsAHardwareErrorNotAMalformedReply()
    {
        await using ScstStack stack = await StartTargetAsync();
        var device = new OutOfRangeProvisioningDevice(Size);
        var connection = new UserDeviceConnection();
        Task run = connection.RunAsync(SocketPath, Descriptor(), device, _cts.Token);
        await connection.Registered.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        stack.Engine.MapLun(stack.Target(), 0, DeviceName);
        LocalSession session = stack.OpenSession();

        LocalResult result = await session.ExecuteAsync(0, GetLbaStatus(0, 64), DataDirection.Read, new byte[64]);

        SenseAssert.IsCheckCondition(result, SenseCode.InternalTargetFailure);
        stack.Engine.FindDevice(DeviceName).Should().NotBeNull("the client library answered, so the connection lives");
        run.IsCompleted.Should().BeFalse();
    }

    [Fact]
    public async Task FullyProvisionedDevice_GetLbaStatus_ReportsMappedWithoutAskingTheDevice()
    {
        await using ScstStack stack = await StartTargetAsync();
        var device = new MemoryUserDevice(Size);
        var connection = new UserDeviceConnection();
        _ = connection.RunAsync(SocketPath, Descriptor() with { ThinProvisioned = false }, device, _cts.Token);
        await connection.Registered.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        stack.Engine.MapLun(stack.Target(), 0, DeviceName);
        LocalSession session = stack.OpenSession();

        byte[] status = new byte[64];
        SenseAssert.IsGood(await session.ExecuteAsync(0, GetLbaStatus(4, status.Length), DataDirection.Read, status));

        Descriptor(status, 0).Should().Be((4UL, (uint)((Size / 512) - 4), (byte)0));
        device.ProvisioningQueries.Should().BeEmpty();
    }

    private static byte[] GetLbaStatus(ulong lba, int allocation)
    {
        byte[] cdb = new byte[16];
        cdb[0] = 0x9E;
        cdb[1] = 0x12;
        BinaryPrimitives.WriteUInt64BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteInt32BigEndian(cdb.AsSpan(10), allocation);
        return cdb;
    }

    private static (ulong Lba, uint Blocks, byte Status) Descriptor(byte[] data, int index)
    {
        ReadOnlySpan<byte> d = data.AsSpan(8 + (16 * index), 16);
        return (BinaryPrimitives.ReadUInt64BigEndian(d), BinaryPrimitives.ReadUInt32BigEndian(d[8..]), (byte)(d[12] & 0x0F));
    }

    // Answers every provisioning query with one block more than asked (a device bug).
    private sealed class OutOfRangeProvisioningDevice(int size) : UserBlockDeviceBase
    {
        private readonly MemoryUserDevice _inner = new(size);

        public override ValueTask<UserDeviceStatus> ReadAsync(long offset, Memory<byte> buffer) => _inner.ReadAsync(offset, buffer);

        public override ValueTask<UserDeviceStatus> WriteAsync(long offset, ReadOnlyMemory<byte> data, bool forceUnitAccess) =>
            _inner.WriteAsync(offset, data, forceUnitAccess);

        public override ValueTask<UserProvisioningExtent> GetProvisioningAsync(long offset, long maxLength) =>
            new(new UserProvisioningExtent(maxLength + 512, Mapped: true));
    }

    // Reads whole messages from a raw device-side socket, keeping what a receive brought beyond the current one.
    private sealed class MessageReader(Socket socket)
    {
        private readonly byte[] _buffer = new byte[Frame.MaxMessageLength * 2];
        private int _filled;

        public async Task<(MessageType Type, ulong Handle, byte[] Body)> NextAsync(MessageType? wanted = null)
        {
            while (true)
            {
                int length = Frame.TryRead(_buffer.AsSpan(0, _filled), out MessageHeader header, out string? error);
                error.Should().BeNull();
                if (length > 0)
                {
                    byte[] body = _buffer.AsSpan(Frame.HeaderLength, length - Frame.HeaderLength).ToArray();
                    _buffer.AsSpan(length, _filled - length).CopyTo(_buffer);
                    _filled -= length;
                    if (wanted is null || header.Type == wanted)
                    {
                        return (header.Type, header.Handle, body);
                    }

                    continue;
                }

                int n = await socket.ReceiveAsync(_buffer.AsMemory(_filled), TestContext.Current.CancellationToken);
                n.Should().BePositive("the target sends the awaited message before closing");
                _filled += n;
            }
        }
    }

    [Fact]
    public async Task CapacityChanged_ReachesTheInitiators_AsAUnitAttentionAndANewCapacity()
    {
        await using ScstStack stack = await StartTargetAsync();
        var device = new MemoryUserDevice(Size);
        (UserDeviceConnection connection, _) = await ConnectAsync(device);
        stack.Engine.MapLun(stack.Target(), 0, DeviceName);
        LocalSession session = stack.OpenSession();
        using ScstEventSubscription events = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.CapacityChanged));

        connection.NotifyCapacityChanged(1000);

        // Event 105 goes out once the unit attention is established.
        ScstEvent changed = await events.ReadAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        CapacityChangedEvent.Parse(changed.Payload.Span).BlockCount.Should().Be(1000);
        ((BlockDevice)stack.Engine.FindDevice(DeviceName)!).BlockCount.Should().Be(1000);

        SenseAssert.IsCheckCondition(await session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty), SenseCode.CapacityDataChanged);
        byte[] capacity = new byte[8];
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.ReadCapacity10(), DataDirection.Read, capacity));
        System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(capacity).Should().Be(999);
    }

    private static async Task<int> ReceiveMessageAsync(Socket socket, byte[] buffer)
    {
        int filled = 0;
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(filled), TestContext.Current.CancellationToken);
            if (n == 0)
            {
                return filled;
            }

            filled += n;
            int length = Frame.TryRead(buffer.AsSpan(0, filled), out _, out _);
            if (length > 0)
            {
                return length;
            }
        }
    }
}
