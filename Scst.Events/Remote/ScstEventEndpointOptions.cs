// Licensed under the Apache License, Version 2.0.

namespace Scst.Events.Remote;

/// <summary>Options of <see cref="ScstEventEndpoint"/>, the out-of-process event endpoint.</summary>
public sealed class ScstEventEndpointOptions
{
    /// <summary>The default socket path, <c>/run/scst/events.sock</c>.</summary>
    public const string DefaultSocketPath = "/run/scst/events.sock";

    /// <summary>
    /// Gets or sets the path of the Unix stream socket. Its directory is created when missing; a stale socket left by
    /// a previous run is replaced, while a path that is not a socket, or a socket another process listens on, makes
    /// the start fail. At most 107 bytes (the kernel's <c>sun_path</c> limit). Defaults to
    /// <see cref="DefaultSocketPath"/>.
    /// </summary>
    public string SocketPath { get; set; } = DefaultSocketPath;

    /// <summary>
    /// Gets or sets a group (name from <c>/etc/group</c>, or a numeric gid) whose members may connect too. Without it
    /// (the default) the socket file has mode 0600 and only peers running as this process's effective uid or as root
    /// are accepted. With it the socket file belongs to that group with mode 0660, and peers whose effective gid
    /// (as the kernel reports it through SO_PEERCRED; supplementary groups do not count) is that group are accepted
    /// as well.
    /// </summary>
    public string? Group { get; set; }

    /// <summary>
    /// Gets or sets the capacity of each connection's subscription queue; events beyond it are dropped for that
    /// connection and reported to it with a DROPPED message. Defaults to
    /// <see cref="ScstEventSubscription.DefaultCapacity"/> (2048, SCST's limit).
    /// </summary>
    public int QueueCapacity { get; set; } = ScstEventSubscription.DefaultCapacity;
}
