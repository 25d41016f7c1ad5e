// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.DependencyInjection;
using Scst.Core;

namespace Scst.Handlers.Tests;

public sealed class VdiskNullIoHandlerTests
{
    private readonly VdiskNullIoHandler _handler = new();

    private NullIoDevice Create(Dictionary<string, string> parameters) => (NullIoDevice)_handler.CreateDevice("null0", parameters);

    [Fact]
    public void Handler_NameAndType_AreScsts()
    {
        _handler.Name.Should().Be("vdisk_nullio");
        _handler.DeviceType.Should().Be(PeripheralDeviceType.DirectAccess);
    }

    [Fact]
    public void CreateDevice_NoParameters_IsScsts2Point5TebibytesOf512ByteBlocks()
    {
        NullIoDevice device = Create([]);

        device.BlockSize.Should().Be(512);
        device.BlockCount.Should().Be((5L << 40) / 2 / 512);
        device.ReadOnly.Should().BeFalse();
        device.HandlerName.Should().Be("vdisk_nullio");
    }

    [Fact]
    public void CreateDevice_SizeAndBlocksize_AreApplied()
    {
        NullIoDevice device = Create(new() { ["size"] = "1G", ["blocksize"] = "4096" });

        device.BlockSize.Should().Be(4096);
        device.BlockCount.Should().Be(262_144);
    }

    [Fact]
    public void CreateDevice_SizeMb_CountsMebibytes()
    {
        NullIoDevice device = Create(new() { ["size_mb"] = "10" });

        device.BlockCount.Should().Be(10 * 2048);
    }

    [Fact]
    public void CreateDevice_PlainByteSize_IsAccepted()
    {
        NullIoDevice device = Create(new() { ["size"] = "1048576", ["blocksize"] = "1024" });

        device.BlockCount.Should().Be(1024);
    }

    [Fact]
    public void CreateDevice_ReadOnly_IsReadOnly()
    {
        NullIoDevice device = Create(new() { ["read_only"] = "yes" });

        device.ReadOnly.Should().BeTrue();
    }

    [Theory]
    [InlineData("filename", "/tmp/x", "'filename'")]
    [InlineData("blocksize", "513", "'blocksize'*'513'")]
    [InlineData("size", "ten", "'size'*'ten'")]
    [InlineData("size_mb", "-1", "'size_mb'")]
    [InlineData("read_only", "2", "'read_only'")]
    public void CreateDevice_BadParameter_ThrowsNamingIt(string key, string value, string pattern)
    {
        Action act = () => Create(new() { [key] = value });

        act.Should().Throw<ArgumentException>().WithMessage($"*{pattern}*");
    }

    [Fact]
    public void CreateDevice_SizeBelowOneBlock_Throws()
    {
        Action act = () => Create(new() { ["size"] = "100" });

        act.Should().Throw<ArgumentException>().WithMessage("*100*");
    }

    [Fact]
    public void AddVdiskHandlers_CalledTwice_RegistersEachHandlerOnce()
    {
        var services = new ServiceCollection();

        services.AddScst().AddVdiskHandlers().AddVdiskHandlers();

        using ServiceProvider provider = services.BuildServiceProvider();
        provider.GetServices<IDeviceHandler>().Select(h => h.Name).Should().BeEquivalentTo(["vdisk_fileio", "vdisk_blockio", "vdisk_nullio", "vcdrom"]);
    }
}
