// Licensed under the Apache License, Version 2.0.

using Scst.Core;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests;

/// <summary>NACA, ACA and QERR (SAM-5 sections 5.9 and 8) over the Local transport.</summary>
public sealed class AcaTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // READ(10) of one block with NACA set in the control byte; past the end of the LU when bad.
    private static byte[] NacaRead(bool bad)
    {
        byte[] cdb = CdbBuilder.Read10(bad ? 0xFFFF_FF00u : 0u, 1);
        cdb[9] |= 0x04;
        return cdb;
    }

    private static ValueTask<LocalResult> Tur(LocalSession s, TaskAttribute attribute = TaskAttribute.Simple) =>
        s.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty, attribute);

    private static ValueTask<LocalResult> Read(LocalSession s, byte[] cdb) => s.ExecuteAsync(0, cdb, DataDirection.Read, new byte[512]);

    [Fact]
    public async Task Inquiry_ReportsNormAca()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        var data = new byte[96];

        SenseAssert.IsGood(await stack.OpenSession().ExecuteAsync(0, CdbBuilder.Inquiry(96), DataDirection.Read, data));

        (data[3] & 0x20).Should().Be(0x20, "NORMACA: the NACA bit is supported");
    }

    [Fact]
    public async Task NacaCommandThatSucceeds_EstablishesNothing()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();

        SenseAssert.IsGood(await Read(session, NacaRead(bad: false)));
        SenseAssert.IsGood(await Tur(session));
    }

    [Fact]
    public async Task CheckConditionWithNaca_OnlyAcaCommandsRunUntilClearAca()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();
        LocalSession other = stack.OpenSession(initiator: "iqn.2024-01.test:other");

        SenseAssert.IsCheckCondition(await Read(session, NacaRead(bad: true)), SenseCode.LbaOutOfRange);

        (await Tur(session)).Status.Should().Be(ScsiStatus.AcaActive, "only ACA commands run under ACA");
        SenseAssert.IsGood(await Tur(session, TaskAttribute.Aca));
        SenseAssert.IsGood(await Tur(other)); // one task set per nexus: the other nexus carries on
        (await session.Session.ExecuteTaskManagementAsync(TaskManagementFunction.ClearAca, LunAddress.Encode(0), 0)).Should().Be(TaskManagementResponse.FunctionComplete);
        SenseAssert.IsGood(await Tur(session));
    }

    [Fact]
    public async Task AcaCommand_WithoutAca_IsInvalidMessageError()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();

        SenseAssert.IsCheckCondition(await Tur(stack.OpenSession(), TaskAttribute.Aca), SenseCode.InvalidMessageError);
    }

    [Fact]
    public async Task Aca_WaitingCommandsRunOnceCleared()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        ValueTask<LocalResult> older = Read(session, CdbBuilder.Read10(0, 1));
        ValueTask<LocalResult> ordered = session.ExecuteAsync(0, CdbBuilder.Write10(1, 1), DataDirection.Write, new byte[512], TaskAttribute.Ordered);

        SenseAssert.IsCheckCondition(await Read(session, NacaRead(bad: true)), SenseCode.LbaOutOfRange);
        device.CompleteNextRead();
        SenseAssert.IsGood(await older.AsTask().WaitAsync(Timeout, Ct));
        await Task.Delay(50, Ct);

        ordered.IsCompleted.Should().BeFalse("a command that waited when ACA was established keeps waiting");
        (await session.Session.ExecuteTaskManagementAsync(TaskManagementFunction.ClearAca, LunAddress.Encode(0), 0)).Should().Be(TaskManagementResponse.FunctionComplete);
        SenseAssert.IsGood(await ordered.AsTask().WaitAsync(Timeout, Ct));
    }

    [Fact]
    public async Task LogicalUnitReset_ClearsAca()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();
        SenseAssert.IsCheckCondition(await Read(session, NacaRead(bad: true)), SenseCode.LbaOutOfRange);

        await session.ResetLogicalUnitAsync(0);

        SenseAssert.IsCheckCondition(await Tur(session), SenseCode.BusDeviceResetOccurred);
        SenseAssert.IsGood(await Tur(session));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, true)]
    [InlineData(3, true)]
    public async Task QErr_DecidesWhetherACheckConditionAbortsTheOtherCommands(int qerr, bool aborts)
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(device);
        LocalSession session = stack.OpenSession();
        byte[] page = CdbBuilder.ControlModePage(qerr: qerr);
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.ModeSelect6((byte)page.Length), DataDirection.Write, page));
        ValueTask<LocalResult> pending = Read(session, CdbBuilder.Read10(0, 1));

        SenseAssert.IsCheckCondition(await Read(session, CdbBuilder.Read10(5000, 1)), SenseCode.LbaOutOfRange);
        device.CompleteNextRead();

        LocalResult result = await pending.AsTask().WaitAsync(Timeout, Ct);
        result.Aborted.Should().Be(aborts);
        stack.AssertNoLeaks();
    }
}
