// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Scst.Events.Tests;

/// <summary>Every measurement of some meters, with its tags, read with a MeterListener the way dotnet-counters and OpenTelemetry read them.</summary>
internal sealed class MetricRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Name, long Value, Dictionary<string, object?> Tags)> _measurements = new();
    private readonly ConcurrentQueue<(string Name, long Value, Dictionary<string, object?> Tags)> _observations = new();

    public MetricRecorder(params Meter[] meters)
    {
        _listener.InstrumentPublished = (instrument, l) =>
        {
            if (meters.Contains(instrument.Meter))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) =>
        {
            var copy = new Dictionary<string, object?>();
            foreach (var t in tags)
            {
                copy[t.Key] = t.Value;
            }

            (i.IsObservable ? _observations : _measurements).Enqueue((i.Name, v, copy));
        });
        _listener.Start();
    }

    /// <summary>Sum of the recorded values of a counter whose tags include <paramref name="tags"/>.</summary>
    public long Sum(string name, params (string Key, object Value)[] tags) =>
        _measurements.Where(m => m.Name == name && Has(m.Tags, tags)).Sum(m => m.Value);

    /// <summary>Collects the observable instruments now and returns the value <paramref name="name"/> reported (with those tags).</summary>
    public long Observe(string name, params (string Key, object Value)[] tags)
    {
        _observations.Clear();
        _listener.RecordObservableInstruments();
        var found = _observations.Where(m => m.Name == name && Has(m.Tags, tags)).ToList();
        found.Should().ContainSingle($"one {name} series is observed");
        return found[0].Value;
    }

    public void Dispose() => _listener.Dispose();

    private static bool Has(Dictionary<string, object?> tags, (string Key, object Value)[] wanted) =>
        wanted.All(w => tags.TryGetValue(w.Key, out var v) && Equals(v, w.Value));
}
