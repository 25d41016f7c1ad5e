// Licensed under the Apache License, Version 2.0.

using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Scst.Integration.Tests.Fixtures;

namespace Scst.Integration.Tests.Tools;

/// <summary>libiscsi's small tools (Debian libiscsi-bin) against the in-process target. A missing tool fails.</summary>
public sealed class LibiscsiToolsTests(ScstTargetFixture fixture) : IClassFixture<ScstTargetFixture>
{
    private static async Task<(int ExitCode, string Output)> RunAsync(string tool, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(tool)
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
            throw new InvalidOperationException($"Cannot start '{tool}': install libiscsi-bin. A test without its tool fails.", ex);
        }

        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            throw new TimeoutException($"{tool} did not finish within 30 s: {await stdout}{await stderr}");
        }

        var output = await stdout + await stderr;
        TestContext.Current.TestOutputHelper?.WriteLine($"$ {tool} {string.Join(' ', arguments)} -> exit {process.ExitCode}\n{output}");
        return (process.ExitCode, output);
    }

    [Fact]
    public async Task IscsiInq_StandardInquiry_ShowsScstFioVendor()
    {
        var (exitCode, output) = await RunAsync("iscsi-inq", fixture.Url);

        exitCode.Should().Be(0, output);
        output.Should().MatchRegex(@"(?m)^Vendor:\s*SCST_FIO\s*$");
        output.Should().MatchRegex(@"(?m)^Peripheral Device Type:.*DIRECT_ACCESS");
    }

    [Fact]
    public async Task IscsiReadCapacity16_ReportsTheLbaCountAndBlockSize()
    {
        const long Blocks = ScstTargetFixture.DiskBytes / ScstTargetFixture.BlockSize;

        var (exitCode, output) = await RunAsync("iscsi-readcapacity16", fixture.Url);

        exitCode.Should().Be(0, output);
        output.Should().Contain("RETURNED LOGICAL BLOCK ADDRESS:" + (Blocks - 1).ToString(CultureInfo.InvariantCulture));
        output.Should().Contain("LOGICAL BLOCK LENGTH IN BYTES:" + ScstTargetFixture.BlockSize.ToString(CultureInfo.InvariantCulture));
        output.Should().Contain("Total size:" + ScstTargetFixture.DiskBytes.ToString(CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task IscsiLs_Discovery_ListsTheTargetAndItsPortal()
    {
        var (exitCode, output) = await RunAsync("iscsi-ls", "-s", $"iscsi://{fixture.EndPoint.Address}:{fixture.EndPoint.Port}");

        exitCode.Should().Be(0, output);
        output.Should().Contain($"Target:{ScstTargetFixture.TargetName} Portal:{fixture.EndPoint.Address}:{fixture.EndPoint.Port},1");
        output.Should().MatchRegex(@"Lun:0\s+Type:DIRECT_ACCESS");
    }
}
