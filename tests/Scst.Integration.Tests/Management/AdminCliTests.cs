// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Scst.Core;
using Scst.Core.Alua;
using Scst.Core.Management;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests.Management;

/// <summary>
/// The scst-admin sample (samples/Scst.Samples.Admin) run as a child process against an in-process core with a
/// scst_local target and a management endpoint: what each command changes in the engine, what it prints, and its exit code.
/// </summary>
public sealed class AdminCliTests
{
    private const string Local = LocalTargetDriver.DriverName;
    private const string Tgt = ScstStack.TargetName;

    [Fact]
    public async Task Device_AddListRemove_CreatesAndDeletesTheDevice()
    {
        await using Cli cli = await Cli.StartAsync();

        (await cli.RunAsync("device", "add", "null1", "--handler", "vdisk_nullio", "--attributes", "size=1M,blocksize=4096"))
            .ShouldSucceed("Device null1 added (handler vdisk_nullio).");
        cli.Engine.FindDevice("null1")!.BlockSize.Should().Be(4096);
        Run list = await cli.RunAsync("list", "devices");
        list.ShouldSucceed();
        list.Out.Should().MatchRegex(Row("DEVICE", "HANDLER", "SIZE", "BLOCKSIZE", "FILENAME"))
            .And.MatchRegex(Row("null0", "vdisk_nullio", "64 MiB", "512", "-"))
            .And.MatchRegex(Row("null1", "vdisk_nullio", "1 MiB", "4096", "-"));

        (await cli.RunAsync("device", "remove", "null1")).ShouldSucceed("Device null1 removed (handler vdisk_nullio).");
        cli.Engine.FindDevice("null1").Should().BeNull();
        (await cli.RunAsync("device", "remove", "null1"))
            .ShouldBeRefused("cannot remove device null1: device null1 does not exist (ENOENT)");
    }

    [Fact]
    public async Task Target_AddMapEnableReplaceDisableRemove_DrivesTheEngine()
    {
        await using Cli cli = await Cli.StartAsync();
        cli.Engine.AddDevice("vdisk_nullio", "null1", new Dictionary<string, string> { ["size"] = "1M" });

        (await cli.RunAsync("target", "add", "t2", "--driver", Local)).ShouldSucceed($"Target t2 added to driver {Local} (disabled).");
        ScsiTarget t2 = cli.Engine.FindTarget(Local, "t2")!;
        t2.Enabled.Should().BeFalse();
        (await cli.RunAsync("lun", "add", "0", "--driver", Local, "--target", "t2", "--device", "null0", "--read-only")).ShouldSucceed();
        t2.Luns.Find(0)!.ReadOnly.Should().BeTrue();
        (await cli.RunAsync("target", "enable", "t2", "--driver", Local)).ShouldSucceed("Target t2 enabled.");
        t2.Enabled.Should().BeTrue();

        Run list = await cli.RunAsync("list", "targets", "--driver", Local);
        list.ShouldSucceed();
        list.Out.Should().MatchRegex(Row("DRIVER", "TARGET", "ENABLED", "LUNS", "GROUPS", "SESSIONS"))
            .And.MatchRegex(Row(Local, Tgt, "yes", "1", "0", "0"))
            .And.MatchRegex(Row(Local, "t2", "yes", "1", "0", "0"));

        (await cli.RunAsync("lun", "replace", "0", "--driver", Local, "--target", "t2", "--device", "null1", "--no-ua")).ShouldSucceed();
        t2.Luns.Find(0)!.Should().Match<LunMapping>(m => m.Device.Name == "null1" && !m.ReadOnly);
        (await cli.RunAsync("lun", "remove", "0", "--driver", Local, "--target", "t2")).ShouldSucceed("LUN 0 of target t2 removed.");
        t2.Luns.Luns.Should().BeEmpty();
        (await cli.RunAsync("target", "disable", "t2", "--driver", Local)).ShouldSucceed();
        t2.Enabled.Should().BeFalse();
        (await cli.RunAsync("target", "remove", "t2", "--driver", Local)).ShouldSucceed();
        cli.Engine.FindTarget(Local, "t2").Should().BeNull();
    }

    [Fact]
    public async Task GroupsAndInitiators_DecideWhichLunsASessionSees()
    {
        await using Cli cli = await Cli.StartAsync();
        string[] at = ["--driver", Local, "--target", Tgt];
        (await cli.RunAsync(["group", "add", "g1", .. at])).ShouldSucceed($"Group g1 of target {Tgt} added.");
        (await cli.RunAsync(["group", "add", "g2", .. at])).ShouldSucceed();
        (await cli.RunAsync(["initiator", "add", "iqn.2024-01.test:*", .. at, "--group", "g1"])).ShouldSucceed();
        (await cli.RunAsync(["lun", "add", "3", .. at, "--group", "g1", "--device", "null0"])).ShouldSucceed($"LUN 3 of group g1 of target {Tgt} maps device null0.");
        (await cli.RunAsync(["lun", "add", "5", .. at, "--group", "g2", "--device", "null0", "--read-only"])).ShouldSucceed();
        LocalSession session = cli.Stack.OpenSession();
        session.Session.Luns.Should().BeSameAs(cli.Stack.Target().FindGroup("g1")!.Luns);

        Run groups = await cli.RunAsync(["list", "groups", .. at]);
        groups.ShouldSucceed();
        groups.Out.Should().MatchRegex(Row("GROUP", "INITIATORS", "LUNS"))
            .And.MatchRegex(Row("g1", "iqn.2024-01.test:*", "3:null0"))
            .And.MatchRegex(Row("g2", "-", "5:null0 (ro)"));
        Run sessions = await cli.RunAsync("list", "sessions");
        sessions.ShouldSucceed();
        sessions.Out.Should().MatchRegex(Row(Local, Tgt, ScstStack.InitiatorName, ScstStack.InitiatorName, "0", "3"));

        // A group that a session sees cannot go (EBUSY); once its initiators move, it can.
        Run busy = await cli.RunAsync(["group", "remove", "g1", .. at]);
        busy.ShouldBeRefused($"cannot remove group g1 of target {Tgt}: Group g1 of target {Tgt} is in use by the session of {ScstStack.InitiatorName}. (EBUSY)");
        (await cli.RunAsync(["initiator", "move", "iqn.2024-01.test:*", .. at, "--group", "g1", "--to", "g2"])).ShouldSucceed();
        session.Session.Luns.Should().BeSameAs(cli.Stack.Target().FindGroup("g2")!.Luns);
        (await cli.RunAsync(["group", "remove", "g1", .. at])).ShouldSucceed();
        (await cli.RunAsync(["initiator", "clear", .. at, "--group", "g2"])).ShouldSucceed();
        session.Session.Luns.Should().BeSameAs(cli.Stack.Target().Luns);
        (await cli.RunAsync(["lun", "clear", .. at, "--group", "g2"])).ShouldSucceed();
        cli.Stack.Target().FindGroup("g2")!.Luns.Luns.Should().BeEmpty();
        cli.Stack.Target().Groups.Select(g => g.Name).Should().Equal("g2");
    }

    [Fact]
    public async Task SetAndShow_WriteAndReadTheTree()
    {
        await using Cli cli = await Cli.StartAsync();
        const string Enabled = $"targets/{Local}/{Tgt}/enabled";

        (await cli.RunAsync("set", Enabled, "0")).ShouldSucceed($"Written: {Enabled}");
        cli.Stack.Target().Enabled.Should().BeFalse();
        (await cli.RunAsync("show", "/sys/kernel/scst_tgt/" + Enabled)).ShouldSucceed("0");
        (await cli.RunAsync("set", Enabled, "1")).ShouldSucceed();
        (await cli.RunAsync("show", Enabled)).Out.Should().Be("1\n[key]\n");
        (await cli.RunAsync("show", $"targets/{Local}/{Tgt}/luns")).Out.Should().Be("mgmt\n0/\n");
        (await cli.RunAsync("set", $"targets/{Local}/{Tgt}/luns/mgmt", "add", "null0", "9")).ShouldSucceed();
        cli.Stack.Target().Luns.Find(9)!.Device.Name.Should().Be("null0");
        (await cli.RunAsync("set", Enabled, "maybe")).ExitCode.Should().Be(1);
    }

    [Fact]
    public async Task DeviceAndTargetGroups_AreBuiltAndListed()
    {
        await using Cli cli = await Cli.StartAsync();

        (await cli.RunAsync("device-group", "add", "dg1")).ShouldSucceed("Device group dg1 added.");
        (await cli.RunAsync("device-group", "device", "add", "dg1", "null0")).ShouldSucceed();
        (await cli.RunAsync("target-group", "add", "dg1", "tg1")).ShouldSucceed();
        (await cli.RunAsync("target-group", "target", "add", "dg1", "tg1", Tgt)).ShouldSucceed();
        (await cli.RunAsync("target-group", "set", "dg1", "tg1", "group_id", "7")).ShouldSucceed();
        (await cli.RunAsync("target-group", "set", "dg1", "tg1", "state", "standby")).ShouldSucceed();

        TargetGroup tg1 = cli.Engine.FindDeviceGroup("dg1")!.FindTargetGroup("tg1")!;
        tg1.State.Should().Be(AluaState.Standby);
        tg1.GroupId.Should().Be(7);
        Run list = await cli.RunAsync("list", "device-groups");
        list.ShouldSucceed();
        list.Out.Should().MatchRegex(Row("dg1", "null0", "tg1", "7", "standby", "no", Tgt));
        (await cli.RunAsync("target-group", "set", "dg1", "tg1", "state", "sideways")).ExitCode.Should().Be(1);
        (await cli.RunAsync("device-group", "remove", "dg1")).ShouldSucceed();
        cli.Engine.FindDeviceGroup("dg1").Should().BeNull();
    }

    [Fact]
    public async Task RefusedRequests_Exit1WithTheTargetsMessage_AndChangeNothing()
    {
        await using Cli cli = await Cli.StartAsync();

        (await cli.RunAsync("lun", "add", "0", "--driver", Local, "--target", Tgt, "--device", "null0"))
            .ShouldBeRefused($"cannot add LUN 0 of target {Tgt}: LUN 0 of {Tgt} is already mapped (to null0) (EEXIST)");
        (await cli.RunAsync("target-attribute", "add", Tgt, "IncomingUser", "joe", "secret12345", "--driver", Local))
            .ShouldBeRefused($"cannot add a value of IncomingUser of target {Tgt}: target {Tgt} has no attribute IncomingUser (ENOENT)");
        (await cli.RunAsync("list", "groups", "--driver", "nosuch", "--target", Tgt)).ExitCode.Should().Be(1);

        cli.Stack.Target().Luns.Luns.Select(m => (m.Lun, m.Device.Name)).Should().Equal((0, "null0"));
    }

    [Fact]
    public async Task AnUnreachableEndpoint_Exits3()
    {
        // --socket wins over SCST_MGMT_SOCKET, which the runner sets to a live endpoint.
        await using Cli cli = await Cli.StartAsync();
        string missing = Path.Combine(cli.Directory, "nothing.sock");

        Run run = await cli.RunAsync("--socket", missing, "list", "targets");

        run.ExitCode.Should().Be(3);
        run.Err.Should().StartWith($"scst-admin: cannot reach the management endpoint at {missing}: ");
        run.Out.Should().BeEmpty();
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("lun", "add", "0")]
    [InlineData("lun", "add", "zero", "--driver", "d", "--target", "t", "--device", "v")]
    [InlineData("device", "add", "d1", "--handler", "vdisk_nullio", "--attributes", "size")]
    public async Task BadUsage_Exits2_AndPointsAtTheHelp(params string[] args)
    {
        Run run = await Cli.RunWithSocketAsync(socket: null, args);

        run.ExitCode.Should().Be(2);
        run.Err.Should().StartWith("scst-admin: ").And.Contain("--help");
        run.Out.Should().BeEmpty();
    }

    [Fact]
    public async Task ConfigApply_OfAFileThatCannotBeRead_Exits4()
    {
        using var dir = new TempDirectory();
        string missing = dir.File("scst.conf");

        Run run = await Cli.RunWithSocketAsync(dir.File("mgmt.sock"), "config", "apply", missing);

        run.ExitCode.Should().Be(4);
        run.Err.Should().StartWith($"scst-admin: cannot read {missing}: ");
    }

    [Fact]
    public async Task ConfigWrite_PrintsTheRunningStateAsScstConf()
    {
        await using Cli cli = await Cli.StartAsync();

        Run run = await cli.RunAsync("config", "write", "-");

        run.ShouldSucceed();
        run.Out.Should().Contain("HANDLER vdisk_nullio").And.Contain("DEVICE null0").And.Contain($"TARGET_DRIVER {Local}").And.Contain($"TARGET {Tgt}");
        string file = Path.Combine(cli.Directory, "saved.conf");
        (await cli.RunAsync("config", "write", file)).ShouldSucceed($"Configuration written to {file}.");
        (await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken)).Should().Match<string>(text => WithoutComments(text) == WithoutComments(run.Out), "the file holds what stdout showed (a comment may carry the time)");
    }

    [Fact]
    public async Task ConfigCheckAndApply_ShowTheChanges_ThenMakeThem()
    {
        await using Cli cli = await Cli.StartAsync();
        string file = Path.Combine(cli.Directory, "scst.conf");
        await File.WriteAllTextAsync(file, "HANDLER vdisk_nullio {\n    DEVICE null7 {\n        size 1M\n    }\n}\n", TestContext.Current.CancellationToken);
        string bad = Path.Combine(cli.Directory, "bad.conf");
        await File.WriteAllTextAsync(bad, "HANDLER nosuch_handler {\n    DEVICE d1\n}\n", TestContext.Current.CancellationToken);

        Run check = await cli.RunAsync("config", "check", file);
        check.ShouldSucceed();
        check.Out.Should().Contain("null7");
        (await cli.RunAsync("config", "apply", file, "--dry-run")).ShouldSucceed();
        cli.Engine.FindDevice("null7").Should().BeNull("a check changes nothing");

        Run apply = await cli.RunAsync("config", "apply", file);
        apply.ShouldSucceed();
        apply.Out.Should().Contain("null7");
        cli.Engine.FindDevice("null7").Should().NotBeNull();

        Run refused = await cli.RunAsync("config", "apply", bad);
        refused.ExitCode.Should().Be(1);
        refused.Err.Should().StartWith($"scst-admin: cannot apply {bad}").And.Contain("nosuch_handler");
        cli.Engine.FindDevice("d1").Should().BeNull();
    }

    private static string WithoutComments(string text) =>
        string.Join('\n', text.Split('\n').Where(l => !l.TrimStart().StartsWith('#')));

    // A table row: the cells in order, separated by at least one space, alone on their line.
    private static string Row(params string[] cells) =>
        "(?m)^" + string.Join(@"\s+", cells.Select(Regex.Escape)) + @"\s*$";

    internal sealed record Run(int ExitCode, string Out, string Err)
    {
        public void ShouldSucceed(string? line = null)
        {
            ExitCode.Should().Be(0, $"the command succeeds (stderr: {Err})");
            Err.Should().BeEmpty();
            if (line is not null)
            {
                Out.Should().Be(line + "\n");
            }
        }

        public void ShouldBeRefused(string message)
        {
            ExitCode.Should().Be(1, $"the target refuses (stdout: {Out})");
            Err.Should().Be($"scst-admin: {message}\n");
            Out.Should().BeEmpty();
        }
    }

    // The core with a scst_local target (null0 as LUN 0) and a management endpoint on a socket in a temp directory.
    private sealed class Cli : IAsyncDisposable
    {
        private readonly TempDirectory _directory;
        private readonly ManagementEndpoint _endpoint;

        private Cli(TempDirectory directory, ScstStack stack, ManagementEndpoint endpoint)
        {
            _directory = directory;
            Stack = stack;
            _endpoint = endpoint;
        }

        public ScstStack Stack { get; }

        public ScstEngine Engine => Stack.Engine;

        public string Directory => _directory.Path;

        public static async Task<Cli> StartAsync()
        {
            var directory = new TempDirectory();
            ScstStack stack = await ScstStack.StartNullIoAsync();
            var endpoint = new ManagementEndpoint(stack.Engine, Options.Create(new ManagementEndpointOptions { SocketPath = directory.File("mgmt.sock") }));
            await endpoint.StartAsync(TestContext.Current.CancellationToken);
            return new Cli(directory, stack, endpoint);
        }

        /// <summary>Runs scst-admin with SCST_MGMT_SOCKET naming this endpoint.</summary>
        public Task<Run> RunAsync(params string[] args) => RunWithSocketAsync(_endpoint.SocketPath, args);

        public static Task<Run> RunWithSocketAsync(string? socket, params string[] args) => ScstAdmin.RunAsync(socket, args);

        public async ValueTask DisposeAsync()
        {
            await _endpoint.DisposeAsync();
            await Stack.DisposeAsync();
            _directory.Dispose();
        }

    }
}
