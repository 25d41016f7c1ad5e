// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Scst.Integration.Tests.Fixtures;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi;
using Scst.Transport.Iscsi.Protocol;
using Scst.Transport.Iscsi.Security;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>The stack with CHAP required on its target (mutual possible) and for discovery, and the throttle on a fake clock.</summary>
public sealed class ChapTargetFixture : ScstTargetFixture
{
    public const string User = "host1";
    public const string Secret = "host1-secret-0123";
    public const string TargetUser = "itest-target";
    public const string TargetSecret = "target-secret-4567";
    public const string DiscoveryUser = "finder";
    public const string DiscoverySecret = "finder-secret-89ab";

    public FakeTimeProvider Time { get; } = new();

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        IscsiDriver.AuthenticationThrottle = new AuthenticationThrottle(Time);
    }

    protected override void ConfigureIscsi(IscsiTargetOptions options)
    {
        ChapCredentials target = options.Chap.ForTarget(TargetName);
        target.SetIncomingUser(User, Secret);
        target.SetOutgoingUser(TargetUser, TargetSecret);
        options.Chap.Discovery.SetIncomingUser(DiscoveryUser, DiscoverySecret);
    }
}

/// <summary>
/// CHAP over real TCP, driven PDU by PDU: one-way and mutual logins, a wrong secret refused while another session carries
/// on, discovery with its own credentials, and the throttle holding back only the failing connection's response.
/// </summary>
public sealed class ChapLoginOverTcpTests(ChapTargetFixture fixture) : IClassFixture<ChapTargetFixture>
{
    private static int s_nextInitiator;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task OneWayChap_LogsIn_AndTheSessionServesCommands()
    {
        await using var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);

        var outcome = await ChapLoginAsync(initiator, ChapTargetFixture.User, ChapTargetFixture.Secret);

        outcome.Status.Should().Be(LoginStatus.Success);
        outcome.Login!.Tsih.Should().NotBe(0);
        (await initiator.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct)).Response.Should().Be(0);
        (await initiator.LogoutAsync(Ct)).Response.Should().Be(LogoutResponse.Success);
    }

    [Fact]
    public async Task MutualChap_TheTargetProvesItKnowsTheOutgoingSecret()
    {
        await using var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        byte[] challenge = RandomNumberGenerator.GetBytes(32);

        var outcome = await ChapLoginAsync(initiator, ChapTargetFixture.User, ChapTargetFixture.Secret, mutualChallenge: challenge);

        outcome.Status.Should().Be(LoginStatus.Success);
        outcome.SecurityAnswers["CHAP_N"].Should().Be(ChapTargetFixture.TargetUser);
        outcome.SecurityAnswers["CHAP_R"].Should().Be("0x" + Convert.ToHexStringLower(Sha256Response(MutualIdentifier, ChapTargetFixture.TargetSecret, challenge)),
            "the target answers with the algorithm the login selected");
        (await initiator.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct)).Response.Should().Be(0);
    }

    [Fact]
    public async Task WrongSecret_Fails0201AndClosesTheConnection_WhileAnotherSessionCarriesOn()
    {
        ForgetEarlierFailures();
        await using var good = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        (await ChapLoginAsync(good, ChapTargetFixture.User, ChapTargetFixture.Secret)).Status.Should().Be(LoginStatus.Success);
        await using var bad = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);

        var refused = await ChapLoginAsync(bad, ChapTargetFixture.User, "host1-guess-00000");

        refused.Status.Should().Be(LoginStatus.AuthenticationFailure);
        (await bad.WaitForCloseAsync(TimeSpan.FromSeconds(10), Ct)).Should().BeTrue("the target closes the connection after a failed login");
        (await good.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct)).Response.Should().Be(0);
        fixture.Logs.Faults.Should().NotContain(line => line.Contains(ChapTargetFixture.Secret, StringComparison.Ordinal)
            || line.Contains("host1-guess-00000", StringComparison.Ordinal) || line.Contains("CHAP_R", StringComparison.Ordinal),
            "secrets and CHAP values never reach the log");
        fixture.Logs.Faults.Should().Contain(line => line.Contains("wrong CHAP response", StringComparison.Ordinal) && line.Contains(ChapTargetFixture.User, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AuthMethodNone_WhenChapIsRequired_Fails0201()
    {
        ForgetEarlierFailures();
        await using var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);

        var login = await initiator.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, NextInitiator()), Ct);

        login.Status.Should().Be(LoginStatus.AuthenticationFailure);
    }

    [Fact]
    public async Task Discovery_NeedsTheDiscoveryCredentials_ThenListsTheTarget()
    {
        ForgetEarlierFailures();
        await using var withoutChap = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        await using var withChap = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);

        var refused = await withoutChap.LoginAsync(IscsiTestInitiator.DiscoveryKeys(NextInitiator()), Ct);
        var targetUserAtDiscovery = await ChapLoginAsync(withChap, ChapTargetFixture.DiscoveryUser, ChapTargetFixture.DiscoverySecret, discovery: true);
        var targets = await withChap.SendTargetsAsync("All", Ct);

        refused.Status.Should().Be(LoginStatus.AuthenticationFailure);
        targetUserAtDiscovery.Status.Should().Be(LoginStatus.Success);
        targets.Should().Contain(new KeyValuePair<string, string>("TargetName", ScstTargetFixture.TargetName));
    }

    [Fact]
    public async Task RepeatedFailures_TheFailingConnectionsResponseWaits_OtherInitiatorsDoNot()
    {
        ForgetEarlierFailures();
        await using (var first = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct))
        {
            (await ChapLoginAsync(first, ChapTargetFixture.User, "host1-guess-11111")).Status.Should().Be(LoginStatus.AuthenticationFailure,
                "the first failure after a quiet minute is answered at once");
        }

        int heldBefore = HeldBackCount();
        await using var second = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        second.ReceiveTimeout = TimeSpan.FromMinutes(1);
        var secondLogin = ChapLoginAsync(second, ChapTargetFixture.User, "host1-guess-22222");
        await WaitUntilAsync(() => HeldBackCount() > heldBefore);

        // Meanwhile another initiator logs in and works, undelayed, and the held response has not been sent.
        await using var other = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        (await ChapLoginAsync(other, ChapTargetFixture.User, ChapTargetFixture.Secret)).Status.Should().Be(LoginStatus.Success);
        (await other.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct)).Response.Should().Be(0);
        secondLogin.IsCompleted.Should().BeFalse("the second failure's response waits 1 s on the throttle's clock");

        fixture.Time.Advance(TimeSpan.FromSeconds(1));
        (await secondLogin.WaitAsync(TimeSpan.FromSeconds(10), Ct)).Status.Should().Be(LoginStatus.AuthenticationFailure);
    }

    [Fact]
    public async Task HostStart_WithOneSecretBothWays_FailsValidation_NamingTheTarget()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddScst().AddIscsiTarget(o =>
        {
            o.Portals.Add("127.0.0.1:0");
            o.Chap.ForTarget("iqn.2026-11.org.example:misconfigured").SetIncomingUser("host1", "one-secret-for-all");
            o.Chap.ForTarget("iqn.2026-11.org.example:misconfigured").SetOutgoingUser("target", "one-secret-for-all");
        });
        using var host = builder.Build();

        var start = () => host.StartAsync(Ct);

        (await start.Should().ThrowAsync<OptionsValidationException>()).Which.Message
            .Should().Contain("iqn.2026-11.org.example:misconfigured").And.Contain("same secret").And.NotContain("one-secret-for-all");
    }

    private const byte MutualIdentifier = 0x5a;

    private static string NextInitiator() => $"{IscsiTestInitiator.DefaultInitiatorName}-chap-{Interlocked.Increment(ref s_nextInitiator)}";

    // Failures from 127.0.0.1 are remembered for a quiet minute; on the fake clock a test starts afresh.
    private void ForgetEarlierFailures() => fixture.Time.Advance(TimeSpan.FromMinutes(2));

    private int HeldBackCount() => fixture.Logs.Faults.Count(line => line.Contains("held back", StringComparison.Ordinal));

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (int i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Delay(10, Ct);
        }

        condition().Should().BeTrue("the target should have reached the expected state");
    }

    /// <summary>
    /// Logs in through the security stage with CHAP (SHA-256 offered before MD5), as open-iscsi and libiscsi do: AuthMethod, then CHAP_A, then
    /// CHAP_N and CHAP_R (and, given <paramref name="mutualChallenge"/>, CHAP_I and CHAP_C), then the operational stage.
    /// </summary>
    private static async Task<ChapOutcome> ChapLoginAsync(IscsiTestInitiator initiator, string user, string secret, byte[]? mutualChallenge = null, bool discovery = false)
    {
        string initiatorName = NextInitiator();
        List<KeyValuePair<string, string>> first = discovery
            ? [new("InitiatorName", initiatorName), new("SessionType", "Discovery"), new("AuthMethod", "CHAP,None")]
            : [new("InitiatorName", initiatorName), new("SessionType", "Normal"), new("TargetName", ScstTargetFixture.TargetName), new("AuthMethod", "CHAP,None")];
        var (method, methodKeys) = await initiator.SecurityStepAsync(first, transit: true, Ct);
        if (method.Status != LoginStatus.Success)
        {
            return new ChapOutcome(method.Status, methodKeys, null);
        }

        methodKeys["AuthMethod"].Should().Be("CHAP");
        method.Transit.Should().BeFalse();
        var (challengeStep, challengeKeys) = await initiator.SecurityStepAsync([new("CHAP_A", "7,5")], transit: false, Ct);
        challengeKeys["CHAP_A"].Should().Be("7", "SHA-256 is listed first and accepted");
        byte identifier = byte.Parse(challengeKeys["CHAP_I"], CultureInfo.InvariantCulture);
        byte[] challenge = Convert.FromHexString(challengeKeys["CHAP_C"].AsSpan(2));

        List<KeyValuePair<string, string>> response =
            [new("CHAP_N", user), new("CHAP_R", "0x" + Convert.ToHexStringLower(Sha256Response(identifier, secret, challenge)))];
        if (mutualChallenge is not null)
        {
            response.Add(new("CHAP_I", MutualIdentifier.ToString(CultureInfo.InvariantCulture)));
            response.Add(new("CHAP_C", "0x" + Convert.ToHexStringLower(mutualChallenge)));
        }

        var (final, finalKeys) = await initiator.SecurityStepAsync(response, transit: true, Ct);
        if (final.Status != LoginStatus.Success)
        {
            return new ChapOutcome(final.Status, finalKeys, null);
        }

        final.Transit.Should().BeTrue();
        final.NextStage.Should().Be(LoginStage.OperationalNegotiation);
        initiator.ExpStatSn = final.StatSn + 1;
        initiator.CmdSn = final.ExpCmdSn;
        List<KeyValuePair<string, string>> operational = discovery
            ? [new("HeaderDigest", "None"), new("DataDigest", "None"), new("MaxRecvDataSegmentLength", "8192")]
            : [.. IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName).Where(k => k.Key is not ("InitiatorName" or "SessionType" or "TargetName"))];
        var login = await initiator.LoginAsync(operational, Ct);
        return new ChapOutcome(login.Status, finalKeys, login);
    }

    private static byte[] Sha256Response(byte identifier, string secret, byte[] challenge) =>
        SHA256.HashData([identifier, .. Encoding.UTF8.GetBytes(secret), .. challenge]);

    private sealed record ChapOutcome(LoginStatus Status, Dictionary<string, string> SecurityAnswers, Scst.Testing.Iscsi.LoginResult? Login);
}
