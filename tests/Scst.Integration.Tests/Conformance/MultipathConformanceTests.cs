// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Scst.Core;
using Scst.Core.Alua;
using Scst.Testing;
using Scst.Testing.Conformance;
using Scst.Transport.Iscsi;

namespace Scst.Integration.Tests.Conformance;

/// <summary>
/// libiscsi's multipath suite, <c>iscsi-test-cu -t SCSI.MultipathIO URL1 URL2</c>, over two real paths rather than two
/// sessions through one portal: one session through each URL, each a different way into the same logical unit. Two
/// set-ups, each a fresh target:
/// <list type="bullet">
/// <item>one target listening on two portals of 127.0.0.1, each its own portal group (tags 1 and 2);</item>
/// <item>two targets, each reachable on its own portal only, exporting the same device as LUN 0, in two target groups of
/// one device group (ALUA): two SCSI target ports, as a multipath host sees two controllers. It runs with both groups
/// active/optimized, and again with the second active/non-optimized (which still serves every command).</item>
/// </list>
/// Every test of the suite must really pass (no skip line, no failure line), and the target must have logged a session
/// in through each portal (so the second URL really was a second path).
/// </summary>
public sealed class MultipathConformanceTests
{
    private const string Suite = "SCSI.MultipathIO";

    [Fact]
    public async Task MultipathIo_OneTargetOnTwoPortalGroups_EveryTestReallyPasses()
    {
        // Two portal groups rather than two portals of one group: each portal is then an iSCSI target port of its own
        // (target name plus tag), so an initiator that logs in through both with one initiator port (the same ISID) gets
        // two sessions, two I_T nexuses, instead of the second login reinstating the first (RFC 7143 section 4.4.1),
        // and a failed portal takes down only its own group's sessions.
        await using MultipathTarget target = await MultipathTarget.StartAsync(
            ["127.0.0.1:0,1", "127.0.0.1:0,2"],
            [(MultipathTarget.First, null)]);
        IPEndPoint first = target.Portal(1);
        IPEndPoint second = target.Portal(2);

        IscsiTestCuRun run = await RunSuiteAsync(target.Url(first, MultipathTarget.First), target.Url(second, MultipathTarget.First));

        await AssertEveryTestReallyPassedAsync(run, "one target, two portal groups", target);
        target.AssertLoggedInThrough(MultipathTarget.First, first, 1);
        target.AssertLoggedInThrough(MultipathTarget.First, second, 2);
    }

    [Theory]
    [InlineData(AluaState.ActiveOptimized)]
    [InlineData(AluaState.ActiveNonOptimized)]
    public async Task MultipathIo_TwoTargetPortsInOneDeviceGroup_EveryTestReallyPasses(AluaState secondGroupState)
    {
        // Each target is allowed on its own portal address only, as two controllers each own their ports.
        await using MultipathTarget target = await MultipathTarget.StartAsync(
            ["127.0.0.1:0,1", "127.0.0.2:0,2"],
            [(MultipathTarget.First, "127.0.0.1"), (MultipathTarget.Second, "127.0.0.2")]);
        TargetGroup secondGroup = target.CreateDeviceGroup(secondGroupState);
        IPEndPoint first = target.Portal(1);
        IPEndPoint second = target.Portal(2);

        IscsiTestCuRun run = await RunSuiteAsync(target.Url(first, MultipathTarget.First), target.Url(second, MultipathTarget.Second));

        await AssertEveryTestReallyPassedAsync(run, $"two target ports, second group {TargetGroup.StateName(secondGroupState)}", target);
        target.AssertLoggedInThrough(MultipathTarget.First, first, 1);
        target.AssertLoggedInThrough(MultipathTarget.Second, second, 2);
        secondGroup.State.Should().Be(secondGroupState, "the run leaves the configured access state alone");
    }

    private static Task<IscsiTestCuRun> RunSuiteAsync(string url, string secondUrl) =>
        IscsiTestCuRunner.RunAsync(new IscsiTestCuOptions
        {
            Url = url,
            SecondUrl = secondUrl,
            Filter = Suite,
            Timeout = TimeSpan.FromMinutes(2),
        }, TestContext.Current.CancellationToken);

    private static async Task AssertEveryTestReallyPassedAsync(IscsiTestCuRun run, string setUp, MultipathTarget target)
    {
        string outcomes = $"{setUp}, {run.Elapsed.TotalSeconds:F1} s:" + string.Concat(run.Results.Select(r =>
            $"{Environment.NewLine}  {r.Outcome,-12} {r.FullName}{(r.Outcome == IscsiTestOutcome.ReallyPassed ? string.Empty : " -- " + r.Reason)}"));
        TestContext.Current.TestOutputHelper?.WriteLine(outcomes);
        Console.WriteLine(outcomes);
        string diagnostics = $"{outcomes}{Environment.NewLine}output:{Environment.NewLine}{run.StandardOutput}{run.StandardError}" +
            $"{Environment.NewLine}target log:{Environment.NewLine}{string.Join(Environment.NewLine, target.Logs.Faults)}";

        run.Completed.Should().BeTrue($"the run must reach CUnit's summary ({diagnostics})");
        IReadOnlyList<string> listed = await IscsiTestCuRunner.ListAsync(cancellationToken: TestContext.Current.CancellationToken);
        IReadOnlyList<string> suite = [.. listed.Where(t => t.StartsWith(Suite + ".", StringComparison.Ordinal))];
        suite.Should().NotBeEmpty("iscsi-test-cu --list names the multipath tests");
        run.Results.Select(r => r.FullName).Should().BeEquivalentTo(suite, $"every multipath test runs once ({diagnostics})");
        run.Results.Where(r => r.Outcome != IscsiTestOutcome.ReallyPassed).Select(r => $"{r.FullName}: {r.Outcome} ({r.Reason})")
            .Should().BeEmpty($"every multipath test really passes over two paths ({diagnostics})");
    }

    /// <summary>
    /// An in-process target for the multipath runs: vdisk_fileio over a small sparse file (the suite touches its first
    /// blocks only), exported as LUN 0 of one or two iSCSI targets, with every completed login recorded with its portal.
    /// </summary>
    private sealed class MultipathTarget : IAsyncDisposable
    {
        public const string First = "iqn.2026-11.org.scst-dotnet:mpath-a";
        public const string Second = "iqn.2026-11.org.scst-dotnet:mpath-b";
        private const string Device = "mpath0";

        private readonly string _directory = Path.Combine(Path.GetTempPath(), "scst-mpath-" + Guid.NewGuid().ToString("N"));
        private readonly LoginRecorder _logins = new();
        private IHost? _host;

        private MultipathTarget()
        {
        }

        public RecordingLoggerProvider Logs { get; } = new() { MinimumLevel = LogLevel.Information };

        private IscsiTargetDriver Driver => _host!.Services.GetRequiredService<IscsiTargetDriver>();

        private ScstEngine Engine => _host!.Services.GetRequiredService<ScstEngine>();

        /// <summary>Starts a target on <paramref name="portals"/>, each listed target allowed on one address (or everywhere).</summary>
        public static async Task<MultipathTarget> StartAsync(string[] portals, (string Name, string? AllowedPortal)[] targets)
        {
            var target = new MultipathTarget();
            try
            {
                await target.StartHostAsync(portals, targets);
                return target;
            }
            catch
            {
                await target.DisposeAsync();
                throw;
            }
        }

        /// <summary>The portal listening in portal group <paramref name="tag"/>.</summary>
        public IPEndPoint Portal(ushort tag) => Driver.Portals().Single(p => p.Tag == tag).EndPoint;

        public string Url(IPEndPoint portal, string target) => $"iscsi://{portal.Address}:{portal.Port}/{target}/0";

        /// <summary>
        /// Puts the device in device group <c>dg</c> with target group 1 (the first target, active/optimized) and target
        /// group 2 (the second target, in <paramref name="secondState"/>); returns group 2.
        /// </summary>
        public TargetGroup CreateDeviceGroup(AluaState secondState)
        {
            DeviceGroup group = Engine.CreateDeviceGroup("dg");
            group.AddDevice(Device);
            TargetGroup one = group.CreateTargetGroup("controller-a");
            one.GroupId = 1;
            one.State = AluaState.ActiveOptimized;
            one.AddTarget(First);
            TargetGroup two = group.CreateTargetGroup("controller-b");
            two.GroupId = 2;
            two.State = secondState;
            two.AddTarget(Second);

            ScsiDevice device = Engine.FindDevice(Device)!;
            ScstEngine.FindTargetGroup(device, Engine.FindTarget(IscsiTargetDriver.DriverName, First)!).Should().BeSameAs(one);
            ScstEngine.FindTargetGroup(device, Engine.FindTarget(IscsiTargetDriver.DriverName, Second)!).Should().BeSameAs(two);
            return two;
        }

        /// <summary>Asserts that a Normal session to <paramref name="target"/> logged in through <paramref name="portal"/>.</summary>
        public void AssertLoggedInThrough(string target, IPEndPoint portal, ushort tag)
        {
            IReadOnlyList<Login> logins = [.. _logins.Logins];
            logins.Should().Contain(
                l => l.Target == target && l.SessionType == "Normal" && Equals(l.Portal, portal) && l.PortalGroupTag == tag,
                $"iscsi-test-cu logs in to {target} through {portal} (group {tag}); the target saw: {string.Join("; ", logins)}");
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                if (_host is not null)
                {
                    using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                    await _host.StopAsync(stop.Token);
                    _host.Dispose();
                }
            }
            finally
            {
                try
                {
                    Directory.Delete(_directory, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }

        private async Task StartHostAsync(string[] portals, (string Name, string? AllowedPortal)[] targets)
        {
            Directory.CreateDirectory(_directory);
            HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Logging.AddProvider(Logs);
            builder.Logging.AddProvider(_logins);

            // libiscsi meets the target as initiators do: every new session starts with POWER ON / RESET.
            IScstBuilder scst = builder.Services.AddScst(o => o.UnitAttentionOnNewNexus = true)
                .AddVdiskHandlers()
                .AddIscsiTarget(o =>
                {
                    foreach (string portal in portals)
                    {
                        o.Portals.Add(portal);
                    }

                    foreach ((string name, string? allowed) in targets)
                    {
                        if (allowed is not null)
                        {
                            o.TargetAccess[name] = new IscsiTargetAccess { AllowedPortals = [allowed] };
                        }
                    }
                })
                .AddDevice("vdisk_fileio", Device, new Dictionary<string, string>
                {
                    ["filename"] = Path.Combine(_directory, "disk.img"),
                    ["size"] = "64M",
                    ["blocksize"] = "512",
                    ["thin_provisioned"] = "0",
                });
            foreach ((string name, _) in targets)
            {
                scst.AddTarget(IscsiTargetDriver.DriverName, name, t => t.AddLun(0, Device));
            }

            _host = builder.Build();
            using var start = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _host.StartAsync(start.Token);
        }
    }

    /// <summary>A completed login as the driver logged it (event <see cref="IscsiEventIds.LoginCompleted"/>).</summary>
    private sealed record Login(string? Target, string? SessionType, EndPoint? Portal, ushort PortalGroupTag);

    /// <summary>Records the iSCSI driver's completed logins from the structured state of its log event.</summary>
    private sealed class LoginRecorder : ILoggerProvider, ILogger
    {
        private readonly ConcurrentQueue<Login> _logins = new();

        public IReadOnlyCollection<Login> Logins => _logins;

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id != IscsiEventIds.LoginCompleted || state is not IReadOnlyList<KeyValuePair<string, object?>> fields)
            {
                return;
            }

            object? Field(string name) => fields.FirstOrDefault(f => f.Key == name).Value;
            _logins.Enqueue(new Login(
                Field("Target") as string,
                Field("SessionType") as string,
                Field("Portal") as EndPoint,
                Field("PortalGroupTag") is ushort tag ? tag : (ushort)0));
        }

        public void Dispose()
        {
        }
    }
}
