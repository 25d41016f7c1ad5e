// Licensed under the Apache License, Version 2.0.

namespace Scst.Events.Tests;

public class StpgUserInvokeEventTests
{
    private static StpgUserInvokeEvent TwoGroups() => new(
        0x0102030405060708,
        "disk1",
        [
            new StpgDescriptor(0x0A0B, "standby", "active", "dg1", "tg-a"),
            new StpgDescriptor(2, "active", "standby", "dg1", "tg-b"),
        ]);

    [Fact]
    public void WriteTo_DirtyBuffer_PlacesHeaderAndDescriptorsAtScstOffsets()
    {
        var value = TwoGroups();
        var payload = PayloadAssert.Dirty(value.PayloadSize);

        value.WriteTo(payload);

        value.PayloadSize.Should().Be(74 + (2 * 194));
        PayloadAssert.Equal([8, 7, 6, 5, 4, 3, 2, 1], payload.AsSpan(0, 8));
        PayloadAssert.FixedString(payload, 8, 64, "disk1");
        PayloadAssert.Equal([2, 0], payload.AsSpan(72, 2));
        PayloadAssert.Equal([0x0B, 0x0A], payload.AsSpan(74, 2));
        PayloadAssert.FixedString(payload, 74 + 2, 32, "standby");
        PayloadAssert.FixedString(payload, 74 + 34, 32, "active");
        PayloadAssert.FixedString(payload, 74 + 66, 64, "dg1");
        PayloadAssert.FixedString(payload, 74 + 130, 64, "tg-a");
        PayloadAssert.Equal([2, 0], payload.AsSpan(74 + 194, 2));
        PayloadAssert.FixedString(payload, 74 + 194 + 130, 64, "tg-b");
    }

    [Fact]
    public void Parse_WrittenPayload_RoundTrips()
    {
        var value = TwoGroups();

        var parsed = StpgUserInvokeEvent.Parse(value.ToPayload());

        parsed.StpgCommandTag.Should().Be(value.StpgCommandTag);
        parsed.DeviceName.Should().Be("disk1");
        parsed.Descriptors.Should().Equal(value.Descriptors);
    }

    [Fact]
    public void TryParse_FewerBytesThanDeclaredDescriptors_ReturnsFalse()
    {
        var payload = TwoGroups().ToPayload();

        StpgUserInvokeEvent.TryParse(payload.AsSpan(0, payload.Length - 1), out _).Should().BeFalse();
    }

    [Fact]
    public void StpgUserInvoke_Factory_BuildsEventExpectingCompletion()
    {
        var e = ScstEvents.StpgUserInvoke(TwoGroups(), id: 17);

        e.Code.Should().Be(ScstEventCode.StpgUserInvoke);
        e.Id.Should().Be(17u);
        e.ExpectsCompletion.Should().BeTrue();
        e.IssuerName.Should().Be(ScstEvents.CoreIssuerName);
    }

    [Fact]
    public void StpgUserInvoke_ZeroId_Throws()
    {
        var act = () => ScstEvents.StpgUserInvoke(TwoGroups(), id: 0);

        act.Should().Throw<ArgumentOutOfRangeException>();
    }
}
