// Licensed under the Apache License, Version 2.0.

using Scst.Testing.Conformance;

namespace Scst.Integration.Tests.Conformance;

/// <summary>
/// Thin provisioning of a user device (issue 5): libiscsi's provisioning suites (UNMAP, GET LBA STATUS, WRITE SAME with
/// UNMAP, INQUIRY's provisioning VPD pages) against the UserFileIo sample serving a thin 1 GiB file (<c>--thin</c>:
/// holes punched for UNMAP, found with SEEK_DATA / SEEK_HOLE for GET LBA STATUS) give each test the outcome it gets on
/// the <c>thin</c> vdisk_fileio configuration (same geometry), and the UNMAP and GET LBA STATUS tests really pass.
/// libiscsi 1.19 only checks that GET LBA STATUS reports written blocks mapped, never that unmapped ones are
/// deallocated; Scst.UserDevice.Tests checks that (<c>ChildProcessTests</c>, <c>UserDeviceLoopTests</c>).
/// </summary>
public sealed class ThinUserDeviceConformanceTests(ThinUserDeviceFixture fixture) : IClassFixture<ThinUserDeviceFixture>
{
    [Fact]
    public void ThinUserDevice_GetsTheSameOutcomesAsThinVdiskFileIo_InTheProvisioningSuites()
    {
        IscsiTestCuRun thin = fixture.Thin!;
        IscsiTestCuRun user = fixture.User!;
        Report(Describe("thin vdisk_fileio", thin) + Environment.NewLine + Describe("thin user device", user));

        thin.Completed.Should().BeTrue("the thin vdisk_fileio run must reach CUnit's summary");
        user.Completed.Should().BeTrue("the thin user-device run must reach CUnit's summary");
        user.Results.Select(r => r.FullName).Should().BeEquivalentTo(thin.Results.Select(r => r.FullName), "both run the same suites");
        Dictionary<string, IscsiTestOutcome> expected = thin.Results.ToDictionary(r => r.FullName, r => r.Outcome, StringComparer.Ordinal);
        user.Results.Where(r => r.Outcome != expected[r.FullName])
            .Select(r => $"{r.FullName}: thin {expected[r.FullName]}, user device {r.Outcome} ({r.Reason})")
            .Should().BeEmpty("a thin user device answers the provisioning suites as vdisk_fileio does");
        user.Results.Where(r => r.Suite is "Unmap" or "GetLBAStatus" && r.Outcome != IscsiTestOutcome.ReallyPassed)
            .Select(r => $"{r.FullName}: {r.Outcome} ({r.Reason})")
            .Should().BeEmpty("every UNMAP and GET LBA STATUS test really passes on a thin LU with one logical block per physical block");
    }

    private static string Describe(string name, IscsiTestCuRun run) =>
        $"{name}: {run.Results.Count} ran, {run.Results.Count(r => r.Outcome == IscsiTestOutcome.ReallyPassed)} really passed, " +
        $"{run.Results.Count(r => r.Outcome == IscsiTestOutcome.Skipped)} skipped, " +
        $"{run.Results.Count(r => r.Outcome == IscsiTestOutcome.Flagged)} flagged, " +
        $"{run.Results.Count(r => r.Outcome == IscsiTestOutcome.Failed)} failed" +
        string.Concat(run.Results.Where(r => r.Outcome != IscsiTestOutcome.ReallyPassed)
            .Select(r => $"{Environment.NewLine}  {r.Outcome,-8} {r.FullName} -- {r.Reason}"));

    private static void Report(string text)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(text);
        Console.WriteLine(text);
    }
}

/// <summary>Runs the provisioning suites once against a thin vdisk_fileio LUN and once against a thin user device.</summary>
public sealed class ThinUserDeviceFixture : IAsyncLifetime
{
    // iscsi-test-cu registers comma-separated patterns from the last to the first: reversed, they run in this order.
    private const string Filter = "SCSI.Unmap,SCSI.GetLBAStatus,SCSI.WriteSame16,SCSI.WriteSame10,SCSI.Inquiry";

    public IscsiTestCuRun? Thin { get; private set; }

    public IscsiTestCuRun? User { get; private set; }

    public async ValueTask InitializeAsync()
    {
        ScsiFamilyConfiguration thin = ScsiFamilyConfiguration.All.Single(c => c.Name == "thin");
        Thin = await RunAsync(new ConfiguredTargetFixture(thin));
        User = await RunAsync(new UserDeviceTargetFixture { ThinProvisioned = true });
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static async Task<IscsiTestCuRun> RunAsync(IConformanceTarget target)
    {
        await using (target)
        {
            await target.InitializeAsync();
            return await IscsiTestCuRunner.RunAsync(new IscsiTestCuOptions
            {
                Url = target.Url,
                SecondUrl = target.Url,
                Filter = Filter,
                Timeout = TimeSpan.FromMinutes(3),
            });
        }
    }
}
