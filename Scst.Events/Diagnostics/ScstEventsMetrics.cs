// Licensed under the Apache License, Version 2.0.

using System.Collections.Frozen;
using System.Diagnostics.Metrics;
using System.Text;
using Scst.Events.Remote;

namespace Scst.Events.Diagnostics;

/// <summary>
/// The names of the event bus's and the event endpoint's metrics, on the meter <see cref="MeterName"/>, for
/// <c>dotnet-counters monitor --counters Scst.Events</c> or OpenTelemetry's <c>AddMeter(ScstEventsMetrics.MeterName)</c>.
/// Tag values come from a fixed set: the names of <see cref="ScstEventCode"/>'s codes in lower case with
/// underscores (<c>session_added</c>, <c>stpg_user_invoke</c>...), and <c>custom</c> for any other code.
/// </summary>
public static class ScstEventsMetrics
{
    /// <summary>The meter of the event bus and the event endpoint.</summary>
    public const string MeterName = "Scst.Events";

    /// <summary>Events published on the bus (with or without a waiting completion), per event code.</summary>
    public const string Published = "scst.events.published";

    /// <summary>
    /// Events a subscription lost because its queue was full, per event code: one per subscription that lost it (SCST
    /// drops the same way). Each subscription also counts its own (<see cref="ScstEventSubscription.DroppedCount"/>),
    /// and a remote subscriber is told with a DROPPED message.
    /// </summary>
    public const string Dropped = "scst.events.dropped";

    /// <summary>
    /// Events queued for the endpoint's remote subscribers and not yet written to their sockets, all connections
    /// together. It grows when a subscriber stops reading (its socket fills, then its queue), up to
    /// <see cref="ScstEventEndpointOptions.QueueCapacity"/> per connection.
    /// </summary>
    public const string QueueDepth = "scst.events.queue_depth";

    /// <summary>The endpoint's remote subscribers: connections that subscribed (sent an ALLOW) and are still open.</summary>
    public const string Subscribers = "scst.events.subscribers";

    /// <summary>The tag of an event code's name.</summary>
    public const string CodeTag = "scst.events.code";

    /// <summary>The value of <see cref="CodeTag"/> for a code <see cref="ScstEventCode"/> does not name.</summary>
    public const string CustomCode = "custom";
}

/// <summary>
/// The bus's instruments: counters recorded as events are published and dropped. A recording allocates nothing: the
/// tag's value is one of a fixed set of strings made once.
/// </summary>
internal sealed class EventBusMetrics : IDisposable
{
    private static readonly FrozenDictionary<int, string> s_codeNames = BuildCodeNames();

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _published;
    private readonly Counter<long> _dropped;

    public EventBusMetrics(IMeterFactory? factory)
    {
        _meter = factory?.Create(ScstEventsMetrics.MeterName) ?? new Meter(ScstEventsMetrics.MeterName);
        _ownsMeter = factory is null;
        _published = _meter.CreateCounter<long>(ScstEventsMetrics.Published, "{event}", "Events published");
        _dropped = _meter.CreateCounter<long>(ScstEventsMetrics.Dropped, "{event}", "Events a subscription lost because its queue was full");
    }

    /// <summary>The meter that holds the instruments (one per bus).</summary>
    public Meter Meter => _meter;

    public void Published(int code) => _published.Add(1, new KeyValuePair<string, object?>(ScstEventsMetrics.CodeTag, CodeName(code)));

    public void Dropped(int code) => _dropped.Add(1, new KeyValuePair<string, object?>(ScstEventsMetrics.CodeTag, CodeName(code)));

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    /// <summary>The tag value of <paramref name="code"/>: its name in lower case with underscores, or <c>custom</c>.</summary>
    internal static string CodeName(int code) => s_codeNames.TryGetValue(code, out var name) ? name : ScstEventsMetrics.CustomCode;

    private static FrozenDictionary<int, string> BuildCodeNames()
    {
        // GetName knows every named code: SCST's below FirstCustomCode, this suite's a few above it.
        var names = new Dictionary<int, string>();
        for (var code = 1; code < ScstEventCode.FirstCustomCode + 100; code++)
        {
            if (ScstEventCode.GetName(code) is { } name)
            {
                names[code] = Snake(name);
            }
        }

        return names.ToFrozenDictionary();
    }

    // "TaskManagementFunctionReceived" -> "task_management_function_received".
    private static string Snake(string name)
    {
        var b = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                b.Append('_');
            }

            b.Append(char.ToLowerInvariant(name[i]));
        }

        return b.ToString();
    }
}

/// <summary>The endpoint's instruments, observed from its connections when a listener asks.</summary>
internal sealed class EventEndpointMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    public EventEndpointMetrics(ScstEventEndpoint endpoint, IMeterFactory? factory)
    {
        _meter = factory?.Create(ScstEventsMetrics.MeterName) ?? new Meter(ScstEventsMetrics.MeterName);
        _ownsMeter = factory is null;
        _meter.CreateObservableUpDownCounter(ScstEventsMetrics.QueueDepth, () => endpoint.QueuedEventCount, "{event}", "Events queued for remote subscribers and not yet written");
        _meter.CreateObservableUpDownCounter(ScstEventsMetrics.Subscribers, () => (long)endpoint.SubscriberCount, "{subscriber}", "Remote subscribers connected");
    }

    /// <summary>The meter that holds the instruments (one per endpoint).</summary>
    public Meter Meter => _meter;

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
