// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Scst.Testing;

namespace Scst.Integration.Tests;

/// <summary>
/// The hot-path benchmarks (CDB decoding, PDU codecs, CRC32C, a READ through the whole core) against their allocation
/// budgets in <c>benchmarks/allocation-budgets.json</c>, all zero: <c>Scst.Benchmarks --alloc-probe --budgets</c> calls
/// every benchmark method and fails when one allocates more than its budget or has none.
/// </summary>
public sealed class BenchmarkAllocationBudgetTests
{
    [Fact]
    public async Task EveryHotPathBenchmark_StaysWithinItsAllocationBudget()
    {
        (int exitCode, string output) = await ProbeAsync(BudgetFile());

        exitCode.Should().Be(0, output);
        output.Should().Contain("every benchmark within its allocation budget");
        output.Should().Contain("LocalReadBenchmarks.Read4K").And.Contain("PduCodecBenchmarks.EncodeDataIn");
    }

    [Fact]
    public async Task ABenchmarkWithoutABudget_Fails()
    {
        JsonNode budgets = JsonNode.Parse(await File.ReadAllTextAsync(BudgetFile(), TestContext.Current.CancellationToken))!;
        budgets["budgets"]!.AsObject().Remove("Scst.Benchmarks.EndToEnd.LocalReadBenchmarks.Read4K").Should().BeTrue();
        string partial = Path.Combine(Path.GetTempPath(), $"scst-budgets-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(partial, budgets.ToJsonString(), TestContext.Current.CancellationToken);
        try
        {
            (int exitCode, string output) = await ProbeAsync(partial);

            exitCode.Should().Be(1, output);
            output.Should().Contain("NO BUDGET Scst.Benchmarks.EndToEnd.LocalReadBenchmarks.Read4K");
        }
        finally
        {
            File.Delete(partial);
        }
    }

    private static string BudgetFile()
    {
        string probe = SamplePrograms.FindBuilt("benchmarks", "Scst.Benchmarks", "Scst.Benchmarks");
        // benchmarks/Scst.Benchmarks/bin/CONFIGURATION/net10.0/Scst.Benchmarks -> benchmarks/allocation-budgets.json
        string benchmarks = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(probe)!, "..", "..", "..", ".."));
        return Path.Combine(benchmarks, "allocation-budgets.json");
    }

    private static Task<(int ExitCode, string Output)> ProbeAsync(string budgets) =>
        ChildProcesses.RunAsync(
            SamplePrograms.FindBuilt("benchmarks", "Scst.Benchmarks", "Scst.Benchmarks"), null, null, TimeSpan.FromMinutes(2), "--alloc-probe", "--budgets", budgets);
}
