// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Scst.Handlers.Interop;
using Scst.Handlers.Io;

namespace Scst.Benchmarks.Handlers;

/// <summary>
/// <c>--io-engines [--seconds N] [--shm DIR] [--disk DIR] [--blockdev DEV] [--size-mb N] [--reps N]</c>: the I/O engines of
/// Scst.Handlers called directly (no SCSI, no transport) at a fixed queue depth: QD workers, each with its own aligned
/// buffer, issue random operations back to back for N seconds. Workloads: 4 KiB QD1, 4 KiB QD32, 128 KiB QD8; reads
/// and writes; through the page cache (a file on tmpfs, DIR defaults to /dev/shm) and with O_DIRECT (a file on a disk
/// file system, default /var/tmp, written in full first so that writes do not allocate). Engines: pread inline (the
/// worker's own thread makes the system call), pread on the blocking-I/O threads (vdisk_fileio's <c>async=1</c>) and io_uring.
/// With <c>--blockdev DEV</c> (a block device, such as a loop device; its first N MiB are overwritten), the same
/// workloads run on it with O_DIRECT as vdisk_blockio opens it, and the page-cache and disk-file rows are left out.
/// Prints IOPS, MB/s (10^6 B/s), process CPU µs per operation and bytes allocated per operation.
/// </summary>
internal static class IoEngineDriver
{
    private sealed record Workload(string Name, int BlockSize, int QueueDepth, bool Write);

    private static readonly Workload[] s_workloads =
    [
        new("4K read QD1", 4096, 1, false),
        new("4K read QD32", 4096, 32, false),
        new("128K read QD8", 128 << 10, 8, false),
        new("4K write QD1", 4096, 1, true),
        new("4K write QD32", 4096, 32, true),
        new("128K write QD8", 128 << 10, 8, true),
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        double seconds = Option(args, "--seconds", 5);
        int reps = (int)Option(args, "--reps", 1);
        long sizeBytes = (long)Option(args, "--size-mb", 1024) << 20;
        string shm = Text(args, "--shm", "/dev/shm");
        string disk = Text(args, "--disk", "/var/tmp");
        string blockDevice = Text(args, "--blockdev", string.Empty);
        if (blockDevice.Length > 0)
        {
            return await RunOnBlockDeviceAsync(blockDevice, sizeBytes, seconds, reps);
        }

        string cacheFile = Path.Combine(shm, $"scst-io-engines-{Environment.ProcessId}.img");
        string directFile = Path.Combine(disk, $"scst-io-engines-{Environment.ProcessId}.img");
        UringIoEngine uring = UringIoEngine.TryCreate(UringIoEngine.DefaultEntries, out int error)
            ?? throw new InvalidOperationException($"io_uring_setup failed: {Marshal.GetPInvokeErrorMessage(error)}");
        try
        {
            Fill(cacheFile, sizeBytes);
            Fill(directFile, sizeBytes);
            using SafeFileHandle cached = File.OpenHandle(cacheFile, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            using SafeFileHandle direct = DirectFile.Open(directFile, readOnly: false, out error)
                ?? throw new InvalidOperationException($"O_DIRECT on {disk}: {Marshal.GetPInvokeErrorMessage(error)}");
            (string Name, IoEngine Engine)[] engines =
            [
                ("pread", PositionalIoEngine.Inline),
                ("pread async", PositionalIoEngine.ThreadPool),
                ("io_uring", uring),
            ];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} CPUs, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, {seconds} s per run, file {sizeBytes >> 20} MiB"));
            Console.WriteLine($"{"storage",-13} {"workload",-15} {"engine",-12} {"IOPS",9} {"MB/s",8} {"CPU us/op",9} {"B/op",6}");
            foreach ((string storage, SafeFileHandle file) in new[] { ("page cache", cached), ("O_DIRECT", direct) })
            {
                foreach (Workload w in s_workloads)
                {
                    for (int rep = 0; rep < reps; rep++)
                    {
                        // Engines interleaved per workload, so that a change in the machine's load touches all of them alike.
                        foreach ((string name, IoEngine engine) in engines)
                        {
                            Result r = await MeasureAsync(engine, file, sizeBytes, w, seconds);
                            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                                $"{storage,-13} {w.Name,-15} {name,-12} {r.Iops,9:F0} {r.Iops * w.BlockSize / 1e6,8:F1} {r.CpuMicroseconds,9:F1} {r.AllocatedBytes,6:F1}{(r.Errors > 0 ? $"  {r.Errors} errors" : "")}"));
                        }
                    }
                }
            }

            return 0;
        }
        finally
        {
            uring.Dispose();
            File.Delete(cacheFile);
            File.Delete(directFile);
        }
    }

    private static async Task<int> RunOnBlockDeviceAsync(string path, long sizeBytes, double seconds, int reps)
    {
        using SafeFileHandle device = DirectFile.Open(path, readOnly: false, out int error)
            ?? throw new InvalidOperationException($"O_DIRECT on {path}: {Marshal.GetPInvokeErrorMessage(error)}");
        long size = BlockDeviceNode.GetSize(device);
        if (size <= 0)
        {
            throw new InvalidOperationException($"{path}: not a block device, or its size cannot be read.");
        }

        sizeBytes = Math.Min(sizeBytes, size);
        using UringIoEngine uring = UringIoEngine.TryCreate(UringIoEngine.DefaultEntries, out error)
            ?? throw new InvalidOperationException($"io_uring_setup failed: {Marshal.GetPInvokeErrorMessage(error)}");
        (string Name, IoEngine Engine)[] engines = [("pread", PositionalIoEngine.Inline), ("pread async", PositionalIoEngine.ThreadPool), ("io_uring", uring)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} CPUs, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, {seconds} s per run, {path} first {sizeBytes >> 20} MiB"));
        Console.WriteLine($"{"storage",-13} {"workload",-15} {"engine",-12} {"IOPS",9} {"MB/s",8} {"CPU us/op",9} {"B/op",6}");
        foreach (Workload w in s_workloads)
        {
            for (int rep = 0; rep < reps; rep++)
            {
                foreach ((string name, IoEngine engine) in engines)
                {
                    Result r = await MeasureAsync(engine, device, sizeBytes, w, seconds);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{"block device",-13} {w.Name,-15} {name,-12} {r.Iops,9:F0} {r.Iops * w.BlockSize / 1e6,8:F1} {r.CpuMicroseconds,9:F1} {r.AllocatedBytes,6:F1}{(r.Errors > 0 ? $"  {r.Errors} errors" : "")}"));
                }
            }
        }

        return 0;
    }

    private readonly record struct Result(double Iops, double CpuMicroseconds, double AllocatedBytes, long Errors);

    private static async Task<Result> MeasureAsync(IoEngine engine, SafeFileHandle file, long fileBytes, Workload w, double seconds)
    {
        var buffers = new AlignedBuffer[w.QueueDepth];
        for (int i = 0; i < buffers.Length; i++)
        {
            buffers[i] = new AlignedBuffer(w.BlockSize);
            new Random(i).NextBytes(buffers[i].GetSpan());
        }

        try
        {
            // Warm-up: one second of the same load (JIT, pool growth, the ring's operation pool).
            await RunWorkersAsync(engine, file, fileBytes, w, buffers, TimeSpan.FromSeconds(1));
            TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
            long allocated = GC.GetTotalAllocatedBytes(precise: true);
            var stopwatch = Stopwatch.StartNew();
            (long ops, long errors) = await RunWorkersAsync(engine, file, fileBytes, w, buffers, TimeSpan.FromSeconds(seconds));
            double elapsed = stopwatch.Elapsed.TotalSeconds;
            double cpuUs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds;
            long bytes = GC.GetTotalAllocatedBytes(precise: true) - allocated;
            return new Result(ops / elapsed, cpuUs / Math.Max(ops, 1), (double)bytes / Math.Max(ops, 1), errors);
        }
        finally
        {
            foreach (AlignedBuffer b in buffers)
            {
                ((IDisposable)b).Dispose();
            }
        }
    }

    private static async Task<(long Ops, long Errors)> RunWorkersAsync(IoEngine engine, SafeFileHandle file, long fileBytes, Workload w, AlignedBuffer[] buffers, TimeSpan duration)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        long blocks = fileBytes / w.BlockSize;
        var workers = new Task<(long, long)>[w.QueueDepth];
        for (int i = 0; i < workers.Length; i++)
        {
            Memory<byte> buffer = buffers[i].Memory;
            int seed = i + 1;
            workers[i] = Task.Run(async () =>
            {
                long ops = 0;
                long errors = 0;
                var random = new Random(seed);
                while (Stopwatch.GetTimestamp() < deadline)
                {
                    // A batch between clock reads keeps the clock out of the per-operation cost.
                    for (int k = 0; k < 16; k++)
                    {
                        long offset = random.NextInt64(blocks) * w.BlockSize;
                        int n = w.Write ? await engine.WriteAsync(file, buffer, offset).ConfigureAwait(false) : await engine.ReadAsync(file, buffer, offset).ConfigureAwait(false);
                        if (n != w.BlockSize)
                        {
                            errors++;
                        }

                        ops++;
                    }
                }

                return (ops, errors);
            });
        }

        (long, long)[] results = await Task.WhenAll(workers);
        return (results.Sum(r => r.Item1), results.Sum(r => r.Item2));
    }

    private static void Fill(string path, long bytes)
    {
        using SafeFileHandle f = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite);
        byte[] chunk = new byte[1 << 20];
        new Random(42).NextBytes(chunk);
        for (long at = 0; at < bytes; at += chunk.Length)
        {
            RandomAccess.Write(f, chunk, at);
        }

        RandomAccess.FlushToDisk(f);
    }

    private static double Option(string[] args, string name, double fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? double.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static string Text(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    /// <summary>Native memory aligned to 4096 bytes, as the core's data buffers are.</summary>
    private sealed unsafe class AlignedBuffer : MemoryManager<byte>
    {
        private readonly int _length;
        private byte* _pointer;

        public AlignedBuffer(int length)
        {
            _length = length;
            _pointer = (byte*)NativeMemory.AlignedAlloc((nuint)length, 4096);
        }

        public override Span<byte> GetSpan() => new(_pointer, _length);

        public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
            NativeMemory.AlignedFree(_pointer);
            _pointer = null;
        }
    }
}
