// Licensed under the Apache License, Version 2.0.

using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Scst.Core;
using Scst.Integration.Tests.Tools;
using Scst.Testing;
using Scst.Transport.Iscsi;

namespace Scst.Integration.Tests.Management;

/// <summary>
/// SCST's example configuration (scst-features.md 6.3: handlers, a target with a CHAP user and digests, a group with an
/// initiator pattern and a read-only LUN, a device group), applied by scst-admin to a running iSCSI target, seen from
/// libiscsi under two initiator names; then the saved configuration applied back (no change), a live change of another
/// target under libiscsi I/O, and a broken file (nothing applied).
/// </summary>
public sealed class ScstConfExampleTests : IAsyncLifetime
{
    private const string Target = "iqn.2006-10.net.vlnb:tgt";
    private const string Credentials = "joe%12charsecret@";
    private const string GroupInitiator = "iqn.2005-03.org.open-iscsi:host1";
    private const string OtherInitiator = "iqn.2026-11.org.scst-dotnet:other";

    private readonly TempDirectory _directory = new();
    private IHost _host = null!;
    private IPEndPoint _portal = null!;

    private string Socket => _directory.File("mgmt.sock");

    private ScstEngine Engine => _host.Services.GetRequiredService<ScstEngine>();

    public async ValueTask InitializeAsync()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddScst()
            .AddVdiskHandlers()
            .AddIscsiTarget(o => o.Portals.Add("127.0.0.1:0"))
            .AddManagementEndpoint(o => o.SocketPath = Socket);
        _host = builder.Build();
        await _host.StartAsync(TestContext.Current.CancellationToken);
        _portal = _host.Services.GetRequiredService<IscsiTargetDriver>().LocalEndPoints.Should().ContainSingle().Subject;
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(CancellationToken.None);
        _host.Dispose();
        _directory.Dispose();
    }

    // SCST's example, with image files in the test's directory (created with their size). libiscsi offers its CHAP
    // user to the discovery session too, which needs none here, and logs in to the target with it.
    private string Example(string extraTarget = "") => $$"""
        setup_id 0x1234
        HANDLER vdisk_fileio {
            DEVICE disk1 {
                filename {{_directory.File("disk1.img")}}
                size 16M
                nv_cache 1
            }
            DEVICE disk2 {
                filename {{_directory.File("disk2.img")}}
                size 8M
            }
        }
        TARGET_DRIVER iscsi {
            enabled 1
            TARGET {{Target}} {
                IncomingUser "joe 12charsecret"
                HeaderDigest CRC32C,None
                enabled 1
                LUN 0 disk1
                GROUP special {
                    LUN 0 disk1 {
                        read_only 1
                    }
                    LUN 1 disk2
                    INITIATOR iqn.2005-03.org.open-iscsi:*
                }
            }
        {{extraTarget}}
        }
        DEVICE_GROUP dg1 {
            DEVICE disk1
            TARGET_GROUP tg1 {
                group_id 1
                state active
                TARGET {{Target}}
            }
        }
        """;

    [Fact]
    public async Task ExampleConfiguration_AppliedByTheCli_EachInitiatorSeesItsLuns_AndTheSavedConfigurationChangesNothing()
    {
        string file = _directory.File("scst.conf");
        await File.WriteAllTextAsync(file, Example(), TestContext.Current.CancellationToken);

        AdminCliTests.Run applied = await ScstAdmin.RunAsync(Socket, "config", "apply", file);

        applied.ExitCode.Should().Be(0, applied.Out + applied.Err);
        applied.Out.Should().Contain($"changed: add target {Target} to iscsi").And.Contain("changed: enable target " + Target);
        string url = $"iscsi://{Credentials}{_portal}";
        (int groupExit, string groupSees) = await LibiscsiTool.RunAsync("iscsi-ls", "-s", "-i", GroupInitiator, url);
        groupExit.Should().Be(0, groupSees);
        Luns(groupSees).Should().Equal(["0", "1"], "the group's pattern claims this initiator: its LUNs 0 (read-only) and 1");
        (int otherExit, string otherSees) = await LibiscsiTool.RunAsync("iscsi-ls", "-s", "-i", OtherInitiator, url);
        otherExit.Should().Be(0, otherSees);
        Luns(otherSees).Should().Equal(["0"], "an initiator no group claims sees the target's own LUN 0");
        (int badExit, string bad) = await LibiscsiTool.RunAsync("iscsi-ls", "-s", "-i", OtherInitiator, $"iscsi://joe%wrong-secret-1@{_portal}");
        badExit.Should().NotBe(0, "a wrong CHAP secret does not log in: " + bad);
        Luns(bad).Should().BeEmpty();

        ScsiTarget target = Engine.FindTarget("iscsi", Target)!;
        target.FindGroup("special")!.Luns.Find(0)!.ReadOnly.Should().BeTrue();
        target.Luns.Find(0)!.ReadOnly.Should().BeFalse();
        Engine.SetupId.Should().Be(0x1234);
        Engine.FindDeviceGroup("dg1")!.FindTargetGroup("tg1")!.GroupId.Should().Be(1);
        (await ScstAdmin.RunAsync(Socket, "show", $"targets/iscsi/{Target}/HeaderDigest")).Out.Should().StartWith("CRC32C,None\n");

        // Round trip: write the running configuration, apply it: nothing changes, and no session learns of anything.
        string saved = _directory.File("saved.conf");
        (await ScstAdmin.RunAsync(Socket, "config", "write", saved)).ExitCode.Should().Be(0);
        AdminCliTests.Run again = await ScstAdmin.RunAsync(Socket, "config", "apply", saved);
        again.ExitCode.Should().Be(0, again.Err);
        again.Out.Should().StartWith("no change\n");
        (await ScstAdmin.RunAsync(Socket, "config", "apply", file)).Out.Should().StartWith("no change\n", "the example itself is now the running state");
    }

    [Fact]
    public async Task LiveChange_OfAnotherTargetsLuns_DoesNotDisturbASessionDoingIo()
    {
        string file = _directory.File("scst.conf");
        string TargetB(string device, string extra) => $$"""
                TARGET iqn.2026-11.org.scst-dotnet:b {
                    enabled 1
                    LUN 0 {{device}}
                    {{extra}}
                }
            """;
        await File.WriteAllTextAsync(file, Example(TargetB("disk2", string.Empty)), TestContext.Current.CancellationToken);
        (await ScstAdmin.RunAsync(Socket, "config", "apply", file)).ExitCode.Should().Be(0);

        // libiscsi reads target A's LUN 0 for 8 seconds, stopping at the first error, while target B's LUNs change.
        Task<(int, string)> io = LibiscsiTool.RunAsync("iscsi-perf", "-t", "8", "-i", OtherInitiator, $"iscsi://{Credentials}{_portal}/{Target}/0");
        await Task.Delay(1000, TestContext.Current.CancellationToken);
        string[] variants = [TargetB("disk1", "LUN 1 disk2"), TargetB("disk2", string.Empty), TargetB("disk1", string.Empty)];
        int changes = 0;
        foreach (string variant in variants.Concat(variants))
        {
            await File.WriteAllTextAsync(file, Example(variant), TestContext.Current.CancellationToken);
            AdminCliTests.Run run = await ScstAdmin.RunAsync(Socket, "config", "apply", file);
            run.ExitCode.Should().Be(0, run.Err);
            run.Out.Should().NotContain($"target {Target}:", "target A is not touched");
            changes += run.Out.Split('\n').Count(l => l.StartsWith("changed: ", StringComparison.Ordinal));
        }

        (int exit, string output) = await io;
        exit.Should().Be(0, "target A's session carried on without an error: " + output);
        output.Should().Contain("finished");
        changes.Should().BeGreaterThanOrEqualTo(6, "each apply changed target B");
        Engine.FindTarget("iscsi", "iqn.2026-11.org.scst-dotnet:b")!.Luns.Find(0)!.Device.Name.Should().Be("disk1");
    }

    [Fact]
    public async Task ABrokenConfiguration_IsRefusedWithItsLine_AndTheRunningStateIsUnchanged()
    {
        string file = _directory.File("scst.conf");
        await File.WriteAllTextAsync(file, Example(), TestContext.Current.CancellationToken);
        (await ScstAdmin.RunAsync(Socket, "config", "apply", file)).ExitCode.Should().Be(0);
        string before = (await ScstAdmin.RunAsync(Socket, "config", "write", "-")).Out;

        // A syntax error on line 18, then a LUN naming a device no HANDLER declares.
        string[] lines = Example().Split('\n');
        lines[17] = "        LUN 0 disk1 {";
        await File.WriteAllTextAsync(file, string.Join('\n', lines), TestContext.Current.CancellationToken);
        AdminCliTests.Run syntax = await ScstAdmin.RunAsync(Socket, "config", "apply", file);
        syntax.ExitCode.Should().Be(1);
        syntax.Err.Should().MatchRegex(@"configuration:\d+:\d+: ");

        await File.WriteAllTextAsync(file, Example().Replace("LUN 1 disk2", "LUN 1 disk9", StringComparison.Ordinal), TestContext.Current.CancellationToken);
        AdminCliTests.Run semantic = await ScstAdmin.RunAsync(Socket, "config", "apply", file);
        semantic.ExitCode.Should().Be(1);
        semantic.Err.Should().Contain("line 24: LUN 1 names device disk9");

        (await ScstAdmin.RunAsync(Socket, "config", "write", "-")).Out.Should().Be(before, "nothing was applied");
    }

    [Fact]
    public async Task ChapUsers_AreMultiValuedSecretAttributes_CheckedAsTheDriverChecksThem()
    {
        var tree = new Scst.Core.Management.ManagementTree(Engine);
        (await tree.WriteAsync("targets/iscsi/mgmt", $"add_target {Target}")).Succeeded.Should().BeTrue();

        (await tree.WriteAsync("targets/iscsi/mgmt", $"add_target_attribute {Target} IncomingUser joe 12charsecret")).Succeeded.Should().BeTrue();
        (await tree.WriteAsync("targets/iscsi/mgmt", $"add_target_attribute {Target} IncomingUser ann ann-secret-0001")).Succeeded.Should().BeTrue();
        Scst.Core.Management.ManagementResult tooShort = await tree.WriteAsync("targets/iscsi/mgmt", $"add_target_attribute {Target} IncomingUser bob short");
        Scst.Core.Management.ManagementResult sameBothWays = await tree.WriteAsync("targets/iscsi/mgmt", $"add_target_attribute {Target} OutgoingUser tgt 12charsecret");

        tooShort.Status.Should().Be(-22);
        tooShort.Message.Should().Contain("bob").And.Contain("shorter than 12 bytes").And.NotContain("short\n");
        sameBothWays.Status.Should().Be(-22);
        sameBothWays.Message.Should().NotContain("12charsecret");
        tree.List($"targets/iscsi/{Target}").Message.Should().Contain("IncomingUser\nIncomingUser1\n");
        tree.Read($"targets/iscsi/{Target}/IncomingUser1").Message.Should().Be("ann ann-secret-0001\n[key]\n");
        tree.IsSecretWrite("targets/iscsi/mgmt", $"add_target_attribute {Target} IncomingUser x y").Should().BeTrue();
        tree.IsSecretWrite("targets/iscsi/mgmt", $"add_target_attribute {Target} allowed_portal 10.0.0.*").Should().BeFalse();
        tree.IsSecretWrite("targets/iscsi/mgmt", "add_target t2 IncomingUser=x").Should().BeTrue("parameters of add_target are never logged");
        (await tree.WriteAsync("targets/iscsi/mgmt", $"del_target_attribute {Target} IncomingUser joe")).Succeeded.Should().BeTrue();
        tree.Read($"targets/iscsi/{Target}/IncomingUser").Message.Should().Be("ann ann-secret-0001\n[key]\n");
    }

    // The LUN numbers of "Lun:N Type:..." lines of iscsi-ls -s.
    private static List<string> Luns(string output) =>
        [.. output.Split('\n').Where(l => l.StartsWith("Lun:", StringComparison.Ordinal)).Select(l => l[4..].Split(' ', 2)[0].Trim())];
}
