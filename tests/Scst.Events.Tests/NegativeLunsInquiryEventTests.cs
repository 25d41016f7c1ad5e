// Licensed under the Apache License, Version 2.0.

namespace Scst.Events.Tests;

public class NegativeLunsInquiryEventTests
{
    [Fact]
    public void WriteTo_DirtyBuffer_PlacesNamesAtScstOffsets()
    {
        var value = new NegativeLunsInquiryEvent("iqn.init", "iqn.target");
        var payload = PayloadAssert.Dirty(NegativeLunsInquiryEvent.PayloadSize);

        value.WriteTo(payload);

        NegativeLunsInquiryEvent.PayloadSize.Should().Be(512);
        PayloadAssert.FixedString(payload, 0, 256, "iqn.init");
        PayloadAssert.FixedString(payload, 256, 256, "iqn.target");
    }

    [Fact]
    public void Parse_WrittenPayload_RoundTrips()
    {
        var value = new NegativeLunsInquiryEvent("initiator", "target");

        var parsed = NegativeLunsInquiryEvent.Parse(value.ToPayload());

        parsed.Should().Be(value);
    }

    [Fact]
    public void WriteTo_LongNames_TruncatesTo255Bytes()
    {
        var parsed = NegativeLunsInquiryEvent.Parse(
            new NegativeLunsInquiryEvent(new string('x', 1000), new string('y', 255)).ToPayload());

        parsed.InitiatorName.Should().HaveLength(255);
        parsed.TargetName.Should().Be(new string('y', 255));
    }

    [Fact]
    public void TryParse_ShortPayload_ReturnsFalse()
    {
        NegativeLunsInquiryEvent.TryParse(new byte[511], out _).Should().BeFalse();
    }
}
