// Licensed under the Apache License, Version 2.0.

namespace Scst.Events.Tests;

public class ExternalBlockingDoneEventTests
{
    [Fact]
    public void WriteTo_DirtyBuffer_PlacesLengthAt256AndDataAt260()
    {
        var value = new ExternalBlockingDoneEvent("disk1", new byte[] { 0xAA, 0xBB, 0xCC });
        var payload = PayloadAssert.Dirty(value.PayloadSize);

        value.WriteTo(payload);

        value.PayloadSize.Should().Be(263);
        PayloadAssert.FixedString(payload, 0, 256, "disk1");
        PayloadAssert.Equal([3, 0, 0, 0], payload.AsSpan(256, 4));
        PayloadAssert.Equal([0xAA, 0xBB, 0xCC], payload.AsSpan(260));
    }

    [Fact]
    public void Parse_WrittenPayload_RoundTrips()
    {
        var value = new ExternalBlockingDoneEvent("disk1", "cookie"u8.ToArray());

        var parsed = ExternalBlockingDoneEvent.Parse(value.ToPayload());

        parsed.DeviceName.Should().Be("disk1");
        parsed.Data.ToArray().Should().Equal("cookie"u8.ToArray());
    }

    [Fact]
    public void TryParse_DeclaredLengthBeyondPayload_ReturnsFalse()
    {
        var payload = new ExternalBlockingDoneEvent("disk1", new byte[4]).ToPayload();

        ExternalBlockingDoneEvent.TryParse(payload.AsSpan(0, 263), out _).Should().BeFalse();
    }
}
