// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.DependencyInjection.Extensions;
using Scst.Core;
using Scst.Handlers;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the vdisk device handlers.</summary>
public static class VdiskServiceCollectionExtensions
{
    /// <summary>Adds vdisk_fileio, vdisk_blockio, vdisk_nullio and vcdrom. Idempotent.</summary>
    /// <param name="builder">The core's builder.</param>
    /// <returns>The builder.</returns>
    public static IScstBuilder AddVdiskHandlers(this IScstBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IDeviceHandler, VdiskFileIoHandler>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IDeviceHandler, VdiskBlockIoHandler>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IDeviceHandler, VdiskNullIoHandler>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IDeviceHandler, VcdromHandler>());
        return builder;
    }
}
