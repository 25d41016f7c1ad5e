// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Scst.Events;
using Scst.Events.Remote;

// The platform side of the container scenario: listens to a target's events from outside its container and maps every
// device that registers (event 6; a user-device app starting or restarting) as a LUN, as a policy file says; when the
// device goes away (event 100) the LUNs it had are deleted. Mapping goes through the target's management socket with
// SCST's verbs (targets/DRIVER/TARGET/luns/mgmt "add DEVICE LUN").
//
//   Scst.Samples.Watcher --events PATH --mgmt PATH [--policy FILE]
//
//   --events PATH   the target's event socket (its --events-socket)
//   --mgmt PATH     the target's management socket (its --mgmt-socket)
//   --policy FILE   the rules (default: watcher.policy beside the program; its comments give the syntax)
//
// Devices registered before the watcher subscribed are not seen; start the watcher before the devices.
string? eventsPath = null, mgmtPath = null, policyPath = Path.Combine(AppContext.BaseDirectory, "watcher.policy");
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--events": eventsPath = Next(); break;
        case "--mgmt": mgmtPath = Next(); break;
        case "--policy": policyPath = Next(); break;
        default:
            Console.Error.WriteLine($"Unknown argument {args[i]}. Usage: Scst.Samples.Watcher --events PATH --mgmt PATH [--policy FILE]");
            return 2;
    }
}

if (eventsPath is null || mgmtPath is null)
{
    Console.Error.WriteLine("Usage: Scst.Samples.Watcher --events PATH --mgmt PATH [--policy FILE]");
    return 2;
}

List<Rule> rules;
try
{
    rules = Rule.Load(policyPath);
}
catch (Exception ex) when (ex is FormatException or IOException)
{
    Console.Error.WriteLine($"Cannot read the policy: {ex.Message}");
    return 2;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

await using ScstEventClient events = await ConnectWithRetryAsync(eventsPath, stop.Token);
await events.AllowAsync(new ScstEventFilter(ScstEventCode.VirtualDeviceRegistered, ScstEvents.CoreIssuerName), observer: true, stop.Token);
await events.AllowAsync(new ScstEventFilter(ScstEventCode.VirtualDeviceUnregistered, ScstEvents.CoreIssuerName), observer: true, stop.Token);
var mapper = new Mapper(mgmtPath, rules);
Console.WriteLine($"Watching {eventsPath}; {rules.Count} rule(s) from {policyPath}.");

try
{
    await foreach (ScstEvent e in events.ReadAllAsync(stop.Token))
    {
        if (e.Code == ScstEventCode.VirtualDeviceRegistered)
        {
            await mapper.MapAsync(VirtualDeviceRegisteredEvent.Parse(e.Payload.Span).DeviceName, stop.Token);
        }
        else if (e.Code == ScstEventCode.VirtualDeviceUnregistered)
        {
            await mapper.UnmapAsync(VirtualDeviceUnregisteredEvent.Parse(e.Payload.Span).DeviceName, stop.Token);
        }
    }
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
}

Console.WriteLine("The target closed the event socket; stopping.");
return 0;

static async Task<ScstEventClient> ConnectWithRetryAsync(string path, CancellationToken cancellationToken)
{
    while (true)
    {
        try
        {
            return await ScstEventClient.ConnectAsync(path, cancellationToken);
        }
        catch (SocketException)
        {
            await Task.Delay(500, cancellationToken); // the target is not up yet
        }
    }
}

/// <summary>One line of the policy file.</summary>
internal sealed record Rule(Regex Pattern, string Driver, string Target, int? Lun, string? Group, bool ReadOnly)
{
    public string LunsPath => Group is null ? $"targets/{Driver}/{Target}/luns/mgmt" : $"targets/{Driver}/{Target}/ini_groups/{Group}/luns/mgmt";

    public static List<Rule> Load(string path)
    {
        var rules = new List<Rule>();
        int number = 0;
        foreach (string raw in File.ReadLines(path))
        {
            number++;
            string line = raw.Split('#')[0].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            string[] f = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 4)
            {
                throw new FormatException($"{path}:{number}: expected DEVICE-PATTERN DRIVER TARGET LUN [group=NAME] [read_only=1]");
            }

            int? lun = f[3] == "auto" ? null
                : int.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n
                : throw new FormatException($"{path}:{number}: LUN '{f[3]}' is neither a number nor auto");
            string? group = null;
            bool readOnly = false;
            foreach (string option in f[4..])
            {
                if (option.StartsWith("group=", StringComparison.Ordinal))
                {
                    group = option[6..];
                }
                else if (option is "read_only=1" or "read_only=0")
                {
                    readOnly = option[^1] == '1';
                }
                else
                {
                    throw new FormatException($"{path}:{number}: unknown option '{option}' (group=NAME, read_only=0|1)");
                }
            }

            var pattern = new Regex("^" + Regex.Escape(f[0]).Replace("\\*", ".*", StringComparison.Ordinal).Replace("\\?", ".", StringComparison.Ordinal) + "$", RegexOptions.CultureInvariant);
            rules.Add(new Rule(pattern, f[1], f[2], lun, group, readOnly));
        }

        return rules;
    }
}

/// <summary>Maps and unmaps devices through the management socket, remembering which LUNs it gave each device.</summary>
internal sealed class Mapper(string mgmtPath, List<Rule> rules)
{
    private const int EEXIST = -17;
    private readonly Dictionary<string, List<(Rule Rule, int Lun)>> _mapped = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<int>> _used = new(StringComparer.Ordinal);

    public async Task MapAsync(string device, CancellationToken cancellationToken)
    {
        foreach (Rule rule in rules.Where(r => r.Pattern.IsMatch(device)))
        {
            HashSet<int> used = UsedLuns(rule);
            int lun = rule.Lun ?? FirstFree(used, 0);
            while (true)
            {
                string command = $"add {device} {lun}" + (rule.ReadOnly ? " read_only=1" : string.Empty);
                (int status, string message) = await SendAsync($"{rule.LunsPath} {command}", cancellationToken);
                if (status == 0)
                {
                    used.Add(lun);
                    (_mapped.TryGetValue(device, out var list) ? list : _mapped[device] = []).Add((rule, lun));
                    Console.WriteLine($"mapped {device} as LUN {lun} of {rule.Driver}/{rule.Target}{(rule.Group is null ? string.Empty : "/" + rule.Group)}");
                    break;
                }

                if (status == EEXIST && rule.Lun is null && lun < 16383)
                {
                    used.Add(lun); // taken by someone else: try the next one
                    lun = FirstFree(used, lun + 1);
                    continue;
                }

                Console.Error.WriteLine($"cannot map {device} as LUN {lun} of {rule.Driver}/{rule.Target}: {status} {message}");
                break;
            }
        }
    }

    public async Task UnmapAsync(string device, CancellationToken cancellationToken)
    {
        if (!_mapped.Remove(device, out var list))
        {
            return;
        }

        foreach ((Rule rule, int lun) in list)
        {
            UsedLuns(rule).Remove(lun);

            // The target already removes the LUNs of a device that goes away; -2 (no such LUN) is the usual answer.
            (int status, string message) = await SendAsync($"{rule.LunsPath} del {lun}", cancellationToken);
            Console.WriteLine($"unmapped {device} from LUN {lun} of {rule.Driver}/{rule.Target}" + (status == 0 ? string.Empty : $" ({status} {message})"));
        }
    }

    private HashSet<int> UsedLuns(Rule rule)
    {
        string key = rule.LunsPath;
        return _used.TryGetValue(key, out var set) ? set : _used[key] = [];
    }

    private static int FirstFree(HashSet<int> used, int from)
    {
        int lun = from;
        while (used.Contains(lun))
        {
            lun++;
        }

        return lun;
    }

    // One connection per command keeps the watcher simple and survives target restarts. The answer is a line
    // "STATUS LENGTH" and LENGTH bytes of text (what failed and why, when STATUS is not 0).
    private async Task<(int Status, string Message)> SendAsync(string request, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(mgmtPath), cancellationToken);
        await using var stream = new NetworkStream(socket);
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request + "\n"), cancellationToken);
        var head = new List<byte>();
        byte[] one = new byte[1];
        while (await stream.ReadAsync(one, cancellationToken) == 1 && one[0] != (byte)'\n')
        {
            head.Add(one[0]);
        }

        string[] parts = Encoding.ASCII.GetString([.. head]).Split(' ');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int status) ||
            !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int length))
        {
            return (-5, "the target closed the management connection or did not answer STATUS LENGTH");
        }

        byte[] text = new byte[length];
        await stream.ReadExactlyAsync(text, cancellationToken);
        return (status, Encoding.UTF8.GetString(text));
    }
}
