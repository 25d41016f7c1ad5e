// Licensed under the Apache License, Version 2.0.

using Scst.Integration.Tests.Fixtures;
using Scst.Testing;
using Scst.Testing.Conformance;

namespace Scst.Integration.Tests.Conformance;

/// <summary>
/// libiscsi's SCSI family against a vcdrom LUN playing an ISO image (issue 10): the suites that make sense for a
/// read-only removable CD-ROM complete without a failure, every test in them either really passes or skips itself
/// because libiscsi runs it on SBC devices only (or the drive rightly lacks its command), and the tests that exercise
/// the drive (reads, READ CAPACITY, INQUIRY, MODE SENSE, START STOP UNIT with eject and load, reservations...) really pass.
/// </summary>
/// <remarks>
/// Left out: the write tests that expect writes to succeed (libiscsi's Write*.Simple and friends, the access tests of
/// ProutReserve, EXTENDED COPY to the LU) — a CD-ROM answers DATA PROTECT, which they count as failures; their BeyondEol
/// tests stay in (LBA OUT OF RANGE comes before write protection, as in SCST). The multipath tests need a second URL,
/// which iscsi-test-cu accepts for SBC devices only, and the SBC-only suites (WRITE SAME, UNMAP, SANITIZE...), whose
/// commands a CD-ROM does not have.
/// </remarks>
public sealed class VcdromConformanceTests(VcdromConformanceFixture fixture) : IClassFixture<VcdromConformanceFixture>
{
    // Tests that must really pass on the CD-ROM LUN: each exercises a command the drive answers. The floor below keeps
    // the rest from sliding into skips unnoticed.
    private static readonly string[] MustReallyPass =
    [
        "SCSI.TestUnitReady.Simple",
        "SCSI.Inquiry.Standard", "SCSI.Inquiry.AllocLength", "SCSI.Inquiry.EVPD", "SCSI.Inquiry.SupportedVPD", "SCSI.Inquiry.VersionDescriptors",
        "SCSI.ModeSense6.AllPages", "SCSI.ModeSense6.Control", "SCSI.ModeSense6.Residuals",
        "SCSI.ReadCapacity10.Simple",
        "SCSI.Read10.Simple", "SCSI.Read10.BeyondEol", "SCSI.Read10.ZeroBlocks",
        "SCSI.Read12.Simple", "SCSI.Read12.BeyondEol", "SCSI.Read12.ZeroBlocks",
        "SCSI.Verify10.Simple", "SCSI.Verify10.BeyondEol", "SCSI.Verify10.Mismatch", "SCSI.Verify10.MismatchNoCmp",
        "SCSI.StartStopUnit.Simple", "SCSI.StartStopUnit.PwrCnd", "SCSI.StartStopUnit.NoLoej",
        "SCSI.Write10.BeyondEol", "SCSI.Write12.BeyondEol", "SCSI.WriteVerify10.BeyondEol",
        "SCSI.ReportSupportedOpcodes.Simple", "SCSI.ReportSupportedOpcodes.OneCommand",
        "SCSI.Reserve6.Simple", "SCSI.Reserve6.2Initiators",
        "SCSI.PrinReadKeys.Simple", "SCSI.ProutRegister.Simple", "SCSI.ProutReserve.Simple",
    ];

    private const int ReallyPassedFloor = 58;

    [Fact]
    public void ReadOnlyRemovableSuites_CompleteWithoutFailure_AndSkipOnlySbcTests()
    {
        IscsiTestCuRun run = fixture.Run!;
        Report(run);

        run.Completed.Should().BeTrue($"the run must reach CUnit's summary{(run.Completed ? "" : run.StandardOutput)}");
        run.Results.Should().NotBeEmpty();
        run.Results.Where(r => r.Outcome == IscsiTestOutcome.Failed).Select(r => $"{r.FullName}: {r.Reason}")
            .Should().BeEmpty("no test may fail against the CD-ROM LUN");
        run.Results.Where(r => r.Outcome == IscsiTestOutcome.Flagged).Select(r => $"{r.FullName}: {r.Reason}")
            .Should().BeEmpty("no test may print a failure line");
        run.Results.Where(r => r.Outcome == IscsiTestOutcome.Skipped && !SkipsForTheDeviceType(r)).Select(r => $"{r.FullName}: {r.Reason}")
            .Should().BeEmpty("a test may only skip because it is for SBC devices or needs a command a CD-ROM does not have");
    }

    [Fact]
    public void TestsThatExerciseTheDrive_ReallyPass()
    {
        IscsiTestCuRun run = fixture.Run!;
        Dictionary<string, IscsiTestResult> byName = run.Results.ToDictionary(r => r.FullName, StringComparer.Ordinal);

        MustReallyPass.Where(n => !byName.TryGetValue(n, out IscsiTestResult? r) || r.Outcome != IscsiTestOutcome.ReallyPassed)
            .Select(n => byName.TryGetValue(n, out IscsiTestResult? r) ? $"{n}: {r.Outcome} ({r.Reason})" : $"{n}: did not run")
            .Should().BeEmpty();
        run.Results.Count(r => r.Outcome == IscsiTestOutcome.ReallyPassed).Should().BeGreaterThanOrEqualTo(ReallyPassedFloor);
    }

    // libiscsi's CHECK_FOR_SBC ("Not SBC device") and its checks for optional commands ("... is not implemented"): READ(6),
    // READ(16), READ CAPACITY(16), VERIFY(12) and WRITE(16) are SBC commands a CD-ROM answers with INVALID COMMAND
    // OPERATION CODE.
    private static bool SkipsForTheDeviceType(IscsiTestResult result) =>
        result.Reason is { } reason &&
        (reason.Contains("Not SBC device", StringComparison.Ordinal) || reason.Contains("is not implemented", StringComparison.Ordinal));

    private static void Report(IscsiTestCuRun run)
    {
        string text =
            $"SCSI family, vcdrom: {run.Results.Count} ran, {run.Results.Count(r => r.Outcome == IscsiTestOutcome.ReallyPassed)} really passed, " +
            $"{run.Results.Count(r => r.Outcome == IscsiTestOutcome.Skipped)} skipped, " +
            $"{run.Results.Count(r => r.Outcome == IscsiTestOutcome.Flagged)} flagged, " +
            $"{run.Results.Count(r => r.Outcome == IscsiTestOutcome.Failed)} failed" +
            string.Concat(run.Results.OrderBy(r => r.FullName, StringComparer.Ordinal)
                .Select(r => $"{Environment.NewLine}  {r.Outcome,-12} {r.FullName}{(r.Outcome == IscsiTestOutcome.ReallyPassed ? "" : " -- " + r.Reason)}"));
        TestContext.Current.TestOutputHelper?.WriteLine(text);
        Console.WriteLine(text);
    }
}

/// <summary>Runs the CD-ROM suites once against a fresh target whose LUN 0 is a vcdrom playing an 8 MiB image.</summary>
public sealed class VcdromConformanceFixture : IAsyncLifetime
{
    /// <summary>
    /// The suites and single tests, in run order. iscsi-test-cu registers comma-separated patterns from the last to the
    /// first, so the filter joins them reversed.
    /// </summary>
    public static readonly string[] Tests =
    [
        "SCSI.TestUnitReady", "SCSI.Inquiry", "SCSI.ModeSense6", "SCSI.ReadCapacity10", "SCSI.ReadCapacity16",
        "SCSI.Read6", "SCSI.Read10", "SCSI.Read12", "SCSI.Read16", "SCSI.Verify10", "SCSI.Verify12",
        "SCSI.Write10.BeyondEol", "SCSI.Write12.BeyondEol", "SCSI.WriteVerify10.BeyondEol",
        "SCSI.ReadOnly", "SCSI.NoMedia", "SCSI.PreventAllow", "SCSI.StartStopUnit",
        "SCSI.ReportSupportedOpcodes", "SCSI.Reserve6",
        "SCSI.PrinReadKeys", "SCSI.PrinServiceactionRange", "SCSI.PrinReportCapabilities", "SCSI.ProutRegister",
        "SCSI.ProutReserve.Simple", "SCSI.ProutReserve.OwnershipEA", "SCSI.ProutReserve.OwnershipWE",
        "SCSI.ProutReserve.OwnershipEARO", "SCSI.ProutReserve.OwnershipWERO", "SCSI.ProutReserve.OwnershipEAAR",
        "SCSI.ProutReserve.OwnershipWEAR", "SCSI.ProutClear", "SCSI.ProutPreempt",
        "SCSI.ExtendedCopy.ParamHdr", "SCSI.ExtendedCopy.DescrLimits", "SCSI.ExtendedCopy.DescrType",
        "SCSI.ExtendedCopy.ValidSegDescr", "SCSI.ReceiveCopyResults.OpParams",
    ];

    public IscsiTestCuRun? Run { get; private set; }

    public async ValueTask InitializeAsync()
    {
        await using var target = new VcdromTargetFixture();
        await target.InitializeAsync();
        Run = await IscsiTestCuRunner.RunAsync(new IscsiTestCuOptions
        {
            Url = target.Url,
            Filter = string.Join(',', Tests.Reverse()),
            Timeout = TimeSpan.FromMinutes(5),
        });
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>
/// The in-process target with a vcdrom as LUN 0 (and as the scst_local LUN), playing an image of 4096 sectors that the
/// fixture writes where the disk image would be.
/// </summary>
internal sealed class VcdromTargetFixture : ScstTargetFixture
{
    public const int Sectors = 4096;

    // libiscsi meets the target as initiators do: every new session starts with POWER ON / RESET.
    protected override bool UnitAttentionOnNewNexus => true;

    protected override string DeviceHandler => "vcdrom";

    protected override void ConfigureDevice(IDictionary<string, string> parameters)
    {
        // Called once the fixture's directory exists: the image takes the disk image's place.
        IsoImageFile.Write(ImagePath, Sectors);
        parameters.Clear();
        parameters["filename"] = ImagePath;
    }
}
