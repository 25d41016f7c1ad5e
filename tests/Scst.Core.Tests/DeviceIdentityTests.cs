// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.Core.Tests;

public sealed class DeviceIdentityTests
{
    // Golden values: CRC-32C (Castagnoli) of the name followed by a NUL byte, computed outside .NET.
    [Theory]
    [InlineData("disk1", 0xEFD7C1B8UL)]
    [InlineData("nullio0", 0x51B64EA6UL)]
    public void FromName_KnownName_GivesStableCrc32cId(string name, ulong expectedId)
    {
        DeviceIdentity id = DeviceIdentity.FromName(name);

        id.DeviceId.Should().Be(expectedId);
        id.SerialNumber.Should().Be(expectedId.ToString("x", System.Globalization.CultureInfo.InvariantCulture));
        id.T10DeviceId.Should().Be($"{expectedId:x}-{name}");
    }

    [Fact]
    public void FromName_SetupId_GoesInHigh32Bits()
    {
        DeviceIdentity id = DeviceIdentity.FromName("disk1", setupId: 0x2A);

        id.DeviceId.Should().Be(0x0000_002A_EFD7_C1B8UL);
        id.SerialNumber.Should().Be("2aefd7c1b8");
    }

    [Fact]
    public void FromName_CalledTwice_GivesEqualIdentities()
    {
        DeviceIdentity a = DeviceIdentity.FromName("same");
        DeviceIdentity b = DeviceIdentity.FromName("same");

        a.Should().Be(b);
    }

    [Fact]
    public void FromName_DifferentNames_GiveDifferentIds()
    {
        DeviceIdentity a = DeviceIdentity.FromName("disk1");
        DeviceIdentity b = DeviceIdentity.FromName("disk2");

        a.DeviceId.Should().NotBe(b.DeviceId);
        a.SerialNumber.Should().NotBe(b.SerialNumber);
    }

    [Fact]
    public void FromName_Defaults_AreScstVendorAndProduct()
    {
        DeviceIdentity id = DeviceIdentity.FromName("disk1");

        id.VendorId.Should().Be("SCST_FIO");
        id.ProductId.Should().Be("Virtual disk");
        id.ProductRevision.Should().Be("0100");
        id.VendorId.Length.Should().BeLessThanOrEqualTo(8);
        id.ProductId.Length.Should().BeLessThanOrEqualTo(16);
    }
}
