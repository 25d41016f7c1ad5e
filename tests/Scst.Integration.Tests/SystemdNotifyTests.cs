// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Scst.Integration.Tests.Tools;
using Scst.Testing;

namespace Scst.Integration.Tests;

/// <summary>
/// The sample target as a systemd service of Type=notify runs it: the test is the service manager, with a datagram
/// socket in <c>NOTIFY_SOCKET</c>. The target says READY=1 once it serves (an initiator can log in by then), and on
/// SIGTERM says STOPPING=1 and exits cleanly.
/// </summary>
public sealed class SystemdNotifyTests : IDisposable
{
    private const string TargetName = "iqn.2026-11.org.scst-dotnet:notify";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _dir = new();
    private readonly List<Process> _processes = [];

    public void Dispose()
    {
        ChildProcesses.KillAll(_processes);
        _dir.Dispose();
    }

    [Fact]
    public async Task UnderANotifySocket_ReadyOnceServing_StoppingOnSigterm_ThenACleanExit()
    {
        string socketPath = _dir.File("notify.sock");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(socketPath));
        int port = SamplePrograms.FreeTcpPort();

        Process target = Start(socketPath, "--handler", "vdisk_nullio", "--size", "64M", "--portal", $"127.0.0.1:{port}", "--target", TargetName);

        (await ReceiveUntilAsync(notify, "READY=1")).Should().BeTrue($"the target says it is ready: {Log()}");
        (int inquiry, string output) = await LibiscsiTool.RunAsync("iscsi-inq", $"iscsi://127.0.0.1:{port}/{TargetName}/0");
        inquiry.Should().Be(0, $"READY=1 comes once the portal serves: {output}");

        using (Process kill = Process.Start("kill", ["-TERM", target.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        (await ReceiveUntilAsync(notify, "STOPPING=1")).Should().BeTrue($"the target says it is stopping: {Log()}");
        using var exit = new CancellationTokenSource(Patience);
        await target.WaitForExitAsync(exit.Token);
        target.ExitCode.Should().Be(0, Log());
    }

    private static async Task<bool> ReceiveUntilAsync(Socket socket, string state)
    {
        var buffer = new byte[4096];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(Patience);
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                string message = Encoding.UTF8.GetString(buffer, 0, n);
                TestContext.Current.TestOutputHelper?.WriteLine($"notify: {message.Replace('\n', ' ')}");
                if (message.Split('\n').Contains(state))
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }


    private Process Start(string notifySocket, params string[] arguments)
    {
        Process p = SamplePrograms.StartLogged(
            "Scst.Samples.Target", _dir.File("target.log"), new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notifySocket }, arguments);
        _processes.Add(p);
        return p;
    }

    private string Log()
    {
        string path = _dir.File("target.log");
        return File.Exists(path) ? File.ReadAllText(path) : string.Empty;
    }
}
