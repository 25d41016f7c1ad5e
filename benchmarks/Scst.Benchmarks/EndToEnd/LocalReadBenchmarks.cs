// Licensed under the Apache License, Version 2.0.

using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Scst.Core;
using Scst.Transport.Local;

namespace Scst.Benchmarks.EndToEnd;

/// <summary>
/// One 4 KiB READ(10) through the whole core (session, LUN lookup, CDB decode, command pool, handler, response) on a
/// vdisk_nullio device, submitted by the in-process initiator <see cref="LocalSession"/>. The engine is built through
/// the same DI registration an application uses.
/// </summary>
public class LocalReadBenchmarks
{
    private const int Lun = 0;

    // READ(10) LBA 2048, 8 blocks of 512 bytes.
    private readonly byte[] _read10 = [0x28, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x08, 0x00];
    private readonly byte[] _data = new byte[4096];
    private LocalBench? _bench;

    [GlobalSetup]
    public void Setup()
    {
        _bench = LocalBench.Create();

        // The first command of a new session reports the power-on UNIT ATTENTION; consume it.
        for (int i = 0; i < 4; i++)
        {
            if (_bench.Session.ExecuteAsync(Lun, _read10, DataDirection.Read, _data).AsTask().GetAwaiter().GetResult().Status == ScsiStatus.Good)
            {
                return;
            }
        }

        throw new InvalidOperationException("READ(10) on the nullio LUN does not return GOOD.");
    }

    [GlobalCleanup]
    public void Cleanup() => _bench?.Dispose();

    [Benchmark]
    public int Read4K()
    {
        ValueTask<LocalResult> pending = _bench!.Session.ExecuteAsync(Lun, _read10, DataDirection.Read, _data);
        LocalResult result = pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
        return result.TransferredLength;
    }
}

/// <summary>A ScstEngine with one vdisk_nullio LUN behind a scst_local target, and a session to it.</summary>
internal sealed class LocalBench : IDisposable
{
    private const int Lun = 0;

    private readonly ServiceProvider _services;

    private LocalBench(ServiceProvider services, LocalSession session)
    {
        _services = services;
        Session = session;
    }

    public LocalSession Session { get; }

    public static LocalBench Create()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddScst()
            .AddVdiskHandlers()
            .AddLocalTransport()
            .AddDevice("vdisk_nullio", "null0")
            .AddTarget(LocalTargetDriver.DriverName, "bench", t => t.AddLun(Lun, "null0"));
        ServiceProvider provider = services.BuildServiceProvider();

        // What ScstHostedService.StartAsync does: make the drivers known, then create devices, targets and LUNs.
        ScstEngine engine = provider.GetRequiredService<ScstEngine>();
        foreach (ITargetDriver driver in provider.GetServices<ITargetDriver>())
        {
            engine.RegisterDriver(driver);
        }

        engine.ApplyConfiguration();
        LocalSession session = provider.GetRequiredService<LocalTargetDriver>().OpenSession("bench", "iqn.2026-11.org.scst-dotnet:bench-initiator");
        return new LocalBench(provider, session);
    }

    public void Dispose()
    {
        Session.Dispose();

        // The container disposes the engine (IAsyncDisposable only), which closes the device.
        _services.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
