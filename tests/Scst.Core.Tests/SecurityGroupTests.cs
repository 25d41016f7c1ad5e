// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Options;
using Scst.Core;
using Scst.Events;

namespace Scst.Core.Tests;

/// <summary>Security groups of a target: which group an initiator lands in, and the rules for groups and patterns.</summary>
public sealed class SecurityGroupTests : IDisposable
{
    private readonly ScstEventBus _events = new();
    private readonly ScsiTarget _target;

    public SecurityGroupTests()
    {
        var engine = new ScstEngine(Options.Create(new ScstOptions()), _events, []);
        _target = engine.AddTarget(new Driver(), "iqn.2026-11.test:target");
    }

    public void Dispose() => _events.Dispose();

    [Fact]
    public void GroupOf_NoGroups_IsNull_AndTheInitiatorSeesTheDefaultLuns()
    {
        _target.GroupOf("iqn.2026-11.test:any").Should().BeNull();
        _target.LunsFor("iqn.2026-11.test:any").Should().BeSameAs(_target.Luns);
    }

    [Fact]
    public void GroupOf_SeveralGroupsMatch_TheFirstCreatedWins()
    {
        SecurityGroup hosts = _target.CreateGroup("hosts");
        SecurityGroup everyone = _target.CreateGroup("everyone");
        everyone.AddInitiator("*");
        hosts.AddInitiator("iqn.2026-11.test:host?");

        _target.GroupOf("iqn.2026-11.test:host1").Should().BeSameAs(hosts, "hosts was created first, although its pattern was added last");
        _target.GroupOf("iqn.2026-11.test:other").Should().BeSameAs(everyone);
        _target.LunsFor("iqn.2026-11.test:host1").Should().BeSameAs(hosts.Luns);
    }

    [Fact]
    public void GroupOf_AnyPatternOfAGroupMatches_AndMatchingIgnoresAsciiCase()
    {
        SecurityGroup group = _target.CreateGroup("g");
        group.AddInitiator("iqn.2026-11.test:a");
        group.AddInitiator("IQN.2026-11.TEST:B*");

        _target.GroupOf("iqn.2026-11.test:a").Should().BeSameAs(group);
        _target.GroupOf("iqn.2026-11.test:b7").Should().BeSameAs(group);
        _target.GroupOf("iqn.2026-11.test:c").Should().BeNull();
    }

    [Fact]
    public void GroupOf_NegatedPattern_TakesEveryoneButTheNamedInitiator()
    {
        SecurityGroup denied = _target.CreateGroup("denied_inis");
        denied.AddInitiator("!iqn.2026-11.test:allowed");

        _target.GroupOf("iqn.2026-11.test:allowed").Should().BeNull();
        _target.GroupOf("iqn.2026-11.test:intruder").Should().BeSameAs(denied);
    }

    [Fact]
    public void InitiatorHasLuns_FollowsTheInitiatorsMap_AndPublishesNegativeLunsInquiryWhenEmpty()
    {
        using ScstEventSubscription events = _events.Subscribe(new ScstEventFilter(ScstEventCode.NegativeLunsInquiry));
        SecurityGroup group = _target.CreateGroup("allowed");
        group.AddInitiator("iqn.2026-11.test:good");
        group.Luns.Add(0, new StubDevice("d0"));

        _target.InitiatorHasLuns("iqn.2026-11.test:good").Should().BeTrue();
        events.TryRead(out _).Should().BeFalse();

        _target.InitiatorHasLuns("iqn.2026-11.test:bad").Should().BeFalse("the default map is empty");
        events.TryRead(out ScstEvent? e).Should().BeTrue();
        NegativeLunsInquiryEvent.Parse(e!.Payload.Span).Should().Be(new NegativeLunsInquiryEvent("iqn.2026-11.test:bad", _target.Name));

        _target.Luns.Add(0, new StubDevice("d1"));
        _target.InitiatorHasLuns("iqn.2026-11.test:bad").Should().BeTrue();
    }

    [Fact]
    public void CreateGroup_DuplicateOrBadName_Throws_AndTheGroupsKeepTheirOrder()
    {
        _target.CreateGroup("a");
        _target.CreateGroup("b");

        FluentActions.Invoking(() => _target.CreateGroup("a")).Should().Throw<ArgumentException>().WithMessage("*already has a group named a*");
        FluentActions.Invoking(() => _target.CreateGroup("x y")).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => _target.CreateGroup("x/y")).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => _target.CreateGroup(string.Empty)).Should().Throw<ArgumentException>();
        _target.Groups.Select(g => g.Name).Should().Equal("a", "b");
        _target.FindGroup("b")!.Name.Should().Be("b");
        _target.FindGroup("B").Should().BeNull("group names are compared exactly, as SCST does");
    }

    [Fact]
    public void RemoveGroup_WithoutSessions_ForgetsItAndItsPatterns()
    {
        SecurityGroup group = _target.CreateGroup("g");
        group.AddInitiator("*");

        _target.RemoveGroup("g").Should().BeTrue();
        _target.RemoveGroup("g").Should().BeFalse();

        _target.Groups.Should().BeEmpty();
        _target.GroupOf("iqn.2026-11.test:any").Should().BeNull();
        FluentActions.Invoking(() => group.AddInitiator("x")).Should().Throw<InvalidOperationException>().WithMessage("*was removed*");
    }

    [Fact]
    public void AddAndRemoveInitiator_ReportDuplicatesAndMisses_AndComparePatternsExactly()
    {
        SecurityGroup group = _target.CreateGroup("g");

        group.AddInitiator("iqn.2026-11.test:a").Should().BeTrue();
        group.AddInitiator("iqn.2026-11.test:a").Should().BeFalse();
        group.AddInitiator("IQN.2026-11.TEST:A").Should().BeTrue("patterns are kept as written; only matching ignores case");
        group.RemoveInitiator("iqn.2026-11.test:zz").Should().BeFalse();
        group.RemoveInitiator("iqn.2026-11.test:a").Should().BeTrue();

        group.Initiators.Should().Equal("IQN.2026-11.TEST:A");
        FluentActions.Invoking(() => group.AddInitiator("two words")).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => group.AddInitiator(string.Empty)).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void MoveInitiator_TakesThePatternToTheOtherGroup_AndRefusesADuplicate()
    {
        SecurityGroup first = _target.CreateGroup("first");
        SecurityGroup second = _target.CreateGroup("second");
        first.AddInitiator("iqn.2026-11.test:a");
        first.AddInitiator("iqn.2026-11.test:b");
        second.AddInitiator("iqn.2026-11.test:b");

        first.MoveInitiator("iqn.2026-11.test:a", second).Should().BeTrue();
        first.MoveInitiator("iqn.2026-11.test:nope", second).Should().BeFalse();
        FluentActions.Invoking(() => first.MoveInitiator("iqn.2026-11.test:b", second)).Should().Throw<InvalidOperationException>();

        first.Initiators.Should().Equal("iqn.2026-11.test:b");
        second.Initiators.Should().Equal("iqn.2026-11.test:b", "iqn.2026-11.test:a");
        _target.GroupOf("iqn.2026-11.test:a").Should().BeSameAs(second);
    }

    [Fact]
    public void MoveInitiator_ToAGroupOfAnotherTarget_Throws()
    {
        SecurityGroup here = _target.CreateGroup("g");
        here.AddInitiator("*");
        ScsiTarget other = _target.Engine.AddTarget(_target.Driver, "iqn.2026-11.test:other");
        SecurityGroup there = other.CreateGroup("g");

        FluentActions.Invoking(() => here.MoveInitiator("*", there)).Should().Throw<ArgumentException>();
        here.Initiators.Should().Equal("*");
    }

    [Fact]
    public void ClearInitiators_EmptiesTheGroup()
    {
        SecurityGroup group = _target.CreateGroup("g");
        group.AddInitiator("a*");
        group.AddInitiator("b*");

        group.ClearInitiators();

        group.Initiators.Should().BeEmpty();
        _target.GroupOf("abc").Should().BeNull();
    }

    private sealed class Driver : ITargetDriver
    {
        public string Name => "test";

        public byte ProtocolIdentifier => 0x0F;
    }
}
