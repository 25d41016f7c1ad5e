// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.DependencyInjection.Extensions;
using Scst.Core;
using Scst.Transport.Local;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the in-process target driver.</summary>
public static class LocalServiceCollectionExtensions
{
    /// <summary>Adds the <c>scst_local</c> driver. Idempotent.</summary>
    /// <param name="builder">The core's builder.</param>
    /// <returns>The builder.</returns>
    public static IScstBuilder AddLocalTransport(this IScstBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<LocalTargetDriver>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ITargetDriver, LocalTargetDriver>(sp => sp.GetRequiredService<LocalTargetDriver>()));
        return builder;
    }
}
