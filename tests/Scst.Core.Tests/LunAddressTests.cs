// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.Core.Tests;

public sealed class LunAddressTests
{
    [Theory]
    [InlineData(0, 0x0000_0000_0000_0000UL)]
    [InlineData(5, 0x0005_0000_0000_0000UL)]
    [InlineData(255, 0x00FF_0000_0000_0000UL)]
    [InlineData(256, 0x4100_0000_0000_0000UL)]
    [InlineData(0x1234, 0x5234_0000_0000_0000UL)]
    [InlineData(LunMap.MaxLun, 0x7FFF_0000_0000_0000UL)]
    public void Encode_Lun_UsesPeripheralBelow256AndFlatAbove(int lun, ulong field)
    {
        ulong encoded = LunAddress.Encode(lun);

        encoded.Should().Be(field);
        LunAddress.Decode(field).Should().Be(lun);
    }

    [Fact]
    public void Decode_EveryEncodedLun_RoundTrips()
    {
        for (int lun = 0; lun <= LunMap.MaxLun; lun++)
        {
            int decoded = LunAddress.Decode(LunAddress.Encode(lun));

            if (decoded != lun)
            {
                decoded.Should().Be(lun);
            }
        }
    }

    [Fact]
    public void Decode_FlatSpaceForSmallLun_IsAccepted()
    {
        int lun = LunAddress.Decode(0x4005_0000_0000_0000UL);

        lun.Should().Be(5);
    }

    [Theory]
    [InlineData(0x0105_0000_0000_0000UL)] // peripheral addressing with bus identifier 1
    [InlineData(0x3F00_0000_0000_0000UL)] // peripheral addressing with bus identifier 63
    [InlineData(0x8005_0000_0000_0000UL)] // logical unit addressing
    [InlineData(0xC005_0000_0000_0000UL)] // extended logical unit addressing
    [InlineData(0x0005_0001_0000_0000UL)] // second level present
    [InlineData(0x0000_0000_0000_0001UL)] // fourth level present
    public void Decode_UnsupportedForm_ReturnsMinusOne(ulong field)
    {
        int lun = LunAddress.Decode(field);

        lun.Should().Be(-1);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(LunMap.MaxLun + 1)]
    public void Encode_OutOfRange_Throws(int lun)
    {
        Action act = () => LunAddress.Encode(lun);

        act.Should().Throw<ArgumentOutOfRangeException>();
    }
}
