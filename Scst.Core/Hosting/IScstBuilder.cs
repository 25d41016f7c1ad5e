// Licensed under the Apache License, Version 2.0.

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Returned by <see cref="ScstServiceCollectionExtensions.AddScst"/>; each package of the suite adds itself with an
/// extension method on it (<c>AddIscsiTarget</c>, <c>AddVdiskHandlers</c>, <c>AddLocalTransport</c>).
/// </summary>
public interface IScstBuilder
{
    /// <summary>The service collection.</summary>
    IServiceCollection Services { get; }
}
