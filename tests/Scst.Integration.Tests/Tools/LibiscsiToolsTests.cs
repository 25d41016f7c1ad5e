// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using Scst.Integration.Tests.Fixtures;

namespace Scst.Integration.Tests.Tools;

/// <summary>libiscsi's small tools (Debian libiscsi-bin) against the in-process target. A missing tool fails.</summary>
public sealed class LibiscsiToolsTests(ScstTargetFixture fixture) : IClassFixture<ScstTargetFixture>
{
    [Fact]
    public async Task IscsiInq_StandardInquiry_ShowsScstFioVendor()
    {
        var (exitCode, output) = await LibiscsiTool.RunAsync("iscsi-inq", fixture.Url);

        exitCode.Should().Be(0, output);
        output.Should().MatchRegex(@"(?m)^Vendor:\s*SCST_FIO\s*$");
        output.Should().MatchRegex(@"(?m)^Peripheral Device Type:.*DIRECT_ACCESS");
    }

    [Fact]
    public async Task IscsiReadCapacity16_ReportsTheLbaCountAndBlockSize()
    {
        const long Blocks = ScstTargetFixture.DiskBytes / ScstTargetFixture.BlockSize;

        var (exitCode, output) = await LibiscsiTool.RunAsync("iscsi-readcapacity16", fixture.Url);

        exitCode.Should().Be(0, output);
        output.Should().Contain("RETURNED LOGICAL BLOCK ADDRESS:" + (Blocks - 1).ToString(CultureInfo.InvariantCulture));
        output.Should().Contain("LOGICAL BLOCK LENGTH IN BYTES:" + ScstTargetFixture.BlockSize.ToString(CultureInfo.InvariantCulture));
        output.Should().Contain("Total size:" + ScstTargetFixture.DiskBytes.ToString(CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task IscsiLs_Discovery_ListsTheTargetAndItsPortal()
    {
        var (exitCode, output) = await LibiscsiTool.RunAsync("iscsi-ls", "-s", $"iscsi://{fixture.EndPoint.Address}:{fixture.EndPoint.Port}");

        exitCode.Should().Be(0, output);
        output.Should().Contain($"Target:{ScstTargetFixture.TargetName} Portal:{fixture.EndPoint.Address}:{fixture.EndPoint.Port},1");
        output.Should().MatchRegex(@"Lun:0\s+Type:DIRECT_ACCESS");
    }
}
