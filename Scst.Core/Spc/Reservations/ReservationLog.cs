// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Logging;

namespace Scst.Core.Spc.Reservations;

/// <summary>Log messages of the reservation code. Event ids 1400-1419 of the core's range are reserved for it.</summary>
internal static partial class ReservationLog
{
    public const int StateFileRefusedId = 1400;
    public const int StateRestoredId = 1401;
    public const int StateFileWriteFailedId = 1402;

    [LoggerMessage(EventId = StateFileRefusedId, Level = LogLevel.Error, Message = "Persistent reservation state of device {Device} in {Path} is refused ({Reason}); the device starts with no registrations")]
    public static partial void StateFileRefused(ILogger logger, string device, string path, string reason);

    [LoggerMessage(EventId = StateRestoredId, Level = LogLevel.Information, Message = "Restored persistent reservation state of device {Device}: {Registrations} registrations, reserved: {Reserved}")]
    public static partial void StateRestored(ILogger logger, string device, int registrations, bool reserved);

    [LoggerMessage(EventId = StateFileWriteFailedId, Level = LogLevel.Error, Message = "Could not save the persistent reservation state of device {Device} to {Path}; the PERSISTENT RESERVE OUT command fails")]
    public static partial void StateFileWriteFailed(ILogger logger, string device, string path, Exception exception);
}
