// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Scst.Core.Configuration;

namespace Scst.Core.Hosting;

/// <summary>
/// Creates the configured devices and targets when the host starts, before the target drivers (registered after the
/// core) open their ports: the definitions of <see cref="ScstOptions"/>, then its configuration, then its scst.conf
/// file. Closes the devices when the host stops, after the drivers stopped.
/// </summary>
internal sealed class ScstHostedService(ScstEngine engine, IEnumerable<ITargetDriver> drivers, IOptions<ScstOptions> options, ILogger<ScstHostedService>? logger = null) : IHostedService
{
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
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await engine.DisposeAsync().ConfigureAwait(false);

    private static async Task ApplyAsync(ScstConfigApplier applier, ScstConfiguration configuration, string source)
    {
        ScstConfigApplyResult result = await applier.ApplyAsync(configuration).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"{source} does not apply:{Environment.NewLine}{result.Describe()}");
        }
    }
}
