// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Logging;

namespace Scst.Samples.Stpgd;

/// <summary>
/// The agent's log messages. Event ids 9000-9099 belong to this sample (the libraries' ranges end at 8999).
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 9000, Level = LogLevel.Information, Message = "scst-stpgd starting: events from {EventsSocket}; {Mode}")]
    public static partial void Starting(ILogger logger, string eventsSocket, string mode);

    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "Subscribed to STPG and task management events at {EventsSocket}")]
    public static partial void Subscribed(ILogger logger, string eventsSocket);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Warning, Message = "Cannot reach the event endpoint at {EventsSocket} ({Reason}); retrying")]
    public static partial void ConnectFailed(ILogger logger, string eventsSocket, string reason);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Debug, Message = "Still cannot reach the event endpoint at {EventsSocket} ({Reason}); next try in {Milliseconds} ms")]
    public static partial void ConnectRetry(ILogger logger, string eventsSocket, string reason, long milliseconds);

    [LoggerMessage(EventId = 9004, Level = LogLevel.Warning, Message = "The event endpoint at {EventsSocket} closed the connection; reconnecting")]
    public static partial void ConnectionLost(ILogger logger, string eventsSocket);

    [LoggerMessage(EventId = 9005, Level = LogLevel.Warning, Message = "The event endpoint at {EventsSocket} broke the protocol ({Reason}); reconnecting")]
    public static partial void ProtocolBroken(ILogger logger, string eventsSocket, string reason);

    [LoggerMessage(EventId = 9006, Level = LogLevel.Warning, Message = "{Count} event(s) were lost before this agent could read them (the target reports such an STPG as failed)")]
    public static partial void EventsDropped(ILogger logger, long count);

    [LoggerMessage(EventId = 9010, Level = LogLevel.Debug, Message = "STPG event {EventId}: tag {Tag}, device {Device}: {Groups}")]
    public static partial void StpgReceived(ILogger logger, uint eventId, ulong tag, string device, string groups);

    [LoggerMessage(EventId = 9011, Level = LogLevel.Information, Message = "STPG event {EventId} (tag {Tag}, device {Device}) done in {Milliseconds} ms: {Groups}")]
    public static partial void StpgDone(ILogger logger, uint eventId, ulong tag, string device, long milliseconds, string groups);

    [LoggerMessage(EventId = 9012, Level = LogLevel.Warning, Message = "STPG event {EventId} (tag {Tag}, device {Device}) failed with status {Status} after {Milliseconds} ms: {Groups}")]
    public static partial void StpgFailed(ILogger logger, uint eventId, ulong tag, string device, int status, long milliseconds, string groups);

    [LoggerMessage(EventId = 9013, Level = LogLevel.Warning, Message = "STPG event {EventId} has a malformed payload of {Length} bytes; answered {Status}")]
    public static partial void StpgMalformed(ILogger logger, uint eventId, int length, int status);

    [LoggerMessage(EventId = 9014, Level = LogLevel.Warning, Message = "The status {Status} of STPG event {EventId} did not reach the target: {Reason}")]
    public static partial void StatusNotDelivered(ILogger logger, uint eventId, int status, string reason);

    [LoggerMessage(EventId = 9015, Level = LogLevel.Warning, Message = "STPG event {EventId} carries no completion id; its changes are made but nobody waits for them")]
    public static partial void StpgWithoutCompletion(ILogger logger, uint eventId);

    [LoggerMessage(EventId = 9016, Level = LogLevel.Debug, Message = "Event {Code} from '{Issuer}' ignored")]
    public static partial void EventIgnored(ILogger logger, int code, string issuer);

    [LoggerMessage(EventId = 9020, Level = LogLevel.Information, Message = "Task management function {Function} received: LUN {Lun}, device '{Device}', initiator {Initiator}, target {Target}, session {Session}")]
    public static partial void TaskManagementReceived(ILogger logger, string function, ulong lun, string device, string initiator, string target, string session);

    [LoggerMessage(EventId = 9021, Level = LogLevel.Warning, Message = "A task management event with a malformed payload of {Length} bytes")]
    public static partial void TaskManagementMalformed(ILogger logger, int length);

    [LoggerMessage(EventId = 9030, Level = LogLevel.Debug, Message = "Helper {Pid} started for {DeviceGroup}/{TargetGroup}: {PreviousState} -> {NewState}")]
    public static partial void HelperStarted(ILogger logger, int pid, string deviceGroup, string targetGroup, string previousState, string newState);

    [LoggerMessage(EventId = 9031, Level = LogLevel.Debug, Message = "Helper {Pid} for {DeviceGroup}/{TargetGroup} exited with {ExitCode} after {Milliseconds} ms")]
    public static partial void HelperExited(ILogger logger, int pid, string deviceGroup, string targetGroup, int exitCode, long milliseconds);

    [LoggerMessage(EventId = 9032, Level = LogLevel.Warning, Message = "Helper {Pid} for {DeviceGroup}/{TargetGroup} failed with exit code {ExitCode} after {Milliseconds} ms")]
    public static partial void HelperFailed(ILogger logger, int pid, string deviceGroup, string targetGroup, int exitCode, long milliseconds);

    [LoggerMessage(EventId = 9033, Level = LogLevel.Warning, Message = "Helper {Pid} for {DeviceGroup}/{TargetGroup} still ran after {Seconds} s: killed with its children")]
    public static partial void HelperTimedOut(ILogger logger, int pid, string deviceGroup, string targetGroup, double seconds);

    [LoggerMessage(EventId = 9034, Level = LogLevel.Information, Message = "Helper {Pid} for {DeviceGroup}/{TargetGroup} killed: the agent is stopping")]
    public static partial void HelperInterrupted(ILogger logger, int pid, string deviceGroup, string targetGroup);

    [LoggerMessage(EventId = 9035, Level = LogLevel.Error, Message = "Cannot start the helper {Helper} for {DeviceGroup}/{TargetGroup}: {Reason}")]
    public static partial void HelperCannotStart(ILogger logger, string helper, string deviceGroup, string targetGroup, string reason);

    [LoggerMessage(EventId = 9036, Level = LogLevel.Information, Message = "Helper {Pid} ({DeviceGroup}/{TargetGroup}) {Stream}: {Line}")]
    public static partial void HelperOutput(ILogger logger, int pid, string deviceGroup, string targetGroup, string stream, string line);

    [LoggerMessage(EventId = 9040, Level = LogLevel.Debug, Message = "Wrote {State} to device_groups/{DeviceGroup}/target_groups/{TargetGroup}/state")]
    public static partial void StateWritten(ILogger logger, string deviceGroup, string targetGroup, string state);

    [LoggerMessage(EventId = 9041, Level = LogLevel.Warning, Message = "Cannot write {State} to device_groups/{DeviceGroup}/target_groups/{TargetGroup}/state: {Status} {Message}")]
    public static partial void StateWriteFailed(ILogger logger, string deviceGroup, string targetGroup, string state, int status, string message);

    [LoggerMessage(EventId = 9042, Level = LogLevel.Warning, Message = "The management endpoint at {ManagementSocket} failed: {Reason}")]
    public static partial void ManagementFailed(ILogger logger, string managementSocket, string reason);

    [LoggerMessage(EventId = 9043, Level = LogLevel.Warning, Message = "The state writes for device {Device} took longer than {Seconds} s; abandoned")]
    public static partial void ManagementTimedOut(ILogger logger, string device, double seconds);

    [LoggerMessage(EventId = 9050, Level = LogLevel.Error, Message = "Unexpected failure while handling STPG event {EventId}")]
    public static partial void UnexpectedFailure(ILogger logger, uint eventId, Exception exception);

    [LoggerMessage(EventId = 9098, Level = LogLevel.Information, Message = "Stopping; waiting for {Count} STPG event(s) in progress")]
    public static partial void Stopping(ILogger logger, int count);

    [LoggerMessage(EventId = 9099, Level = LogLevel.Information, Message = "scst-stpgd stopped")]
    public static partial void Stopped(ILogger logger);
}
