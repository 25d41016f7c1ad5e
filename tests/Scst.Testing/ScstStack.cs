// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Scst.Core;
using Scst.Events;
using Scst.Transport.Local;

namespace Scst.Testing;

/// <summary>
/// The real stack as an application composes it: <c>AddLogging</c>, <c>AddScst</c>, the vdisk handlers and the local
/// transport in a <see cref="ServiceCollection"/>, started by running its hosted services. Dispose stops them in reverse
/// order and disposes the container.
/// </summary>
public sealed class ScstStack : IAsyncDisposable
{
    /// <summary>The name of the local target that <see cref="StartAsync(string, string, IDictionary{string, string}, Action{ScstOptions}?)"/> creates.</summary>
    public const string TargetName = "tgt";

    public const string InitiatorName = "iqn.2024-01.test:initiator";

    private readonly ServiceProvider _provider;
    private readonly List<LocalSession> _sessions = [];
    private IHostedService[] _started = [];

    private ScstStack(ServiceProvider provider) => _provider = provider;

    public IServiceProvider Services => _provider;

    public ScstEngine Engine => _provider.GetRequiredService<ScstEngine>();

    public IScstEventBus Events => _provider.GetRequiredService<IScstEventBus>();

    public LocalTargetDriver LocalDriver => _provider.GetRequiredService<LocalTargetDriver>();

    /// <summary>Builds the container; nothing is created until <see cref="StartAsync()"/>.</summary>
    public static ScstStack Create(Action<IScstBuilder>? configure = null, Action<ScstOptions>? options = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        // Tests about other things start without the POWER ON / RESET unit attention of a new nexus; tests of it turn it on.
        IScstBuilder builder = services.AddScst(o =>
        {
            o.UnitAttentionOnNewNexus = false;
            options?.Invoke(o);
        }).AddVdiskHandlers().AddLocalTransport();
        configure?.Invoke(builder);
        return new ScstStack(services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true }));
    }

    /// <summary>Builds and starts a stack with one device mapped as LUN 0 of target <see cref="TargetName"/>.</summary>
    public static async Task<ScstStack> StartAsync(string handler, string deviceName, IDictionary<string, string> parameters, Action<ScstOptions>? options = null)
    {
        ScstStack stack = Create(
            b => b.AddDevice(handler, deviceName, parameters).AddTarget(LocalTargetDriver.DriverName, TargetName, t => t.AddLun(0, deviceName)),
            options);
        await stack.StartAsync();
        return stack;
    }

    /// <summary>Builds and starts a stack with <paramref name="device"/> (made by the test, not a handler) as LUN 0.</summary>
    public static async Task<ScstStack> StartWithDeviceAsync(ScsiDevice device, Action<ScstOptions>? options = null)
    {
        ScstStack stack = Create(b => b.AddTarget(LocalTargetDriver.DriverName, TargetName), options);
        await stack.StartAsync();
        stack.Engine.RegisterDevice(device);
        stack.Engine.MapLun(stack.Target(), 0, device.Name);
        return stack;
    }

    /// <summary>Starts a stack with a vdisk_nullio device of <paramref name="size"/> bytes as LUN 0.</summary>
    public static Task<ScstStack> StartNullIoAsync(string size = "64M", int blockSize = 512, Action<ScstOptions>? options = null) =>
        StartAsync("vdisk_nullio", "null0", new Dictionary<string, string> { ["size"] = size, ["blocksize"] = blockSize.ToString(System.Globalization.CultureInfo.InvariantCulture) }, options);

    /// <summary>Starts a stack with a vdisk_fileio device on <paramref name="path"/> (created sparse when missing) as LUN 0.</summary>
    public static Task<ScstStack> StartFileIoAsync(string path, string size = "1M", int blockSize = 512, bool readOnly = false, Action<ScstOptions>? options = null) =>
        StartAsync("vdisk_fileio", "disk0", new Dictionary<string, string>
        {
            ["filename"] = path,
            ["size"] = size,
            ["blocksize"] = blockSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["read_only"] = readOnly ? "1" : "0",
        }, options);

    /// <summary>Runs every hosted service's StartAsync, in registration order, as the generic host does.</summary>
    public async Task StartAsync()
    {
        IHostedService[] hosted = [.. _provider.GetServices<IHostedService>()];
        foreach (IHostedService h in hosted)
        {
            await h.StartAsync(CancellationToken.None);
        }

        _started = hosted;
    }

    /// <summary>Opens a local session (closed by <see cref="DisposeAsync"/>).</summary>
    public LocalSession OpenSession(string target = TargetName, string initiator = InitiatorName)
    {
        LocalSession session = LocalDriver.OpenSession(target, initiator);
        _sessions.Add(session);
        return session;
    }

    /// <summary>The target named <paramref name="name"/> of the local driver.</summary>
    public ScsiTarget Target(string name = TargetName) =>
        Engine.FindTarget(LocalTargetDriver.DriverName, name) ?? throw new TestAssertionException($"No local target '{name}'.");

    /// <summary>Fails when a data buffer or a command object of any open session is still held.</summary>
    public void AssertNoLeaks()
    {
        if (Engine.OutstandingBuffers != 0)
        {
            throw new TestAssertionException($"{Engine.OutstandingBuffers} data buffer(s) were not returned to the pool.");
        }

        foreach (LocalSession s in _sessions)
        {
            if (s.Session.CommandsInUse != 0)
            {
                throw new TestAssertionException($"Session of {s.Session.InitiatorName}: {s.Session.CommandsInUse} command(s) not released.");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (LocalSession s in _sessions)
        {
            s.Dispose();
        }

        for (int i = _started.Length - 1; i >= 0; i--)
        {
            await _started[i].StopAsync(CancellationToken.None);
        }

        await _provider.DisposeAsync();
    }
}
