// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Net.Sockets;
using Scst.Events.Remote.Interop;

namespace Scst.Events.Remote;

/// <summary>
/// The local endpoints of the suite (events, management, devices of other processes) listen on Unix stream sockets
/// that only this process's user and root may use, and optionally one group: the socket file gets mode 0600 (0660 and
/// that group with one), and every peer's credentials, as the kernel recorded them when it connected (SO_PEERCRED), are
/// checked again. This class is that policy, in one place. Linux only.
/// </summary>
public static class UnixEndpointSocket
{
    /// <summary>
    /// Creates a listening socket at <paramref name="path"/>: creates its directory, removes a stale socket file left
    /// by a process that did not stop cleanly, binds, sets the mode (and group), listens.
    /// </summary>
    /// <param name="path">The socket file.</param>
    /// <param name="groupId">A group that may connect too (mode 0660), or <see langword="null"/> for owner only (0600).</param>
    /// <param name="backlog">The listen backlog.</param>
    /// <param name="what">What listens, for error messages ("the event endpoint").</param>
    /// <returns>The listening socket.</returns>
    /// <exception cref="PlatformNotSupportedException">Not Linux.</exception>
    /// <exception cref="IOException">The path exists and is not a socket, another process listens on it, or the group
    /// cannot be set.</exception>
    public static Socket Listen(string path, uint? groupId, int backlog, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException($"{what} needs Linux (SO_PEERCRED).");
        }

        path = Path.GetFullPath(path);
        string? directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        switch (UnixSocketInterop.IsSocket(path))
        {
            case false:
                throw new IOException($"The path {path} of {what} exists and is not a socket.");
            case true when IsListenedOn(path):
                throw new IOException($"Another process listens on the socket {path} of {what}.");
            case true:
                File.Delete(path); // stale: left by a process that did not stop cleanly
                break;
        }

        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));

            // The mode is set right after bind; a peer that slips in before it still meets the SO_PEERCRED check.
            if (groupId is { } gid)
            {
                int error = UnixSocketInterop.ChangeGroup(path, gid);
                if (error != 0)
                {
                    throw new IOException($"Setting group {gid} on {path} failed with errno {error}.");
                }

                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
            }
            else
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            listener.Listen(backlog);
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>Reads the credentials of the process at the other end of a connected Unix socket (SO_PEERCRED).</summary>
    /// <param name="socket">A connected Unix socket.</param>
    /// <param name="pid">The peer's process id.</param>
    /// <param name="uid">The peer's user id.</param>
    /// <param name="gid">The peer's group id.</param>
    /// <returns><see langword="false"/> when the kernel does not tell (the socket is closed, or not a Unix socket).</returns>
    public static bool TryGetPeerCredentials(Socket socket, out int pid, out uint uid, out uint gid)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return UnixSocketInterop.GetPeerCredentials(socket, out pid, out uid, out gid) == 0;
    }

    /// <summary>This process's effective user id.</summary>
    public static uint EffectiveUserId => UnixSocketInterop.GetEffectiveUserId();

    /// <summary>
    /// Whether a peer may use an endpoint: it runs as <paramref name="ownUid"/> or as root, or, when a group is
    /// configured, its gid is that group.
    /// </summary>
    /// <param name="peerUid">The peer's user id.</param>
    /// <param name="peerGid">The peer's group id.</param>
    /// <param name="ownUid">The endpoint's user id (<see cref="EffectiveUserId"/>).</param>
    /// <param name="allowedGid">The configured group, or <see langword="null"/>.</param>
    /// <returns>True when allowed.</returns>
    public static bool IsAllowed(uint peerUid, uint peerGid, uint ownUid, uint? allowedGid) =>
        peerUid == ownUid || peerUid == 0 || (allowedGid is { } gid && peerGid == gid);

    /// <summary>Resolves a group option: a numeric gid, or a name looked up in <paramref name="groupFile"/>.</summary>
    /// <param name="group">A gid or a group name.</param>
    /// <param name="groupFile">The group database (default /etc/group).</param>
    /// <returns>The gid.</returns>
    /// <exception cref="InvalidOperationException">The name is not in the group file.</exception>
    public static uint ResolveGroupId(string group, string groupFile = "/etc/group")
    {
        ArgumentException.ThrowIfNullOrEmpty(group);
        if (uint.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out uint gid))
        {
            return gid;
        }

        // /etc/group lines: name:password:gid:members
        foreach (string line in File.ReadLines(groupFile))
        {
            string[] fields = line.Split(':');
            if (fields.Length >= 3
                && string.Equals(fields[0], group, StringComparison.Ordinal)
                && uint.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out gid))
            {
                return gid;
            }
        }

        throw new InvalidOperationException($"The group '{group}' is not in {groupFile}.");
    }

    private static bool IsListenedOn(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
