// Licensed under the Apache License, Version 2.0.

using Scst.Core;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests;

/// <summary>Commands in flight per nexus and LU, per LU, and data-buffer memory: bounded, answered TASK SET FULL or BUSY.</summary>
public sealed class CommandLimitTests
{
    private static async Task<(ScstStack Stack, PendingBlockDevice Device)> StartAsync(Action<ScstOptions> options)
    {
        var device = new PendingBlockDevice("pend0");
        return (await ScstStack.StartWithDeviceAsync(device, options), device);
    }

    private static ValueTask<LocalResult> Read(LocalSession s, ushort blocks = 1) =>
        s.ExecuteAsync(0, CdbBuilder.Read10(0, blocks), DataDirection.Read, new byte[blocks * 512]);

    [Fact]
    public async Task PerNexusAndLun_PastTheLimit_IsTaskSetFull_AndLaterCommandsRun()
    {
        (ScstStack stack, PendingBlockDevice device) = await StartAsync(o => o.MaxCommandsPerLun = 2);
        await using (stack)
        {
            LocalSession session = stack.OpenSession();
            ValueTask<LocalResult> a = Read(session);
            ValueTask<LocalResult> b = Read(session);

            (await Read(session)).Status.Should().Be(ScsiStatus.TaskSetFull);

            device.CompleteNextRead();
            device.CompleteNextRead();
            SenseAssert.IsGood(await a);
            SenseAssert.IsGood(await b);
            SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty));
            stack.AssertNoLeaks();
        }
    }

    [Fact]
    public async Task PerDevice_PastTheLimit_IsBusyForANexusWithoutCommands_TaskSetFullForOneWithCommands()
    {
        (ScstStack stack, PendingBlockDevice device) = await StartAsync(o => o.MaxCommandsPerDevice = 2);
        await using (stack)
        {
            LocalSession first = stack.OpenSession();
            LocalSession second = stack.OpenSession(initiator: "iqn.2024-01.test:second");
            ValueTask<LocalResult> a = Read(first);
            ValueTask<LocalResult> b = Read(first);

            (await Read(second)).Status.Should().Be(ScsiStatus.Busy);
            (await Read(first)).Status.Should().Be(ScsiStatus.TaskSetFull);

            device.CompleteNextRead();
            SenseAssert.IsGood(await a);
            ValueTask<LocalResult> c = Read(second);
            device.CompleteNextRead();
            device.CompleteNextRead();
            SenseAssert.IsGood(await b);
            SenseAssert.IsGood(await c);
            stack.AssertNoLeaks();
        }
    }

    [Fact]
    public async Task BufferMemory_PastTheCap_IsBusy()
    {
        (ScstStack stack, PendingBlockDevice device) = await StartAsync(o =>
        {
            o.MaxTransferLength = 64 << 10;
            o.MaxBufferMemory = 64 << 10;
        });
        await using (stack)
        {
            LocalSession session = stack.OpenSession();
            ValueTask<LocalResult> big = Read(session, 128);

            (await Read(session)).Status.Should().Be(ScsiStatus.Busy, "the pending 64 KiB read holds all the buffer memory");
            SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty));

            device.CompleteNextRead();
            SenseAssert.IsGood(await big);
            ValueTask<LocalResult> after = Read(session);
            device.CompleteNextRead();
            SenseAssert.IsGood(await after);
            stack.AssertNoLeaks();
        }
    }
}
