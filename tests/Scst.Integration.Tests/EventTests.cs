// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.DependencyInjection;
using Scst.Core;
using Scst.Events;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests;

public sealed class EventTests
{
    [Fact]
    public async Task Command_ToUnknownLun_IsLunNotSupportedAndPublishesLunNotFound()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        using ScstEventSubscription events = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.LunNotFound));
        LocalSession session = stack.OpenSession();

        LocalResult result = await session.ExecuteAsync(9, CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[512]);

        SenseAssert.IsCheckCondition(result, SenseCode.LunNotSupported);
        result.TransferredLength.Should().Be(0);
        events.TryRead(out ScstEvent? e).Should().BeTrue("event 1 is published for the command");
        e!.Code.Should().Be(1);
        e.IssuerName.Should().Be(ScstEvents.CoreIssuerName);
        LunNotFoundEvent payload = LunNotFoundEvent.Parse(e.Payload.Span);
        payload.Lun.Should().Be(9UL, "SCST reports the LUN number, not the 8-byte LUN field");
        payload.InitiatorName.Should().Be(ScstStack.InitiatorName);
        payload.TargetName.Should().Be(ScstStack.TargetName);
        events.TryRead(out _).Should().BeFalse("one event per command");
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Command_ToUnknownLunWithUnknownOpcode_IsLunNotSupported()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        LocalSession session = stack.OpenSession();
        var cdb = new byte[10];
        cdb[0] = 0xC7;

        LocalResult result = await session.ExecuteAsync(4, cdb, DataDirection.None, Memory<byte>.Empty);

        SenseAssert.IsCheckCondition(result, SenseCode.LunNotSupported);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Inquiry_ToUnknownLun_PublishesNoLunNotFound()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        using ScstEventSubscription events = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.LunNotFound));
        LocalSession session = stack.OpenSession();

        await session.ExecuteAsync(9, CdbBuilder.Inquiry(96), DataDirection.Read, new byte[96]);

        events.TryRead(out _).Should().BeFalse("INQUIRY is answered for a missing LUN");
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task AddDevice_AtStart_PublishesVirtualDeviceRegisteredWithName()
    {
        ScstStack stack = ScstStack.Create(b => b.AddDevice("vdisk_nullio", "nulldev7", new Dictionary<string, string> { ["size"] = "1M" }));
        await using (stack)
        {
            using ScstEventSubscription events = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.VirtualDeviceRegistered));

            await stack.StartAsync();

            events.TryRead(out ScstEvent? e).Should().BeTrue();
            e!.Code.Should().Be(6);
            VirtualDeviceRegisteredEvent.Parse(e.Payload.Span).DeviceName.Should().Be("nulldev7");
            stack.Engine.FindDevice("nulldev7").Should().NotBeNull();
        }
    }

    [Fact]
    public async Task RegisterDevice_AtRunTime_PublishesVirtualDeviceRegistered()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        using ScstEventSubscription events = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.VirtualDeviceRegistered));

        stack.Engine.RegisterDevice(new PendingBlockDevice("pending1"));

        events.TryRead(out ScstEvent? e).Should().BeTrue();
        VirtualDeviceRegisteredEvent.Parse(e!.Payload.Span).DeviceName.Should().Be("pending1");
    }

    [Fact]
    public async Task OpenSession_TargetWithoutLuns_PublishesNegativeLunsInquiry()
    {
        ScstStack stack = ScstStack.Create(b => b.AddTarget("scst_local", "empty"));
        await using (stack)
        {
            await stack.StartAsync();
            using ScstEventSubscription events = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.NegativeLunsInquiry));

            stack.OpenSession("empty", "iqn.test:lonely");

            events.TryRead(out ScstEvent? e).Should().BeTrue();
            e!.Code.Should().Be(2);
            NegativeLunsInquiryEvent payload = NegativeLunsInquiryEvent.Parse(e.Payload.Span);
            payload.InitiatorName.Should().Be("iqn.test:lonely");
            payload.TargetName.Should().Be("empty");
        }
    }

    [Fact]
    public async Task OpenSession_TargetWithLuns_PublishesNoNegativeLunsInquiry()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync();
        using ScstEventSubscription events = stack.Events.Subscribe(new ScstEventFilter(ScstEventCode.NegativeLunsInquiry));

        stack.OpenSession();

        events.TryRead(out _).Should().BeFalse();
    }
}
