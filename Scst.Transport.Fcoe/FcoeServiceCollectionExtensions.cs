// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Scst.Core;
using Scst.Transport.Fcoe;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the FCoE target driver.</summary>
public static class FcoeServiceCollectionExtensions
{
    /// <summary>
    /// Adds the FCoE target driver (<c>fcst</c>) as a target driver and a hosted service. Targets of this driver are
    /// named by the WWPN of their port (<see cref="FcoePortOptions.PortName"/>).
    /// </summary>
    /// <param name="builder">The Scst builder.</param>
    /// <param name="configure">Configures the ports.</param>
    /// <returns>The builder.</returns>
    public static IScstBuilder AddFcoeTarget(this IScstBuilder builder, Action<FcoeTargetOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        OptionsBuilder<FcoeTargetOptions> options = builder.Services.AddOptions<FcoeTargetOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FcoeTargetOptions>, FcoeTargetOptionsValidator>());
        builder.Services.TryAddSingleton(sp => new FcoeTargetDriver(
            sp.GetRequiredService<ScstEngine>(), sp.GetRequiredService<IOptions<FcoeTargetOptions>>(), sp.GetService<ILogger<FcoeTargetDriver>>())
        {
            TimeProvider = sp.GetService<TimeProvider>() ?? TimeProvider.System,
        });
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ITargetDriver, FcoeTargetDriver>(sp => sp.GetRequiredService<FcoeTargetDriver>()));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, FcoeTargetDriver>(sp => sp.GetRequiredService<FcoeTargetDriver>()));
        return builder;
    }
}
