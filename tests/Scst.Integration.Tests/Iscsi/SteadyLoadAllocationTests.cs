// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using Scst.Core;
using Scst.Integration.Tests.Fixtures;
using Scst.Integration.Tests.Tools;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>
/// The allocation-free command path, end to end: libiscsi's iscsi-perf (another process) keeps 32 reads of 4 KiB in
/// flight against the in-process iSCSI target for 12 seconds, and over the last 10 of them the target's process must
/// not collect garbage once, and must allocate less than a byte per command. The class runs alone (its collection
/// disables parallelization), so that no other test's allocations are counted.
/// </summary>
[Collection(SteadyLoadCollection.Name)]
public sealed class SteadyLoadAllocationTests(SteadyLoadAllocationTests.NullIoFixture fixture, ITestOutputHelper output)
    : IClassFixture<SteadyLoadAllocationTests.NullIoFixture>
{
    private const int WarmUpSeconds = 2;
    private const int MeasuredSeconds = 10;

    [Theory]
    [InlineData("nullio")]
    [InlineData("fileio")]
    public async Task FourKiBReadsAtQd32_TenSeconds_NoCollectionAndNoAllocationPerCommand(string lun)
    {
        Task<(int ExitCode, string Output)> load = LibiscsiTool.RunAsync(
            "iscsi-perf", "-m", "32", "-b", "8", "-r", "-t", (WarmUpSeconds + MeasuredSeconds + 1).ToString(CultureInfo.InvariantCulture),
            "-i", $"iqn.2026-11.org.scst-dotnet:steady-{lun}", lun == "nullio" ? fixture.NullUrl : fixture.Url);
        await Task.Delay(TimeSpan.FromSeconds(WarmUpSeconds), TestContext.Current.CancellationToken);

        Snapshot before = Snapshot.Take(fixture.Engine);
        await Task.Delay(TimeSpan.FromSeconds(MeasuredSeconds), TestContext.Current.CancellationToken);
        Snapshot after = Snapshot.Take(fixture.Engine);
        (int exitCode, string perf) = await load;

        long commands = after.Commands - before.Commands;
        long allocated = after.AllocatedBytes - before.AllocatedBytes;
        string figures = $"{lun}: {commands} commands in {MeasuredSeconds} s, {allocated} bytes allocated " +
            $"({(double)allocated / Math.Max(commands, 1):F4} B/command), collections gen0 {after.Gen0 - before.Gen0}, " +
            $"gen1 {after.Gen1 - before.Gen1}, gen2 {after.Gen2 - before.Gen2}";
        output.WriteLine(figures);
        TestContext.Current.SendDiagnosticMessage("Steady load: " + figures);

        exitCode.Should().Be(0, perf);
        commands.Should().BeGreaterThan(10_000, "iscsi-perf kept the target busy");
        (after.Gen0 - before.Gen0).Should().Be(0, "no garbage is collected under a steady load");
        allocated.Should().BeLessThan(commands, "the command path allocates nothing: less than one byte per command is the runtime's own");
    }

    private readonly record struct Snapshot(long Commands, long AllocatedBytes, int Gen0, int Gen1, int Gen2)
    {
        public static Snapshot Take(ScstEngine engine)
        {
            long commands = 0;
            foreach (ScsiTarget target in engine.Targets)
            {
                foreach (ScsiSession session in target.Sessions)
                {
                    commands += session.Statistics.ReadCommands + session.Statistics.WriteCommands + session.Statistics.OtherCommands;
                }
            }

            return new Snapshot(commands, GC.GetTotalAllocatedBytes(precise: true), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        }
    }

    /// <summary>The fixture's vdisk_fileio LUN, and a vdisk_nullio LUN on a second iSCSI target.</summary>
    public sealed class NullIoFixture : ScstTargetFixture
    {
        public const string NullTargetName = "iqn.2026-11.org.scst-dotnet:itest-null";

        public string NullUrl => $"iscsi://{EndPoint.Address}:{EndPoint.Port}/{NullTargetName}/0";

        public override async ValueTask InitializeAsync()
        {
            await base.InitializeAsync();
            ScsiDevice device = Engine.AddDevice("vdisk_nullio", "null1", new Dictionary<string, string> { ["size"] = "1G" });
            ScsiTarget target = Engine.AddTarget(IscsiDriver, NullTargetName);
            target.Luns.Add(0, device);
            target.Enabled = true;
        }
    }
}

/// <summary>Tests that count the whole process's allocations and collections, and so run with no other test beside them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SteadyLoadCollection
{
    public const string Name = "steady load (runs alone)";
}
