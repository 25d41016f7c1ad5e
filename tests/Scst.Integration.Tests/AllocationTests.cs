// Licensed under the Apache License, Version 2.0.

using Scst.Core;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests;

public sealed class AllocationTests(ITestOutputHelper output)
{
    private const int Commands = 10_000;

    /// <summary>The target is zero; the budget leaves room for one-off runtime allocations (tiered JIT, statics).</summary>
    private const long BudgetBytes = 1024;

    [Fact]
    public async Task Read10_SteadyStateOnNullIo_AllocatesNothingPerCommand()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();
        byte[] cdb = CdbBuilder.Read10(8, 8);
        var data = new byte[4096];
        RunReads(session, cdb, data, 1000);

        long before = GC.GetAllocatedBytesForCurrentThread();
        int good = RunReads(session, cdb, data, Commands);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        output.WriteLine($"{allocated} bytes for {Commands} READ(10) of 4 KiB: {(double)allocated / Commands:F3} bytes per command");
        TestContext.Current.SendDiagnosticMessage($"Allocation: {allocated} bytes / {Commands} commands = {(double)allocated / Commands:F3} B/command");
        good.Should().Be(Commands);
        allocated.Should().BeLessThan(BudgetBytes);
        stack.AssertNoLeaks();
    }

    private static int RunReads(LocalSession session, byte[] cdb, byte[] data, int count)
    {
        int good = 0;
        for (int i = 0; i < count; i++)
        {
            ValueTask<LocalResult> pending = session.ExecuteAsync(0, cdb, DataDirection.Read, data);
            if (!pending.IsCompletedSuccessfully)
            {
                throw new TestAssertionException("A nullio read must complete synchronously.");
            }

            if (pending.Result.Status == ScsiStatus.Good)
            {
                good++;
            }
        }

        return good;
    }
}
