// Licensed under the Apache License, Version 2.0.

using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Scst.Core.Configuration;

namespace Scst.Core.Hosting;

/// <summary>
/// Creates the configured devices and targets when the host starts, before the target drivers (registered after the
/// core) open their ports: the definitions of <see cref="ScstOptions"/>, then its configuration, then its scst.conf
/// file. With a file, SIGHUP reads it again and applies the difference to what runs, as a daemon reloads its
/// configuration; a file that does not read or apply is logged and changes nothing more. Closes the devices when the
/// host stops, after the drivers stopped.
/// </summary>
internal sealed class ScstHostedService(ScstEngine engine, IEnumerable<ITargetDriver> drivers, IOptions<ScstOptions> options, ILogger<ScstHostedService>? logger = null) : IHostedService, IDisposable
{
    private readonly SemaphoreSlim _reloading = new(1, 1);
    private PosixSignalRegistration? _hangup;
    private bool _stopped;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (ITargetDriver driver in drivers)
        {
            engine.RegisterDriver(driver);
        }

        engine.ApplyConfiguration();
        var applier = new ScstConfigApplier(engine, (ILogger?)logger ?? NullLogger.Instance);
        if (options.Value.Configuration is { } configuration)
        {
            await ApplyAsync(applier, configuration, "the configuration").ConfigureAwait(false);
        }

        if (options.Value.ConfigurationFile is { } path)
        {
            ScstConfiguration file;
            try
            {
                file = ScstConfigReader.Load(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new InvalidOperationException($"Cannot read {path}: {ex.Message}", ex);
            }

            await ApplyAsync(applier, file, path).ConfigureAwait(false);
            _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true; // SIGHUP reloads; it does not end the process
                _ = ReloadAsync(applier, path);
            });
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _hangup?.Dispose();
        await _reloading.WaitAsync(CancellationToken.None).ConfigureAwait(false); // a reload in progress ends first
        try
        {
            _stopped = true; // a host may be stopped more than once; a SIGHUP that comes late changes nothing
            await engine.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _reloading.Release();
        }
    }

    public void Dispose()
    {
        _hangup?.Dispose();
        _reloading.Dispose();
    }

    private async Task ReloadAsync(ScstConfigApplier applier, string path)
    {
        ILogger log = (ILogger?)logger ?? NullLogger.Instance;
        await _reloading.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_stopped)
            {
                return;
            }

            ScstConfigApplyResult result = await applier.ApplyAsync(ScstConfigReader.Load(path)).ConfigureAwait(false);
            if (result.Succeeded)
            {
                Log.ConfigurationReloaded(log, path);
            }
            else
            {
                Log.ConfigurationReloadFailed(log, path, result.Describe());
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or ArgumentException or InvalidOperationException)
        {
            Log.ConfigurationReloadFailed(log, path, ex.Message);
        }
        finally
        {
            _reloading.Release();
        }
    }

    private static async Task ApplyAsync(ScstConfigApplier applier, ScstConfiguration configuration, string source)
    {
        ScstConfigApplyResult result = await applier.ApplyAsync(configuration).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"{source} does not apply:{Environment.NewLine}{result.Describe()}");
        }
    }
}
