// Licensed under the Apache License, Version 2.0.

using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Scst.Events;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Scst event bus with a service collection.</summary>
public static class ScstEventsServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IScstEventBus"/> as a singleton <see cref="ScstEventBus"/>, on the container's
    /// <see cref="TimeProvider"/> and <see cref="IMeterFactory"/> when it has them. Idempotent, and an
    /// <see cref="IScstEventBus"/> registered earlier (a test fake, a bus shared with another container) is kept.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddScstEvents(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);

        // Don't override a bus that is already configured.
        services.TryAddSingleton<IScstEventBus>(static sp => new ScstEventBus(
            sp.GetService<TimeProvider>() ?? TimeProvider.System, sp.GetService<IMeterFactory>()));
        return services;
    }
}
