// Licensed under the Apache License, Version 2.0.

using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Scst.Core;
using Scst.Events;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi;
using Scst.Transport.Iscsi.Protocol;
using LoginResult = Scst.Testing.Iscsi.LoginResult;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>
/// Per-initiator and per-portal access over real TCP: SendTargets lists only what the initiator may see through the
/// portal it came in on, a login it may not make fails (0x0202 for an initiator without LUNs, 0x0203 for a portal the
/// target is not allowed on), and admitted initiators do I/O meanwhile. Two portals: 127.0.0.1 and 127.0.0.2.
/// </summary>
public sealed class IscsiAccessTests(IscsiAccessTests.AccessFixture fixture) : IClassFixture<IscsiAccessTests.AccessFixture>
{
    /// <summary>Every initiator sees LUN 0.</summary>
    public const string Open = "iqn.2026-11.test:open";

    /// <summary>No default LUN; group "allowed" (initiators iqn.2026-11.test:good*) sees LUN 0.</summary>
    public const string Closed = "iqn.2026-11.test:closed";

    /// <summary>LUN 0 for everyone, but only through portals matching 127.0.0.2.</summary>
    public const string Portal2Target = "iqn.2026-11.test:portal2";

    /// <summary>Per-portal ACL: no default LUN; group "via2" (pattern *#127.0.0.2) sees LUN 0.</summary>
    public const string PerPortal = "iqn.2026-11.test:perportal";

    private const string Good = "iqn.2026-11.test:good-host";
    private const string Stranger = "iqn.2026-11.test:stranger";
    private const int Block = 512;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SendTargets_ListsOnlyTheTargetsTheInitiatorSeesALunOf()
    {
        IReadOnlyList<string> good = await DiscoverAsync(fixture.Portal1, Good);
        IReadOnlyList<string> stranger = await DiscoverAsync(fixture.Portal1, Stranger);

        good.Should().Contain([Open, Closed]);
        stranger.Should().Contain(Open).And.NotContain(Closed);
    }

    [Fact]
    public async Task SendTargetsByName_ForAHiddenTarget_AnswersNothing()
    {
        await using IscsiTestInitiator initiator = await IscsiTestInitiator.ConnectAsync(fixture.Portal1, Ct);
        (await initiator.LoginAsync(IscsiTestInitiator.DiscoveryKeys(Stranger), Ct)).Status.Should().Be(LoginStatus.Success);

        IReadOnlyList<KeyValuePair<string, string>> keys = await initiator.SendTargetsAsync(Closed, Ct);

        keys.Should().BeEmpty();
    }

    [Fact]
    public async Task Login_InitiatorWithoutLuns_Fails0202_WhileAnAdmittedSessionKeepsDoingIo()
    {
        await using IscsiTestInitiator good = await LoginAsync(fixture.Portal1, Closed, Good + "-io");
        byte[] data = Cdbs.Pattern(8 * Block, seed: 41);
        (await good.ExecuteAsync(0, Cdbs.Write10(100, 8), writeData: data, cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);
        using ScstEventSubscription events = fixture.Events.Subscribe(new ScstEventFilter(ScstEventCode.NegativeLunsInquiry));

        await using IscsiTestInitiator stranger = await IscsiTestInitiator.ConnectAsync(fixture.Portal1, Ct);
        LoginResult refused = await stranger.LoginAsync(IscsiTestInitiator.NormalKeys(Closed, Stranger), Ct);

        refused.Status.Should().Be(LoginStatus.AuthorizationFailure);
        (await stranger.WaitForCloseAsync(TimeSpan.FromSeconds(5), Ct)).Should().BeTrue("a failed login closes the connection");
        ScsiResult read = await good.ExecuteAsync(0, Cdbs.Read10(100, 8), readLength: data.Length, cancellationToken: Ct);
        read.Status.Should().Be(ScsiResult.Good);
        read.Data.Should().Equal(data);
        events.TryRead(out ScstEvent? e).Should().BeTrue("the refusal asked the core, which publishes event 2 as SCST's does");
        NegativeLunsInquiryEvent.Parse(e!.Payload.Span).Should().Be(new NegativeLunsInquiryEvent(Stranger, Closed));
    }

    [Fact]
    public async Task AllowedPortal_TheTargetIsAbsentAndRefused0203OnOtherPortals_AndServedOnTheAllowedOne()
    {
        IReadOnlyList<string> throughPortal1 = await DiscoverAsync(fixture.Portal1, Stranger);
        await using IscsiTestInitiator discovery2 = await IscsiTestInitiator.ConnectAsync(fixture.Portal2, Ct);
        (await discovery2.LoginAsync(IscsiTestInitiator.DiscoveryKeys(Stranger), Ct)).Status.Should().Be(LoginStatus.Success);
        IReadOnlyList<KeyValuePair<string, string>> throughPortal2 = await discovery2.SendTargetsAsync("All", Ct);

        throughPortal1.Should().Contain(Open).And.NotContain(Portal2Target);
        throughPortal2.Select(k => (k.Key, k.Value)).Should().Contain([("TargetName", Portal2Target), ("TargetAddress", $"127.0.0.2:{fixture.Portal2.Port},1")]);

        await using IscsiTestInitiator refused = await IscsiTestInitiator.ConnectAsync(fixture.Portal1, Ct);
        (await refused.LoginAsync(IscsiTestInitiator.NormalKeys(Portal2Target, Stranger), Ct)).Status.Should().Be(LoginStatus.NotFound);

        await using IscsiTestInitiator admitted = await LoginAsync(fixture.Portal2, Portal2Target, Stranger + "-p2");
        (await admitted.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);
    }

    [Fact]
    public async Task PerPortalAcl_TheGroupPatternSeesThePortal_AndTheSessionCarriesIt()
    {
        IReadOnlyList<string> throughPortal1 = await DiscoverAsync(fixture.Portal1, Stranger);
        IReadOnlyList<string> throughPortal2 = await DiscoverAsync(fixture.Portal2, Stranger);

        throughPortal1.Should().NotContain(PerPortal);
        throughPortal2.Should().Contain(PerPortal);
        await using IscsiTestInitiator refused = await IscsiTestInitiator.ConnectAsync(fixture.Portal1, Ct);
        (await refused.LoginAsync(IscsiTestInitiator.NormalKeys(PerPortal, Stranger), Ct)).Status.Should().Be(LoginStatus.AuthorizationFailure);

        await using IscsiTestInitiator admitted = await LoginAsync(fixture.Portal2, PerPortal, Stranger + "-pp");
        (await admitted.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);
        fixture.Target(PerPortal).Sessions.Select(s => s.InitiatorName).Should().Contain($"{Stranger}-pp#127.0.0.2");
    }

    [Fact]
    public async Task InitiatorChanges_ApplyToTheNextDiscoveryAndLogin_AndToTheOpenSessionAtOnce()
    {
        const string Late = "iqn.2026-11.test:late-comer";
        SecurityGroup allowed = fixture.Target(Closed).FindGroup("allowed")!;
        await using (IscsiTestInitiator before = await IscsiTestInitiator.ConnectAsync(fixture.Portal1, Ct))
        {
            (await before.LoginAsync(IscsiTestInitiator.NormalKeys(Closed, Late), Ct)).Status.Should().Be(LoginStatus.AuthorizationFailure);
        }

        allowed.AddInitiator(Late).Should().BeTrue();
        try
        {
            (await DiscoverAsync(fixture.Portal1, Late)).Should().Contain(Closed);
            await using IscsiTestInitiator session = await LoginAsync(fixture.Portal1, Closed, Late);
            (await session.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);

            allowed.RemoveInitiator(Late).Should().BeTrue();

            // SCST re-evaluates open sessions: this one now sees the target's (empty) default LUNs.
            ScsiResult lost = await session.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct);
            lost.Status.Should().Be(ScsiResult.CheckCondition);
            lost.SenseCodes.Should().Be(((byte)0x05, (byte)0x25, (byte)0x00), "LUN 0 is not one the session has any more");
            (await DiscoverAsync(fixture.Portal1, Late)).Should().NotContain(Closed);
        }
        finally
        {
            allowed.RemoveInitiator(Late);
        }
    }

    private async Task<IscsiTestInitiator> LoginAsync(IPEndPoint portal, string target, string initiatorName)
    {
        IscsiTestInitiator initiator = await IscsiTestInitiator.ConnectAsync(portal, Ct);
        LoginResult login = await initiator.LoginAsync(IscsiTestInitiator.NormalKeys(target, initiatorName), Ct);
        login.Status.Should().Be(LoginStatus.Success);
        return initiator;
    }

    private static async Task<IReadOnlyList<string>> DiscoverAsync(IPEndPoint portal, string initiatorName)
    {
        await using IscsiTestInitiator initiator = await IscsiTestInitiator.ConnectAsync(portal, Ct);
        (await initiator.LoginAsync(IscsiTestInitiator.DiscoveryKeys(initiatorName), Ct)).Status.Should().Be(LoginStatus.Success);
        IReadOnlyList<KeyValuePair<string, string>> keys = await initiator.SendTargetsAsync("All", Ct);
        await initiator.LogoutAsync(Ct);
        return [.. keys.Where(k => k.Key == "TargetName").Select(k => k.Value)];
    }

    /// <summary>
    /// The core with four devices (disk1, of the closed target, on a file so that data round-trips; the others nullio)
    /// and the four targets above, served on 127.0.0.1 and 127.0.0.2.
    /// </summary>
    public sealed class AccessFixture : IAsyncLifetime
    {
        private readonly Scst.Testing.TempDirectory _directory = new();
        private IHost? _host;

        public IPEndPoint Portal1 { get; private set; } = null!;

        public IPEndPoint Portal2 { get; private set; } = null!;

        public IScstEventBus Events => _host!.Services.GetRequiredService<IScstEventBus>();

        public ScsiTarget Target(string name) => _host!.Services.GetRequiredService<ScstEngine>().FindTarget(IscsiTargetDriver.DriverName, name)!;

        public async ValueTask InitializeAsync()
        {
            HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            IScstBuilder scst = builder.Services.AddScst(o => o.UnitAttentionOnNewNexus = false)
                .AddVdiskHandlers()
                .AddIscsiTarget(o =>
                {
                    o.Portals.Add("127.0.0.1:0");
                    o.Portals.Add("127.0.0.2:0");
                    o.TargetAccess[Portal2Target] = new IscsiTargetAccess { AllowedPortals = ["127.0.0.2"] };
                    o.TargetAccess[PerPortal] = new IscsiTargetAccess { PerPortalAcl = true };
                });
            foreach (int i in (int[])[0, 2, 3])
            {
                scst.AddDevice("vdisk_nullio", $"null{i}", new Dictionary<string, string> { ["size"] = "64M" });
            }

            scst.AddDevice("vdisk_fileio", "disk1", new Dictionary<string, string> { ["filename"] = _directory.File("disk1.img"), ["size"] = "16M" });

            scst.AddTarget(IscsiTargetDriver.DriverName, Open, t => t.AddLun(0, "null0"))
                .AddTarget(IscsiTargetDriver.DriverName, Closed, t => t.AddGroup("allowed", g => g.AddInitiator("iqn.2026-11.test:good*").AddLun(0, "disk1")))
                .AddTarget(IscsiTargetDriver.DriverName, Portal2Target, t => t.AddLun(0, "null2"))
                .AddTarget(IscsiTargetDriver.DriverName, PerPortal, t => t.AddGroup("via2", g => g.AddInitiator("*#127.0.0.2").AddLun(0, "null3")));
            _host = builder.Build();
            using var start = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _host.StartAsync(start.Token);
            IReadOnlyList<IPEndPoint> endPoints = _host.Services.GetRequiredService<IscsiTargetDriver>().LocalEndPoints;
            Portal1 = endPoints.Single(e => e.Address.Equals(IPAddress.Parse("127.0.0.1")));
            Portal2 = endPoints.Single(e => e.Address.Equals(IPAddress.Parse("127.0.0.2")));
        }

        public async ValueTask DisposeAsync()
        {
            if (_host is not null)
            {
                await _host.StopAsync(CancellationToken.None);
                _host.Dispose();
            }

            _directory.Dispose();
        }
    }
}
