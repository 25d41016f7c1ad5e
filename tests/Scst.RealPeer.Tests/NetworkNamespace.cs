// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Globalization;
using Scst.Testing;

namespace Scst.RealPeer.Tests;

/// <summary>
/// A network namespace of the test's own (<c>ip netns</c>), so that a raw Ethernet link between the target and a
/// guest touches nothing on the machine. <see cref="Dispose"/> deletes it with every device in it; the processes
/// started in it must have ended first (a process still inside keeps the namespace alive).
/// </summary>
internal sealed class NetworkNamespace : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly GuestRun _run;

    private NetworkNamespace(GuestRun run, string name)
    {
        _run = run;
        Name = name;
    }

    /// <summary>The namespace's name.</summary>
    public string Name { get; }

    /// <summary>The command prefix that runs a program inside the namespace.</summary>
    public IReadOnlyList<string> Exec => ["ip", "netns", "exec", Name];

    /// <summary>
    /// Creates <c>PREFIX-PID</c> with its loopback up, after deleting the namespaces a killed earlier run left behind
    /// (<c>PREFIX-N</c> whose process N no longer exists).
    /// </summary>
    public static async Task<NetworkNamespace> CreateAsync(GuestRun run, string prefix)
    {
        (_, string list, _) = await run.RunAsync("ip", ["netns", "list"], null, Patience);
        foreach (string line in list.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string name = line.Split(' ')[0];
            if (name.StartsWith(prefix + "-", StringComparison.Ordinal) &&
                int.TryParse(name.AsSpan(prefix.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) &&
                !Directory.Exists($"/proc/{pid}"))
            {
                await run.RunAsync("ip", ["netns", "del", name], null, Patience);
            }
        }

        var ns = new NetworkNamespace(run, $"{prefix}-{Environment.ProcessId}");
        await ns.IpAsync("netns", "add", ns.Name);
        await ns.IpAsync("-n", ns.Name, "link", "set", "lo", "up");
        return ns;
    }

    /// <summary>
    /// Adds a tap device (no process attached yet: qemu opens it by name) with the given MTU and transmit queue length
    /// (in frames: what the tap holds for the guest until qemu reads it), up.
    /// </summary>
    public async Task AddTapAsync(string tap, int mtu, int queueLength)
    {
        await IpAsync("-n", Name, "tuntap", "add", "dev", tap, "mode", "tap");
        await IpAsync(
            "-n", Name, "link", "set", tap, "mtu", mtu.ToString(CultureInfo.InvariantCulture),
            "txqueuelen", queueLength.ToString(CultureInfo.InvariantCulture), "up");
    }

    public void Dispose()
    {
        using var p = Process.Start(new ProcessStartInfo("ip", ["netns", "del", Name]) { UseShellExecute = false, RedirectStandardError = true });
        p?.WaitForExit(30_000);
    }

    private async Task IpAsync(params string[] arguments)
    {
        (int exit, string output, string errors) = await _run.RunAsync("ip", arguments, null, Patience);
        if (exit != 0)
        {
            throw new TestAssertionException($"ip {string.Join(' ', arguments)} failed with exit code {exit} (the test needs root): {output}{errors}");
        }
    }
}
