// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Link;

/// <summary>
/// One Ethernet interface as the FCoE driver sees it: raw frames of the FIP (0x8914) and FCoE (0x8906) ethertypes in
/// and out, the multicast groups FIP needs, and the unicast addresses of the VN_Ports on it. An AF_PACKET socket on
/// Linux (<c>PacketSocketLink</c>); a pair of in-memory links in tests.
/// </summary>
internal interface IFcoeLink : IAsyncDisposable
{
    /// <summary>The interface name (<c>eth0</c>).</summary>
    string Name { get; }

    /// <summary>The interface's own MAC address: the ENode MAC of FIP.</summary>
    MacAddress Address { get; }

    /// <summary>The interface MTU: the largest Ethernet payload it carries (an FCoE frame of 2112 bytes of data needs 2158).</summary>
    int Mtu { get; }

    /// <summary>Also receives frames sent to <paramref name="address"/> (a VN_Port MAC, or an FPMA granted by an FCF).</summary>
    void AddUnicastAddress(MacAddress address);

    /// <summary>Stops receiving frames sent to <paramref name="address"/>.</summary>
    void RemoveUnicastAddress(MacAddress address);

    /// <summary>Receives frames sent to the multicast group <paramref name="group"/> (ALL-VN2VN-MACs, ALL-ENode-MACs).</summary>
    void JoinMulticast(MacAddress group);

    /// <summary>
    /// Sends one Ethernet frame, from the destination MAC to the end of the FCoE trailer or FIP descriptors (no FCS).
    /// Thread-safe; does not block for long (a full transmit queue drops the frame, as a lossy link would).
    /// </summary>
    /// <returns>False when the frame could not be sent (too long for the MTU, link down, closed).</returns>
    bool Send(ReadOnlySpan<byte> frame);

    /// <summary>
    /// Receives the next FIP or FCoE frame (any other ethertype is not delivered) into <paramref name="buffer"/>, which
    /// holds at least <see cref="FcoeFrame.MaxFrameLength"/> bytes plus a VLAN tag. One caller at a time.
    /// </summary>
    /// <returns>The frame's length; 0 once the link is closed.</returns>
    ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken);
}
