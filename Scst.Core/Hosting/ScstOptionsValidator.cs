// Licensed under the Apache License, Version 2.0.

using System.Numerics;
using Microsoft.Extensions.Options;

namespace Scst.Core.Hosting;

/// <summary>Checks <see cref="ScstOptions"/> when the host starts.</summary>
internal sealed class ScstOptionsValidator : IValidateOptions<ScstOptions>
{
    public ValidateOptionsResult Validate(string? name, ScstOptions options)
    {
        var failures = new List<string>();
        if (options.MaxCommandsPerSession is < 1 or > 65536)
        {
            failures.Add($"MaxCommandsPerSession must be 1 to 65536 (was {options.MaxCommandsPerSession}).");
        }

        if (options.MaxCommandsPerLun < 1)
        {
            failures.Add($"MaxCommandsPerLun must be at least 1 (was {options.MaxCommandsPerLun}).");
        }

        if (options.MaxCommandsPerDevice < 1)
        {
            failures.Add($"MaxCommandsPerDevice must be at least 1 (was {options.MaxCommandsPerDevice}).");
        }

        if (options.MaxBufferMemory < options.MaxTransferLength)
        {
            failures.Add($"MaxBufferMemory must hold at least one largest transfer, {options.MaxTransferLength} bytes (was {options.MaxBufferMemory}).");
        }

        if (options.MaxTransferLength is < 65536 or > 64 << 20 || !BitOperations.IsPow2(options.MaxTransferLength))
        {
            failures.Add($"MaxTransferLength must be a power of two from 64 KiB to 64 MiB (was {options.MaxTransferLength}).");
        }

        if (options.RetainedBuffersPerSizeClass is < 0 or > 65536)
        {
            failures.Add($"RetainedBuffersPerSizeClass must be 0 to 65536 (was {options.RetainedBuffersPerSizeClass}).");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (DeviceDefinition d in options.Devices)
        {
            if (!names.Add(d.Name))
            {
                failures.Add($"Device '{d.Name}' is defined twice.");
            }
        }

        foreach (TargetDefinition t in options.Targets)
        {
            foreach (KeyValuePair<int, string> lun in t.Luns)
            {
                if (lun.Key is < 0 or > LunMap.MaxLun)
                {
                    failures.Add($"Target '{t.Name}' maps LUN {lun.Key}, outside 0 to {LunMap.MaxLun}.");
                }
            }

            var groups = new HashSet<string>(StringComparer.Ordinal);
            foreach (GroupDefinition g in t.Groups)
            {
                if (string.IsNullOrEmpty(g.Name) || !groups.Add(g.Name))
                {
                    failures.Add($"Target '{t.Name}' has a security group with an empty or repeated name ('{g.Name}').");
                }

                foreach (KeyValuePair<int, string> lun in g.Luns)
                {
                    if (lun.Key is < 0 or > LunMap.MaxLun)
                    {
                        failures.Add($"Group '{g.Name}' of target '{t.Name}' maps LUN {lun.Key}, outside 0 to {LunMap.MaxLun}.");
                    }
                }

                foreach (string pattern in g.Initiators)
                {
                    if (string.IsNullOrEmpty(pattern) || pattern.AsSpan().IndexOfAny(" \t\r\n") >= 0)
                    {
                        failures.Add($"Group '{g.Name}' of target '{t.Name}' has an empty initiator pattern or one with white space ('{pattern}').");
                    }
                }
            }
        }

        if (options.StpgTimeout <= TimeSpan.Zero && options.StpgTimeout != Timeout.InfiniteTimeSpan)
        {
            failures.Add($"StpgTimeout must be positive or infinite; got {options.StpgTimeout}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
