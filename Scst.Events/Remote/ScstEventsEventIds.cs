// Licensed under the Apache License, Version 2.0.

namespace Scst.Events.Remote;

/// <summary>Event ids of Scst.Events' log messages (range 8000-8999). Never reuse an id.</summary>
public static class ScstEventsEventIds
{
    /// <summary>The endpoint listens on its socket.</summary>
    public const int EndpointListening = 8000;

    /// <summary>The endpoint stopped and removed its socket.</summary>
    public const int EndpointStopped = 8001;

    /// <summary>A connecting peer's credentials were refused; the connection was closed.</summary>
    public const int PeerRefused = 8002;

    /// <summary>A client broke the protocol (bad length, unknown type, oversized prefix); its connection was closed.</summary>
    public const int MalformedMessage = 8003;

    /// <summary>A client asked for a protocol version the endpoint does not speak; its connection was closed.</summary>
    public const int VersionRefused = 8004;

    /// <summary>A client connected.</summary>
    public const int ClientConnected = 8005;

    /// <summary>A client's connection ended.</summary>
    public const int ClientDisconnected = 8006;

    /// <summary>A client's connection failed with an I/O error.</summary>
    public const int ConnectionFailed = 8007;

    /// <summary>Accepting connections failed.</summary>
    public const int AcceptFailed = 8008;
}
