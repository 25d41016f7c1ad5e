// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Scst.Testing;
using Scst.Transport.Iscsi;
using Scst.Transport.Local;

namespace Scst.Integration.Tests.Fixtures;

/// <summary>
/// The whole stack in-process: core, vdisk_fileio over a 1 GiB sparse file in a temp directory, the iSCSI driver on
/// 127.0.0.1 with an ephemeral port, and scst_local on the same device (so both transports see the same data).
/// Disposal stops the host and fails when that takes longer than <see cref="StopBudget"/>: a test of clean shutdown.
/// </summary>
public class ScstTargetFixture : IAsyncLifetime
{
    public const string TargetName = "iqn.2026-11.org.scst-dotnet:itest";
    public const string LocalTargetName = "local-itest";
    public const long DiskBytes = 1L << 30;
    public const int BlockSize = 512;

    public static readonly TimeSpan StopBudget = TimeSpan.FromSeconds(5);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "scst-itest-" + Guid.NewGuid().ToString("N"));
    private IHost? _host;

    public IPEndPoint EndPoint { get; private set; } = null!;

    /// <summary>The latest log entries of the stack (Information and above), so a failing test can show what happened.</summary>
    public RecordingLoggerProvider Logs { get; } = new() { MinimumLevel = Microsoft.Extensions.Logging.LogLevel.Information };

    public IscsiTargetDriver IscsiDriver { get; private set; } = null!;

    public LocalTargetDriver LocalDriver { get; private set; } = null!;

    public string ImagePath => Path.Combine(_directory, "disk1.img");

    /// <summary>The libiscsi URL of LUN 0.</summary>
    public Scst.Core.ScstEngine Engine => _host!.Services.GetRequiredService<Scst.Core.ScstEngine>();

    public string Url => $"iscsi://{EndPoint.Address}:{EndPoint.Port}/{TargetName}/0";

    /// <summary>The handler of the device behind LUN 0 (vdisk_fileio); a derived fixture may serve another.</summary>
    protected virtual string DeviceHandler => "vdisk_fileio";

    /// <summary>Parameters of the vdisk_fileio device (filename, size, blocksize, thin_provisioned are set); a derived fixture may change them.</summary>
    protected virtual void ConfigureDevice(IDictionary<string, string> parameters)
    {
    }

    /// <summary>Options the iSCSI driver is built with; a derived fixture may change them.</summary>
    /// <summary>
    /// Whether new sessions start with the POWER ON / RESET unit attention (the core's default, which real initiators
    /// handle). Tests of other things run without it; the conformance fixtures keep it.
    /// </summary>
    protected virtual bool UnitAttentionOnNewNexus => false;

    protected virtual void ConfigureIscsi(IscsiTargetOptions options)
    {
    }

    /// <summary>Services added before the stack's own (a fake clock, say); a derived fixture may add them.</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    public virtual async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var parameters = new Dictionary<string, string>
        {
            ["filename"] = ImagePath,
            ["size"] = "1G",
            ["blocksize"] = BlockSize.ToString(System.Globalization.CultureInfo.InvariantCulture),

            // Thin provisioned, so that the provisioning tests (Inquiry.BlockLimits, Unmap) run instead of skipping.
            ["thin_provisioned"] = "1",
        };
        ConfigureDevice(parameters);
        builder.Logging.AddProvider(Logs);
        ConfigureServices(builder.Services);
        builder.Services.AddScst(o => o.UnitAttentionOnNewNexus = UnitAttentionOnNewNexus)
            .AddVdiskHandlers()
            .AddLocalTransport()
            .AddIscsiTarget(o =>
            {
                o.Portals.Add("127.0.0.1:0");
                ConfigureIscsi(o);
            })
            .AddDevice(DeviceHandler, "disk1", parameters)
            .AddTarget("iscsi", TargetName, t => t.AddLun(0, "disk1"))
            .AddTarget("scst_local", LocalTargetName, t => t.AddLun(0, "disk1"));
        _host = builder.Build();
        using var start = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _host.StartAsync(start.Token);
        IscsiDriver = _host.Services.GetRequiredService<IscsiTargetDriver>();
        LocalDriver = _host.Services.GetRequiredService<LocalTargetDriver>();
        EndPoint = IscsiDriver.LocalEndPoints.Should().ContainSingle().Subject;
        EndPoint.Address.Should().Be(IPAddress.Loopback);
        EndPoint.Port.Should().NotBe(0);
    }

    public virtual async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        try
        {
            var elapsed = await StopHostAsync();
            if (elapsed > StopBudget)
            {
                throw new TimeoutException($"The host took {elapsed} to stop (budget {StopBudget}).");
            }

            try
            {
                DisposeHost();
            }
            catch (Exception ex) when (ex is ObjectDisposedException or AggregateException)
            {
                // Documented by HostShutdownTests (a driver bug); reported there once, not once per test of every class.
                Console.Error.WriteLine($"host dispose failed: {ex.GetType().Name}: {ex.Message}");
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

    /// <summary>Stops the host; throws <see cref="TimeoutException"/> when it has not stopped after the budget plus 1 s.</summary>
    /// <returns>How long the stop took.</returns>
    public async Task<TimeSpan> StopHostAsync()
    {
        if (_host is null)
        {
            return TimeSpan.Zero;
        }

        var stopwatch = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(StopBudget);
        var stopping = _host.StopAsync(stop.Token);
        var finished = await Task.WhenAny(stopping, Task.Delay(StopBudget + TimeSpan.FromSeconds(1)));
        if (finished != stopping)
        {
            throw new TimeoutException($"The host did not stop within {StopBudget} (clean shutdown failed).");
        }

        await stopping;
        return stopwatch.Elapsed;
    }

    /// <summary>Disposes the host (and so the DI container and every singleton it created).</summary>
    public void DisposeHost()
    {
        var host = _host;
        _host = null;
        host?.Dispose();
    }
}
