// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Scst.Transport.Fcoe.Link;
using Scst.Transport.Fcoe.Protocol;
using static Tmds.Linux.LibC;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// A network namespace of its own holding a veth pair (<see cref="Left"/> and <see cref="Right"/>, MTU 9000, up),
/// removed on dispose. Links are opened on a short-lived thread that enters the namespace with setns: the namespace
/// of a socket is fixed when it is created, so the socket stays there when the thread is gone, and no thread of the
/// pool ever changes namespace. Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN); fails, never skips, without it.
/// </summary>
internal sealed class LinkNetwork : IDisposable
{
    public const string Left = "fcoe0";
    public const string Right = "fcoe1";
    public const int Mtu = 9000;

    private static int s_count;

    private LinkNetwork(string name) => Name = name;

    /// <summary>The namespace's name (<c>ip netns</c>).</summary>
    public string Name { get; }

    public static LinkNetwork Create()
    {
        if (geteuid() != 0)
        {
            throw new InvalidOperationException(
                "The AF_PACKET link tests make a network namespace and a veth pair: run them as root (CI does).");
        }

        var network = new LinkNetwork($"scst-fcoe-{Environment.ProcessId}-{Interlocked.Increment(ref s_count)}");
        Ip($"netns add {network.Name}");
        try
        {
            network.Run($"link add name {Left} type veth peer name {Right}");
            foreach (string end in new[] { Left, Right })
            {
                network.Run($"link set {end} mtu {Mtu} up");
            }
        }
        catch
        {
            network.Dispose();
            throw;
        }

        return network;
    }

    /// <summary>Runs <c>ip -n NAME arguments</c> and returns what it printed.</summary>
    public string Run(string arguments) => Ip($"-n {Name} {arguments}");

    /// <summary>The MAC address <c>ip link</c> shows for <paramref name="interfaceName"/>.</summary>
    public MacAddress MacOf(string interfaceName)
    {
        string[] words = Run($"-o link show dev {interfaceName}").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return MacAddress.Parse(words[Array.IndexOf(words, "link/ether") + 1]);
    }

    /// <summary>The promiscuity count <c>ip -d link</c> shows for <paramref name="interfaceName"/>.</summary>
    public int PromiscuityOf(string interfaceName)
    {
        string[] words = Run($"-d -o link show dev {interfaceName}").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return int.Parse(words[Array.IndexOf(words, "promiscuity") + 1], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The multicast addresses of the interface's list (<c>ip maddr</c>).</summary>
    public string MulticastListOf(string interfaceName) => Run($"maddr show dev {interfaceName}");

    /// <summary>Opens a link on <paramref name="interfaceName"/> inside the namespace.</summary>
    public PacketSocketLink Open(string interfaceName)
    {
        PacketSocketLink? link = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var ns = File.OpenHandle($"/run/netns/{Name}");
                if (setns((int)ns.DangerousGetHandle(), CLONE_NEWNET) != 0)
                {
                    throw new IOException($"setns into {Name} failed: errno {errno}");
                }

                link = PacketSocketLink.Open(interfaceName);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            ExceptionDispatchInfo.Throw(failure);
        }

        return link!;
    }

    public void Dispose() => Ip($"netns delete {Name}");

    private static string Ip(string arguments)
    {
        var start = new ProcessStartInfo("ip", arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"ip {arguments} failed ({process.ExitCode}): {error}");
        }

        return output;
    }
}
