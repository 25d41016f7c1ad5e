// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Tests;

/// <summary>Per-target settings, portal syntax and the recovery options: what is accepted and what validation says.</summary>
public class IscsiTargetSettingsTests
{
    [Theory]
    [InlineData("192.0.2.7 temp", "192.0.2.7", false)]
    [InlineData("192.0.2.7:3261 perm", "192.0.2.7:3261", true)]
    [InlineData("[2001:db8::7]:3262 temp", "[2001:db8::7]:3262", false)]
    [InlineData("2001:db8::7 perm", "[2001:db8::7]", true)]
    [InlineData("[2001:db8::7] temp", "[2001:db8::7]", false)]
    public void Redirect_ScstSyntax_GivesTheTargetAddress(string value, string address, bool permanent)
    {
        IscsiTargetSettings.TryParseRedirect(value, out string parsed, out bool isPermanent).Should().BeTrue();

        parsed.Should().Be(address);
        isPermanent.Should().Be(permanent);
    }

    [Theory]
    [InlineData("192.0.2.7")]
    [InlineData("192.0.2.7 later")]
    [InlineData("host.example temp")]
    [InlineData("192.0.2.7:0 temp")]
    [InlineData("192.0.2.7 temp extra")]
    public void Redirect_Malformed_IsRefusedByValidation(string value)
    {
        var options = new IscsiTargetOptions();
        options.Targets["iqn.2026-11.test:t"] = new IscsiTargetSettings { Redirect = value };

        var result = new IscsiTargetOptionsValidator().Validate(null, options);

        result.Failed.Should().BeTrue();
        result.FailureMessage.Should().Contain("iqn.2026-11.test:t").And.Contain("redirect");
    }

    [Theory]
    [InlineData("127.0.0.1:3260", "127.0.0.1", 3260, null)]
    [InlineData("127.0.0.1:3260,5", "127.0.0.1", 3260, 5)]
    [InlineData("[::1]:3261,65535", "::1", 3261, 65535)]
    [InlineData("10.0.0.1", "10.0.0.1", 3260, null)]
    public void Portal_AddressPortAndOptionalTag(string portal, string address, int port, int? tag)
    {
        var (endPoint, parsedTag) = IscsiTargetDriver.ParsePortal(portal);

        endPoint.Address.ToString().Should().Be(address);
        endPoint.Port.Should().Be(port);
        ((int?)parsedTag).Should().Be(tag);
    }

    [Theory]
    [InlineData("127.0.0.1:3260,")]
    [InlineData("127.0.0.1:3260,65536")]
    [InlineData("127.0.0.1:3260,x")]
    [InlineData("nowhere:3260")]
    public void Portal_Malformed_IsRefusedByValidation(string portal)
    {
        var options = new IscsiTargetOptions();
        options.Portals.Add(portal);

        new IscsiTargetOptionsValidator().Validate(null, options).FailureMessage.Should().Contain(portal);
    }

    [Theory]
    [InlineData("QueuedCommands")]
    [InlineData("MaxSessions")]
    [InlineData("MaxXmitDataSegmentLength")]
    [InlineData("HeaderDigest")]
    [InlineData("ErrorRecoveryLevel")]
    [InlineData("MaxConnections")]
    public void TargetSettings_OutOfRange_FailValidationNamingTargetAndAttribute(string attribute)
    {
        var settings = attribute switch
        {
            "QueuedCommands" => new IscsiTargetSettings { QueuedCommands = 0 },
            "MaxSessions" => new IscsiTargetSettings { MaxSessions = -1 },
            "MaxXmitDataSegmentLength" => new IscsiTargetSettings { MaxXmitDataSegmentLength = 100 },
            "HeaderDigest" => new IscsiTargetSettings { HeaderDigest = "MD5" },
            "ErrorRecoveryLevel" => new IscsiTargetSettings { ErrorRecoveryLevel = 3 },
            _ => new IscsiTargetSettings { MaxConnections = 0 },
        };
        var options = new IscsiTargetOptions();
        options.Targets["iqn.2026-11.test:t"] = settings;

        new IscsiTargetOptionsValidator().Validate(null, options).FailureMessage.Should().Contain("iqn.2026-11.test:t").And.Contain(attribute);
    }

    [Fact]
    public void RecoveryOptions_DefaultToErrorRecoveryLevel0AndOneConnection_AndAreRangeChecked()
    {
        var options = new IscsiTargetOptions();
        options.ErrorRecoveryLevel.Should().Be(0);
        options.MaxConnections.Should().Be(1);
        options.DefaultTime2Wait.Should().Be(2);
        options.DefaultTime2Retain.Should().Be(20);

        options.ErrorRecoveryLevel = 3;
        options.MaxConnections = 0;
        options.DefaultTime2Retain = 3601;
        options.DataOutTimeout = TimeSpan.FromSeconds(-1);
        string failure = new IscsiTargetOptionsValidator().Validate(null, options).FailureMessage ?? string.Empty;

        failure.Should().Contain("ErrorRecoveryLevel").And.Contain("MaxConnections").And.Contain("DefaultTime2Retain").And.Contain("DataOutTimeout");
    }
}
