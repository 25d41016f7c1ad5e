// Licensed under the Apache License, Version 2.0.

using System.Runtime.InteropServices;

namespace Scst.Handlers.Tests.Io;

/// <summary>
/// How many of a file's pages the page cache holds, and how many of them are dirty (written, not yet on the disk) or
/// under writeback, from cachestat(2) (Linux 6.5 and later): the way to see whether a write is stable without pulling
/// the power.
/// </summary>
internal readonly partial record struct PageCacheState(long Cached, long Dirty, long Writeback)
{
    // The same number on every architecture: system calls added since 5.1 share one table.
    private const long CachestatSyscall = 451;

    /// <summary>The state of the whole file at <paramref name="path"/>; throws when the kernel has no cachestat.</summary>
    public static PageCacheState Of(string path)
    {
        using FileStream file = File.OpenRead(path);
        var range = new CachestatRange(0, 0); // a length of 0: up to the end of the file
        if (CallCachestat(CachestatSyscall, (int)file.SafeFileHandle.DangerousGetHandle(), ref range, out CachestatResult stat, 0) != 0)
        {
            throw new IOException($"cachestat({path}) failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        return new PageCacheState((long)stat.Cache, (long)stat.Dirty, (long)stat.Writeback);
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long CallCachestat(long number, int fd, ref CachestatRange range, out CachestatResult stat, uint flags);

    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct CachestatRange(ulong Offset, ulong Length);

    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct CachestatResult(ulong Cache, ulong Dirty, ulong Writeback, ulong Evicted, ulong RecentlyEvicted);
}
