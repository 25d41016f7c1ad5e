// Licensed under the Apache License, Version 2.0.

using Scst.Integration.Tests.Fixtures;
using Scst.Testing;
using Scst.Testing.Conformance;
using Scst.Transport.Iscsi;

namespace Scst.Integration.Tests.Conformance;

/// <summary>
/// A LUN configuration of the sample stack that libiscsi's whole SCSI family runs against. One configuration cannot
/// unlock every test (a write-protected LUN skips the write tests), so the family runs against several and the
/// results are read per configuration and as a union.
/// </summary>
/// <param name="Name">The configuration's name in reports.</param>
/// <param name="DeviceParameters">vdisk_fileio parameters that differ from the fixture's (none for a user device).</param>
/// <param name="Suites">
/// The suites (or single tests) to run, or null for the whole family. libiscsi's write tests do not look at the WP
/// bit, so on the read-only LU every refused write would count as a failure: that configuration runs the suites that
/// read, plus ReadOnly, which checks that writes are refused.
/// </param>
/// <param name="Backend">What serves LUN 0: vdisk_fileio in the target, or a device process through Scst.UserDevice.</param>
/// <param name="ConfigureIscsi">iSCSI driver options that differ from the defaults (vdisk_fileio configurations only).</param>
public sealed record ScsiFamilyConfiguration(
    string Name,
    IReadOnlyDictionary<string, string> DeviceParameters,
    IReadOnlyList<string>? Suites = null,
    ScsiFamilyBackend Backend = ScsiFamilyBackend.VdiskFileIo,
    Action<IscsiTargetOptions>? ConfigureIscsi = null)
{
    /// <summary>The vdisk_fileio configuration the user device is compared with.</summary>
    public const string Plain = "plain";

    /// <summary>The configuration whose LUN is served by the UserFileIo sample (see <see cref="UserDeviceTargetFixture"/>).</summary>
    public const string UserDevice = "user-device";

    /// <summary>The plain configuration behind mutual CHAP: libiscsi logs every session in with credentials from the URL.</summary>
    public const string Chap = "chap";

    /// <summary>How iscsi-test-cu's sessions authenticate. Defaults to not at all.</summary>
    public ScsiFamilyAuthentication Authentication { get; init; }

    /// <summary>vdisk_fileio with write_through, o_direct, async, rotational 0 and identifiers of its own (issue 10).</summary>
    public const string FileIoAttributes = "fileio attributes";

    /// <summary>vdisk_fileio with nv_cache and tst 0 (issue 10).</summary>
    public const string FileIoNvCache = "fileio nv_cache";

    /// <summary>The plain configuration's LUN with its I/O through io_uring, write-through so that FUA and the flushes go there too.</summary>
    public const string FileIoUring = "fileio io_uring";

    /// <summary>The plain configuration with a CRC32C header digest on every connection (see <see cref="All"/>).</summary>
    public const string Digests = "digests";

    /// <summary>vdisk_blockio on a 1 GiB loop device, with the defaults it takes from the device (issue 10).</summary>
    public const string BlockIo = "blockio";

    public static IReadOnlyList<ScsiFamilyConfiguration> All { get; } =
    [
        new(Plain, new Dictionary<string, string> { ["thin_provisioned"] = "0" }),
        new("thin", new Dictionary<string, string> { ["thin_provisioned"] = "1" }),
        new("removable", new Dictionary<string, string> { ["thin_provisioned"] = "0", ["removable"] = "1" }),
        // Thin, so that ReadOnly.ReadOnlySBC also sees UNMAP refused.
        new("read-only", new Dictionary<string, string> { ["thin_provisioned"] = "1", ["read_only"] = "1" },
            [
                "SCSI.ReadOnly", "SCSI.Read6", "SCSI.Read10", "SCSI.Read12", "SCSI.Read16", "SCSI.ReadCapacity10",
                "SCSI.ReadCapacity16", "SCSI.Inquiry", "SCSI.ModeSense6", "SCSI.TestUnitReady", "SCSI.ReportSupportedOpcodes",
                "SCSI.Verify10", "SCSI.Verify12", "SCSI.Verify16", "SCSI.Prefetch10", "SCSI.Prefetch16",
                "SCSI.ReadDefectData10", "SCSI.ReadDefectData12",
            ]),
        new("4096-byte blocks", new Dictionary<string, string> { ["thin_provisioned"] = "1", ["blocksize"] = "4096" }),
        // 512-byte logical blocks in 4 KiB physical blocks (LBPPB 8), thin: the five tests that skip with "LBPPB < 2"
        // (unaligned WRITE SAME UNMAP, wrong data-out sizes of WRITE SAME and COMPARE AND WRITE) run here, beside the
        // suites that read the geometry or depend on it. Not GetLBAStatus.UnmapSingle: with LBPPB > 1, libiscsi 1.19
        // asks for the status of LBA i + 1 and wants the first descriptor to start at LBA i + LBPPB, beyond the LBA it
        // asked for, which no device server that starts its answer at the requested LBA (SBC-4 5.20) can give; it
        // runs in every configuration above, where LBPPB is 1.
        new("8 logical per physical block", new Dictionary<string, string> { ["thin_provisioned"] = "1", ["lb_per_pb_exp"] = "3" },
            [
                "SCSI.WriteSame10", "SCSI.WriteSame16", "SCSI.CompareAndWrite", "SCSI.ReadCapacity16", "SCSI.Inquiry",
                "SCSI.Unmap", "SCSI.GetLBAStatus.Simple", "SCSI.GetLBAStatus.BeyondEol", "SCSI.WriteAtomic16", "SCSI.Write16",
                "SCSI.Read16", "SCSI.Verify16", "SCSI.OrWrite", "SCSI.Sanitize",
            ]),
        // vdisk_fileio with its attributes away from their defaults (issue 10): write-through, the file opened O_DIRECT with
        // I/O on the thread pool (io_engine pread named, since o_direct alone takes io_uring where the machine has it; pread
        // with o_direct requires async, as in SCST), not rotational, a smaller optimal transfer length,
        // and identifiers of its own (T10 vendor, product, revision, serial, t10_dev_id, EUI-64 and NAA designators, SCSI
        // name string, vendor-specific INQUIRY bytes) in place of those derived from the name.
        new(FileIoAttributes, new Dictionary<string, string>
        {
            ["thin_provisioned"] = "1", ["write_through"] = "1", ["o_direct"] = "1", ["io_engine"] = "pread", ["async"] = "1", ["rotational"] = "0",
            ["opt_trans_len"] = "131072", ["t10_vend_id"] = "ACME", ["prod_id"] = "Conformance LUN", ["prod_rev_lvl"] = "0042",
            ["usn"] = "FILEIO-ATTR-0001", ["t10_dev_id"] = "fileio-attributes", ["eui64_id"] = "0x0011223344556677",
            ["naa_id"] = "0x6001122334455667718899aabbccddee", ["scsi_device_name"] = "iqn.2026-11.org.example:fileio-attributes",
            ["inq_vend_specific"] = "conformance",
        }),
        // nv_cache (WCE reported off and not changeable; SYNCHRONIZE CACHE and FUA do not flush), which write_through
        // would contradict, with one task set shared by every I_T nexus (tst 0).
        new(FileIoNvCache, new Dictionary<string, string> { ["thin_provisioned"] = "1", ["nv_cache"] = "1", ["tst"] = "0" }),
        // vdisk_fileio with io_engine=io_uring: every read, write and flush goes through the handler's ring and completes
        // on its thread; thin (UNMAP and WRITE SAME with UNMAP beside ring I/O) and write-through (each write followed by
        // an fdatasync on the ring).
        new(FileIoUring, new Dictionary<string, string> { ["thin_provisioned"] = "1", ["write_through"] = "1", ["io_engine"] = "io_uring" }),
        // The plain configuration's geometry (1 GiB in 512-byte blocks, fully provisioned, write-back) served by a device
        // process, the UserFileIo sample: issue 5 wants the same tests to pass as on vdisk_fileio (ScsiFamilyConformanceTests
        // lists each difference with its reason).
        new(UserDevice, new Dictionary<string, string>(), Backend: ScsiFamilyBackend.UserDevice),
        // The plain configuration with CHAP required on the target: every session iscsi-test-cu opens (two initiator
        // names, reconnects after resets) authenticates, mutually where libiscsi can (issue 6 wants the same tests to pass).
        new(Chap, new Dictionary<string, string> { ["thin_provisioned"] = "0" }) { Authentication = ScsiFamilyAuthentication.MutualChap },

        // The plain configuration with digests. iscsi-test-cu offers HeaderDigest=None,CRC32C whatever its URL says (its
        // login helper sets that after parsing the URL) and libiscsi 1.19 only ever offers DataDigest=None, so the target
        // accepts CRC32C only for the header digest: every connection then checks and sends one (the run records how many
        // PDUs the target checked), and the data digest stays None, which libiscsi cannot negotiate.
        new(Digests, new Dictionary<string, string> { ["thin_provisioned"] = "0" }, ConfigureIscsi: o => o.HeaderDigest = "CRC32C"),

        // vdisk_blockio on a loop device over a sparse 1 GiB file, which the fixture sets up and removes: 512-byte blocks,
        // rotational, write-back and thin provisioned (the loop device discards), all taken from the device, as the
        // "thin" configuration has them on vdisk_fileio; ScsiFamilyConformanceTests compares the two test by test.
        new(BlockIo, new Dictionary<string, string>(), Backend: ScsiFamilyBackend.VdiskBlockIo),
    ];

    public override string ToString() => Name;
}

/// <summary>What serves a configuration's LUN.</summary>
public enum ScsiFamilyBackend
{
    /// <summary>vdisk_fileio in the target process, over a sparse file (<see cref="ConfiguredTargetFixture"/>).</summary>
    VdiskFileIo,

    /// <summary>A dev_user device served by the UserFileIo sample as a child process (<see cref="UserDeviceTargetFixture"/>).</summary>
    UserDevice,

    /// <summary>vdisk_blockio in the target process, over a loop device the fixture creates (<see cref="ConfiguredTargetFixture"/>).</summary>
    VdiskBlockIo,
}

/// <summary>How a configuration's sessions authenticate.</summary>
public enum ScsiFamilyAuthentication
{
    /// <summary>AuthMethod=None.</summary>
    None,

    /// <summary>
    /// CHAP required on the target (an IncomingUser) with an OutgoingUser, and the URL carrying both: libiscsi 1.19 logs in
    /// with CHAP_A=5 (MD5), as <c>user%secret@</c>, and asks the target to authenticate too when the URL has
    /// <c>?target_user=...&amp;target_password=...</c> (its reconnects after a reset are one-way: it does not copy those).
    /// </summary>
    MutualChap,
}

/// <summary>
/// A target serving one vdisk_fileio configuration's LUN, or a vdisk_blockio one over a loop device of
/// <see cref="ScstTargetFixture.DiskBytes"/> that it creates before the target starts and removes after it stopped.
/// </summary>
internal sealed class ConfiguredTargetFixture(ScsiFamilyConfiguration configuration) : ScstTargetFixture, IConformanceTarget
{
    private LoopDevice? _loop;

    // Letters, digits and '-' only: libiscsi splits its URL at '%', '@', '/', '?' and '&'.
    private const string ChapUser = "conformance";
    private const string ChapSecret = "conformance-initiator-secret";
    private const string ChapTargetUser = "conformance-target";
    private const string ChapTargetSecret = "conformance-target-secret";

    protected override bool UnitAttentionOnNewNexus => true;

    protected override string DeviceHandler => configuration.Backend == ScsiFamilyBackend.VdiskBlockIo ? "vdisk_blockio" : base.DeviceHandler;

    public override async ValueTask InitializeAsync()
    {
        if (configuration.Backend == ScsiFamilyBackend.VdiskBlockIo)
        {
            _loop = LoopDevice.Create(DiskBytes);
        }

        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        try
        {
            await base.DisposeAsync();
        }
        finally
        {
            _loop?.Dispose();
        }
    }

    /// <summary>The URL iscsi-test-cu is given: with the credentials when the configuration authenticates.</summary>
    string IConformanceTarget.Url => configuration.Authentication == ScsiFamilyAuthentication.MutualChap
        ? $"iscsi://{ChapUser}%{ChapSecret}@{EndPoint.Address}:{EndPoint.Port}/{TargetName}/0?target_user={ChapTargetUser}&target_password={ChapTargetSecret}"
        : Url;

    protected override void ConfigureIscsi(IscsiTargetOptions options)
    {
        if (configuration.Authentication == ScsiFamilyAuthentication.MutualChap)
        {
            options.Chap.ForTarget(TargetName).SetIncomingUser(ChapUser, ChapSecret);
            options.Chap.ForTarget(TargetName).SetOutgoingUser(ChapTargetUser, ChapTargetSecret);
        }

        configuration.ConfigureIscsi?.Invoke(options);
    }

    protected override void ConfigureDevice(IDictionary<string, string> parameters)
    {
        if (_loop is not null)
        {
            // A block device brings its own size, block size and provisioning.
            parameters.Remove("size");
            parameters.Remove("blocksize");
            parameters.Remove("thin_provisioned");
            parameters["filename"] = _loop.Path;
        }

        foreach (KeyValuePair<string, string> p in configuration.DeviceParameters)
        {
            parameters[p.Key] = p.Value;
        }
    }
}

/// <summary>
/// Runs libiscsi's SCSI family, <c>iscsi-test-cu -d -S -t FILTER URL URL</c> (data loss and SANITIZE allowed, and a
/// second URL so that the multipath tests open two sessions to the LU), once per configuration, each against a fresh
/// target, and keeps the runs for the tests (see <see cref="WholeFamilyFilters"/> for the three processes of a
/// whole-family run). A configuration runs when a test first asks for it, one configuration at a time, so that a test
/// run filtered to one configuration's tests runs only what they need. A read-only LUN over a fresh sparse file reads
/// zeros, which is all its read tests need.
/// </summary>
public sealed class ScsiFamilyFixture : IAsyncLifetime
{
    private const string Sanitize = "SCSI.Sanitize";
    private const string SanitizeReset = "SCSI.Sanitize.Reset";

    private readonly Dictionary<string, Task<IscsiTestCuRun>> _runs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _headerDigestsChecked = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    /// <summary>The run of one configuration: started by the first call, shared by the later ones.</summary>
    public Task<IscsiTestCuRun> RunAsync(string configuration)
    {
        lock (_runs)
        {
            if (!_runs.TryGetValue(configuration, out Task<IscsiTestCuRun>? run))
            {
                run = RunConfigurationAsync(ScsiFamilyConfiguration.All.Single(c => c.Name == configuration));
                _runs[configuration] = run;
            }

            return run;
        }
    }

    /// <summary>The runs of every configuration, in <see cref="ScsiFamilyConfiguration.All"/>'s order.</summary>
    public async Task<IReadOnlyDictionary<string, IscsiTestCuRun>> RunAllAsync()
    {
        var runs = new Dictionary<string, IscsiTestCuRun>(StringComparer.Ordinal);
        foreach (ScsiFamilyConfiguration configuration in ScsiFamilyConfiguration.All)
        {
            runs[configuration.Name] = await RunAsync(configuration.Name);
        }

        return runs;
    }

    /// <summary>The PDUs whose header digest the target checked during a vdisk configuration's run (after the run).</summary>
    public async Task<long> HeaderDigestsCheckedAsync(string configuration)
    {
        await RunAsync(configuration);
        lock (_headerDigestsChecked)
        {
            return _headerDigestsChecked[configuration];
        }
    }

    private async Task<IscsiTestCuRun> RunConfigurationAsync(ScsiFamilyConfiguration configuration)
    {
        await _oneAtATime.WaitAsync();
        try
        {
            await using IConformanceTarget target = configuration.Backend == ScsiFamilyBackend.UserDevice
                ? new UserDeviceTargetFixture()
                : new ConfiguredTargetFixture(configuration);
            await target.InitializeAsync();
            var options = new IscsiTestCuOptions
            {
                Url = target.Url,
                SecondUrl = target.Url,
                Filter = "SCSI",
                AllowSanitize = true,
            };
            // SCSI.Sanitize needs about two minutes by itself: three paced 1 GiB overwrites of 16 s, and Reset polls
            // TEST UNIT READY once a minute until its sanitize ends. The limit only turns a hang into a failure: a whole
            // family part takes 4-6 minutes on 2 cores, and went past 8 when other builds shared them. A single suite gets the
            // same limit: SCSI.Sanitize.Reset alone takes 2 minutes on a quiet machine and went past 5 on a loaded one.
            var parts = new List<IscsiTestCuRun>();
            IReadOnlyList<string> tests = await IscsiTestCuRunner.ListAsync();
            foreach (string filter in configuration.Suites is null ? WholeFamilyFilters(tests) : [.. configuration.Suites.SelectMany(s => SuiteFilters(s, tests))])
            {
                parts.Add(await IscsiTestCuRunner.RunAsync(options with { Filter = filter, Timeout = TimeSpan.FromMinutes(12) }));
            }

            if (target is ScstTargetFixture fixture)
            {
                lock (_headerDigestsChecked)
                {
                    _headerDigestsChecked[configuration.Name] = fixture.IscsiDriver.HeaderDigestsChecked;
                }
            }

            // An incomplete part keeps the end of its output, so that a hang says where it hung.
            string incomplete = string.Concat(parts.Where(p => !p.Completed).Select(p =>
                $"{Environment.NewLine}part -t {p.Options.Filter}: {(p.TimedOut ? "killed after " + p.Options.Timeout : "exit " + p.ExitCode)}, " +
                $"{p.Elapsed.TotalSeconds:F0} s, no CUnit summary; its last 30 lines:{Environment.NewLine}" +
                string.Join(Environment.NewLine, p.StandardOutput.Split('\n').TakeLast(30))));
            return parts[0] with
            {
                Results = [.. parts.SelectMany(p => p.Results)],
                TimedOut = parts.Any(p => p.TimedOut),
                Summary = parts.All(p => p.Summary is not null) ? parts[0].Summary : null,
                StandardOutput = incomplete.Length > 0 ? incomplete : parts[0].StandardOutput,
            };
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    public ValueTask DisposeAsync()
    {
        _oneAtATime.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The whole SCSI family in three processes. SCSI.Sanitize.Reservations leaves the RESERVE(6) of the suite's second
    /// session in place, and that session stays logged in until the suite ends, so in the same suite SCSI.Sanitize.Reset's
    /// SANITIZE rightly gets RESERVATION CONFLICT and never starts. Reset therefore runs in a process of its own, after
    /// the other SANITIZE tests, and every other suite runs in libiscsi's order in the first process.
    /// </summary>
    private static List<string> WholeFamilyFilters(IReadOnlyList<string> tests)
    {
        List<string> suites = [.. tests.Where(t => t.StartsWith("SCSI.", StringComparison.Ordinal)).Select(t => t[..t.LastIndexOf('.')]).Distinct()];

        // iscsi-test-cu registers comma-separated patterns from the last to the first: reversed, they run in list order.
        return [string.Join(',', suites.Where(s => s != Sanitize).Reverse()), .. SuiteFilters(Sanitize, tests)];
    }

    // A suite's filters: the suite itself, except SCSI.Sanitize, whose Reset test runs apart (see WholeFamilyFilters).
    private static IEnumerable<string> SuiteFilters(string suite, IReadOnlyList<string> tests) => suite != Sanitize
        ? [suite]
        : [string.Join(',', tests.Where(t => t.StartsWith(Sanitize + ".", StringComparison.Ordinal) && t != SanitizeReset).Reverse()), SanitizeReset];
}
