// Licensed under the Apache License, Version 2.0.

using System.Net;
using Scst.Core;

namespace Scst.Transport.Iscsi;

/// <summary>
/// Where and to whom one iSCSI target is reachable, beyond its security groups: SCST's iSCSI target attributes
/// <c>allowed_portal</c> and <c>per_portal_acl</c>. Kept per target name in <see cref="IscsiTargetOptions.TargetAccess"/>.
/// </summary>
/// <remarks>
/// Thread-safe: each setting is swapped as a whole, and a change applies to the next discovery request and the next
/// login (sessions already open stay).
/// </remarks>
public sealed class IscsiTargetAccess
{
    private string[] _allowedPortals = [];
    private volatile bool _perPortalAcl;

    /// <summary>
    /// Patterns of the local portal addresses (IP address only, no port; IPv6 without brackets) through which the
    /// target may be discovered and logged in to (SCST's <c>allowed_portal</c>, see <see cref="NamePattern"/>). Empty,
    /// the default, allows every portal. A portal is allowed when any pattern matches it, so <c>10.0.0.*</c> allows
    /// that subnet alone and <c>!10.0.0.*</c> every address but that subnet; <c>!*</c> hides the target everywhere.
    /// </summary>
    /// <exception cref="ArgumentException">A pattern is empty or holds white space.</exception>
    public IReadOnlyList<string> AllowedPortals
    {
        get => Volatile.Read(ref _allowedPortals);
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            string[] copy = [.. value];
            foreach (string pattern in copy)
            {
                if (string.IsNullOrEmpty(pattern) || pattern.AsSpan().IndexOfAny(" \t\r\n") >= 0)
                {
                    throw new ArgumentException($"Portal pattern '{pattern}' is empty or holds white space.", nameof(value));
                }
            }

            Volatile.Write(ref _allowedPortals, copy);
        }
    }

    /// <summary>
    /// SCST's <c>per_portal_acl</c>: when true, the name matched against the target's security groups (and given to
    /// the session) is <c>initiator-name#portal-address</c>, so a group pattern such as
    /// <c>iqn.1993-08.org.debian:01:host1#10.0.0.1</c> or <c>*#10.0.1.*</c> can admit or refuse an initiator per portal.
    /// Defaults to false.
    /// </summary>
    public bool PerPortalAcl
    {
        get => _perPortalAcl;
        set => _perPortalAcl = value;
    }

    /// <summary>Whether the target may be reached through a local portal address.</summary>
    /// <param name="portal">The local address a connection came in on.</param>
    /// <returns>True when no pattern is set or one matches.</returns>
    public bool IsPortalAllowed(IPAddress portal)
    {
        ArgumentNullException.ThrowIfNull(portal);
        string[] patterns = Volatile.Read(ref _allowedPortals);
        if (patterns.Length == 0)
        {
            return true;
        }

        string address = FormatPortal(portal);
        foreach (string pattern in patterns)
        {
            if (NamePattern.IsMatch(pattern, address))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The name the target's security groups match for an initiator that came in through a portal.</summary>
    /// <param name="initiatorName">The initiator name of the login.</param>
    /// <param name="portal">The local address of the connection.</param>
    /// <returns>The initiator name, or with <see cref="PerPortalAcl"/> <c>initiator-name#portal-address</c>.</returns>
    public string AccessName(string initiatorName, IPAddress portal)
    {
        ArgumentNullException.ThrowIfNull(initiatorName);
        ArgumentNullException.ThrowIfNull(portal);
        return _perPortalAcl ? $"{initiatorName}#{FormatPortal(portal)}" : initiatorName;
    }

    /// <summary>A portal address as the patterns see it: IPv4 dotted (also for an IPv4-mapped IPv6 address), IPv6 without brackets or scope.</summary>
    /// <param name="portal">The address.</param>
    /// <returns>The text.</returns>
    public static string FormatPortal(IPAddress portal)
    {
        ArgumentNullException.ThrowIfNull(portal);
        if (portal.IsIPv4MappedToIPv6)
        {
            return portal.MapToIPv4().ToString();
        }

        if (portal.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && portal.ScopeId != 0)
        {
            portal = new IPAddress(portal.GetAddressBytes());
        }

        return portal.ToString();
    }
}
