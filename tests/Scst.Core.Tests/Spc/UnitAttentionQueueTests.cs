// Licensed under the Apache License, Version 2.0.

using Scst.Core.Spc;

namespace Scst.Core.Tests.Spc;

public sealed class UnitAttentionQueueTests
{
    [Fact]
    public void Empty_HasNothingPending()
    {
        var queue = new UnitAttentionQueue();

        queue.HasPending.Should().BeFalse();
        queue.TryTake(0, out _).Should().BeFalse();
    }

    [Fact]
    public void Take_ReturnsTheOldestConditionOfThatLun()
    {
        var queue = new UnitAttentionQueue();
        queue.Establish(1, SenseCode.PowerOnReset);
        queue.Establish(0, SenseCode.ModeParametersChanged);
        queue.Establish(1, SenseCode.ModeParametersChanged);

        queue.TryTake(1, out SenseCode first).Should().BeTrue();
        queue.TryTake(1, out SenseCode second).Should().BeTrue();
        queue.TryTake(1, out _).Should().BeFalse();

        first.Should().Be(SenseCode.PowerOnReset);
        second.Should().Be(SenseCode.ModeParametersChanged);
        queue.HasPending.Should().BeTrue("LUN 0 still has one");
        queue.CountFor(0).Should().Be(1);
    }

    [Fact]
    public void Establish_SameConditionTwice_QueuesItOnce()
    {
        var queue = new UnitAttentionQueue();

        queue.Establish(0, SenseCode.ModeParametersChanged).Should().BeTrue();
        queue.Establish(0, SenseCode.ModeParametersChanged).Should().BeFalse();

        queue.CountFor(0).Should().Be(1);
    }

    [Fact]
    public void Establish_BeyondCapacity_DropsTheNewCondition()
    {
        var queue = new UnitAttentionQueue();
        for (int lun = 0; lun < UnitAttentionQueue.Capacity; lun++)
        {
            queue.Establish(lun, SenseCode.PowerOnReset).Should().BeTrue();
        }

        queue.Establish(UnitAttentionQueue.Capacity, SenseCode.PowerOnReset).Should().BeFalse();

        queue.CountFor(UnitAttentionQueue.Capacity).Should().Be(0);
        queue.CountFor(0).Should().Be(1);
    }

    [Fact]
    public void HasPending_WhenEmpty_DoesNotAllocate()
    {
        var queue = new UnitAttentionQueue();
        _ = queue.HasPending;
        _ = queue.TryTake(0, out _);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            _ = queue.HasPending;
            _ = queue.TryTake(0, out _);
        }

        GC.GetAllocatedBytesForCurrentThread().Should().Be(before);
    }
}
