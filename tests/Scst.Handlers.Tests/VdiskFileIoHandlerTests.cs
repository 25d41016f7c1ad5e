// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Globalization;
using Scst.Core;
using Scst.Testing;

namespace Scst.Handlers.Tests;

public sealed class VdiskFileIoHandlerTests : IAsyncDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly VdiskFileIoHandler _handler = new();
    private readonly List<ScsiDevice> _devices = [];

    // Asynchronous, never blocking: a test's last await may resume on the io_uring's completion thread, which a
    // blocking wait for the devices' disposal (which waits for that thread) would hold for ever.
    public async ValueTask DisposeAsync()
    {
        foreach (ScsiDevice d in _devices)
        {
            await d.DisposeAsync();
        }

        _dir.Dispose();
    }

    private FileIoDevice Create(string name, Dictionary<string, string> parameters)
    {
        var device = (FileIoDevice)_handler.CreateDevice(name, parameters);
        _devices.Add(device);
        return device;
    }

    [Fact]
    public void Handler_NameAndType_AreScsts()
    {
        _handler.Name.Should().Be("vdisk_fileio");
        _handler.DeviceType.Should().Be(PeripheralDeviceType.DirectAccess);
    }

    [Fact]
    public void CreateDevice_MissingFileWithSize_CreatesSparseFileAtOnce()
    {
        string path = _dir.File("sparse.img");
        var stopwatch = Stopwatch.StartNew();

        FileIoDevice device = Create("disk1", new() { ["filename"] = path, ["size"] = "1G" });

        stopwatch.Stop();
        new FileInfo(path).Length.Should().Be(1L << 30);
        device.BlockSize.Should().Be(512);
        device.BlockCount.Should().Be((1L << 30) / 512);
        device.Path.Should().Be(path);
        stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2), "a sparse file is created without writing 1 GiB");
        AllocatedBytes(path).Should().BeLessThan(1 << 20, "the file must be sparse");
    }

    [Fact]
    public void CreateDevice_MissingFileInMissingDirectory_CreatesBoth()
    {
        string path = Path.Combine(_dir.Path, "a", "b", "disk.img");

        FileIoDevice device = Create("disk1", new() { ["filename"] = path, ["size_mb"] = "2" });

        File.Exists(path).Should().BeTrue();
        new FileInfo(path).Length.Should().Be(2L << 20);
        device.BlockCount.Should().Be(4096);
    }

    [Fact]
    public void CreateDevice_ExistingFile_TakesSizeFromFileAndIgnoresSizeParameter()
    {
        string path = _dir.File("existing.img");
        File.WriteAllBytes(path, new byte[(1 << 20) + 100]);

        FileIoDevice device = Create("disk1", new() { ["filename"] = path, ["size"] = "8M" });

        device.BlockCount.Should().Be((1 << 20) / 512, "the partial block at the end is not usable");
        new FileInfo(path).Length.Should().Be((1 << 20) + 100, "an existing file is never resized");
    }

    [Fact]
    public void CreateDevice_Blocksize4096_CountsBlocksOf4096()
    {
        string path = _dir.File("4k.img");

        FileIoDevice device = Create("disk1", new() { ["filename"] = path, ["size"] = "1M", ["blocksize"] = "4096" });

        device.BlockSize.Should().Be(4096);
        device.BlockCount.Should().Be(256);
    }

    [Fact]
    public void CreateDevice_ReadOnly_IsReadOnly()
    {
        string path = _dir.File("ro.img");
        File.WriteAllBytes(path, new byte[8192]);

        FileIoDevice device = Create("disk1", new() { ["filename"] = path, ["read_only"] = "1" });

        device.ReadOnly.Should().BeTrue();
    }

    [Fact]
    public void CreateDevice_Defaults_WritableWithWriteCache()
    {
        FileIoDevice device = Create("disk1", new() { ["filename"] = _dir.File("d.img"), ["size"] = "64K" });

        device.ReadOnly.Should().BeFalse();
        device.WriteCacheEnabled.Should().BeTrue();
        device.Rotational.Should().BeTrue("SCST's rotational defaults to 1");
        device.HandlerName.Should().Be("vdisk_fileio");
        device.Name.Should().Be("disk1");
    }

    [Theory]
    [InlineData("nv_cache")]
    [InlineData("write_through")]
    public void CreateDevice_NvCacheOrWriteThrough_DisablesWriteCache(string key)
    {
        FileIoDevice device = Create("disk1", new() { ["filename"] = _dir.File("d.img"), ["size"] = "64K", [key] = "1" });

        device.WriteCacheEnabled.Should().BeFalse();
    }

    [Fact]
    public void CreateDevice_UnknownParameter_ThrowsNamingIt()
    {
        Action act = () => Create("disk1", new() { ["filename"] = _dir.File("d.img"), ["size"] = "1M", ["bogus_key"] = "1" });

        act.Should().Throw<ArgumentException>().WithMessage("*'bogus_key'*");
    }

    [Theory]
    [InlineData("513")]
    [InlineData("8192")]
    [InlineData("abc")]
    [InlineData("-512")]
    public void CreateDevice_BadBlocksize_ThrowsNamingIt(string value)
    {
        Action act = () => Create("disk1", new() { ["filename"] = _dir.File("d.img"), ["size"] = "1M", ["blocksize"] = value });

        act.Should().Throw<ArgumentException>().WithMessage($"*'blocksize'*'{value}'*");
        File.Exists(_dir.File("d.img")).Should().BeFalse("nothing is created for a refused device");
    }

    [Fact]
    public void CreateDevice_MissingFilename_ThrowsNamingIt()
    {
        Action act = () => Create("disk1", new() { ["size"] = "1M" });

        act.Should().Throw<ArgumentException>().WithMessage("*'filename'*");
    }

    [Fact]
    public void CreateDevice_MissingFileWithoutSize_ThrowsNamingFileAndSize()
    {
        string path = _dir.File("absent.img");

        Action act = () => Create("disk1", new() { ["filename"] = path });

        act.Should().Throw<ArgumentException>().WithMessage($"*{path}*size*");
        File.Exists(path).Should().BeFalse();
    }

    [Theory]
    [InlineData("size", "12Q")]
    [InlineData("size", "")]
    [InlineData("size_mb", "x")]
    [InlineData("read_only", "maybe")]
    [InlineData("nv_cache", "2")]
    public void CreateDevice_MalformedValue_ThrowsNamingTheParameter(string key, string value)
    {
        var parameters = new Dictionary<string, string> { ["filename"] = _dir.File("d.img"), [key] = value };
        if (key is not ("size" or "size_mb"))
        {
            parameters["size"] = "1M";
        }

        Action act = () => Create("disk1", parameters);

        act.Should().Throw<ArgumentException>().WithMessage($"*'{key}'*");
    }

    [Fact]
    public void CreateDevice_FileSmallerThanOneBlock_Throws()
    {
        string path = _dir.File("tiny.img");
        File.WriteAllBytes(path, new byte[1000]);

        Action act = () => Create("disk1", new() { ["filename"] = path, ["blocksize"] = "1024" });

        act.Should().Throw<ArgumentException>().WithMessage("*1000*");
    }

    private static long AllocatedBytes(string path)
    {
        // stat's %b is the number of allocated blocks, %B their size: a sparse file allocates (almost) nothing.
        var psi = new ProcessStartInfo("stat", ["-c", "%b %B", path]) { RedirectStandardOutput = true };
        using Process process = Process.Start(psi)!;
        string output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        process.ExitCode.Should().Be(0);
        string[] parts = output.Split(' ');
        return long.Parse(parts[0], CultureInfo.InvariantCulture) * long.Parse(parts[1], CultureInfo.InvariantCulture);
    }
}
