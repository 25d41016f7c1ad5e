// Licensed under the Apache License, Version 2.0.

namespace Scst.Events.Tests;

public class ScstEventsTests
{
    [Fact]
    public void LunNotFound_Always_BuildsCoreEventWithoutCompletion()
    {
        var e = ScstEvents.LunNotFound(3, "iqn.init", "iqn.target");

        e.Code.Should().Be(ScstEventCode.LunNotFound);
        e.IssuerName.Should().Be("SCST core");
        e.Id.Should().Be(0u);
        e.ExpectsCompletion.Should().BeFalse();
        LunNotFoundEvent.Parse(e.Payload.Span).Should().Be(new LunNotFoundEvent(3, "iqn.init", "iqn.target"));
    }

    [Fact]
    public void NegativeLunsInquiry_Always_CarriesParsablePayload()
    {
        var e = ScstEvents.NegativeLunsInquiry("i", "t");

        e.Code.Should().Be(ScstEventCode.NegativeLunsInquiry);
        e.Payload.Length.Should().Be(512);
        NegativeLunsInquiryEvent.Parse(e.Payload.Span).Should().Be(new NegativeLunsInquiryEvent("i", "t"));
    }

    [Fact]
    public void TaskManagementFunctionReceived_Always_CarriesParsablePayload()
    {
        var tmf = new TaskManagementFunctionReceivedEvent(4, 1, "disk", "i", "t", "s", 0, ReadOnlyMemory<byte>.Empty);

        var e = ScstEvents.TaskManagementFunctionReceived(tmf);

        e.Code.Should().Be(ScstEventCode.TaskManagementFunctionReceived);
        e.Payload.Length.Should().Be(1064);
        TaskManagementFunctionReceivedEvent.Parse(e.Payload.Span).Function.Should().Be(4u);
    }

    [Fact]
    public void VirtualDeviceRegistered_Always_CarriesSixtyBytePayload()
    {
        var e = ScstEvents.VirtualDeviceRegistered("disk1");

        e.Code.Should().Be(ScstEventCode.VirtualDeviceRegistered);
        e.IssuerName.Should().Be(ScstEvents.CoreIssuerName);
        e.Payload.Length.Should().Be(60);
        VirtualDeviceRegisteredEvent.Parse(e.Payload.Span).DeviceName.Should().Be("disk1");
    }

    [Fact]
    public void ExternalBlockingDone_Always_CarriesDataAfterHeader()
    {
        var e = ScstEvents.ExternalBlockingDone("disk1", "xyz"u8.ToArray());

        e.Code.Should().Be(ScstEventCode.ExternalBlockingDone);
        e.Payload.Length.Should().Be(263);
        ExternalBlockingDoneEvent.Parse(e.Payload.Span).Data.ToArray().Should().Equal("xyz"u8.ToArray());
    }

    [Fact]
    public void LunNotFound_NullName_ThrowsArgumentNullException()
    {
        var act = () => ScstEvents.LunNotFound(0, null!, "t");

        act.Should().Throw<ArgumentNullException>();
    }
}
