// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Iscsi.Security;

namespace Scst.Transport.Iscsi;

/// <summary>Options of the iSCSI target driver (RFC 7143). Values are what the target offers in login negotiation.</summary>
public sealed class IscsiTargetOptions
{
    /// <summary>
    /// Addresses to listen on, as <c>host:port</c> (<c>[::1]:3260</c> for IPv6; port 0 picks a free port), each
    /// optionally followed by <c>,tag</c>: its target portal group tag (RFC 7143 section 4.4.1), announced in the logins
    /// and SendTargets of that portal; a portal without one is in <see cref="TargetPortalGroupTag"/>'s group. Defaults
    /// to <c>127.0.0.1:3260</c> when empty. Listening on a routable address exposes every enabled target to that
    /// network. Portals may be added and removed while the driver runs (<see cref="IscsiTargetDriver.AddPortal"/>,
    /// <see cref="IscsiTargetDriver.RemovePortal"/>).
    /// </summary>
    public IList<string> Portals { get; } = [];

    /// <summary>
    /// Per target name, its own iSCSI attributes (alias, redirect, QueuedCommands, MaxSessions, keepalive and the
    /// session keys it offers); a target without an entry takes the driver-wide values. Entries may change while the
    /// driver runs; a change applies to the next login.
    /// </summary>
    public IDictionary<string, IscsiTargetSettings> Targets { get; } = new System.Collections.Concurrent.ConcurrentDictionary<string, IscsiTargetSettings>(StringComparer.Ordinal);

    /// <summary>
    /// Per target name, the portals it may be reached through and whether its security groups see the portal (SCST's
    /// <c>allowed_portal</c> and <c>per_portal_acl</c> target attributes). A target without an entry is reachable on
    /// every portal. Entries may be added, replaced and changed while the driver runs; a change applies to the next
    /// discovery request and login.
    /// </summary>
    public IDictionary<string, IscsiTargetAccess> TargetAccess { get; } = new System.Collections.Concurrent.ConcurrentDictionary<string, IscsiTargetAccess>(StringComparer.Ordinal);

    /// <summary>
    /// Whether SendTargets lists the IPv6 link-local portals (<c>fe80::/10</c>) besides the one the initiator came in on
    /// (SCST's <c>link_local</c>), each with its zone as the interface name (<c>[fe80::1%eth0]:3260,1</c>). Defaults
    /// to true, as in SCST; a link-local address only works on the link it belongs to, so false keeps them out of the
    /// answers given to initiators on other links. A change applies to the next SendTargets.
    /// </summary>
    public bool LinkLocal { get; set; } = true;

    /// <summary>The portal group tag of the portals that name none, announced in logins and SendTargets. Defaults to 1.</summary>
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
    /// How connections receive. <see cref="IscsiReceiveMode.ThreadPool"/> (the default) receives through .NET's socket
    /// engine, which hands each receive from its epoll thread to a thread pool worker; a worker blocked by a device's
    /// synchronous I/O is made up for by the pool. <see cref="IscsiReceiveMode.ReceiveThreads"/> spreads the connections
    /// over receive threads of the driver's own, one per CPU, each waiting in <c>epoll</c> for its connections' sockets
    /// and handling a PDU on the thread the kernel woke: one wake-up per receive and no hand-off, much less CPU per
    /// command, but a command that blocks its thread (an fdatasync on slow storage with vdisk_fileio's synchronous I/O)
    /// holds the other connections of that thread until it is done; use it with devices that do not block (nullio,
    /// page-cache files, <c>async</c> or io_uring I/O). A change applies to the next connection.
    /// </summary>
    public IscsiReceiveMode ReceiveMode { get; set; } = IscsiReceiveMode.ThreadPool;

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

    /// <summary>
    /// The entity identifier (EID) registered with the iSNS server. Defaults to <c>scst-dotnet.</c> followed by the host
    /// name.
    /// </summary>
    public string? IsnsEntityIdentifier { get; set; }

    /// <summary>
    /// The iSCSI name the driver speaks for in its registrations with the iSNS server (the Source attribute of its
    /// DevAttrReg and DevDereg messages, RFC 4171 section 6.1), as SCST's <c>isns_entity_name</c>: one of the driver's
    /// enabled targets, which the server knows. Null or empty (the default): the first enabled target, in the order
    /// the targets were added. A change applies to the next registration, made within a few seconds.
    /// </summary>
    public string? IsnsEntityName { get; set; }

    /// <summary>
    /// iSNS access control (SCST's <c>AccessControl</c> flag of <c>iSNSServer</c>): an initiator sees a target in
    /// SendTargets, and may log in to it, only when the iSNS server says they share a discovery domain. Without an
    /// <see cref="IsnsServer"/> it has no effect. Defaults to false. See the package README for how the answers are
    /// kept and what happens when the server cannot be reached.
    /// </summary>
    public bool IsnsAccessControl { get; set; }

    /// <summary>The registration period asked of the iSNS server; the entity is registered again every half period. Defaults to 10 minutes.</summary>
    public TimeSpan IsnsRegistrationPeriod { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// HeaderDigest values the target accepts (SCST's target attribute of the same name and syntax): <c>None</c>,
    /// <c>CRC32C</c>, or both as <c>CRC32C,None</c>. The initiator's list decides the order: the target answers its first
    /// value that is accepted here. With <c>CRC32C</c> alone, a Normal session that will not use CRC32C fails to log in
    /// (Discovery sessions may always go without). Defaults to <c>CRC32C,None</c>: digests whenever the initiator asks.
    /// </summary>
    public string HeaderDigest { get; set; } = "CRC32C,None";

    /// <summary>DataDigest values the target accepts; as <see cref="HeaderDigest"/>. Defaults to <c>CRC32C,None</c>.</summary>
    public string DataDigest { get; set; } = "CRC32C,None";

    /// <summary>
    /// Seconds a full-feature-phase connection may stay silent (nothing received) before the target sends a NOP-In
    /// ping that asks for an answer (SCST's NopInInterval). 0 disables the pings. Defaults to 30; at most 65535.
    /// </summary>
    public int NopInInterval { get; set; } = 30;

    /// <summary>
    /// Seconds the initiator has to answer a NOP-In ping with a NOP-Out before the target drops the connection (SCST's
    /// NopInTimeout); its session's commands then end as for any connection loss. Defaults to 30; 2 to 65535.
    /// </summary>
    public int NopInTimeout { get; set; } = 30;

    /// <summary>
    /// Seconds a PDU may wait to be taken by the initiator (the socket's send buffer full) before the target drops the
    /// connection (SCST's RspTimeout). Defaults to 90; 2 to 65535.
    /// </summary>
    public int RspTimeout { get; set; } = 90;

    /// <summary>
    /// When the driver stops, how long the initiators of Normal sessions have to log out after the target asks them to
    /// (Asynchronous Message, AsyncEvent 1 "logout requested", RFC 7143 section 11.9.1, this value as Parameter3): the
    /// stop waits up to this long for their logouts, then drops what remains. <see cref="TimeSpan.Zero"/> drops every
    /// connection at once without asking. Defaults to 2 seconds; whole seconds, at most 65535.
    /// </summary>
    public TimeSpan LogoutRequestTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The most connections a session may have (MaxConnections, RFC 7143 section 13.2); more than one is MC/S: commands
    /// of one session on several connections, delivered to the core in CmdSN order. Defaults to 1, as initiators that
    /// want several connections per session ask for them.
    /// </summary>
    public int MaxConnections { get; set; } = 1;

    /// <summary>
    /// The highest ErrorRecoveryLevel offered (RFC 7143 section 13.20): 0 (session recovery only), 1 (SNACK, recovery
    /// R2Ts, retried commands; responses are kept until acknowledged) or 2 (connection recovery and TASK REASSIGN).
    /// Defaults to 0.
    /// </summary>
    public int ErrorRecoveryLevel { get; set; }

    /// <summary>DefaultTime2Wait offered, in seconds (RFC 7143 section 13.15). Defaults to 2.</summary>
    public int DefaultTime2Wait { get; set; } = 2;

    /// <summary>
    /// DefaultTime2Retain offered, in seconds (RFC 7143 section 13.16): at ErrorRecoveryLevel 2, how long the tasks of a
    /// lost connection wait for TASK REASSIGN, and a session without connections for a new one. Defaults to 20.
    /// </summary>
    public int DefaultTime2Retain { get; set; } = 20;

    /// <summary>
    /// ErrorRecoveryLevel 1 and up: how long a write may wait for a Data-Out before a recovery R2T asks again for what is
    /// missing. Zero turns the check off. Defaults to 3 seconds.
    /// </summary>
    public TimeSpan DataOutTimeout { get; set; } = TimeSpan.FromSeconds(3);
}

/// <summary>How the iSCSI driver's connections receive; see <see cref="IscsiTargetOptions.ReceiveMode"/>.</summary>
public enum IscsiReceiveMode
{
    /// <summary>The driver's receive threads, one per CPU, each serving many connections through <c>epoll</c>.</summary>
    ReceiveThreads,

    /// <summary>Connections receive through .NET's socket engine and the thread pool.</summary>
    ThreadPool,
}
