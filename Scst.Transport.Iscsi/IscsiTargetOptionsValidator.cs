// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Options;
using Scst.Transport.Iscsi.Security;

namespace Scst.Transport.Iscsi;

/// <summary>Checks <see cref="IscsiTargetOptions"/> when the host starts.</summary>
internal sealed class IscsiTargetOptionsValidator : IValidateOptions<IscsiTargetOptions>
{
    public ValidateOptionsResult Validate(string? name, IscsiTargetOptions options)
    {
        var failures = new List<string>();
        foreach (string portal in options.Portals)
        {
            try
            {
                _ = IscsiTargetDriver.ParsePortal(portal);
            }
            catch (FormatException ex)
            {
                failures.Add(ex.Message);
            }
        }

        ValidateChap(options.Chap, failures);

        if (options.MaxRecvDataSegmentLength is < 512 or > 16_777_215)
        {
            failures.Add($"MaxRecvDataSegmentLength must be 512 to 16777215 (was {options.MaxRecvDataSegmentLength}).");
        }

        if (options.MaxBurstLength is < 512 or > 16_777_215)
        {
            failures.Add($"MaxBurstLength must be 512 to 16777215 (was {options.MaxBurstLength}).");
        }

        if (options.FirstBurstLength < 512 || options.FirstBurstLength > options.MaxBurstLength)
        {
            failures.Add($"FirstBurstLength must be 512 to MaxBurstLength (was {options.FirstBurstLength}).");
        }

        if (options.MaxOutstandingR2T != 1)
        {
            failures.Add("MaxOutstandingR2T must be 1 for now.");
        }

        if (options.CommandWindow is < 1 or > 65536)
        {
            failures.Add($"CommandWindow must be 1 to 65536 (was {options.CommandWindow}).");
        }

        if (!Protocol.Digests.TryParse(options.HeaderDigest, out _))
        {
            failures.Add($"HeaderDigest must be None, CRC32C or CRC32C,None (was '{options.HeaderDigest}').");
        }

        if (!Protocol.Digests.TryParse(options.DataDigest, out _))
        {
            failures.Add($"DataDigest must be None, CRC32C or CRC32C,None (was '{options.DataDigest}').");
        }

        if (options.NopInInterval is < 0 or > 65535)
        {
            failures.Add($"NopInInterval must be 0 (off) to 65535 seconds (was {options.NopInInterval}).");
        }

        if (options.NopInTimeout is < 2 or > 65535)
        {
            failures.Add($"NopInTimeout must be 2 to 65535 seconds (was {options.NopInTimeout}).");
        }

        if (options.RspTimeout is < 2 or > 65535)
        {
            failures.Add($"RspTimeout must be 2 to 65535 seconds (was {options.RspTimeout}).");
        }

        foreach ((string target, IscsiTargetSettings settings) in options.Targets.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            failures.AddRange(settings.Problems(target));
        }

        if (options.MaxConnections is < 1 or > 65535)
        {
            failures.Add($"MaxConnections must be 1 to 65535 (was {options.MaxConnections}).");
        }

        if (options.ErrorRecoveryLevel is < 0 or > 2)
        {
            failures.Add($"ErrorRecoveryLevel must be 0, 1 or 2 (was {options.ErrorRecoveryLevel}).");
        }

        if (options.DefaultTime2Wait is < 0 or > 3600)
        {
            failures.Add($"DefaultTime2Wait must be 0 to 3600 seconds (was {options.DefaultTime2Wait}).");
        }

        if (options.DefaultTime2Retain is < 0 or > 3600)
        {
            failures.Add($"DefaultTime2Retain must be 0 to 3600 seconds (was {options.DefaultTime2Retain}).");
        }

        if (options.DataOutTimeout < TimeSpan.Zero)
        {
            failures.Add($"DataOutTimeout must not be negative (was {options.DataOutTimeout}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>
    /// CHAP: secrets of at least 12 bytes, never the same secret both ways (RFC 7143 section 12.1.3), an OutgoingUser only
    /// beside an IncomingUser, and at least one accepted algorithm this platform provides.
    /// </summary>
    private static void ValidateChap(ChapOptions chap, List<string> failures)
    {
        failures.AddRange(ChapCredentials.Problems(chap.Discovery.Current, "iSCSI discovery sessions"));
        foreach ((string target, ChapCredentials credentials) in chap.Targets.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            failures.AddRange(ChapCredentials.Problems(credentials.Current, $"iSCSI target '{target}'"));
        }

        if (!chap.Algorithms.Any(ChapSecret.IsSupported))
        {
            failures.Add($"Chap.Algorithms holds no CHAP algorithm this platform provides (was: {string.Join(", ", chap.Algorithms)}).");
        }
    }
}
