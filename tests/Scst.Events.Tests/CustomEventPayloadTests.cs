// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Events.Tests;

public class CustomEventPayloadTests
{
    [Fact]
    public void Codes_Always_StartAtFirstCustomCode()
    {
        ScstEventCode.VirtualDeviceUnregistered.Should().Be(100);
        ScstEventCode.LunAdded.Should().Be(101);
        ScstEventCode.LunRemoved.Should().Be(102);
        ScstEventCode.SessionAdded.Should().Be(103);
        ScstEventCode.SessionRemoved.Should().Be(104);
        ScstEventCode.CapacityChanged.Should().Be(105);
    }

    [Fact]
    public void VirtualDeviceUnregistered_WriteTo_PlacesFieldsAtDocumentedOffsets()
    {
        var payload = PayloadAssert.Dirty(VirtualDeviceUnregisteredEvent.PayloadSize);

        new VirtualDeviceUnregisteredEvent("disk01", "vdisk_fileio").WriteTo(payload);

        VirtualDeviceUnregisteredEvent.PayloadSize.Should().Be(96);
        PayloadAssert.FixedString(payload, 0, 64, "disk01");
        PayloadAssert.FixedString(payload, 64, 32, "vdisk_fileio");
    }

    [Fact]
    public void LunEvent_WriteTo_PlacesFieldsAtDocumentedOffsets()
    {
        var payload = PayloadAssert.Dirty(LunEvent.PayloadSize);

        new LunEvent("iscsi", "iqn.2026-11.org.example:t1", "hosts", 0x01020304, "disk01", ReadOnly: true).WriteTo(payload);

        LunEvent.PayloadSize.Should().Be(421);
        PayloadAssert.FixedString(payload, 0, 32, "iscsi");
        PayloadAssert.FixedString(payload, 32, 256, "iqn.2026-11.org.example:t1");
        PayloadAssert.FixedString(payload, 288, 64, "hosts");
        PayloadAssert.Equal([0x04, 0x03, 0x02, 0x01], payload.AsSpan(352, 4));
        PayloadAssert.FixedString(payload, 356, 64, "disk01");
        payload[420].Should().Be(1);
    }

    [Fact]
    public void LunEvent_DefaultGroupAndWritable_WritesEmptyGroupAndZeroFlag()
    {
        var payload = PayloadAssert.Dirty(LunEvent.PayloadSize);

        new LunEvent("iscsi", "t", string.Empty, 0, "d", ReadOnly: false).WriteTo(payload);

        payload.AsSpan(288, 64).ToArray().Should().OnlyContain(b => b == 0);
        payload[420].Should().Be(0);
    }

    [Fact]
    public void SessionEvent_WriteTo_PlacesFieldsAtDocumentedOffsets()
    {
        var payload = PayloadAssert.Dirty(SessionEvent.PayloadSize);

        new SessionEvent("iscsi", "iqn.t", "iqn.i", "iqn.i-1").WriteTo(payload);

        SessionEvent.PayloadSize.Should().Be(800);
        PayloadAssert.FixedString(payload, 0, 32, "iscsi");
        PayloadAssert.FixedString(payload, 32, 256, "iqn.t");
        PayloadAssert.FixedString(payload, 288, 256, "iqn.i");
        PayloadAssert.FixedString(payload, 544, 256, "iqn.i-1");
    }

    [Fact]
    public void CapacityChanged_WriteTo_PlacesFieldsAtDocumentedOffsets()
    {
        var payload = PayloadAssert.Dirty(CapacityChangedEvent.PayloadSize);

        new CapacityChangedEvent("disk01", 0x0102030405060708, 4096).WriteTo(payload);

        CapacityChangedEvent.PayloadSize.Should().Be(76);
        PayloadAssert.FixedString(payload, 0, 64, "disk01");
        PayloadAssert.Equal([0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01], payload.AsSpan(64, 8));
        BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(72)).Should().Be(4096);
    }

    [Fact]
    public void Parse_WrittenPayloads_RoundTrip()
    {
        var unregistered = new VirtualDeviceUnregisteredEvent("d", "h");
        var lun = new LunEvent("iscsi", "t", "g", 7, "d", ReadOnly: true);
        var session = new SessionEvent("iscsi", "t", "i", "s");
        var capacity = new CapacityChangedEvent("d", 1 << 20, 512);

        VirtualDeviceUnregisteredEvent.Parse(unregistered.ToPayload()).Should().Be(unregistered);
        LunEvent.Parse(lun.ToPayload()).Should().Be(lun);
        SessionEvent.Parse(session.ToPayload()).Should().Be(session);
        CapacityChangedEvent.Parse(capacity.ToPayload()).Should().Be(capacity);
    }

    [Fact]
    public void TryParse_ShortPayloads_ReturnFalse()
    {
        VirtualDeviceUnregisteredEvent.TryParse(new byte[95], out _).Should().BeFalse();
        LunEvent.TryParse(new byte[420], out _).Should().BeFalse();
        SessionEvent.TryParse(new byte[799], out _).Should().BeFalse();
        CapacityChangedEvent.TryParse(new byte[75], out _).Should().BeFalse();
        FluentActions.Invoking(() => LunEvent.Parse(new byte[3])).Should().Throw<FormatException>();
    }

    [Fact]
    public void WriteTo_LongNames_TruncatesToFieldMinusNul()
    {
        var parsed = LunEvent.Parse(new LunEvent(new string('x', 40), "t", new string('g', 70), 1, new string('d', 80), false).ToPayload());

        parsed.TargetDriver.Should().Be(new string('x', 31));
        parsed.GroupName.Should().Be(new string('g', 63));
        parsed.DeviceName.Should().Be(new string('d', 63));
    }

    [Fact]
    public void Factories_BuildCoreEventsWithCodeIssuerAndPayload()
    {
        var lun = new LunEvent("iscsi", "t", string.Empty, 3, "d", false);
        var session = new SessionEvent("iscsi", "t", "i", "s");

        var events = new[]
        {
            (ScstEvents.VirtualDeviceUnregistered("d", "vdisk_nullio"), ScstEventCode.VirtualDeviceUnregistered, VirtualDeviceUnregisteredEvent.PayloadSize),
            (ScstEvents.LunAdded(lun), ScstEventCode.LunAdded, LunEvent.PayloadSize),
            (ScstEvents.LunRemoved(lun), ScstEventCode.LunRemoved, LunEvent.PayloadSize),
            (ScstEvents.SessionAdded(session), ScstEventCode.SessionAdded, SessionEvent.PayloadSize),
            (ScstEvents.SessionRemoved(session), ScstEventCode.SessionRemoved, SessionEvent.PayloadSize),
            (ScstEvents.CapacityChanged("d", 100, 512), ScstEventCode.CapacityChanged, CapacityChangedEvent.PayloadSize),
        };

        foreach (var (e, code, size) in events)
        {
            e.Code.Should().Be(code);
            e.IssuerName.Should().Be("SCST core");
            e.Id.Should().Be(0u);
            e.Payload.Length.Should().Be(size);
        }

        LunEvent.Parse(events[1].Item1.Payload.Span).Should().Be(lun);
        CapacityChangedEvent.Parse(events[5].Item1.Payload.Span).BlockCount.Should().Be(100);
    }
}
