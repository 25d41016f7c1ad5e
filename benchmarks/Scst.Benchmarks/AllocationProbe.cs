// Licensed under the Apache License, Version 2.0.

using System.Reflection;
using System.Text.Json;
using BenchmarkDotNet.Attributes;

namespace Scst.Benchmarks;

/// <summary>
/// <c>--alloc-probe [--budgets FILE]</c>: calls every benchmark method of this assembly (each value of its
/// <c>[Params]</c>, after its <c>[GlobalSetup]</c>) 10,000 times after a warm-up, outside BenchmarkDotNet, and prints
/// the bytes allocated per call on the calling thread and in the whole process. With a budget file (the format of
/// <c>allocation-budgets.json</c>) it fails (exit code 1) when a benchmark allocates more on its thread than its
/// budget, or has no budget. A quick cross-check of the MemoryDiagnoser column that the tests run in seconds.
/// </summary>
internal static class AllocationProbe
{
    private const int Warmup = 100_000;
    private const int Calls = 10_000;

    public static int Run(string[] args)
    {
        Dictionary<string, double>? budgets = args is [_, "--budgets", string file] ? ReadBudgets(file) : null;
        if (budgets is null && args.Length != 1)
        {
            Console.Error.WriteLine("usage: Scst.Benchmarks --alloc-probe [--budgets allocation-budgets.json]");
            return 2;
        }

        int failures = 0;
        foreach (Type type in typeof(AllocationProbe).Assembly.GetTypes().Where(static t => t.IsClass && !t.IsAbstract).OrderBy(static t => t.FullName))
        {
            MethodInfo[] benchmarks = [.. type.GetMethods().Where(static m => m.GetCustomAttribute<BenchmarkAttribute>() is not null)];
            if (benchmarks.Length == 0)
            {
                continue;
            }

            var worst = new Dictionary<string, double>();
            foreach (object? value in ParamValues(type, out PropertyInfo? param))
            {
                object instance = Activator.CreateInstance(type)!;
                param?.SetValue(instance, value);
                Invoke<GlobalSetupAttribute>(instance);
                try
                {
                    foreach (MethodInfo method in benchmarks)
                    {
                        string name = $"{type.FullName}.{method.Name}";
                        double perCall = Measure(name + (param is null ? string.Empty : $"({param.Name}={value})"), instance, method);
                        worst[name] = Math.Max(worst.GetValueOrDefault(name), perCall);
                    }
                }
                finally
                {
                    Invoke<GlobalCleanupAttribute>(instance);
                }
            }

            if (budgets is not null)
            {
                failures += Check(worst, budgets);
            }
        }

        if (budgets is not null)
        {
            Console.WriteLine(failures == 0 ? "every benchmark within its allocation budget" : $"{failures} benchmark(s) over or without a budget");
        }

        return failures == 0 ? 0 : 1;
    }

    private static int Check(Dictionary<string, double> worst, Dictionary<string, double> budgets)
    {
        int failures = 0;
        foreach ((string name, double perCall) in worst)
        {
            if (!budgets.TryGetValue(name, out double budget))
            {
                Console.WriteLine($"NO BUDGET {name}: add it to the budget file");
                failures++;
            }
            else if (perCall > budget)
            {
                Console.WriteLine($"OVER {name}: {perCall:F1} B/call, budget {budget:F1}");
                failures++;
            }
        }

        return failures;
    }

    private static Dictionary<string, double> ReadBudgets(string file)
    {
        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(file));
        return json.RootElement.GetProperty("budgets").EnumerateObject().ToDictionary(static p => p.Name, static p => p.Value.GetDouble());
    }

    // The values of the one [Params] property a benchmark class may have, or a single null for none.
    private static object?[] ParamValues(Type type, out PropertyInfo? param)
    {
        param = type.GetProperties().SingleOrDefault(static p => p.GetCustomAttribute<ParamsAttribute>() is not null);
        return param?.GetCustomAttribute<ParamsAttribute>()!.Values ?? [null];
    }

    private static void Invoke<TAttribute>(object instance)
        where TAttribute : Attribute
    {
        foreach (MethodInfo m in instance.GetType().GetMethods().Where(static m => m.GetCustomAttribute<TAttribute>() is not null))
        {
            m.Invoke(instance, null);
        }
    }

    private static double Measure(string label, object instance, MethodInfo method)
    {
        // A typed delegate, so that the calls measured are the method's own and not reflection's.
        Action call = method.ReturnType == typeof(void)
            ? method.CreateDelegate<Action>(instance)
            : CreateDiscarding(instance, method);
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
        double perCall = (double)(thread1 - thread0) / Calls;
        Console.WriteLine($"{label,-75} thread {perCall,8:F1} B/call   process {(double)(process1 - process0) / Calls,8:F1} B/call");
        return perCall;
    }

    private static Action CreateDiscarding(object instance, MethodInfo method) =>
        (Action)typeof(AllocationProbe).GetMethod(nameof(Discarding), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(method.ReturnType)
            .Invoke(null, [instance, method])!;

    private static Action Discarding<T>(object instance, MethodInfo method)
    {
        Func<T> f = method.CreateDelegate<Func<T>>(instance);
        return () => f();
    }
}
