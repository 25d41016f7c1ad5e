// Licensed under the Apache License, Version 2.0.

using System.Diagnostics.Metrics;
using Scst.Core;
using Scst.Core.Diagnostics;
using Scst.UserDevice.Target;

namespace Scst.UserDevice.Diagnostics;

/// <summary>
/// The names of the user-device server's metrics, on the meter <see cref="MeterName"/> beside the core's
/// <c>Scst.Core</c>. Every instrument is observed when a listener asks, from counts the server keeps anyway, so a
/// command pays nothing for them. The only tag is the device's name, bounded by the devices registered.
/// </summary>
public static class UserDeviceMetrics
{
    /// <summary>The meter of the user-device server.</summary>
    public const string MeterName = "Scst.UserDevice";

    /// <summary>
    /// Requests (EXEC, PARSE) handed to a device process and not yet finished, per device: how deep the process's queue
    /// is. A device that stops answering shows it growing up to the size of its request table.
    /// </summary>
    public const string QueueDepth = "scst.user_device.queue_depth";

    /// <summary>Devices registered by device processes and still served (their connections open).</summary>
    public const string Devices = "scst.user_device.devices";

    /// <summary>
    /// Requests (EXEC, PARSE) a device finished, per device: answered by its process, or ended with its connection. A
    /// read or write is one request; a command the device decodes itself is two (PARSE, then EXEC).
    /// </summary>
    public const string Requests = "scst.user_device.requests";

    /// <summary>The tag of the device's name: the same tag as the core's (<see cref="ScstMetrics.DeviceTag"/>), so the two meters' series join.</summary>
    public const string DeviceTag = ScstMetrics.DeviceTag;
}

/// <summary>The server's instruments, all observed from its device connections.</summary>
internal sealed class UserDeviceServerMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    public UserDeviceServerMetrics(UserDeviceServer server, IMeterFactory? factory)
    {
        _meter = factory?.Create(UserDeviceMetrics.MeterName) ?? new Meter(UserDeviceMetrics.MeterName);
        _ownsMeter = factory is null;
        _meter.CreateObservableUpDownCounter(UserDeviceMetrics.QueueDepth, () => Observe(server, static c => c.OutstandingRequests), "{request}", "Requests handed to the device process and not yet finished");
        _meter.CreateObservableUpDownCounter(UserDeviceMetrics.Devices, () => (long)server.ServedDeviceCount, "{device}", "User devices registered and served");
        _meter.CreateObservableCounter(UserDeviceMetrics.Requests, () => Observe(server, static c => c.FinishedRequests), "{request}", "Requests the device finished");
    }

    /// <summary>The meter that holds the instruments (one per server).</summary>
    public Meter Meter => _meter;

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private static List<Measurement<long>> Observe(UserDeviceServer server, Func<DeviceChannel, long> value)
    {
        var measurements = new List<Measurement<long>>();
        foreach (DeviceChannel channel in server.Channels())
        {
            if (channel.ServedDevice is ScsiDevice device)
            {
                measurements.Add(new(value(channel), new KeyValuePair<string, object?>(UserDeviceMetrics.DeviceTag, device.Name)));
            }
        }

        return measurements;
    }
}
