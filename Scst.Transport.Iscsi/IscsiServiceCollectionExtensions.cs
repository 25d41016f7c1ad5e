// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Scst.Core;
using Scst.Transport.Iscsi;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the iSCSI target driver.</summary>
public static class IscsiServiceCollectionExtensions
{
    /// <summary>
    /// Adds the iSCSI target driver (<c>iscsi</c>) and starts it with the host, after the core has created its
    /// devices and targets. Idempotent; later calls only add their <paramref name="configure"/>.
    /// </summary>
    /// <param name="builder">The core's builder.</param>
    /// <param name="configure">Configures portals and negotiation values.</param>
    /// <returns>The builder.</returns>
    public static IScstBuilder AddIscsiTarget(this IScstBuilder builder, Action<IscsiTargetOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        OptionsBuilder<IscsiTargetOptions> options = builder.Services.AddOptions<IscsiTargetOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IscsiTargetOptions>, IscsiTargetOptionsValidator>());
        // The keepalive's clock comes from the container when it has one (a test's FakeTimeProvider).
        builder.Services.TryAddSingleton(sp => new IscsiTargetDriver(
            sp.GetRequiredService<ScstEngine>(), sp.GetRequiredService<IOptions<IscsiTargetOptions>>(), sp.GetService<ILogger<IscsiTargetDriver>>(),
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>())
        {
            TimeProvider = sp.GetService<TimeProvider>() ?? TimeProvider.System,
        });
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ITargetDriver, IscsiTargetDriver>(sp => sp.GetRequiredService<IscsiTargetDriver>()));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, IscsiTargetDriver>(sp => sp.GetRequiredService<IscsiTargetDriver>()));
        return builder;
    }
}
