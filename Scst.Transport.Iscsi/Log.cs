// Licensed under the Apache License, Version 2.0.

using System.Net;
using Microsoft.Extensions.Logging;

namespace Scst.Transport.Iscsi;

/// <summary>Event ids of the iSCSI driver's log messages (range 2000-2999). Never reuse an id.</summary>
public static partial class IscsiEventIds
{
    /// <summary>Listening on a portal.</summary>
    public const int Listening = 2000;

    /// <summary>A login completed.</summary>
    public const int LoginCompleted = 2001;

    /// <summary>A login failed.</summary>
    public const int LoginFailed = 2002;

    /// <summary>A connection closed.</summary>
    public const int ConnectionClosed = 2003;

    /// <summary>The initiator broke the protocol; the PDU was rejected or the connection dropped.</summary>
    public const int ProtocolError = 2004;

    /// <summary>An unexpected failure on a connection.</summary>
    public const int ConnectionFault = 2005;

    /// <summary>An older session with the same initiator and ISID was reinstated.</summary>
    public const int SessionReinstated = 2006;

    /// <summary>The targets and portals were registered with the iSNS server.</summary>
    public const int IsnsRegistered = 2120;

    /// <summary>The entity was deregistered from the iSNS server.</summary>
    public const int IsnsDeregistered = 2121;

    /// <summary>An exchange with the iSNS server failed; it is retried.</summary>
    public const int IsnsFailed = 2122;

    /// <summary>The iSNS server sent a state change notification.</summary>
    public const int IsnsNotification = 2123;

    /// <summary>iSNS access control: an initiator that shares no discovery domain with a target was refused it.</summary>
    public const int IsnsAccessRefused = 2124;

    /// <summary>iSNS access control: the server said which initiators a target is visible to.</summary>
    public const int IsnsAccessUpdated = 2125;

    /// <summary>A connection negotiated a header or data digest (CRC32C).</summary>
    public const int DigestsNegotiated = 2020;

    /// <summary>A PDU's data failed its digest: it was rejected and its data discarded.</summary>
    public const int DataDigestError = 2021;

    /// <summary>The initiator did not answer a NOP-In ping in time; the connection was dropped.</summary>
    public const int KeepaliveTimedOut = 2022;

    /// <summary>An initiator that sees no LUN of a target was refused it (hidden from SendTargets, or its login failed).</summary>
    public const int InitiatorRefused = 2030;

    /// <summary>A portal stopped listening; its sessions are asked to log out.</summary>
    public const int PortalRemoved = 2042;

    /// <summary>A login was redirected to another portal.</summary>
    public const int LoginRedirected = 2043;

    /// <summary>ErrorRecoveryLevel 1 and up: write data stopped coming; a recovery R2T asks for it again.</summary>
    public const int DataOutTimeout = 2040;

    /// <summary>ErrorRecoveryLevel 2: a task was moved to another connection (TASK REASSIGN).</summary>
    public const int TaskReassigned = 2041;
}

internal static partial class Log
{
    [LoggerMessage(EventId = IscsiEventIds.Listening, Level = LogLevel.Information, Message = "iSCSI target listening on {EndPoint}")]
    public static partial void Listening(ILogger logger, EndPoint endPoint);

    [LoggerMessage(EventId = IscsiEventIds.LoginCompleted, Level = LogLevel.Information, Message = "Login of {Initiator} to {Target} ({SessionType}), TSIH {Tsih}, from {Remote} through portal {Portal} (group {PortalGroupTag})")]
    public static partial void LoginCompleted(ILogger logger, string initiator, string target, string sessionType, ushort tsih, EndPoint? remote, EndPoint? portal, ushort portalGroupTag);

    [LoggerMessage(EventId = IscsiEventIds.LoginFailed, Level = LogLevel.Warning, Message = "Login from {Remote} failed with status 0x{Status:X4}")]
    public static partial void LoginFailed(ILogger logger, EndPoint? remote, ushort status);

    [LoggerMessage(EventId = IscsiEventIds.ConnectionClosed, Level = LogLevel.Information, Message = "Connection from {Remote} closed")]
    public static partial void ConnectionClosed(ILogger logger, EndPoint? remote);

    [LoggerMessage(EventId = IscsiEventIds.ProtocolError, Level = LogLevel.Warning, Message = "Protocol error from {Remote}: {Reason}")]
    public static partial void ProtocolError(ILogger logger, EndPoint? remote, string reason);

    [LoggerMessage(EventId = IscsiEventIds.ConnectionFault, Level = LogLevel.Error, Message = "Connection from {Remote} failed")]
    public static partial void ConnectionFault(ILogger logger, EndPoint? remote, Exception exception);

    [LoggerMessage(EventId = IscsiEventIds.DigestsNegotiated, Level = LogLevel.Information, Message = "Connection from {Remote} uses HeaderDigest {HeaderDigest}, DataDigest {DataDigest}")]
    public static partial void DigestsNegotiated(ILogger logger, EndPoint? remote, Protocol.DigestKind headerDigest, Protocol.DigestKind dataDigest);

    [LoggerMessage(EventId = IscsiEventIds.DataDigestError, Level = LogLevel.Warning, Message = "Data digest error from {Remote} on {Opcode}, ITT 0x{InitiatorTaskTag:x8}: rejected, data discarded")]
    public static partial void DataDigestError(ILogger logger, EndPoint? remote, Protocol.IscsiOpcode opcode, uint initiatorTaskTag);

    [LoggerMessage(EventId = IscsiEventIds.KeepaliveTimedOut, Level = LogLevel.Warning, Message = "No answer from {Remote} to a NOP-In ping within {TimeoutSeconds} s: the connection is dropped")]
    public static partial void KeepaliveTimedOut(ILogger logger, EndPoint? remote, int timeoutSeconds);

    [LoggerMessage(EventId = IscsiEventIds.SessionReinstated, Level = LogLevel.Information, Message = "Session of {Initiator} with ISID {Isid:X12} reinstated; the old connection is closed")]
    public static partial void SessionReinstated(ILogger logger, string initiator, ulong isid);

    [LoggerMessage(EventId = IscsiEventIds.IsnsRegistered, Level = LogLevel.Information, Message = "Registered iSNS entity {Entity} with {Server}: {Registration}")]
    public static partial void IsnsRegistered(ILogger logger, string entity, string server, string registration);

    [LoggerMessage(EventId = IscsiEventIds.IsnsDeregistered, Level = LogLevel.Information, Message = "Deregistered iSNS entity {Entity} (error code {Error})")]
    public static partial void IsnsDeregistered(ILogger logger, string entity, uint error);

    [LoggerMessage(EventId = IscsiEventIds.IsnsFailed, Level = LogLevel.Warning, Message = "iSNS {What} with {Server} failed: {Reason}")]
    public static partial void IsnsFailed(ILogger logger, string server, string what, string reason);

    [LoggerMessage(EventId = IscsiEventIds.IsnsNotification, Level = LogLevel.Information, Message = "iSNS state change notification for {Destination}")]
    public static partial void IsnsNotification(ILogger logger, string destination);

    [LoggerMessage(EventId = IscsiEventIds.IsnsAccessRefused, Level = LogLevel.Information, Message = "Initiator {Initiator} shares no iSNS discovery domain with target {Target}; the target is hidden from it and its login refused")]
    public static partial void IsnsAccessRefused(ILogger logger, string initiator, string target);

    [LoggerMessage(EventId = IscsiEventIds.IsnsAccessUpdated, Level = LogLevel.Debug, Message = "iSNS: target {Target} is visible to {Count} initiators")]
    public static partial void IsnsAccessUpdated(ILogger logger, string target, int count);

    [LoggerMessage(EventId = IscsiEventIds.InitiatorRefused, Level = LogLevel.Information, Message = "Initiator {Initiator} has no LUN of target {Target} (portal {Portal}); the target is hidden from it and its login refused")]
    public static partial void InitiatorRefused(ILogger logger, string initiator, string target, IPAddress? portal);

    [LoggerMessage(EventId = IscsiEventIds.DataOutTimeout, Level = LogLevel.Warning, Message = "No Data-Out from {Remote} for task 0x{InitiatorTaskTag:x8}; asking again with a recovery R2T")]
    public static partial void DataOutTimeout(ILogger logger, EndPoint? remote, uint initiatorTaskTag);

    [LoggerMessage(EventId = IscsiEventIds.TaskReassigned, Level = LogLevel.Information, Message = "Task 0x{InitiatorTaskTag:x8} reassigned to the connection from {Remote}")]
    public static partial void TaskReassigned(ILogger logger, EndPoint? remote, uint initiatorTaskTag);

    [LoggerMessage(EventId = IscsiEventIds.PortalRemoved, Level = LogLevel.Information, Message = "iSCSI portal {EndPoint} removed; {Connections} connections asked to log out")]
    public static partial void PortalRemoved(ILogger logger, EndPoint endPoint, int connections);

    [LoggerMessage(EventId = IscsiEventIds.LoginRedirected, Level = LogLevel.Information, Message = "Login of {Initiator} to {Target} redirected to {Address} ({Kind})")]
    public static partial void LoginRedirected(ILogger logger, string initiator, string target, string address, string kind);
}
