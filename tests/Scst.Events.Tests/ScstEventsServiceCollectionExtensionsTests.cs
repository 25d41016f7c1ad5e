// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.DependencyInjection;

namespace Scst.Events.Tests;

public class ScstEventsServiceCollectionExtensionsTests
{
    [Fact]
    public void AddScstEvents_CalledTwice_RegistersOneSingleton()
    {
        var services = new ServiceCollection();

        services.AddScstEvents().AddScstEvents();

        services.Where(d => d.ServiceType == typeof(IScstEventBus)).Should().ContainSingle()
            .Which.Lifetime.Should().Be(ServiceLifetime.Singleton);
        using var provider = services.BuildServiceProvider();
        var first = provider.GetRequiredService<IScstEventBus>();
        first.Should().BeOfType<ScstEventBus>();
        provider.GetRequiredService<IScstEventBus>().Should().BeSameAs(first);
    }

    [Fact]
    public void AddScstEvents_BusAlreadyRegistered_KeepsIt()
    {
        var services = new ServiceCollection();
        var mine = new ScstEventBus();
        services.AddSingleton<IScstEventBus>(mine);

        services.AddScstEvents();

        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IScstEventBus>().Should().BeSameAs(mine);
    }
}
