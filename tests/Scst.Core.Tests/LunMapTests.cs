// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.Core.Tests;

public sealed class LunMapTests
{
    [Fact]
    public void Add_NewLun_IsFoundAndListed()
    {
        var map = new LunMap();
        var device = new StubDevice("d0");

        LunMapping mapping = map.Add(3, device);

        mapping.Lun.Should().Be(3);
        mapping.Device.Should().BeSameAs(device);
        mapping.ReadOnly.Should().BeFalse();
        map.Find(3).Should().BeSameAs(mapping);
        map.Find(2).Should().BeNull();
        map.Find(4).Should().BeNull();
        map.Find(-1).Should().BeNull();
        map.Luns.Should().ContainSingle().Which.Should().BeSameAs(mapping);
    }

    [Fact]
    public void Luns_AddedOutOfOrder_AreListedAscending()
    {
        var map = new LunMap();

        map.Add(200, new StubDevice("a"));
        map.Add(1, new StubDevice("b"));
        map.Add(LunMap.MaxLun, new StubDevice("c"));
        map.Add(0, new StubDevice("d"));

        map.Luns.Select(l => l.Lun).Should().Equal(0, 1, 200, LunMap.MaxLun);
    }

    [Fact]
    public void Add_DuplicateLun_ThrowsAndKeepsTheFirstMapping()
    {
        var map = new LunMap();
        var first = new StubDevice("first");
        map.Add(7, first);

        Action act = () => map.Add(7, new StubDevice("second"));

        act.Should().Throw<InvalidOperationException>().WithMessage("*7*");
        map.Find(7)!.Device.Should().BeSameAs(first);
        map.Luns.Should().HaveCount(1);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(LunMap.MaxLun + 1)]
    public void Add_LunOutOfRange_Throws(int lun)
    {
        var map = new LunMap();

        Action act = () => map.Add(lun, new StubDevice("d"));

        act.Should().Throw<ArgumentOutOfRangeException>();
        map.Luns.Should().BeEmpty();
    }

    [Fact]
    public void Remove_MappedLun_RemovesOnlyThatLun()
    {
        var map = new LunMap();
        map.Add(1, new StubDevice("a"));
        map.Add(2, new StubDevice("b"));

        bool removed = map.Remove(1);

        removed.Should().BeTrue();
        map.Find(1).Should().BeNull();
        map.Find(2).Should().NotBeNull();
        map.Luns.Select(l => l.Lun).Should().Equal(2);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(-3)]
    [InlineData(100_000)]
    public void Remove_UnmappedLun_ReturnsFalse(int lun)
    {
        var map = new LunMap();
        map.Add(3, new StubDevice("a"));

        bool removed = map.Remove(lun);

        removed.Should().BeFalse();
        map.Luns.Should().HaveCount(1);
    }

    [Fact]
    public void Remove_ThenAddSameLun_Succeeds()
    {
        var map = new LunMap();
        map.Add(4, new StubDevice("a"));
        map.Remove(4);
        var b = new StubDevice("b");

        LunMapping m = map.Add(4, b);

        map.Find(4).Should().BeSameAs(m);
        m.Device.Should().BeSameAs(b);
    }

    [Fact]
    public void Changed_AddAndRemove_RaisedOncePerChange()
    {
        var map = new LunMap();
        int raised = 0;
        map.Changed += (_, _) => raised++;

        map.Add(1, new StubDevice("a"));
        map.Remove(1);
        map.Remove(1);

        raised.Should().Be(2, "a remove that finds nothing changes nothing");
    }

    [Fact]
    public void IsWriteProtected_ReadOnlyLunOrDevice_IsTrue()
    {
        var map = new LunMap();

        LunMapping writable = map.Add(0, new StubDevice("w"));
        LunMapping lunReadOnly = map.Add(1, new StubDevice("l"), readOnly: true);
        LunMapping deviceReadOnly = map.Add(2, new StubDevice("r", readOnly: true));

        writable.IsWriteProtected.Should().BeFalse();
        lunReadOnly.IsWriteProtected.Should().BeTrue();
        deviceReadOnly.IsWriteProtected.Should().BeTrue();
        deviceReadOnly.ReadOnly.Should().BeFalse();
    }
}
