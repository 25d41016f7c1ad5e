// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Scst.Core;
using Scst.Testing;
using Scst.Transport.Iscsi;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>
/// The iSCSI driver's iSNS client against a real iSNS server (open-isns's isnsd, Debian package open-isns-server, queried
/// with isnsadm from open-isns-utils): registration of the enabled targets, portals and portal groups, the change when a
/// target is disabled, state change notifications, and deregistration when the driver stops.
/// </summary>
public sealed class IsnsTests : IDisposable
{
    private const string Entity = "scst-dotnet.isns-test";
    private const string First = "iqn.2026-11.org.scst-dotnet:isns1";
    private const string Second = "iqn.2026-11.org.scst-dotnet:isns2";
    private readonly TempDirectory _dir = new();
    private Process? _isnsd;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        if (_isnsd is { HasExited: false })
        {
            _isnsd.Kill();
            _isnsd.WaitForExit(5000);
        }

        _isnsd?.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task TargetsAndPortals_AreRegistered_FollowChanges_GetNotifications_AndAreDeregisteredAtStop()
    {
        int isnsPort = await StartIsnsdAsync();
        IHost host = await StartTargetAsync(isnsPort);
        var driver = host.Services.GetRequiredService<IscsiTargetDriver>();
        int iscsiPort = driver.LocalEndPoints.Single().Port;
        await driver.Isns!.FirstRegistration.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        string nodes = await AdminAsync("--list", "nodes");
        string portals = await AdminAsync("--list", "portals");
        string groups = await AdminAsync("--list", "portal-groups");
        nodes.Should().Contain(First).And.Contain(Second).And.Contain("Target");
        portals.Should().Contain($"{iscsiPort}/tcp");
        groups.Should().Contain(First).And.Contain($"{iscsiPort}/tcp").And.Contain("Portal group tag = 1");

        host.Services.GetRequiredService<ScstEngine>().Targets.Single(t => t.Name == Second).Enabled = false;
        await WaitForAsync(async () => !(await AdminAsync("--list", "nodes")).Contains(Second, StringComparison.Ordinal), "the disabled target to leave the registration");
        (await AdminAsync("--list", "nodes")).Should().Contain(First);

        // An initiator joining the default discovery domain is an SCN for the registered target.
        await AdminAsync("--register", "entity=initiator-host", "initiator=iqn.2026-11.org.example:init1");
        await WaitForAsync(() => Task.FromResult(driver.Isns!.Notifications > 0), "an SCN to arrive on the client's SCN port");

        await host.StopAsync(Ct);
        host.Dispose();
        string entities = await AdminAsync("--list", "entities");
        entities.Should().NotContain(Entity, "the driver deregisters its entity when it stops");
        entities.Should().Contain("initiator-host");
    }

    private async Task<IHost> StartTargetAsync(int isnsPort)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddScst()
            .AddVdiskHandlers()
            .AddIscsiTarget(o =>
            {
                o.Portals.Add("127.0.0.1:0");
                o.IsnsServer = $"127.0.0.1:{isnsPort}";
                o.IsnsEntityIdentifier = Entity;
            })
            .AddDevice("vdisk_nullio", "null1", new Dictionary<string, string> { ["size"] = "1M" })
            .AddTarget("iscsi", First, t => t.AddLun(0, "null1"))
            .AddTarget("iscsi", Second, t => t.AddLun(0, "null1"));
        IHost host = builder.Build();
        await host.StartAsync(Ct);
        return host;
    }

    // isnsd in the foreground on a free loopback port, with its database, control socket and pid file in the test's
    // directory, no security and a default discovery domain.
    private async Task<int> StartIsnsdAsync()
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        Directory.CreateDirectory(_dir.File("db"));
        File.WriteAllText(_dir.File("isnsd.conf"), $"""
            SourceName = isns.test.server
            ServerAddress = 127.0.0.1:{port}
            BindAddress = 127.0.0.1:{port}
            Database = {_dir.File("db")}
            PIDFile = {_dir.File("isnsd.pid")}
            ControlSocket = {_dir.File("ctl")}
            Security = 0
            SLPRegister = 0
            DefaultDiscoveryDomain = 1
            """);
        File.WriteAllText(_dir.File("isnsadm.conf"), $"""
            SourceName = iqn.2026-11.org.scst-dotnet:isns-admin
            ServerAddress = 127.0.0.1:{port}
            ControlSocket = {_dir.File("ctl")}
            Security = 0
            """);
        _isnsd = Process.Start(new ProcessStartInfo("isnsd", ["--config", _dir.File("isnsd.conf"), "--foreground"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("isnsd did not start");
        _isnsd.OutputDataReceived += (_, _) => { };
        _isnsd.ErrorDataReceived += (_, _) => { };
        _isnsd.BeginOutputReadLine();
        _isnsd.BeginErrorReadLine();
        await WaitForAsync(() => Task.FromResult(File.Exists(_dir.File("ctl"))), "isnsd's control socket");
        return port;
    }

    private async Task<string> AdminAsync(params string[] arguments)
    {
        var info = new ProcessStartInfo("isnsadm", ["--config", _dir.File("isnsadm.conf"), "--local", .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process admin = Process.Start(info) ?? throw new InvalidOperationException("isnsadm did not start");
        Task<string> output = admin.StandardOutput.ReadToEndAsync(Ct);
        Task<string> errors = admin.StandardError.ReadToEndAsync(Ct);
        await admin.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        return await output + await errors;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException($"Waited 30 s for {what}.");
            }

            await Task.Delay(200, Ct);
        }
    }
}
