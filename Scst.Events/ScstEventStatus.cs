// Licensed under the Apache License, Version 2.0.

namespace Scst.Events;

/// <summary>
/// Completion statuses, with SCST's values: 0 is success, negative values are Linux errno values negated, as SCST's
/// completion callbacks receive them. A subscriber reports its own status through
/// <see cref="ScstEventSubscription.NotifyDone"/> (any <see cref="int"/>; for <see cref="ScstEventCode.StpgUserInvoke"/>
/// 0 lets the STPG succeed and anything else fails it); the bus reports the others.
/// </summary>
public static class ScstEventStatus
{
    /// <summary>The subscriber handled the event (0).</summary>
    public const int Success = 0;

    /// <summary>No subscription matched the event (-ENOENT, -2); reported at once.</summary>
    public const int NoSubscriber = -2;

    /// <summary>
    /// The subscription that held the event was disposed before it reported a status (-EFAULT, -14): SCST's answer
    /// when the subscriber closes its file descriptor with events pending.
    /// </summary>
    public const int SubscriberGone = -14;

    /// <summary>A filter or request was already present (-EEXIST, -17); used by the out-of-process protocol.</summary>
    public const int AlreadyExists = -17;

    /// <summary>A request was invalid (-EINVAL, -22); used by the out-of-process protocol.</summary>
    public const int InvalidArgument = -22;

    /// <summary>The chosen subscription's queue was full (-EMFILE, -24); the event was not delivered.</summary>
    public const int QueueFull = -24;

    /// <summary>No status arrived within the timeout (-ETIMEDOUT, -110).</summary>
    public const int TimedOut = -110;
}
