// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Text;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Transport.Iscsi.Tests.Protocol;

public class TextKeysTests
{
    private static (TextParseError Error, List<TextKeyValue> Pairs) Parse(string text)
    {
        var pairs = new List<TextKeyValue>();
        return (TextKeys.TryParse(Encoding.UTF8.GetBytes(text), pairs), pairs);
    }

    [Fact]
    public void TryParse_WellFormedPairs_ReturnsThemInOrder()
    {
        var (error, pairs) = Parse("InitiatorName=iqn.1993-08.org.debian:01:abc\0HeaderDigest=CRC32C,None\0X-com.example.k=v=w\0");

        error.Should().Be(TextParseError.None);
        pairs.Should().Equal(
            new TextKeyValue("InitiatorName", "iqn.1993-08.org.debian:01:abc"),
            new TextKeyValue("HeaderDigest", "CRC32C,None"),
            new TextKeyValue("X-com.example.k", "v=w"));
    }

    [Fact]
    public void TryParse_EmptyValueAndStrayNulls_Accepted()
    {
        var (error, pairs) = Parse("InitiatorAlias=\0\0\0");

        error.Should().Be(TextParseError.None);
        pairs.Should().Equal(new TextKeyValue("InitiatorAlias", string.Empty));
    }

    [Theory]
    [InlineData("NoEquals\0", (int)TextParseError.MissingEquals)]
    [InlineData("=value\0", (int)TextParseError.EmptyKey)]
    [InlineData("Bad Key=1\0", (int)TextParseError.InvalidKeyCharacter)]
    [InlineData("Key=1", (int)TextParseError.MissingTerminator)]
    public void TryParse_Malformed_ReportsError(string text, int expected)
    {
        Parse(text).Error.Should().Be((TextParseError)expected);
    }

    [Fact]
    public void TryParse_KeyOf64Bytes_Refused()
    {
        Parse(new string('K', 63) + "=1\0").Error.Should().Be(TextParseError.None);
        Parse(new string('K', 64) + "=1\0").Error.Should().Be(TextParseError.KeyTooLong);
    }

    [Fact]
    public void TryParse_ValueOf256Bytes_RefusedExceptForLongValueKeys()
    {
        var value = new string('v', 256);

        Parse("InitiatorAlias=" + new string('v', 255) + "\0").Error.Should().Be(TextParseError.None);
        Parse("InitiatorAlias=" + value + "\0").Error.Should().Be(TextParseError.ValueTooLong);
        Parse("CHAP_C=" + value + "\0").Error.Should().Be(TextParseError.None);
        Parse("TargetAddress=" + value + "\0").Error.Should().Be(TextParseError.None);
    }

    [Fact]
    public void TryParse_InvalidUtf8_Refused()
    {
        var pairs = new List<TextKeyValue>();

        TextKeys.TryParse([(byte)'K', (byte)'=', 0xc3, 0x28, 0], pairs).Should().Be(TextParseError.InvalidUtf8);
    }

    [Fact]
    public void Write_Pairs_ProducesNullTerminatedText()
    {
        var writer = new ArrayBufferWriter<byte>();

        TextKeys.Write(writer, "MaxBurstLength", 262144);
        TextKeys.Write(writer, "InitialR2T", true);
        TextKeys.Write(writer, "TargetAlias", "disk ü");

        Encoding.UTF8.GetString(writer.WrittenSpan).Should().Be("MaxBurstLength=262144\0InitialR2T=Yes\0TargetAlias=disk ü\0");
    }

    [Fact]
    public void Accumulator_PairSplitAcrossSegments_JoinsThem()
    {
        var accumulator = new TextSegmentAccumulator();
        var whole = Encoding.ASCII.GetBytes("InitiatorName=iqn.2026-01.test:init\0SessionType=Normal\0");

        accumulator.TryAppend(new ReadOnlySequence<byte>(whole, 0, 20)).Should().BeTrue();
        accumulator.TryAppend(Bytes.Split(whole[20..], 7)).Should().BeTrue();
        var pairs = new List<TextKeyValue>();

        TextKeys.TryParse(accumulator.Text, pairs).Should().Be(TextParseError.None);
        pairs.Should().HaveCount(2);
        pairs[0].Value.Should().Be("iqn.2026-01.test:init");
    }

    [Fact]
    public void Accumulator_BeyondCap_RefusesAndKeepsPrevious()
    {
        var accumulator = new TextSegmentAccumulator(maxLengthBytes: 16);

        accumulator.TryAppend(new ReadOnlySequence<byte>(new byte[10])).Should().BeTrue();
        accumulator.TryAppend(new ReadOnlySequence<byte>(new byte[7])).Should().BeFalse();

        accumulator.Text.Length.Should().Be(10);
        accumulator.Reset();
        accumulator.Text.Length.Should().Be(0);
    }
}
