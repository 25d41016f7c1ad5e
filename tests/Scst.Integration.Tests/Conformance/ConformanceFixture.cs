// Licensed under the Apache License, Version 2.0.

using Scst.Integration.Tests.Fixtures;
using Scst.Testing.Conformance;

namespace Scst.Integration.Tests.Conformance;

/// <summary>A target of its own (iscsi-test-cu -d writes all over the LU) and one must-pass run shared by every case.</summary>
public sealed class ConformanceFixture : ScstTargetFixture
{
    private readonly Lock _lock = new();
    private Task<MustPassRun>? _run;

    public static MustPassList List { get; } = MustPassList.Load(MustPassList.FindDefaultPath());

    // libiscsi meets the target as initiators do: every new session starts with POWER ON / RESET.
    protected override bool UnitAttentionOnNewNexus => true;

    /// <summary>Runs the list's suites once (one iscsi-test-cu process per suite); later calls get the same run.</summary>
    public Task<MustPassRun> RunAsync()
    {
        lock (_lock)
        {
            return _run ??= IscsiTestCuRunner.RunMustPassAsync(
                // Five minutes per suite: SCSI.Sanitize takes about two (paced 1 GiB overwrites, and Reset's minute-long poll).
                new IscsiTestCuOptions { Url = Url, SecondUrl = Url, AllowSanitize = true, Timeout = TimeSpan.FromMinutes(5) }, List);
        }
    }
}
