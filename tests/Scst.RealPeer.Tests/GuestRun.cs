// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Scst.Testing;

namespace Scst.RealPeer.Tests;

/// <summary>
/// What every test with a Linux initiator in a qemu guest needs: the scripts under tests/vm, the cached guest image,
/// the sample target as a child process with its log, the guest's boot, and the failure message that carries the
/// whole console and the target's log. Child processes still running at <see cref="Dispose"/> are killed with their
/// trees; the run's temporary directory is deleted.
/// </summary>
internal sealed partial class GuestRun : IDisposable
{
    private static readonly TimeSpan ImagePatience = TimeSpan.FromMinutes(20);

    private readonly List<Process> _processes = [];
    private readonly StringBuilder _targetLog = new();

    /// <summary>This run's directory: the LUN's file, and <c>run/</c>, which the guest sees as /mnt/host.</summary>
    public TempDirectory Directory { get; } = new();

    /// <summary>The directory the guest shares (created on first use).</summary>
    public string RunDirectory => System.IO.Directory.CreateDirectory(Directory.File("run")).FullName;

    /// <summary>The checkout this test assembly was built in (the directory that holds Scst.sln).</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>tests/vm: image.sh, boot.sh, the guest scripts.</summary>
    public static string VmScripts => Path.Combine(RepositoryRoot, "tests", "vm");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A line in the test's output (shown with -showLiveOutput and in the report).</summary>
    public static void Report(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);

    /// <summary>The directory of the guest image (vmlinuz, initrd.img), built by image.sh when it is not cached yet.</summary>
    public async Task<string> ImageAsync()
    {
        var clock = Stopwatch.StartNew();
        (int exit, string dir, string log) = await RunAsync(Path.Combine(VmScripts, "image.sh"), [], null, ImagePatience);
        if (exit != 0)
        {
            throw new TestAssertionException($"tests/vm/image.sh failed with exit code {exit}: no guest image.{Environment.NewLine}{log}");
        }

        dir = dir.Trim();
        Report($"image {dir}: {clock.Elapsed.TotalSeconds:F1} s ({(log.Contains("built", StringComparison.Ordinal) ? "built now" : "cached")})");
        return dir;
    }

    /// <summary>
    /// Starts the sample target built with the solution, in the configuration of this test assembly
    /// (.../bin/Release/net10.0/), through <paramref name="prefix"/> when given (e.g. <c>ip netns exec NAME</c>, which
    /// execs the target, so the process is the target itself). Its standard output and error go to <see cref="TargetLog"/>.
    /// </summary>
    public Process StartTarget(IEnumerable<string> arguments, IReadOnlyList<string>? prefix = null)
    {
        string exe = SamplePrograms.Find("Scst.Samples.Target", "Scst.Samples.Target");

        var info = prefix is { Count: > 0 } ? new ProcessStartInfo(prefix[0]) : new ProcessStartInfo(exe);
        info.UseShellExecute = false;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.RedirectStandardInput = true;
        if (prefix is { Count: > 0 })
        {
            foreach (string a in prefix.Skip(1))
            {
                info.ArgumentList.Add(a);
            }

            info.ArgumentList.Add(exe);
        }

        foreach (string a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        var p = new Process { StartInfo = info };
        p.OutputDataReceived += (_, e) => AppendTargetLog(e.Data);
        p.ErrorDataReceived += (_, e) => AppendTargetLog(e.Data);
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _processes.Add(p);
        return p;
    }

    /// <summary>Everything the target wrote so far.</summary>
    public string TargetLog()
    {
        lock (_targetLog)
        {
            return _targetLog.ToString();
        }
    }

    /// <summary>
    /// Ends the target as a service manager would (SIGTERM: the host shuts down and the target closes what it wrote,
    /// e.g. a capture), and kills it when it has not exited within <paramref name="patience"/>. Returns its exit code.
    /// </summary>
    public async Task<int> StopTargetAsync(Process target, TimeSpan patience)
    {
        if (!target.HasExited)
        {
            await RunAsync("kill", ["-TERM", target.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], null, patience);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(patience);
            try
            {
                await target.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
            {
                AppendTargetLog($"(the target did not exit within {patience} of SIGTERM and was killed)");
                target.Kill(entireProcessTree: true);
                await target.WaitForExitAsync(CancellationToken.None);
            }
        }

        return target.ExitCode;
    }

    /// <summary>
    /// Boots the guest (tests/vm/boot.sh) with <paramref name="environment"/> (RUN, NAME, NET, ...; VMDIR, RUNDIR and
    /// CONSOLE are set here) and returns when it has powered off: qemu's exit code, its messages and the console.
    /// </summary>
    public async Task<(int ExitCode, string Console, string QemuOutput)> BootAsync(string image, IReadOnlyDictionary<string, string> environment, TimeSpan patience)
    {
        string console = Path.Combine(RunDirectory, "console.log");
        var env = new Dictionary<string, string>(environment) { ["VMDIR"] = image, ["RUNDIR"] = RunDirectory, ["CONSOLE"] = console };
        var clock = Stopwatch.StartNew();
        (int exit, string output, string errors) = await RunAsync(Path.Combine(VmScripts, "boot.sh"), [], env, patience);
        string log = File.Exists(console) ? await File.ReadAllTextAsync(console, Ct) : "(no console log)";
        Report($"guest: {clock.Elapsed.TotalSeconds:F1} s, qemu exit code {exit}");
        foreach (Match m in TimingLine().Matches(log))
        {
            Report("  " + m.Value.Trim());
        }

        return (exit, log, output + errors);
    }

    /// <summary>
    /// Runs a program to its end within <paramref name="patience"/> (after it, the whole process tree is killed) and
    /// returns its exit code (-1 when it was killed), standard output and standard error.
    /// </summary>
    public async Task<(int ExitCode, string Output, string Errors)> RunAsync(
        string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment, TimeSpan patience)
    {
        var info = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        using Process p = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {program}");
        _processes.Add(p);
        p.StandardInput.Close();
        Task<string> output = p.StandardOutput.ReadToEndAsync(Ct);
        Task<string> errors = p.StandardError.ReadToEndAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(patience);
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
        {
            return (-1, string.Empty, $"{program} did not finish within {patience} and was killed.");
        }
        finally
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                await p.WaitForExitAsync(CancellationToken.None);
            }

            _processes.Remove(p);
        }

        return (p.ExitCode, await output, await errors);
    }

    /// <summary>Throws with every expectation that was not met, the whole guest console and the target's log.</summary>
    /// <summary>
    /// What every guest run must show: qemu exited with 0 and the console has a <c>STEP name OK</c> line for each of
    /// <paramref name="steps"/>. Returns the list of what is missing, for the test to add its own checks to.
    /// </summary>
    public static List<string> CheckSteps(int qemuExit, string qemuOutput, string log, IEnumerable<string> steps)
    {
        var missing = new List<string>();
        if (qemuExit != 0)
        {
            missing.Add($"qemu exits with 0 (it exited with {qemuExit}: {qemuOutput})");
        }

        foreach (string step in steps)
        {
            if (!Regex.IsMatch(log, $"^STEP {step} OK ", RegexOptions.Multiline))
            {
                missing.Add($"STEP {step} OK");
            }
        }

        return missing;
    }

    public void ThrowIfMissing(string run, IReadOnlyList<string> missing, string console, params (string Title, string Text)[] more)
    {
        if (missing.Count == 0)
        {
            return;
        }

        var message = new StringBuilder();
        message.Append(run).Append(" did not show:").AppendLine();
        foreach (string m in missing)
        {
            message.Append("  ").AppendLine(m);
        }

        message.AppendLine("--- guest console ---").AppendLine(console);
        message.AppendLine("--- target log ---").AppendLine(TargetLog());
        foreach ((string title, string text) in more)
        {
            message.Append("--- ").Append(title).AppendLine(" ---").AppendLine(text);
        }

        throw new TestAssertionException(message.ToString());
    }

    public void Dispose()
    {
        ChildProcesses.KillAll(_processes);
        Directory.Dispose();
    }

    [GeneratedRegex(@"^(VM-READY .*|STEP \S+ OK [0-9.]+ s.*)$", RegexOptions.Multiline)]
    private static partial Regex TimingLine();

    private void AppendTargetLog(string? line)
    {
        if (line is not null)
        {
            lock (_targetLog)
            {
                _targetLog.AppendLine(line);
            }
        }
    }

    private static string FindRepositoryRoot()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Scst.sln")))
        {
            root = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(root)) ?? throw new InvalidOperationException("Scst.sln not found above the test assembly.");
        }

        return root;
    }
}
