// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>
/// Status-Class (high byte) and Status-Detail (low byte) of a Login Response, RFC 7143 section 11.13.5.
/// </summary>
internal enum LoginStatus : ushort
{
    /// <summary>0x0000: login is proceeding OK.</summary>
    Success = 0x0000,

    /// <summary>0x0101: target moved temporarily (redirect).</summary>
    TargetMovedTemporarily = 0x0101,

    /// <summary>0x0102: target moved permanently (redirect).</summary>
    TargetMovedPermanently = 0x0102,

    /// <summary>0x0200: miscellaneous initiator error.</summary>
    InitiatorError = 0x0200,

    /// <summary>0x0201: authentication failure.</summary>
    AuthenticationFailure = 0x0201,

    /// <summary>0x0202: authorization failure.</summary>
    AuthorizationFailure = 0x0202,

    /// <summary>0x0203: target not found.</summary>
    NotFound = 0x0203,

    /// <summary>0x0204: target removed.</summary>
    TargetRemoved = 0x0204,

    /// <summary>0x0205: unsupported version.</summary>
    UnsupportedVersion = 0x0205,

    /// <summary>0x0206: too many connections.</summary>
    TooManyConnections = 0x0206,

    /// <summary>0x0207: missing parameter.</summary>
    MissingParameter = 0x0207,

    /// <summary>0x0208: can't include in session.</summary>
    CannotIncludeInSession = 0x0208,

    /// <summary>0x0209: session type not supported.</summary>
    SessionTypeNotSupported = 0x0209,

    /// <summary>0x020a: session does not exist.</summary>
    SessionDoesNotExist = 0x020a,

    /// <summary>0x020b: invalid request during login.</summary>
    InvalidDuringLogin = 0x020b,

    /// <summary>0x0300: target error.</summary>
    TargetError = 0x0300,

    /// <summary>0x0301: service unavailable.</summary>
    ServiceUnavailable = 0x0301,

    /// <summary>0x0302: out of resources.</summary>
    OutOfResources = 0x0302,
}
