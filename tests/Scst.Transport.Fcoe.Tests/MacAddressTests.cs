// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

public class MacAddressTests
{
    [Fact]
    public void WellKnownAddresses_AreThoseOfFcBb5AndFcBb6()
    {
        MacAddress.AllFcoeMacs.ToString().Should().Be("01:10:18:01:00:00");
        MacAddress.AllENodeMacs.ToString().Should().Be("01:10:18:01:00:01");
        MacAddress.AllFcfMacs.ToString().Should().Be("01:10:18:01:00:02");
        MacAddress.AllVn2VnMacs.ToString().Should().Be("01:10:18:01:00:04");
        MacAddress.AllP2PMacs.ToString().Should().Be("01:10:18:01:00:05");
        MacAddress.LegacyFlogiMac.ToString().Should().Be("0e:fc:00:ff:ff:fe");
        MacAddress.AllVn2VnMacs.IsMulticast.Should().BeTrue();
        Captures.InitiatorENode.IsMulticast.Should().BeFalse();
    }

    [Fact]
    public void Vn2VnAndFpmaMacs_AreTheFcMapFollowedByThePortId()
    {
        var vn = MacAddress.FromVn2VnPortId(0x003456);
        var fpma = MacAddress.FromFpma(MacAddress.DefaultFcMap, 0x010203);

        vn.ToString().Should().Be("0e:fd:00:00:34:56");
        vn.Prefix.Should().Be(MacAddress.Vn2VnFcMap);
        vn.PortId.Should().Be(0x003456);
        fpma.ToString().Should().Be("0e:fc:00:01:02:03");
        MacAddress.FromVn2VnPortId(0xFF_000002).Should().Be(MacAddress.FromVn2VnPortId(2), "only 24 bits of the id are used");
    }

    [Theory]
    [InlineData("52:54:00:FC:00:01", "52:54:00:fc:00:01")]
    [InlineData("52-54-00-fc-00-01", "52:54:00:fc:00:01")]
    [InlineData("ff:ff:ff:ff:ff:ff", "ff:ff:ff:ff:ff:ff")]
    public void Parse_AcceptsColonsOrDashesInEitherCase(string text, string expected)
    {
        var mac = MacAddress.Parse(text);

        mac.ToString().Should().Be(expected);
        $"{mac}".Should().Be(expected);
    }

    [Theory]
    [InlineData("")]
    [InlineData("52:54:00:fc:00")]
    [InlineData("52:54:00:fc:00:0g")]
    [InlineData("52:54:00:fc:00:011")]
    [InlineData("52.54.00.fc.00.01")]
    [InlineData(null)]
    public void TryParse_RefusesAnythingElse(string? text)
    {
        MacAddress.TryParse(text, out _).Should().BeFalse();
    }

    [Fact]
    public void ReadAndWrite_AreBigEndianSixBytes()
    {
        var bytes = Bytes.Dirty(8);
        var mac = MacAddress.Parse("01:23:45:67:89:ab");

        mac.WriteTo(bytes);

        bytes.Should().Equal(0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xFF, 0xFF);
        MacAddress.Read(bytes).Should().Be(mac);
        mac.ToUInt64().Should().Be(0x0123_4567_89AB);
        MacAddress.FromUInt64(0x0123_4567_89AB).Should().Be(mac);
        (mac == MacAddress.Parse("01:23:45:67:89:AB")).Should().BeTrue();
        (mac != MacAddress.Broadcast).Should().BeTrue();
        default(MacAddress).IsZero.Should().BeTrue();
    }
}
