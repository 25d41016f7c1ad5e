// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using Scst.Core;
using Scst.Core.Management;
using Scst.Transport.Iscsi.Security;

namespace Scst.Transport.Iscsi;

/// <summary>
/// The iSCSI driver's management attributes, as SCST's iSCSI driver names them: the driver's discovery
/// <c>IncomingUser</c> / <c>OutgoingUser</c>, <c>iSNSServer</c>, <c>iSNSAccessControl</c>, <c>isns_entity_name</c> and
/// <c>link_local</c>, and per target <c>IncomingUser</c>, <c>OutgoingUser</c>, <c>allowed_portal</c>,
/// <c>per_portal_acl</c>, <c>alias</c>, <c>redirect</c>, the limits and timers, the session keys the target offers and
/// the read-only <c>tid</c>. Each reads and writes <see cref="IscsiTargetOptions"/>; a change applies to the next login.
/// </summary>
internal static class IscsiManagementAttributes
{
    /// <summary>The word of SCST's <c>iSNSServer</c> value that turns iSNS access control on.</summary>
    public const string AccessControlWord = "AccessControl";

    public static IReadOnlyList<ManagementAttribute> ForDriver(IscsiTargetDriver driver)
    {
        IscsiTargetOptions options = driver.Options;
        return
        [
            IncomingUsers(options.Chap.Discovery),
            OutgoingUser(options.Chap.Discovery),
            new ManagementAttribute
            {
                Name = "iSNSServer",
                DefaultValue = string.Empty,
                Read = () => string.IsNullOrEmpty(options.IsnsServer)
                    ? string.Empty
                    : options.IsnsAccessControl ? $"{options.IsnsServer} {AccessControlWord}" : options.IsnsServer,
                Write = text =>
                {
                    (string? server, bool accessControl) = ParseIsnsServer(text);
                    driver.ConfigureIsns(server, accessControl);
                },
            },
            // The AccessControl flag of iSNSServer as a 0/1 file of its own (the key's name in iscsi-scstd.conf). A saved
            // configuration carries it in iSNSServer, as SCST's does: its default is its current value, so it is never a
            // key attribute, never written to scst.conf, and never reset when a configuration leaves it out.
            ManagementAttribute.Boolean("iSNSAccessControl", () => options.IsnsAccessControl, v => driver.ConfigureIsns(options.IsnsServer, v), defaultValue: options.IsnsAccessControl),
            new ManagementAttribute
            {
                Name = "isns_entity_name",
                DefaultValue = string.Empty,
                Read = () => options.IsnsEntityName ?? string.Empty,
                Write = text => options.IsnsEntityName = text.Trim() is { Length: > 0 } name
                    ? name.Contains(' ', StringComparison.Ordinal) ? throw new ArgumentException($"isns_entity_name: '{name}' is not an iSCSI name") : name
                    : null,
            },
            ManagementAttribute.Boolean("link_local", () => options.LinkLocal, v => options.LinkLocal = v, defaultValue: true),
        ];
    }

    /// <summary>
    /// Parses SCST's <c>iSNSServer</c> value: <c>host[:port] [AccessControl]</c> (IPv6 in brackets when a port follows),
    /// or nothing for no server.
    /// </summary>
    /// <exception cref="ArgumentException">Anything else.</exception>
    public static (string? Server, bool AccessControl) ParseIsnsServer(string text)
    {
        string[] words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        switch (words)
        {
            case []:
                return (null, false);
            case [string server]:
                return (CheckServer(server), false);
            case [string server, string flag] when string.Equals(flag, AccessControlWord, StringComparison.OrdinalIgnoreCase):
                return (CheckServer(server), true);
            default:
                throw new ArgumentException($"iSNSServer takes 'host[:port] [{AccessControlWord}]' (was '{text.Trim()}')");
        }

        static string CheckServer(string server)
        {
            (string host, int port) = Isns.IsnsClient.SplitServer(server);
            return host.Length > 0 && port is > 0 and <= ushort.MaxValue && !host.Contains('/', StringComparison.Ordinal)
                ? server
                : throw new ArgumentException($"iSNSServer: '{server}' is not a host with an optional port");
        }
    }

    public static IReadOnlyList<ManagementAttribute> ForTarget(IscsiTargetDriver driver, ScsiTarget target)
    {
        IscsiTargetOptions options = driver.Options;
        string name = target.Name;
        IscsiTargetSettings? Own() => options.Targets.TryGetValue(name, out IscsiTargetSettings? s) ? s : null;
        IscsiTargetAccess Access() => options.TargetAccess.TryGetValue(name, out IscsiTargetAccess? a) ? a : options.TargetAccess[name] = new IscsiTargetAccess();

        // A setting of the target: shown as its effective value; the driver-wide value is its default.
        ManagementAttribute Setting(string attribute, ManagementAttributeType type, Func<IscsiTargetSettings, string?> get, string driverValue, Action<IscsiTargetSettings, string?> set) => new()
        {
            Name = attribute,
            Type = type,
            DefaultValue = driverValue,
            Read = () => Own() is { } s && get(s) is { } v ? v : driverValue,
            Write = text =>
            {
                IscsiTargetSettings settings = Own() ?? (IscsiTargetSettings)(options.Targets[name] = new IscsiTargetSettings());
                string? before = get(settings);
                set(settings, text);
                string? problem = settings.Problems(name).FirstOrDefault();
                if (problem is not null)
                {
                    set(settings, before);
                    throw new ArgumentException(problem);
                }
            },
        };

        ManagementAttribute Number(string attribute, Func<IscsiTargetSettings, int?> get, int driverValue, Action<IscsiTargetSettings, int?> set) =>
            Setting(attribute, ManagementAttributeType.Integer, s => get(s)?.ToString(CultureInfo.InvariantCulture), Format(driverValue),
                (s, text) => set(s, text is null ? null : ParseInt(attribute, text)));

        ManagementAttribute YesNo(string attribute, Func<IscsiTargetSettings, bool?> get, bool driverValue, Action<IscsiTargetSettings, bool?> set) =>
            Setting(attribute, ManagementAttributeType.Choice, s => get(s) is { } b ? (b ? "Yes" : "No") : null, driverValue ? "Yes" : "No",
                (s, text) => set(s, text is null ? null : text.Trim() switch
                {
                    "Yes" or "yes" or "1" => true,
                    "No" or "no" or "0" => false,
                    _ => throw new ArgumentException($"{attribute} must be Yes or No (was '{text.Trim()}')"),
                }));

        ChapCredentials Chap() => options.Chap.ForTarget(name);
        return
        [
            IncomingUsers(options.Chap.Targets.TryGetValue(name, out ChapCredentials? c) ? c : null, Chap),
            OutgoingUser(options.Chap.Targets.TryGetValue(name, out ChapCredentials? o) ? o : null, Chap),
            new ManagementAttribute
            {
                Name = "allowed_portal",
                ReadValues = () => options.TargetAccess.TryGetValue(name, out IscsiTargetAccess? a) ? a.AllowedPortals : [],
                AddValue = pattern => Access().AllowedPortals = [.. Access().AllowedPortals.Where(p => p != pattern.Trim()), pattern.Trim()],
                RemoveValue = pattern => Access().AllowedPortals = [.. Access().AllowedPortals.Where(p => p != pattern.Trim())],
            },
            ManagementAttribute.Boolean("per_portal_acl", () => options.TargetAccess.TryGetValue(name, out IscsiTargetAccess? a) && a.PerPortalAcl, v => Access().PerPortalAcl = v, defaultValue: false),
            Setting("alias", ManagementAttributeType.Text, s => s.Alias, string.Empty, (s, v) => s.Alias = string.IsNullOrEmpty(v) ? null : v),
            Setting("redirect", ManagementAttributeType.Text, s => s.Redirect, string.Empty, (s, v) => s.Redirect = string.IsNullOrEmpty(v) ? null : v),
            Number("QueuedCommands", s => s.QueuedCommands, options.CommandWindow, (s, v) => s.QueuedCommands = v),
            Number("MaxSessions", s => s.MaxSessions == 0 ? null : s.MaxSessions, 0, (s, v) => s.MaxSessions = v ?? 0),
            Number("NopInInterval", s => s.NopInInterval, options.NopInInterval, (s, v) => s.NopInInterval = v),
            Number("NopInTimeout", s => s.NopInTimeout, options.NopInTimeout, (s, v) => s.NopInTimeout = v),
            Number("RspTimeout", s => s.RspTimeout, options.RspTimeout, (s, v) => s.RspTimeout = v),
            YesNo("InitialR2T", s => s.InitialR2T, options.InitialR2T, (s, v) => s.InitialR2T = v),
            YesNo("ImmediateData", s => s.ImmediateData, options.ImmediateData, (s, v) => s.ImmediateData = v),
            Number("MaxRecvDataSegmentLength", s => s.MaxRecvDataSegmentLength, options.MaxRecvDataSegmentLength, (s, v) => s.MaxRecvDataSegmentLength = v),
            Number("MaxXmitDataSegmentLength", s => s.MaxXmitDataSegmentLength, 16_777_215, (s, v) => s.MaxXmitDataSegmentLength = v),
            Number("MaxBurstLength", s => s.MaxBurstLength, options.MaxBurstLength, (s, v) => s.MaxBurstLength = v),
            Number("FirstBurstLength", s => s.FirstBurstLength, options.FirstBurstLength, (s, v) => s.FirstBurstLength = v),
            Setting("HeaderDigest", ManagementAttributeType.Text, s => s.HeaderDigest, options.HeaderDigest, (s, v) => s.HeaderDigest = v?.Trim()),
            Setting("DataDigest", ManagementAttributeType.Text, s => s.DataDigest, options.DataDigest, (s, v) => s.DataDigest = v?.Trim()),
            Number("MaxConnections", s => s.MaxConnections, options.MaxConnections, (s, v) => s.MaxConnections = v),
            Number("ErrorRecoveryLevel", s => s.ErrorRecoveryLevel, options.ErrorRecoveryLevel, (s, v) => s.ErrorRecoveryLevel = v),
            ManagementAttribute.ReadOnly("tid", () => driver.TidOf(target).ToString(CultureInfo.InvariantCulture), ManagementAttributeType.Integer),
        ];
    }

    // IncomingUser: "name secret" per value; removing takes the name (a secret after it is ignored).
    private static ManagementAttribute IncomingUsers(ChapCredentials? credentials, Func<ChapCredentials>? create = null) => new()
    {
        Name = "IncomingUser",
        IsSecret = true,
        ReadValues = () => credentials is null ? [] : [.. credentials.IncomingUsers.Select(u => $"{u.Name} {u.Secret}")],
        AddValue = value =>
        {
            (string user, string secret) = SplitUser("IncomingUser", value);
            ChapCredentials target = credentials ?? create!();
            if (target.OutgoingUser?.Secret == secret)
            {
                throw new ArgumentException($"IncomingUser {user}: the secret is the OutgoingUser's; CHAP never uses one secret both ways");
            }

            target.SetIncomingUser(user, secret);
        },
        RemoveValue = value =>
        {
            string user = value.Trim().Split(' ', 2)[0];
            if (credentials is null || !credentials.RemoveIncomingUser(user))
            {
                throw new ArgumentException($"IncomingUser {user} does not exist");
            }
        },
    };

    // OutgoingUser: at most one "name secret"; adding another replaces it.
    private static ManagementAttribute OutgoingUser(ChapCredentials? credentials, Func<ChapCredentials>? create = null) => new()
    {
        Name = "OutgoingUser",
        IsSecret = true,
        ReadValues = () => credentials?.OutgoingUser is { } u ? [$"{u.Name} {u.Secret}"] : [],
        AddValue = value =>
        {
            (string user, string secret) = SplitUser("OutgoingUser", value);
            ChapCredentials target = credentials ?? create!();
            if (target.IncomingUsers.Any(u => u.Secret == secret))
            {
                throw new ArgumentException($"OutgoingUser {user}: the secret is an IncomingUser's; CHAP never uses one secret both ways");
            }

            target.SetOutgoingUser(user, secret);
        },
        RemoveValue = _ => credentials?.ClearOutgoingUser(),
    };

    private static (string User, string Secret) SplitUser(string attribute, string value)
    {
        string[] parts = value.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length != 2)
        {
            throw new ArgumentException($"{attribute} takes 'name secret'");
        }

        // The message names the user, never the secret.
        return ChapSecret.IsLongEnough(parts[1])
            ? (parts[0], parts[1])
            : throw new ArgumentException($"{attribute} {parts[0]}: the secret is shorter than {ChapSecret.MinimumLengthBytes} bytes");
    }

    private static string Format(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static int ParseInt(string attribute, string text) =>
        int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : throw new ArgumentException($"{attribute}: '{text.Trim()}' is not a number");
}
