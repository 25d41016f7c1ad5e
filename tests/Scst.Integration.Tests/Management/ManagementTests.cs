// Licensed under the Apache License, Version 2.0.

using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Scst.Core;
using Scst.Core.Management;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests.Management;

/// <summary>SCST's management verbs: the LUN and device commands, their errors, and the owner-only socket.</summary>
public sealed class ManagementTests
{
    private const string Luns = "targets/scst_local/tgt/luns/mgmt";
    private const string TargetDirectory = "targets/scst_local/tgt";
    private const string LunsDirectory = TargetDirectory + "/luns";

    private static Task<ScstStack> StartAsync() => ScstStack.StartNullIoAsync();

    [Fact]
    public async Task AddAndDelLun_MapsTheDevice_AndTheSessionSeesReportedLunsChanged()
    {
        await using ScstStack stack = await StartAsync();
        var commands = new ManagementCommands(stack.Engine);
        LocalSession session = stack.OpenSession();

        (await commands.ExecuteAsync(Luns, "add null0 5 read_only=1")).Should().Be(ManagementResult.Ok);
        LunMapping mapping = stack.Target().Luns.Find(5)!;
        mapping.Device.Name.Should().Be("null0");
        mapping.ReadOnly.Should().BeTrue();
        SenseAssert.IsCheckCondition(await session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty), SenseCode.ReportedLunsDataChanged);

        (await commands.ExecuteAsync(Luns, "del 5")).Should().Be(ManagementResult.Ok);
        stack.Target().Luns.Find(5).Should().BeNull();
    }

    [Theory]
    [InlineData("add null0 0", -17, "already mapped")]
    [InlineData("add nosuch 3", -2, "nosuch does not exist")]
    [InlineData("add null0 99999", -22, "not a LUN number")]
    [InlineData("add null0 3 writable=1", -22, "unknown LUN parameter")]
    [InlineData("del 7", -2, "not mapped")]
    [InlineData("frobnicate", -22, "unknown command")]
    public async Task BadLunCommands_AreRefusedWithTheReason_AndChangeNothing(string line, int status, string reason)
    {
        await using ScstStack stack = await StartAsync();
        var commands = new ManagementCommands(stack.Engine);

        ManagementResult result = await commands.ExecuteAsync(Luns, line);

        result.Status.Should().Be(status);
        result.Message.Should().Contain(reason);
        stack.Target().Luns.Luns.Select(m => (m.Lun, m.Device.Name)).Should().Equal((0, "null0"));
    }

    [Fact]
    public async Task UnknownPathsTargetsAndHandlers_AreNamedInTheError()
    {
        await using ScstStack stack = await StartAsync();
        var commands = new ManagementCommands(stack.Engine);

        (await commands.ExecuteAsync("targets/scst_local/nosuch/luns/mgmt", "add null0 1")).Message.Should().Contain("nosuch: no such target");
        (await commands.ExecuteAsync("targets/x/mgmt/whatever", "add")).Message.Should().Contain("no such management file");
        (await commands.ExecuteAsync("handlers/nosuch/mgmt", "add_device d1 size=1M")).Message.Should().Contain("no such handler");
    }

    [Fact]
    public async Task ReplaceAndClear_SwapTheDeviceWithInquiryDataChanged_ThenEmptyTheMap()
    {
        await using ScstStack stack = await StartAsync();
        var commands = new ManagementCommands(stack.Engine);
        (await commands.ExecuteAsync("handlers/vdisk_nullio/mgmt", "add_device null1 size=1M; blocksize=4096")).Should().Be(ManagementResult.Ok);
        stack.Engine.FindDevice("null1")!.BlockSize.Should().Be(4096);
        LocalSession session = stack.OpenSession();

        (await commands.ExecuteAsync(Luns, "replace null1 0")).Should().Be(ManagementResult.Ok);
        stack.Target().Luns.Find(0)!.Device.Name.Should().Be("null1");
        var attentions = new List<SenseCode>();
        LocalResult tur;
        while ((tur = await session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty)).Outcome.Status == ScsiStatus.CheckCondition)
        {
            attentions.Add(tur.Outcome.Sense);
        }

        attentions.Should().Contain(SenseCode.InquiryDataChanged);

        (await commands.ExecuteAsync(Luns, "clear")).Should().Be(ManagementResult.Ok);
        stack.Target().Luns.Luns.Should().BeEmpty();
        (await commands.ExecuteAsync("handlers/vdisk_nullio/mgmt", "del_device null1")).Should().Be(ManagementResult.Ok);
        stack.Engine.FindDevice("null1").Should().BeNull();
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Endpoint_AnswersEachLine_AndItsSocketIsOwnerOnly()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "mgmt.sock");
        await using ScstStack stack = await StartAsync();
        await using var endpoint = new ManagementEndpoint(stack.Engine, Options.Create(new ManagementEndpointOptions { SocketPath = path }));
        await endpoint.StartAsync(TestContext.Current.CancellationToken);

        File.GetUnixFileMode(path).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        CancellationToken ct = TestContext.Current.CancellationToken;

        // The wire format: "STATUS LENGTH\n" and LENGTH bytes of text; a mgmt path as first word is a write.
        using (var raw = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            await raw.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
            await using var stream = new NetworkStream(raw);
            await stream.WriteAsync(Encoding.UTF8.GetBytes($"{Luns} add null0 1\n{Luns} add nosuch 2\n"), ct);
            string expected = "0 0\n-2 28\ndevice nosuch does not exist";
            byte[] answer = new byte[Encoding.UTF8.GetByteCount(expected)];
            await stream.ReadExactlyAsync(answer, ct);
            Encoding.UTF8.GetString(answer).Should().Be(expected);
        }

        await using ManagementClient client = await ManagementClient.ConnectAsync(path, ct);
        (await client.WriteAsync("nonsense/mgmt", "add x 1", ct)).Status.Should().Be(-2);
        (await client.ReadAsync($"{LunsDirectory}/1/device", ct)).Should().Be(ManagementResult.Text("null0\n"));
        (await client.ListAsync(LunsDirectory, ct)).Message.Should().Be("mgmt\n0/\n1/\n");
        (await client.WriteAsync($"{TargetDirectory}/enabled", "0", ct)).Should().Be(ManagementResult.Ok);
        stack.Target().Enabled.Should().BeFalse();
        (await client.ReadAsync($"{TargetDirectory}/enabled", ct)).Message.Should().Be("0\n", "0 is enabled's default: no [key]");
        (await client.WriteAsync($"{TargetDirectory}/enabled", "1", ct)).Should().Be(ManagementResult.Ok);
        (await client.ReadAsync($"{TargetDirectory}/enabled", ct)).Message.Should().Be("1\n[key]\n");
        (await client.WriteAsync($"{TargetDirectory}/enabled", "maybe", ct)).Status.Should().Be(-22);
        stack.Target().Luns.Find(1)!.Device.Name.Should().Be("null0");
    }

    [Theory]
    [InlineData(1000u, 1000u, true)]
    [InlineData(0u, 1000u, true)]
    [InlineData(1001u, 1000u, false)]
    public void OnlyTheOwnerAndRootMayManage(uint peer, uint own, bool allowed) =>
        ManagementEndpoint.IsAllowed(peer, own).Should().Be(allowed);
}
