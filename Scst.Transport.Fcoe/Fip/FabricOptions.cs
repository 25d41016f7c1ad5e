// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Fip;

/// <summary>
/// What the ENode of fabric mode (FC-BB-5) is, and which FCFs it may log in through. The VN_Ports behind it, with
/// their own names, are added with <see cref="FabricController.AddPort"/>.
/// </summary>
internal sealed class FabricOptions
{
    /// <summary>The ENode's WWNN: the name identifier of its solicitations.</summary>
    public required ulong NodeName { get; init; }

    /// <summary>
    /// The Max FCoE size announced in solicitations (the Ethernet payload of the largest FCoE frame); the receive data
    /// field size of the VN_Ports' FLOGI and FDISC follows from it. Null: the link MTU, at most
    /// <see cref="FcoeFrame.MaxFcoeSize"/> (2158).
    /// </summary>
    public ushort? MaxFcoeSize { get; init; }

    /// <summary>
    /// The 802.1Q tag control information of the FCoE VLAN (a bare VLAN id is a priority 0 tag); null: untagged.
    /// With <see cref="VlanDiscovery"/>, a discovered VLAN id replaces the id bits and the priority bits are kept.
    /// </summary>
    public ushort? VlanTag { get; init; }

    /// <summary>
    /// Ask the FCFs for the FCoE VLAN first (a VLAN request, untagged, to ALL-FCF-MACs) and use the first VLAN of the
    /// first notification. Without an answer after <see cref="FabricController.VlanRequestTries"/> requests, discovery
    /// goes on with <see cref="VlanTag"/>.
    /// </summary>
    public bool VlanDiscovery { get; init; }

    /// <summary>Only FCFs that advertise this FC-MAP are eligible; null: any (the default FC-MAP is preferred on a tie).</summary>
    public uint? FcMap { get; init; }

    /// <summary>Only FCFs of this fabric are eligible; null: any.</summary>
    public ulong? FabricName { get; init; }
}
