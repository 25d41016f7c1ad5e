// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Iscsi.Security;

namespace Scst.Transport.Iscsi;

/// <summary>Options of the iSCSI target driver (RFC 7143). Values are what the target offers in login negotiation.</summary>
public sealed class IscsiTargetOptions
{
    /// <summary>
    /// Addresses to listen on, as <c>host:port</c> (<c>[::1]:3260</c> for IPv6; port 0 picks a free port). Defaults to
    /// <c>127.0.0.1:3260</c> when empty. Listening on a routable address exposes every enabled target to that network.
    /// </summary>
    public IList<string> Portals { get; } = [];

    /// <summary>The portal group tag announced in logins and SendTargets. Defaults to 1.</summary>
    public ushort TargetPortalGroupTag { get; set; } = 1;

    /// <summary>
    /// CHAP authentication: IncomingUser and OutgoingUser per target and for discovery sessions, and the algorithms
    /// accepted. Defaults to no credentials: no login authenticates. Credentials may change while the driver runs; a
    /// change applies to the next login.
    /// </summary>
    public ChapOptions Chap { get; } = new();

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

    /// <summary>
    /// The iSNS server to register the enabled targets and the portals with (RFC 4171), as <c>host[:port]</c> (port
    /// 3205 by default); null (the default) registers nowhere. SCST's iscsi attribute <c>iSNSServer</c>.
    /// </summary>
    public string? IsnsServer { get; set; }

    /// <summary>The entity identifier registered with the iSNS server. Defaults to <c>scst-dotnet.</c> followed by the host name.</summary>
    public string? IsnsEntityIdentifier { get; set; }

    /// <summary>The registration period asked of the iSNS server; the entity is registered again every half period. Defaults to 10 minutes.</summary>
    public TimeSpan IsnsRegistrationPeriod { get; set; } = TimeSpan.FromMinutes(10);
}
