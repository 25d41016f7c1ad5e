// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Scst.Core;
using Scst.Transport.Local;

namespace Scst.Benchmarks.Load;

/// <summary>
/// <c>handler-load</c>: a load driver for one vdisk_fileio LUN (a file) or vdisk_blockio LUN (a block device) served the
/// way a target serves it (engine built through the DI registration, the local transport's session as the initiator). N workers keep one READ(10) or WRITE(10)
/// each in flight for a given time; the run prints IOPS, MB/s, latency percentiles and the process CPU time per I/O as
/// one <c>key=value</c> line, like fio's terse output, so that a script can set the two side by side.
/// </summary>
/// <remarks>
/// <para>Workers: <c>threads</c> are N dedicated threads that each submit and, when the command did not complete on the
/// submitting thread, block until it does (fio's <c>psync</c> with <c>numjobs=N</c>: with inline I/O every command
/// runs its pread/pwrite on the worker's own thread). <c>tasks</c> are N asynchronous loops on the thread pool: a
/// completion submits the worker's next command on the completing thread, as a transport's completion path would
/// (fio's <c>iodepth=N</c> on one job). <c>auto</c> takes <c>threads</c> when the device does its I/O inline and
/// <c>tasks</c> when it hands I/O off (vdisk_fileio: <c>async=1</c>, <c>io_engine=io_uring</c>, or <c>o_direct</c> with the
/// default engine; vdisk_blockio: any engine but <c>io_engine=pread</c>, which runs each request on the command's thread).</para>
/// <para>Range: the LUN's capacity as READ CAPACITY (16) reports it (for vdisk_fileio the file's size, for vdisk_blockio
/// the block device's), or less with <c>--size</c>.</para>
/// <para>Offsets: random workloads pick uniformly distributed offsets aligned to the block size over the whole range
/// (fio's <c>norandommap</c>, blockalign = bs); sequential workloads stream either from one shared cursor (one job,
/// N outstanding) or, with <c>--seq sliced</c>, each worker through its own slice of the range (N jobs with
/// <c>offset_increment</c>).</para>
/// <para>Nothing is allocated per I/O by the driver: buffers, CDBs, random generators and latency histograms belong
/// to the workers, and a blocked thread worker is woken through a cached delegate.</para>
/// </remarks>
internal static class HandlerLoad
{
    private const int Lun = 0;
    private const string DeviceName = "load0";
    private const string TargetName = "load";
    private const string FileIo = "vdisk_fileio";
    private const string BlockIo = "vdisk_blockio";

    public static int Run(string[] args)
    {
        Options options;
        try
        {
            options = Options.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"handler-load: {e.Message}");
            Console.Error.WriteLine(Options.Usage);
            return 2;
        }

        if (options.MinThreads > 0)
        {
            // A knob of the target process, not of the driver: with async=1 every I/O blocks a pool thread, and the pool
            // starts with one thread per CPU.
            ThreadPool.GetMinThreads(out _, out int completion);
            ThreadPool.SetMinThreads(options.MinThreads, completion);
        }

        var services = new ServiceCollection();
        services.AddLogging();
        var parameters = new Dictionary<string, string>(options.Parameters, StringComparer.Ordinal) { ["filename"] = options.File };
        services.AddScst(o => o.MaxCommandsPerSession = Math.Max(128, options.QueueDepth * 2))
            .AddVdiskHandlers()
            .AddLocalTransport()
            .AddDevice(options.Handler, DeviceName, parameters)
            .AddTarget(LocalTargetDriver.DriverName, TargetName, t => t.AddLun(Lun, DeviceName));
        ServiceProvider provider = services.BuildServiceProvider();
        try
        {
            return Run(provider, options);
        }
        finally
        {
            // The container disposes the engine (IAsyncDisposable only), which closes the device.
            provider.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static int Run(ServiceProvider provider, Options options)
    {
        // What ScstHostedService.StartAsync does: make the drivers known, then create devices, targets and LUNs.
        ScstEngine engine = provider.GetRequiredService<ScstEngine>();
        foreach (ITargetDriver driver in provider.GetServices<ITargetDriver>())
        {
            engine.RegisterDriver(driver);
        }

        try
        {
            engine.ApplyConfiguration();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            // A device parameter the handler refuses (or does not know yet, like an engine not built in) or a file it
            // cannot open.
            Console.Error.WriteLine($"handler-load: the LUN could not be created: {e.Message}");
            return 2;
        }

        if (engine.FindDevice(DeviceName) is not BlockDevice)
        {
            throw new InvalidOperationException("The LUN's device was not created.");
        }

        var transport = provider.GetRequiredService<LocalTargetDriver>();

        // One session (one I_T nexus) for all workers, or one per worker with its own initiator name: independent
        // initiators, as fio's jobs are independent and as a target serves several sessions.
        var sessions = new LocalSession[options.SessionPerWorker ? options.QueueDepth : 1];
        for (int i = 0; i < sessions.Length; i++)
        {
            sessions[i] = transport.OpenSession(TargetName, $"iqn.2026-11.org.scst-dotnet:handler-load-{i}");
        }

        try
        {
            return Run(options, sessions);
        }
        finally
        {
            foreach (LocalSession s in sessions)
            {
                s.Dispose();
            }
        }
    }

    private static int Run(Options options, LocalSession[] sessions)
    {
        foreach (LocalSession session in sessions)
        {
            if (!ClearUnitAttention(session))
            {
                Console.Error.WriteLine("handler-load: TEST UNIT READY does not return GOOD.");
                return 1;
            }
        }

        if (!ReadCapacity(sessions[0], out int blockSize, out long capacity))
        {
            Console.Error.WriteLine("handler-load: READ CAPACITY (16) does not return GOOD.");
            return 1;
        }

        long range = options.Range > 0 ? Math.Min(options.Range, capacity) : capacity;
        if (options.BlockBytes % blockSize != 0 || range < options.BlockBytes)
        {
            Console.Error.WriteLine($"handler-load: bs {options.BlockBytes} must be a multiple of the LUN's block size {blockSize} and fit in {range} bytes.");
            return 2;
        }

        bool inline = options.Parameters.TryGetValue("io_engine", out string? engineValue) ? engineValue == "pread" : options.Handler == FileIo;
        if (options.Handler == FileIo)
        {
            // vdisk_fileio is inline on pread (named, or its default without o_direct) without async.
            inline &= !options.Parameters.TryGetValue("async", out string? asyncValue) || asyncValue == "0";
            inline &= engineValue is not null || !options.Parameters.TryGetValue("o_direct", out string? directValue) || directValue == "0";
        }
        bool threads = options.Workers switch
        {
            "threads" => true,
            "tasks" => false,
            _ => inline,
        };

        var shared = new SharedCursor();
        var workers = new Worker[options.QueueDepth];
        long slice = range / options.QueueDepth / options.BlockBytes * options.BlockBytes;
        if (options.Sequential && options.SlicedSequential && slice < options.BlockBytes)
        {
            Console.Error.WriteLine("handler-load: the range is too small for one slice per worker.");
            return 2;
        }

        for (int i = 0; i < workers.Length; i++)
        {
            long sliceStart = options.SlicedSequential ? i * slice : 0;
            long sliceLength = options.SlicedSequential ? slice : range;
            workers[i] = new Worker(sessions[i % sessions.Length], options, blockSize, range, sliceStart, sliceLength, shared, seed: 0x5C57 + (i * 7919));
        }

        // Warm-up: the same load, not counted.
        RunPhase(workers, threads, options.WarmupSeconds);
        foreach (Worker w in workers)
        {
            w.ResetCounters();
        }

        TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        int gcBefore = GC.CollectionCount(0);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
        double elapsed = RunPhase(workers, threads, options.Seconds);
        long allocated = GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore;
        int gcs = GC.CollectionCount(0) - gcBefore;
        TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;

        long ios = 0;
        long errors = 0;
        var histogram = new LatencyHistogram();
        foreach (Worker w in workers)
        {
            ios += w.Completed;
            errors += w.Errors;
            histogram.Add(w.Histogram);
        }

        double iops = ios / elapsed;
        string line = string.Create(CultureInfo.InvariantCulture,
            $"handler-load handler={options.Handler} capacity={capacity} rw={options.Rw} bs={options.BlockBytes} qd={options.QueueDepth} workers={(threads ? "threads" : "tasks")} " +
            $"min_threads={(options.MinThreads > 0 ? options.MinThreads : 0)} sessions={sessions.Length} " +
            $"params={FormatParameters(options.Parameters)} secs={elapsed:F2} ios={ios} iops={iops:F0} mbps={iops * options.BlockBytes / 1e6:F1} " +
            $"lat_us_p50={histogram.Percentile(50) / 1000.0:F1} lat_us_p99={histogram.Percentile(99) / 1000.0:F1} lat_us_max={histogram.Max / 1000.0:F1} " +
            $"cpu_s={cpu.TotalSeconds:F2} cpu_us_per_io={(ios == 0 ? 0 : cpu.TotalMicroseconds / ios):F2} " +
            $"alloc_bytes_per_io={(ios == 0 ? 0 : (double)allocated / ios):F1} gen0={gcs} errors={errors}");
        Console.WriteLine(line);
        foreach (Worker w in workers)
        {
            w.Dispose();
        }

        if (errors > 0)
        {
            Console.Error.WriteLine($"handler-load: {errors} command(s) did not end GOOD; first: {workers.First(w => w.Errors > 0).FirstError}");
            return 1;
        }

        return 0;
    }

    private static string FormatParameters(Dictionary<string, string> parameters) =>
        parameters.Count == 0 ? "-" : string.Join(',', parameters.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));

    private static bool ClearUnitAttention(LocalSession session)
    {
        // A new nexus starts with the power-on unit attention; TEST UNIT READY takes it.
        byte[] tur = new byte[6];
        for (int i = 0; i < 4; i++)
        {
            if (session.ExecuteAsync(Lun, tur, DataDirection.None, Memory<byte>.Empty).AsTask().GetAwaiter().GetResult().Status == ScsiStatus.Good)
            {
                return true;
            }
        }

        return false;
    }

    // What an initiator learns before it sends I/O: the block length and the capacity (last LBA + 1 blocks).
    private static bool ReadCapacity(LocalSession session, out int blockSize, out long capacity)
    {
        byte[] cdb = new byte[16];
        cdb[0] = 0x9E; // SERVICE ACTION IN (16)
        cdb[1] = 0x10; // READ CAPACITY (16)
        byte[] data = new byte[32];
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(10), (uint)data.Length);
        LocalResult result = session.ExecuteAsync(Lun, cdb, DataDirection.Read, data).AsTask().GetAwaiter().GetResult();
        blockSize = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(8));
        capacity = result.Status == ScsiStatus.Good && blockSize > 0
            ? checked(((long)BinaryPrimitives.ReadUInt64BigEndian(data) + 1) * blockSize)
            : 0;
        return capacity > 0;
    }

    /// <summary>Runs every worker for <paramref name="seconds"/>; returns the seconds from the first start to the last stop.</summary>
    private static double RunPhase(Worker[] workers, bool threads, double seconds)
    {
        if (seconds <= 0)
        {
            return 0;
        }

        long deadline = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        long start = Stopwatch.GetTimestamp();
        if (threads)
        {
            var running = new Thread[workers.Length];
            for (int i = 0; i < workers.Length; i++)
            {
                Worker w = workers[i];
                running[i] = new Thread(() => w.RunBlocking(deadline)) { IsBackground = true, Name = $"load-{i}" };
                running[i].Start();
            }

            foreach (Thread t in running)
            {
                t.Join();
            }
        }
        else
        {
            var running = new Task[workers.Length];
            for (int i = 0; i < workers.Length; i++)
            {
                Worker w = workers[i];
                running[i] = Task.Run(() => w.RunAsync(deadline));
            }

            Task.WaitAll(running);
        }

        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>The next offset of a sequential stream shared by every worker.</summary>
    private sealed class SharedCursor
    {
        private long _next;

        public long Take(long bytes, long range)
        {
            long offset = Interlocked.Add(ref _next, bytes) - bytes;
            return offset % (range / bytes * bytes);
        }
    }

    /// <summary>One initiator worker: one command in flight at a time, its own buffer, CDB, generator and histogram.</summary>
    private sealed class Worker : IDisposable
    {
        private readonly LocalSession _session;
        private readonly byte[] _cdb = new byte[10];
        private readonly Memory<byte> _data;
        private readonly DataDirection _direction;
        private readonly bool _sequential;
        private readonly bool _sliced;
        private readonly int _blockSize;
        private readonly int _bytes;
        private readonly long _range;
        private readonly long _sliceStart;
        private readonly long _sliceLength;
        private readonly SharedCursor _shared;
        private readonly ManualResetEventSlim _done = new(false, spinCount: 0);
        private readonly Action _signal;
        private ulong _random;
        private long _sliceNext;

        public Worker(LocalSession session, Options options, int blockSize, long range, long sliceStart, long sliceLength, SharedCursor shared, int seed)
        {
            _session = session;
            _bytes = options.BlockBytes;
            _blockSize = blockSize;
            _range = range;
            _sequential = options.Sequential;
            _sliced = options.SlicedSequential;
            _sliceStart = sliceStart;
            _sliceLength = sliceLength / _bytes * _bytes;
            _shared = shared;
            _direction = options.Write ? DataDirection.Write : DataDirection.Read;
            _cdb[0] = options.Write ? (byte)0x2A : (byte)0x28;
            BinaryPrimitives.WriteUInt16BigEndian(_cdb.AsSpan(7), checked((ushort)(_bytes / blockSize)));

            // Pinned, as an initiator's DMA buffer is (the transport copies to and from the command's own buffer).
            _data = GC.AllocateArray<byte>(_bytes, pinned: true);
            _data.Span.Fill((byte)(0xA5 ^ seed));
            _random = (ulong)seed * 0x9E3779B97F4A7C15UL | 1;
            _signal = _done.Set;
        }

        public long Completed { get; private set; }

        public long Errors { get; private set; }

        public string? FirstError { get; private set; }

        public LatencyHistogram Histogram { get; } = new();

        public void Dispose() => _done.Dispose();

        public void ResetCounters()
        {
            Completed = 0;
            Errors = 0;
            Histogram.Clear();
        }

        public void RunBlocking(long deadline)
        {
            while (Stopwatch.GetTimestamp() < deadline)
            {
                long started = Prepare();
                // The awaiter of a pending command runs the cached delegate when it completes: no allocation.
                ConfiguredValueTaskAwaitable<LocalResult>.ConfiguredValueTaskAwaiter awaiter =
                    AwaiterOf(_session.ExecuteAsync(Lun, _cdb, _direction, _data));
                if (!awaiter.IsCompleted)
                {
                    _done.Reset();
                    awaiter.UnsafeOnCompleted(_signal);
                    _done.Wait();
                }

                Record(started, awaiter.GetResult());
            }
        }

        public async Task RunAsync(long deadline)
        {
            while (Stopwatch.GetTimestamp() < deadline)
            {
                long started = Prepare();
                LocalResult result = await _session.ExecuteAsync(Lun, _cdb, _direction, _data).ConfigureAwait(false);
                Record(started, result);
            }
        }

        private static ConfiguredValueTaskAwaitable<LocalResult>.ConfiguredValueTaskAwaiter AwaiterOf(ValueTask<LocalResult> pending) =>
            pending.ConfigureAwait(false).GetAwaiter();

        private long Prepare()
        {
            long offset;
            if (!_sequential)
            {
                long slots = _range / _bytes;
                offset = (long)(Next() % (ulong)slots) * _bytes;
            }
            else if (_sliced)
            {
                offset = _sliceStart + _sliceNext;
                _sliceNext = (_sliceNext + _bytes) % _sliceLength;
            }
            else
            {
                offset = _shared.Take(_bytes, _range);
            }

            BinaryPrimitives.WriteUInt32BigEndian(_cdb.AsSpan(2), checked((uint)(offset / _blockSize)));
            return Stopwatch.GetTimestamp();
        }

        private void Record(long started, LocalResult result)
        {
            long ns = (long)((Stopwatch.GetTimestamp() - started) * (1e9 / Stopwatch.Frequency));
            Histogram.Record(ns);
            Completed++;
            if (result.Status != ScsiStatus.Good || result.TransferredLength != _bytes)
            {
                Errors++;
                FirstError ??= $"status {result.Status}, {result.TransferredLength} of {_bytes} bytes, sense {result.Outcome}";
            }
        }

        // xorshift64*: cheap, uniform enough for picking blocks.
        private ulong Next()
        {
            _random ^= _random >> 12;
            _random ^= _random << 25;
            _random ^= _random >> 27;
            return _random * 0x2545F4914F6CDD1DUL;
        }
    }

    /// <summary>Log-linear latency histogram in nanoseconds: 16 sub-buckets per power of two (about 6 % resolution).</summary>
    internal sealed class LatencyHistogram
    {
        private const int SubBits = 4;
        private const int Sub = 1 << SubBits;
        private readonly long[] _counts = new long[64 * Sub];

        public long Max { get; private set; }

        public long Count { get; private set; }

        public void Record(long ns)
        {
            ns = Math.Max(ns, 0);
            _counts[Index(ns)]++;
            Count++;
            Max = Math.Max(Max, ns);
        }

        public void Add(LatencyHistogram other)
        {
            for (int i = 0; i < _counts.Length; i++)
            {
                _counts[i] += other._counts[i];
            }

            Count += other.Count;
            Max = Math.Max(Max, other.Max);
        }

        public void Clear()
        {
            Array.Clear(_counts);
            Count = 0;
            Max = 0;
        }

        /// <summary>The value at <paramref name="percent"/>: the middle of the bucket that holds it.</summary>
        public double Percentile(double percent)
        {
            if (Count == 0)
            {
                return 0;
            }

            long rank = (long)Math.Ceiling(Count * percent / 100.0);
            long seen = 0;
            for (int i = 0; i < _counts.Length; i++)
            {
                seen += _counts[i];
                if (seen >= rank)
                {
                    (long low, long high) = Bounds(i);
                    return (low + high) / 2.0;
                }
            }

            return Max;
        }

        private static int Index(long ns)
        {
            if (ns < Sub * 2)
            {
                return (int)ns;
            }

            int shift = (63 - BitOperations.LeadingZeroCount((ulong)ns)) - SubBits;
            return (shift * Sub) + (int)(ns >> shift);
        }

        private static (long Low, long High) Bounds(int index)
        {
            if (index < Sub * 2)
            {
                return (index, index);
            }

            int shift = (index / Sub) - 1;
            long mantissa = (index % Sub) + Sub;
            return (mantissa << shift, ((mantissa + 1) << shift) - 1);
        }
    }

    /// <summary>Command line of <c>handler-load</c>.</summary>
    internal sealed class Options
    {
        public const string Usage =
            "usage: Scst.Benchmarks handler-load --file PATH [--handler vdisk_fileio|vdisk_blockio] [--rw randread|randwrite|read|write]\n" +
            "       [--bs 4k] [--qd 1] [--seconds 10] [--warmup 1] [--size BYTES] [--param KEY=VALUE]... [--workers auto|threads|tasks]\n" +
            "       [--seq shared|sliced] [--min-threads N] [--sessions one|per-worker]\n" +
            "  --file is the LUN's backing: a file for vdisk_fileio (the default), a block device for vdisk_blockio.";

        public string File { get; private set; } = "";

        /// <summary><c>vdisk_fileio</c> (a file, the default) or <c>vdisk_blockio</c> (a block device).</summary>
        public string Handler { get; private set; } = FileIo;

        public string Rw { get; private set; } = "randread";

        public bool Write => Rw is "randwrite" or "write";

        public bool Sequential => Rw is "read" or "write";

        public bool SlicedSequential { get; private set; }

        public int BlockBytes { get; private set; } = 4096;

        public int QueueDepth { get; private set; } = 1;

        public double Seconds { get; private set; } = 10;

        public double WarmupSeconds { get; private set; } = 1;

        public long Range { get; private set; }

        public string Workers { get; private set; } = "auto";

        public int MinThreads { get; private set; }

        public bool SessionPerWorker { get; private set; }

        public Dictionary<string, string> Parameters { get; } = new(StringComparer.Ordinal);

        public static Options Parse(string[] args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                string name = args[i];
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
                switch (name)
                {
                    case "--file": o.File = Value(); break;
                    case "--handler":
                        o.Handler = Value();
                        if (o.Handler is not (FileIo or BlockIo))
                        {
                            throw new ArgumentException($"--handler {o.Handler}: {FileIo} or {BlockIo}.");
                        }

                        break;
                    case "--rw":
                        o.Rw = Value();
                        if (o.Rw is not ("randread" or "randwrite" or "read" or "write"))
                        {
                            throw new ArgumentException($"--rw {o.Rw}: randread, randwrite, read or write.");
                        }

                        break;
                    case "--bs": o.BlockBytes = checked((int)ParseSize(Value())); break;
                    case "--qd": o.QueueDepth = ParsePositive(Value(), name); break;
                    case "--seconds": o.Seconds = ParseSeconds(Value(), name); break;
                    case "--warmup": o.WarmupSeconds = ParseSeconds(Value(), name); break;
                    case "--size": o.Range = ParseSize(Value()); break;
                    case "--min-threads": o.MinThreads = ParsePositive(Value(), name); break;
                    case "--workers":
                        o.Workers = Value();
                        if (o.Workers is not ("auto" or "threads" or "tasks"))
                        {
                            throw new ArgumentException($"--workers {o.Workers}: auto, threads or tasks.");
                        }

                        break;
                    case "--sessions":
                        string sessions = Value();
                        o.SessionPerWorker = sessions switch
                        {
                            "per-worker" => true,
                            "one" => false,
                            _ => throw new ArgumentException($"--sessions {sessions}: one or per-worker."),
                        };
                        break;
                    case "--seq":
                        string seq = Value();
                        o.SlicedSequential = seq switch
                        {
                            "sliced" => true,
                            "shared" => false,
                            _ => throw new ArgumentException($"--seq {seq}: shared or sliced."),
                        };
                        break;
                    case "--param":
                        string pair = Value();
                        int eq = pair.IndexOf('=', StringComparison.Ordinal);
                        if (eq <= 0)
                        {
                            throw new ArgumentException($"--param {pair}: KEY=VALUE.");
                        }

                        o.Parameters[pair[..eq]] = pair[(eq + 1)..];
                        break;
                    default: throw new ArgumentException($"unknown argument {name}.");
                }
            }

            if (o.File.Length == 0)
            {
                throw new ArgumentException("--file is required.");
            }

            if (!System.IO.File.Exists(o.File))
            {
                throw new ArgumentException(o.Handler == BlockIo
                    ? $"--file {o.File}: no such block device (vdisk_blockio's LUN is the whole device)."
                    : $"--file {o.File}: no such file (prepare it first; its size is the LUN's).");
            }

            if (o.BlockBytes <= 0 || o.BlockBytes > (8 << 20))
            {
                throw new ArgumentException("--bs: 1 byte to 8 MiB.");
            }

            return o;
        }

        private static int ParsePositive(string value, string name) =>
            int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 && n <= 4096
                ? n
                : throw new ArgumentException($"{name} {value}: 1 to 4096.");

        private static double ParseSeconds(string value, string name) =>
            double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double s) && s >= 0 && s <= 3600
                ? s
                : throw new ArgumentException($"{name} {value}: 0 to 3600 seconds.");

        private static long ParseSize(string value)
        {
            string v = value.Trim().ToLowerInvariant();
            long unit = 1;
            if (v.Length > 0 && "kmgt".Contains(v[^1], StringComparison.Ordinal))
            {
                unit = v[^1] switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, _ => 1L << 40 };
                v = v[..^1];
            }

            return long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n > 0
                ? checked(n * unit)
                : throw new ArgumentException($"size {value}: a positive number with an optional K, M, G or T.");
        }
    }
}
