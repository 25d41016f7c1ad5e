// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Options;

namespace Scst.Transport.Fcoe;

/// <summary>Checks <see cref="FcoeTargetOptions"/> when the host starts.</summary>
internal sealed class FcoeTargetOptionsValidator : IValidateOptions<FcoeTargetOptions>
{
    public ValidateOptionsResult Validate(string? name, FcoeTargetOptions options)
    {
        var failures = new List<string>();
        if (options.MaxExchanges is < 16 or > 32768)
        {
            failures.Add($"MaxExchanges must be 16 to 32768 (was {options.MaxExchanges}).");
        }

        var names = new HashSet<ulong>();
        var derivedNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var port in options.Ports)
        {
            if (string.IsNullOrWhiteSpace(port.Interface))
            {
                failures.Add("An FCoE port needs an Interface.");
            }
            else if (port.PortName is null && !derivedNames.Add(port.Interface))
            {
                // Both would take the WWPN derived from the interface's MAC address.
                failures.Add($"Two FCoE ports on {port.Interface} have no PortName: every port but one on an interface needs one.");
            }

            foreach (string? wwn in (string?[])[port.PortName, port.NodeName])
            {
                if (wwn is null)
                {
                    continue;
                }

                try
                {
                    ulong value = FcoeTargetDriver.ParseWwn(wwn);
                    if (wwn == port.PortName && !names.Add(value))
                    {
                        failures.Add($"Two FCoE ports have the WWPN {wwn}.");
                    }
                }
                catch (FormatException ex)
                {
                    failures.Add(ex.Message);
                }
            }

            if (port.PreferredPortId is < 1 or > 0xFF_FFEF)
            {
                failures.Add($"FCoE port on {port.Interface}: PreferredPortId must be 1 to 0xFFFFEF (was {port.PreferredPortId}).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
