// Licensed under the Apache License, Version 2.0.

using Scst.Integration.Tests.Fixtures;
using Scst.Testing.Conformance;

namespace Scst.Integration.Tests.Conformance;

/// <summary>
/// A LUN configuration of the sample stack that libiscsi's whole SCSI family runs against. One configuration cannot
/// unlock every test (a write-protected LUN skips the write tests), so the family runs against several and the
/// results are read per configuration and as a union.
/// </summary>
/// <param name="Name">The configuration's name in reports.</param>
/// <param name="DeviceParameters">vdisk_fileio parameters that differ from the fixture's.</param>
/// <param name="AllowDataLoss">
/// Whether iscsi-test-cu may write (-d). The read-only LU runs without it: libiscsi's write tests do not look at the
/// WP bit and would report every refused write as a failure, while its read-only tests need no writes.
/// </param>
public sealed record ScsiFamilyConfiguration(string Name, IReadOnlyDictionary<string, string> DeviceParameters, bool AllowDataLoss = true)
{
    public static IReadOnlyList<ScsiFamilyConfiguration> All { get; } =
    [
        new("plain", new Dictionary<string, string> { ["thin_provisioned"] = "0" }),
        new("thin", new Dictionary<string, string> { ["thin_provisioned"] = "1" }),
        new("removable", new Dictionary<string, string> { ["thin_provisioned"] = "0", ["removable"] = "1" }),
        new("read-only", new Dictionary<string, string> { ["thin_provisioned"] = "0", ["read_only"] = "1" }, AllowDataLoss: false),
        new("4096-byte blocks", new Dictionary<string, string> { ["thin_provisioned"] = "1", ["blocksize"] = "4096" }),
    ];

    public override string ToString() => Name;
}

/// <summary>A target serving one configuration's LUN.</summary>
internal sealed class ConfiguredTargetFixture(ScsiFamilyConfiguration configuration) : ScstTargetFixture
{
    protected override void ConfigureDevice(IDictionary<string, string> parameters)
    {
        foreach (KeyValuePair<string, string> p in configuration.DeviceParameters)
        {
            parameters[p.Key] = p.Value;
        }
    }
}

/// <summary>
/// Runs <c>iscsi-test-cu -d -S -t SCSI URL URL</c> (data loss and SANITIZE allowed, and a second URL so that the
/// multipath tests open two sessions to the LU) once per configuration, each against a fresh target, and keeps the
/// runs for the tests. A read-only LUN over a fresh sparse file reads zeros, which is all its read tests need.
/// </summary>
public sealed class ScsiFamilyFixture : IAsyncLifetime
{
    private readonly Dictionary<string, IscsiTestCuRun> _runs = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, IscsiTestCuRun> Runs => _runs;

    public async ValueTask InitializeAsync()
    {
        foreach (ScsiFamilyConfiguration configuration in ScsiFamilyConfiguration.All)
        {
            await using var target = new ConfiguredTargetFixture(configuration);
            await target.InitializeAsync();
            _runs[configuration.Name] = await IscsiTestCuRunner.RunAsync(new IscsiTestCuOptions
            {
                Url = target.Url,
                SecondUrl = target.Url,
                Filter = "SCSI",
                AllowDataLoss = configuration.AllowDataLoss,
                AllowSanitize = true,
                Timeout = TimeSpan.FromMinutes(8),
            });
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
