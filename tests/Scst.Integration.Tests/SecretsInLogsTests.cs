// Licensed under the Apache License, Version 2.0.

using System.Collections;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Scst.Core;
using Scst.Core.Management;
using Scst.Testing;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Integration.Tests;

/// <summary>
/// No secret ever reaches a log. The whole stack logs at Trace into a recorder that keeps every message, every
/// structured value and every scope state, while CHAP secrets travel every way they can: an scst.conf with CHAP users
/// applied at start and through the management endpoint (also broken, and refused), CHAP logins that succeed (one-way
/// and mutual) and one with a wrong secret, and the management endpoint adding, replacing, reading and mistyping secret
/// attributes. None of the distinctive secrets may appear in the recorder, as text or as hex; nor may a CHAP challenge
/// or response (hex) at Information or above.
/// </summary>
public sealed class SecretsInLogsTests : IAsyncLifetime
{
    private const string Target = "iqn.2026-11.org.scst-dotnet:secrets";
    private const string User = "host1";
    private const string IncomingSecret = "Zq9-secret-XYZ123";
    private const string TargetUser = "tgt1";
    private const string OutgoingSecret = "Zq9-outgoing-XYZ456";
    private const string DiscoveryUser = "finder";
    private const string DiscoverySecret = "Zq9-discovery-XYZ789";
    private const string WrongSecret = "Zq9-wrong-XYZ000";
    private const byte MutualIdentifier = 0x5a;

    private static int s_nextInitiator;

    private readonly TempDirectory _directory = new();
    private readonly RecordingLoggerProvider _logs = new() { MinimumLevel = LogLevel.Trace, Capacity = 1_000_000 };
    private readonly List<string> _secrets = [IncomingSecret, OutgoingSecret, DiscoverySecret, WrongSecret];
    private readonly List<string> _chapValues = [];
    private IHost _host = null!;
    private IPEndPoint _portal = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Socket => _directory.File("mgmt.sock");

    public async ValueTask InitializeAsync()
    {
        string conf = _directory.File("scst.conf");
        await File.WriteAllTextAsync(conf, $$"""
            HANDLER vdisk_fileio {
                DEVICE disk1 {
                    filename {{_directory.File("disk1.img")}}
                    size 16M
                }
            }
            TARGET_DRIVER iscsi {
                enabled 1
                IncomingUser "{{DiscoveryUser}} {{DiscoverySecret}}"
                TARGET {{Target}} {
                    IncomingUser "{{User}} {{IncomingSecret}}"
                    OutgoingUser "{{TargetUser}} {{OutgoingSecret}}"
                    LUN 0 disk1
                    enabled 1
                }
            }
            """, Ct);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Trace).AddProvider(_logs);
        builder.Services.AddScst(o => o.UnitAttentionOnNewNexus = false)
            .AddVdiskHandlers()
            .AddIscsiTarget(o => o.Portals.Add("127.0.0.1:0"))
            .AddConfigurationFile(conf)
            .AddManagementEndpoint(o => o.SocketPath = Socket);
        _host = builder.Build();
        await _host.StartAsync(Ct);
        _portal = _host.Services.GetRequiredService<IscsiTargetDriver>().LocalEndPoints.Should().ContainSingle().Subject;
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(CancellationToken.None);
        _host.Dispose();
        _directory.Dispose();
    }

    [Fact]
    public async Task ChapLogins_OneWayMutualAndWrong_LogNoSecretAndNoChapValue()
    {
        await using (IscsiTestInitiator oneWay = await IscsiTestInitiator.ConnectAsync(_portal, Ct))
        {
            (await ChapLoginAsync(oneWay, User, IncomingSecret)).Should().Be(LoginStatus.Success);
            (await oneWay.ExecuteAsync(0, new byte[6], cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);
            (await oneWay.LogoutAsync(Ct)).Response.Should().Be(LogoutResponse.Success);
        }

        await using (IscsiTestInitiator mutual = await IscsiTestInitiator.ConnectAsync(_portal, Ct))
        {
            (await ChapLoginAsync(mutual, User, IncomingSecret, mutualChallenge: RandomNumberGenerator.GetBytes(32))).Should().Be(LoginStatus.Success);
            (await mutual.ExecuteAsync(0, new byte[6], cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);
        }

        await using (IscsiTestInitiator discovery = await IscsiTestInitiator.ConnectAsync(_portal, Ct))
        {
            (await ChapLoginAsync(discovery, DiscoveryUser, DiscoverySecret, discoverySession: true)).Should().Be(LoginStatus.Success);
        }

        await using (IscsiTestInitiator wrong = await IscsiTestInitiator.ConnectAsync(_portal, Ct))
        {
            (await ChapLoginAsync(wrong, User, WrongSecret)).Should().Be(LoginStatus.AuthenticationFailure);
            (await wrong.WaitForCloseAsync(TimeSpan.FromSeconds(10), Ct)).Should().BeTrue();
        }

        _logs.Entries.Should().Contain(e => e.EventId.Id == IscsiEventIds.Authenticated && Value(e, "User") == User && Value(e, "Mutual") == "True",
            "the recorder sees the driver's structured values (else this test could not fail)");
        _logs.Entries.Should().Contain(e => e.EventId.Id == IscsiEventIds.AuthenticationFailed && Value(e, "User") == User);
        _chapValues.Should().HaveCount(10, "a challenge and a response of each login, and the mutual pair");
        AssertNoSecret();
        AssertNoChapValueAtInformation();
    }

    [Fact]
    public async Task ManagementEndpoint_SettingReadingAndMistypingSecretAttributes_LogsNoSecret()
    {
        await using ManagementClient client = await ManagementClient.ConnectAsync(Socket, Ct);

        string[] secrets = [.. Enumerable.Range(0, 10).Select(i => string.Create(CultureInfo.InvariantCulture, $"Zq9-mgmt{i}-XYZ{i}{i}{i}"))];
        _secrets.AddRange(secrets);
        (await client.WriteAsync("targets/iscsi/mgmt", $"add_target_attribute {Target} IncomingUser mgr1 {secrets[0]}", Ct)).Succeeded.Should().BeTrue();
        (await client.WriteAsync("targets/iscsi/mgmt", $"add_target_attribute {Target} OutgoingUser tgt2 {secrets[1]}", Ct)).Succeeded.Should().BeTrue();
        (await client.WriteAsync("targets/iscsi/mgmt", $"add_attribute IncomingUser finder2 {secrets[2]}", Ct)).Succeeded.Should().BeTrue();
        (await client.ReadAsync($"targets/iscsi/{Target}/IncomingUser1", Ct)).Message.Should().Contain(secrets[0], "the owner may read a secret back");
        (await client.WriteAsync("targets/iscsi/mgmt", $"del_target_attribute {Target} IncomingUser mgr1 {secrets[0]}", Ct)).Succeeded.Should().BeTrue();

        // Refused writes: the answer says why, and the log must not repeat the value.
        (await client.WriteAsync("targets/iscsi/mgmt", $"add_target_attribute {Target} IncomingUser mgr3 {secrets[1]}", Ct))
            .Succeeded.Should().BeFalse("the OutgoingUser's secret cannot be an IncomingUser's");
        (await client.WriteAsync($"targets/iscsi/{Target}/IncomingUser", $"mgr4 {secrets[3]}", Ct)).Succeeded.Should().BeFalse("a multi-valued attribute is added to through mgmt");
        (await client.WriteAsync("targets/iscsi/iqn.2026-11.org.scst-dotnet:no-such-target/IncomingUser", $"mgr5 {secrets[4]}", Ct))
            .Succeeded.Should().BeFalse("there is no such target");
        (await client.WriteAsync("targets/iscsi/mgmt", $"add_target_attribute iqn.2026-11.org.scst-dotnet:no-such-target IncomingUser mgr6 {secrets[5]}", Ct))
            .Succeeded.Should().BeFalse("there is no such target");
        await client.WriteAsync("targets/iscsi/mgmt", $"add_target_attribute {Target} IncomingUser mgr7 {secrets[6]} trailing-word", Ct);
        await client.WriteAsync("targets/iscsi/mgmt", $"add_target iqn.2026-11.org.scst-dotnet:new IncomingUser=mgr8 {secrets[7]}", Ct);
        (await client.WriteAsync("targets/iscsi/mgmt", $"add_attribute IncomingUzer finder3 {secrets[8]}", Ct)).Succeeded.Should().BeFalse("no such attribute");
        (await client.WriteAsync("targets/iscsj/mgmt", $"add_target_attribute {Target} IncomingUser mgr9 {secrets[9]}", Ct)).Succeeded.Should().BeFalse("there is no such driver");
        (await client.SaveConfigurationAsync(cancellationToken: Ct)).Message.Should().Contain(secrets[1], "a saved configuration keeps the secrets");

        _logs.Entries.Count(e => e.EventId.Id == ScstCoreEventIds.ManagementCommand).Should().BeGreaterThanOrEqualTo(12, "the endpoint logs each request");
        AssertNoSecret();
    }

    [Fact]
    public async Task ScstConf_WithChapUsers_AppliedAtStartCheckedAppliedAndBroken_LogsNoSecret()
    {
        await using ManagementClient client = await ManagementClient.ConnectAsync(Socket, Ct);
        const string Applied = "Zq9-applied-XYZ777";
        const string Checked = "Zq9-checked-XYZ555";
        const string Broken = "Zq9-broken-XYZ222";
        const string Refused = "Zq9-refused-XYZ444";
        _secrets.AddRange([Applied, Checked, Broken, Refused]);
        string saved = (await client.SaveConfigurationAsync(cancellationToken: Ct)).Message;
        string existing = $"IncomingUser \"{User} {IncomingSecret}\"";
        string With(params (string User, string Secret)[] users) =>
            saved.Replace(existing, existing + string.Concat(users.Select(u => $"\n\t\tIncomingUser \"{u.User} {u.Secret}\"")), StringComparison.Ordinal);
        saved.Should().Contain(existing, "the saved configuration holds the target's IncomingUser as the file gave it");

        ManagementResult check = await client.CheckConfigurationAsync(With(("checker", Checked)), Ct);
        ManagementResult apply = await client.ApplyConfigurationAsync(With(("applier", Applied)), cancellationToken: Ct);
        ManagementResult broken = await client.ApplyConfigurationAsync(With(("breaker", Broken)).Replace($"{Broken}\"", Broken, StringComparison.Ordinal), cancellationToken: Ct);
        ManagementResult refused = await client.ApplyConfigurationAsync(With(("again", Refused), ("refuser", OutgoingSecret)), cancellationToken: Ct);

        check.Succeeded.Should().BeTrue(check.Message);
        apply.Succeeded.Should().BeTrue(apply.Message);
        broken.Succeeded.Should().BeFalse("an unterminated quote does not read");
        refused.Succeeded.Should().BeFalse("the OutgoingUser's secret cannot be an IncomingUser's");

        // What a failed apply answers is what a SIGHUP reload of the same file logs (ConfigurationReloadFailed).
        broken.Message.Should().NotContain(Broken);
        refused.Message.Should().NotContain(OutgoingSecret).And.NotContain(Refused).And.NotContain(IncomingSecret);
        _logs.Entries.Should().Contain(e => e.EventId.Id == ScstCoreEventIds.ManagementCommand && e.Message.Contains("config apply", StringComparison.Ordinal));
        AssertNoSecret();
    }

    private static string? Value(RecordedLogEntry entry, string name) =>
        entry.Values.FirstOrDefault(v => v.Key == name).Value is { } value ? Convert.ToString(value, CultureInfo.InvariantCulture) : null;

    /// <summary>Every text of an entry or scope that could carry a secret: the message, each value and the exception.</summary>
    private static IEnumerable<string> Texts(IEnumerable<KeyValuePair<string, object?>> values)
    {
        foreach ((string key, object? value) in values)
        {
            yield return key;
            foreach (string text in Render(value))
            {
                yield return text;
            }
        }
    }

    private static IEnumerable<string> Render(object? value)
    {
        switch (value)
        {
            case null:
                yield break;
            case string s:
                yield return s;
                break;
            case byte[] bytes:
                yield return Convert.ToHexString(bytes);
                yield return Encoding.UTF8.GetString(bytes);
                break;
            case ReadOnlyMemory<byte> memory:
                yield return Convert.ToHexString(memory.Span);
                yield return Encoding.UTF8.GetString(memory.Span);
                break;
            case IEnumerable items:
                foreach (object? item in items)
                {
                    foreach (string text in Render(item))
                    {
                        yield return text;
                    }
                }

                break;
            default:
                yield return Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty;
                break;
        }
    }

    private static IEnumerable<(string Where, LogLevel Level, string Text)> Everything(RecordingLoggerProvider logs)
    {
        foreach (RecordedLogEntry e in logs.Entries)
        {
            string where = $"{e.Category} {e.Level} event {e.EventId.Id} \"{e.Message}\"";
            yield return (where, e.Level, e.Message);
            foreach (string text in Texts(e.Values))
            {
                yield return (where, e.Level, text);
            }

            if (e.Exception is not null)
            {
                yield return (where, e.Level, e.Exception.ToString());
            }
        }

        foreach (RecordedLogScope s in logs.Scopes)
        {
            string where = $"{s.Category} scope \"{s.Text}\"";
            yield return (where, LogLevel.Critical, s.Text);
            foreach (string text in Texts(s.Values))
            {
                yield return (where, LogLevel.Critical, text);
            }
        }
    }

    private void AssertNoSecret()
    {
        _logs.Entries.Should().NotBeEmpty();
        string[] forms = [.. _secrets.SelectMany(s => new[] { s, Convert.ToHexString(Encoding.UTF8.GetBytes(s)) })];
        string[] leaks = [.. Everything(_logs)
            .SelectMany(t => forms.Where(f => t.Text.Contains(f, StringComparison.OrdinalIgnoreCase)).Select(f => $"{f} in {t.Where}"))
            .Distinct()];
        leaks.Should().BeEmpty("no secret reaches a log, as text or as hex");
    }

    private void AssertNoChapValueAtInformation()
    {
        string[] leaks = [.. Everything(_logs)
            .Where(t => t.Level >= LogLevel.Information)
            .SelectMany(t => _chapValues.Where(v => t.Text.Contains(v, StringComparison.OrdinalIgnoreCase)).Select(v => $"CHAP value {v} in {t.Where}"))
            .Distinct()];
        leaks.Should().BeEmpty("CHAP challenges and responses are not logged at Information or above");
    }

    private static string NextInitiator() => $"{IscsiTestInitiator.DefaultInitiatorName}-secrets-{Interlocked.Increment(ref s_nextInitiator)}";

    /// <summary>
    /// Logs in through the security stage with CHAP (SHA-256 offered first), as open-iscsi does, remembering the CHAP
    /// challenges and responses (hex, without 0x) that went over the wire; with <paramref name="mutualChallenge"/>, asks
    /// the target to prove itself too.
    /// </summary>
    private async Task<LoginStatus> ChapLoginAsync(IscsiTestInitiator initiator, string user, string secret, byte[]? mutualChallenge = null, bool discoverySession = false)
    {
        string name = NextInitiator();
        List<KeyValuePair<string, string>> first = discoverySession
            ? [new("InitiatorName", name), new("SessionType", "Discovery"), new("AuthMethod", "CHAP,None")]
            : [new("InitiatorName", name), new("SessionType", "Normal"), new("TargetName", Target), new("AuthMethod", "CHAP,None")];
        (LoginResponseHeader method, _) = await initiator.SecurityStepAsync(first, transit: true, Ct);
        if (method.Status != LoginStatus.Success)
        {
            return method.Status;
        }

        (_, Dictionary<string, string> offered) = await initiator.SecurityStepAsync([new("CHAP_A", "7,5")], transit: false, Ct);
        byte identifier = byte.Parse(offered["CHAP_I"], CultureInfo.InvariantCulture);
        byte[] challenge = Convert.FromHexString(offered["CHAP_C"].AsSpan(2));
        byte[] response = SHA256.HashData([identifier, .. Encoding.UTF8.GetBytes(secret), .. challenge]);
        _chapValues.Add(Convert.ToHexString(challenge));
        _chapValues.Add(Convert.ToHexString(response));
        List<KeyValuePair<string, string>> answer = [new("CHAP_N", user), new("CHAP_R", "0x" + Convert.ToHexStringLower(response))];
        if (mutualChallenge is not null)
        {
            answer.Add(new("CHAP_I", MutualIdentifier.ToString(CultureInfo.InvariantCulture)));
            answer.Add(new("CHAP_C", "0x" + Convert.ToHexStringLower(mutualChallenge)));
            _chapValues.Add(Convert.ToHexString(mutualChallenge));
        }

        (LoginResponseHeader final, Dictionary<string, string> proof) = await initiator.SecurityStepAsync(answer, transit: true, Ct);
        if (final.Status != LoginStatus.Success)
        {
            return final.Status;
        }

        if (mutualChallenge is not null)
        {
            _chapValues.Add(proof["CHAP_R"][2..]);
        }

        initiator.ExpStatSn = final.StatSn + 1;
        initiator.CmdSn = final.ExpCmdSn;
        List<KeyValuePair<string, string>> operational = discoverySession
            ? [new("HeaderDigest", "None"), new("DataDigest", "None"), new("MaxRecvDataSegmentLength", "8192")]
            : [.. IscsiTestInitiator.NormalKeys(Target).Where(k => k.Key is not ("InitiatorName" or "SessionType" or "TargetName"))];
        return (await initiator.LoginAsync(operational, Ct)).Status;
    }

}
