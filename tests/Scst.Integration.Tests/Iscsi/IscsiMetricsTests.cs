// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Scst.Integration.Tests.Fixtures;
using Scst.Integration.Tests.Tools;
using Scst.Transport.Iscsi.Diagnostics;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>The iSCSI driver's login metric, counted while libiscsi's iscsi-inq logs in, once to a target that exists and once to one that does not.</summary>
public sealed class IscsiMetricsTests(ScstTargetFixture fixture) : IClassFixture<ScstTargetFixture>
{
    [Fact]
    public async Task Logins_AreCountedByResult()
    {
        var results = new ConcurrentQueue<(string Result, string? SessionType)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == fixture.IscsiDriver.Metrics.Meter && instrument.Name == IscsiMetrics.Logins)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            string result = string.Empty;
            string? type = null;
            foreach (KeyValuePair<string, object?> t in tags)
            {
                if (t.Key == IscsiMetrics.ResultTag)
                {
                    result = (string)t.Value!;
                }
                else if (t.Key == IscsiMetrics.SessionTypeTag)
                {
                    type = (string)t.Value!;
                }
            }

            results.Enqueue((result, type));
        });
        listener.Start();

        (int good, string goodOutput) = await LibiscsiTool.RunAsync("iscsi-inq", "-i", "iqn.2026-11.org.scst-dotnet:metrics", fixture.Url);
        (int bad, string badOutput) = await LibiscsiTool.RunAsync(
            "iscsi-inq", "-i", "iqn.2026-11.org.scst-dotnet:metrics", $"iscsi://{fixture.EndPoint.Address}:{fixture.EndPoint.Port}/iqn.2026-11.org.scst-dotnet:no-such-target/0");

        good.Should().Be(0, goodOutput);
        bad.Should().NotBe(0, badOutput);
        results.Should().Contain(("success", "normal"));
        results.Should().Contain(("not_found", null));
    }
}
