// Licensed under the Apache License, Version 2.0.

namespace Scst.Events.Tests;

public class ScstEventFilterTests
{
    private static readonly ScstEvent s_lunNotFound = ScstEvents.LunNotFound(5, "i", "t");
    private static readonly ScstEvent s_custom = new(ScstEventCode.FirstCustomCode, "my-agent", new byte[] { 1, 2, 3 });

    [Fact]
    public void Matches_AllWildcards_MatchesEveryEvent()
    {
        ScstEventFilter.All.Matches(s_lunNotFound).Should().BeTrue();
        ScstEventFilter.All.Matches(s_custom).Should().BeTrue();
        ScstEventFilter.All.Matches(new ScstEvent(7, string.Empty)).Should().BeTrue();
    }

    [Fact]
    public void Matches_SpecificCode_MatchesOnlyThatCode()
    {
        var filter = new ScstEventFilter(ScstEventCode.LunNotFound);

        filter.Matches(s_lunNotFound).Should().BeTrue();
        filter.Matches(s_custom).Should().BeFalse();
    }

    [Fact]
    public void Matches_SpecificIssuer_ComparesOrdinalCaseSensitive()
    {
        var filter = new ScstEventFilter(issuerName: "SCST core");

        filter.Matches(s_lunNotFound).Should().BeTrue();
        filter.Matches(s_custom).Should().BeFalse();
        filter.Matches(new ScstEvent(1, "scst core")).Should().BeFalse();
    }

    [Fact]
    public void Matches_CodeAndIssuer_RequiresBoth()
    {
        var filter = new ScstEventFilter(ScstEventCode.FirstCustomCode, ScstEvents.CoreIssuerName);

        filter.Matches(s_custom).Should().BeFalse();
        filter.Matches(new ScstEvent(ScstEventCode.FirstCustomCode, ScstEvents.CoreIssuerName)).Should().BeTrue();
    }

    [Fact]
    public void Matches_PayloadPrefix_MatchesPayloadsStartingWithIt()
    {
        // The first 8 payload bytes of LunNotFound are the little-endian LUN.
        var lun5 = new ScstEventFilter(ScstEventCode.LunNotFound, payloadPrefix: new byte[] { 5, 0, 0, 0, 0, 0, 0, 0 });

        lun5.Matches(s_lunNotFound).Should().BeTrue();
        lun5.Matches(ScstEvents.LunNotFound(6, "i", "t")).Should().BeFalse();
    }

    [Fact]
    public void Matches_PrefixLongerThanPayload_DoesNotMatch()
    {
        var filter = new ScstEventFilter(payloadPrefix: new byte[] { 1, 2, 3, 4 });

        filter.Matches(s_custom).Should().BeFalse();
    }

    [Fact]
    public void Matches_WholePayloadAsPrefix_ActsAsExactMatch()
    {
        var filter = new ScstEventFilter(payloadPrefix: ScstEvents.VirtualDeviceRegistered("disk1").Payload);

        filter.Matches(ScstEvents.VirtualDeviceRegistered("disk1")).Should().BeTrue();
        filter.Matches(ScstEvents.VirtualDeviceRegistered("disk10")).Should().BeFalse();
    }

    [Fact]
    public void Constructor_CallerChangesPrefixArray_FilterKeepsItsCopy()
    {
        var prefix = new byte[] { 1, 2 };
        var filter = new ScstEventFilter(payloadPrefix: prefix);

        prefix[0] = 9;

        filter.PayloadPrefix.ToArray().Should().Equal(1, 2);
    }

    [Fact]
    public void Equals_SameCodeIssuerAndPrefix_IsEqual()
    {
        var a = new ScstEventFilter(1, "x", new byte[] { 1 });
        var b = new ScstEventFilter(1, "x", new byte[] { 1 });

        a.Should().Be(b);
        a.GetHashCode().Should().Be(b.GetHashCode());
        a.Should().NotBe(new ScstEventFilter(1, "x", new byte[] { 2 }));
        a.Should().NotBe(new ScstEventFilter(1, "X", new byte[] { 1 }));
    }
}
