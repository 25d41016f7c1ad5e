// Licensed under the Apache License, Version 2.0.

using Scst.Testing.Conformance;

namespace Scst.Testing.Tests.Conformance;

public sealed class MustPassListTests
{
    private static IscsiTestResult Result(string fullName, IscsiTestOutcome outcome, params string[] messages)
    {
        var parts = fullName.Split('.');
        return new IscsiTestResult(parts[0], parts[1], parts[2], outcome, messages);
    }

    [Fact]
    public void Parse_CommentsAndBlankLines_AreIgnored()
    {
        var list = MustPassList.Parse("# header\n\nSCSI.Read10.Simple   # trailing comment\n  SCSI.Read10.BeyondEol\nSCSI.Read10.Simple\n");

        list.Entries.Should().Equal("SCSI.Read10.Simple", "SCSI.Read10.BeyondEol");
    }

    [Fact]
    public void Suites_AreDistinctFamilySuitePrefixesInFileOrder()
    {
        var list = MustPassList.Parse("SCSI.Read10.Simple\nSCSI.Read10.DpoFua\niSCSI.iSCSIcmdsn.*\nSCSI.Inquiry.EVPD\n");

        list.Suites.Should().Equal("SCSI.Read10", "iSCSI.iSCSIcmdsn", "SCSI.Inquiry");
    }

    [Theory]
    [InlineData("SCSI.Read10.Simple", "SCSI.Read10.Simple", true)]
    [InlineData("SCSI.Read10.Simple", "SCSI.Read10.SimpleX", false)]
    [InlineData("SCSI.Read10.*", "SCSI.Read10.DpoFua", true)]
    [InlineData("SCSI.Read10.*", "SCSI.Read12.DpoFua", false)]
    [InlineData("SCSI.Read1.*", "SCSI.Read10.Simple", false)]
    public void Matches_ExactAndSuiteWildcard(string entry, string name, bool expected) =>
        MustPassList.Matches(entry, name).Should().Be(expected);

    [Fact]
    public void Compare_ReportsTotalsAndEveryEntryNotReallyPassed()
    {
        var list = MustPassList.Parse("SCSI.Read10.Simple\nSCSI.Read10.DpoFua\nSCSI.Inquiry.BlockLimits\nSCSI.Write10.Simple\niSCSI.iSCSIdatasn.iSCSIDataSnInvalid\nSCSI.Read16.*\n");
        IscsiTestResult[] results =
        [
            Result("SCSI.Read10.Simple", IscsiTestOutcome.ReallyPassed),
            Result("SCSI.Read10.DpoFua", IscsiTestOutcome.Flagged, "[FAILED] something"),
            Result("SCSI.Inquiry.BlockLimits", IscsiTestOutcome.Skipped, "[SKIPPED] fully provisioned"),
            Result("iSCSI.iSCSIdatasn.iSCSIDataSnInvalid", IscsiTestOutcome.Failed, "1. x.c:98  - CU_ASSERT"),
            Result("SCSI.Unmap.Simple", IscsiTestOutcome.Skipped),
        ];

        var report = list.Compare(results);

        report.Should().BeEquivalentTo(new
        {
            Ran = 5,
            ReallyPassed = 1,
            Skipped = 2,
            Flagged = 1,
            Failed = 1,
            MustPassCount = 6,
            MustPassSatisfied = false,
        });
        report.NotReallyPassed.Select(s => (s.Name, s.Outcome)).Should().Equal(
            ("SCSI.Read10.DpoFua", IscsiTestOutcome.Flagged),
            ("SCSI.Inquiry.BlockLimits", IscsiTestOutcome.Skipped),
            ("SCSI.Write10.Simple", (IscsiTestOutcome?)null),
            ("iSCSI.iSCSIdatasn.iSCSIDataSnInvalid", IscsiTestOutcome.Failed),
            ("SCSI.Read16.*", (IscsiTestOutcome?)null));
    }

    [Fact]
    public void Compare_AllReallyPassed_IsSatisfied()
    {
        var list = MustPassList.Parse("SCSI.Read10.*\n");

        var report = list.Compare([Result("SCSI.Read10.Simple", IscsiTestOutcome.ReallyPassed), Result("SCSI.Read10.Async", IscsiTestOutcome.ReallyPassed)]);

        report.MustPassSatisfied.Should().BeTrue();
        report.Format().Should().Contain("must-pass: 1 of 1 really passed");
    }

    [Fact]
    public void Format_PrintsTotalsThenOneLinePerShortfall()
    {
        var list = MustPassList.Parse("SCSI.Read10.Simple\nSCSI.Inquiry.BlockLimits\n");

        var text = list.Compare([Result("SCSI.Inquiry.BlockLimits", IscsiTestOutcome.Skipped, "[SKIPPED] fully provisioned")]).Format();

        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().Equal(
            "iscsi-test-cu: 1 ran, 0 really passed, 1 skipped, 0 flagged, 0 failed",
            "must-pass: 0 of 2 really passed",
            "  NotRun       SCSI.Read10.Simple",
            "  Skipped      SCSI.Inquiry.BlockLimits -- [SKIPPED] fully provisioned");
    }

    [Fact]
    public void CheckedInList_StartsWithTheAgreedSuitesSpelledOutAsTests()
    {
        var list = MustPassList.Load(MustPassList.FindDefaultPath());

        list.Entries.Should().OnlyContain(e => e.Split('.').Length == 3 && !e.EndsWith(".*", StringComparison.Ordinal));
        list.Entries.Select(e => string.Join('.', e.Split('.')[..2])).Distinct().Take(14).Should().Equal(
            "SCSI.TestUnitReady", "SCSI.Inquiry", "SCSI.ReadCapacity10", "SCSI.ReadCapacity16", "SCSI.Read6", "SCSI.Read10",
            "SCSI.Read12", "SCSI.Read16", "SCSI.Write10", "SCSI.Write12", "SCSI.Write16", "iSCSI.iSCSIcmdsn", "iSCSI.iSCSIdatasn",
            "iSCSI.iSCSIResiduals");
    }
}
