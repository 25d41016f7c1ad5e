// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.Core.Tests;

/// <summary>SCST's name patterns: <c>*</c>, <c>?</c>, ASCII case ignored, and one <c>!</c> that negates the rest.</summary>
public sealed class NamePatternTests
{
    [Theory]
    [InlineData("iqn.2026-01.org.example:host1", "iqn.2026-01.org.example:host1", true)]
    [InlineData("iqn.2026-01.org.example:host1", "iqn.2026-01.org.example:host2", false)]
    [InlineData("iqn.2026-01.org.example:host1", "iqn.2026-01.org.example:host1x", false)]
    [InlineData("iqn.2026-01.org.example:host1", "iqn.2026-01.org.example:host", false)]
    [InlineData("IQN.2026-01.ORG.EXAMPLE:HOST1", "iqn.2026-01.org.example:host1", true)]
    [InlineData("*", "anything", true)]
    [InlineData("*", "", true)]
    [InlineData("", "", true)]
    [InlineData("", "x", false)]
    [InlineData("iqn.2026-01.org.example:*", "iqn.2026-01.org.example:host1", true)]
    [InlineData("iqn.2026-01.org.example:*", "iqn.2026-01.org.example:", true)]
    [InlineData("iqn.2026-01.org.example:*", "iqn.2026-01.org.other:host1", false)]
    [InlineData("*:host1", "iqn.2026-01.org.example:host1", true)]
    [InlineData("*:host1", "iqn.2026-01.org.example:host12", false)]
    [InlineData("host?", "host7", true)]
    [InlineData("host?", "host", false)]
    [InlineData("host?", "host77", false)]
    [InlineData("10.0.0.?", "10.0.0.9", true)]
    [InlineData("10.0.0.?", "10.0.0.10", false)]
    [InlineData("a*b*c", "aXXbYYc", true)]
    [InlineData("a*b*c", "abc", true)]
    [InlineData("a*b*c", "aXXbYYcZ", false)]
    [InlineData("a*b*c", "acb", false)]
    [InlineData("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false)]
    [InlineData("**x", "abx", true)]
    [InlineData("bl?h.*", "blah.jpg", true)]
    [InlineData("bl?h.*", "BLAH.JPG", true)]
    public void IsMatch_Wildcards_MatchesAsSCST(string pattern, string name, bool expected)
    {
        NamePattern.IsMatch(pattern, name).Should().Be(expected);
    }

    [Theory]
    [InlineData("!iqn.2026-01.org.example:host1", "iqn.2026-01.org.example:host1", false)]
    [InlineData("!iqn.2026-01.org.example:host1", "iqn.2026-01.org.example:host2", true)]
    [InlineData("!*", "anything", false)]
    [InlineData("!10.0.0.*", "10.0.0.1", false)]
    [InlineData("!10.0.0.*", "10.0.1.1", true)]
    [InlineData("bl!?h.*", "blah.jpg", false)]
    [InlineData("bl!?h.*", "blaah.jpg", true)]
    [InlineData("bl!?h.*", "xlah.jpg", false)]
    [InlineData("iqn.2026-01.org.example:!host1*", "iqn.2026-01.org.example:host2", true)]
    [InlineData("iqn.2026-01.org.example:!host1*", "iqn.2026-01.org.example:host17", false)]
    [InlineData("iqn.2026-01.org.example:!host1*", "iqn.2026-01.org.other:host2", false)]
    [InlineData("iqn*!foo", "iqnfoo", false)]
    [InlineData("iqn*!foo", "iqnbar", true)]
    [InlineData("!a!b", "a!b", false)]
    [InlineData("!a!b", "ab", true)]
    public void IsMatch_Negation_NegatesTheRestOfThePattern(string pattern, string name, bool expected)
    {
        NamePattern.IsMatch(pattern, name).Should().Be(expected);
    }

    [Fact]
    public void IsMatch_NonAsciiLetters_AreComparedExactly()
    {
        NamePattern.IsMatch("iqn.ß", "iqn.SS").Should().BeFalse();
        NamePattern.IsMatch("iqn.é", "iqn.É").Should().BeFalse("only ASCII case is folded, as SCST's tolower in the C locale");
        NamePattern.IsMatch("iqn.é", "iqn.é").Should().BeTrue();
    }
}
