// Licensed under the Apache License, Version 2.0.

using Scst.Testing;

namespace Scst.UserDevice.Tests;

/// <summary>docs/log-events.md against the package's [LoggerMessage] methods.</summary>
public sealed class LogEventsTests
{
    [Fact]
    public void EveryLogEvent_IsListedInDocsLogEvents_WithItsIdInTheUserDeviceRange()
    {
        LogEventsDocument.RangeOf("Scst.UserDevice").Should().Be((7000, 7999));

        LogEventsDocument.Problems(typeof(UserDeviceEventIds).Assembly).Should().BeEmpty();
    }
}
