// Licensed under the Apache License, Version 2.0.

namespace Scst.Testing.Conformance;

/// <summary>How to run <c>iscsi-test-cu</c> once.</summary>
public sealed record IscsiTestCuOptions
{
    /// <summary>Target URL: <c>iscsi://127.0.0.1:3260/iqn.2026-11.org.scst-dotnet:disk1/0</c>.</summary>
    public required string Url { get; init; }

    /// <summary>A second URL to the same LU (enables the multipath tests); <see langword="null"/> to skip them.</summary>
    public string? SecondUrl { get; init; }

    /// <summary>
    /// <c>-t</c> argument: <c>FAMILY[.SUITE[.TEST]]</c>, e.g. <c>SCSI</c>, <c>iSCSI.iSCSIResiduals</c>. <c>ALL</c> runs
    /// both families (the runner then asks <c>--list</c> which family each suite belongs to).
    /// </summary>
    public string Filter { get; init; } = "SCSI";

    /// <summary><c>-d</c>: allow the tests that write. On by default: a must-pass run needs them.</summary>
    public bool AllowDataLoss { get; init; } = true;

    /// <summary><c>-S</c>: allow the SANITIZE tests.</summary>
    public bool AllowSanitize { get; init; }

    /// <summary>Optional <c>-i</c> initiator name.</summary>
    public string? InitiatorName { get; init; }

    /// <summary>The whole run is killed (with its process tree) when it takes longer than this.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Program to run; a bare name is looked up on PATH.</summary>
    public string Executable { get; init; } = "iscsi-test-cu";

    /// <summary>The argument list these options give (without the executable).</summary>
    public IReadOnlyList<string> ToArguments()
    {
        var args = new List<string>();
        if (AllowDataLoss)
        {
            args.Add("-d");
        }

        if (AllowSanitize)
        {
            args.Add("-S");
        }

        if (InitiatorName is not null)
        {
            args.Add("-i");
            args.Add(InitiatorName);
        }

        args.Add("-v");
        args.Add("-t");
        args.Add(Filter);
        args.Add(Url);
        if (SecondUrl is not null)
        {
            args.Add(SecondUrl);
        }

        return args;
    }
}
