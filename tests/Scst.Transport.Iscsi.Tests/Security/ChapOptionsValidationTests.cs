// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Iscsi.Security;

namespace Scst.Transport.Iscsi.Tests.Security;

public class ChapOptionsValidationTests
{
    private const string Target = "iqn.2026-11.org.example:disk1";

    private readonly IscsiTargetOptions _options = new();

    [Fact]
    public void NoCredentials_AreValid()
    {
        Validate().Should().BeEmpty();
    }

    [Fact]
    public void IncomingAndOutgoingUsers_WithDistinctLongSecrets_AreValid()
    {
        _options.Chap.ForTarget(Target).SetIncomingUser("host1", "host1-secret-0123");
        _options.Chap.ForTarget(Target).SetIncomingUser("host2", "host2-secret-0123");
        _options.Chap.ForTarget(Target).SetOutgoingUser("disk1", "disk1-secret-0123");
        _options.Chap.Discovery.SetIncomingUser("host1", "discovery-secret");

        Validate().Should().BeEmpty();
    }

    [Fact]
    public void SameSecretBothWays_IsRefused_NamingTheTargetAndUsers()
    {
        _options.Chap.ForTarget(Target).SetIncomingUser("host1", "shared-secret-0123");
        _options.Chap.ForTarget(Target).SetOutgoingUser("disk1", "shared-secret-0123");

        var failures = Validate();

        failures.Should().ContainSingle().Which.Should().Contain($"iSCSI target '{Target}'").And.Contain("'disk1'").And.Contain("'host1'")
            .And.Contain("same secret").And.NotContain("shared-secret-0123");
    }

    [Fact]
    public void SameSecretBothWaysForDiscovery_IsRefused()
    {
        _options.Chap.Discovery.SetIncomingUser("host1", "shared-secret-0123");
        _options.Chap.Discovery.SetOutgoingUser("portal", "shared-secret-0123");

        Validate().Should().ContainSingle().Which.Should().StartWith("iSCSI discovery sessions:");
    }

    [Fact]
    public void SecretShorterThan12Bytes_IsRefused()
    {
        _options.Chap.ForTarget(Target).SetIncomingUser("host1", "elevenbytes");
        _options.Chap.ForTarget(Target).SetIncomingUser("host2", "twelve-bytes");
        _options.Chap.ForTarget(Target).SetOutgoingUser("disk1", "short");

        var failures = Validate();

        failures.Should().HaveCount(2);
        failures.Should().Contain(f => f.Contains("IncomingUser 'host1'", StringComparison.Ordinal) && f.Contains("shorter than 12 bytes", StringComparison.Ordinal));
        failures.Should().Contain(f => f.Contains("OutgoingUser 'disk1'", StringComparison.Ordinal));
    }

    [Fact]
    public void SecretLengthCountsUtf8Bytes()
    {
        _options.Chap.ForTarget(Target).SetIncomingUser("host1", "ééééé-secr"); // 10 characters, 15 bytes

        Validate().Should().BeEmpty();
    }

    [Fact]
    public void OutgoingUserWithoutIncomingUser_IsRefused()
    {
        _options.Chap.ForTarget(Target).SetOutgoingUser("disk1", "disk1-secret-0123");

        Validate().Should().ContainSingle().Which.Should().Contain("without an IncomingUser");
    }

    [Fact]
    public void NoSupportedAlgorithm_IsRefused()
    {
        _options.Chap.Algorithms.Clear();

        Validate().Should().ContainSingle().Which.Should().Contain("Chap.Algorithms");
    }

    [Fact]
    public void Credentials_SetReplaceRemoveClear()
    {
        var credentials = _options.Chap.ForTarget(Target);
        credentials.SetIncomingUser("host1", "first-secret-0123");
        credentials.SetIncomingUser("host2", "other-secret-0123");
        credentials.SetIncomingUser("host1", "second-secret-0123");

        credentials.IncomingUsers.Select(u => (u.Name, u.Secret)).Should().Equal(("host1", "second-secret-0123"), ("host2", "other-secret-0123"));
        credentials.AuthenticationRequired.Should().BeTrue();
        credentials.RemoveIncomingUser("host1").Should().BeTrue();
        credentials.RemoveIncomingUser("host1").Should().BeFalse();
        credentials.ClearIncomingUsers();
        credentials.AuthenticationRequired.Should().BeFalse();
        _options.Chap.ForTarget(Target).Should().BeSameAs(credentials);
        _options.Chap.Targets.Should().ContainKey(Target);
        _options.Chap.RemoveTarget(Target).Should().BeTrue();
        _options.Chap.Targets.Should().BeEmpty();
    }

    [Theory]
    [InlineData("", "secret-of-twelve")]
    [InlineData("host1", "")]
    [InlineData("ho\0st", "secret-of-twelve")]
    public void User_EmptyOrWithNul_IsRefusedWhenSet(string name, string secret)
    {
        var act = () => _options.Chap.Discovery.SetIncomingUser(name, secret);

        act.Should().Throw<ArgumentException>();
    }

    private List<string> Validate()
    {
        var result = new IscsiTargetOptionsValidator().Validate(null, _options);
        return result.Succeeded ? [] : [.. result.Failures!];
    }
}
