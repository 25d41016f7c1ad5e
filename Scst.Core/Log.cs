// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Logging;

namespace Scst.Core;

/// <summary>Event ids of Scst.Core's log messages (range 1000-1999). Never reuse an id.</summary>
public static class ScstCoreEventIds
{
    /// <summary>A device handler threw; the command got HARDWARE ERROR.</summary>
    public const int HandlerFault = 1000;

    /// <summary>A device was registered.</summary>
    public const int DeviceRegistered = 1001;

    /// <summary>A target was added.</summary>
    public const int TargetAdded = 1002;

    /// <summary>A LUN was mapped.</summary>
    public const int LunMapped = 1003;

    /// <summary>A device was removed.</summary>
    public const int DeviceRemoved = 1004;

    /// <summary>A device's nexus or task management callback threw; the core went on.</summary>
    public const int DeviceCallbackFault = 1005;

    /// <summary>A LUN was removed because its device is being unregistered.</summary>
    public const int LunUnmapped = 1006;

    /// <summary>A target was removed.</summary>
    public const int TargetRemoved = 1007;

    /// <summary>SIGHUP: the scst.conf file was read again and applied.</summary>
    public const int ConfigurationReloaded = 1008;

    /// <summary>SIGHUP: the scst.conf file could not be read or applied; what runs stays as it was.</summary>
    public const int ConfigurationReloadFailed = 1009;

    /// <summary>A configuration was applied: what changed.</summary>
    public const int ConfigurationApplied = 1304;

    /// <summary>A security group was created.</summary>
    public const int GroupCreated = 1100;

    /// <summary>A security group was removed.</summary>
    public const int GroupRemoved = 1101;

    /// <summary>A change of the security groups' initiators moved an open session to another group's LUNs.</summary>
    public const int SessionRegrouped = 1102;

    /// <summary>A SET TARGET PORT GROUPS was carried out by the agent.</summary>
    public const int StpgCompleted = 1200;

    /// <summary>A SET TARGET PORT GROUPS failed: the agent reported an error, did not answer, or left a group in another state.</summary>
    public const int StpgFailed = 1201;

    /// <summary>A device's handler failed to follow an ALUA state change of its local target group (bind_alua_state).</summary>
    public const int AluaStateBindFailed = 1202;

    /// <summary>The management endpoint listens.</summary>
    public const int ManagementListening = 1300;

    /// <summary>A management connection was refused: the peer is neither the target's user nor root.</summary>
    public const int ManagementPeerRefused = 1301;

    /// <summary>A management command was performed (or failed).</summary>
    public const int ManagementCommand = 1302;

    /// <summary>A management connection ended on an error.</summary>
    public const int ManagementConnectionEnded = 1303;
}

internal static partial class Log
{
    [LoggerMessage(EventId = ScstCoreEventIds.HandlerFault, Level = LogLevel.Error, Message = "Device {Device} failed executing opcode {Opcode:X2}; the command ends with HARDWARE ERROR")]
    public static partial void HandlerFault(ILogger logger, string device, byte opcode, Exception exception);

    [LoggerMessage(EventId = ScstCoreEventIds.DeviceRegistered, Level = LogLevel.Information, Message = "Registered device {Device} ({Handler}, {Blocks} blocks of {BlockSize} bytes)")]
    public static partial void DeviceRegistered(ILogger logger, string device, string handler, long blocks, int blockSize);

    [LoggerMessage(EventId = ScstCoreEventIds.TargetAdded, Level = LogLevel.Information, Message = "Added target {Target} on driver {Driver}")]
    public static partial void TargetAdded(ILogger logger, string target, string driver);

    [LoggerMessage(EventId = ScstCoreEventIds.LunMapped, Level = LogLevel.Information, Message = "Target {Target} LUN {Lun} maps device {Device}")]
    public static partial void LunMapped(ILogger logger, string target, int lun, string device);

    [LoggerMessage(EventId = ScstCoreEventIds.DeviceRemoved, Level = LogLevel.Information, Message = "Removed device {Device}")]
    public static partial void DeviceRemoved(ILogger logger, string device);

    [LoggerMessage(EventId = ScstCoreEventIds.DeviceCallbackFault, Level = LogLevel.Error, Message = "Device {Device} failed in {Callback}; ignored")]
    public static partial void DeviceCallbackFault(ILogger logger, string device, string callback, Exception exception);

    [LoggerMessage(EventId = ScstCoreEventIds.LunUnmapped, Level = LogLevel.Information, Message = "Target {Target} LUN {Lun} removed: device {Device} is being unregistered")]
    public static partial void LunUnmapped(ILogger logger, string target, int lun, string device);

    [LoggerMessage(EventId = ScstCoreEventIds.TargetRemoved, Level = LogLevel.Information, Message = "Removed target {Target} of driver {Driver}")]
    public static partial void TargetRemoved(ILogger logger, string target, string driver);

    [LoggerMessage(EventId = ScstCoreEventIds.ConfigurationReloaded, Level = LogLevel.Information, Message = "SIGHUP: {Path} applied again")]
    public static partial void ConfigurationReloaded(ILogger logger, string path);

    [LoggerMessage(EventId = ScstCoreEventIds.ConfigurationReloadFailed, Level = LogLevel.Error, Message = "SIGHUP: {Path} not applied: {Reason}")]
    public static partial void ConfigurationReloadFailed(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = ScstCoreEventIds.ConfigurationApplied, Level = LogLevel.Information, Message = "Configuration applied: {Changes} change(s) made, {Failures} failed")]
    public static partial void ConfigurationApplied(ILogger logger, int changes, int failures);

    [LoggerMessage(EventId = ScstCoreEventIds.GroupCreated, Level = LogLevel.Information, Message = "Target {Target}: security group {Group} created")]
    public static partial void GroupCreated(ILogger logger, string target, string group);

    [LoggerMessage(EventId = ScstCoreEventIds.GroupRemoved, Level = LogLevel.Information, Message = "Target {Target}: security group {Group} removed")]
    public static partial void GroupRemoved(ILogger logger, string target, string group);

    [LoggerMessage(EventId = ScstCoreEventIds.SessionRegrouped, Level = LogLevel.Information, Message = "Session of {Initiator} on target {Target} moved from group '{From}' to group '{To}' ('' is the default LUNs)")]
    public static partial void SessionRegrouped(ILogger logger, string initiator, string target, string from, string to);

    [LoggerMessage(EventId = ScstCoreEventIds.StpgCompleted, Level = LogLevel.Information, Message = "SET TARGET PORT GROUPS for device {Device} (device group {DeviceGroup}): {Groups} target group(s) changed state in {Milliseconds} ms")]
    public static partial void StpgCompleted(ILogger logger, string device, string deviceGroup, int groups, long milliseconds);

    [LoggerMessage(EventId = ScstCoreEventIds.StpgFailed, Level = LogLevel.Warning, Message = "SET TARGET PORT GROUPS for device {Device} (device group {DeviceGroup}) failed after {Milliseconds} ms: agent status {Status}, groups not in their requested state: '{Missed}'")]
    public static partial void StpgFailed(ILogger logger, string device, string deviceGroup, int status, string missed, long milliseconds);

    [LoggerMessage(EventId = ScstCoreEventIds.AluaStateBindFailed, Level = LogLevel.Warning, Message = "Device {Device} could not follow its target group {TargetGroup} into state {State}")]
    public static partial void AluaStateBindFailed(ILogger logger, Exception exception, string device, string targetGroup, string state);
}
