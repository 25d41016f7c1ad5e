// Licensed under the Apache License, Version 2.0.

using System.ComponentModel;
using System.Diagnostics;

namespace Scst.Testing.Conformance;

/// <summary>
/// Runs libiscsi's <c>iscsi-test-cu</c> (Debian package libiscsi-bin) against a target and parses its verbose output
/// into per-test results with the four-way counting of <see cref="IscsiTestOutcome"/>.
/// </summary>
/// <remarks>
/// A missing tool is an error (<see cref="IscsiTestCuNotFoundException"/>), never a skip: a conformance test that
/// cannot run has not passed. Every run is bounded by <see cref="IscsiTestCuOptions.Timeout"/>; on timeout or
/// cancellation the process tree is killed and whatever was printed so far is parsed (the test that was running
/// counts as failed).
/// </remarks>
public static class IscsiTestCuRunner
{
    /// <summary>Runs iscsi-test-cu once with <paramref name="options"/>.</summary>
    public static async Task<IscsiTestCuRun> RunAsync(IscsiTestCuOptions options, CancellationToken cancellationToken = default)
    {
        Func<string, string> familyOfSuite;
        var family = options.Filter.Split('.')[0];
        if (string.Equals(family, "ALL", StringComparison.Ordinal))
        {
            var names = await ListAsync(options.Executable, cancellationToken);
            var map = names
                .Select(n => n.Split('.'))
                .GroupBy(p => p[1], StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.First()[0], StringComparer.Ordinal);
            familyOfSuite = suite => map.TryGetValue(suite, out var f) ? f : "ALL";
        }
        else
        {
            familyOfSuite = _ => family;
        }

        var stopwatch = Stopwatch.StartNew();
        var (exitCode, timedOut, stdout, stderr) = await RunProcessAsync(options.Executable, options.ToArguments(), options.Timeout, cancellationToken);
        stopwatch.Stop();
        var parsed = IscsiTestCuOutput.Parse(stdout, familyOfSuite);
        return new IscsiTestCuRun(options, parsed.Results, parsed.Summary, exitCode, timedOut, stopwatch.Elapsed, stdout, stderr)
        {
            BetweenTests = parsed.BetweenTests,
        };
    }

    /// <summary>
    /// Runs every suite named by <paramref name="list"/> as its own iscsi-test-cu process (so that a hang in one suite
    /// costs only that suite), with <paramref name="template"/>'s URL, flags and per-run timeout, and compares the
    /// results with the list.
    /// </summary>
    public static async Task<MustPassRun> RunMustPassAsync(IscsiTestCuOptions template, MustPassList list, CancellationToken cancellationToken = default)
    {
        var runs = new List<IscsiTestCuRun>();
        foreach (var suite in list.Suites)
        {
            runs.Add(await RunAsync(template with { Filter = suite }, cancellationToken));
        }

        return new MustPassRun(list.Compare(runs.SelectMany(r => r.Results)), runs);
    }

    /// <summary>Runs <c>iscsi-test-cu --list</c> and returns every individual test as <c>Family.Suite.Test</c>.</summary>
    public static async Task<IReadOnlyList<string>> ListAsync(string executable = "iscsi-test-cu", CancellationToken cancellationToken = default)
    {
        var (exitCode, timedOut, stdout, stderr) = await RunProcessAsync(executable, ["--list"], TimeSpan.FromSeconds(30), cancellationToken);
        if (timedOut || exitCode != 0)
        {
            throw new InvalidOperationException($"'{executable} --list' failed (exit {exitCode}, timed out: {timedOut}): {stderr}");
        }

        return IscsiTestCuOutput.ParseList(stdout);
    }

    private static async Task<(int ExitCode, bool TimedOut, string Stdout, string Stderr)> RunProcessAsync(
        string executable, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            throw IscsiTestCuNotFoundException.For(executable, ex);
        }

        process.StandardInput.Close();
        var stdoutTask = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderrTask = process.StandardError.ReadToEndAsync(CancellationToken.None);

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(timeoutSource.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = !cancellationToken.IsCancellationRequested;
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
        }

        var stdout = await stdoutTask;
        var stderr = await stderrTask;
        cancellationToken.ThrowIfCancellationRequested();
        return (process.ExitCode, timedOut, stdout, stderr);
    }
}

/// <summary>iscsi-test-cu could not be started: it is not installed (Debian: <c>apt-get install libiscsi-bin</c>).</summary>
public sealed class IscsiTestCuNotFoundException : Exception
{
    /// <summary>Creates the exception.</summary>
    public IscsiTestCuNotFoundException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public IscsiTestCuNotFoundException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the start failure.</summary>
    public IscsiTestCuNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal static IscsiTestCuNotFoundException For(string executable, Exception innerException) =>
        new($"Cannot start '{executable}': install libiscsi-bin (apt-get install -y libiscsi-bin). " +
            "A conformance test without its tool fails, it does not skip.", innerException);
}
