// Licensed under the Apache License, Version 2.0.

using System.Net;

namespace Scst.Transport.Iscsi.Tests;

/// <summary>SCST's allowed_portal and per_portal_acl target attributes.</summary>
public class IscsiTargetAccessTests
{
    [Theory]
    [InlineData("10.0.0.5", true)]
    [InlineData("10.0.0.15", true)]
    [InlineData("10.0.1.5", false)]
    [InlineData("192.168.1.1", true)]
    [InlineData("192.168.2.1", false)]
    public void IsPortalAllowed_AnyPatternThatMatches_AllowsThePortal(string address, bool allowed)
    {
        var access = new IscsiTargetAccess { AllowedPortals = ["10.0.0.*", "192.168.1.?"] };

        access.IsPortalAllowed(IPAddress.Parse(address)).Should().Be(allowed);
    }

    [Fact]
    public void IsPortalAllowed_NoPattern_AllowsEveryPortal_AndNegationsExclude()
    {
        new IscsiTargetAccess().IsPortalAllowed(IPAddress.Parse("10.1.2.3")).Should().BeTrue();
        var hidden = new IscsiTargetAccess { AllowedPortals = ["!*"] };
        hidden.IsPortalAllowed(IPAddress.Parse("10.1.2.3")).Should().BeFalse();
        var notLoopback = new IscsiTargetAccess { AllowedPortals = ["!127.*"] };
        notLoopback.IsPortalAllowed(IPAddress.Loopback).Should().BeFalse();
        notLoopback.IsPortalAllowed(IPAddress.Parse("10.1.2.3")).Should().BeTrue();
    }

    [Fact]
    public void IsPortalAllowed_MappedIpv4AndIpv6_AreMatchedInTheirPlainForm()
    {
        var access = new IscsiTargetAccess { AllowedPortals = ["10.0.0.1", "fd00::*"] };

        access.IsPortalAllowed(IPAddress.Parse("::ffff:10.0.0.1")).Should().BeTrue();
        access.IsPortalAllowed(IPAddress.Parse("fd00::1")).Should().BeTrue();
        access.IsPortalAllowed(IPAddress.Parse("fe80::1%2")).Should().BeFalse();
        IscsiTargetAccess.FormatPortal(IPAddress.Parse("fe80::1%2")).Should().Be("fe80::1");
        IscsiTargetAccess.FormatPortal(IPAddress.Parse("::ffff:10.0.0.1")).Should().Be("10.0.0.1");
    }

    [Fact]
    public void AccessName_WithPerPortalAcl_AppendsThePortal()
    {
        var access = new IscsiTargetAccess();
        IPAddress portal = IPAddress.Parse("10.0.0.1");

        access.AccessName("iqn.x:host", portal).Should().Be("iqn.x:host");
        access.PerPortalAcl = true;
        access.AccessName("iqn.x:host", portal).Should().Be("iqn.x:host#10.0.0.1");
    }

    [Theory]
    [InlineData("")]
    [InlineData("10.0.0.1 10.0.0.2")]
    public void AllowedPortals_EmptyOrSpacedPattern_IsRefused_AndTheOldListStays(string pattern)
    {
        var access = new IscsiTargetAccess { AllowedPortals = ["10.*"] };

        FluentActions.Invoking(() => access.AllowedPortals = [pattern]).Should().Throw<ArgumentException>();
        access.AllowedPortals.Should().Equal("10.*");
    }
}
