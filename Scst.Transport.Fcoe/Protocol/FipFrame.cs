// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Fcoe.Protocol;

/// <summary>Outcome of <see cref="FipFrame.TryRead"/>.</summary>
internal enum FipReadResult
{
    /// <summary>A FIP frame whose descriptor list lies within the frame.</summary>
    Success,

    /// <summary>Shorter than an Ethernet header and a FIP header.</summary>
    Truncated,

    /// <summary>The ethertype is not 0x8914.</summary>
    NotFip,

    /// <summary>The FIP version is not 1.</summary>
    UnsupportedVersion,

    /// <summary>The descriptor list length runs past the end of the frame.</summary>
    InvalidDescriptorListLength,
}

/// <summary>A decoded FIP frame: a view over the received bytes.</summary>
internal readonly ref struct FipFrameView
{
    private readonly ReadOnlySpan<byte> _frame;

    internal FipFrameView(ReadOnlySpan<byte> frame, ushort? vlanTag, FipHeader header, ReadOnlySpan<byte> descriptors)
    {
        _frame = frame;
        VlanTag = vlanTag;
        Header = header;
        Descriptors = descriptors;
    }

    /// <summary>The destination MAC.</summary>
    public MacAddress Destination => MacAddress.Read(_frame);

    /// <summary>The source MAC.</summary>
    public MacAddress Source => MacAddress.Read(_frame[MacAddress.Length..]);

    /// <summary>The 802.1Q tag control information, null when untagged.</summary>
    public ushort? VlanTag { get; }

    /// <summary>The FIP header.</summary>
    public FipHeader Header { get; }

    /// <summary>The descriptor list, exactly as long as the header says (padding after it excluded).</summary>
    public ReadOnlySpan<byte> Descriptors { get; }

    /// <summary>The whole Ethernet frame.</summary>
    public ReadOnlySpan<byte> Frame => _frame;

    /// <summary>A reader over <see cref="Descriptors"/>.</summary>
    public FipDescriptorReader GetDescriptorReader() => new(Descriptors);
}

/// <summary>What a Discovery Advertisement says about its FCF (FC-BB-5 section 7.8.3).</summary>
/// <param name="Priority">The FCF priority: the lower the value, the more an ENode prefers the FCF (default 128).</param>
/// <param name="FcfMac">The FCF-MAC of the MAC address descriptor: where link service requests and keep-alives go.</param>
/// <param name="SwitchName">The switch name of the name identifier descriptor.</param>
/// <param name="VirtualFabricId">VF_ID of the fabric descriptor.</param>
/// <param name="FcMap">FC-MAP of the fabric descriptor: the upper 24 bits of the FPMAs the FCF grants.</param>
/// <param name="FabricName">The fabric name of the fabric descriptor.</param>
/// <param name="KeepAlivePeriodMilliseconds">FKA_ADV_PERIOD: the advertisement and ENode keep-alive period.</param>
/// <param name="NoKeepAlivesExpected">The D flag: the FCF does not expect keep-alives.</param>
internal readonly record struct FcfAdvertisement(byte Priority, MacAddress FcfMac, ulong SwitchName, ushort VirtualFabricId, uint FcMap,
    ulong FabricName, uint KeepAlivePeriodMilliseconds, bool NoKeepAlivesExpected);

/// <summary>
/// FIP frames (ethertype 0x8914): a reader, and a writer for each frame the target sends in VN2VN mode (FC-BB-6) and
/// in fabric mode (FC-BB-5). Every writer returns the frame length; frames shorter than the Ethernet minimum are padded
/// with zeros to 60 bytes.
/// </summary>
internal static class FipFrame
{
    /// <summary>Descriptor list bytes of a VN2VN probe, probe reply or beacon: MAC, name, VN_Port identification.</summary>
    public const int Vn2VnDescriptorsLength = FipDescriptorWriter.MacAddressLength + FipDescriptorWriter.NameLength + FipDescriptorWriter.VnPortIdLength;

    /// <summary>Descriptor list bytes of a VN2VN claim notification or claim response: the above, FC-4 features, max FCoE size.</summary>
    public const int Vn2VnClaimDescriptorsLength = Vn2VnDescriptorsLength + FipDescriptorWriter.Fc4FeaturesLength + FipDescriptorWriter.MaxFcoeSizeLength;

    /// <summary>Decodes a FIP frame (one VLAN tag accepted). Never throws.</summary>
    public static FipReadResult TryRead(ReadOnlySpan<byte> ethernetFrame, out FipFrameView frame)
    {
        frame = default;
        if (!Ethernet.TryReadHeader(ethernetFrame, out var etherType, out var vlanTag, out int headerLength))
        {
            return FipReadResult.Truncated;
        }

        if (etherType != EtherType.Fip)
        {
            return FipReadResult.NotFip;
        }

        var fip = ethernetFrame[headerLength..];
        if (fip.Length < FipHeader.Length)
        {
            return FipReadResult.Truncated;
        }

        if (!FipHeader.TryRead(fip, out var header))
        {
            return FipReadResult.UnsupportedVersion;
        }

        if (header.DescriptorListLength > fip.Length - FipHeader.Length)
        {
            return FipReadResult.InvalidDescriptorListLength;
        }

        frame = new FipFrameView(ethernetFrame, vlanTag, header, fip.Slice(FipHeader.Length, header.DescriptorListLength));
        return FipReadResult.Success;
    }

    /// <summary>VN2VN Probe Request (5/1), to ALL-VN2VN-MACs from the ENode MAC, proposing <paramref name="vnPort"/>.</summary>
    public static int WriteProbeRequest(Span<byte> destination, MacAddress destinationMac, MacAddress sourceMac, ushort? vlanTag,
        ushort flags, MacAddress enodeMac, ulong nodeName, VnPortIdentity vnPort) =>
        WriteVn2Vn(destination, destinationMac, sourceMac, vlanTag, FipMessage.ProbeRequest, flags, enodeMac, nodeName, vnPort);

    /// <summary>VN2VN Probe Reply (5/2), unicast to a prober that wants an N_Port_ID this port holds.</summary>
    public static int WriteProbeReply(Span<byte> destination, MacAddress destinationMac, MacAddress sourceMac, ushort? vlanTag,
        ushort flags, MacAddress enodeMac, ulong nodeName, VnPortIdentity vnPort) =>
        WriteVn2Vn(destination, destinationMac, sourceMac, vlanTag, FipMessage.ProbeReply, flags, enodeMac, nodeName, vnPort);

    /// <summary>VN2VN Beacon (5/5), to ALL-VN2VN-MACs from the VN_Port MAC.</summary>
    public static int WriteBeacon(Span<byte> destination, MacAddress destinationMac, MacAddress sourceMac, ushort? vlanTag,
        ushort flags, MacAddress enodeMac, ulong nodeName, VnPortIdentity vnPort) =>
        WriteVn2Vn(destination, destinationMac, sourceMac, vlanTag, FipMessage.Beacon, flags, enodeMac, nodeName, vnPort);

    /// <summary>
    /// VN2VN Claim Notification (5/3), to ALL-VN2VN-MACs from the ENode MAC, with the FC-4 features this port offers and
    /// its max FCoE size.
    /// </summary>
    public static int WriteClaimNotification(Span<byte> destination, MacAddress destinationMac, MacAddress sourceMac, ushort? vlanTag,
        ushort flags, MacAddress enodeMac, ulong nodeName, VnPortIdentity vnPort, ReadOnlySpan<Fc4Feature> fc4Features, ushort maxFcoeSize) =>
        WriteVn2VnClaim(destination, destinationMac, sourceMac, vlanTag, FipMessage.ClaimNotification, flags, enodeMac, nodeName, vnPort,
            fc4Features, maxFcoeSize, 0);

    /// <summary>
    /// VN2VN Claim Response (5/4), unicast to the claimant's ENode MAC. The Linux FCoE stack pads it to the Ethernet
    /// payload of <paramref name="maxFcoeSize"/> (so the path is shown to carry full-size frames): pass
    /// <paramref name="padToLength"/> = 14 + max FCoE size (2172) to do the same, or 0 for no padding.
    /// </summary>
    public static int WriteClaimResponse(Span<byte> destination, MacAddress destinationMac, MacAddress sourceMac, ushort? vlanTag,
        ushort flags, MacAddress enodeMac, ulong nodeName, VnPortIdentity vnPort, ReadOnlySpan<Fc4Feature> fc4Features, ushort maxFcoeSize,
        int padToLength) =>
        WriteVn2VnClaim(destination, destinationMac, sourceMac, vlanTag, FipMessage.ClaimResponse, flags, enodeMac, nodeName, vnPort,
            fc4Features, maxFcoeSize, padToLength);

    /// <summary>
    /// Link service request (2/1): an FLOGI, FDISC or LOGO (or ELP) encapsulated in FIP, followed by the MAC address
    /// descriptor (the MAC the sender asks for or uses; in VN2VN mode its VN_Port MAC).
    /// </summary>
    public static int WriteLinkServiceRequest(Span<byte> destination, MacAddress destinationMac, MacAddress sourceMac, ushort? vlanTag,
        ushort flags, FipDescriptorType encapsulation, FcFrameHeader header, ReadOnlySpan<byte> elsPayload, MacAddress mac) =>
        WriteLinkService(destination, destinationMac, sourceMac, vlanTag, FipMessage.LinkServiceRequest, flags, encapsulation, header, elsPayload, mac);

    /// <summary>
    /// Link service reply (2/2): the encapsulated LS_ACC or LS_RJT of an FLOGI, FDISC or LOGO, with the descriptor type
    /// of the request, followed by the MAC address descriptor (the granted or used MAC).
    /// </summary>
    public static int WriteLinkServiceReply(Span<byte> destination, MacAddress destinationMac, MacAddress sourceMac, ushort? vlanTag,
        ushort flags, FipDescriptorType encapsulation, FcFrameHeader header, ReadOnlySpan<byte> elsPayload, MacAddress mac) =>
        WriteLinkService(destination, destinationMac, sourceMac, vlanTag, FipMessage.LinkServiceReply, flags, encapsulation, header, elsPayload, mac);

    /// <summary>ENode Keep Alive (3/1) to the FCF: the MAC address descriptor with the ENode MAC.</summary>
    public static int WriteENodeKeepAlive(Span<byte> destination, MacAddress fcfMac, MacAddress enodeMac, ushort? vlanTag)
    {
        int at = Begin(destination, fcfMac, enodeMac, vlanTag);
        at += FipDescriptorWriter.WriteMacAddress(destination[at..], enodeMac);
        return Finish(destination, vlanTag, FipMessage.KeepAlive, 0, at, 0);
    }

    /// <summary>
    /// VN_Port Keep Alive (3/1) to the FCF, sent from the VN_Port MAC: the ENode MAC address descriptor and the VN_Port
    /// identification descriptor.
    /// </summary>
    public static int WriteVnPortKeepAlive(Span<byte> destination, MacAddress fcfMac, MacAddress sourceMac, ushort? vlanTag,
        MacAddress enodeMac, VnPortIdentity vnPort)
    {
        int at = Begin(destination, fcfMac, sourceMac, vlanTag);
        at += FipDescriptorWriter.WriteMacAddress(destination[at..], enodeMac);
        at += FipDescriptorWriter.WriteVnPortId(destination[at..], vnPort);
        return Finish(destination, vlanTag, FipMessage.KeepAlive, 0, at, 0);
    }

    /// <summary>
    /// VLAN Request (4/1), untagged to ALL-FCF-MACs (or ALL-VN2VN-MACs in VN2VN mode): the ENode MAC address descriptor,
    /// and a name identifier descriptor when <paramref name="nodeName"/> is given (FC-BB-6).
    /// </summary>
    public static int WriteVlanRequest(Span<byte> destination, MacAddress destinationMac, MacAddress enodeMac, ulong? nodeName)
    {
        int at = Begin(destination, destinationMac, enodeMac, null);
        at += FipDescriptorWriter.WriteMacAddress(destination[at..], enodeMac);
        if (nodeName is ulong name)
        {
            at += FipDescriptorWriter.WriteName(destination[at..], name);
        }

        return Finish(destination, null, FipMessage.VlanRequest, 0, at, 0);
    }

    /// <summary>
    /// Discovery Solicitation (1/1) to ALL-FCF-MACs or one FCF: MAC address, name identifier and max FCoE size
    /// descriptors; <paramref name="flags"/> names the MAC addressing modes the ENode supports (<see cref="FipFlags.Fpma"/>).
    /// </summary>
    public static int WriteDiscoverySolicitation(Span<byte> destination, MacAddress destinationMac, MacAddress enodeMac, ushort? vlanTag,
        ushort flags, ulong nodeName, ushort maxFcoeSize)
    {
        int at = Begin(destination, destinationMac, enodeMac, vlanTag);
        at += FipDescriptorWriter.WriteMacAddress(destination[at..], enodeMac);
        at += FipDescriptorWriter.WriteName(destination[at..], nodeName);
        at += FipDescriptorWriter.WriteMaxFcoeSize(destination[at..], maxFcoeSize);
        return Finish(destination, vlanTag, FipMessage.DiscoverySolicitation, flags, at, 0);
    }

    /// <summary>Descriptor list bytes of a discovery advertisement: priority, MAC, name, fabric, FKA_ADV_Period.</summary>
    public const int AdvertisementDescriptorsLength = FipDescriptorWriter.PriorityLength + FipDescriptorWriter.MacAddressLength
        + FipDescriptorWriter.NameLength + FipDescriptorWriter.FabricLength + FipDescriptorWriter.FkaAdvPeriodLength;

    /// <summary>
    /// Discovery Advertisement (1/2) from an FCF: priority, MAC, name (switch name), fabric and FKA_ADV_Period
    /// descriptors. Multicast to ALL-ENode-MACs every FKA_ADV_PERIOD, or unicast with <see cref="FipFlags.Solicited"/>
    /// in answer to a solicitation, then padded to the solicitor's max FCoE size (<paramref name="padToLength"/> = the
    /// Ethernet header length + that size) so that the ENode learns that full-size frames pass.
    /// </summary>
    public static int WriteDiscoveryAdvertisement(Span<byte> destination, MacAddress destinationMac, MacAddress sourceMac, ushort? vlanTag,
        ushort flags, in FcfAdvertisement advertisement, int padToLength)
    {
        int at = Begin(destination, destinationMac, sourceMac, vlanTag);
        at += FipDescriptorWriter.WritePriority(destination[at..], advertisement.Priority);
        at += FipDescriptorWriter.WriteMacAddress(destination[at..], advertisement.FcfMac);
        at += FipDescriptorWriter.WriteName(destination[at..], advertisement.SwitchName);
        at += FipDescriptorWriter.WriteFabric(destination[at..], advertisement.VirtualFabricId, advertisement.FcMap, advertisement.FabricName);
        at += FipDescriptorWriter.WriteFkaAdvPeriod(destination[at..], advertisement.KeepAlivePeriodMilliseconds, advertisement.NoKeepAlivesExpected);
        return Finish(destination, vlanTag, FipMessage.DiscoveryAdvertisement, flags, at, padToLength);
    }

    /// <summary>
    /// Reads the descriptors of a Discovery Advertisement: false unless it is one and carries the priority, MAC, name,
    /// fabric and FKA_ADV_Period descriptors (the first of each counts; other descriptors are skipped) in a well-formed
    /// list. Never throws.
    /// </summary>
    public static bool TryReadAdvertisement(in FipFrameView frame, out FcfAdvertisement advertisement)
    {
        advertisement = default;
        if (frame.Header.Message != FipMessage.DiscoveryAdvertisement)
        {
            return false;
        }

        byte priority = 0;
        MacAddress mac = default;
        ulong switchName = 0, fabricName = 0;
        ushort vfId = 0;
        uint fcMap = 0, period = 0;
        bool noKeepAlives = false;
        bool havePriority = false, haveMac = false, haveName = false, haveFabric = false, havePeriod = false;
        var reader = frame.GetDescriptorReader();
        while (reader.TryReadNext(out var d))
        {
            switch (d.Type)
            {
                case FipDescriptorType.Priority when !havePriority:
                    havePriority = d.TryReadPriority(out priority);
                    break;
                case FipDescriptorType.MacAddress when !haveMac:
                    haveMac = d.TryReadMacAddress(out mac);
                    break;
                case FipDescriptorType.Name when !haveName:
                    haveName = d.TryReadName(out switchName);
                    break;
                case FipDescriptorType.Fabric when !haveFabric:
                    haveFabric = d.TryReadFabric(out vfId, out fcMap, out fabricName);
                    break;
                case FipDescriptorType.FkaAdvPeriod when !havePeriod:
                    havePeriod = d.TryReadFkaAdvPeriod(out period, out noKeepAlives);
                    break;
                default:
                    break;
            }
        }

        if (reader.Error != FipDescriptorError.None || !(havePriority && haveMac && haveName && haveFabric && havePeriod))
        {
            return false;
        }

        advertisement = new FcfAdvertisement(priority, mac, switchName, vfId, fcMap, fabricName, period, noKeepAlives);
        return true;
    }

    /// <summary>
    /// VLAN Notification (4/2) from an FCF, unicast to the ENode that asked, untagged: the FCF's MAC address descriptor
    /// and one VLAN descriptor per FCoE VLAN it serves.
    /// </summary>
    public static int WriteVlanNotification(Span<byte> destination, MacAddress enodeMac, MacAddress fcfMac, ReadOnlySpan<ushort> vlanIds)
    {
        int at = Begin(destination, enodeMac, fcfMac, null);
        at += FipDescriptorWriter.WriteMacAddress(destination[at..], fcfMac);
        foreach (ushort vlanId in vlanIds)
        {
            at += FipDescriptorWriter.WriteVlan(destination[at..], vlanId);
        }

        return Finish(destination, null, FipMessage.VlanNotification, 0, at, 0);
    }

    /// <summary>
    /// Clear Virtual Links (3/2) from an FCF to an ENode: the FCF's MAC address and name (switch name) descriptors, then
    /// one VN_Port identification descriptor per VN_Port whose link is cleared; none clears the ENode and all its VN_Ports.
    /// </summary>
    public static int WriteClearVirtualLinks(Span<byte> destination, MacAddress enodeMac, MacAddress fcfMac, ushort? vlanTag,
        ulong switchName, ReadOnlySpan<VnPortIdentity> vnPorts)
    {
        int at = Begin(destination, enodeMac, fcfMac, vlanTag);
        at += FipDescriptorWriter.WriteMacAddress(destination[at..], fcfMac);
        at += FipDescriptorWriter.WriteName(destination[at..], switchName);
        foreach (var vnPort in vnPorts)
        {
            at += FipDescriptorWriter.WriteVnPortId(destination[at..], vnPort);
        }

        return Finish(destination, vlanTag, FipMessage.ClearVirtualLinks, 0, at, 0);
    }

    private static int WriteVn2Vn(Span<byte> destination, MacAddress destinationMac, MacAddress sourceMac, ushort? vlanTag,
        FipMessage message, ushort flags, MacAddress enodeMac, ulong nodeName, VnPortIdentity vnPort)
    {
        int at = Begin(destination, destinationMac, sourceMac, vlanTag);
        at += WriteVn2VnDescriptors(destination[at..], enodeMac, nodeName, vnPort);
        return Finish(destination, vlanTag, message, flags, at, 0);
    }

    private static int WriteVn2VnClaim(Span<byte> destination, MacAddress destinationMac, MacAddress sourceMac, ushort? vlanTag,
        FipMessage message, ushort flags, MacAddress enodeMac, ulong nodeName, VnPortIdentity vnPort, ReadOnlySpan<Fc4Feature> fc4Features,
        ushort maxFcoeSize, int padToLength)
    {
        int at = Begin(destination, destinationMac, sourceMac, vlanTag);
        at += WriteVn2VnDescriptors(destination[at..], enodeMac, nodeName, vnPort);
        at += FipDescriptorWriter.WriteFc4Features(destination[at..], fc4Features);
        at += FipDescriptorWriter.WriteMaxFcoeSize(destination[at..], maxFcoeSize);
        return Finish(destination, vlanTag, message, flags, at, padToLength);
    }

    private static int WriteVn2VnDescriptors(Span<byte> destination, MacAddress enodeMac, ulong nodeName, VnPortIdentity vnPort)
    {
        int at = FipDescriptorWriter.WriteMacAddress(destination, enodeMac);
        at += FipDescriptorWriter.WriteName(destination[at..], nodeName);
        at += FipDescriptorWriter.WriteVnPortId(destination[at..], vnPort);
        return at;
    }

    private static int WriteLinkService(Span<byte> destination, MacAddress destinationMac, MacAddress sourceMac, ushort? vlanTag,
        FipMessage message, ushort flags, FipDescriptorType encapsulation, FcFrameHeader header, ReadOnlySpan<byte> elsPayload, MacAddress mac)
    {
        int at = Begin(destination, destinationMac, sourceMac, vlanTag);
        at += FipDescriptorWriter.WriteEncapsulatedEls(destination[at..], encapsulation, header, elsPayload);
        at += FipDescriptorWriter.WriteMacAddress(destination[at..], mac);
        return Finish(destination, vlanTag, message, flags, at, 0);
    }

    // Writes the Ethernet header and returns where the descriptors start (after the FIP header, written by Finish).
    private static int Begin(Span<byte> destination, MacAddress destinationMac, MacAddress sourceMac, ushort? vlanTag) =>
        Ethernet.WriteHeader(destination, destinationMac, sourceMac, vlanTag, EtherType.Fip) + FipHeader.Length;

    private static int Finish(Span<byte> destination, ushort? vlanTag, FipMessage message, ushort flags, int end, int padToLength)
    {
        int fipStart = Ethernet.GetHeaderLength(vlanTag.HasValue);
        int descriptorBytes = end - fipStart - FipHeader.Length;
        FipHeader.For(message, flags, (ushort)(descriptorBytes / 4)).WriteTo(destination[fipStart..]);
        int length = Math.Max(end, Math.Max(padToLength, Ethernet.MinimumFrameLength));
        WireFormat.EnsureLength(destination, length);
        destination[end..length].Clear();
        return length;
    }
}
