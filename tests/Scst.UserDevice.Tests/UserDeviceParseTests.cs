// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Scst.Core;
using Scst.Testing;
using Scst.Transport.Local;
using Scst.UserDevice.Client;

namespace Scst.UserDevice.Tests;

/// <summary>
/// PARSE and EXECUTE_CDB over a real socket and region: devices of other types than disk, vendor-specific commands on a
/// disk, a disk that decodes every command (CALL), refused registrations, and a device process that dies while the
/// target waits for its decoding.
/// </summary>
public sealed class UserDeviceParseTests : IDisposable
{
    private const byte VendorRead = 0xC0;
    private const byte VendorWrite = 0xC1;
    private const byte VendorRefused = 0xC7;
    private readonly TempDirectory _dir = new();
    private readonly CancellationTokenSource _cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string SocketPath => _dir.File("user.sock");

    public void Dispose()
    {
        _cts.Cancel();
        _cts.Dispose();
        _dir.Dispose();
    }

    private static byte[] Vendor(byte opcode, ushort length) => [opcode, 0, 0, (byte)(length >> 8), (byte)length, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    private async Task<ScstStack> StartTargetAsync()
    {
        ScstStack stack = ScstStack.Create(b => b
            .AddUserDevices(o => o.SocketPath = SocketPath)
            .AddTarget(LocalTargetDriver.DriverName, ScstStack.TargetName));
        await stack.StartAsync();
        return stack;
    }

    private async Task<(UserDeviceConnection Connection, Task Run)> ConnectAsync(UserDeviceDescriptor descriptor, UserDeviceBase device)
    {
        var connection = new UserDeviceConnection { MaxConcurrency = 4 };
        Task run = connection.RunAsync(SocketPath, descriptor, device, _cts.Token);
        await connection.Registered.WaitAsync(TimeSpan.FromSeconds(20), Ct);
        return (connection, run);
    }

    private static UserDeviceDescriptor Tape(DeviceParseType parse = DeviceParseType.Exception) =>
        new() { Name = "tape0", DeviceType = PeripheralDeviceType.SequentialAccess, ParseType = parse, BlockCount = 0, RegionSize = 4 << 20 };

    [Fact]
    public async Task TapeDevice_CoreAnswersInquiry_AndTheDeviceDecodesAndExecutesItsOwnCommands()
    {
        await using ScstStack stack = await StartTargetAsync();
        var device = new VendorDevice();
        await ConnectAsync(Tape(), device);
        stack.Engine.MapLun(stack.Target(), 0, "tape0");
        LocalSession session = stack.OpenSession();
        byte[] inquiry = new byte[96];
        byte[] response = new byte[200];
        byte[] written = [.. Enumerable.Range(0, 300).Select(i => (byte)(i * 3))];

        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Inquiry(96), DataDirection.Read, inquiry));
        SenseAssert.IsGood(await session.ExecuteAsync(0, Vendor(VendorWrite, 300), DataDirection.Write, written));
        LocalResult read = await session.ExecuteAsync(0, Vendor(VendorRead, 200), DataDirection.Read, response);
        LocalResult refused = await session.ExecuteAsync(0, Vendor(VendorRefused, 0), DataDirection.None, Memory<byte>.Empty);
        LocalResult read10 = await session.ExecuteAsync(0, CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[512]);

        (inquiry[0] & 0x1F).Should().Be(1, "the device registered as a sequential-access device");
        device.LastWrite.Should().Equal(written);
        SenseAssert.IsGood(read);
        read.TransferredLength.Should().Be(VendorDevice.ResponseLength);
        response.AsSpan(0, VendorDevice.ResponseLength).ToArray().Should().Equal(written.AsSpan(0, VendorDevice.ResponseLength).ToArray());
        SenseAssert.IsCheckCondition(refused, VendorDevice.Refusal);
        SenseAssert.IsCheckCondition(read10, SenseCode.InvalidOpcode);
        device.Parsed.Select(p => p.Cdb[0]).Should().Equal(VendorWrite, VendorRead, VendorRefused, (byte)0x28);
        device.Parsed.Should().OnlyContain(p => !p.Known, "the core has no command set for tapes");
        device.Parsed.First().ExpectedDirection.Should().Be(DataDirection.Write);
        device.Parsed.First().ExpectedTransferLength.Should().Be(300);
        device.Executed.Should().Equal(VendorWrite, VendorRead);
    }

    [Fact]
    public async Task Disk_InExceptionMode_KeepsItsPrimitives_AndTakesItsVendorCommand()
    {
        await using ScstStack stack = await StartTargetAsync();
        var device = new VendorDisk(1 << 20);
        await ConnectAsync(new UserDeviceDescriptor { Name = "disk0", BlockCount = 2048, ParseType = DeviceParseType.Exception, RegionSize = 4 << 20 }, device);
        stack.Engine.MapLun(stack.Target(), 0, "disk0");
        LocalSession session = stack.OpenSession();
        byte[] data = [.. Enumerable.Range(0, 1024).Select(i => (byte)(i + 5))];

        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Write10(2, 2), DataDirection.Write, data));
        SenseAssert.IsGood(await session.ExecuteAsync(0, Vendor(VendorWrite, 16), DataDirection.Write, new byte[16]));

        device.Store.AsSpan(1024, 1024).ToArray().Should().Equal(data, "WRITE(10) went through the write primitive");
        device.Parsed.Select(p => p.Cdb[0]).Should().Equal(VendorWrite);
        device.Executed.Should().Equal(VendorWrite);
    }

    [Fact]
    public async Task Disk_InCallMode_DecodesEveryCommandTheCoreDoesNotOwn_AndExecutesReadsAndWritesFromTheCdb()
    {
        await using ScstStack stack = await StartTargetAsync();
        var device = new VendorDisk(1 << 20);
        await ConnectAsync(new UserDeviceDescriptor { Name = "disk0", BlockCount = 2048, ParseType = DeviceParseType.Call, RegionSize = 4 << 20 }, device);
        stack.Engine.MapLun(stack.Target(), 0, "disk0");
        LocalSession session = stack.OpenSession();
        byte[] data = [.. Enumerable.Range(0, 1024).Select(i => (byte)(i + 9))];
        byte[] read = new byte[1024];

        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Write10(4, 2), DataDirection.Write, data));
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Read10(4, 2), DataDirection.Read, read));
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Inquiry(96), DataDirection.Read, new byte[96]));

        read.Should().Equal(data);
        device.PrimitiveCalls.Should().Be(0);
        device.Parsed.Select(p => (p.Cdb[0], p.Known, p.Direction, p.DataLength, p.WritesMedium))
            .Should().Equal((0x2A, true, DataDirection.Write, 1024, true), (0x28, true, DataDirection.Read, 1024, false));
    }

    [Theory]
    [InlineData(1, 0, "parse type CALL or EXCEPTION")]
    [InlineData(0, 3, "parse type 3")]
    [InlineData(0x1F, 2, "device type 31")]
    public async Task Registration_WithAParseOrDeviceTypeItCannotServe_IsRefusedWithEinval(int deviceType, int parseType, string reason)
    {
        await using ScstStack stack = await StartTargetAsync();
        var connection = new UserDeviceConnection();
        var descriptor = new UserDeviceDescriptor
        {
            Name = "bad0", DeviceType = (PeripheralDeviceType)deviceType, ParseType = (DeviceParseType)parseType, BlockCount = 16,
        };

        UserDeviceBase device = deviceType == 0 ? new VendorDisk(8192) : new VendorDevice();
        Task run = connection.RunAsync(SocketPath, descriptor, device, _cts.Token);
        Func<Task> registered = () => connection.Registered.WaitAsync(TimeSpan.FromSeconds(20), Ct);

        (await registered.Should().ThrowAsync<UserDeviceRegistrationException>()).Which.Should().Match<UserDeviceRegistrationException>(
            e => e.Errno == -22 && e.Reason.Contains(reason, StringComparison.Ordinal));
        stack.Engine.FindDevice("bad0").Should().BeNull();
        await FluentActions.Awaiting(() => run).Should().ThrowAsync<UserDeviceRegistrationException>();
    }

    [Fact]
    public async Task DeviceProcessDeath_WhileTheTargetWaitsForAParse_EndsTheCommandWithLogicalUnitNotSupported()
    {
        await using ScstStack stack = await StartTargetAsync();
        var device = new VendorDevice { HoldParses = true };
        (UserDeviceConnection connection, Task _) = await ConnectAsync(Tape(), device);
        stack.Engine.MapLun(stack.Target(), 0, "tape0");
        LocalSession session = stack.OpenSession();

        ValueTask<LocalResult> pending = session.ExecuteAsync(0, Vendor(VendorWrite, 64), DataDirection.Write, new byte[64]);
        await device.FirstHeldParse.Task.WaitAsync(TimeSpan.FromSeconds(20), Ct);
        connection.Drop();

        SenseAssert.IsCheckCondition(await pending.AsTask().WaitAsync(TimeSpan.FromSeconds(20), Ct), SenseCode.LunNotSupported);
        device.Executed.Should().BeEmpty();
        await WaitFor.ConditionAsync(() => stack.Engine.FindDevice("tape0") is null, "the dead device to be unregistered");
        device.ReleaseParses();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ExtendedCopyWithinTheDevice_IsOfferedAsCopyWithin_AndADeclinedOneMovesThroughReadAndWrite(bool declines)
    {
        await using ScstStack stack = await StartTargetAsync();
        var device = new VendorDisk(1 << 20) { DeclinesCopies = declines };
        await ConnectAsync(new UserDeviceDescriptor { Name = "disk0", BlockCount = 2048, ExtCopyRemap = true, RegionSize = 4 << 20 }, device);
        stack.Engine.MapLun(stack.Target(), 0, "disk0");
        LocalSession session = stack.OpenSession();
        byte[] data = [.. Enumerable.Range(0, 8 * 512).Select(i => (byte)(i * 13))];
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Write10(10, 8), DataDirection.Write, data));
        int primitivesBefore = device.PrimitiveCalls;

        byte[] list = await CopyListAsync(session, blocks: 8, sourceLba: 10, destinationLba: 100);
        byte[] cdb = new byte[16];
        cdb[0] = 0x83;
        cdb[13] = (byte)list.Length;
        SenseAssert.IsGood(await session.ExecuteAsync(0, cdb, DataDirection.Write, list));

        device.Copies.Should().Equal([(10L * 512, 100L * 512, 8L * 512)]);
        device.Store.AsSpan(100 * 512, data.Length).ToArray().Should().Equal(data);
        (device.PrimitiveCalls - primitivesBefore).Should().Be(declines ? 2 : 0, "a declined segment is one READ and one WRITE primitive");
    }

    // An EXTENDED COPY(LID1) parameter list with one CSCD (LUN 0, by its EUI-64 designator from VPD 83h, which SCST
    // derives from t10_dev_id) and one block-to-block segment within it.
    private static async Task<byte[]> CopyListAsync(LocalSession session, int blocks, uint sourceLba, uint destinationLba)
    {
        byte[] vpd = new byte[512];
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Inquiry(512, evpd: true, page: 0x83), DataDirection.Read, vpd));
        int at = 4;
        while ((vpd[at + 1] & 0x0F) != 2 || (vpd[at + 1] & 0x30) != 0)
        {
            at += 4 + vpd[at + 3];
        }

        byte[] list = new byte[16 + 32 + 28];
        list[1] = 3 << 3; // LIST ID USAGE 11b: no list identifier
        list[3] = 32;     // CSCD descriptor list length
        list[11] = 28;    // segment descriptor list length
        list[16] = 0xE4;  // identification CSCD descriptor
        vpd.AsSpan(at, 4 + vpd[at + 3]).CopyTo(list.AsSpan(20));
        list[20] &= 0x0F;
        list[21] &= 0x3F;
        list[46] = 512 >> 8;
        Span<byte> segment = list.AsSpan(48);
        segment[0] = 0x02; // block device to block device
        segment[3] = 0x18;
        segment[11] = (byte)blocks;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(segment[12..], sourceLba);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(segment[20..], destinationLba);
        return list;
    }

    // Vendor commands: C1h stores its data, C0h answers (at most) the first 120 bytes of the last write, C7h is refused
    // with the device's own sense; anything else gets the target's proposal.
    private sealed class VendorDevice : UserDeviceBase
    {
        public const int ResponseLength = 120;
        public static readonly SenseCode Refusal = new(SenseKey.IllegalRequest, 0x26, 0x02);

        private readonly ConcurrentQueue<TaskCompletionSource> _held = new();

        public bool HoldParses { get; init; }

        public TaskCompletionSource FirstHeldParse { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentQueue<(byte[] Cdb, bool Known, DataDirection Direction, int DataLength, bool WritesMedium, DataDirection ExpectedDirection, int ExpectedTransferLength)> Parsed { get; } = new();

        public ConcurrentQueue<byte> Executed { get; } = new();

        public byte[] LastWrite { get; private set; } = [];

        public void ReleaseParses()
        {
            while (_held.TryDequeue(out TaskCompletionSource? tcs))
            {
                tcs.TrySetResult();
            }
        }

        public override async ValueTask<UserParseResult> ParseAsync(UserParseRequest request)
        {
            byte[] cdb = request.Command.Cdb.ToArray();
            Parsed.Enqueue((cdb, request.Known, request.Direction, request.DataLength, request.WritesMedium, request.ExpectedDirection, request.ExpectedTransferLength));
            if (HoldParses)
            {
                var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _held.Enqueue(tcs);
                FirstHeldParse.TrySetResult();
                await tcs.Task;
            }

            int length = (cdb[3] << 8) | cdb[4];
            return cdb[0] switch
            {
                VendorRead => UserParseResult.Accept(DataDirection.Read, length),
                VendorWrite => UserParseResult.Accept(DataDirection.Write, length, writesMedium: true),
                VendorRefused => UserParseResult.Refuse(UserDeviceStatus.CheckCondition(Refusal.Key, Refusal.Asc, Refusal.Ascq)),
                _ => await base.ParseAsync(request),
            };
        }

        public override ValueTask<UserCdbResult> ExecuteCdbAsync(UserCommand command, DataDirection direction, Memory<byte> buffer)
        {
            byte opcode = command.Cdb.Span[0];
            if (opcode is not (VendorRead or VendorWrite))
            {
                return base.ExecuteCdbAsync(command, direction, buffer);
            }

            Executed.Enqueue(opcode);
            if (opcode == VendorWrite)
            {
                LastWrite = buffer.ToArray();
                return new(new UserCdbResult(UserDeviceStatus.Good, 0));
            }

            int n = Math.Min(ResponseLength, Math.Min(buffer.Length, LastWrite.Length));
            LastWrite.AsSpan(0, n).CopyTo(buffer.Span);
            return new(new UserCdbResult(UserDeviceStatus.Good, n));
        }
    }

    // A disk with the vendor commands; in CALL mode it runs READ(10) and WRITE(10) from their CDBs.
    private sealed class VendorDisk(int size) : UserBlockDeviceBase
    {
        private readonly VendorDevice _vendor = new();

        public byte[] Store { get; } = new byte[size];

        public int PrimitiveCalls { get; private set; }

        public bool DeclinesCopies { get; init; }

        public List<(long Source, long Destination, long Length)> Copies { get; } = [];

        public override ValueTask<UserDeviceStatus?> CopyWithinAsync(long sourceOffset, long destinationOffset, long length)
        {
            Copies.Add((sourceOffset, destinationOffset, length));
            if (DeclinesCopies)
            {
                return new((UserDeviceStatus?)null);
            }

            Store.AsSpan((int)sourceOffset, (int)length).CopyTo(Store.AsSpan((int)destinationOffset));
            return new(UserDeviceStatus.Good);
        }

        public ConcurrentQueue<(byte[] Cdb, bool Known, DataDirection Direction, int DataLength, bool WritesMedium, DataDirection ExpectedDirection, int ExpectedTransferLength)> Parsed => _vendor.Parsed;

        public ConcurrentQueue<byte> Executed => _vendor.Executed;

        public override ValueTask<UserParseResult> ParseAsync(UserParseRequest request) => _vendor.ParseAsync(request);

        public override ValueTask<UserCdbResult> ExecuteCdbAsync(UserCommand command, DataDirection direction, Memory<byte> buffer)
        {
            ReadOnlySpan<byte> cdb = command.Cdb.Span;
            if (cdb[0] is not (0x28 or 0x2A))
            {
                return _vendor.ExecuteCdbAsync(command, direction, buffer);
            }

            int offset = ((cdb[2] << 24) | (cdb[3] << 16) | (cdb[4] << 8) | cdb[5]) * 512;
            if (cdb[0] == 0x28)
            {
                Store.AsSpan(offset, buffer.Length).CopyTo(buffer.Span);
                return new(new UserCdbResult(UserDeviceStatus.Good, buffer.Length));
            }

            buffer.Span.CopyTo(Store.AsSpan(offset));
            return new(new UserCdbResult(UserDeviceStatus.Good, 0));
        }

        public override ValueTask<UserDeviceStatus> ReadAsync(long offset, Memory<byte> buffer)
        {
            PrimitiveCalls++;
            Store.AsSpan((int)offset, buffer.Length).CopyTo(buffer.Span);
            return new(UserDeviceStatus.Good);
        }

        public override ValueTask<UserDeviceStatus> WriteAsync(long offset, ReadOnlyMemory<byte> data, bool forceUnitAccess)
        {
            PrimitiveCalls++;
            data.Span.CopyTo(Store.AsSpan((int)offset));
            return new(UserDeviceStatus.Good);
        }
    }
}
