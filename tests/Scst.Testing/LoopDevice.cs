// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Globalization;

namespace Scst.Testing;

/// <summary>
/// A loop device over a sparse file in a temporary directory, for tests of vdisk_blockio:
/// <c>losetup --find --show [--sector-size N] FILE</c>, detached with <c>losetup -d</c> on dispose. Needs root and
/// util-linux's losetup; without them <see cref="Create"/> throws, so a test that needs one fails, never skips.
/// </summary>
public sealed class LoopDevice : IDisposable
{
    private readonly TempDirectory _dir;
    private bool _detached;

    private LoopDevice(TempDirectory dir, string backingFile, string path)
    {
        _dir = dir;
        BackingFile = backingFile;
        Path = path;
    }

    /// <summary>The device node, e.g. /dev/loop3.</summary>
    public string Path { get; }

    /// <summary>The sparse file behind the device.</summary>
    public string BackingFile { get; }

    /// <summary>The device's name in sysfs (<c>/sys/block/NAME</c>).</summary>
    public string Name => System.IO.Path.GetFileName(Path);

    /// <summary>Creates a sparse file of <paramref name="bytes"/> and a loop device over it with <paramref name="sectorSize"/>-byte logical blocks.</summary>
    public static LoopDevice Create(long bytes, int sectorSize = 512)
    {
        var dir = new TempDirectory();
        try
        {
            string file = dir.File("loop.img");
            using (FileStream f = File.Create(file))
            {
                f.SetLength(bytes);
            }

            string path = Run("--find", "--show", "--sector-size", sectorSize.ToString(CultureInfo.InvariantCulture), file).Trim();
            if (!path.StartsWith("/dev/loop", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"losetup printed '{path}', not a loop device.");
            }

            return new LoopDevice(dir, file, path);
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    /// <summary>Grows (or shrinks) the backing file and has the loop device take its new size (<c>losetup -c</c>).</summary>
    public void Resize(long bytes)
    {
        using (FileStream f = new(BackingFile, FileMode.Open, FileAccess.ReadWrite))
        {
            f.SetLength(bytes);
        }

        Run("-c", Path);
    }

    /// <summary>Reads a value of the device's request queue in sysfs.</summary>
    public string Queue(string name) => File.ReadAllText($"/sys/block/{Name}/queue/{name}").Trim();

    /// <summary>Reads bytes of the backing file (what the device holds, through the file system).</summary>
    public byte[] ReadBacking(long offset, int length)
    {
        using FileStream f = new(BackingFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        byte[] data = new byte[length];
        f.Position = offset;
        f.ReadExactly(data);
        return data;
    }

    /// <summary>Writes bytes to the device node directly, bypassing the target (to set up what a test then reads).</summary>
    public void WriteDevice(long offset, byte[] data)
    {
        using FileStream f = new(Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        f.Position = offset;
        f.Write(data);
        f.Flush(flushToDisk: true);
    }

    public void Dispose()
    {
        if (!_detached)
        {
            _detached = true;
            try
            {
                Run("-d", Path);
            }
            finally
            {
                _dir.Dispose();
            }
        }
    }

    private static string Run(params string[] arguments)
    {
        var start = new ProcessStartInfo("losetup") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException("losetup did not start.");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"losetup {string.Join(' ', arguments)} failed ({process.ExitCode}): {error.Trim()}");
        }

        return output.GetAwaiter().GetResult();
    }
}
