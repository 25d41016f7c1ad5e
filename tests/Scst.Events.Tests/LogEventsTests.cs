// Licensed under the Apache License, Version 2.0.

using Scst.Testing;

namespace Scst.Events.Tests;

/// <summary>docs/log-events.md against the package's [LoggerMessage] methods.</summary>
public sealed class LogEventsTests
{
    [Fact]
    public void EveryLogEvent_IsListedInDocsLogEvents_WithItsIdInTheEventsRange()
    {
        LogEventsDocument.RangeOf("Scst.Events").Should().Be((8000, 8999));

        LogEventsDocument.Problems(typeof(Remote.ScstEventsEventIds).Assembly).Should().BeEmpty();
    }
}
