// Licensed under the Apache License, Version 2.0.

// Scst.Samples.Events [--socket PATH] [-e CODE [-i ISSUER]]... [--complete STATUS]
//
// Connects to a target's event endpoint and prints one line per event. Pairs of -e/-i add filters (no filter: every
// event). It subscribes as an observer, so it never takes a completion event (an STPG) away from the agent that must
// answer it; --complete STATUS makes it a completing subscriber that answers every completion event with STATUS.

using System.Globalization;
using System.Text;
using Scst.Events;
using Scst.Events.Remote;

var socketPath = ScstEventEndpointOptions.DefaultSocketPath;
int? completeStatus = null;
var filters = new List<ScstEventFilter>();
int? pendingCode = null;

for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
    switch (args[i])
    {
        case "--socket":
            socketPath = Next();
            break;
        case "-e":
            if (pendingCode is { } code)
            {
                filters.Add(new ScstEventFilter(code));
            }

            pendingCode = int.Parse(Next(), CultureInfo.InvariantCulture);
            break;
        case "-i":
            filters.Add(new ScstEventFilter(pendingCode ?? ScstEventFilter.AnyCode, Next()));
            pendingCode = null;
            break;
        case "--complete":
            completeStatus = int.Parse(Next(), CultureInfo.InvariantCulture);
            break;
        case "-h" or "--help":
            Console.WriteLine("Usage: Scst.Samples.Events [--socket PATH] [-e CODE [-i ISSUER]]... [--complete STATUS]");
            return 0;
        default:
            Console.Error.WriteLine($"Unknown argument '{args[i]}'; see --help.");
            return 2;
    }
}

if (pendingCode is { } lastCode)
{
    filters.Add(new ScstEventFilter(lastCode));
}

if (filters.Count == 0)
{
    filters.Add(ScstEventFilter.All);
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

await using var client = await ScstEventClient.ConnectAsync(socketPath, stop.Token);
var observer = completeStatus is null;
foreach (var filter in filters)
{
    await client.AllowAsync(filter, observer, stop.Token);
}

Console.WriteLine($"Connected to {socketPath} as {(observer ? "an observer" : $"a completing subscriber (status {completeStatus})")}; {filters.Count} filter(s).");
long dropped = 0;
try
{
    await foreach (var e in client.ReadAllAsync(stop.Token))
    {
        if (client.DroppedCount != dropped)
        {
            Console.WriteLine($"!! {client.DroppedCount - dropped} event(s) lost");
            dropped = client.DroppedCount;
        }

        var name = ScstEventCode.GetName(e.Code) ?? "custom";
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{DateTime.Now:HH:mm:ss.fff} {e.Code} {name} issuer '{e.IssuerName}' id {e.Id}: {Describe(e)}"));

        if (e.ExpectsCompletion && completeStatus is { } status)
        {
            var known = await client.NotifyDoneAsync(e.Id, status, stop.Token);
            Console.WriteLine($"   completed id {e.Id} with {status}{(known ? string.Empty : " (unknown to the endpoint)")}");
        }
    }
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    // Ctrl+C.
}

return 0;

static string Describe(ScstEvent e)
{
    var payload = e.Payload.Span;
    switch (e.Code)
    {
        case ScstEventCode.LunNotFound when LunNotFoundEvent.TryParse(payload, out var v):
            return $"LUN {v.Lun} not found; initiator {v.InitiatorName}, target {v.TargetName}";
        case ScstEventCode.NegativeLunsInquiry when NegativeLunsInquiryEvent.TryParse(payload, out var v):
            return $"initiator {v.InitiatorName} has no LUN in target {v.TargetName}";
        case ScstEventCode.ExternalBlockingDone when ExternalBlockingDoneEvent.TryParse(payload, out var v):
            return $"device {v.DeviceName} blocked; data '{Encoding.UTF8.GetString(v.Data.Span)}'";
        case ScstEventCode.TaskManagementFunctionReceived when TaskManagementFunctionReceivedEvent.TryParse(payload, out var v):
            return $"fn {v.Function} LUN {v.Lun} device '{v.DeviceName}' initiator {v.InitiatorName} target {v.TargetName} session {v.SessionSysfsName}"
                + (v.Function == 0 ? $" tag {v.CommandToAbortTag} cdb {Convert.ToHexString(v.Cdb.Span)}" : string.Empty);
        case ScstEventCode.StpgUserInvoke when StpgUserInvokeEvent.TryParse(payload, out var v):
            return $"STPG tag {v.StpgCommandTag} device {v.DeviceName}: "
                + string.Join("; ", v.Descriptors.Select(d => $"group {d.GroupId} ({d.DeviceGroupName}/{d.TargetGroupName}) {d.PreviousState} -> {d.NewState}"));
        case ScstEventCode.VirtualDeviceRegistered when VirtualDeviceRegisteredEvent.TryParse(payload, out var v):
            return $"virtual device {v.DeviceName} registered";
        case ScstEventCode.VirtualDeviceUnregistered when VirtualDeviceUnregisteredEvent.TryParse(payload, out var v):
            return $"virtual device {v.DeviceName} ({v.HandlerName}) unregistered";
        case ScstEventCode.LunAdded or ScstEventCode.LunRemoved when LunEvent.TryParse(payload, out var v):
            return $"{v.TargetDriver} target {v.TargetName} map '{(v.GroupName.Length == 0 ? "default" : v.GroupName)}' LUN {v.Lun} device {v.DeviceName}{(v.ReadOnly ? " read-only" : string.Empty)}";
        case ScstEventCode.SessionAdded or ScstEventCode.SessionRemoved when SessionEvent.TryParse(payload, out var v):
            return $"{v.TargetDriver} target {v.TargetName} initiator {v.InitiatorName} session {v.SessionName}";
        case ScstEventCode.CapacityChanged when CapacityChangedEvent.TryParse(payload, out var v):
            return $"device {v.DeviceName} now {v.BlockCount} blocks of {v.BlockSize} bytes";
        default:
            return payload.IsEmpty ? "(no payload)" : Convert.ToHexString(payload);
    }
}
