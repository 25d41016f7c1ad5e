// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.Core.Tests;

public sealed class DeviceIdentityTests
{
    // Golden values computed outside .NET as the Linux kernel's crc32c(0, name, strlen(name) + 1) that SCST's vdisk
    // uses: reflected CRC-32C (polynomial 0x82F63B78) over the name and its NUL, register starting at 0, no final
    // inversion (the usual CRC-32C, init and xorout 0xFFFFFFFF, gives 0xEFD7C1B8 for "disk1": not SCST's id).
    [Theory]
    [InlineData("disk1", 0xB8FDBD32UL)]
    [InlineData("nullio0", 0xDD9EFC2CUL)]
    [InlineData("a", 0x933EBD71UL)]
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

        id.DeviceId.Should().Be(0x0000_002A_B8FD_BD32UL);
        id.SerialNumber.Should().Be("2ab8fdbd32");
        id.T10DeviceId.Should().Be("2ab8fdbd32-disk1");
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
    public void FromName_Defaults_AreScstVendorProductAndRevision()
    {
        DeviceIdentity id = DeviceIdentity.FromName("disk1");

        id.VendorId.Should().Be("SCST_FIO");
        id.ProductId.Should().Be("disk1", "SCST's prod_id is the device name");
        id.ProductRevision.Should().Be("3110");
        id.VendorSpecificId.Should().Be(id.T10DeviceId, "vend_specific_id starts as t10_dev_id");
        id.ScsiDeviceName.Should().BeEmpty();
        id.Eui64Id.IsEmpty.Should().BeTrue();
        id.NaaId.IsEmpty.Should().BeTrue();
    }

    [Fact]
    public void FromName_LongName_CutsT10DeviceIdTo25AndProductIdTo16Characters()
    {
        const string name = "a-rather-long-device-name-of-40-chars-xx";

        DeviceIdentity id = DeviceIdentity.FromName(name);

        // crc32c(0, name + NUL) computed outside .NET (see the golden values above).
        id.SerialNumber.Should().Be("1cbdbefb");
        id.T10DeviceId.Should().Be("1cbdbefb-a-rather-long-de", "SCST prints \"%llx-%s\" into 26 bytes, NUL included");
        id.ProductId.Should().Be("a-rather-long-de");
    }

    [Fact]
    public void NameChecksum_IsTheKernelsCrc32cWithSeedZeroAndNoInversion()
    {
        // crc32c(0, "", 1): one NUL byte through a register of 0 leaves it 0.
        DeviceIdentity.NameChecksum(string.Empty).Should().Be(0u);
        DeviceIdentity.NameChecksum("123456789").Should().Be(0x20E56D24u);
    }
}
