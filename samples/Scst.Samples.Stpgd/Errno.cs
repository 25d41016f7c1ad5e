// Licensed under the Apache License, Version 2.0.

namespace Scst.Samples.Stpgd;

/// <summary>
/// The negated Linux errno values the agent reports as an event's status when it could not carry the change out
/// itself (a helper's own exit code is reported as it is).
/// </summary>
internal static class Errno
{
    /// <summary>-EINTR: the agent was stopping and killed the helper.</summary>
    public const int Interrupted = -4;

    /// <summary>-EIO: the management endpoint dropped the connection, or something unexpected failed.</summary>
    public const int IoError = -5;

    /// <summary>-EACCES: the management endpoint refused this user.</summary>
    public const int AccessDenied = -13;

    /// <summary>-EINVAL: the event's payload or a name in it cannot be used.</summary>
    public const int InvalidArgument = -22;

    /// <summary>-ETIMEDOUT: a helper, or the writes of one event, took longer than the timeout.</summary>
    public const int TimedOut = -110;

    /// <summary>-ECONNREFUSED: nothing listens on the management socket.</summary>
    public const int ConnectionRefused = -111;
}
