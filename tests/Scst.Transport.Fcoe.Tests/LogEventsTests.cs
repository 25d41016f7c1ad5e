// Licensed under the Apache License, Version 2.0.

using Scst.Testing;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>docs/log-events.md against the package's [LoggerMessage] methods.</summary>
public sealed class LogEventsTests
{
    [Fact]
    public void EveryLogEvent_IsListedInDocsLogEvents_WithItsIdInTheFcoeRange()
    {
        LogEventsDocument.RangeOf("Scst.Transport.Fcoe").Should().Be((5000, 5499));

        LogEventsDocument.Problems(typeof(FcoeEventIds).Assembly).Should().BeEmpty();
    }
}
