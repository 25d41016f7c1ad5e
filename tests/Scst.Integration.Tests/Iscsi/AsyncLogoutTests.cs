// Licensed under the Apache License, Version 2.0.

using Scst.Integration.Tests.Fixtures;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>
/// A stopping driver asks each Normal session's initiator to log out (Asynchronous Message, AsyncEvent 1, Parameter3 the
/// seconds it has): one that logs out ends cleanly, one that does not is dropped when the time is up.
/// </summary>
public sealed class AsyncLogoutTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Stop_AsksForLogout_AndAnInitiatorThatLogsOutEndsCleanly()
    {
        var fixture = new ScstTargetFixture();
        await fixture.InitializeAsync();
        await using IscsiTestInitiator initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        (await initiator.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName), Ct)).Status.Should().Be(LoginStatus.Success);
        await initiator.ClearUnitAttentionAsync(cancellationToken: Ct); // a command answered: the session is open on the target's side
        await using IscsiTestInitiator discovery = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        (await discovery.LoginAsync(IscsiTestInitiator.DiscoveryKeys(), Ct)).Status.Should().Be(LoginStatus.Success);

        Task<TimeSpan> stopping = fixture.StopHostAsync();
        ReceivedPdu message = await initiator.ExpectAsync(IscsiOpcode.AsyncMessage, Ct);
        AsyncMessageHeader request = message.Header.AsAsyncMessage();
        LogoutResponseHeader logout = await initiator.LogoutAsync(Ct);

        request.Event.Should().Be(AsyncEvent.LogoutRequested);
        request.Parameter3.Should().Be(2, "the initiator has LogoutRequestTimeout (2 s by default) to log out");
        logout.Response.Should().Be(LogoutResponse.Success);
        await stopping;
        fixture.IscsiDriver.ConnectionCount.Should().Be(0);
        (await discovery.WaitForCloseAsync(TimeSpan.FromSeconds(5), Ct)).Should().BeTrue("a Discovery session is not asked, only dropped");
        await fixture.DisposeAsync();
    }

    [Fact]
    public async Task Stop_DropsAnInitiatorThatDoesNotLogOut_WhenItsTimeIsUp()
    {
        var fixture = new ScstTargetFixture();
        await fixture.InitializeAsync();
        await using IscsiTestInitiator initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        (await initiator.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName), Ct)).Status.Should().Be(LoginStatus.Success);
        await initiator.ClearUnitAttentionAsync(cancellationToken: Ct); // a command answered: the session is open on the target's side

        TimeSpan elapsed = await fixture.StopHostAsync();

        (await initiator.ExpectAsync(IscsiOpcode.AsyncMessage, Ct)).Header.AsAsyncMessage().Event.Should().Be(AsyncEvent.LogoutRequested);
        (await initiator.WaitForCloseAsync(TimeSpan.FromSeconds(5), Ct)).Should().BeTrue();
        elapsed.Should().BeLessThan(ScstTargetFixture.StopBudget);
        fixture.IscsiDriver.ConnectionCount.Should().Be(0);
        await fixture.DisposeAsync();
    }

    [Fact]
    public async Task DisablingATarget_AsksItsSessionsToLogOut_AndRefusesNewLogins()
    {
        var fixture = new ScstTargetFixture();
        await fixture.InitializeAsync();
        await using IscsiTestInitiator initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        (await initiator.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName), Ct)).Status.Should().Be(LoginStatus.Success);
        await initiator.ClearUnitAttentionAsync(cancellationToken: Ct); // a command answered: the session is open on the target's side

        fixture.Engine.Targets.Single(t => t.Name == ScstTargetFixture.TargetName).Enabled = false;

        (await initiator.ExpectAsync(IscsiOpcode.AsyncMessage, Ct)).Header.AsAsyncMessage().Event.Should().Be(AsyncEvent.LogoutRequested);
        (await initiator.LogoutAsync(Ct)).Response.Should().Be(LogoutResponse.Success);
        await using IscsiTestInitiator late = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        (await late.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, $"{IscsiTestInitiator.DefaultInitiatorName}-late"), Ct))
            .Status.Should().NotBe(LoginStatus.Success, "a disabled target takes no new login");
        await fixture.DisposeAsync();
    }
}
