// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Fip;

/// <summary>What one local VN_Port of VN2VN mode (FC-BB-6) is and announces.</summary>
internal sealed class Vn2VnOptions
{
    /// <summary>The VN_Port's WWPN: the tie-breaker of N_Port_ID conflicts (the higher WWPN keeps the ID).</summary>
    public required ulong PortName { get; init; }

    /// <summary>The WWNN, carried in the name identifier descriptor.</summary>
    public required ulong NodeName { get; init; }

    /// <summary>
    /// The N_Port_ID proposed first. Null: the low 16 bits of <see cref="PortName"/>, as the Linux stack does (1 when
    /// those are 0000 or FFFF). A conflict replaces it with a random ID.
    /// </summary>
    public uint? PreferredPortId { get; init; }

    /// <summary>
    /// The Max FCoE size announced in claims (the Ethernet payload of the largest FCoE frame). Null: the link MTU,
    /// at most <see cref="FcoeFrame.MaxFcoeSize"/> (2158).
    /// </summary>
    public ushort? MaxFcoeSize { get; init; }

    /// <summary>The FC-4 TYPEs and features announced in claims; by default FCP with the target bit.</summary>
    public IReadOnlyList<Fc4Feature> Fc4Features { get; init; } = [new(FcType.Fcp, Fc4FeatureBits.Target)];

    /// <summary>The 802.1Q tag control information of the VLAN the port lives on; null: untagged.</summary>
    public ushort? VlanTag { get; init; }
}
