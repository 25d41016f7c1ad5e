// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi;
using Scst.Transport.Iscsi.Protocol;
using LoginResult = Scst.Testing.Iscsi.LoginResult;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>
/// The iSCSI driver on a dual-stack host: portals 127.0.0.1:P (group 1) and [::1]:P (group 2), the same port on both
/// loopback addresses. SendTargets answers the portal it was asked through first, an IPv6 one in brackets
/// (<c>[::1]:P,2</c>, RFC 7143 section 13.8), then the other family's; a Normal session logs in and reads over IPv6.
/// The machine must have an IPv6 loopback address: without one the tests fail (they do not skip), saying so.
/// </summary>
public sealed class IscsiIpv6PortalTests(IscsiIpv6PortalTests.DualStackFixture fixture) : IClassFixture<IscsiIpv6PortalTests.DualStackFixture>
{
    private const string Target = "iqn.2026-11.test:dual-stack";
    private const string Initiator = "iqn.2026-11.test:dual-stack-initiator";
    private const int BlockSize = 512;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SendTargets_ThroughIpv6Loopback_AnswersThatPortalFirst_ThenTheIpv4One()
    {
        IReadOnlyList<string> addresses = await DiscoverAsync(fixture.Ipv6);

        addresses.Should().Equal($"[::1]:{fixture.Port},2", $"127.0.0.1:{fixture.Port},1");
    }

    [Fact]
    public async Task SendTargets_ThroughIpv4Loopback_AnswersThatPortalFirst_ThenTheIpv6One()
    {
        IReadOnlyList<string> addresses = await DiscoverAsync(fixture.Ipv4);

        addresses.Should().Equal($"127.0.0.1:{fixture.Port},1", $"[::1]:{fixture.Port},2");
    }

    [Fact]
    public async Task LoginAndRead_ThroughIpv6Loopback_Work()
    {
        await using IscsiTestInitiator initiator = await IscsiTestInitiator.ConnectAsync(fixture.Ipv6, Ct);
        LoginResult login = await initiator.LoginAsync(IscsiTestInitiator.NormalKeys(Target, Initiator), Ct);
        login.Status.Should().Be(LoginStatus.Success);
        login.Key("TargetPortalGroupTag").Should().Be("2", "the IPv6 portal is in group 2");

        ScsiResult read = await initiator.ExecuteAsync(0, Cdbs.Read10(8, 16), readLength: 16 * BlockSize, cancellationToken: Ct);

        read.Status.Should().Be(ScsiResult.Good);
        read.Data.Should().Equal(fixture.Image.AsSpan(8 * BlockSize, 16 * BlockSize).ToArray(), "the blocks read over IPv6 are the image's");
        (await initiator.LogoutAsync(Ct)).Response.Should().Be(LogoutResponse.Success);
    }

    private static async Task<IReadOnlyList<string>> DiscoverAsync(IPEndPoint portal)
    {
        await using IscsiTestInitiator initiator = await IscsiTestInitiator.ConnectAsync(portal, Ct);
        (await initiator.LoginAsync(IscsiTestInitiator.DiscoveryKeys(Initiator), Ct)).Status.Should().Be(LoginStatus.Success);
        IReadOnlyList<KeyValuePair<string, string>> keys = await initiator.SendTargetsAsync("All", Ct);
        keys.Where(k => k.Key == "TargetName").Select(k => k.Value).Should().Equal([Target], "the host has one target");
        return [.. keys.Where(k => k.Key == "TargetAddress").Select(k => k.Value)];
    }

    /// <summary>One target (vdisk_fileio over a 1 MiB file of a known pattern) on 127.0.0.1:P and [::1]:P.</summary>
    public sealed class DualStackFixture : IAsyncLifetime
    {
        private readonly string _directory = Path.Combine(Path.GetTempPath(), "scst-dual-stack-" + Guid.NewGuid().ToString("N"));
        private IHost? _host;

        public byte[] Image { get; } = Cdbs.Pattern(1 << 20, seed: 0x5A);

        public int Port { get; private set; }

        public IPEndPoint Ipv4 => new(IPAddress.Loopback, Port);

        public IPEndPoint Ipv6 => new(IPAddress.IPv6Loopback, Port);

        public async ValueTask InitializeAsync()
        {
            RequireIpv6Loopback();
            Directory.CreateDirectory(_directory);
            string image = Path.Combine(_directory, "disk.img");
            await File.WriteAllBytesAsync(image, Image);

            // The same port on both addresses: bound here first, then given to the driver (another process could take
            // it in between, so a few tries).
            for (int attempt = 1; ; attempt++)
            {
                int port = FreePortOnBothLoopbacks();
                HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
                builder.Services.AddScst(o => o.UnitAttentionOnNewNexus = false)
                    .AddVdiskHandlers()
                    .AddIscsiTarget(o =>
                    {
                        o.Portals.Add($"127.0.0.1:{port},1");
                        o.Portals.Add($"[::1]:{port},2");
                    })
                    .AddDevice("vdisk_fileio", "disk0", new Dictionary<string, string> { ["filename"] = image, ["blocksize"] = "512" })
                    .AddTarget(IscsiTargetDriver.DriverName, Target, t => t.AddLun(0, "disk0"));
                IHost host = builder.Build();
                try
                {
                    using var start = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                    await host.StartAsync(start.Token);
                }
                catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse && attempt < 5)
                {
                    host.Dispose();
                    continue;
                }

                _host = host;
                Port = port;
                break;
            }

            _host.Services.GetRequiredService<IscsiTargetDriver>().LocalEndPoints.Should().BeEquivalentTo([Ipv4, Ipv6]);
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                if (_host is not null)
                {
                    await _host.StopAsync(CancellationToken.None);
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

        private static void RequireIpv6Loopback()
        {
            try
            {
                using var probe = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
                probe.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            }
            catch (SocketException ex)
            {
                throw new InvalidOperationException(
                    "This machine has no IPv6 loopback address (::1), which the dual-stack portal tests need: binding [::1]:0 failed " +
                    $"with {ex.SocketErrorCode} ({ex.Message}). Enable IPv6 on lo (sysctl net.ipv6.conf.lo.disable_ipv6=0; in a " +
                    "container, start it with IPv6 enabled).", ex);
            }
        }

        // A port free on 127.0.0.1 and on ::1 at the moment of asking.
        private static int FreePortOnBothLoopbacks()
        {
            for (int i = 0; i < 20; i++)
            {
                using var v4 = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                v4.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                int port = ((IPEndPoint)v4.LocalEndPoint!).Port;
                using var v6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    v6.Bind(new IPEndPoint(IPAddress.IPv6Loopback, port));
                    return port;
                }
                catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
                {
                }
            }

            throw new InvalidOperationException("No port was free on both 127.0.0.1 and ::1 in 20 tries.");
        }
    }
}
