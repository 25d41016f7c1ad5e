// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Text;
using System.Runtime.Versioning;
using Microsoft.Extensions.Options;
using Scst.Core;
using Scst.Core.Alua;
using Scst.Core.Management;
using Scst.Events;
using Scst.Events.Remote;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests.Alua;

/// <summary>
/// The scst-stpgd sample (samples/Scst.Samples.Stpgd) run as a child process against an in-process core with an event
/// endpoint and a management endpoint: the STPG events the core would publish are published here with
/// PublishAndWaitAsync, and the tests check what the agent changes and the status it reports.
/// </summary>
[SupportedOSPlatform("linux")] // helpers are shell scripts; the endpoints are Unix sockets
public sealed class StpgdSampleTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task NoHelper_WritesEachNewStateThroughTheManagementEndpoint_AndCompletesWithZero()
    {
        await using AluaTarget target = await AluaTarget.StartAsync();
        await using Agent agent = await target.StartAgentAsync(["--mgmt-socket", target.ManagementSocket]);

        int status = await target.PublishStpgAsync(("tg1", "standby"), ("tg2", "active"));

        status.Should().Be(0, agent.Log);
        target.Group("tg1").State.Should().Be(AluaState.Standby);
        target.Group("tg2").State.Should().Be(AluaState.ActiveOptimized);
        await agent.WaitForLogAsync("[9011]");
        agent.Log.Should().Contain("dg/tg1 (1) active -> standby, dg/tg2 (2) standby -> active");
    }

    [Fact]
    public async Task NoHelper_AGroupTheTargetDoesNotHave_CompletesWithTheEndpointsErrno_AndStillWritesTheOthers()
    {
        await using AluaTarget target = await AluaTarget.StartAsync();
        await using Agent agent = await target.StartAgentAsync(["--mgmt-socket", target.ManagementSocket]);

        int status = await target.PublishAsync(
            new StpgDescriptor(7, "active", "standby", "dg", "nosuchgroup"),
            new StpgDescriptor(2, "standby", "nonoptimized", "dg", "tg2"));

        status.Should().Be(-2, "the endpoint answers -ENOENT for a path that does not exist; " + agent.Log);
        target.Group("tg2").State.Should().Be(AluaState.ActiveNonOptimized);
    }

    [Fact]
    public async Task Helper_GetsTheArgumentsAndEnvironment_AndItsZeroCompletesTheEvent()
    {
        await using AluaTarget target = await AluaTarget.StartAsync();
        string helper = target.WriteScript("record.sh", Recorder(target.Directory, exitCode: "0"));
        await using Agent agent = await target.StartAgentAsync(["-p", helper, "--mgmt-socket", target.ManagementSocket]);

        int status = await target.PublishStpgAsync(("tg1", "unavailable"), ("tg2", "active"));

        status.Should().Be(0, agent.Log);
        File.ReadAllText(target.File("tg1.args")).Should().Be("null0\nactive\nunavailable\ndg\ntg1\n");
        File.ReadAllText(target.File("tg2.args")).Should().Be("null0\nstandby\nactive\ndg\ntg2\n");
        File.ReadAllText(target.File("tg2.env")).Should().Be(
            "SCST_DEVICE_NAME=null0\nSCST_PREV_ALUA_STATE=standby\nSCST_ALUA_STATE=active\nSCST_DEVICE_GROUP=dg\n" +
            $"SCST_TARGET_GROUP=tg2\nSCST_MGMT_SOCKET={target.ManagementSocket}\nPATH=/bin:/usr/bin:/sbin:/usr/sbin\n");
        target.Group("tg1").State.Should().Be(AluaState.ActiveOptimized, "this helper records, it changes nothing");
    }

    [Fact]
    public async Task Helper_ExitingNonZero_CompletesTheEventWithItsExitCode()
    {
        await using AluaTarget target = await AluaTarget.StartAsync();
        string helper = target.WriteScript("record.sh", Recorder(target.Directory, exitCode: "$([ \"$SCST_TARGET_GROUP\" = tg2 ] && echo 3 || echo 0)"));
        await using Agent agent = await target.StartAgentAsync(["-p", helper]);

        int status = await target.PublishStpgAsync(("tg1", "standby"), ("tg2", "active"));

        status.Should().Be(3, agent.Log);
        File.Exists(target.File("tg1.args")).Should().BeTrue("the other group's helper ran too");
        File.ReadAllText(target.File("tg1.env")).Should().Contain("SCST_MGMT_SOCKET=unset\n", "no --mgmt-socket was given");
        await agent.WaitForLogAsync("[9012]");
    }

    [Fact]
    public async Task ShippedHelper_ThroughScstAdmin_ChangesTheStates()
    {
        await using AluaTarget target = await AluaTarget.StartAsync();
        string helper = Path.Combine(Path.GetDirectoryName(SamplePrograms.Find("Scst.Samples.Stpgd", "scst-stpgd.dll"))!, "scst-on-stpg.sh");
        string admin = target.WriteScript("scst-admin", $"exec {SamplePrograms.Dotnet} {SamplePrograms.Find("Scst.Samples.Admin", "scst-admin.dll")} \"$@\"\n");
        await using Agent agent = await target.StartAgentAsync(
            ["-p", helper, "--mgmt-socket", target.ManagementSocket],
            new Dictionary<string, string?> { ["SCST_ADMIN"] = admin });

        int status = await target.PublishStpgAsync(("tg1", "offline"), ("tg2", "active"));

        status.Should().Be(0, agent.Log);
        target.Group("tg1").State.Should().Be(AluaState.Offline);
        target.Group("tg2").State.Should().Be(AluaState.ActiveOptimized);
        agent.Log.Should().Contain("stdout: Written: device_groups/dg/target_groups/tg1/state", "the helper's output is logged");
    }

    [Fact]
    public async Task Helper_RunningPastTheTimeout_IsKilledWithItsChildren_AndTheEventFailsWithETimedOut()
    {
        await using AluaTarget target = await AluaTarget.StartAsync();
        string helper = target.WriteScript("hang.sh", $"""
            sleep 60 &
            echo $! > {target.File("child.pid")}
            echo $$ > {target.File("helper.pid")}
            wait
            """);
        await using Agent agent = await target.StartAgentAsync(["-p", helper, "-t", "1"]);

        var clock = Stopwatch.StartNew();
        int status = await target.PublishStpgAsync(("tg2", "active"));
        clock.Stop();

        status.Should().Be(-110, agent.Log);
        clock.Elapsed.Should().BeGreaterThan(TimeSpan.FromSeconds(0.9)).And.BeLessThan(TimeSpan.FromSeconds(5), "the helper is killed at the 1 s timeout");
        foreach (string pidFile in new[] { "helper.pid", "child.pid" })
        {
            int pid = int.Parse(File.ReadAllText(target.File(pidFile)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            (await Processes.EndedAsync(pid, TimeSpan.FromSeconds(5))).Should().BeTrue($"{pidFile} ({pid}) was killed");
        }

        await agent.WaitForLogAsync("[9033]");
    }

    [Fact]
    public async Task Helpers_OfOneEvent_RunAtTheSameTime()
    {
        await using AluaTarget target = await AluaTarget.StartAsync();

        // Each helper marks that it runs, then waits (at most 5 s) for the other group's mark: one at a time, the
        // first would give up and exit 1.
        string helper = target.WriteScript("meet.sh", $$"""
            touch "{{target.Directory}}/$SCST_TARGET_GROUP.running"
            other=tg1; [ "$SCST_TARGET_GROUP" = tg1 ] && other=tg2
            i=0
            while [ ! -e "{{target.Directory}}/$other.running" ]; do
              i=$((i + 1)); [ $i -gt 50 ] && exit 1
              sleep 0.1
            done
            exit 0
            """);
        await using Agent agent = await target.StartAgentAsync(["-p", helper, "-t", "10"]);

        int status = await target.PublishStpgAsync(("tg1", "standby"), ("tg2", "active"));

        status.Should().Be(0, agent.Log);
    }

    [Fact]
    public async Task Stop_WithAHelperRunning_KillsIt_AndAnswersTheEventWithEIntr()
    {
        await using AluaTarget target = await AluaTarget.StartAsync();
        string helper = target.WriteScript("hang.sh", $"""
            echo $$ > {target.File("helper.pid")}
            exec sleep 60
            """);
        await using Agent agent = await target.StartAgentAsync(["-p", helper]);
        Task<int> stpg = target.PublishStpgAsync(("tg2", "active"));
        await agent.WaitForLogAsync("[9030]");

        agent.Signal("TERM");

        (await stpg).Should().Be(-4, agent.Log);
        (await agent.WaitForExitAsync()).Should().Be(0, agent.Log);
        int pid = int.Parse(File.ReadAllText(target.File("helper.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        (await Processes.EndedAsync(pid, TimeSpan.FromSeconds(5))).Should().BeTrue("the helper was killed");
        agent.Log.Should().Contain("[9099]", "it logs that it stopped");
    }

    [Fact]
    public async Task TwoEvents_ASlowHelperDoesNotHoldUpTheOther()
    {
        await using AluaTarget target = await AluaTarget.StartAsync();
        string helper = target.WriteScript("slow.sh", """
            if [ "$SCST_TARGET_GROUP" = tg2 ]; then sleep 3; fi
            exit 0
            """);
        await using Agent agent = await target.StartAgentAsync(["-p", helper]);

        Task<int> slow = target.PublishStpgAsync(("tg2", "active"));
        Task<int> fast = target.PublishStpgAsync(("tg1", "nonoptimized"));
        Task first = await Task.WhenAny(slow, fast);

        first.Should().BeSameAs(fast, agent.Log);
        (await fast).Should().Be(0);
        slow.IsCompleted.Should().BeFalse("its helper still sleeps");
        (await slow).Should().Be(0, agent.Log);
    }

    [Fact]
    public async Task EventEndpointRestart_TheAgentSubscribesAgain_AndHandlesTheNextEvent()
    {
        await using AluaTarget target = await AluaTarget.StartAsync();
        await using Agent agent = await target.StartAgentAsync(["--mgmt-socket", target.ManagementSocket]);
        (await target.PublishStpgAsync(("tg1", "standby"))).Should().Be(0, agent.Log);

        await target.RestartEventEndpointAsync();
        await agent.WaitForLogAsync("[9004]");
        await agent.WaitForLogAsync("[9001]", count: 2);
        int status = await target.PublishStpgAsync(("tg1", "active"));

        status.Should().Be(0, agent.Log);
        target.Group("tg1").State.Should().Be(AluaState.ActiveOptimized);
    }

    [Fact]
    public async Task EventEndpointRestart_DuringAnEvent_TheTargetSeesTheSubscriberGone_AndTheAgentGoesOn()
    {
        await using AluaTarget target = await AluaTarget.StartAsync();
        string helper = target.WriteScript("slow.sh", """
            if [ "$SCST_TARGET_GROUP" = tg2 ]; then sleep 2; fi
            exit 0
            """);
        await using Agent agent = await target.StartAgentAsync(["-p", helper]);
        Task<int> cut = target.PublishStpgAsync(("tg2", "active"));
        await agent.WaitForLogAsync("[9030]");

        await target.RestartEventEndpointAsync();

        (await cut).Should().Be(ScstEventStatus.SubscriberGone, agent.Log);
        await agent.WaitForLogAsync("[9001]", count: 2);
        (await target.PublishStpgAsync(("tg1", "standby"))).Should().Be(0, agent.Log);
        await agent.WaitForLogAsync("[9014]");
        agent.Log.Should().Contain("The status 0 of STPG event 1 did not reach the target: the connection to the event endpoint is closed");
    }

    [Fact]
    public async Task MalformedStpgPayload_CompletesWithEInval()
    {
        await using AluaTarget target = await AluaTarget.StartAsync();
        await using Agent agent = await target.StartAgentAsync(["--mgmt-socket", target.ManagementSocket]);

        var truncated = new ScstEvent(ScstEventCode.StpgUserInvoke, ScstEvents.CoreIssuerName, new byte[StpgUserInvokeEvent.HeaderSize - 1], id: 1);
        int status = await target.Bus.PublishAndWaitAsync(truncated, s_wait, TestContext.Current.CancellationToken);

        status.Should().Be(-22, agent.Log);
    }

    [Fact]
    public async Task TaskManagementEvent_IsLogged()
    {
        await using AluaTarget target = await AluaTarget.StartAsync();
        await using Agent agent = await target.StartAgentAsync(["--mgmt-socket", target.ManagementSocket]);

        target.Bus.Publish(ScstEvents.TaskManagementFunctionReceived(
            new TaskManagementFunctionReceivedEvent(4, 0, "null0", ScstStack.InitiatorName, ScstStack.TargetName, "sess1", 0, ReadOnlyMemory<byte>.Empty)));

        await agent.WaitForLogAsync("[9020]");
        agent.Log.Should().Contain($"Task management function LUN RESET received: LUN 0, device 'null0', initiator {ScstStack.InitiatorName}");
    }

    [Fact]
    public async Task CommandLine_NoHelperAndNoManagementSocket_IsABadUsage()
    {
        await using Agent agent = await Agent.StartAsync(["--events-socket", "/nonexistent/events.sock"]);

        (await agent.WaitForExitAsync()).Should().Be(2);
        agent.Log.Should().Contain("give --mgmt-socket");
    }

    // A helper that writes its arguments to DIR/TG.args and the variables it was given to DIR/TG.env, then exits.
    private static string Recorder(string directory, string exitCode) => $$"""
        out="{{directory}}/$SCST_TARGET_GROUP"
        printf '%s\n' "$@" > "$out.args"
        {
          echo "SCST_DEVICE_NAME=$SCST_DEVICE_NAME"
          echo "SCST_PREV_ALUA_STATE=$SCST_PREV_ALUA_STATE"
          echo "SCST_ALUA_STATE=$SCST_ALUA_STATE"
          echo "SCST_DEVICE_GROUP=$SCST_DEVICE_GROUP"
          echo "SCST_TARGET_GROUP=$SCST_TARGET_GROUP"
          echo "SCST_MGMT_SOCKET=${SCST_MGMT_SOCKET-unset}"
          echo "PATH=$PATH"
        } > "$out.env"
        exit {{exitCode}}
        """;

    [Fact]
    public async Task StpgFromAnInitiator_IsCarriedOutByTheAgent_AndTheInitiatorsSeeTheNewStates()
    {
        await using AluaTarget target = await AluaTarget.StartAsync();
        await using Agent agent = await target.StartAgentAsync(["--mgmt-socket", target.ManagementSocket]);
        LocalSession issuer = target.OpenSession(ScstStack.TargetName);
        LocalSession other = target.OpenSession("tgt2");

        // tg1 (the issuer's port) to standby, tg2 to active/optimized.
        LocalResult result = await SetTargetPortGroupsAsync(issuer, (AluaState.Standby, 1), (AluaState.ActiveOptimized, 2));

        result.Status.Should().Be(ScsiStatus.Good, agent.Log);
        target.Group("tg1").State.Should().Be(AluaState.Standby);
        target.Group("tg2").State.Should().Be(AluaState.ActiveOptimized);
        SenseAssert.IsCheckCondition(await TestUnitReadyAsync(issuer), SenseCode.TargetPortInStandbyState);
        SenseAssert.IsCheckCondition(await TestUnitReadyAsync(other), SenseCode.AsymmetricAccessStateChanged);
        SenseAssert.IsGood(await TestUnitReadyAsync(other));

        byte[] groups = await ReportTargetPortGroupsAsync(other);
        (groups[4] & 0x0F).Should().Be((int)AluaState.Standby, "tg1");
        groups[4 + 5].Should().Be(0x01, "altered by SET TARGET PORT GROUPS");
        (groups[16] & 0x0F).Should().Be((int)AluaState.ActiveOptimized, "tg2");
        groups[16 + 5].Should().Be(0x01);
    }

    [Fact]
    public async Task StpgFromAnInitiator_WhoseHelperFails_EndsWithSetTargetPortGroupsFailed_AndNothingChanges()
    {
        await using AluaTarget target = await AluaTarget.StartAsync();
        string helper = target.WriteScript("fail.sh", "exit 3");
        await using Agent agent = await target.StartAgentAsync(["-p", helper]);
        LocalSession issuer = target.OpenSession(ScstStack.TargetName);

        LocalResult result = await SetTargetPortGroupsAsync(issuer, (AluaState.ActiveOptimized, 2));

        SenseAssert.IsCheckCondition(result, SenseCode.SetTargetPortGroupsFailed);
        target.Group("tg2").State.Should().Be(AluaState.Standby);
        await agent.WaitForLogAsync("[9012]");
    }

    private static ValueTask<LocalResult> SetTargetPortGroupsAsync(LocalSession session, params (AluaState State, int GroupId)[] requests)
    {
        byte[] list = CdbBuilder.TargetPortGroupDescriptors(requests);
        return session.ExecuteAsync(0, CdbBuilder.SetTargetPortGroups(list.Length), DataDirection.Write, list);
    }

    private static ValueTask<LocalResult> TestUnitReadyAsync(LocalSession session) =>
        session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty);

    private static async Task<byte[]> ReportTargetPortGroupsAsync(LocalSession session)
    {
        var data = new byte[1024];
        LocalResult result = await session.ExecuteAsync(0, CdbBuilder.ReportTargetPortGroups(), DataDirection.Read, data);
        SenseAssert.IsGood(result);
        return data[..result.TransferredLength];
    }

    /// <summary>
    /// The core with null0 in device group dg: target group tg1 (id 1, state active) holds the local target tgt,
    /// tg2 (id 2, standby) holds tgt2; an event endpoint and a management endpoint on sockets in a temp directory.
    /// </summary>
    private sealed class AluaTarget : IAsyncDisposable
    {
        private readonly TempDirectory _directory;
        private readonly ScstStack _stack;
        private readonly ManagementEndpoint _management;
        private ScstEventEndpoint _events;

        private AluaTarget(TempDirectory directory, ScstStack stack, ScstEventEndpoint events, ManagementEndpoint management)
        {
            _directory = directory;
            _stack = stack;
            _events = events;
            _management = management;
        }

        public string Directory => _directory.Path;

        public IScstEventBus Bus => _stack.Events;

        public string EventsSocket => _events.SocketPath;

        public string ManagementSocket => _management.SocketPath;

        public static async Task<AluaTarget> StartAsync()
        {
            var directory = new TempDirectory();
            ScstStack stack = await ScstStack.StartNullIoAsync();
            ScsiTarget second = stack.Engine.AddTarget(stack.LocalDriver, "tgt2");
            stack.Engine.MapLun(second, 0, "null0");
            DeviceGroup dg = stack.Engine.CreateDeviceGroup("dg");
            dg.AddDevice("null0");
            TargetGroup tg1 = dg.CreateTargetGroup("tg1");
            tg1.GroupId = 1;
            tg1.AddTarget(ScstStack.TargetName);
            TargetGroup tg2 = dg.CreateTargetGroup("tg2");
            tg2.GroupId = 2;
            tg2.AddTarget("tgt2");
            tg2.State = AluaState.Standby;
            stack.Engine.FindDevice("null0")!.ExplicitAlua = true;

            ScstEventEndpoint events = NewEventEndpoint(stack.Events, directory.File("events.sock"));
            await events.StartAsync(TestContext.Current.CancellationToken);
            var management = new ManagementEndpoint(stack.Engine, Options.Create(new ManagementEndpointOptions { SocketPath = directory.File("mgmt.sock") }));
            await management.StartAsync(TestContext.Current.CancellationToken);
            return new AluaTarget(directory, stack, events, management);
        }

        public TargetGroup Group(string name) => _stack.Engine.FindDeviceGroup("dg")!.FindTargetGroup(name)!;

        /// <summary>An I_T nexus to null0 through <paramref name="target"/> over the Local transport.</summary>
        public LocalSession OpenSession(string target) => _stack.OpenSession(target);

        public string File(string name) => _directory.File(name);

        /// <summary>Writes an executable /bin/sh script.</summary>
        public string WriteScript(string name, string body)
        {
            string path = _directory.File(name);
            System.IO.File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
            System.IO.File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            return path;
        }

        /// <summary>Starts the agent on this target's event socket, with <paramref name="args"/> after it.</summary>
        public Task<Agent> StartAgentAsync(string[] args, IDictionary<string, string?>? environment = null) =>
            Agent.StartAsync(["--events-socket", EventsSocket, "-v", .. args], environment, waitForSubscription: true);

        /// <summary>Publishes an STPG for null0 that moves the named groups from their current state, as the core would.</summary>
        public Task<int> PublishStpgAsync(params (string Group, string NewState)[] changes) =>
            PublishAsync([.. changes.Select(c =>
            {
                TargetGroup group = Group(c.Group);
                return new StpgDescriptor((ushort)group.GroupId, TargetGroup.StateName(group.State), c.NewState, "dg", group.Name);
            })]);

        public Task<int> PublishAsync(params StpgDescriptor[] descriptors)
        {
            var stpg = new StpgUserInvokeEvent(0x1234, "null0", descriptors);
            return Bus.PublishAndWaitAsync(ScstEvents.StpgUserInvoke(stpg, id: 1), s_wait, TestContext.Current.CancellationToken);
        }

        /// <summary>Stops the event endpoint (the agent's connection ends) and starts a new one on the same socket.</summary>
        public async Task RestartEventEndpointAsync()
        {
            string path = _events.SocketPath;
            await _events.DisposeAsync();
            _events = NewEventEndpoint(_stack.Events, path);
            await _events.StartAsync(TestContext.Current.CancellationToken);
        }

        public async ValueTask DisposeAsync()
        {
            await _events.DisposeAsync();
            await _management.DisposeAsync();
            await _stack.DisposeAsync();
            _directory.Dispose();
        }

        private static ScstEventEndpoint NewEventEndpoint(IScstEventBus bus, string path) =>
            new(bus, Options.Create(new ScstEventEndpointOptions { SocketPath = path }));
    }

    /// <summary>A running scst-stpgd and the lines it logged (stderr and stdout).</summary>
    private sealed class Agent : IAsyncDisposable
    {
        private readonly List<Process> _processes;
        private readonly Process _process;
        private readonly StringBuilder _log = new();
        private readonly Lock _lock = new();

        private Agent(Process process)
        {
            _process = process;
            _processes = [process];
        }

        public string Log
        {
            get
            {
                lock (_lock)
                {
                    return _log.ToString();
                }
            }
        }

        public static async Task<Agent> StartAsync(string[] args, IDictionary<string, string?>? environment = null, bool waitForSubscription = false)
        {
            var info = new ProcessStartInfo(SamplePrograms.Dotnet)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
            };
            info.ArgumentList.Add(SamplePrograms.Find("Scst.Samples.Stpgd", "scst-stpgd.dll"));
            foreach (string a in args)
            {
                info.ArgumentList.Add(a);
            }

            info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            info.Environment.Remove("SCST_MGMT_SOCKET");
            foreach ((string name, string? value) in environment ?? new Dictionary<string, string?>())
            {
                info.Environment[name] = value;
            }

            Process process = Process.Start(info)!;
            var agent = new Agent(process);
            process.OutputDataReceived += (_, e) => agent.Append(e.Data);
            process.ErrorDataReceived += (_, e) => agent.Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            process.StandardInput.Close();
            if (waitForSubscription)
            {
                await agent.WaitForLogAsync("[9001]");
            }

            return agent;
        }

        /// <summary>Waits until <paramref name="text"/> appeared in <paramref name="count"/> lines.</summary>
        public async Task WaitForLogAsync(string text, int count = 1)
        {
            var clock = Stopwatch.StartNew();
            while (Count(text) < count)
            {
                if (clock.Elapsed > s_wait || _process.HasExited)
                {
                    await Task.Delay(100, TestContext.Current.CancellationToken); // the last lines of an ended agent
                    throw new TestAssertionException($"scst-stpgd did not log '{text}' {count} time(s) (exited: {_process.HasExited}). Its log:\n{Log}");
                }

                await Task.Delay(20, TestContext.Current.CancellationToken);
            }
        }

        /// <summary>Sends a signal (TERM, INT...) to the agent.</summary>
        public void Signal(string name)
        {
            using Process kill = Process.Start("/bin/kill", ["-" + name, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
            kill.ExitCode.Should().Be(0, $"kill -{name} {_process.Id}");
        }

        public async Task<int> WaitForExitAsync()
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            limit.CancelAfter(s_wait);
            await _process.WaitForExitAsync(limit.Token);
            return _process.ExitCode;
        }

        public ValueTask DisposeAsync()
        {
            ChildProcesses.KillAll(_processes);
            TestContext.Current.TestOutputHelper?.WriteLine("scst-stpgd's log:\n" + Log);
            return ValueTask.CompletedTask;
        }

        private void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_lock)
            {
                _log.Append(line).Append('\n');
            }
        }

        private int Count(string text)
        {
            string log = Log;
            int count = 0;
            for (int at = log.IndexOf(text, StringComparison.Ordinal); at >= 0; at = log.IndexOf(text, at + text.Length, StringComparison.Ordinal))
            {
                count++;
            }

            return count;
        }
    }

    private static class Processes
    {
        /// <summary>Whether process <paramref name="pid"/> is gone (or a zombie nobody reaped yet) within <paramref name="within"/>.</summary>
        public static async Task<bool> EndedAsync(int pid, TimeSpan within)
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                string stat;
                try
                {
                    stat = System.IO.File.ReadAllText($"/proc/{pid}/stat");
                }
                catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or IOException)
                {
                    return true;
                }

                // "pid (comm) S ...": the state follows the last ')'.
                if (stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z'))
                {
                    return true;
                }

                if (clock.Elapsed > within)
                {
                    return false;
                }

                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
        }
    }
}
