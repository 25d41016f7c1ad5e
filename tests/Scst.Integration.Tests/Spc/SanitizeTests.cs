// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using Microsoft.Extensions.DependencyInjection;
using Scst.Core;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests.Spc;

/// <summary>
/// SANITIZE as SBC-4 sections 4.11 and 5.30 describe it: a background operation with its progress in sense data, the
/// commands it refuses and allows while it runs, IMMED, its independence from the command that started it, and the
/// sanitize failure mode. The device's writes wait at a gate the test opens, so every step is observed, not timed.
/// </summary>
public sealed class SanitizeTests
{
    private const int BlockSize = 512;
    private const long Blocks = 2048; // 1 MiB: four sanitize chunks of 256 KiB
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    // SANITIZE: IMMED (byte 1 bit 7), AUSE (bit 5), SERVICE ACTION (4-0), PARAMETER LIST LENGTH (bytes 7-8).
    private static byte[] Sanitize(int serviceAction, bool immediate, bool ause = false, int parameterLength = 0)
    {
        var cdb = new byte[10];
        cdb[0] = 0x48;
        cdb[1] = (byte)((immediate ? 0x80 : 0) | (ause ? 0x20 : 0) | serviceAction);
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), (ushort)parameterLength);
        return cdb;
    }

    // OVERWRITE parameter list: OVERWRITE COUNT 1, INITIALIZATION PATTERN LENGTH 4, the pattern.
    private static byte[] OverwriteParameters(uint pattern)
    {
        var list = new byte[8];
        list[0] = 0x01;
        list[3] = 4;
        BinaryPrimitives.WriteUInt32BigEndian(list.AsSpan(4), pattern);
        return list;
    }

    private static ValueTask<LocalResult> OverwriteAsync(Initiator initiator, bool immediate, bool ause = false) =>
        initiator.RunAsync(Sanitize(0x01, immediate, ause, 8), DataDirection.Write, OverwriteParameters(0xC0FFEE11));

    private static async Task<(ScstStack Stack, GatedDevice Device, Initiator Initiator)> StartAsync()
    {
        var device = new GatedDevice("gated0", Blocks);
        ScstStack stack = ScstStack.Create(b => b.AddTarget("scst_local", ScstStack.TargetName));
        await stack.StartAsync();
        stack.Engine.RegisterDevice(device);
        stack.Engine.MapLun(stack.Target(), 0, device.Name);
        var initiator = new Initiator(stack.OpenSession());
        await initiator.ClearUnitAttentionsAsync();
        return (stack, device, initiator);
    }

    private static void ShouldBeInProgress(in LocalResult result, ushort progress)
    {
        SenseAssert.IsCheckCondition(result, SenseCode.SanitizeInProgress);
        result.Outcome.HasFieldPointer.Should().BeTrue("SKSV: the sense-key-specific bytes hold the progress indication");
        result.Outcome.FieldInCdb.Should().BeFalse();
        result.Outcome.BitPointer.Should().Be(-1);
        result.Outcome.FieldPointer.Should().Be(progress, "PROGRESS INDICATION");
    }

    private static async Task WaitUntilReadyAsync(Initiator initiator)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        timeout.CancelAfter(Patience);
        while (true)
        {
            LocalResult tur = await initiator.RunAsync(CdbBuilder.TestUnitReady());
            if (tur.Status == ScsiStatus.Good)
            {
                return;
            }

            await Task.Delay(10, timeout.Token);
        }
    }

    [Fact]
    public async Task Sanitize_Immediate_IsGoodAtOnceAndReportsProgressUntilTheMediumIsOverwritten()
    {
        (ScstStack stack, GatedDevice device, Initiator initiator) = await StartAsync();
        await using (stack)
        {
            device.CloseGate();

            LocalResult started = await OverwriteAsync(initiator, immediate: true);
            await device.WriteAtGateAsync();
            LocalResult atStart = await initiator.RunAsync(CdbBuilder.TestUnitReady());
            device.Admit(1);
            await device.WriteAtGateAsync();
            LocalResult atQuarter = await initiator.RunAsync(CdbBuilder.TestUnitReady());
            var fixedSense = new byte[252];
            LocalResult requestSense = await initiator.RunAsync(CdbBuilder.RequestSense(252), DataDirection.Read, fixedSense);
            var descriptorSense = new byte[252];
            LocalResult requestDescriptor = await initiator.RunAsync(CdbBuilder.RequestSense(252, descriptorFormat: true), DataDirection.Read, descriptorSense);
            device.OpenGate();
            await WaitUntilReadyAsync(initiator);
            var data = new byte[BlockSize * 2];
            LocalResult read = await initiator.RunAsync(CdbBuilder.Read10((uint)Blocks - 2, 2), DataDirection.Read, data);

            SenseAssert.IsGood(started);
            ShouldBeInProgress(atStart, 0);
            ShouldBeInProgress(atQuarter, 0x4000);
            SenseAssert.IsGood(requestSense);
            SenseAssert.HasCode(fixedSense, SenseCode.SanitizeInProgress);
            fixedSense[15].Should().Be(0x80, "SKSV set, the rest of byte 15 reserved");
            BinaryPrimitives.ReadUInt16BigEndian(fixedSense.AsSpan(16)).Should().Be(0x4000, "REQUEST SENSE reports the progress too");
            SenseAssert.IsGood(requestDescriptor);
            SenseAssert.HasCode(descriptorSense, SenseCode.SanitizeInProgress);
            descriptorSense.AsSpan(8, 4).ToArray().Should().Equal([0x02, 0x06, 0x00, 0x00], "a sense-key-specific descriptor");
            descriptorSense[12].Should().Be(0x80);
            BinaryPrimitives.ReadUInt16BigEndian(descriptorSense.AsSpan(13)).Should().Be(0x4000);
            SenseAssert.IsGood(read);
            for (int i = 0; i < data.Length; i += 4)
            {
                BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(i)).Should().Be(0xC0FFEE11u, "the last blocks carry the pattern");
            }

            device.Flushes.Should().BeGreaterThan(0, "the overwrite is made durable before the unit is ready again");
            stack.AssertNoLeaks();
        }
    }

    [Fact]
    public async Task Sanitize_WhileRunning_RefusesMediumAccessAndAllowsCommandsThatDescribeTheUnit()
    {
        (ScstStack stack, GatedDevice device, Initiator initiator) = await StartAsync();
        await using (stack)
        {
            var other = new Initiator(stack.OpenSession(initiator: "iqn.2024-01.test:other"));
            await other.ClearUnitAttentionsAsync();
            device.CloseGate();
            SenseAssert.IsGood(await OverwriteAsync(initiator, immediate: true));
            await device.WriteAtGateAsync();

            byte[][] refused =
            [
                CdbBuilder.TestUnitReady(),
                CdbBuilder.Read10(0, 1),
                CdbBuilder.Read16(0, 1),
                CdbBuilder.ReadCapacity10(),
                CdbBuilder.ReadCapacity16(),
                CdbBuilder.ModeSense6(0x3F),
                CdbBuilder.SynchronizeCache10(),
                [0x1B, 0x01, 0, 0, 0x02, 0], // START STOP UNIT, IMMED, LOEJ
                [0x1E, 0, 0, 0, 0x01, 0], // PREVENT ALLOW MEDIUM REMOVAL
            ];
            foreach (byte[] cdb in refused)
            {
                LocalResult result = await other.RunAsync(cdb, cdb[0] is 0x28 or 0x88 or 0x25 or 0x9E or 0x1A ? DataDirection.Read : DataDirection.None, new byte[512]);
                ShouldBeInProgress(result, 0);
            }

            ShouldBeInProgress(await other.RunAsync(CdbBuilder.Write10(0, 1), DataDirection.Write, new byte[BlockSize]), 0);
            ShouldBeInProgress(await OverwriteAsync(other, immediate: true), 0);
            SenseAssert.IsGood(await other.RunAsync(CdbBuilder.Inquiry(), DataDirection.Read, new byte[255]));
            SenseAssert.IsGood(await other.RunAsync(CdbBuilder.Inquiry(64, evpd: true, page: 0xB0), DataDirection.Read, new byte[64]));
            SenseAssert.IsGood(await other.RunAsync(CdbBuilder.ReportLuns(), DataDirection.Read, new byte[4096]));
            SenseAssert.IsGood(await other.RunAsync(CdbBuilder.RequestSense(), DataDirection.Read, new byte[252]));
            SenseAssert.IsGood(await other.RunAsync([0xA3, 0x0C, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0], DataDirection.Read, new byte[4096]));

            device.OpenGate();
            await WaitUntilReadyAsync(other);
            SenseAssert.IsGood(await other.RunAsync(CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[BlockSize]));
            device.WritesSeen.Should().Be(4, "the refused WRITE never reached the device; the sanitize wrote four chunks");
            stack.AssertNoLeaks();
        }
    }

    [Fact]
    public async Task Sanitize_NotImmediate_ReturnsStatusWhenTheOperationEnds()
    {
        (ScstStack stack, GatedDevice device, Initiator initiator) = await StartAsync();
        await using (stack)
        {
            var other = new Initiator(stack.OpenSession(initiator: "iqn.2024-01.test:other"));
            await other.ClearUnitAttentionsAsync();
            device.CloseGate();

            ValueTask<LocalResult> sanitize = OverwriteAsync(initiator, immediate: false);
            await device.WriteAtGateAsync();
            device.Admit(3); // the first three chunks go through; the fourth waits
            await device.WriteAtGateAsync(3);
            bool doneBeforeLastChunk = sanitize.IsCompleted;
            LocalResult during = await other.RunAsync(CdbBuilder.TestUnitReady());
            device.OpenGate();
            LocalResult result = await sanitize.AsTask().WaitAsync(Patience, Cancellation);
            LocalResult after = await other.RunAsync(CdbBuilder.TestUnitReady());

            doneBeforeLastChunk.Should().BeFalse("IMMED=0 returns status after the operation");
            ShouldBeInProgress(during, 0xC000);
            SenseAssert.IsGood(result);
            SenseAssert.IsGood(after); // ready as soon as the status says so
            stack.AssertNoLeaks();
        }
    }

    [Fact]
    public async Task AbortTask_SanitizeWithoutImmed_EndsTheCommandButNotTheOperation()
    {
        (ScstStack stack, GatedDevice device, Initiator initiator) = await StartAsync();
        await using (stack)
        {
            device.CloseGate();
            ValueTask<LocalResult> sanitize = OverwriteAsync(initiator, immediate: false);
            ulong tag = initiator.LastTag;
            await device.WriteAtGateAsync();

            TaskManagementResponse abort = await initiator.Session.AbortTaskAsync(tag).AsTask().WaitAsync(Patience, Cancellation);
            LocalResult aborted = await sanitize.AsTask().WaitAsync(Patience, Cancellation);
            LocalResult stillRunning = await initiator.RunAsync(CdbBuilder.TestUnitReady());
            TaskManagementResponse reset = await initiator.Session.ResetLogicalUnitAsync(0).AsTask().WaitAsync(Patience, Cancellation);
            await initiator.ClearUnitAttentionsAsync(expectReady: false);
            LocalResult afterReset = await initiator.RunAsync(CdbBuilder.TestUnitReady());
            device.OpenGate();
            await WaitUntilReadyAsync(initiator);
            var data = new byte[BlockSize];
            SenseAssert.IsGood(await initiator.RunAsync(CdbBuilder.Read10((uint)Blocks - 1, 1), DataDirection.Read, data));

            abort.Should().Be(TaskManagementResponse.FunctionComplete);
            aborted.Aborted.Should().BeTrue("ABORT TASK ends the SANITIZE command without status");
            ShouldBeInProgress(stillRunning, 0);
            reset.Should().Be(TaskManagementResponse.FunctionComplete);
            ShouldBeInProgress(afterReset, 0);
            BinaryPrimitives.ReadUInt32BigEndian(data).Should().Be(0xC0FFEE11u, "the operation went on to the end of the medium");
            stack.AssertNoLeaks();
        }
    }

    [Fact]
    public async Task Sanitize_InitiatorLogsOutAndBackIn_FindsItStillRunning()
    {
        (ScstStack stack, GatedDevice device, Initiator initiator) = await StartAsync();
        await using (stack)
        {
            device.CloseGate();
            SenseAssert.IsGood(await OverwriteAsync(initiator, immediate: true));
            await device.WriteAtGateAsync();

            initiator.Session.Dispose();
            var again = new Initiator(stack.OpenSession());
            await again.ClearUnitAttentionsAsync(expectReady: false);
            LocalResult tur = await again.RunAsync(CdbBuilder.TestUnitReady());
            device.OpenGate();
            await WaitUntilReadyAsync(again);

            ShouldBeInProgress(tur, 0);
            stack.AssertNoLeaks();
        }
    }

    [Fact]
    public async Task Sanitize_FailsWithAuse_FailureModeUntilExitFailureMode()
    {
        (ScstStack stack, GatedDevice device, Initiator initiator) = await StartAsync();
        await using (stack)
        {
            device.FailWritesFrom = 512 << 10;

            LocalResult failed = await OverwriteAsync(initiator, immediate: false, ause: true).AsTask().WaitAsync(Patience, Cancellation);
            LocalResult tur = await initiator.RunAsync(CdbBuilder.TestUnitReady());
            LocalResult read = await initiator.RunAsync(CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[BlockSize]);
            LocalResult inquiry = await initiator.RunAsync(CdbBuilder.Inquiry(), DataDirection.Read, new byte[255]);
            LocalResult modeSense = await initiator.RunAsync(CdbBuilder.ModeSense6(0x3F), DataDirection.Read, new byte[255]);
            var sense = new byte[252];
            LocalResult requestSense = await initiator.RunAsync(CdbBuilder.RequestSense(252), DataDirection.Read, sense);
            LocalResult exit = await initiator.RunAsync(Sanitize(0x1F, immediate: false));
            LocalResult ready = await initiator.RunAsync(CdbBuilder.TestUnitReady());

            SenseAssert.IsCheckCondition(failed, SenseCode.SanitizeCommandFailed);
            SenseAssert.IsCheckCondition(tur, SenseCode.SanitizeCommandFailed);
            SenseAssert.IsCheckCondition(read, SenseCode.SanitizeCommandFailed);
            SenseAssert.IsGood(inquiry);
            SenseAssert.IsGood(modeSense);
            SenseAssert.IsGood(requestSense);
            SenseAssert.HasCode(sense, SenseCode.SanitizeCommandFailed);
            SenseAssert.IsGood(exit);
            SenseAssert.IsGood(ready);
            stack.AssertNoLeaks();
        }
    }

    [Fact]
    public async Task Sanitize_FailsWithoutAuse_OnlyASuccessfulRestrictedSanitizeEndsTheFailureMode()
    {
        (ScstStack stack, GatedDevice device, Initiator initiator) = await StartAsync();
        await using (stack)
        {
            device.FailWritesFrom = 0;
            LocalResult failed = await OverwriteAsync(initiator, immediate: false).AsTask().WaitAsync(Patience, Cancellation);

            LocalResult exit = await initiator.RunAsync(Sanitize(0x1F, immediate: false));
            LocalResult unrestricted = await OverwriteAsync(initiator, immediate: false, ause: true);
            LocalResult stillFailed = await initiator.RunAsync(CdbBuilder.TestUnitReady());
            device.FailWritesFrom = -1;
            LocalResult retried = await OverwriteAsync(initiator, immediate: false).AsTask().WaitAsync(Patience, Cancellation);
            LocalResult ready = await initiator.RunAsync(CdbBuilder.TestUnitReady());
            LocalResult exitWhenReady = await initiator.RunAsync(Sanitize(0x1F, immediate: false));

            SenseAssert.IsCheckCondition(failed, SenseCode.SanitizeCommandFailed);
            SenseAssert.IsInvalidFieldInCdb(exit, 1, 4);
            SenseAssert.IsInvalidFieldInCdb(unrestricted, 1, 5);
            SenseAssert.IsCheckCondition(stillFailed, SenseCode.SanitizeCommandFailed);
            SenseAssert.IsGood(retried);
            SenseAssert.IsGood(ready);
            SenseAssert.IsGood(exitWhenReady);
            stack.AssertNoLeaks();
        }
    }

    [Fact]
    public async Task Sanitize_BlockErase_DeallocatesTheMediumInTheBackground()
    {
        (ScstStack stack, GatedDevice device, Initiator initiator) = await StartAsync();
        await using (stack)
        {
            var block = new byte[BlockSize];
            block.AsSpan().Fill(0x5A);
            SenseAssert.IsGood(await initiator.RunAsync(CdbBuilder.Write10(7, 1), DataDirection.Write, block));

            LocalResult erase = await initiator.RunAsync(Sanitize(0x02, immediate: true));
            await WaitUntilReadyAsync(initiator);
            var data = new byte[BlockSize];
            SenseAssert.IsGood(await initiator.RunAsync(CdbBuilder.Read10(7, 1), DataDirection.Read, data));

            SenseAssert.IsGood(erase);
            data.Should().OnlyContain(b => b == 0, "deallocated blocks read as zeros");
            stack.AssertNoLeaks();
        }
    }

    /// <summary>A session that remembers the tag of its last command (the Local transport numbers them from 1).</summary>
    private sealed class Initiator(LocalSession session)
    {
        public LocalSession Session { get; } = session;

        public ulong LastTag { get; private set; }

        public ValueTask<LocalResult> RunAsync(byte[] cdb, DataDirection direction = DataDirection.None, byte[]? data = null)
        {
            LastTag++;
            return Session.ExecuteAsync(0, cdb, direction, data ?? Memory<byte>.Empty);
        }

        /// <summary>Takes pending unit attentions with TEST UNIT READY (the core may raise them for a new nexus or a reset).</summary>
        public async Task ClearUnitAttentionsAsync(bool expectReady = true)
        {
            for (int i = 0; i < 8; i++)
            {
                LocalResult tur = await RunAsync(CdbBuilder.TestUnitReady());
                if (tur.Outcome.Sense.Key != SenseKey.UnitAttention)
                {
                    if (expectReady)
                    {
                        SenseAssert.IsGood(tur);
                    }

                    return;
                }
            }

            throw new TestAssertionException("Unit attentions kept coming.");
        }
    }

    /// <summary>
    /// A thin-provisioned block device in memory whose writes can be held at a gate: a test sees each write arrive and
    /// lets it through, so a sanitize advances one chunk at a time. Writes at or beyond <see cref="FailWritesFrom"/> fail.
    /// Unpaced (SanitizeBytesPerSecond 0).
    /// </summary>
    private sealed class GatedDevice(string name, long blocks) : BlockDevice(name, "test_gated")
    {
        private readonly byte[] _store = new byte[blocks * SanitizeTests.BlockSize];
        private readonly SemaphoreSlim _permits = new(0, int.MaxValue);
        private readonly SemaphoreSlim _arrivals = new(0, int.MaxValue);
        private volatile bool _gated;
        private int _writes;
        private int _flushes;

        public override long BlockCount => blocks;

        public override bool ThinProvisioned => true;

        public override long SanitizeBytesPerSecond => 0;

        public long FailWritesFrom { get; set; } = -1;

        public int WritesSeen => Volatile.Read(ref _writes);

        public int Flushes => Volatile.Read(ref _flushes);

        public void CloseGate() => _gated = true;

        public void OpenGate()
        {
            _gated = false;
            _permits.Release(1000);
        }

        public void Admit(int writes) => _permits.Release(writes);

        /// <summary>
        /// Completes when <paramref name="count"/> more writes have arrived at the closed gate (each write arrives once,
        /// whether a permit lets it through at once or it waits).
        /// </summary>
        public async Task WriteAtGateAsync(int count = 1)
        {
            for (int i = 0; i < count; i++)
            {
                if (!await _arrivals.WaitAsync(Patience, Cancellation))
                {
                    throw new TestAssertionException("No write arrived at the gate.");
                }
            }
        }

        // A failed assertion must not leave a sanitize waiting at the gate while the stack stops.
        public override ValueTask DisposeAsync()
        {
            OpenGate();
            return base.DisposeAsync();
        }

        protected override ValueTask<CommandOutcome> ReadAsync(long offset, Memory<byte> destination)
        {
            _store.AsSpan((int)offset, destination.Length).CopyTo(destination.Span);
            return new(CommandOutcome.Good);
        }

        protected override async ValueTask<CommandOutcome> WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess)
        {
            Interlocked.Increment(ref _writes);
            if (_gated)
            {
                _arrivals.Release();
                await _permits.WaitAsync(Cancellation);
            }

            if (FailWritesFrom >= 0 && offset + source.Length > FailWritesFrom)
            {
                return CommandOutcome.CheckCondition(SenseCode.WriteError);
            }

            source.CopyTo(_store.AsMemory((int)offset));
            return CommandOutcome.Good;
        }

        protected override ValueTask<CommandOutcome> FlushAsync()
        {
            Interlocked.Increment(ref _flushes);
            return new(CommandOutcome.Good);
        }

        protected override ValueTask<CommandOutcome> UnmapAsync(long offset, long length)
        {
            _store.AsSpan((int)offset, (int)length).Clear();
            return new(CommandOutcome.Good);
        }
    }
}
