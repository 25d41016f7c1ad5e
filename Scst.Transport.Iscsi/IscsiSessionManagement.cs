// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using Scst.Core.Management;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Transport.Iscsi;

/// <summary>
/// What an iSCSI session shows in the management tree besides the core's files, as SCST's iSCSI sessions show it
/// (<c>targets/iscsi/&lt;target&gt;/sessions/&lt;initiator&gt;/</c>): the keys its leading login negotiated, <c>sid</c>,
/// <c>reinstating</c>, and one directory per connection, named after the initiator's address (<c>_1</c>, <c>_2</c>...
/// after a repeated one), with <c>cid</c>, <c>ip</c>, <c>state</c>, <c>target_ip</c> and <c>transport</c>. All read-only.
/// </summary>
internal static class IscsiSessionManagement
{
    public static IReadOnlyList<ManagementAttribute> Attributes(IscsiSession session)
    {
        NegotiatedParameters? Keys() => session.Parameters;
        return
        [
            YesNo("InitialR2T", () => Keys()?.InitialR2T),
            YesNo("ImmediateData", () => Keys()?.ImmediateData),
            Number("MaxRecvDataSegmentLength", () => Keys()?.TargetMaxRecvDataSegmentLength),
            Number("MaxXmitDataSegmentLength", () => session.XmitDataSegmentLength),
            Number("MaxBurstLength", () => Keys()?.MaxBurstLength),
            Number("FirstBurstLength", () => Keys()?.FirstBurstLength),
            Number("MaxOutstandingR2T", () => Keys()?.MaxOutstandingR2T),
            ManagementAttribute.ReadOnly("HeaderDigest", () => DigestName(Keys()?.HeaderDigest)),
            ManagementAttribute.ReadOnly("DataDigest", () => DigestName(Keys()?.DataDigest)),
            Number("MaxConnections", () => Keys()?.MaxConnections),
            Number("ErrorRecoveryLevel", () => Keys()?.ErrorRecoveryLevel),
            ManagementAttribute.ReadOnly("sid", () => Sid(session.Key.Isid, session.Tsih)),
            ManagementAttribute.ReadOnly("reinstating", () => session.Reinstating ? "1" : "0", ManagementAttributeType.Boolean),
        ];
    }

    public static IReadOnlyList<ManagementDirectory> Connections(IscsiSession session)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        List<ManagementDirectory> directories = [];
        foreach (IscsiConnection connection in session.Connections())
        {
            string ip = FormatAddress(connection.RemoteEndPoint?.Address);
            int n = seen.TryGetValue(ip, out int count) ? count : 0;
            seen[ip] = n + 1;
            IscsiConnection c = connection;
            directories.Add(new ManagementDirectory
            {
                Name = n == 0 ? ip : string.Create(CultureInfo.InvariantCulture, $"{ip}_{n}"),
                Attributes =
                [
                    ManagementAttribute.ReadOnly("cid", () => c.Cid.ToString(CultureInfo.InvariantCulture), ManagementAttributeType.Integer),
                    ManagementAttribute.ReadOnly("ip", () => ip),
                    ManagementAttribute.ReadOnly("state", () => c.IsClosing ? "closing" : session.Reinstating ? "reinstating" : "established idle"),
                    ManagementAttribute.ReadOnly("target_ip", () => FormatAddress(c.LocalEndPoint?.Address)),
                    ManagementAttribute.ReadOnly("transport", () => "TCP"),
                ],
            });
        }

        return directories;
    }

    /// <summary>
    /// SCST's <c>sid</c>: the ISID and TSIH fields of the login request (6 and 2 bytes, in wire order) read as one
    /// little-endian 64-bit number, in lower-case hexadecimal without leading zeros, as SCST prints it on x86.
    /// </summary>
    public static string Sid(ulong isid, ushort tsih)
    {
        Span<byte> wire = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(wire, (isid << 16) | tsih);
        return BinaryPrimitives.ReadUInt64LittleEndian(wire).ToString("x", CultureInfo.InvariantCulture);
    }

    /// <summary>An address as SCST's connection files show it: <c>a.b.c.d</c>, or an IPv6 one in brackets.</summary>
    public static string FormatAddress(IPAddress? address) => address switch
    {
        null => "unknown",
        { IsIPv4MappedToIPv6: true } => address.MapToIPv4().ToString(),
        { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } => $"[{new IPAddress(address.GetAddressBytes())}]",
        _ => address.ToString(),
    };

    private static string DigestName(DigestKind? digest) => digest == DigestKind.Crc32C ? "CRC32C" : "None";

    private static ManagementAttribute YesNo(string name, Func<bool?> read) =>
        ManagementAttribute.ReadOnly(name, () => read() is false ? "No" : "Yes", ManagementAttributeType.Choice);

    private static ManagementAttribute Number(string name, Func<int?> read) =>
        ManagementAttribute.ReadOnly(name, () => (read() ?? 0).ToString(CultureInfo.InvariantCulture), ManagementAttributeType.Integer);
}
