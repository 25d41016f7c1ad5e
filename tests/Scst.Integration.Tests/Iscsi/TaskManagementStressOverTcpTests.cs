// Licensed under the Apache License, Version 2.0.

using Scst.Integration.Tests.Fixtures;
using Scst.Testing;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>
/// Over real TCP: several sessions write and read back their own blocks while another session sends LOGICAL UNIT RESET,
/// TARGET WARM RESET, ABORT TASK SET and CLEAR TASK SET at random. With TAS set, a command that another nexus's function
/// aborts ends with TASK ABORTED, so every command gets an answer. Checks: every command answered (GOOD, CHECK CONDITION
/// with a unit attention, or TASK ABORTED) within its timeout; no acknowledged write lost (a block whose last write was
/// GOOD reads back as written); the core holds no command or buffer afterwards.
/// </summary>
public sealed class TaskManagementStressOverTcpTests(ScstTargetFixture fixture) : IClassFixture<ScstTargetFixture>
{
    private const int Writers = 3;
    private const int CommandsPerWriter = 1500;
    private const int Block = ScstTargetFixture.BlockSize;
    private const byte TaskAborted = 0x40;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<IscsiTestInitiator> LoginAsync(string name)
    {
        var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        (await initiator.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, name), Ct)).Status.Should().Be(LoginStatus.Success);
        initiator.ReceiveTimeout = TimeSpan.FromSeconds(20);
        await initiator.ClearUnitAttentionAsync(cancellationToken: Ct);
        return initiator;
    }

    [Fact]
    public async Task WritersAndResetsTogether_EveryCommandAnswered_NoAcknowledgedWriteLost()
    {
        await using IscsiTestInitiator resetter = await LoginAsync("iqn.2026-11.org.scst-dotnet:stress-resetter");

        // TAS=1: the writers' commands that the resetter's functions abort end with TASK ABORTED instead of silence.
        byte[] controlPage = CdbBuilder.ControlModePage(taskAbortedStatus: true);
        byte[] modeSelect = CdbBuilder.ModeSelect6((byte)controlPage.Length);
        (await resetter.ExecuteAsync(0, modeSelect, writeData: controlPage, cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        Task<int>[] writers = [.. Enumerable.Range(0, Writers).Select(w => Task.Run(() => WithDiagnosticsAsync(() => WriteAndVerifyAsync(w)), Ct))];
        Task<int> resets = Task.Run(() => ResetAsync(resetter, fixture.Logs, stop.Token), Ct);

        int[] aborted = await Task.WhenAll(writers).WaitAsync(TimeSpan.FromMinutes(3), Ct);
        await stop.CancelAsync();
        int functions = await resets.WaitAsync(TimeSpan.FromMinutes(1), Ct);

        TestContext.Current.TestOutputHelper?.WriteLine($"{Writers * CommandsPerWriter} writer commands, {aborted.Sum()} ended TASK ABORTED, {functions} task management functions");
        functions.Should().BeGreaterThan(0);
        (await resetter.ExecuteAsync(0, modeSelect, writeData: CdbBuilder.ControlModePage(), cancellationToken: Ct)).Status
            .Should().BeOneOf(ScsiResult.Good, ScsiResult.CheckCondition);
        await WaitForIdleAsync();
    }

    // A writer that fails shows what the core still holds: each session's commands in flight.
    private async Task<int> WithDiagnosticsAsync(Func<Task<int>> writer)
    {
        try
        {
            return await writer();
        }
        catch (Exception ex) when (ex is TimeoutException or IOException)
        {
            IEnumerable<string> held = fixture.Engine.Targets.SelectMany(t => t.Sessions)
                .SelectMany(s => s.DescribeCommands().Select(c => $"{s.InitiatorName}: {c}"));
            throw new TestAssertionException($"{ex.Message}{Environment.NewLine}Connections:{Environment.NewLine}{string.Join(Environment.NewLine, fixture.IscsiDriver.DescribeConnections())}{Environment.NewLine}Commands in flight:{Environment.NewLine}{string.Join(Environment.NewLine, held)}{Environment.NewLine}Logged faults:{Environment.NewLine}{string.Join(Environment.NewLine, fixture.Logs.Faults)}", ex);
        }
    }

    // One writer: its own 64 blocks; writes a block, reads it back when the write was GOOD, and at the end reads every
    // block whose last write was GOOD. Returns how many commands ended TASK ABORTED.
    private async Task<int> WriteAndVerifyAsync(int writer)
    {
        await using IscsiTestInitiator initiator = await LoginAsync($"iqn.2026-11.org.scst-dotnet:stress-writer{writer}");
        var random = new Random(20261125 + writer);
        uint first = 100_000u + (uint)writer * 64;
        var acknowledged = new byte[64][];
        int aborted = 0;
        for (int n = 0; n < CommandsPerWriter; n++)
        {
            int i = random.Next(64);
            byte[] data = Cdbs.Pattern(Block, (writer << 16) | n);
            ScsiResult w = await initiator.ExecuteAsync(0, Cdbs.Write10(first + (uint)i, 1), writeData: data, cancellationToken: Ct);
            if (w.Status == ScsiResult.Good)
            {
                acknowledged[i] = data;
            }
            else
            {
                aborted += CheckNotGood(w);

                // The write may or may not have reached the medium: a later GOOD write of the block decides what it holds.
                acknowledged[i] = null!;
            }

            ScsiResult r = await initiator.ExecuteAsync(0, Cdbs.Read10(first + (uint)i, 1), readLength: Block, cancellationToken: Ct);
            if (r.Status == ScsiResult.Good && acknowledged[i] is { } expected)
            {
                r.Data.Should().Equal(expected, "an acknowledged write reads back");
            }
            else if (r.Status != ScsiResult.Good)
            {
                aborted += CheckNotGood(r);
            }
        }

        for (int i = 0; i < 64; i++)
        {
            if (acknowledged[i] is not { } expected)
            {
                continue;
            }

            ScsiResult r;
            do
            {
                r = await initiator.ExecuteAsync(0, Cdbs.Read10(first + (uint)i, 1), readLength: Block, cancellationToken: Ct);
            }
            while (r.Status != ScsiResult.Good && CheckNotGood(r) >= 0);

            r.Data.Should().Equal(expected, "no acknowledged write is lost");
        }

        return aborted;
    }

    // Anything but GOOD must be TASK ABORTED or a unit attention; returns 1 for TASK ABORTED.
    private static int CheckNotGood(ScsiResult result)
    {
        if (result.Status == TaskAborted)
        {
            return 1;
        }

        result.Status.Should().Be(ScsiResult.CheckCondition);
        result.SenseCodes.Key.Should().Be(0x06, "only unit attentions (resets, commands cleared) may end a command here");
        return 0;
    }

    private static async Task<int> ResetAsync(IscsiTestInitiator resetter, RecordingLoggerProvider logs, CancellationToken stop)
    {
        var random = new Random(7);
        int sent = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(random.Next(1, 6), stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            TaskManagementFunction function = random.Next(4) switch
            {
                0 => TaskManagementFunction.LogicalUnitReset,
                1 => TaskManagementFunction.TargetWarmReset,
                2 => TaskManagementFunction.AbortTaskSet,
                _ => TaskManagementFunction.ClearTaskSet,
            };
            (await resetter.TaskManagementAsync(function, 0, cancellationToken: CancellationToken.None)).Response
                .Should().Be(TaskManagementResponse.FunctionComplete, "{0} is always complete; logged faults: {1}", function, string.Join(Environment.NewLine, logs.Faults));
            sent++;
        }

        return sent;
    }

    private async Task WaitForIdleAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (fixture.Engine.OutstandingBuffers != 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, Ct);
        }

        fixture.Engine.OutstandingBuffers.Should().Be(0, "every command released its buffer");
    }
}
