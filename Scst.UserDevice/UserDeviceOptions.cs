// Licensed under the Apache License, Version 2.0.

namespace Scst.UserDevice;

/// <summary>Options of the user-device server (the target side of Scst.UserDevice).</summary>
public sealed class UserDeviceOptions
{
    /// <summary>The Unix socket device processes connect to. Its directory is created; a stale socket file is removed. Defaults to <c>/run/scst/user.sock</c>.</summary>
    public string SocketPath { get; set; } = "/run/scst/user.sock";

    /// <summary>
    /// A group (name or gid) whose processes may connect too: the socket gets that group and mode 0660. Null (the
    /// default): mode 0600, and only processes of this user and root may connect.
    /// </summary>
    public string? Group { get; set; }

    /// <summary>The shared region of a device that asks for none. Defaults to 64 MiB.</summary>
    public long DefaultRegionSize { get; set; } = 64L << 20;

    /// <summary>The largest shared region a device may ask for. Defaults to 1 GiB.</summary>
    public long MaxRegionSize { get; set; } = 1L << 30;

    /// <summary>How long the target waits for the answer to TASK_MGMT_DONE before it completes the function anyway. Defaults to 5 s.</summary>
    public TimeSpan TaskManagementTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
