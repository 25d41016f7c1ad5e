// Licensed under the Apache License, Version 2.0.

using System.Net;
using Microsoft.Extensions.Logging;

namespace Scst.Transport.Iscsi;

/// <summary>Event ids of authentication (2100-2119).</summary>
public static partial class IscsiEventIds
{
    /// <summary>A login failed authentication (CHAP, or AuthMethod when CHAP is required); the reason and user name are logged, never a secret or a CHAP value.</summary>
    public const int AuthenticationFailed = 2100;

    /// <summary>A login authenticated with CHAP.</summary>
    public const int Authenticated = 2101;

    /// <summary>The response to a failed login was held back because its source address failed authentication recently.</summary>
    public const int AuthenticationFailureDelayed = 2102;
}

internal static partial class Log
{
    [LoggerMessage(EventId = IscsiEventIds.AuthenticationFailed, Level = LogLevel.Warning,
        Message = "Authentication of {Initiator} from {Remote} failed (CHAP user {User}): {Reason}")]
    public static partial void AuthenticationFailed(ILogger logger, string? initiator, EndPoint? remote, string? user, string reason);

    [LoggerMessage(EventId = IscsiEventIds.Authenticated, Level = LogLevel.Information,
        Message = "{Initiator} from {Remote} authenticated as CHAP user {User} ({Algorithm}, mutual: {Mutual})")]
    public static partial void Authenticated(ILogger logger, string? initiator, EndPoint? remote, string? user, Security.ChapAlgorithm? algorithm, bool mutual);

    [LoggerMessage(EventId = IscsiEventIds.AuthenticationFailureDelayed, Level = LogLevel.Information,
        Message = "Login failure response to {Remote} held back {Delay} after repeated authentication failures from {Address}")]
    public static partial void AuthenticationFailureDelayed(ILogger logger, EndPoint? remote, TimeSpan delay, IPAddress address);
}
