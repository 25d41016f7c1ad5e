// Licensed under the Apache License, Version 2.0.

using Scst.Core;
using Scst.Core.Management;
using Scst.Handlers.Tests.Io;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Handlers.Tests;

/// <summary>
/// With the write cache on (<c>write_through</c> 0, the default of a file and of a device that reports a volatile cache),
/// a WRITE is GOOD once its data is in a cache: the page cache for vdisk_fileio, the device's own for vdisk_blockio. A
/// clean stop, or <c>active</c> set to 0, closes the file or the device, and closing writes neither cache. The device
/// makes them stable first (fdatasync), so that what initiators were told is written survives a power loss after the
/// stop. The page cache's own count of a file's dirty pages (cachestat) shows it; for vdisk_blockio the device is a loop
/// device, whose cache is its backing file's pages, which a flush of the loop device writes.
/// </summary>
public sealed class FlushOnCloseTests
{
    private const int Blocks = 256;

    [Theory]
    [InlineData("pread")]
    [InlineData("io_uring")]
    public async Task Stop_AfterCachedWrites_LeavesNoDirtyPageOfTheFile(string ioEngine)
    {
        using var directory = new TempDirectory();
        string path = directory.File("disk.img");
        ScstStack stack = await StartAsync(path, ioEngine);
        await WriteAsync(stack);
        PageCacheState written = PageCacheState.Of(path);

        await stack.DisposeAsync();

        written.Dirty.Should().BeGreaterThan(0, "a write with the write cache on leaves its data in the page cache only");
        PageCacheState closed = PageCacheState.Of(path);
        closed.Dirty.Should().Be(0, "the device flushed the file before closing it ({0})", closed);
        closed.Writeback.Should().Be(0, "the flush waited for the writeback it started");
    }

    [Fact]
    public async Task ActiveSetTo0_AfterCachedWrites_LeavesNoDirtyPageOfTheFile()
    {
        using var directory = new TempDirectory();
        string path = directory.File("disk.img");
        await using ScstStack stack = await StartAsync(path, "pread");
        await WriteAsync(stack);
        PageCacheState written = PageCacheState.Of(path);

        ManagementResult deactivated = await new ManagementTree(stack.Engine).WriteAsync("devices/disk0/active", "0");

        deactivated.Should().Be(ManagementResult.Ok);
        written.Dirty.Should().BeGreaterThan(0, "a write with the write cache on leaves its data in the page cache only");
        PageCacheState closed = PageCacheState.Of(path);
        closed.Dirty.Should().Be(0, "the device flushed the file before closing it ({0})", closed);
    }

    [Fact]
    public async Task BlockIo_StopAfterCachedWrites_FlushesTheDevicesCache()
    {
        using LoopDevice loop = LoopDevice.Create(16 << 20);

        // A loop device may report no volatile cache (the kernel then drops flushes before they reach it); told it has
        // one, it writes its backing file's pages on a flush, as a disk writes its cache.
        File.WriteAllText($"/sys/block/{loop.Name}/queue/write_cache", "write back");
        ScstStack stack = await ScstStack.StartAsync("vdisk_blockio", "disk0", new Dictionary<string, string> { ["filename"] = loop.Path });
        await WriteAsync(stack);
        PageCacheState written = PageCacheState.Of(loop.BackingFile);

        await stack.DisposeAsync();

        written.Dirty.Should().BeGreaterThan(0, "the loop device keeps a write in its backing file's page cache, its volatile cache");
        PageCacheState closed = PageCacheState.Of(loop.BackingFile);
        closed.Dirty.Should().Be(0, "the device flushed the loop device's cache before closing it ({0})", closed);
    }

    private static Task<ScstStack> StartAsync(string path, string ioEngine) =>
        ScstStack.StartAsync("vdisk_fileio", "disk0", new Dictionary<string, string>
        {
            ["filename"] = path,
            ["size"] = "16M",
            ["io_engine"] = ioEngine,
        });

    private static async Task WriteAsync(ScstStack stack)
    {
        byte[] data = new byte[Blocks * 512];
        new Random(7).NextBytes(data);
        LocalSession session = stack.OpenSession();
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Write10(64, Blocks), DataDirection.Write, data));
        stack.Engine.FindDevice("disk0")!.WriteCacheEnabled.Should().BeTrue("write_through defaults to 0");
    }
}
