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
    public void Parse_ExpectFailedLinesAnnotation_IsReadAndNotPartOfTheName()
    {
        var list = MustPassList.Parse("iSCSI.iSCSIdatasn.iSCSIDataSnInvalid  expect-failed-lines: WRITE10 command failed with status   # why\nSCSI.Read10.Simple\n");

        list.Entries.Should().Equal("iSCSI.iSCSIdatasn.iSCSIDataSnInvalid", "SCSI.Read10.Simple");
        list.ExpectedFailedLines.Should().Equal(new Dictionary<string, string>
        {
            ["iSCSI.iSCSIdatasn.iSCSIDataSnInvalid"] = "WRITE10 command failed with status",
        });
    }

    [Theory]
    [InlineData("SCSI.Read10.Simple  whatever")]
    [InlineData("SCSI.Read10.Simple  expect-failed-lines:")]
    public void Parse_UnknownOrEmptyAnnotation_Throws(string line)
    {
        var parse = () => MustPassList.Parse(line);

        parse.Should().Throw<FormatException>();
    }

    [Fact]
    public void Compare_ExpectedFailureLinesOnly_IsReportedApartAndSatisfies()
    {
        var list = MustPassList.Parse("iSCSI.iSCSIdatasn.iSCSIDataSnInvalid expect-failed-lines: WRITE10 command failed with status\nSCSI.Read10.Simple\n");
        IscsiTestResult[] results =
        [
            Result("iSCSI.iSCSIdatasn.iSCSIDataSnInvalid", IscsiTestOutcome.Flagged,
                "[FAILED] WRITE10 command failed with status 2 / sense key COMMAND ABORTED(0x0b)",
                "[FAILED] WRITE10 command failed with status 2 / sense key COMMAND ABORTED(0x0b)"),
            Result("SCSI.Read10.Simple", IscsiTestOutcome.ReallyPassed),
        ];

        var report = list.Compare(results);

        report.MustPassSatisfied.Should().BeTrue();
        report.NotReallyPassed.Should().BeEmpty();
        report.PassedWithExpectedFailureLines.Should().Equal(
            new ExpectedFailureLinesPass("iSCSI.iSCSIdatasn.iSCSIDataSnInvalid", "WRITE10 command failed with status"));
        report.Flagged.Should().Be(1);
        var lines = report.Format().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[1].Should().Be("must-pass: 1 of 2 really passed, 1 passed with expected failure lines");
        lines[2].Should().Contain("iSCSI.iSCSIdatasn.iSCSIDataSnInvalid").And.Contain("every [FAILED] line contains \"WRITE10 command failed with status\"");
    }

    [Theory]
    [InlineData(IscsiTestOutcome.Flagged, "[FAILED] READ10 returned wrong data")]
    [InlineData(IscsiTestOutcome.Skipped, "[SKIPPED] WRITE10 command failed with status 2")]
    [InlineData(IscsiTestOutcome.Failed, "[FAILED] WRITE10 command failed with status 2")]
    public void Compare_ExpectedFailureLinesButOtherProblem_IsAShortfall(IscsiTestOutcome outcome, string otherMessage)
    {
        var list = MustPassList.Parse("iSCSI.iSCSIdatasn.iSCSIDataSnInvalid expect-failed-lines: WRITE10 command failed with status\n");
        var result = Result("iSCSI.iSCSIdatasn.iSCSIDataSnInvalid", outcome, "[FAILED] WRITE10 command failed with status 2", otherMessage);

        var report = list.Compare([result]);

        report.MustPassSatisfied.Should().BeFalse();
        report.PassedWithExpectedFailureLines.Should().BeEmpty();
        report.NotReallyPassed.Should().ContainSingle().Which.Outcome.Should().Be(outcome);
    }

    [Fact]
    public void Compare_AnnotatedEntryThatReallyPassed_CountsAsReallyPassed()
    {
        var list = MustPassList.Parse("iSCSI.iSCSIdatasn.iSCSIDataSnInvalid expect-failed-lines: WRITE10\n");

        var report = list.Compare([Result("iSCSI.iSCSIdatasn.iSCSIDataSnInvalid", IscsiTestOutcome.ReallyPassed)]);

        report.MustPassSatisfied.Should().BeTrue();
        report.PassedWithExpectedFailureLines.Should().BeEmpty();
    }

    [Fact]
    public void CheckedInList_AnnotatesOnlyDataSnInvalid()
    {
        var list = MustPassList.Load(MustPassList.FindDefaultPath());

        list.ExpectedFailedLines.Should().Equal(new Dictionary<string, string>
        {
            ["iSCSI.iSCSIdatasn.iSCSIDataSnInvalid"] = "WRITE10 command failed with status",
        });
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
