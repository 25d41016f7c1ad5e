// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// FIP frames and descriptors the VN2VN captures have no example of (fabric mode, FC-BB-5), against bytes built by
/// hand from the layout tables; the descriptor reader's refusals.
/// </summary>
public class FipHandBuiltTests
{
    private static readonly MacAddress s_fcf = MacAddress.Parse("00:0d:ec:aa:bb:cc");
    private static readonly MacAddress s_enode = MacAddress.Parse("52:54:00:fc:00:02");
    private const string FcfHex = "000DECAABBCC";
    private const string ENodeHex = "525400FC0002";

    [Fact]
    public void ENodeKeepAlive_IsAMacDescriptorPaddedToTheEthernetMinimum()
    {
        var frame = Bytes.Dirty(100);

        int length = FipFrame.WriteENodeKeepAlive(frame, s_fcf, s_enode, null);

        length.Should().Be(60);
        Bytes.Equal(Bytes.Hex(FcfHex + ENodeHex + "8914" + "10 00 0003 00 01 0002 0000" + "02 02" + ENodeHex + new string('0', 56)),
            frame.AsSpan(0, length));
    }

    [Fact]
    public void VnPortKeepAlive_CarriesTheENodeMacAndTheVnPortIdentity()
    {
        var vnMac = MacAddress.FromFpma(MacAddress.DefaultFcMap, 0x010203);
        var frame = Bytes.Dirty(100);

        int length = FipFrame.WriteVnPortKeepAlive(frame, s_fcf, vnMac, null, s_enode, new VnPortIdentity(vnMac, 0x010203, Captures.TargetPortName));

        Bytes.Equal(Bytes.Hex(FcfHex + "0EFC00010203" + "8914" + "10 00 0003 00 01 0007 0000" + "02 02" + ENodeHex
            + "0B 05 0EFC00010203 00 010203 2000525400FC0002" + new string('0', 16)), frame.AsSpan(0, length));
        FipFrame.TryRead(frame.AsSpan(0, length), out var view).Should().Be(FipReadResult.Success);
        view.Header.Message.Should().Be(FipMessage.KeepAlive);
        view.Descriptors.Length.Should().Be(28);
    }

    [Fact]
    public void VlanRequest_WithAndWithoutName_MatchesTheLayout()
    {
        var frame = Bytes.Dirty(100);

        int length = FipFrame.WriteVlanRequest(frame, MacAddress.AllFcfMacs, s_enode, null);
        Bytes.Equal(Bytes.Hex("011018010002" + ENodeHex + "8914" + "10 00 0004 00 01 0002 0000" + "02 02" + ENodeHex + new string('0', 56)),
            frame.AsSpan(0, length));

        length = FipFrame.WriteVlanRequest(frame, MacAddress.AllVn2VnMacs, s_enode, Captures.TargetNodeName);
        Bytes.Equal(Bytes.Hex("011018010004" + ENodeHex + "8914" + "10 00 0004 00 01 0005 0000" + "02 02" + ENodeHex
            + "04 03 0000 1000525400FC0002" + new string('0', 32)), frame.AsSpan(0, length));
    }

    [Fact]
    public void DiscoverySolicitation_CarriesMacNameAndMaxFcoeSize()
    {
        var frame = Bytes.Dirty(100);

        int length = FipFrame.WriteDiscoverySolicitation(frame, MacAddress.AllFcfMacs, s_enode, null, FipFlags.Fpma,
            Captures.TargetNodeName, FcoeFrame.MaxFcoeSize);

        Bytes.Equal(Bytes.Hex("011018010002" + ENodeHex + "8914" + "10 00 0001 00 01 0006 8000" + "02 02" + ENodeHex
            + "04 03 0000 1000525400FC0002" + "06 01 086E" + new string('0', 24)), frame.AsSpan(0, length));
    }

    [Fact]
    public void DiscoverySolicitation_OnAVlan_IsTagged()
    {
        var frame = Bytes.Dirty(100);

        int length = FipFrame.WriteDiscoverySolicitation(frame, MacAddress.AllFcfMacs, s_enode, 1002, FipFlags.Fpma,
            Captures.TargetNodeName, FcoeFrame.MaxFcoeSize);

        length.Should().Be(60);
        frame.AsSpan(12, 6).ToArray().Should().Equal(0x81, 0x00, 0x03, 0xEA, 0x89, 0x14);
        FipFrame.TryRead(frame.AsSpan(0, length), out var view).Should().Be(FipReadResult.Success);
        view.VlanTag.Should().Be((ushort)1002);
        view.Header.Flags.Should().Be(FipFlags.Fpma);
    }

    [Fact]
    public void FdiscAndLogoEncapsulation_UseTheirDescriptorTypes()
    {
        var header = new FcFrameHeader
        {
            RCtl = RCtl.ElsRequest, DestinationId = WellKnownAddress.FabricLogin, SourceId = 0x010203, Type = FcType.Els,
            FCtl = FCtl.Request, OxId = 0x0042, RxId = FcFrameHeader.UnassignedExchangeId,
        };
        var logo = new byte[LogoPayload.Length];
        new LogoPayload(0x010203, Captures.TargetPortName).WriteTo(logo);
        var frame = Bytes.Dirty(100);
        var vnMac = MacAddress.FromFpma(MacAddress.DefaultFcMap, 0x010203);

        int length = FipFrame.WriteLinkServiceRequest(frame, s_fcf, s_enode, null, FipFlags.Fpma, FipDescriptorType.Logo, header, logo, vnMac);

        Bytes.Equal(Bytes.Hex(FcfHex + ENodeHex + "8914" + "10 00 0002 00 01 000D 8000"
            + "09 0B 0000" + "22 FFFFFE 00 010203 01 290000 00 00 0000 0042 FFFF 00000000"
            + "05 000000 00 010203 2000525400FC0002" + "02 02 0EFC00010203"), frame.AsSpan(0, length));
        FipFrame.TryRead(frame.AsSpan(0, length), out var view).Should().Be(FipReadResult.Success);
        var reader = view.GetDescriptorReader();
        reader.TryReadNext(out var d).Should().BeTrue();
        d.Type.Should().Be(FipDescriptorType.Logo);
        d.TryReadEncapsulatedEls(out var read, out var els).Should().BeTrue();
        read.Should().Be(header);
        els.ToArray().Should().Equal(logo);

        var act = () => FipFrame.WriteLinkServiceRequest(new byte[200], s_fcf, s_enode, null, 0, FipDescriptorType.Name, header, logo, vnMac);
        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void EncapsulatedEls_OfAnOddLength_IsPaddedWithItsFillCountInFCtl()
    {
        var header = new FcFrameHeader { RCtl = RCtl.ElsReply, FCtl = FCtl.LastReply, Type = FcType.Els };
        var descriptor = Bytes.Dirty(40);

        int length = FipDescriptorWriter.WriteEncapsulatedEls(descriptor, FipDescriptorType.Flogi, header, [0x02, 0x00, 0x00, 0x00, 0xAB]);

        length.Should().Be(36);
        Bytes.Equal(Bytes.Hex("07 09 0000 23 000000 00 000000 01 980003 00 00 0000 0000 0000 00000000 02000000 AB000000"), descriptor.AsSpan(0, length));
        new FipDescriptor(descriptor.AsSpan(0, length)).TryReadEncapsulatedEls(out _, out var els).Should().BeTrue();
        els.ToArray().Should().Equal(0x02, 0x00, 0x00, 0x00, 0xAB);
    }

    [Fact]
    public void DiscoveryAdvertisement_FromAnFcf_IsReadDescriptorByDescriptor()
    {
        // Priority, MAC, Name (switch), Fabric, FKA_ADV_Period: what an ENode reads from an FCF.
        var frame = Bytes.Hex("011018010001" + FcfHex + "8914" + "10 00 0001 00 02 000C 8005"
            + "01 01 00 80" + "02 02" + FcfHex + "04 03 0000 2001000DECAABB00" + "05 04 0064 00 0EFC00 1001000DECAABB00"
            + "0C 02 00 01 00001F40");

        FipFrame.TryRead(frame, out var view).Should().Be(FipReadResult.Success);
        view.Header.Message.Should().Be(FipMessage.DiscoveryAdvertisement);
        view.Header.Flags.Should().Be(FipFlags.Fpma | FipFlags.Available | FipFlags.FPort);
        var reader = view.GetDescriptorReader();
        reader.TryReadNext(out var d).Should().BeTrue();
        d.TryReadPriority(out byte priority).Should().BeTrue();
        priority.Should().Be(128);
        reader.TryReadNext(out d).Should().BeTrue();
        d.TryReadMacAddress(out var mac).Should().BeTrue();
        mac.Should().Be(s_fcf);
        reader.TryReadNext(out d).Should().BeTrue();
        d.TryReadName(out ulong switchName).Should().BeTrue();
        switchName.Should().Be(0x2001_000D_ECAA_BB00);
        reader.TryReadNext(out d).Should().BeTrue();
        d.TryReadFabric(out ushort vfId, out uint fcMap, out ulong fabricName).Should().BeTrue();
        (vfId, fcMap, fabricName).Should().Be(((ushort)100, MacAddress.DefaultFcMap, 0x1001_000D_ECAA_BB00ul));
        reader.TryReadNext(out d).Should().BeTrue();
        d.TryReadFkaAdvPeriod(out uint period, out bool noKeepAlives).Should().BeTrue();
        (period, noKeepAlives).Should().Be((8000u, true));
        reader.TryReadNext(out _).Should().BeFalse();
        reader.Error.Should().Be(FipDescriptorError.None);
    }

    [Fact]
    public void DescriptorWriters_MatchTheLayoutTable()
    {
        AssertDescriptor(d => FipDescriptorWriter.WritePriority(d, 128), "01 01 00 80");
        AssertDescriptor(d => FipDescriptorWriter.WriteMacAddress(d, s_enode), "02 02" + ENodeHex);
        AssertDescriptor(d => FipDescriptorWriter.WriteFcMap(d, MacAddress.DefaultFcMap), "03 02 000000 0EFC00");
        AssertDescriptor(d => FipDescriptorWriter.WriteName(d, Captures.TargetNodeName), "04 03 0000 1000525400FC0002");
        AssertDescriptor(d => FipDescriptorWriter.WriteFabric(d, 100, MacAddress.DefaultFcMap, 0x1001_000D_ECAA_BB00), "05 04 0064 00 0EFC00 1001000DECAABB00");
        AssertDescriptor(d => FipDescriptorWriter.WriteMaxFcoeSize(d, 2158), "06 01 086E");
        AssertDescriptor(d => FipDescriptorWriter.WriteVnPortId(d, new VnPortIdentity(Captures.TargetVnMac, 2, Captures.TargetPortName)),
            "0B 05 0EFD00000002 00 000002 2000525400FC0002");
        AssertDescriptor(d => FipDescriptorWriter.WriteFkaAdvPeriod(d, 8000), "0C 02 00 00 00001F40");
        AssertDescriptor(d => FipDescriptorWriter.WriteVendorId(d, 0x4C494E5558000000), "0D 03 0000 4C494E5558000000");
        AssertDescriptor(d => FipDescriptorWriter.WriteVlan(d, 0xF064), "0E 01 0064");
    }

    [Fact]
    public void DescriptorReaders_ReadBackWhatTheWritersWrote()
    {
        var buffer = new byte[20];
        FipDescriptorWriter.WriteFcMap(buffer, 0x0EFC00);
        new FipDescriptor(buffer.AsSpan(0, 8)).TryReadFcMap(out uint fcMap).Should().BeTrue();
        fcMap.Should().Be(0x0EFC00);
        FipDescriptorWriter.WriteVendorId(buffer, 0x0102030405060708);
        new FipDescriptor(buffer.AsSpan(0, 12)).TryReadVendorId(out ulong vendor).Should().BeTrue();
        vendor.Should().Be(0x0102030405060708);
        FipDescriptorWriter.WriteVlan(buffer, 1002);
        new FipDescriptor(buffer.AsSpan(0, 4)).TryReadVlan(out ushort vlan).Should().BeTrue();
        vlan.Should().Be(1002);
    }

    [Fact]
    public void TypedReaders_RefuseAnotherTypeOrAWrongLength()
    {
        var name = new byte[12];
        FipDescriptorWriter.WriteName(name, 1);
        var descriptor = new FipDescriptor(name);

        descriptor.TryReadMacAddress(out _).Should().BeFalse();
        descriptor.TryReadVnPortId(out _).Should().BeFalse();
        descriptor.TryReadEncapsulatedEls(out _, out _).Should().BeFalse();
        descriptor.TryReadFc4Features(out _, out _).Should().BeFalse();
        new FipDescriptor(Bytes.Hex("02 03 525400FC0002 0000 0000")).TryReadMacAddress(out _).Should().BeFalse();
        new FipDescriptor(Bytes.Hex("07 01 0000")).TryReadEncapsulatedEls(out _, out _).Should().BeFalse();
    }

    [Fact]
    public void DescriptorReader_ZeroLength_StopsWithAnError()
    {
        var reader = new FipDescriptorReader(Bytes.Hex("01 01 00 80 02 00 00 00"));

        reader.TryReadNext(out _).Should().BeTrue();
        reader.TryReadNext(out _).Should().BeFalse();
        reader.Error.Should().Be(FipDescriptorError.ZeroLength);
        reader.TryReadNext(out _).Should().BeFalse();
    }

    [Fact]
    public void DescriptorReader_DescriptorRunningPastTheList_StopsWithAnError()
    {
        var reader = new FipDescriptorReader(Bytes.Hex("01 01 00 80 04 03 0000 1000525400FC"));

        reader.TryReadNext(out _).Should().BeTrue();
        reader.TryReadNext(out _).Should().BeFalse();
        reader.Error.Should().Be(FipDescriptorError.Overrun);
    }

    [Fact]
    public void DescriptorReader_OneTrailingByte_IsAnOverrun()
    {
        var reader = new FipDescriptorReader(Bytes.Hex("01 01 00 80 0E"));

        reader.TryReadNext(out _).Should().BeTrue();
        reader.TryReadNext(out _).Should().BeFalse();
        reader.Error.Should().Be(FipDescriptorError.Overrun);
    }

    [Fact]
    public void TryRead_RefusesShortForeignOldAndOverlongFrames()
    {
        var probe = Captures.PairFrame(0);

        FipFrame.TryRead(probe.AsSpan(0, 20), out _).Should().Be(FipReadResult.Truncated);
        FipFrame.TryRead(probe.AsSpan(0, 10), out _).Should().Be(FipReadResult.Truncated);
        FipFrame.TryRead(Captures.PairFrame(13), out _).Should().Be(FipReadResult.NotFip);
        var version0 = (byte[])probe.Clone();
        version0[14] = 0x00;
        FipFrame.TryRead(version0, out _).Should().Be(FipReadResult.UnsupportedVersion);
        var overlong = (byte[])probe.Clone();
        overlong[21] = 11;
        FipFrame.TryRead(overlong, out _).Should().Be(FipReadResult.InvalidDescriptorListLength);
    }

    private static void AssertDescriptor(Func<byte[], int> write, string expectedHex)
    {
        var expected = Bytes.Hex(expectedHex);
        var buffer = Bytes.Dirty(expected.Length + 4);
        int length = write(buffer);
        length.Should().Be(expected.Length);
        Bytes.Equal(expected, buffer.AsSpan(0, length));
        buffer[1].Should().Be((byte)(length / 4));
    }
}
