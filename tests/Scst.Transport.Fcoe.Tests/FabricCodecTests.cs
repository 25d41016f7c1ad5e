// Licensed under the Apache License, Version 2.0.

using System.Text;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// The codecs fabric mode added: the FCF's frames (advertisement, VLAN notification, Clear Virtual Links) and the
/// advertisement reader, the name server's RSPN_ID/GPN_FT/GID_FT pieces and the RSCN writer, against bytes built by
/// hand from the layout tables of FC-BB-5, FC-GS-7 and FC-LS-3.
/// </summary>
public class FabricCodecTests
{
    private static readonly MacAddress s_fcf = MacAddress.Parse("00:0d:ec:aa:bb:cc");
    private static readonly MacAddress s_enode = MacAddress.Parse("52:54:00:fc:00:02");
    private const string FcfHex = "000DECAABBCC";
    private const string ENodeHex = "525400FC0002";
    private const string AdvertisementDescriptors = "01 01 00 80" + "02 02" + FcfHex + "04 03 0000 2001000DECAABB00"
        + "05 04 0064 00 0EFC00 1001000DECAABB00" + "0C 02 00 01 00001F40";

    private static readonly FcfAdvertisement s_advertisement = new(128, s_fcf, 0x2001_000D_ECAA_BB00, 100, MacAddress.DefaultFcMap,
        0x1001_000D_ECAA_BB00, 8000, NoKeepAlivesExpected: true);

    [Fact]
    public void DiscoveryAdvertisement_MatchesTheLayout_AndReadsBack()
    {
        var frame = Bytes.Dirty(200);

        int length = FipFrame.WriteDiscoveryAdvertisement(frame, MacAddress.AllENodeMacs, s_fcf, null,
            FipFlags.Fpma | FipFlags.Available | FipFlags.FPort, s_advertisement, 0);

        Bytes.Equal(Bytes.Hex("011018010001" + FcfHex + "8914" + "10 00 0001 00 02 000C 8005" + AdvertisementDescriptors), frame.AsSpan(0, length));
        FipFrame.TryRead(frame.AsSpan(0, length), out var view).Should().Be(FipReadResult.Success);
        FipFrame.TryReadAdvertisement(view, out var read).Should().BeTrue();
        read.Should().Be(s_advertisement);
        (FipFrame.AdvertisementDescriptorsLength / 4).Should().Be(12);
    }

    [Fact]
    public void SolicitedAdvertisement_IsPaddedWithZerosToTheSolicitorsMaxFcoeSize_OnItsVlan()
    {
        var frame = Bytes.Dirty(FcoeFrame.MaxTaggedFrameLength);

        int length = FipFrame.WriteDiscoveryAdvertisement(frame, s_enode, s_fcf, 1002,
            FipFlags.Fpma | FipFlags.Available | FipFlags.Solicited | FipFlags.FPort, s_advertisement, 18 + 2158);

        length.Should().Be(2176);
        Bytes.Equal(Bytes.Hex(ENodeHex + FcfHex + "8100 03EA 8914" + "10 00 0001 00 02 000C 8007" + AdvertisementDescriptors),
            frame.AsSpan(0, 18 + 10 + 48));
        frame.AsSpan(76, length - 76).ContainsAnyExcept((byte)0).Should().BeFalse();
        FipFrame.TryRead(frame.AsSpan(0, length), out var view).Should().Be(FipReadResult.Success);
        view.VlanTag.Should().Be(1002);
        FipFrame.TryReadAdvertisement(view, out var read).Should().BeTrue();
        read.Should().Be(s_advertisement);
    }

    [Fact]
    public void TryReadAdvertisement_RefusesAnotherMessage_AMissingDescriptor_AndAMalformedList()
    {
        // No FKA_ADV_Period descriptor.
        var missing = Bytes.Hex("011018010001" + FcfHex + "8914" + "10 00 0001 00 02 000A 8005" + AdvertisementDescriptors[..^20]);
        FipFrame.TryRead(missing, out var view).Should().Be(FipReadResult.Success);
        FipFrame.TryReadAdvertisement(view, out _).Should().BeFalse();

        // A zero-length descriptor after the five.
        var malformed = Bytes.Hex("011018010001" + FcfHex + "8914" + "10 00 0001 00 02 000D 8005" + AdvertisementDescriptors + "01 00 00 00");
        FipFrame.TryRead(malformed, out view).Should().Be(FipReadResult.Success);
        FipFrame.TryReadAdvertisement(view, out _).Should().BeFalse();

        // A solicitation is not an advertisement.
        var solicitation = new byte[100];
        int length = FipFrame.WriteDiscoverySolicitation(solicitation, MacAddress.AllFcfMacs, s_enode, null, FipFlags.Fpma, 1, 2158);
        FipFrame.TryRead(solicitation.AsSpan(0, length), out view).Should().Be(FipReadResult.Success);
        FipFrame.TryReadAdvertisement(view, out _).Should().BeFalse();
    }

    [Fact]
    public void VlanNotification_CarriesTheFcfMacAndOneDescriptorPerVlan()
    {
        var frame = Bytes.Dirty(100);

        int length = FipFrame.WriteVlanNotification(frame, s_enode, s_fcf, [1002, 0xF064]);

        Bytes.Equal(Bytes.Hex(ENodeHex + FcfHex + "8914" + "10 00 0004 00 02 0004 0000" + "02 02" + FcfHex + "0E 01 03EA" + "0E 01 0064"
            + new string('0', 40)), frame.AsSpan(0, length));
        length.Should().Be(60);
    }

    [Fact]
    public void ClearVirtualLinks_CarriesTheFcfMacItsNameAndTheVnPorts()
    {
        var frame = Bytes.Dirty(100);
        var fpma = MacAddress.FromFpma(MacAddress.DefaultFcMap, 0x0A0101);

        int length = FipFrame.WriteClearVirtualLinks(frame, s_enode, s_fcf, null, 0x2001_000D_ECAA_BB00,
            [new VnPortIdentity(fpma, 0x0A0101, Captures.TargetPortName)]);

        Bytes.Equal(Bytes.Hex(ENodeHex + FcfHex + "8914" + "10 00 0003 00 02 000A 0000" + "02 02" + FcfHex + "04 03 0000 2001000DECAABB00"
            + "0B 05 0EFC000A0101 00 0A0101 2000525400FC0002"), frame.AsSpan(0, length));

        length = FipFrame.WriteClearVirtualLinks(frame, s_enode, s_fcf, null, 0x2001_000D_ECAA_BB00, []);
        Bytes.Equal(Bytes.Hex(ENodeHex + FcfHex + "8914" + "10 00 0003 00 02 0005 0000" + "02 02" + FcfHex + "04 03 0000 2001000DECAABB00"
            + new string('0', 32)), frame.AsSpan(0, length));
    }

    [Fact]
    public void Rscn_WritesItsPages_AndReadsThemBack()
    {
        var payload = Bytes.Dirty(16);

        int length = Rscn.Write(payload, [new RscnPage(RscnAddressFormat.Port, 0x0A0102), new RscnPage(RscnAddressFormat.Domain, 0x0A0000)]);

        Bytes.Equal(Bytes.Hex("61 04 000C" + "00 0A0102" + "02 0A0000"), payload.AsSpan(0, length));
        Rscn.TryReadHeader(payload.AsSpan(0, length), out int pages).Should().BeTrue();
        pages.Should().Be(2);
        Rscn.TryReadPage(payload.AsSpan(0, length), 1, out byte format, out uint id).Should().BeTrue();
        (format, id).Should().Be((RscnAddressFormat.Domain, 0x0A0000u));
    }

    [Fact]
    public void RspnId_ReadsTheNameByItsLengthByte_AndRefusesAShortBody()
    {
        var body = new byte[40];
        int length = NameServer.WriteRspnId(body, 0x0A0101, Encoding.ASCII.GetBytes("scst fcoe"));

        NameServer.TryReadRspnId(body.AsSpan(0, length), out uint portId, out var name).Should().BeTrue();
        portId.Should().Be(0x0A0101);
        Encoding.ASCII.GetString(name).Should().Be("scst fcoe");
        NameServer.TryReadRspnId(body.AsSpan(0, length - 1), out _, out _).Should().BeFalse("the length byte says 9");
        NameServer.TryReadRspnId(body.AsSpan(0, 4), out _, out _).Should().BeFalse();
    }

    [Fact]
    public void GpnFtAndGidFt_RequestsAndAcceptEntries_MatchTheLayout()
    {
        var request = new byte[4];
        NameServer.WriteGpnFt(request, FcType.Fcp, 0x0A, 0x01);
        NameServer.TryReadGpnFt(request, out byte type, out byte domain, out byte area).Should().BeTrue();
        (type, domain, area).Should().Be((FcType.Fcp, (byte)0x0A, (byte)0x01));
        NameServer.TryReadGpnFt(request.AsSpan(0, 3), out _, out _, out _).Should().BeFalse();

        var entries = Bytes.Dirty(32);
        NameServer.WriteGpnFtEntry(entries, 0x0A0101, Captures.InitiatorPortName, false).Should().Be(16);
        NameServer.WriteGpnFtEntry(entries.AsSpan(16), 0x0A0102, Captures.TargetPortName, true).Should().Be(16);
        Bytes.Equal(Bytes.Hex("00 0A0101 00000000 2000525400FC0001" + "80 0A0102 00000000 2000525400FC0002"), entries);

        var ids = Bytes.Dirty(8);
        NameServer.WriteGidFtEntry(ids, 0x0A0101, false).Should().Be(4);
        NameServer.WriteGidFtEntry(ids.AsSpan(4), 0x0A0102, true).Should().Be(4);
        Bytes.Equal(Bytes.Hex("00 0A0101 80 0A0102"), ids);
        NameServer.TryReadGidFtEntry(ids, 1, out uint id, out bool last).Should().BeTrue();
        (id, last).Should().Be((0x0A0102u, true));
        NameServer.TryReadGidFtEntry(ids, 2, out _, out _).Should().BeFalse();
        NameServer.TryReadGidFtEntry(ids, -1, out _, out _).Should().BeFalse();
    }
}
