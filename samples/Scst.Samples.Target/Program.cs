// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using Scst.Core;
using Scst.Events;
using Scst.Transport.Iscsi.Security;

// A ready-to-run iSCSI target: one disk image as LUN 0 of one target (also served over FCoE with --fcoe).
//
//   --file PATH          backing file; created sparse when missing (default: data/disk1.img beside the program); with
//                        --handler vcdrom, the ISO image in the drive (never created; default: an empty drive); with
//                        --handler vdisk_blockio, the block device (such as /dev/loop0), whose size and block size
//                        are the device's unless --block-size is given
//   --size SIZE          size of a new file, with K/M/G/T suffix (default 1G)
//   --block-size N       512 or 4096 (default 512)
//   --state-dir PATH     where state that outlives the process is kept: persistent reservations with APTPL and saved
//                        mode pages, one file per device (default: data/state beside the program, as SCST keeps
//                        /var/lib/scst); a restart with the same directory brings the reservations back
//   --portal HOST:PORT[,TAG]  listening address (default 127.0.0.1:3260), optionally with its portal group tag
//                        (default 1); repeat as --portal:0, --portal:1 for more
//   --target IQN         target name (default iqn.2026-11.org.scst-dotnet:disk1)
//   --handler NAME       vdisk_fileio (default), vdisk_blockio, vdisk_nullio, or vcdrom (a read-only CD-ROM drive
//                        playing --file)
//   --thin 0|1           thin provisioning: UNMAP deallocates (default 0; vdisk_blockio: 1 when the device discards)
//   --removable 0|1      removable medium: START STOP UNIT ejects and loads it (default 0)
//   --read-only 0|1      write-protected LUN: writes get DATA PROTECT (default 0)
//   --lb-per-pb-exp N    2^N logical blocks per physical block, reported in READ CAPACITY(16) and VPD B0h (default 0)
//   --sanitize-rate-mb N MiB/s a background SANITIZE writes at most; 0 for no limit (default 64)
//   --events-socket PATH publish events out of process on this Unix socket (owner-only; default: not published)
//   --mgmt-socket PATH   accept SCST's management verbs on this Unix socket (owner-only; default: no endpoint);
//                        scst-admin (samples/Scst.Samples.Admin) speaks to it
//   --config PATH        apply this scst.conf at start, after the disk above (with --no-lun 1, the file alone
//                        describes the devices and targets); SIGHUP reads it again and applies the difference; an
//                        "Scst" section of appsettings.json applies the same way
//   --isns-server HOST[:PORT]  register the target and its portals with this iSNS server (default port 3205)
//   --user-socket PATH   serve devices of other processes (Scst.UserDevice) on this Unix socket
//   --user-auto-lun 0|1  map each registered user device as the next free LUN of the target (default 1; with 0,
//                        a platform maps them, for example through --mgmt-socket)
//   --no-lun 1           start with no disk image and no LUN (only user devices)
//   --chap-user NAME --chap-secret SECRET
//                        require CHAP: initiators log in (to the target and to discovery) as NAME with SECRET
//                        (IncomingUser; the secret needs at least 12 bytes)
//   --chap-target-user NAME --chap-target-secret SECRET
//                        mutual CHAP: the target answers as NAME with SECRET (OutgoingUser; needs --chap-user and a
//                        different secret)
//   --header-digest LIST HeaderDigest values accepted: None, CRC32C or CRC32C,None (default CRC32C,None)
//   --data-digest LIST   DataDigest values accepted, as --header-digest (default CRC32C,None)
//   --nop-in-interval N  seconds of silence before a NOP-In ping; 0 turns pings off (default 30)
//   --nop-in-timeout N   seconds to answer a ping before the connection is dropped (default 30)
//   --rsp-timeout N      seconds a PDU may wait for the initiator to take it (default 90)
//   --allow-initiator P  serve only initiators whose name matches the pattern P (`*`, `?`, a leading `!` negates):
//                        the LUNs go to a security group "allowed" with these patterns and the default LUNs stay
//                        empty, so other initiators neither discover the target nor log in; repeat as
//                        --allow-initiator:0, --allow-initiator:1 for more patterns
//   --allowed-portal P   the target is reachable only through local portal addresses matching P (SCST's
//                        allowed_portal, for example 10.0.0.* or !127.0.0.1); repeat as --allowed-portal:0, ...
//   --error-recovery-level N  highest ErrorRecoveryLevel offered: 0, 1 (SNACK, recovery R2T) or 2 (connection
//                        recovery, TASK REASSIGN) (default 0)
//   --max-connections N  connections per session offered (MC/S when above 1; default 1)
//   --queued-commands N  the CmdSN window of each session (SCST's QueuedCommands; default 128)
//   --redirect "ADDR[:PORT] temp|perm"  send logins to another portal (SCST's redirect attribute)
//   --fcoe IFACE         also serve the disk over FCoE (VN2VN) on this Ethernet interface (needs CAP_NET_RAW and an
//                        MTU of at least 2158); the FCoE target is named by its WWPN and has the same LUN 0
//   --fcoe-wwpn WWPN     the FCoE port's WWPN (default 20:00 followed by the interface's MAC address)
//   --fcoe-mode MODE     vn2vn (default: VN_Ports on one segment, no switch) or fabric (FIP with an FCF)
//   --fcoe-capture PATH  write every FCoE and FIP frame the port sends and receives to this pcap file
//   --metrics-port N     serve the metrics (meters Scst.Core, Scst.Transport.Iscsi, Scst.UserDevice and
//                        Scst.Events) for Prometheus on
//                        http://127.0.0.1:N/metrics
//   --Iscsi:NAME VALUE   any property of IscsiTargetOptions, as the "Iscsi" section of appsettings.json sets it
//                        (for example --Iscsi:ReceiveMode ThreadPool); --Scst:... is the core's "Scst" section
string[] known = ["file", "size", "block-size", "state-dir", "portal", "target", "handler", "thin", "removable", "read-only", "lb-per-pb-exp", "sanitize-rate-mb",
    "events-socket", "mgmt-socket", "user-socket", "user-auto-lun", "no-lun", "isns-server",
    "chap-user", "chap-secret", "chap-target-user", "chap-target-secret",
    "header-digest", "data-digest", "nop-in-interval", "nop-in-timeout", "rsp-timeout", "allow-initiator", "allowed-portal",
    "error-recovery-level", "max-connections", "queued-commands", "redirect", "fcoe", "fcoe-wwpn", "fcoe-mode", "fcoe-capture", "metrics-port", "config",
    "Iscsi", "Scst"];
HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
foreach (KeyValuePair<string, string?> pair in new ConfigurationBuilder().AddCommandLine(args).Build().AsEnumerable())
{
    string root = pair.Key.Split(':')[0];
    if (!known.Contains(root, StringComparer.OrdinalIgnoreCase))
    {
        Console.Error.WriteLine($"Unknown argument --{pair.Key}. Known: --{string.Join(", --", known)}.");
        return 2;
    }
}

ConfigurationManager config = builder.Configuration;
(string Name, string Secret)? chapIncoming = null, chapOutgoing = null;
foreach ((string userKey, string secretKey, bool outgoing) in new[] { ("chap-user", "chap-secret", false), ("chap-target-user", "chap-target-secret", true) })
{
    string? user = config[userKey], secret = config[secretKey];
    if ((user is null) != (secret is null) || user == string.Empty || secret == string.Empty)
    {
        Console.Error.WriteLine($"--{userKey} and --{secretKey} go together, and neither may be empty.");
        return 2;
    }

    if (user is not null)
    {
        if (outgoing)
        {
            chapOutgoing = (user, secret!);
        }
        else
        {
            chapIncoming = (user, secret!);
        }
    }
}

string handler = config["handler"] ?? "vdisk_fileio";
string file = config["file"] ?? Path.Combine(AppContext.BaseDirectory, "data", "disk1.img");
string size = config["size"] ?? "1G";
if (config["state-dir"] is { Length: 0 })
{
    Console.Error.WriteLine("--state-dir needs a directory.");
    return 2;
}

string stateDirectory = Path.GetFullPath(config["state-dir"] ?? Path.Combine(AppContext.BaseDirectory, "data", "state"));
string blockSize = config["block-size"] ?? "512";
string target = config["target"] ?? "iqn.2026-11.org.scst-dotnet:disk1";
List<string> portals = Repeated("portal");
List<string> allowedInitiators = Repeated("allow-initiator");
List<string> allowedPortals = Repeated("allowed-portal");

// An option given once (--name value) or several times (--name:0 value --name:1 value).
List<string> Repeated(string name)
{
    List<string> values = [.. config.GetSection(name).GetChildren().Select(c => c.Value!).Where(v => v is not null)];
    if (config[name] is { } one)
    {
        values.Add(one);
    }

    return values;
}

bool vcdrom = handler == "vcdrom";
bool blockIo = handler == "vdisk_blockio";
var parameters = vcdrom
    ? new Dictionary<string, string>()
    : new Dictionary<string, string>
    {
        ["blocksize"] = blockSize, ["size"] = size, ["thin_provisioned"] = config["thin"] ?? "0",
        ["removable"] = config["removable"] ?? "0",
        ["read_only"] = config["read-only"] ?? "0",
    };
if (blockIo)
{
    // A block device has its own size, block size and discard support: only what was asked for overrides them.
    parameters.Remove("size");
    if (config["block-size"] is null)
    {
        parameters.Remove("blocksize");
    }

    if (config["thin"] is null)
    {
        parameters.Remove("thin_provisioned");
    }
}
if (config["lb-per-pb-exp"] is { } lbPerPbExp)
{
    parameters["lb_per_pb_exp"] = lbPerPbExp;
}

if (config["sanitize-rate-mb"] is { } sanitizeRate)
{
    parameters["sanitize_rate_mb"] = sanitizeRate;
}

if (handler == "vdisk_fileio" || blockIo || (vcdrom && config["file"] is not null))
{
    parameters["filename"] = Path.GetFullPath(file);
}

bool noLun = config["no-lun"] is "1" or "true";
string? userSocket = config["user-socket"];
bool userAutoLun = config["user-auto-lun"] is not ("0" or "false");
builder.Services.Configure<Scst.Transport.Iscsi.IscsiTargetOptions>(config.GetSection("Iscsi"));
IScstBuilder scst = builder.Services.AddScst(o => o.StateDirectory = stateDirectory)
    .AddVdiskHandlers()
    .AddIscsiTarget(o =>
    {
        o.IsnsServer = config["isns-server"];
        foreach (string portal in portals)
        {
            o.Portals.Add(portal);
        }

        // The same credentials for the target and for discovery sessions.
        foreach (ChapCredentials credentials in new[] { o.Chap.ForTarget(target), o.Chap.Discovery })
        {
            if (chapIncoming is { } incoming)
            {
                credentials.SetIncomingUser(incoming.Name, incoming.Secret);
            }

            if (chapOutgoing is { } outgoing)
            {
                credentials.SetOutgoingUser(outgoing.Name, outgoing.Secret);
            }
        }

        o.HeaderDigest = config["header-digest"] ?? o.HeaderDigest;
        o.DataDigest = config["data-digest"] ?? o.DataDigest;
        o.NopInInterval = config.GetValue("nop-in-interval", o.NopInInterval);
        o.NopInTimeout = config.GetValue("nop-in-timeout", o.NopInTimeout);
        o.RspTimeout = config.GetValue("rsp-timeout", o.RspTimeout);
        o.ErrorRecoveryLevel = config.GetValue("error-recovery-level", o.ErrorRecoveryLevel);
        o.MaxConnections = config.GetValue("max-connections", o.MaxConnections);
        o.CommandWindow = config.GetValue("queued-commands", o.CommandWindow);
        if (config["redirect"] is { Length: > 0 } redirect)
        {
            o.Targets[target] = new Scst.Transport.Iscsi.IscsiTargetSettings { Redirect = redirect };
        }

        if (allowedPortals.Count > 0)
        {
            o.TargetAccess[target] = new Scst.Transport.Iscsi.IscsiTargetAccess { AllowedPortals = allowedPortals };
        }
    });
if (!noLun)
{
    scst.AddDevice(handler, "disk1", parameters);
}

const string AllowedGroup = "allowed";
scst.AddTarget("iscsi", target, t =>
{
    if (allowedInitiators.Count == 0)
    {
        if (!noLun)
        {
            t.AddLun(0, "disk1");
        }

        return;
    }

    // Only the initiators of the group see LUNs; the target hides itself from every other one.
    t.AddGroup(AllowedGroup, g =>
    {
        foreach (string pattern in allowedInitiators)
        {
            g.AddInitiator(pattern);
        }

        if (!noLun)
        {
            g.AddLun(0, "disk1");
        }
    });
});
if (config["fcoe"] is { Length: > 0 } fcoeInterface)
{
    // The target is the port, named by its WWPN: given, or derived from the interface's MAC as Linux derives it.
    string wwpn;
    try
    {
        wwpn = Scst.Transport.Fcoe.FcoeTargetDriver.FormatWwn(config["fcoe-wwpn"] is { Length: > 0 } given
            ? Scst.Transport.Fcoe.FcoeTargetDriver.ParseWwn(given)
            : (0x2000UL << 48) | Convert.ToUInt64(File.ReadAllText($"/sys/class/net/{fcoeInterface}/address").Trim().Replace(":", "", StringComparison.Ordinal), 16));
    }
    catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"--fcoe {fcoeInterface}: {ex.Message}");
        return 2;
    }

    if (!Enum.TryParse(config["fcoe-mode"] ?? "vn2vn", ignoreCase: true, out Scst.Transport.Fcoe.FcoeMode fcoeMode))
    {
        Console.Error.WriteLine($"--fcoe-mode is vn2vn or fabric, not '{config["fcoe-mode"]}'.");
        return 2;
    }

    scst.AddFcoeTarget(o => o.Ports.Add(new Scst.Transport.Fcoe.FcoePortOptions
    {
        Interface = fcoeInterface,
        PortName = wwpn,
        Mode = fcoeMode,
        CapturePath = config["fcoe-capture"] is { Length: > 0 } capture ? Path.GetFullPath(capture) : null,
    }));
    scst.AddTarget(Scst.Transport.Fcoe.FcoeTargetDriver.DriverName, wwpn, t =>
    {
        if (!noLun)
        {
            t.AddLun(0, "disk1");
        }
    });
}

if (userSocket is not null)
{
    scst.AddUserDevices(o => o.SocketPath = Path.GetFullPath(userSocket));
}

if (config["events-socket"] is { } eventsSocket)
{
    builder.Services.AddScstEventEndpoint(o => o.SocketPath = Path.GetFullPath(eventsSocket));
}

if (config["mgmt-socket"] is { } mgmtSocket)
{
    scst.AddManagementEndpoint(o => o.SocketPath = Path.GetFullPath(mgmtSocket));
}

if (config.GetSection("Scst") is { } scstSection && scstSection.Exists())
{
    scst.AddConfiguration(scstSection);
}

if (config["config"] is { Length: > 0 } scstConf)
{
    scst.AddConfigurationFile(Path.GetFullPath(scstConf));
}

// --metrics-port N: the metrics of the core, the iSCSI driver, user devices and events, in Prometheus's text format on
// http://127.0.0.1:N/metrics (loopback only: put a scraper beside the target, or a proxy in front of it).
if (config["metrics-port"] is { Length: > 0 } metricsPort)
{
    if (!int.TryParse(metricsPort, System.Globalization.CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
    {
        Console.Error.WriteLine($"--metrics-port {metricsPort}: a TCP port, 1 to 65535.");
        return 2;
    }

    builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
        .AddMeter(
            Scst.Core.Diagnostics.ScstMetrics.MeterName,
            Scst.Transport.Iscsi.Diagnostics.IscsiMetrics.MeterName,
            Scst.UserDevice.Diagnostics.UserDeviceMetrics.MeterName,
            Scst.Events.Diagnostics.ScstEventsMetrics.MeterName)
        .AddPrometheusHttpListener(o =>
        {
            o.Host = "127.0.0.1";
            o.Port = port;
        }));
}

// Under systemd (Type=notify, see scst-target.service), the host tells the service manager READY=1 once every
// portal listens and STOPPING=1 when it begins to stop, through $NOTIFY_SOCKET; SIGTERM stops it gracefully. The
// notify socket alone is enough: a supervisor other than systemd (or a test) may speak the same protocol.
builder.Services.AddSystemd();
if (!SystemdHelpers.IsSystemdService() && Environment.GetEnvironmentVariable("NOTIFY_SOCKET") is { Length: > 0 })
{
    builder.Services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
    builder.Services.AddSingleton<IHostLifetime, SystemdLifetime>();
}

using IHost host = builder.Build();
ILogger logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Scst.Samples.Target");
try
{
    await host.StartAsync();
}
catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException or IOException or System.Net.Sockets.SocketException or Microsoft.Extensions.Options.OptionsValidationException)
{
    logger.LogCritical("Cannot start: {Message}", ex.Message);
    return 1;
}

if (userSocket is not null && userAutoLun)
{
    // Each device a device process registers becomes the next free LUN of the target; its death removes it.
    ScstEngine engine = host.Services.GetRequiredService<ScstEngine>();
    ScsiTarget iscsiTarget = engine.FindTarget("iscsi", target)!;
    LunMap autoMap = iscsiTarget.FindGroup(AllowedGroup)?.Luns ?? iscsiTarget.Luns;
    IScstEventBus events = host.Services.GetRequiredService<IScstEventBus>();
    ScstEventSubscription registrations = events.Subscribe(new ScstEventFilter(ScstEventCode.VirtualDeviceRegistered));
    _ = Task.Run(async () =>
    {
        while (true)
        {
            ScstEvent e = await registrations.ReadAsync().ConfigureAwait(false);
            string device = VirtualDeviceRegisteredEvent.Parse(e.Payload.Span).DeviceName;
            if (engine.FindDevice(device) is { HandlerName: "dev_user" })
            {
                try
                {
                    int lun = Enumerable.Range(0, 256).First(l => autoMap.Find(l) is null);
                    autoMap.Add(lun, engine.FindDevice(device)!);
                }
                catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
                {
                    logger.LogError("Cannot map user device {Device}: {Message}", device, ex.Message);
                }
            }
        }
    });
    logger.LogInformation("User devices: socket {Socket}; each registered device becomes the next free LUN of {Target}.", userSocket, target);
}
else if (userSocket is not null)
{
    logger.LogInformation("User devices: socket {Socket}; registered devices wait to be mapped.", userSocket);
}

logger.LogInformation("State directory {StateDirectory}: persistent reservations with APTPL and saved mode pages.", stateDirectory);
if (allowedInitiators.Count > 0 || allowedPortals.Count > 0)
{
    logger.LogInformation(
        "Access: initiators {Initiators}; portals {AllowedPortals}.",
        allowedInitiators.Count == 0 ? "(all)" : string.Join(", ", allowedInitiators),
        allowedPortals.Count == 0 ? "(all)" : string.Join(", ", allowedPortals));
}

if (noLun)
{
    logger.LogInformation("Serving {Target} on {Portals} with no disk image. Ctrl-C stops.", target, portals.Count == 0 ? "127.0.0.1:3260" : string.Join(", ", portals));
    await host.WaitForShutdownAsync();
    return 0;
}

if (vcdrom)
{
    logger.LogInformation(
        "Serving vcdrom {File} (2048-byte blocks, read-only) as LUN 0 of {Target} on {Portals}. Ctrl-C stops.",
        parameters.GetValueOrDefault("filename", "(empty drive)"), target, portals.Count == 0 ? "127.0.0.1:3260" : string.Join(", ", portals));
    await host.WaitForShutdownAsync();
    return 0;
}

if (blockIo && host.Services.GetRequiredService<ScstEngine>().FindDevice("disk1") is BlockDevice device)
{
    // The block device's own geometry.
    size = (device.BlockCount * device.BlockSize).ToString(System.Globalization.CultureInfo.InvariantCulture);
    blockSize = device.BlockSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

logger.LogInformation(
    "Serving {Handler} {File} ({Size}, {BlockSize}-byte blocks) as LUN 0 of {Target} on {Portals}. Ctrl-C stops.",
    handler, handler == "vdisk_fileio" || blockIo ? parameters["filename"] : "(no backing file)", size, blockSize, target,
    portals.Count == 0 ? "127.0.0.1:3260" : string.Join(", ", portals));
await host.WaitForShutdownAsync();
return 0;
