// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Iscsi.Security;

namespace Scst.Transport.Iscsi.Tests.Security;

public class ChapValueTests
{
    [Theory]
    [InlineData("0x00ff10", "00ff10")]
    [InlineData("0X00FF10", "00ff10")]
    [InlineData("0xAbCd", "abcd")]
    [InlineData("0xabc", "0abc")]
    [InlineData("0x5", "05")]
    [InlineData("0bAP8Q", "00ff10")]
    [InlineData("0BAP8Q", "00ff10")]
    [InlineData("0bAP8=", "00ff")]
    [InlineData("0bAA==", "00")]
    public void TryDecode_HexAndBase64_GiveTheBytes(string text, string expected)
    {
        ChapValue.TryDecode(text, out byte[] value).Should().BeTrue();

        Convert.ToHexStringLower(value).Should().Be(expected);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0x")]
    [InlineData("0b")]
    [InlineData("00ff")]
    [InlineData("1x00")]
    [InlineData("0z00")]
    [InlineData("0x0g")]
    [InlineData("0x00 ff")]
    [InlineData("0x-1")]
    [InlineData("0bAP8")]
    [InlineData("0bAP 8Q")]
    [InlineData("0bA===")]
    [InlineData("0bA=AA")]
    [InlineData("0b====")]
    [InlineData("0bAP8Q\n")]
    public void TryDecode_Malformed_Fails(string text)
    {
        ChapValue.TryDecode(text, out _).Should().BeFalse();
    }

    [Fact]
    public void EncodeHex_WritesLowercaseWithPrefix_AndDecodesBack()
    {
        byte[] value = [0x00, 0x9a, 0xff];

        string text = ChapValue.EncodeHex(value);

        text.Should().Be("0x009aff");
        ChapValue.TryDecode(text, out byte[] back).Should().BeTrue();
        back.Should().Equal(value);
    }
}
