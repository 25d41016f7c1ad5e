// Licensed under the Apache License, Version 2.0.

namespace Scst.Events.Tests;

public class LunNotFoundEventTests
{
    [Fact]
    public void WriteTo_DirtyBuffer_PlacesFieldsAtScstOffsets()
    {
        var value = new LunNotFoundEvent(0x0102030405060708, "iqn.1993-08.org.debian:01:abc", "iqn.2026-01.org.example:t1");
        var payload = PayloadAssert.Dirty(LunNotFoundEvent.PayloadSize);

        value.WriteTo(payload);

        LunNotFoundEvent.PayloadSize.Should().Be(520);
        PayloadAssert.Equal([0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01], payload.AsSpan(0, 8));
        PayloadAssert.FixedString(payload, 8, 256, "iqn.1993-08.org.debian:01:abc");
        PayloadAssert.FixedString(payload, 264, 256, "iqn.2026-01.org.example:t1");
    }

    [Fact]
    public void Parse_WrittenPayload_RoundTrips()
    {
        var value = new LunNotFoundEvent(42, "initiator", "target");

        var parsed = LunNotFoundEvent.Parse(value.ToPayload());

        parsed.Should().Be(value);
    }

    [Fact]
    public void WriteTo_NamesLongerThanField_TruncatesTo255BytesAndNulTerminates()
    {
        var longName = new string('i', 300);
        var value = new LunNotFoundEvent(1, longName, new string('t', 256));

        var payload = value.ToPayload();
        var parsed = LunNotFoundEvent.Parse(payload);

        payload[8 + 255].Should().Be(0);
        payload[264 + 255].Should().Be(0);
        parsed.InitiatorName.Should().Be(new string('i', 255));
        parsed.TargetName.Should().Be(new string('t', 255));
    }

    [Fact]
    public void TryParse_ShortPayload_ReturnsFalse()
    {
        var ok = LunNotFoundEvent.TryParse(new byte[519], out var value);

        ok.Should().BeFalse();
        value.Should().Be(default(LunNotFoundEvent));
    }

    [Fact]
    public void Parse_ShortPayload_ThrowsFormatException()
    {
        var act = () => LunNotFoundEvent.Parse(new byte[10]);

        act.Should().Throw<FormatException>();
    }

    [Fact]
    public void WriteTo_DestinationTooSmall_ThrowsArgumentException()
    {
        var act = () => new LunNotFoundEvent(1, "i", "t").WriteTo(new byte[519]);

        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("destination");
    }

    [Fact]
    public void Parse_FieldWithoutNul_ReadsWholeField()
    {
        var payload = new byte[LunNotFoundEvent.PayloadSize];
        payload.AsSpan(8, 256).Fill((byte)'a');

        var parsed = LunNotFoundEvent.Parse(payload);

        parsed.InitiatorName.Should().Be(new string('a', 256));
        parsed.TargetName.Should().BeEmpty();
    }
}
