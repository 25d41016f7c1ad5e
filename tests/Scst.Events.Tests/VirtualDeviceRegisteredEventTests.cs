// Licensed under the Apache License, Version 2.0.

namespace Scst.Events.Tests;

public class VirtualDeviceRegisteredEventTests
{
    [Fact]
    public void WriteTo_DirtyBuffer_WritesNulTerminatedNameIn60Bytes()
    {
        var payload = PayloadAssert.Dirty(VirtualDeviceRegisteredEvent.PayloadSize);

        new VirtualDeviceRegisteredEvent("disk01").WriteTo(payload);

        VirtualDeviceRegisteredEvent.PayloadSize.Should().Be(60);
        PayloadAssert.FixedString(payload, 0, 60, "disk01");
    }

    [Fact]
    public void WriteTo_64CharacterName_TruncatesTo59CharactersAndNul()
    {
        var name = new string('d', 64);

        var payload = new VirtualDeviceRegisteredEvent(name).ToPayload();

        payload.Should().HaveCount(60);
        payload[59].Should().Be(0);
        VirtualDeviceRegisteredEvent.Parse(payload).DeviceName.Should().Be(new string('d', 59));
    }

    [Fact]
    public void WriteTo_MultibyteCharacterAtLimit_CutsAtCharacterBoundary()
    {
        // 58 ASCII bytes then a 2-byte 'é': only 1 byte is left before the NUL, so 'é' must go whole.
        var name = new string('a', 58) + "é";

        var parsed = VirtualDeviceRegisteredEvent.Parse(new VirtualDeviceRegisteredEvent(name).ToPayload());

        parsed.DeviceName.Should().Be(new string('a', 58));
    }

    [Fact]
    public void Parse_WrittenPayload_RoundTrips()
    {
        var value = new VirtualDeviceRegisteredEvent("vdisk_fileio_1");

        VirtualDeviceRegisteredEvent.Parse(value.ToPayload()).Should().Be(value);
    }

    [Fact]
    public void TryParse_ShortPayload_ReturnsFalse()
    {
        VirtualDeviceRegisteredEvent.TryParse(new byte[59], out _).Should().BeFalse();
    }
}
