// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Logging;

namespace Scst.UserDevice;

/// <summary>Event ids of Scst.UserDevice's log messages (range 7000-7999). Never reuse an id.</summary>
public static class UserDeviceEventIds
{
    /// <summary>The user-device server listens.</summary>
    public const int Listening = 7000;

    /// <summary>A connection was refused: its peer's credentials are not allowed.</summary>
    public const int PeerRefused = 7001;

    /// <summary>A device process registered a device.</summary>
    public const int Registered = 7002;

    /// <summary>A registration was refused.</summary>
    public const int RegistrationRefused = 7003;

    /// <summary>A device process sent malformed input; its connection was closed.</summary>
    public const int MalformedInput = 7004;

    /// <summary>A device's connection ended; the device was unregistered.</summary>
    public const int ConnectionLost = 7005;

    /// <summary>A device process did not answer TASK_MGMT_DONE in time; the function completed anyway.</summary>
    public const int TaskManagementTimeout = 7006;

    /// <summary>A device process refused an ATTACH_SESS.</summary>
    public const int AttachRefused = 7007;

    /// <summary>A device process reported a new capacity.</summary>
    public const int CapacityChanged = 7008;
}

internal static partial class Log
{
    [LoggerMessage(EventId = UserDeviceEventIds.Listening, Level = LogLevel.Information, Message = "User devices: listening on {Path} (mode {Mode})")]
    public static partial void Listening(ILogger logger, string path, string mode);

    [LoggerMessage(EventId = UserDeviceEventIds.PeerRefused, Level = LogLevel.Warning, Message = "User devices: refused a connection from pid {Pid} uid {Uid} gid {Gid}: not this user, root or the allowed group")]
    public static partial void PeerRefused(ILogger logger, int pid, uint uid, uint gid);

    [LoggerMessage(EventId = UserDeviceEventIds.Registered, Level = LogLevel.Information, Message = "User device {Device} registered by pid {Pid}: {Blocks} blocks of {BlockSize} bytes, region {RegionMb} MiB in {Slots} slots")]
    public static partial void Registered(ILogger logger, string device, int pid, long blocks, int blockSize, long regionMb, int slots);

    [LoggerMessage(EventId = UserDeviceEventIds.RegistrationRefused, Level = LogLevel.Warning, Message = "User device registration by pid {Pid} refused ({Errno}): {Reason}")]
    public static partial void RegistrationRefused(ILogger logger, int pid, int errno, string reason);

    [LoggerMessage(EventId = UserDeviceEventIds.MalformedInput, Level = LogLevel.Error, Message = "User device {Device} (pid {Pid}) sent malformed input, closing its connection: {Problem}")]
    public static partial void MalformedInput(ILogger logger, string device, int pid, string problem);

    [LoggerMessage(EventId = UserDeviceEventIds.ConnectionLost, Level = LogLevel.Warning, Message = "User device {Device} (pid {Pid}): {Reason}; {Pending} pending command(s) end with LOGICAL UNIT NOT SUPPORTED and the device is unregistered")]
    public static partial void ConnectionLost(ILogger logger, string device, int pid, string reason, int pending);

    [LoggerMessage(EventId = UserDeviceEventIds.TaskManagementTimeout, Level = LogLevel.Warning, Message = "User device {Device} did not answer TASK_MGMT_DONE for function {Function} within {Seconds} s; the function completes anyway")]
    public static partial void TaskManagementTimeout(ILogger logger, string device, string function, double seconds);

    [LoggerMessage(EventId = UserDeviceEventIds.AttachRefused, Level = LogLevel.Warning, Message = "User device {Device} answered ATTACH_SESS of session handle {Session} with {Result}")]
    public static partial void AttachRefused(ILogger logger, string device, ulong session, int result);

    [LoggerMessage(EventId = UserDeviceEventIds.CapacityChanged, Level = LogLevel.Information, Message = "User device {Device} now has {Blocks} blocks")]
    public static partial void CapacityChanged(ILogger logger, string device, long blocks);
}
