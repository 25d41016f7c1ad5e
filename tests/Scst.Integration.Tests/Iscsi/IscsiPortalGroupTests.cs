// Licensed under the Apache License, Version 2.0.

using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Scst.Core;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi;
using Scst.Transport.Iscsi.Protocol;
using LoginResult = Scst.Testing.Iscsi.LoginResult;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>
/// Portal groups and the per-target attributes of SCST's iSCSI driver: a portal group tag per portal, in the login and in
/// SendTargets; sessions told apart by portal group; login redirection; MaxSessions, QueuedCommands, alias, the keys a
/// target offers and MaxXmitDataSegmentLength; a portal removed while sessions use it.
/// </summary>
public sealed class IscsiPortalGroupTests(IscsiPortalGroupTests.PortalGroupFixture fixture) : IClassFixture<IscsiPortalGroupTests.PortalGroupFixture>
{
    private const string Plain = "iqn.2026-11.test:pg-plain";
    private const string Tuned = "iqn.2026-11.test:pg-tuned";
    private const string Single = "iqn.2026-11.test:pg-single";
    private const string MovedTemporarily = "iqn.2026-11.test:pg-moved-temp";
    private const string MovedPermanently = "iqn.2026-11.test:pg-moved-perm";
    private static int s_next;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string UniqueInitiator() => $"iqn.2026-11.test:pg-initiator-{Interlocked.Increment(ref s_next)}";

    private static async Task<(IscsiTestInitiator Initiator, LoginResult Login)> LoginAsync(
        IPEndPoint portal, string target, string? initiatorName = null, ulong? isid = null, ushort tsih = 0, ushort cid = 0, int maxConnections = 1)
    {
        var initiator = await IscsiTestInitiator.ConnectAsync(portal, Ct);
        if (isid is { } i)
        {
            initiator.Isid = i;
        }

        initiator.Tsih = tsih;
        initiator.Cid = cid;
        var keys = IscsiTestInitiator.NormalKeys(target, initiatorName ?? UniqueInitiator(), headerDigest: "CRC32C,None");
        keys.Add(new("MaxConnections", maxConnections.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return (initiator, await initiator.LoginAsync(keys, Ct));
    }

    [Fact]
    public async Task Login_AnnouncesThePortalGroupTagOfThePortalItCameThrough()
    {
        var (first, viaGroup1) = await LoginAsync(fixture.Group1, Plain);
        await using var _ = first;
        var (second, viaGroup2) = await LoginAsync(fixture.Group2, Plain);
        await using var __ = second;

        viaGroup1.Key("TargetPortalGroupTag").Should().Be("1");
        viaGroup2.Key("TargetPortalGroupTag").Should().Be("2");
    }

    [Fact]
    public async Task SendTargets_ListsEveryPortalWithItsOwnTag_ThisOneFirst()
    {
        await using var initiator = await IscsiTestInitiator.ConnectAsync(fixture.Group2, Ct);
        (await initiator.LoginAsync(IscsiTestInitiator.DiscoveryKeys(UniqueInitiator()), Ct)).Status.Should().Be(LoginStatus.Success);

        var keys = await initiator.SendTargetsAsync("All", Ct);

        var addresses = AddressesOf(keys, Plain);
        addresses.Should().Equal(
            $"127.0.0.3:{fixture.Group2.Port},2",
            $"127.0.0.1:{fixture.Group1.Port},1");
    }

    [Fact]
    public async Task SameInitiatorPortThroughTwoPortalGroups_IsTwoSessions_NotAReinstatement()
    {
        string name = UniqueInitiator();
        var (first, one) = await LoginAsync(fixture.Group1, Plain, name, isid: 0x23_0000_0001);
        await using var _ = first;
        var (second, two) = await LoginAsync(fixture.Group2, Plain, name, isid: 0x23_0000_0001);
        await using var __ = second;

        one.Status.Should().Be(LoginStatus.Success);
        two.Status.Should().Be(LoginStatus.Success);
        (await first.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good, "the first session lives on");
        (await second.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);
        fixture.Target(Plain).Sessions.Count(s => s.InitiatorName == name).Should().Be(2);
    }

    [Fact]
    public async Task ConnectionThroughAnotherPortalGroup_CannotJoinTheSession()
    {
        string name = UniqueInitiator();
        var (first, login) = await LoginAsync(fixture.Group1, Tuned, name, maxConnections: 2);
        await using var _ = first;
        login.Key("MaxConnections").Should().Be("2");

        var (second, joined) = await LoginAsync(fixture.Group2, Tuned, name, isid: first.Isid, tsih: login.Tsih, cid: 1, maxConnections: 2);
        await using var __ = second;

        joined.Status.Should().Be(LoginStatus.SessionDoesNotExist, "a session's connections all belong to one portal group (RFC 7143 section 4.4.1)");
    }

    [Theory]
    [InlineData(MovedTemporarily, 0x0101, "192.0.2.7:3261,1")]
    [InlineData(MovedPermanently, 0x0102, "[2001:db8::7]:3260,1")]
    public async Task Redirect_AnswersWithTheNewAddress(string target, int status, string address)
    {
        var (initiator, login) = await LoginAsync(fixture.Group1, target);
        await using var _ = initiator;

        ((int)login.Status).Should().Be(status);
        login.Key("TargetAddress").Should().Be(address);
    }

    [Fact]
    public async Task MaxSessions_ASecondSessionIsRefused_UntilTheFirstEnds()
    {
        var (first, one) = await LoginAsync(fixture.Group1, Single);
        one.Status.Should().Be(LoginStatus.Success);
        var (second, refused) = await LoginAsync(fixture.Group1, Single);
        await using (second)
        {
            refused.Status.Should().Be(LoginStatus.OutOfResources);
        }

        (await first.LogoutAsync(Ct)).Response.Should().Be(LogoutResponse.Success);
        await first.DisposeAsync();
        await WaitUntilAsync(() => fixture.Target(Single).Sessions.Count == 0);

        var (third, again) = await LoginAsync(fixture.Group1, Single);
        await using var _ = third;
        again.Status.Should().Be(LoginStatus.Success);
    }

    [Fact]
    public async Task TargetSettings_AliasQueuedCommandsKeysAndMaxXmitDataSegmentLength_Apply()
    {
        var (initiator, login) = await LoginAsync(fixture.Group1, Tuned);
        await using var _ = initiator;

        login.Key("TargetAlias").Should().Be("tuned disk");
        (initiator.MaxCmdSn - initiator.CmdSn + 1).Should().Be(4, "the login response already opens a window of QueuedCommands");
        login.Key("ImmediateData").Should().Be("No", "the target offers no immediate data");
        login.Key("HeaderDigest").Should().Be("None", "the target offers no digest, whatever the driver does");
        var read = await initiator.ExecuteAsync(0, Cdbs.Read10(0, 32), readLength: 32 * 512, cancellationToken: Ct);
        read.Status.Should().Be(ScsiResult.Good);
        read.DataIn.Should().HaveCount(4, "Data-In segments stop at MaxXmitDataSegmentLength (4096), below the initiator's 8192");
        (initiator.MaxCmdSn - initiator.CmdSn + 1).Should().Be(4, "QueuedCommands sets the CmdSN window");
    }

    [Fact]
    public async Task RemovePortal_ItsSessionsAreAskedToLogOut_AndNewConnectionsAreRefused_AddPortalServesAgain()
    {
        IPEndPoint extra = fixture.Driver.AddPortal("127.0.0.4:0,7");
        var (initiator, login) = await LoginAsync(extra, Plain);
        await using var _ = initiator;
        login.Key("TargetPortalGroupTag").Should().Be("7");

        fixture.Driver.RemovePortal(extra).Should().BeTrue();

        var message = await initiator.ExpectAsync(IscsiOpcode.AsyncMessage, Ct);
        message.Header.AsAsyncMessage().Event.Should().Be(AsyncEvent.LogoutRequested);
        fixture.Driver.LocalEndPoints.Should().NotContain(extra);
        var refused = async () => { await using var late = await IscsiTestInitiator.ConnectAsync(extra, Ct); };
        await refused.Should().ThrowAsync<Exception>("nothing listens there any more");
        (await initiator.LogoutAsync(Ct)).Response.Should().Be(LogoutResponse.Success);
        fixture.Driver.RemovePortal(extra).Should().BeFalse();
    }

    private static List<string> AddressesOf(IReadOnlyList<KeyValuePair<string, string>> keys, string target)
    {
        var addresses = new List<string>();
        bool inTarget = false;
        foreach (var (key, value) in keys)
        {
            if (key == "TargetName")
            {
                inTarget = value == target;
            }
            else if (key == "TargetAddress" && inTarget)
            {
                addresses.Add(value);
            }
        }

        return addresses;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (int i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(50, Ct);
        }

        condition().Should().BeTrue();
    }

    /// <summary>Two portal groups (127.0.0.1 tag 1, 127.0.0.3 tag 2) and targets with their own iSCSI settings.</summary>
    public sealed class PortalGroupFixture : IAsyncLifetime
    {
        private IHost? _host;

        public IPEndPoint Group1 { get; private set; } = null!;

        public IPEndPoint Group2 { get; private set; } = null!;

        public IscsiTargetDriver Driver => _host!.Services.GetRequiredService<IscsiTargetDriver>();

        public ScsiTarget Target(string name) => _host!.Services.GetRequiredService<ScstEngine>().FindTarget(IscsiTargetDriver.DriverName, name)!;

        public async ValueTask InitializeAsync()
        {
            HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            IScstBuilder scst = builder.Services.AddScst(o => o.UnitAttentionOnNewNexus = false)
                .AddVdiskHandlers()
                .AddIscsiTarget(o =>
                {
                    o.Portals.Add("127.0.0.1:0");
                    o.Portals.Add("127.0.0.3:0,2");
                    o.MaxConnections = 2;
                    o.Targets[Tuned] = new IscsiTargetSettings
                    {
                        Alias = "tuned disk", QueuedCommands = 4, ImmediateData = false, HeaderDigest = "None", MaxXmitDataSegmentLength = 4096,
                    };
                    o.Targets[Single] = new IscsiTargetSettings { MaxSessions = 1 };
                    o.Targets[MovedTemporarily] = new IscsiTargetSettings { Redirect = "192.0.2.7:3261 temp" };
                    o.Targets[MovedPermanently] = new IscsiTargetSettings { Redirect = "[2001:db8::7]:3260 perm" };
                })
                .AddDevice("vdisk_nullio", "null0", new Dictionary<string, string> { ["size"] = "64M" });
            foreach (string target in (string[])[Plain, Tuned, Single, MovedTemporarily, MovedPermanently])
            {
                scst.AddTarget(IscsiTargetDriver.DriverName, target, t => t.AddLun(0, "null0"));
            }

            _host = builder.Build();
            using var start = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _host.StartAsync(start.Token);
            IReadOnlyList<IPEndPoint> endPoints = Driver.LocalEndPoints;
            Group1 = endPoints.Single(e => e.Address.Equals(IPAddress.Parse("127.0.0.1")));
            Group2 = endPoints.Single(e => e.Address.Equals(IPAddress.Parse("127.0.0.3")));
        }

        public async ValueTask DisposeAsync()
        {
            if (_host is not null)
            {
                await _host.StopAsync(CancellationToken.None);
                _host.Dispose();
            }
        }
    }
}
