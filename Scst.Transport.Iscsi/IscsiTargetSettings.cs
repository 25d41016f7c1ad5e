// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Net;

namespace Scst.Transport.Iscsi;

/// <summary>
/// The iSCSI attributes of one target, as SCST's iSCSI driver has them per target (<c>alias</c>, <c>redirect</c>,
/// <c>QueuedCommands</c>, <c>MaxSessions</c>, <c>NopInInterval</c>, <c>NopInTimeout</c>, <c>RspTimeout</c> and the
/// session keys the target offers). Kept per target name in <see cref="IscsiTargetOptions.Targets"/>; a value left null
/// takes the driver-wide one from <see cref="IscsiTargetOptions"/>.
/// </summary>
/// <remarks>A change applies to the next login; sessions already open keep what they negotiated.</remarks>
public sealed class IscsiTargetSettings
{
    /// <summary>TargetAlias sent in the login response (and registered with iSNS); null sends none.</summary>
    public string? Alias { get; set; }

    /// <summary>
    /// Login redirection (SCST's <c>redirect</c> attribute): <c>address[:port] temp|perm</c>, IPv6 in brackets. A login
    /// to the target is answered with status 0x0101 (moved temporarily) or 0x0102 (moved permanently) and TargetAddress,
    /// before authentication. Null or empty serves logins here.
    /// </summary>
    public string? Redirect { get; set; }

    /// <summary>SCST's <c>QueuedCommands</c>: the CmdSN window of each session (1 to 65536). Null: <see cref="IscsiTargetOptions.CommandWindow"/>.</summary>
    public int? QueuedCommands { get; set; }

    /// <summary>SCST's <c>MaxSessions</c>: the most sessions the target has at once, 0 for no limit (the default). A login beyond it fails with 0x0302 (out of resources).</summary>
    public int MaxSessions { get; set; }

    /// <summary>Seconds between NOP-In pings on an idle connection, 0 for none. Null: the driver's.</summary>
    public int? NopInInterval { get; set; }

    /// <summary>Seconds a NOP-In ping may wait for its answer. Null: the driver's.</summary>
    public int? NopInTimeout { get; set; }

    /// <summary>Seconds a PDU may wait for room in the socket's send buffer. Null: the driver's.</summary>
    public int? RspTimeout { get; set; }

    /// <summary>InitialR2T offered. Null: the driver's.</summary>
    public bool? InitialR2T { get; set; }

    /// <summary>ImmediateData offered. Null: the driver's.</summary>
    public bool? ImmediateData { get; set; }

    /// <summary>MaxRecvDataSegmentLength declared. Null: the driver's.</summary>
    public int? MaxRecvDataSegmentLength { get; set; }

    /// <summary>SCST's <c>MaxXmitDataSegmentLength</c>: the largest Data-In segment the target sends, whatever the initiator accepts. Null: no limit of its own.</summary>
    public int? MaxXmitDataSegmentLength { get; set; }

    /// <summary>MaxBurstLength offered. Null: the driver's.</summary>
    public int? MaxBurstLength { get; set; }

    /// <summary>FirstBurstLength offered. Null: the driver's.</summary>
    public int? FirstBurstLength { get; set; }

    /// <summary>HeaderDigest offered (<c>None</c>, <c>CRC32C</c>, <c>CRC32C,None</c>). Null: the driver's.</summary>
    public string? HeaderDigest { get; set; }

    /// <summary>DataDigest offered. Null: the driver's.</summary>
    public string? DataDigest { get; set; }

    /// <summary>MaxConnections offered. Null: the driver's.</summary>
    public int? MaxConnections { get; set; }

    /// <summary>Highest ErrorRecoveryLevel offered. Null: the driver's.</summary>
    public int? ErrorRecoveryLevel { get; set; }

    /// <summary>Why the settings cannot be used, one line each; empty when they can.</summary>
    /// <param name="target">The target name, for the messages.</param>
    public IEnumerable<string> Problems(string target)
    {
        if (!string.IsNullOrEmpty(Redirect) && !TryParseRedirect(Redirect, out _, out _))
        {
            yield return $"Target '{target}': redirect must be 'address[:port] temp|perm' (was '{Redirect}').";
        }

        if (QueuedCommands is < 1 or > 65536)
        {
            yield return $"Target '{target}': QueuedCommands must be 1 to 65536 (was {QueuedCommands}).";
        }

        if (MaxSessions is < 0 or > 65535)
        {
            yield return $"Target '{target}': MaxSessions must be 0 (no limit) to 65535 (was {MaxSessions}).";
        }

        if (NopInInterval is < 0 or > 65535)
        {
            yield return $"Target '{target}': NopInInterval must be 0 to 65535 (was {NopInInterval}).";
        }

        if (NopInTimeout is < 2 or > 65535)
        {
            yield return $"Target '{target}': NopInTimeout must be 2 to 65535 (was {NopInTimeout}).";
        }

        if (RspTimeout is < 2 or > 65535)
        {
            yield return $"Target '{target}': RspTimeout must be 2 to 65535 (was {RspTimeout}).";
        }

        foreach ((string name, int? value) in new[]
        {
            ("MaxRecvDataSegmentLength", MaxRecvDataSegmentLength), ("MaxXmitDataSegmentLength", MaxXmitDataSegmentLength),
            ("MaxBurstLength", MaxBurstLength), ("FirstBurstLength", FirstBurstLength),
        })
        {
            if (value is < 512 or > 16_777_215)
            {
                yield return $"Target '{target}': {name} must be 512 to 16777215 (was {value}).";
            }
        }

        if (HeaderDigest is not null && !Protocol.Digests.TryParse(HeaderDigest, out _))
        {
            yield return $"Target '{target}': HeaderDigest must be None, CRC32C or CRC32C,None (was '{HeaderDigest}').";
        }

        if (DataDigest is not null && !Protocol.Digests.TryParse(DataDigest, out _))
        {
            yield return $"Target '{target}': DataDigest must be None, CRC32C or CRC32C,None (was '{DataDigest}').";
        }

        if (MaxConnections is < 1 or > 65535)
        {
            yield return $"Target '{target}': MaxConnections must be 1 to 65535 (was {MaxConnections}).";
        }

        if (ErrorRecoveryLevel is < 0 or > 2)
        {
            yield return $"Target '{target}': ErrorRecoveryLevel must be 0, 1 or 2 (was {ErrorRecoveryLevel}).";
        }
    }

    /// <summary>
    /// Parses SCST's redirect syntax: <c>192.0.2.7 temp</c>, <c>192.0.2.7:3261 perm</c>, <c>[2001:db8::7]:3260 temp</c>.
    /// The address is returned as the TargetAddress text (without the portal group tag).
    /// </summary>
    internal static bool TryParseRedirect(string value, out string address, out bool permanent)
    {
        address = string.Empty;
        permanent = false;
        string[] parts = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2 || parts[1] is not ("temp" or "perm"))
        {
            return false;
        }

        permanent = parts[1] == "perm";
        string host = parts[0];
        if (IPEndPoint.TryParse(host, out IPEndPoint? endPoint) && endPoint.Port != 0)
        {
            address = endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
                ? $"[{endPoint.Address}]:{endPoint.Port.ToString(CultureInfo.InvariantCulture)}"
                : $"{endPoint.Address}:{endPoint.Port.ToString(CultureInfo.InvariantCulture)}";
            return true;
        }

        if (!IPAddress.TryParse(host, out IPAddress? bare) || host.EndsWith(":0", StringComparison.Ordinal))
        {
            return false;
        }

        // A bare address (IPv4, or IPv6 with or without brackets): the initiator uses the default port.
        address = bare.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{bare}]" : bare.ToString();
        return true;
    }
}
