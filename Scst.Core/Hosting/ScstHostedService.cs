// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Hosting;

namespace Scst.Core.Hosting;

/// <summary>
/// Creates the configured devices and targets when the host starts, before the target drivers (registered after the
/// core) open their ports; closes the devices when the host stops, after the drivers stopped.
/// </summary>
internal sealed class ScstHostedService(ScstEngine engine, IEnumerable<ITargetDriver> drivers) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (ITargetDriver driver in drivers)
        {
            engine.RegisterDriver(driver);
        }

        engine.ApplyConfiguration();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await engine.DisposeAsync().ConfigureAwait(false);
}
