// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Scst.UserDevice;
using Scst.UserDevice.Target;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the user-device server: devices served by other processes (SCST's scst_user).</summary>
public static class UserDeviceServiceCollectionExtensions
{
    /// <summary>
    /// Adds the hosted service that listens on <see cref="UserDeviceOptions.SocketPath"/> and registers a
    /// <c>dev_user</c> device for each device process that connects. Idempotent; later calls add only their
    /// <paramref name="configure"/>.
    /// </summary>
    /// <param name="builder">The core's builder.</param>
    /// <param name="configure">Configures <see cref="UserDeviceOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IScstBuilder AddUserDevices(this IScstBuilder builder, Action<UserDeviceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        OptionsBuilder<UserDeviceOptions> options = builder.Services.AddOptions<UserDeviceOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddSingleton<UserDeviceServer>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, UserDeviceServer>(sp => sp.GetRequiredService<UserDeviceServer>()));
        return builder;
    }
}
