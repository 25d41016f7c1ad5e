// Licensed under the Apache License, Version 2.0.

using Scst.Testing.Iscsi;

namespace Scst.Integration.Tests.Fixtures;

/// <summary>Clean shutdown of the whole stack, with a logged-in iSCSI session open.</summary>
public sealed class HostShutdownTests
{
    [Fact]
    public async Task Host_StopWithOpenSession_StopsWithinBudgetAndClosesTheConnection()
    {
        var fixture = new ScstTargetFixture();
        await fixture.InitializeAsync();
        await using var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, TestContext.Current.CancellationToken);
        (await initiator.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName), TestContext.Current.CancellationToken))
            .Status.Should().Be(Scst.Transport.Iscsi.Protocol.LoginStatus.Success);

        var elapsed = await fixture.StopHostAsync();

        elapsed.Should().BeLessThan(ScstTargetFixture.StopBudget);
        (await initiator.WaitForCloseAsync(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken)).Should().BeTrue();
        fixture.IscsiDriver.ConnectionCount.Should().Be(0);
        await fixture.DisposeAsync();
    }

    [Fact]
    public async Task Host_StoppedTwice_StopsBothTimes()
    {
        // IHost.StopAsync may be called again (a fixture's explicit stop, then its disposal): every hosted service's
        // StopAsync must return the second time too, not wait on what the first stop took.
        var fixture = new ScstTargetFixture();
        await fixture.InitializeAsync();
        (await fixture.StopHostAsync()).Should().BeLessThan(ScstTargetFixture.StopBudget);

        (await fixture.StopHostAsync()).Should().BeLessThan(ScstTargetFixture.StopBudget);
        await fixture.DisposeAsync();
    }

    [Fact]
    public async Task Host_DisposeAfterStop_DoesNotThrow()
    {
        // The iSCSI driver is registered three times (as itself, ITargetDriver and IHostedService, the latter two by
        // factory), so the container disposes the same instance three times: DisposeAsync must be idempotent.
        var fixture = new ScstTargetFixture();
        await fixture.InitializeAsync();
        await fixture.StopHostAsync();

        var dispose = fixture.DisposeHost;

        dispose.Should().NotThrow();
        await fixture.DisposeAsync();
    }
}
