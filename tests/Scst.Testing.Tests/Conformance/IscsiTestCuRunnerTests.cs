// Licensed under the Apache License, Version 2.0.

using System.Runtime.Versioning;
using Scst.Testing.Conformance;

namespace Scst.Testing.Tests.Conformance;

[SupportedOSPlatform("linux")] // the fake tool is a shell script
public sealed class IscsiTestCuRunnerTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("scst-cu-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Script(string body)
    {
        var path = Path.Combine(_directory, "fake-iscsi-test-cu");
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    [Fact]
    public void ToArguments_AllOptions_InTheToolsOrder()
    {
        var options = new IscsiTestCuOptions
        {
            Url = "iscsi://127.0.0.1:3260/iqn.x:a/0",
            SecondUrl = "iscsi://127.0.0.1:3261/iqn.x:a/0",
            Filter = "SCSI.Read10",
            AllowSanitize = true,
            InitiatorName = "iqn.x:init",
        };

        options.ToArguments().Should().Equal(
            "-d", "-S", "-i", "iqn.x:init", "-v", "-t", "SCSI.Read10", "iscsi://127.0.0.1:3260/iqn.x:a/0", "iscsi://127.0.0.1:3261/iqn.x:a/0");
    }

    [Fact]
    public async Task RunAsync_MissingTool_ThrowsInsteadOfSkipping()
    {
        var options = new IscsiTestCuOptions { Url = "iscsi://127.0.0.1:1/iqn.x:a/0", Executable = Path.Combine(_directory, "absent") };

        var act = () => IscsiTestCuRunner.RunAsync(options, TestContext.Current.CancellationToken);

        await act.Should().ThrowAsync<IscsiTestCuNotFoundException>().WithMessage("*libiscsi-bin*");
    }

    [Fact]
    public async Task RunAsync_PassesArgumentsAndParsesOutput()
    {
        var tool = Script("""
            echo "args: $*" >&2
            printf 'Suite: Read10\n  Test: Simple ...passed\n  Test: DpoFua ...    [SKIPPED] no FUA\npassed\n'
            printf '\nRun Summary:    Type  Total    Ran Passed Failed Inactive\n              suites      1      1    n/a      0        0\n               tests      2      2      2      0        0\n'
            """);
        var options = new IscsiTestCuOptions { Url = "iscsi://127.0.0.1:3260/iqn.x:a/0", Filter = "SCSI.Read10", Executable = tool };

        var run = await IscsiTestCuRunner.RunAsync(options, TestContext.Current.CancellationToken);

        run.Completed.Should().BeTrue();
        run.ExitCode.Should().Be(0);
        run.StandardError.Should().Contain("args: -d -v -t SCSI.Read10 iscsi://127.0.0.1:3260/iqn.x:a/0");
        run.Results.Select(r => (r.FullName, r.Outcome)).Should().Equal(
            ("SCSI.Read10.Simple", IscsiTestOutcome.ReallyPassed),
            ("SCSI.Read10.DpoFua", IscsiTestOutcome.Skipped));
    }

    [Fact]
    public async Task RunAsync_Hang_IsKilledAtTimeoutAndTheRunningTestFails()
    {
        var tool = Script("printf 'Suite: Read10\\n  Test: Simple ...passed\\n  Test: Async ...'\nexec sleep 60");
        var options = new IscsiTestCuOptions
        {
            Url = "iscsi://127.0.0.1:3260/iqn.x:a/0",
            Executable = tool,
            Timeout = TimeSpan.FromSeconds(1),
        };

        var run = await IscsiTestCuRunner.RunAsync(options, TestContext.Current.CancellationToken);

        run.TimedOut.Should().BeTrue();
        run.Completed.Should().BeFalse();
        run.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(30));
        run.Results.Select(r => (r.FullName, r.Outcome)).Should().Equal(
            ("SCSI.Read10.Simple", IscsiTestOutcome.ReallyPassed),
            ("SCSI.Read10.Async", IscsiTestOutcome.Failed));
    }

    [Fact]
    public async Task RunMustPassAsync_RunsOneProcessPerSuiteAndReportsShortfalls()
    {
        // The fake prints one passing test named after the suite it was asked for (-t is the 4th argument).
        var tool = Script("""
            suite=${4#*.}
            printf 'Suite: %s\n  Test: Simple ...passed\n\nRun Summary:    Type  Total    Ran Passed Failed Inactive\n               tests      1      1      1      0        0\n' "$suite"
            """);
        var list = MustPassList.Parse("SCSI.Read10.Simple\nSCSI.Read10.DpoFua\niSCSI.iSCSIcmdsn.Simple\n");
        var template = new IscsiTestCuOptions { Url = "iscsi://127.0.0.1:3260/iqn.x:a/0", Executable = tool };

        var run = await IscsiTestCuRunner.RunMustPassAsync(template, list, TestContext.Current.CancellationToken);

        run.Runs.Select(r => r.Options.Filter).Should().Equal("SCSI.Read10", "iSCSI.iSCSIcmdsn");
        run.Report.ReallyPassed.Should().Be(2);
        run.Report.NotReallyPassed.Should().ContainSingle().Which.Name.Should().Be("SCSI.Read10.DpoFua");
        run.Format().Should().Contain("must-pass: 2 of 3 really passed").And.NotContain("incomplete run");
    }

    // Needs the real tool: fails (does not skip) where libiscsi-bin is missing; test.sh installs it.
    [Fact]
    public async Task ListAsync_RealTool_KnowsEveryMustPassEntry()
    {
        var names = await IscsiTestCuRunner.ListAsync(cancellationToken: TestContext.Current.CancellationToken);
        var list = MustPassList.Load(MustPassList.FindDefaultPath());

        names.Should().Contain("SCSI.Read10.Simple").And.Contain("iSCSI.iSCSIResiduals.Read10Residuals");
        list.Entries.Should().BeSubsetOf(names);
    }
}
