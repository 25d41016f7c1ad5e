// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Fip;

/// <summary>
/// Another VN_Port on the same link, learnt from its claim notification or claim response and kept alive by its
/// beacons.
/// </summary>
/// <param name="PortId">Its N_Port_ID.</param>
/// <param name="PortName">Its WWPN.</param>
/// <param name="NodeName">Its WWNN.</param>
/// <param name="ENodeMac">The MAC of its ENode: FIP frames to it go there.</param>
/// <param name="VnMac">Its VN_Port MAC: FCoE frames to it go there.</param>
/// <param name="FcpFeatures">The FC-4 feature bits it announced for FCP (<see cref="Fc4FeatureBits"/>), 0 when none.</param>
/// <param name="MaxFcoeSize">The Max FCoE size it announced, 0 when it sent none.</param>
/// <param name="LastHeard">When its last claim or beacon arrived.</param>
internal sealed record Vn2VnPeer(uint PortId, ulong PortName, ulong NodeName, MacAddress ENodeMac, MacAddress VnMac,
    byte FcpFeatures, ushort MaxFcoeSize, DateTimeOffset LastHeard);
