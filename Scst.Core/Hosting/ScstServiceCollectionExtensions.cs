// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Scst.Core;
using Scst.Core.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the SCSI core.</summary>
public static class ScstServiceCollectionExtensions
{
    /// <summary>
    /// Adds the SCSI core, the event bus and the hosted service that creates the configured devices and targets at
    /// start-up. Idempotent: later calls add only their <paramref name="configure"/> and return a builder over the
    /// same registrations. Options are validated when the host starts.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures <see cref="ScstOptions"/>.</param>
    /// <returns>A builder for the other packages' extensions.</returns>
    public static IScstBuilder AddScst(this IServiceCollection services, Action<ScstOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddScstEvents();
        OptionsBuilder<ScstOptions> options = services.AddOptions<ScstOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ScstOptions>, ScstOptionsValidator>());
        services.TryAddSingleton<ScstEngine>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ScstHostedService>());
        return new ScstBuilder(services);
    }

    /// <summary>Adds a device to create at start-up (SCST's <c>add_device</c>).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="handler">The handler's name, e.g. <c>vdisk_fileio</c>.</param>
    /// <param name="name">The device name.</param>
    /// <param name="parameters">The handler's parameters.</param>
    /// <returns>The builder.</returns>
    public static IScstBuilder AddDevice(this IScstBuilder builder, string handler, string name, IDictionary<string, string>? parameters = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var definition = new DeviceDefinition
        {
            Handler = handler,
            Name = name,
            Parameters = new Dictionary<string, string>(parameters ?? new Dictionary<string, string>(), StringComparer.Ordinal),
        };
        builder.Services.Configure<ScstOptions>(o => o.Devices.Add(definition));
        return builder;
    }

    /// <summary>Adds a target to create at start-up, with its LUNs.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="driver">The target driver's name, e.g. <c>iscsi</c>.</param>
    /// <param name="name">The target name.</param>
    /// <param name="configure">Maps LUNs.</param>
    /// <returns>The builder.</returns>
    public static IScstBuilder AddTarget(this IScstBuilder builder, string driver, string name, Action<TargetDefinition>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var definition = new TargetDefinition { Driver = driver, Name = name };
        configure?.Invoke(definition);
        builder.Services.Configure<ScstOptions>(o => o.Targets.Add(definition));
        return builder;
    }

    /// <summary>
    /// Applies an SCST configuration from Microsoft.Extensions.Configuration when the core starts (see
    /// <see cref="Scst.Core.Configuration.ScstConfigurationBinder"/> for its shape), after the devices and targets added in
    /// code.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The section holding it, e.g. <c>configuration.GetSection("Scst")</c>.</param>
    /// <returns>The builder.</returns>
    public static IScstBuilder AddConfiguration(this IScstBuilder builder, Microsoft.Extensions.Configuration.IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        builder.Services.Configure<ScstOptions>(o => o.Configuration = Scst.Core.Configuration.ScstConfigurationBinder.Bind(section));
        return builder;
    }

    /// <summary>Applies an scst.conf file when the core starts, after the devices, targets and configuration added before.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="path">The file's path.</param>
    /// <returns>The builder.</returns>
    public static IScstBuilder AddConfigurationFile(this IScstBuilder builder, string path)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(path);
        builder.Services.Configure<ScstOptions>(o => o.ConfigurationFile = path);
        return builder;
    }

    /// <summary>
    /// Adds the management endpoint: SCST's management verbs on a Unix socket that only the target's user and root may
    /// use (see <see cref="Scst.Core.Management.ManagementEndpoint"/>).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the socket path.</param>
    /// <returns>The builder.</returns>
    public static IScstBuilder AddManagementEndpoint(this IScstBuilder builder, Action<Scst.Core.Management.ManagementEndpointOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        OptionsBuilder<Scst.Core.Management.ManagementEndpointOptions> options = builder.Services.AddOptions<Scst.Core.Management.ManagementEndpointOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddSingleton<Scst.Core.Management.ManagementEndpoint>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Scst.Core.Management.ManagementEndpoint>());
        return builder;
    }

    private sealed class ScstBuilder(IServiceCollection services) : IScstBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
