// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Transport.Fcoe.Protocol;

/// <summary>FIP descriptor types (FC-BB-5 table 26, FC-BB-6).</summary>
internal enum FipDescriptorType : byte
{
    /// <summary>Priority (1 word): FCF priority, lower is preferred.</summary>
    Priority = 1,

    /// <summary>MAC address (2 words).</summary>
    MacAddress = 2,

    /// <summary>FC-MAP (2 words).</summary>
    FcMap = 3,

    /// <summary>Name identifier (3 words): a node name (ENode, VN_Port) or switch name (FCF).</summary>
    Name = 4,

    /// <summary>Fabric (4 words): VF_ID, FC-MAP and fabric name.</summary>
    Fabric = 5,

    /// <summary>Max FCoE size (1 word).</summary>
    MaxFcoeSize = 6,

    /// <summary>Encapsulated FLOGI (request or LS_ACC/LS_RJT).</summary>
    Flogi = 7,

    /// <summary>Encapsulated FDISC.</summary>
    Fdisc = 8,

    /// <summary>Encapsulated LOGO.</summary>
    Logo = 9,

    /// <summary>Encapsulated ELP (FCF to FCF).</summary>
    Elp = 10,

    /// <summary>VN_Port identification (5 words): VN_Port MAC, N_Port_ID and port name.</summary>
    VnPortId = 11,

    /// <summary>FKA_ADV_Period (2 words): keep-alive period in milliseconds and the D flag.</summary>
    FkaAdvPeriod = 12,

    /// <summary>Vendor ID (3 words).</summary>
    VendorId = 13,

    /// <summary>VLAN (1 word).</summary>
    Vlan = 14,

    /// <summary>FC-4 features (41 words, FC-BB-6): FC-4 TYPEs bitmap and FC-4 features.</summary>
    Fc4Features = 15,
}

/// <summary>The VN_Port identification descriptor's content: the VN_Port's MAC, N_Port_ID and port name.</summary>
/// <param name="Mac">The VN_Port MAC (0E:FD:00 || N_Port_ID in VN2VN mode).</param>
/// <param name="PortId">The 24-bit N_Port_ID.</param>
/// <param name="PortName">The WWPN.</param>
internal readonly record struct VnPortIdentity(MacAddress Mac, uint PortId, ulong PortName);

/// <summary>One FC-4 TYPE and its 4 FC-4 feature bits, for the FC-4 features descriptor (and RFF_ID).</summary>
/// <param name="Type">The FC-4 TYPE (<see cref="FcType"/>).</param>
/// <param name="Features">Feature bits of the type (<see cref="Fc4FeatureBits"/>); only the low 4 bits are carried.</param>
internal readonly record struct Fc4Feature(byte Type, byte Features);

/// <summary>FC-4 feature bits of FCP (FC-GS, the same in the FIP FC-4 features descriptor).</summary>
internal static class Fc4FeatureBits
{
    /// <summary>The port is an FCP target.</summary>
    public const byte Target = 0x01;

    /// <summary>The port is an FCP initiator.</summary>
    public const byte Initiator = 0x02;
}

/// <summary>
/// The FC-4 TYPEs bitmap (8 big-endian words, FC-GS: TYPE t is bit t mod 32 of word t / 32) and the FC-4 features
/// array (32 big-endian words, 4 bits per TYPE: TYPE t in bits 4 (t mod 8) + 3..0 of word t / 8), as the FIP FC-4
/// features descriptor and the name server's RFT_ID carry them. In this layout FCP (TYPE 8) is 0x00000100 in word 0
/// of the bitmap and the low nibble of word 1 of the features.
/// </summary>
internal static class Fc4Bitmap
{
    /// <summary>Bytes of the TYPEs bitmap.</summary>
    public const int TypesLength = 32;

    /// <summary>Bytes of the features array.</summary>
    public const int FeaturesLength = 128;

    /// <summary>Sets TYPE <paramref name="type"/> in a 32-byte bitmap.</summary>
    public static void SetType(Span<byte> types, byte type)
    {
        // Bit (type mod 32) of big-endian word (type / 32) is bit (type mod 8) of byte 4 (type / 32) + 3 - (type mod 32) / 8.
        int at = (4 * (type >> 5)) + 3 - ((type & 31) >> 3);
        types[at] |= (byte)(1 << (type & 7));
    }

    /// <summary>Whether TYPE <paramref name="type"/> is set in a 32-byte bitmap.</summary>
    public static bool IsTypeSet(ReadOnlySpan<byte> types, byte type)
    {
        int at = (4 * (type >> 5)) + 3 - ((type & 31) >> 3);
        return (types[at] & (1 << (type & 7))) != 0;
    }

    /// <summary>Puts the low 4 bits of <paramref name="features"/> at TYPE <paramref name="type"/> of a 128-byte array.</summary>
    public static void SetFeatures(Span<byte> featureWords, byte type, byte features)
    {
        // Nibble (type mod 8) of big-endian word (type / 8): byte 4 (type / 8) + 3 - (type mod 8) / 2, high nibble when odd.
        int at = (4 * (type >> 3)) + 3 - ((type & 7) >> 1);
        int shift = (type & 1) * 4;
        featureWords[at] = (byte)((featureWords[at] & ~(0xF << shift)) | ((features & 0xF) << shift));
    }

    /// <summary>The 4 feature bits of TYPE <paramref name="type"/> in a 128-byte array.</summary>
    public static byte GetFeatures(ReadOnlySpan<byte> featureWords, byte type)
    {
        int at = (4 * (type >> 3)) + 3 - ((type & 7) >> 1);
        return (byte)((featureWords[at] >> ((type & 1) * 4)) & 0xF);
    }
}

/// <summary>
/// One FIP descriptor: byte 0 type, byte 1 length in 32-bit words (including these two bytes), then the body.
/// The typed readers check the type and the exact length the descriptor must have and return false otherwise.
/// </summary>
internal readonly ref struct FipDescriptor
{
    /// <summary>Bytes of the type and length fields.</summary>
    public const int HeaderLength = 2;

    /// <summary>Bytes of the reserved field and FC header that precede the ELS payload of an encapsulation descriptor.</summary>
    public const int EncapsulationOverhead = 4 + FcFrameHeader.Length;

    internal FipDescriptor(ReadOnlySpan<byte> bytes)
    {
        Bytes = bytes;
    }

    /// <summary>The descriptor type.</summary>
    public FipDescriptorType Type => (FipDescriptorType)Bytes[0];

    /// <summary>The length in 32-bit words.</summary>
    public int LengthWords => Bytes[1];

    /// <summary>The whole descriptor, type and length included.</summary>
    public ReadOnlySpan<byte> Bytes { get; }

    /// <summary>The descriptor after its type and length.</summary>
    public ReadOnlySpan<byte> Body => Bytes[HeaderLength..];

    /// <summary>Priority descriptor: reserved, priority.</summary>
    public bool TryReadPriority(out byte priority)
    {
        priority = 0;
        if (!Is(FipDescriptorType.Priority, 1))
        {
            return false;
        }

        priority = Bytes[3];
        return true;
    }

    /// <summary>MAC address descriptor.</summary>
    public bool TryReadMacAddress(out MacAddress mac)
    {
        mac = default;
        if (!Is(FipDescriptorType.MacAddress, 2))
        {
            return false;
        }

        mac = MacAddress.Read(Body);
        return true;
    }

    /// <summary>FC-MAP descriptor: 3 reserved bytes, FC-MAP.</summary>
    public bool TryReadFcMap(out uint fcMap)
    {
        fcMap = 0;
        if (!Is(FipDescriptorType.FcMap, 2))
        {
            return false;
        }

        fcMap = WireFormat.ReadUInt24(Bytes[5..]);
        return true;
    }

    /// <summary>Name identifier descriptor: 2 reserved bytes, the WWN.</summary>
    public bool TryReadName(out ulong name)
    {
        name = 0;
        if (!Is(FipDescriptorType.Name, 3))
        {
            return false;
        }

        name = WireFormat.ReadWwn(Bytes[4..]);
        return true;
    }

    /// <summary>Fabric descriptor: VF_ID, reserved, FC-MAP, fabric name.</summary>
    public bool TryReadFabric(out ushort virtualFabricId, out uint fcMap, out ulong fabricName)
    {
        virtualFabricId = 0;
        fcMap = 0;
        fabricName = 0;
        if (!Is(FipDescriptorType.Fabric, 4))
        {
            return false;
        }

        virtualFabricId = BinaryPrimitives.ReadUInt16BigEndian(Body);
        fcMap = WireFormat.ReadUInt24(Bytes[5..]);
        fabricName = WireFormat.ReadWwn(Bytes[8..]);
        return true;
    }

    /// <summary>Max FCoE size descriptor.</summary>
    public bool TryReadMaxFcoeSize(out ushort size)
    {
        size = 0;
        if (!Is(FipDescriptorType.MaxFcoeSize, 1))
        {
            return false;
        }

        size = BinaryPrimitives.ReadUInt16BigEndian(Body);
        return true;
    }

    /// <summary>
    /// An encapsulated FLOGI, FDISC, LOGO or ELP: 2 reserved bytes, the FC header and the ELS payload (no SOF, EOF or
    /// CRC). The payload is returned without the fill bytes the header's F_CTL counts.
    /// </summary>
    public bool TryReadEncapsulatedEls(out FcFrameHeader header, out ReadOnlySpan<byte> elsPayload)
    {
        header = default;
        elsPayload = default;
        if (Type is < FipDescriptorType.Flogi or > FipDescriptorType.Elp || Bytes.Length < EncapsulationOverhead)
        {
            return false;
        }

        header = FcFrameHeader.Read(Bytes[4..]);
        int payloadLength = Bytes.Length - EncapsulationOverhead - header.FillCount;
        if (payloadLength < 0)
        {
            header = default;
            return false;
        }

        elsPayload = Bytes.Slice(EncapsulationOverhead, payloadLength);
        return true;
    }

    /// <summary>VN_Port identification descriptor: MAC, reserved, N_Port_ID, port name.</summary>
    public bool TryReadVnPortId(out VnPortIdentity identity)
    {
        identity = default;
        if (!Is(FipDescriptorType.VnPortId, 5))
        {
            return false;
        }

        identity = new VnPortIdentity(MacAddress.Read(Body), WireFormat.ReadUInt24(Bytes[9..]), WireFormat.ReadWwn(Bytes[12..]));
        return true;
    }

    /// <summary>FKA_ADV_Period descriptor: reserved, flags (D bit 0), period in milliseconds.</summary>
    /// <param name="periodMilliseconds">The keep-alive period.</param>
    /// <param name="noKeepAlivesExpected">The D flag: the FCF does not expect ENode keep-alives.</param>
    public bool TryReadFkaAdvPeriod(out uint periodMilliseconds, out bool noKeepAlivesExpected)
    {
        periodMilliseconds = 0;
        noKeepAlivesExpected = false;
        if (!Is(FipDescriptorType.FkaAdvPeriod, 2))
        {
            return false;
        }

        noKeepAlivesExpected = (Bytes[3] & FipDescriptorWriter.FkaNoKeepAlivesFlag) != 0;
        periodMilliseconds = BinaryPrimitives.ReadUInt32BigEndian(Bytes[4..]);
        return true;
    }

    /// <summary>Vendor ID descriptor: 2 reserved bytes, the 8-byte vendor id.</summary>
    public bool TryReadVendorId(out ulong vendorId)
    {
        vendorId = 0;
        if (!Is(FipDescriptorType.VendorId, 3))
        {
            return false;
        }

        vendorId = BinaryPrimitives.ReadUInt64BigEndian(Bytes[4..]);
        return true;
    }

    /// <summary>VLAN descriptor: the VLAN id in the low 12 bits.</summary>
    public bool TryReadVlan(out ushort vlanId)
    {
        vlanId = 0;
        if (!Is(FipDescriptorType.Vlan, 1))
        {
            return false;
        }

        vlanId = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(Body) & Ethernet.VlanIdMask);
        return true;
    }

    /// <summary>
    /// FC-4 features descriptor: 2 reserved bytes, the TYPEs bitmap (32 bytes) and the features (128 bytes); query
    /// them with <see cref="Fc4Bitmap"/>.
    /// </summary>
    public bool TryReadFc4Features(out ReadOnlySpan<byte> types, out ReadOnlySpan<byte> features)
    {
        types = default;
        features = default;
        if (!Is(FipDescriptorType.Fc4Features, FipDescriptorWriter.Fc4FeaturesLength / 4))
        {
            return false;
        }

        types = Bytes.Slice(4, Fc4Bitmap.TypesLength);
        features = Bytes.Slice(4 + Fc4Bitmap.TypesLength, Fc4Bitmap.FeaturesLength);
        return true;
    }

    private bool Is(FipDescriptorType type, int words) => Type == type && LengthWords == words;
}

/// <summary>Why a <see cref="FipDescriptorReader"/> stopped before the end of the list.</summary>
internal enum FipDescriptorError
{
    /// <summary>No error (so far).</summary>
    None,

    /// <summary>A descriptor has length 0, which would never advance.</summary>
    ZeroLength,

    /// <summary>A descriptor runs past the end of the descriptor list.</summary>
    Overrun,
}

/// <summary>
/// Walks a FIP descriptor list: <c>while (reader.TryReadNext(out var d)) { ... }</c>, then
/// <see cref="Error"/> tells whether the list was malformed (a length of 0, or a descriptor running past the list).
/// </summary>
internal ref struct FipDescriptorReader
{
    private readonly ReadOnlySpan<byte> _list;
    private int _offset;

    /// <summary>A reader over <paramref name="descriptorList"/> (exactly the list: length from the FIP header).</summary>
    public FipDescriptorReader(ReadOnlySpan<byte> descriptorList)
    {
        _list = descriptorList;
        _offset = 0;
        Error = FipDescriptorError.None;
    }

    /// <summary>Set when the reader stopped at a malformed descriptor.</summary>
    public FipDescriptorError Error { get; private set; }

    /// <summary>The next descriptor; false at the end of the list or at a malformed descriptor (see <see cref="Error"/>).</summary>
    public bool TryReadNext(out FipDescriptor descriptor)
    {
        descriptor = default;
        if (Error != FipDescriptorError.None || _offset >= _list.Length)
        {
            return false;
        }

        if (_list.Length - _offset < FipDescriptor.HeaderLength)
        {
            Error = FipDescriptorError.Overrun;
            return false;
        }

        int length = _list[_offset + 1] * 4;
        if (length == 0)
        {
            Error = FipDescriptorError.ZeroLength;
            return false;
        }

        if (length > _list.Length - _offset)
        {
            Error = FipDescriptorError.Overrun;
            return false;
        }

        descriptor = new FipDescriptor(_list.Slice(_offset, length));
        _offset += length;
        return true;
    }
}

/// <summary>Writers of the FIP descriptors; each writes every byte (reserved ones zero) and returns the length.</summary>
internal static class FipDescriptorWriter
{
    /// <summary>Bytes of the priority descriptor.</summary>
    public const int PriorityLength = 4;

    /// <summary>Bytes of the MAC address descriptor.</summary>
    public const int MacAddressLength = 8;

    /// <summary>Bytes of the FC-MAP descriptor.</summary>
    public const int FcMapLength = 8;

    /// <summary>Bytes of the name identifier descriptor.</summary>
    public const int NameLength = 12;

    /// <summary>Bytes of the fabric descriptor.</summary>
    public const int FabricLength = 16;

    /// <summary>Bytes of the max FCoE size descriptor.</summary>
    public const int MaxFcoeSizeLength = 4;

    /// <summary>Bytes of the VN_Port identification descriptor.</summary>
    public const int VnPortIdLength = 20;

    /// <summary>Bytes of the FKA_ADV_Period descriptor.</summary>
    public const int FkaAdvPeriodLength = 8;

    /// <summary>Bytes of the vendor ID descriptor.</summary>
    public const int VendorIdLength = 12;

    /// <summary>Bytes of the VLAN descriptor.</summary>
    public const int VlanLength = 4;

    /// <summary>Bytes of the FC-4 features descriptor.</summary>
    public const int Fc4FeaturesLength = 4 + Fc4Bitmap.TypesLength + Fc4Bitmap.FeaturesLength;

    /// <summary>The D flag of the FKA_ADV_Period descriptor.</summary>
    public const byte FkaNoKeepAlivesFlag = 0x01;

    /// <summary>Priority descriptor.</summary>
    public static int WritePriority(Span<byte> destination, byte priority)
    {
        var d = Begin(destination, FipDescriptorType.Priority, PriorityLength);
        d[3] = priority;
        return PriorityLength;
    }

    /// <summary>MAC address descriptor.</summary>
    public static int WriteMacAddress(Span<byte> destination, MacAddress mac)
    {
        var d = Begin(destination, FipDescriptorType.MacAddress, MacAddressLength);
        mac.WriteTo(d[2..]);
        return MacAddressLength;
    }

    /// <summary>FC-MAP descriptor.</summary>
    public static int WriteFcMap(Span<byte> destination, uint fcMap)
    {
        var d = Begin(destination, FipDescriptorType.FcMap, FcMapLength);
        WireFormat.WriteUInt24(d[5..], fcMap);
        return FcMapLength;
    }

    /// <summary>Name identifier descriptor.</summary>
    public static int WriteName(Span<byte> destination, ulong name)
    {
        var d = Begin(destination, FipDescriptorType.Name, NameLength);
        WireFormat.WriteWwn(d[4..], name);
        return NameLength;
    }

    /// <summary>Fabric descriptor.</summary>
    public static int WriteFabric(Span<byte> destination, ushort virtualFabricId, uint fcMap, ulong fabricName)
    {
        var d = Begin(destination, FipDescriptorType.Fabric, FabricLength);
        BinaryPrimitives.WriteUInt16BigEndian(d[2..], virtualFabricId);
        WireFormat.WriteUInt24(d[5..], fcMap);
        WireFormat.WriteWwn(d[8..], fabricName);
        return FabricLength;
    }

    /// <summary>Max FCoE size descriptor.</summary>
    public static int WriteMaxFcoeSize(Span<byte> destination, ushort size)
    {
        var d = Begin(destination, FipDescriptorType.MaxFcoeSize, MaxFcoeSizeLength);
        BinaryPrimitives.WriteUInt16BigEndian(d[2..], size);
        return MaxFcoeSizeLength;
    }

    /// <summary>The length of an encapsulation descriptor around an ELS payload of <paramref name="elsPayloadLength"/> bytes.</summary>
    public static int GetEncapsulatedElsLength(int elsPayloadLength) => FipDescriptor.EncapsulationOverhead + WireFormat.PadToWord(elsPayloadLength);

    /// <summary>
    /// An encapsulated FLOGI/FDISC/LOGO/ELP: 2 reserved bytes, the FC header (fill count put into F_CTL) and the ELS
    /// payload padded to a word.
    /// </summary>
    public static int WriteEncapsulatedEls(Span<byte> destination, FipDescriptorType type, FcFrameHeader header, ReadOnlySpan<byte> elsPayload)
    {
        if (type is < FipDescriptorType.Flogi or > FipDescriptorType.Elp)
        {
            WireFormat.ThrowOutOfRange(nameof(type), "Only FLOGI, FDISC, LOGO and ELP are encapsulated.");
        }

        int length = GetEncapsulatedElsLength(elsPayload.Length);
        if (length > byte.MaxValue * 4)
        {
            WireFormat.ThrowOutOfRange(nameof(elsPayload), "The descriptor would be longer than 255 words.");
        }

        var d = Begin(destination, type, length);
        int fill = FcoeFrame.GetFillCount(elsPayload.Length);
        (header with { FCtl = (header.FCtl & ~FCtl.FillMask) | (uint)fill }).WriteTo(d[4..]);
        elsPayload.CopyTo(d[FipDescriptor.EncapsulationOverhead..]);
        return length;
    }

    /// <summary>VN_Port identification descriptor.</summary>
    public static int WriteVnPortId(Span<byte> destination, VnPortIdentity identity)
    {
        var d = Begin(destination, FipDescriptorType.VnPortId, VnPortIdLength);
        identity.Mac.WriteTo(d[2..]);
        WireFormat.WriteUInt24(d[9..], identity.PortId);
        WireFormat.WriteWwn(d[12..], identity.PortName);
        return VnPortIdLength;
    }

    /// <summary>FKA_ADV_Period descriptor.</summary>
    public static int WriteFkaAdvPeriod(Span<byte> destination, uint periodMilliseconds, bool noKeepAlivesExpected = false)
    {
        var d = Begin(destination, FipDescriptorType.FkaAdvPeriod, FkaAdvPeriodLength);
        d[3] = noKeepAlivesExpected ? FkaNoKeepAlivesFlag : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(d[4..], periodMilliseconds);
        return FkaAdvPeriodLength;
    }

    /// <summary>Vendor ID descriptor.</summary>
    public static int WriteVendorId(Span<byte> destination, ulong vendorId)
    {
        var d = Begin(destination, FipDescriptorType.VendorId, VendorIdLength);
        BinaryPrimitives.WriteUInt64BigEndian(d[4..], vendorId);
        return VendorIdLength;
    }

    /// <summary>VLAN descriptor.</summary>
    public static int WriteVlan(Span<byte> destination, ushort vlanId)
    {
        var d = Begin(destination, FipDescriptorType.Vlan, VlanLength);
        BinaryPrimitives.WriteUInt16BigEndian(d[2..], (ushort)(vlanId & Ethernet.VlanIdMask));
        return VlanLength;
    }

    /// <summary>FC-4 features descriptor with the given TYPEs and their feature bits.</summary>
    public static int WriteFc4Features(Span<byte> destination, ReadOnlySpan<Fc4Feature> features)
    {
        var d = Begin(destination, FipDescriptorType.Fc4Features, Fc4FeaturesLength);
        var types = d.Slice(4, Fc4Bitmap.TypesLength);
        var words = d.Slice(4 + Fc4Bitmap.TypesLength, Fc4Bitmap.FeaturesLength);
        foreach (var feature in features)
        {
            Fc4Bitmap.SetType(types, feature.Type);
            Fc4Bitmap.SetFeatures(words, feature.Type, feature.Features);
        }

        return Fc4FeaturesLength;
    }

    private static Span<byte> Begin(Span<byte> destination, FipDescriptorType type, int length)
    {
        WireFormat.EnsureLength(destination, length);
        var d = destination[..length];
        d.Clear();
        d[0] = (byte)type;
        d[1] = (byte)(length / 4);
        return d;
    }
}
