// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Scst.Core;
using Scst.Core.Management;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi;
using Scst.Transport.Iscsi.Protocol;
using LoginResult = Scst.Testing.Iscsi.LoginResult;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>
/// The iSCSI driver's files in the management tree that SCST's iSCSI driver has: the driver's <c>link_local</c>,
/// <c>isns_entity_name</c>, <c>iSNSServer</c> and <c>iSNSAccessControl</c>, a target's <c>tid</c>, and a session's
/// negotiated keys, <c>sid</c>, <c>reinstating</c> and connection directories, over real TCP on loopback.
/// </summary>
public sealed class IscsiManagementAttributeTests
{
    private const string First = "iqn.2026-11.test:attr-first";
    private const string Second = "iqn.2026-11.test:attr-second";
    private const string Third = "iqn.2026-11.test:attr-third";
    private const string Initiator = "iqn.2026-11.test:attr-initiator";
    private const string Driver = "targets/iscsi";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Tid_NumbersTargetsInCreationOrder_IsReadOnly_AndIsNotGivenAgainAfterRemoval()
    {
        await using Running host = await StartAsync();
        var engine = host.Services.GetRequiredService<ScstEngine>();
        var tree = new ManagementTree(engine);

        tree.Read($"{Driver}/{First}/tid").Message.Should().Be("1\n", "read-only, so never a key");
        tree.Read($"{Driver}/{Second}/tid").Message.Should().Be("2\n");
        tree.Read($"{Driver}/{Third}/tid").Message.Should().Be("3\n");
        (await tree.WriteAsync($"{Driver}/{First}/tid", "7")).Succeeded.Should().BeFalse();

        (await engine.RemoveTargetAsync(engine.FindTarget("iscsi", Second)!)).Should().BeTrue();
        (await tree.WriteAsync($"{Driver}/mgmt", "add_target iqn.2026-11.test:attr-fourth")).Should().Be(ManagementResult.Ok);
        (await tree.WriteAsync($"{Driver}/mgmt", $"add_target {Second}")).Should().Be(ManagementResult.Ok);

        tree.Read($"{Driver}/iqn.2026-11.test:attr-fourth/tid").Message.Should().Be("4\n", "SCST's counter goes on past a removed target's id");
        tree.Read($"{Driver}/{Second}/tid").Message.Should().Be("5\n");
        tree.Read($"{Driver}/{First}/tid").Message.Should().Be("1\n");
    }

    [Fact]
    public async Task DriverAttributes_HaveScstsDefaults_AndTakeWrites()
    {
        await using Running host = await StartAsync();
        var driver = host.Services.GetRequiredService<IscsiTargetDriver>();
        var tree = new ManagementTree(host.Services.GetRequiredService<ScstEngine>());

        tree.Read($"{Driver}/link_local").Message.Should().Be("1\n");
        tree.Read($"{Driver}/isns_entity_name").Message.Should().Be("\n");
        tree.Read($"{Driver}/iSNSServer").Message.Should().Be("\n");
        tree.Read($"{Driver}/iSNSAccessControl").Message.Should().Be("0\n");

        (await tree.WriteAsync($"{Driver}/link_local", "0")).Should().Be(ManagementResult.Ok);
        (await tree.WriteAsync($"{Driver}/isns_entity_name", Second)).Should().Be(ManagementResult.Ok);
        (await tree.WriteAsync($"{Driver}/isns_entity_name", "two words")).Succeeded.Should().BeFalse();

        tree.Read($"{Driver}/link_local").Message.Should().Be("0\n[key]\n");
        driver.Options.LinkLocal.Should().BeFalse();
        tree.Read($"{Driver}/isns_entity_name").Message.Should().Be(Second + "\n[key]\n", "a refused write leaves the value");
        driver.Options.IsnsEntityName.Should().Be(Second);
    }

    [Fact]
    public async Task IsnsServer_TakesScstsSyntax_AccessControlIsAlsoItsOwnFile_AndAChangeReplacesTheClient()
    {
        await using Running host = await StartAsync();
        var driver = host.Services.GetRequiredService<IscsiTargetDriver>();
        var tree = new ManagementTree(host.Services.GetRequiredService<ScstEngine>());

        (await tree.WriteAsync($"{Driver}/iSNSServer", "127.0.0.1:1 AccessControl")).Should().Be(ManagementResult.Ok);
        await driver.IsnsChange.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        tree.Read($"{Driver}/iSNSServer").Message.Should().Be("127.0.0.1:1 AccessControl\n[key]\n");
        tree.Read($"{Driver}/iSNSAccessControl").Message.Should().Be("1\n", "saved in iSNSServer, as SCST saves it, so never a key of its own");
        driver.Isns.Should().NotBeNull("the driver runs, so the new server's client started");
        (await tree.WriteAsync($"{Driver}/iSNSAccessControl", "0")).Should().Be(ManagementResult.Ok);
        tree.Read($"{Driver}/iSNSServer").Message.Should().Be("127.0.0.1:1\n[key]\n");
        (await tree.WriteAsync($"{Driver}/iSNSServer", "127.0.0.1:1 NoSuchFlag")).Succeeded.Should().BeFalse();
        (await tree.WriteAsync($"{Driver}/iSNSServer", "127.0.0.1:99999")).Succeeded.Should().BeFalse();
        tree.Read($"{Driver}/iSNSServer").Message.Should().Be("127.0.0.1:1\n[key]\n", "a refused write changes nothing");

        (await tree.WriteAsync($"{Driver}/iSNSServer", string.Empty)).Should().Be(ManagementResult.Ok);
        await driver.IsnsChange.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        tree.Read($"{Driver}/iSNSServer").Message.Should().Be("\n");
        driver.Isns.Should().BeNull();
    }

    [Fact]
    public async Task IsnsAccessControl_ServerUnreachable_AdmitsNobody_UntilAccessControlIsTurnedOff()
    {
        int closedPort = ClosedPort();
        await using Running host = await StartAsync(o =>
        {
            o.IsnsServer = $"127.0.0.1:{closedPort}";
            o.IsnsAccessControl = true;
        });
        var driver = host.Services.GetRequiredService<IscsiTargetDriver>();
        IPEndPoint portal = driver.LocalEndPoints[0];

        (await DiscoverAsync(portal, Initiator)).Should().BeEmpty("no answer from the iSNS server: no initiator is known to share a domain");
        await using (IscsiTestInitiator refused = await IscsiTestInitiator.ConnectAsync(portal, Ct))
        {
            (await refused.LoginAsync(IscsiTestInitiator.NormalKeys(First, Initiator), Ct)).Status.Should().Be(LoginStatus.AuthorizationFailure);
        }

        (await new ManagementTree(host.Services.GetRequiredService<ScstEngine>()).WriteAsync($"{Driver}/iSNSAccessControl", "0")).Should().Be(ManagementResult.Ok);

        (await DiscoverAsync(portal, Initiator)).Should().Contain([First, Second, Third]);
        await using IscsiTestInitiator admitted = await IscsiTestInitiator.ConnectAsync(portal, Ct);
        (await admitted.LoginAsync(IscsiTestInitiator.NormalKeys(First, Initiator), Ct)).Status.Should().Be(LoginStatus.Success);
    }

    [Fact]
    public async Task LinkLocal_On_SendTargetsListsTheLinkLocalPortalWithItsInterface_Off_LeavesItOut()
    {
        (NetworkInterface nic, IPAddress linkLocal) = LinkLocalAddress();
        await using Running host = await StartAsync();
        var driver = host.Services.GetRequiredService<IscsiTargetDriver>();
        IPEndPoint loopback = driver.LocalEndPoints[0];
        IPEndPoint bound = driver.AddPortal($"[{linkLocal}]:0,5");
        string expected = $"[{new IPAddress(linkLocal.GetAddressBytes())}%{nic.Name}]:{bound.Port},5";

        IReadOnlyList<string> on = await AddressesAsync(loopback, First);
        (await new ManagementTree(host.Services.GetRequiredService<ScstEngine>()).WriteAsync($"{Driver}/link_local", "0")).Should().Be(ManagementResult.Ok);
        IReadOnlyList<string> off = await AddressesAsync(loopback, First);

        on.Should().Equal($"127.0.0.1:{loopback.Port},1", expected);
        off.Should().Equal($"127.0.0.1:{loopback.Port},1");
    }

    [Fact]
    public async Task Session_ShowsItsNegotiatedKeys_Sid_Reinstating_AndADirectoryPerConnection()
    {
        await using Running host = await StartAsync(o => o.MaxConnections = 2);
        var driver = host.Services.GetRequiredService<IscsiTargetDriver>();
        var tree = new ManagementTree(host.Services.GetRequiredService<ScstEngine>());
        IPEndPoint portal = driver.LocalEndPoints[0];
        List<KeyValuePair<string, string>> keys = IscsiTestInitiator.NormalKeys(First, Initiator, maxRecvDataSegmentLength: 16_384, immediateData: false,
            initialR2T: false, maxBurstLength: 131_072, firstBurstLength: 32_768, headerDigest: "CRC32C");
        keys.Add(new("MaxConnections", "2"));
        await using IscsiTestInitiator leading = await IscsiTestInitiator.ConnectAsync(portal, Ct);
        LoginResult login = await leading.LoginAsync(keys, Ct);
        login.Status.Should().Be(LoginStatus.Success);
        // A command answered: the connection is in the full feature phase, which the target enters after its last
        // login response has gone.
        await leading.ClearUnitAttentionAsync(0, Ct);
        await using IscsiTestInitiator second = await IscsiTestInitiator.ConnectAsync(portal, Ct);
        second.Isid = leading.Isid;
        second.Tsih = login.Tsih;
        second.Cid = 1;
        (await second.LoginAsync(keys, Ct)).Status.Should().Be(LoginStatus.Success);
        await second.ClearUnitAttentionAsync(0, Ct);
        string session = $"{Driver}/{First}/sessions/{Initiator}";

        string Read(string file) => tree.Read($"{session}/{file}").Message;

        Read("InitialR2T").Should().Be("No\n");
        Read("ImmediateData").Should().Be("No\n");
        Read("MaxRecvDataSegmentLength").Should().Be("262144\n", "the target's own receive limit");
        Read("MaxXmitDataSegmentLength").Should().Be("16384\n", "what the target sends: the initiator's receive limit");
        Read("MaxBurstLength").Should().Be("131072\n");
        Read("FirstBurstLength").Should().Be("32768\n");
        Read("MaxOutstandingR2T").Should().Be("1\n");
        Read("HeaderDigest").Should().Be("CRC32C\n");
        Read("DataDigest").Should().Be("None\n");
        Read("MaxConnections").Should().Be("2\n");
        Read("sid").Should().Be(ScstSid(leading.Isid, login.Tsih) + "\n");
        Read("reinstating").Should().Be("0\n");
        tree.List(session).Message.Should().EndWith("127.0.0.1/\n127.0.0.1_1/\n", "one directory per connection, a repeated address numbered");
        tree.List($"{session}/127.0.0.1").Message.Should().Be("cid\nip\nstate\ntarget_ip\ntransport\n");
        Read("127.0.0.1/cid").Should().Be("0\n");
        Read("127.0.0.1_1/cid").Should().Be("1\n");
        Read("127.0.0.1/ip").Should().Be("127.0.0.1\n");
        Read("127.0.0.1/target_ip").Should().Be("127.0.0.1\n");
        Read("127.0.0.1/state").Should().Be("established idle\n");
        Read("127.0.0.1/transport").Should().Be("TCP\n");
    }

    [Theory]
    [InlineData(0x400001370000UL, (ushort)1, "100000037010040")]
    [InlineData(0x00023d000001UL, (ushort)7, "7000100003d0200")]
    public void Sid_IsTheWireBytesOfIsidAndTsih_ReadLittleEndian(ulong isid, ushort tsih, string sid)
    {
        IscsiSessionManagement.Sid(isid, tsih).Should().Be(sid);
        ScstSid(isid, tsih).Should().Be(sid, "the expectation of the session test agrees");
    }

    // SCST's sid on x86: the 6 ISID bytes and the 2 TSIH bytes of the login request, in wire order, read as a
    // little-endian 64-bit number.
    private static string ScstSid(ulong isid, ushort tsih)
    {
        byte[] wire = new byte[8];
        for (int i = 0; i < 6; i++)
        {
            wire[i] = (byte)(isid >> (8 * (5 - i)));
        }

        wire[6] = (byte)(tsih >> 8);
        wire[7] = (byte)tsih;
        return BinaryPrimitives.ReadUInt64LittleEndian(wire).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<Running> StartAsync(Action<IscsiTargetOptions>? configure = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddScst()
            .AddVdiskHandlers()
            .AddIscsiTarget(o =>
            {
                o.Portals.Add("127.0.0.1:0");
                o.LogoutRequestTimeout = TimeSpan.Zero;
                configure?.Invoke(o);
            })
            .AddDevice("vdisk_nullio", "null1", new Dictionary<string, string> { ["size"] = "1M" })
            .AddTarget("iscsi", First, t => t.AddLun(0, "null1"))
            .AddTarget("iscsi", Second, t => t.AddLun(0, "null1"))
            .AddTarget("iscsi", Third, t => t.AddLun(0, "null1"));
        IHost host = builder.Build();
        await host.StartAsync(Ct);
        return new Running(host);
    }

    private static async Task<IReadOnlyList<string>> DiscoverAsync(IPEndPoint portal, string initiator)
    {
        await using IscsiTestInitiator discovery = await IscsiTestInitiator.ConnectAsync(portal, Ct);
        (await discovery.LoginAsync(IscsiTestInitiator.DiscoveryKeys(initiator), Ct)).Status.Should().Be(LoginStatus.Success);
        return [.. (await discovery.SendTargetsAsync("All", Ct)).Where(k => k.Key == "TargetName").Select(k => k.Value)];
    }

    // The TargetAddress values SendTargets gives for one target.
    private static async Task<IReadOnlyList<string>> AddressesAsync(IPEndPoint portal, string target)
    {
        await using IscsiTestInitiator discovery = await IscsiTestInitiator.ConnectAsync(portal, Ct);
        (await discovery.LoginAsync(IscsiTestInitiator.DiscoveryKeys(Initiator), Ct)).Status.Should().Be(LoginStatus.Success);
        List<string> addresses = [];
        string? current = null;
        foreach ((string key, string value) in await discovery.SendTargetsAsync("All", Ct))
        {
            if (key == "TargetName")
            {
                current = value;
            }
            else if (key == "TargetAddress" && current == target)
            {
                addresses.Add(value);
            }
        }

        return addresses;
    }

    private static int ClosedPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    // An IPv6 link-local address of this machine (every interface with IPv6 but loopback has one), with its zone.
    private static (NetworkInterface Nic, IPAddress Address) LinkLocalAddress()
    {
        foreach (NetworkInterface nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus != OperationalStatus.Up)
            {
                continue;
            }

            foreach (UnicastIPAddressInformation a in nic.GetIPProperties().UnicastAddresses)
            {
                if (a.Address.IsIPv6LinkLocal)
                {
                    return (nic, a.Address);
                }
            }
        }

        throw new InvalidOperationException("This test needs an IPv6 link-local address on an interface that is up; the machine has none.");
    }

    /// <summary>A started host, stopped and disposed at the end of the test whatever happened.</summary>
    private sealed class Running(IHost host) : IAsyncDisposable
    {
        public IServiceProvider Services => host.Services;

        public async ValueTask DisposeAsync()
        {
            await host.StopAsync(CancellationToken.None);
            host.Dispose();
        }
    }
}
