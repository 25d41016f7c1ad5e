// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Logging;

namespace Scst.Events.Remote;

internal static partial class Log
{
    [LoggerMessage(EventId = ScstEventsEventIds.EndpointListening, Level = LogLevel.Information, Message = "Event endpoint listening on {SocketPath} (mode {Mode}, extra group {Gid})")]
    public static partial void EndpointListening(ILogger logger, string socketPath, string mode, uint? gid);

    [LoggerMessage(EventId = ScstEventsEventIds.EndpointStopped, Level = LogLevel.Information, Message = "Event endpoint on {SocketPath} stopped")]
    public static partial void EndpointStopped(ILogger logger, string socketPath);

    [LoggerMessage(EventId = ScstEventsEventIds.PeerRefused, Level = LogLevel.Warning, Message = "Event endpoint refused a peer with uid {Uid} and gid {Gid}: only uid {OwnUid}, uid 0{GroupClause} may connect")]
    public static partial void PeerRefused(ILogger logger, uint uid, uint gid, uint ownUid, string groupClause);

    [LoggerMessage(EventId = ScstEventsEventIds.MalformedMessage, Level = LogLevel.Warning, Message = "Event client {ConnectionId} (uid {Uid}) sent a malformed message: {Reason}; closing its connection")]
    public static partial void MalformedMessage(ILogger logger, long connectionId, uint uid, string reason);

    [LoggerMessage(EventId = ScstEventsEventIds.VersionRefused, Level = LogLevel.Warning, Message = "Event client {ConnectionId} (uid {Uid}) speaks protocol version {Version}; this endpoint speaks {Supported}; closing its connection")]
    public static partial void VersionRefused(ILogger logger, long connectionId, uint uid, uint version, uint supported);

    [LoggerMessage(EventId = ScstEventsEventIds.ClientConnected, Level = LogLevel.Debug, Message = "Event client {ConnectionId} connected (uid {Uid}, gid {Gid})")]
    public static partial void ClientConnected(ILogger logger, long connectionId, uint uid, uint gid);

    [LoggerMessage(EventId = ScstEventsEventIds.ClientDisconnected, Level = LogLevel.Debug, Message = "Event client {ConnectionId} disconnected")]
    public static partial void ClientDisconnected(ILogger logger, long connectionId);

    [LoggerMessage(EventId = ScstEventsEventIds.ConnectionFailed, Level = LogLevel.Debug, Message = "Event client {ConnectionId}'s connection failed")]
    public static partial void ConnectionFailed(ILogger logger, long connectionId, Exception exception);

    [LoggerMessage(EventId = ScstEventsEventIds.AcceptFailed, Level = LogLevel.Error, Message = "Event endpoint on {SocketPath} failed to accept a connection")]
    public static partial void AcceptFailed(ILogger logger, string socketPath, Exception exception);
}
