// Licensed under the Apache License, Version 2.0.

using Scst.Core;
using Scst.Events;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests;

/// <summary>
/// The core's own events: LUN added and removed (101, 102), session added and removed (103, 104), device unregistered
/// (100), capacity changed (105).
/// </summary>
public sealed class LifecycleEventTests
{
    [Fact]
    public async Task OpeningAndClosingASession_PublishesSessionAddedThenSessionRemoved()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        using ScstEventSubscription events = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.SessionAdded));
        events.AddFilter(new ScstEventFilter(ScstEventCode.SessionRemoved));

        LocalSession session = stack.LocalDriver.OpenSession(ScstStack.TargetName, "iqn.2026-11.test:lifecycle");
        session.Dispose();

        events.TryRead(out ScstEvent? added).Should().BeTrue();
        added!.Code.Should().Be(ScstEventCode.SessionAdded);
        SessionEvent a = SessionEvent.Parse(added.Payload.Span);
        a.Should().Be(new SessionEvent(LocalTargetDriver.DriverName, ScstStack.TargetName, "iqn.2026-11.test:lifecycle", "iqn.2026-11.test:lifecycle"));
        events.TryRead(out ScstEvent? removed).Should().BeTrue();
        removed!.Code.Should().Be(ScstEventCode.SessionRemoved);
        SessionEvent.Parse(removed.Payload.Span).Should().Be(a);
        events.TryRead(out _).Should().BeFalse();
    }

    [Fact]
    public async Task RemovingADevice_PublishesDeviceUnregistered_AndAResize_CapacityChanged()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        using ScstEventSubscription events = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.VirtualDeviceUnregistered));
        events.AddFilter(new ScstEventFilter(ScstEventCode.CapacityChanged));
        ScsiDevice device = stack.Engine.FindDevice("null0")!;

        stack.Engine.NotifyCapacityChanged(device);
        stack.Target().Luns.Remove(0);
        (await stack.Engine.RemoveDeviceAsync("null0")).Should().BeTrue();

        events.TryRead(out ScstEvent? capacity).Should().BeTrue();
        CapacityChangedEvent c = CapacityChangedEvent.Parse(capacity!.Payload.Span);
        c.DeviceName.Should().Be("null0");
        c.BlockCount.Should().Be((ulong)((BlockDevice)device).BlockCount);
        c.BlockSize.Should().Be(512u);
        events.TryRead(out ScstEvent? unregistered).Should().BeTrue();
        VirtualDeviceUnregisteredEvent u = VirtualDeviceUnregisteredEvent.Parse(unregistered!.Payload.Span);
        u.DeviceName.Should().Be("null0");
        u.HandlerName.Should().Be("vdisk_nullio");
    }

    [Fact]
    public async Task MappingAndUnmappingALun_PublishesLunAddedThenLunRemoved()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        using ScstEventSubscription events = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.LunAdded));
        events.AddFilter(new ScstEventFilter(ScstEventCode.LunRemoved));
        ScsiDevice device = stack.Engine.FindDevice("null0")!;

        stack.Target().Luns.Add(5, device, readOnly: true);
        stack.Target().Luns.Remove(5).Should().BeTrue();

        events.TryRead(out ScstEvent? added).Should().BeTrue();
        added!.Code.Should().Be(ScstEventCode.LunAdded);
        LunEvent a = LunEvent.Parse(added.Payload.Span);
        a.Should().Be(new LunEvent(LocalTargetDriver.DriverName, ScstStack.TargetName, "", 5, "null0", ReadOnly: true));
        events.TryRead(out ScstEvent? removed).Should().BeTrue();
        removed!.Code.Should().Be(ScstEventCode.LunRemoved);
        LunEvent.Parse(removed.Payload.Span).Should().Be(a);
        events.TryRead(out _).Should().BeFalse();
    }
}
