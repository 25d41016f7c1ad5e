// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Scst.Events.Remote;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the out-of-process event endpoint with a service collection.</summary>
public static class ScstEventEndpointServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ScstEventEndpoint"/> as a singleton and a hosted service that starts it with the host and
    /// stops it (removing the socket) when the host stops; also registers the bus (<see cref="ScstEventsServiceCollectionExtensions.AddScstEvents"/>).
    /// Idempotent: calling it again only adds the configuration.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options (socket path, group, queue capacity); optional.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddScstEventEndpoint(this IServiceCollection services, Action<ScstEventEndpointOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddScstEvents();
        var options = services.AddOptions<ScstEventEndpointOptions>()
            .Validate(static o => !string.IsNullOrEmpty(o.SocketPath), "ScstEventEndpointOptions.SocketPath must not be empty.")
            .Validate(static o => o.QueueCapacity > 0, "ScstEventEndpointOptions.QueueCapacity must be positive.")
            .ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton<ScstEventEndpoint>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ScstEventEndpointHostedService>());
        return services;
    }
}

/// <summary>Starts and stops the endpoint with the host.</summary>
internal sealed class ScstEventEndpointHostedService(ScstEventEndpoint endpoint) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => endpoint.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => endpoint.StopAsync(cancellationToken);
}
