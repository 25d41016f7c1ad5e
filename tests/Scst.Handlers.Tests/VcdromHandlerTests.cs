// Licensed under the Apache License, Version 2.0.

using Scst.Core;
using Scst.Core.Management;
using Scst.Testing;

namespace Scst.Handlers.Tests;

/// <summary>The vcdrom handler's parameters, its images and the medium change through the <c>filename</c> attribute.</summary>
public sealed class VcdromHandlerTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly VcdromHandler _handler = new();
    private readonly List<ScsiDevice> _devices = [];

    public void Dispose()
    {
        foreach (ScsiDevice d in _devices)
        {
            d.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        _dir.Dispose();
    }

    private VcdromDevice Create(Dictionary<string, string> parameters)
    {
        var device = (VcdromDevice)_handler.CreateDevice("cd0", parameters);
        _devices.Add(device);
        return device;
    }

    private string Image(string name, int sectors) => IsoImageFile.Write(_dir.File(name), sectors);

    [Fact]
    public void Handler_NameAndType_AreScsts()
    {
        _handler.Name.Should().Be("vcdrom");
        _handler.DeviceType.Should().Be(PeripheralDeviceType.CdDvd);
    }

    [Fact]
    public void CreateDevice_WithImage_IsAWriteProtectedRemovableCdRomOf2048ByteSectors()
    {
        string path = Image("a.iso", 40);

        VcdromDevice device = Create(new() { ["filename"] = path });

        device.DeviceType.Should().Be(PeripheralDeviceType.CdDvd);
        device.HandlerName.Should().Be("vcdrom");
        device.BlockSize.Should().Be(2048);
        device.BlockCount.Should().Be(40);
        device.ReadOnly.Should().BeTrue();
        device.Removable.Should().BeTrue();
        device.MediumPresent.Should().BeTrue();
        device.Filename.Should().Be(path);
        device.SingleTaskSet.Should().BeFalse("tst defaults to 1, one task set per I_T nexus");
    }

    [Fact]
    public void CreateDevice_WithoutFilename_StartsEmpty()
    {
        VcdromDevice device = Create([]);

        device.MediumPresent.Should().BeFalse();
        device.BlockCount.Should().Be(0);
        device.Filename.Should().BeEmpty();
    }

    [Fact]
    public void CreateDevice_MissingImage_IsRefusedAndNeverCreated()
    {
        string path = _dir.File("missing.iso");

        Action act = () => Create(new() { ["filename"] = path });

        act.Should().Throw<ArgumentException>().WithMessage($"*cd0*{path}*does not exist*");
        File.Exists(path).Should().BeFalse("a vcdrom never creates its image");
    }

    [Fact]
    public void CreateDevice_RelativePath_IsRefused()
    {
        Action act = () => Create(new() { ["filename"] = "images/a.iso" });

        act.Should().Throw<ArgumentException>().WithMessage("*'images/a.iso' is not absolute*");
    }

    [Fact]
    public void CreateDevice_ImageShorterThanOneSector_IsRefused()
    {
        string path = _dir.File("short.iso");
        File.WriteAllBytes(path, new byte[2047]);

        Action act = () => Create(new() { ["filename"] = path });

        act.Should().Throw<ArgumentException>().WithMessage("*2047 bytes, less than one 2048-byte sector*");
    }

    [Fact]
    public void CreateDevice_PartialLastSector_IsNotPartOfTheMedium()
    {
        string path = _dir.File("odd.iso");
        File.WriteAllBytes(path, new byte[(2048 * 10) + 100]);

        VcdromDevice device = Create(new() { ["filename"] = path });

        device.BlockCount.Should().Be(10);
    }

    [Theory]
    [InlineData("size", "1M")]
    [InlineData("read_only", "0")]
    [InlineData("blocksize", "512")]
    public void CreateDevice_ParameterOfADisk_IsUnknown(string name, string value)
    {
        Action act = () => Create(new() { [name] = value });

        act.Should().Throw<ArgumentException>().WithMessage($"*unknown parameter '{name}'*");
    }

    [Fact]
    public void CreateDevice_Tst_ChoosesTheTaskSetModel()
    {
        Create(new() { ["tst"] = "0" }).SingleTaskSet.Should().BeTrue();
        Create(new() { ["tst"] = "1" }).SingleTaskSet.Should().BeFalse();
        Action bad = () => Create(new() { ["tst"] = "2" });
        bad.Should().Throw<ArgumentException>().WithMessage("*'tst' has value '2'*");
    }

    [Fact]
    public void CreateDevice_Image_IsOpenedForReadingOnly()
    {
        string path = Image("ro.iso", 20);

        Create(new() { ["filename"] = path });

        // The access mode of every descriptor this process holds on the image (O_ACCMODE of /proc/self/fdinfo's flags).
        List<int> modes = [.. OpenDescriptors(path).Select(AccessMode)];
        modes.Should().NotBeEmpty("the drive holds its image open");
        modes.Should().OnlyContain(m => m == 0, "O_RDONLY is 0: the image is never opened for writing");
    }

    private static IEnumerable<string> OpenDescriptors(string path) =>
        Directory.EnumerateFileSystemEntries("/proc/self/fd")
            .Where(fd => new FileInfo(fd).LinkTarget == path)
            .Select(Path.GetFileName)!;

    private static int AccessMode(string fd)
    {
        string flags = File.ReadAllLines($"/proc/self/fdinfo/{fd}").Single(l => l.StartsWith("flags:", StringComparison.Ordinal));
        return Convert.ToInt32(flags["flags:".Length..].Trim(), 8) & 3;
    }

    [Fact]
    public void FilenameAttribute_IsWritable_AndChangesTheMedium()
    {
        string first = Image("first.iso", 20);
        string second = Image("second.iso", 30);
        VcdromDevice device = Create(new() { ["filename"] = first });
        ManagementAttribute filename = device.ManagementAttributes.Single(a => a.Name == "filename");

        filename.IsWritable.Should().BeTrue();
        filename.Value.Should().Be(first);
        filename.IsKey.Should().BeTrue("a loaded image is part of a saved configuration");

        filename.Write!("  " + second + "\n");
        device.Filename.Should().Be(second);
        device.BlockCount.Should().Be(30);

        filename.Write("");
        device.MediumPresent.Should().BeFalse();
        device.BlockCount.Should().Be(0);
        filename.Value.Should().BeEmpty();
        filename.IsKey.Should().BeFalse("an empty drive has nothing to save");
    }

    [Fact]
    public void ChangeMedium_BadImage_KeepsTheMediumInTheDrive()
    {
        string first = Image("first.iso", 20);
        VcdromDevice device = Create(new() { ["filename"] = first });

        Action missing = () => device.ChangeMedium(_dir.File("missing.iso"));
        Action relative = () => device.ChangeMedium("relative.iso");

        missing.Should().Throw<ArgumentException>().WithMessage("*does not exist*");
        relative.Should().Throw<ArgumentException>().WithMessage("*not absolute*");
        device.Filename.Should().Be(first);
        device.MediumPresent.Should().BeTrue();
    }

    [Fact]
    public void Attributes_ShowSizeAndTheFixedProperties()
    {
        VcdromDevice device = Create(new() { ["filename"] = Image("a.iso", 16 * 32) });
        Dictionary<string, string> values = device.ManagementAttributes.ToDictionary(a => a.Name, a => a.Value);

        values["size"].Should().Be((16L * 32 * 2048).ToString(System.Globalization.CultureInfo.InvariantCulture));
        values["size_mb"].Should().Be("1");
        values["blocksize"].Should().Be("2048");
        values["read_only"].Should().Be("1");
        values["removable"].Should().Be("1");
        values["tst"].Should().Be("1");
    }
}
