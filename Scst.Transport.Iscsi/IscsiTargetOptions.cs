// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi;

/// <summary>Options of the iSCSI target driver (RFC 7143). Values are what the target offers in login negotiation.</summary>
public sealed class IscsiTargetOptions
{
    /// <summary>
    /// Addresses to listen on, as <c>host:port</c> (<c>[::1]:3260</c> for IPv6; port 0 picks a free port). Defaults to
    /// <c>127.0.0.1:3260</c> when empty. Listening on a routable address exposes every enabled target to that network.
    /// </summary>
    public IList<string> Portals { get; } = [];

    /// <summary>
    /// Per target name, the portals it may be reached through and whether its security groups see the portal (SCST's
    /// <c>allowed_portal</c> and <c>per_portal_acl</c> target attributes). A target without an entry is reachable on
    /// every portal. Entries may be added, replaced and changed while the driver runs; a change applies to the next
    /// discovery request and login.
    /// </summary>
    public IDictionary<string, IscsiTargetAccess> TargetAccess { get; } = new System.Collections.Concurrent.ConcurrentDictionary<string, IscsiTargetAccess>(StringComparer.Ordinal);

    /// <summary>The portal group tag announced in logins and SendTargets. Defaults to 1.</summary>
    public ushort TargetPortalGroupTag { get; set; } = 1;

    /// <summary>MaxRecvDataSegmentLength the target declares: the largest data segment it accepts. Defaults to 256 KiB; 512 to 16 MiB - 1.</summary>
    public int MaxRecvDataSegmentLength { get; set; } = 262_144;

    /// <summary>MaxBurstLength offered: the largest solicited write burst and Data-In sequence. Defaults to 1 MiB.</summary>
    public int MaxBurstLength { get; set; } = 1 << 20;

    /// <summary>FirstBurstLength offered: unsolicited data allowed per command. Defaults to 256 KiB; at most MaxBurstLength.</summary>
    public int FirstBurstLength { get; set; } = 262_144;

    /// <summary>MaxOutstandingR2T offered. Defaults to 1.</summary>
    public int MaxOutstandingR2T { get; set; } = 1;

    /// <summary>InitialR2T offered: false lets initiators send unsolicited Data-Out. Defaults to false.</summary>
    public bool InitialR2T { get; set; }

    /// <summary>ImmediateData offered. Defaults to true.</summary>
    public bool ImmediateData { get; set; } = true;

    /// <summary>
    /// Commands an initiator may have outstanding per session (the CmdSN window). Defaults to 128; at most the core's
    /// MaxCommandsPerSession to avoid TASK SET FULL.
    /// </summary>
    public int CommandWindow { get; set; } = 128;
}
