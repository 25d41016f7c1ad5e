// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using Scst.Core;
using Scst.Core.Cdb;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests;

/// <summary>
/// Commands a device decodes itself (ScsiDevice.ParseType, SCST's parse types): vendor-specific operation codes, device
/// types the core has no command set for, and a block device that takes every command it may.
/// </summary>
public sealed class DeviceParseTests
{
    private const byte VendorRead = 0xC0;
    private const byte VendorWrite = 0xC1;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static byte[] Vendor(byte opcode, ushort length) => [opcode, 0, 0, (byte)(length >> 8), (byte)length, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    [Fact]
    public async Task ExceptionMode_VendorRead_IsParsedAndExecutedByTheDevice_WithItsShorterResponse()
    {
        var device = new TapeDevice("tape0", DeviceParseType.Exception);
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        byte[] buffer = new byte[100];

        LocalResult result = await session.ExecuteAsync(0, Vendor(VendorRead, 100), DataDirection.Read, buffer);

        SenseAssert.IsGood(result);
        result.TransferredLength.Should().Be(TapeDevice.ResponseLength, "the device answered fewer bytes than the allocation");
        result.Underflow.Should().BeTrue();
        buffer.AsSpan(0, TapeDevice.ResponseLength).ToArray().Should().OnlyContain(b => b == 0x5A);
        device.Parsed.Should().ContainSingle().Which.Should().Be((VendorRead, false));
        device.Executed.Should().Equal(VendorRead);
    }

    [Fact]
    public async Task ExceptionMode_VendorWrite_WithAnAsynchronousParse_GetsTheInitiatorsData()
    {
        var device = new TapeDevice("tape0", DeviceParseType.Exception) { ParseAsynchronously = true };
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        byte[] data = [.. Enumerable.Range(0, 64).Select(i => (byte)(i + 1))];

        LocalResult result = await session.ExecuteAsync(0, Vendor(VendorWrite, 64), DataDirection.Write, data);

        SenseAssert.IsGood(result);
        device.LastWrite.Should().Equal(data);
    }

    [Fact]
    public async Task ExceptionMode_CoreCommandsStayWithTheCore_AndACommandOfAnotherDeviceTypeIsTheDevicesToRefuse()
    {
        var device = new TapeDevice("tape0", DeviceParseType.Exception);
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        byte[] inquiry = new byte[96];

        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Inquiry(96), DataDirection.Read, inquiry));
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty));
        LocalResult read10 = await session.ExecuteAsync(0, CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[512]);

        (inquiry[0] & 0x1F).Should().Be((int)PeripheralDeviceType.SequentialAccess);
        SenseAssert.IsCheckCondition(read10, SenseCode.InvalidOpcode);
        device.Parsed.Should().Equal([(0x28, false)], "only READ(10), which the core has no tape command for, was the device's to decode");
        device.Executed.Should().BeEmpty("the device returned the core's proposal, a refusal");
    }

    [Theory]
    [InlineData(DeviceParseType.Call, true)]
    [InlineData(DeviceParseType.Exception, false)]
    public async Task ModeSense_OfADeviceOfAnotherType_IsTheDevicesInCallMode_AndTheCoresOtherwise(DeviceParseType mode, bool device)
    {
        var tape = new TapeDevice("tape0", mode);
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(tape);
        LocalSession session = stack.OpenSession();

        LocalResult result = await session.ExecuteAsync(0, CdbBuilder.ModeSense6(0x3F), DataDirection.Read, new byte[255]);

        SenseAssert.IsGood(result);
        tape.Parsed.Should().Equal(device ? [(0x1A, true)] : []);
        tape.Executed.Should().Equal(device ? [0x1A] : []);
    }

    [Fact]
    public async Task StandardMode_VendorOpcode_IsInvalidOperationCode_WithoutAskingTheDevice()
    {
        var device = new TapeDevice("tape0", DeviceParseType.Standard);
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();

        LocalResult result = await session.ExecuteAsync(0, Vendor(VendorRead, 100), DataDirection.Read, new byte[100]);

        SenseAssert.IsCheckCondition(result, SenseCode.InvalidOpcode);
        device.Parsed.Should().BeEmpty();
    }

    [Fact]
    public async Task DeviceRefusal_IsTheCommandsStatus_AndTheDeviceNeverExecutesIt()
    {
        var device = new TapeDevice("tape0", DeviceParseType.Exception);
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();

        LocalResult result = await session.ExecuteAsync(0, Vendor(0xC7, 0), DataDirection.None, Memory<byte>.Empty);

        SenseAssert.IsCheckCondition(result, TapeDevice.Refusal);
        device.Executed.Should().BeEmpty();
    }

    [Fact]
    public async Task WriteToAReadOnlyLun_IsWriteProtected_AndMoreDataThanAnnounced_IsRefusedWithoutEffect()
    {
        var device = new TapeDevice("tape0", DeviceParseType.Exception);
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        stack.Engine.MapLun(stack.Target(), 1, "tape0", readOnly: true);
        LocalSession session = stack.OpenSession();

        LocalResult readOnly = await session.ExecuteAsync(1, Vendor(VendorWrite, 64), DataDirection.Write, new byte[64]);
        LocalResult tooLittle = await session.ExecuteAsync(0, Vendor(VendorWrite, 64), DataDirection.Write, new byte[32]);
        LocalResult noData = await session.ExecuteAsync(0, Vendor(VendorWrite, 64), DataDirection.None, Memory<byte>.Empty);

        SenseAssert.IsCheckCondition(readOnly, SenseCode.WriteProtected);
        SenseAssert.IsCheckCondition(tooLittle, SenseCode.InvalidFieldInInformationUnit);
        SenseAssert.IsCheckCondition(noData, SenseCode.InvalidFieldInInformationUnit);
        device.Executed.Should().BeEmpty();
    }

    [Fact]
    public async Task ACommandWaitingForItsParse_HoldsItsPlaceInTheTaskSet_BeforeALaterOrderedCommand()
    {
        var device = new TapeDevice("tape0", DeviceParseType.Exception) { HoldParses = true };
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();

        ValueTask<LocalResult> vendor = session.ExecuteAsync(0, Vendor(VendorRead, 100), DataDirection.Read, new byte[100]);
        ValueTask<LocalResult> ordered = session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty, TaskAttribute.Ordered);
        // TEST UNIT READY completes synchronously once it may run: not completed here means it waits.
        ordered.IsCompleted.Should().BeFalse("the ORDERED command waits for the older command, which waits for its parse");

        device.ReleaseParses();
        SenseAssert.IsGood(await vendor);
        SenseAssert.IsGood(await ordered);
        device.Executed.Should().Equal(VendorRead);
    }

    [Fact]
    public async Task AbortTask_WhileTheDeviceParses_EndsTheCommandWithoutExecution()
    {
        var device = new TapeDevice("tape0", DeviceParseType.Exception) { HoldParses = true };
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        ValueTask<LocalResult> vendor = session.ExecuteAsync(0, Vendor(VendorRead, 100), DataDirection.Read, new byte[100]);

        ValueTask<TaskManagementResponse> abort = session.AbortTaskAsync(1);
        device.ReleaseParses();

        (await abort.AsTask().WaitAsync(TimeSpan.FromSeconds(20), Ct)).Should().Be(TaskManagementResponse.FunctionComplete);
        (await vendor).Aborted.Should().BeTrue();
        device.Executed.Should().BeEmpty();
    }

    [Fact]
    public async Task CallMode_OnABlockDevice_OffersTheCoresDecoding_AndTheDeviceExecutesFromTheCdb()
    {
        var device = new CallDisk("disk0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        byte[] data = [.. Enumerable.Range(0, 1024).Select(i => (byte)i)];

        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Write10(4, 2), DataDirection.Write, data));
        byte[] read = new byte[1024];
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Read10(4, 2), DataDirection.Read, read));
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Inquiry(96), DataDirection.Read, new byte[96]));

        read.Should().Equal(data);
        device.Proposals.Should().Equal(
            [(0x2A, CdbParseResult.Accept(DataDirection.Write, 1024, writesMedium: true)), (0x28, CdbParseResult.Accept(DataDirection.Read, 1024))],
            "INQUIRY is the core's; READ and WRITE came with the core's decoding");
        device.PrimitiveCalls.Should().Be(0, "the device ran both from their CDBs");
    }

    // A tape-like device (type 1) that knows two vendor commands: C0h reads (answers 40 bytes of 5Ah), C1h writes;
    // any other opcode it is asked about gets the core's proposal, except C7h, which it refuses with its own sense.
    private sealed class TapeDevice : ScsiDevice
    {
        public const int ResponseLength = 40;
        public static readonly SenseCode Refusal = new(SenseKey.IllegalRequest, 0x24, 0x01);

        private readonly ConcurrentQueue<TaskCompletionSource> _held = new();

        public TapeDevice(string name, DeviceParseType parseType)
            : base(name, "test_tape", PeripheralDeviceType.SequentialAccess) => ParseType = parseType;

        public bool ParseAsynchronously { get; init; }

        public bool HoldParses { get; init; }

        public ConcurrentQueue<(byte Opcode, bool Known)> Parsed { get; } = new();

        public ConcurrentQueue<byte> Executed { get; } = new();

        public byte[]? LastWrite { get; private set; }

        public void ReleaseParses()
        {
            while (_held.TryDequeue(out TaskCompletionSource? tcs))
            {
                tcs.SetResult();
            }
        }

        public override ValueTask<CommandOutcome> ExecuteAsync(ScsiCommand command)
        {
            command.IsDeviceParsed.Should().BeTrue();
            Executed.Enqueue(command.Cdb[0]);
            if (command.Cdb[0] == 0x1A)
            {
                command.WriteResponse([3, 0, 0x10, 0]); // a mode parameter header: no pages, write-protected
            }
            else if (command.Cdb[0] == VendorRead)
            {
                command.Data.Span.Fill(0x5A);
                command.SetResponseLength(ResponseLength);
            }
            else
            {
                LastWrite = command.Data.ToArray();
            }

            return new(CommandOutcome.Good);
        }

        protected internal override async ValueTask<CdbParseResult> ParseAsync(ScsiCommand command, CdbParseResult proposal)
        {
            Parsed.Enqueue((command.Cdb[0], proposal.IsAccepted));
            if (HoldParses)
            {
                var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _held.Enqueue(tcs);
                await tcs.Task;
            }
            else if (ParseAsynchronously)
            {
                await Task.Yield();
            }

            int length = (command.Cdb[3] << 8) | command.Cdb[4];
            return command.Cdb[0] switch
            {
                VendorRead => CdbParseResult.Accept(DataDirection.Read, length),
                VendorWrite => CdbParseResult.Accept(DataDirection.Write, length, writesMedium: true),
                0xC7 => CdbParseResult.Refuse(CommandOutcome.CheckCondition(Refusal)),
                _ => proposal,
            };
        }
    }

    // A disk in CALL mode: it takes every command the core does not own and executes READ(10) and WRITE(10) from the CDB.
    private sealed class CallDisk : BlockDevice
    {
        private readonly byte[] _store = new byte[64 * 512];

        public CallDisk(string name)
            : base(name, "test_call") => ParseType = DeviceParseType.Call;

        public override long BlockCount => 64;

        public List<(byte Opcode, CdbParseResult Proposal)> Proposals { get; } = [];

        public int PrimitiveCalls { get; private set; }

        public override ValueTask<CommandOutcome> ExecuteAsync(ScsiCommand command)
        {
            if (!command.IsDeviceParsed)
            {
                return base.ExecuteAsync(command);
            }

            int offset = (int)command.Lba * 512;
            if (command.Cdb[0] == 0x28)
            {
                _store.AsSpan(offset, command.DataLength).CopyTo(command.Data.Span);
            }
            else
            {
                command.Data.Span.CopyTo(_store.AsSpan(offset));
            }

            return new(CommandOutcome.Good);
        }

        protected internal override ValueTask<CdbParseResult> ParseAsync(ScsiCommand command, CdbParseResult proposal)
        {
            Proposals.Add((command.Cdb[0], proposal));
            return new(proposal);
        }

        protected override ValueTask<CommandOutcome> ReadAsync(long offset, Memory<byte> destination)
        {
            PrimitiveCalls++;
            return new(CommandOutcome.Good);
        }

        protected override ValueTask<CommandOutcome> WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess)
        {
            PrimitiveCalls++;
            return new(CommandOutcome.Good);
        }

        protected override ValueTask<CommandOutcome> FlushAsync() => new(CommandOutcome.Good);
    }
}
