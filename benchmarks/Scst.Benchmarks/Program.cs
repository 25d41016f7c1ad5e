// Licensed under the Apache License, Version 2.0.

using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Validators;

namespace Scst.Benchmarks;

/// <summary>
/// Entry point: <c>dotnet run -c Release --project benchmarks/Scst.Benchmarks -- --filter '*'</c>
/// (any BenchmarkDotNet argument works: <c>--job short</c>, <c>--exporters json</c>, <c>--list flat</c>...);
/// <c>-- --alloc-probe [--budgets FILE]</c> runs <see cref="AllocationProbe"/> instead, <c>-- --io-engines</c> the I/O engine driver
/// (<see cref="Handlers.IoEngineDriver"/>), and <c>-- handler-load ...</c> the load driver <see cref="Load.HandlerLoad"/>
/// (a vdisk_fileio LUN under N concurrent initiator workers).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args is ["--alloc-probe", ..])
        {
            return AllocationProbe.Run(args);
        }

        if (args is ["handler-load", .. var rest])
        {
            return Load.HandlerLoad.Run(rest);
        }

        if (args is ["--io-engines", ..])
        {
            return Handlers.IoEngineDriver.RunAsync(args).GetAwaiter().GetResult();
        }

        ManualConfig config = ManualConfig.Create(DefaultConfig.Instance)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumn(StatisticColumn.OperationsPerSecond)
            .AddValidator(JitOptimizationsValidator.FailOnError);
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
