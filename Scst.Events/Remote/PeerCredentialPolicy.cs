// Licensed under the Apache License, Version 2.0.

using System.Globalization;

namespace Scst.Events.Remote;

/// <summary>Who may talk to the endpoint, and how a group option turns into a gid.</summary>
internal static class PeerCredentialPolicy
{
    /// <summary>
    /// A peer is accepted when it runs as our uid or as root, or, when a group is configured, when its gid is that
    /// group.
    /// </summary>
    public static bool IsAllowed(uint peerUid, uint peerGid, uint ownUid, uint? allowedGid) =>
        peerUid == ownUid || peerUid == 0 || (allowedGid is { } gid && peerGid == gid);

    /// <summary>Resolves a group option: a numeric gid, or a name looked up in <paramref name="groupFile"/>.</summary>
    /// <exception cref="InvalidOperationException">The name is not in the group file.</exception>
    public static uint ResolveGroupId(string group, string groupFile = "/etc/group")
    {
        if (uint.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out var gid))
        {
            return gid;
        }

        // /etc/group lines: name:password:gid:members
        foreach (var line in File.ReadLines(groupFile))
        {
            var fields = line.Split(':');
            if (fields.Length >= 3
                && string.Equals(fields[0], group, StringComparison.Ordinal)
                && uint.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out gid))
            {
                return gid;
            }
        }

        throw new InvalidOperationException($"The group '{group}' of the event endpoint is not in {groupFile}.");
    }
}
