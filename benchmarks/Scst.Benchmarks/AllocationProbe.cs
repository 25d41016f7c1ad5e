// Licensed under the Apache License, Version 2.0.

using Scst.Benchmarks.Core;
using Scst.Benchmarks.EndToEnd;
using Scst.Benchmarks.Iscsi;

namespace Scst.Benchmarks;

/// <summary>
/// <c>--alloc-probe</c>: calls each benchmark method 10,000 times after a warm-up, outside BenchmarkDotNet, and prints
/// the bytes allocated per call on the calling thread and in the whole process. A quick cross-check of the
/// MemoryDiagnoser column, and the place to start when a budget is exceeded.
/// </summary>
internal static class AllocationProbe
{
    private const int Warmup = 100_000;
    private const int Calls = 10_000;

    public static int Run()
    {
        var codec = new PduCodecBenchmarks();
        codec.Setup();
        var cdb = new CdbDecodeBenchmarks();
        var local = new LocalReadBenchmarks();
        local.Setup();
        try
        {
            Measure("PduCodecBenchmarks.DecodeScsiCommand", () => codec.DecodeScsiCommand());
            Measure("PduCodecBenchmarks.DecodeDataOut", () => codec.DecodeDataOut());
            Measure("PduCodecBenchmarks.DecodeDataOutSegmented", () => codec.DecodeDataOutSegmented());
            Measure("PduCodecBenchmarks.EncodeDataIn", () => codec.EncodeDataIn());
            Measure("PduCodecBenchmarks.EncodeScsiResponse", () => codec.EncodeScsiResponse());
            Measure("CdbDecodeBenchmarks.DecodeRead10", () => cdb.DecodeRead10());
            Measure("CdbDecodeBenchmarks.DecodeWrite16", () => cdb.DecodeWrite16());
            Measure("LocalReadBenchmarks.Read4K", () => local.Read4K());
        }
        finally
        {
            local.Cleanup();
        }

        return 0;
    }

    private static void Measure<T>(string name, Func<T> call)
    {
        for (int i = 0; i < Warmup; i++)
        {
            call();
        }

        long thread0 = GC.GetAllocatedBytesForCurrentThread();
        long process0 = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < Calls; i++)
        {
            call();
        }

        long thread1 = GC.GetAllocatedBytesForCurrentThread();
        long process1 = GC.GetTotalAllocatedBytes(precise: true);
        Console.WriteLine($"{name,-45} thread {(double)(thread1 - thread0) / Calls,8:F1} B/call   process {(double)(process1 - process0) / Calls,8:F1} B/call");
    }
}
