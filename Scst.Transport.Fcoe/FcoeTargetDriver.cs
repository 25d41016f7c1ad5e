// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Scst.Core;
using Scst.Transport.Fcoe.Diagnostics;
using Scst.Transport.Fcoe.Fip;
using Scst.Transport.Fcoe.Link;
using Scst.Transport.Fcoe.Port;

namespace Scst.Transport.Fcoe;

/// <summary>
/// The FCoE target driver (SCST's <c>fcst</c>): one local FCoE port per entry of <see cref="FcoeTargetOptions.Ports"/>,
/// each on an AF_PACKET socket of its Ethernet interface, each serving the SCSI target named by its WWPN (created when
/// the port starts unless the configuration already added it; a port whose target is disabled refuses image pairs).
/// Sessions are named by the initiator's WWPN in colon form, so LUN maps and security groups work as on every fabric.
/// The fabric-mode ports of one interface share one link and one ENode: the first logs in to the fabric with FLOGI, the
/// others with FDISC (NPIV), each with its own N_Port_ID and MAC address. Needs CAP_NET_RAW.
/// </summary>
public sealed class FcoeTargetDriver : ITargetDriver, IHostedService, IAsyncDisposable
{
    /// <summary>The driver's name, as SCST names its FCoE target driver.</summary>
    public const string DriverName = "fcst";

    private readonly Lock _lock = new();
    private readonly List<FcoePort> _ports = [];
    private readonly List<FabricInterface> _interfaces = [];
    private readonly ILogger _logger;

    /// <summary>Creates the driver; ports open in <see cref="StartAsync"/>.</summary>
    public FcoeTargetDriver(ScstEngine engine, IOptions<FcoeTargetOptions> options, ILogger<FcoeTargetDriver>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(options);
        Engine = engine;
        Options = options.Value;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <inheritdoc/>
    public string Name => DriverName;

    /// <inheritdoc/>
    public byte ProtocolIdentifier => 0x00;

    /// <summary>The options the driver was created with.</summary>
    public FcoeTargetOptions Options { get; }

    /// <summary>The names (WWPNs) of the ports that are open.</summary>
    public IReadOnlyList<string> PortNames
    {
        get
        {
            lock (_lock)
            {
                return [.. _ports.Select(p => p.Name)];
            }
        }
    }

    internal ScstEngine Engine { get; }

    internal TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Opens an interface's link; tests replace it with in-memory links.</summary>
    internal Func<string, IFcoeLink> OpenLink { get; init; } = null!;

    /// <summary>False in tests that hand each port its frames themselves.</summary>
    internal bool ReceiveLoops { get; init; } = true;

    internal IReadOnlyList<FcoePort> Ports
    {
        get
        {
            lock (_lock)
            {
                return [.. _ports];
            }
        }
    }

    /// <summary>The interfaces whose fabric-mode ports share a link and an ENode.</summary>
    internal IReadOnlyList<FabricInterface> FabricInterfaces
    {
        get
        {
            lock (_lock)
            {
                return [.. _interfaces];
            }
        }
    }

    /// <summary>
    /// Parses a WWN written as 16 hex digits, with or without colons or a <c>0x</c> prefix
    /// (<c>20:00:52:54:00:12:34:56</c>, <c>0x2000525400123456</c>).
    /// </summary>
    /// <exception cref="FormatException">Not a WWN.</exception>
    public static ulong ParseWwn(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string digits = text.Trim();
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            digits = digits[2..];
        }

        digits = digits.Replace(":", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal);
        if (digits.Length != 16 || !ulong.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong wwn) || wwn == 0)
        {
            throw new FormatException($"'{text}' is not a WWN (16 hex digits, such as 20:00:52:54:00:12:34:56).");
        }

        return wwn;
    }

    /// <summary>A WWN in colon form, as target and session names carry it (<c>20:00:52:54:00:12:34:56</c>).</summary>
    public static string FormatWwn(ulong wwn) => RemotePort.FormatWwn(wwn);

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Func<string, IFcoeLink> open = OpenLink ?? (name => PacketSocketLink.Open(name, _logger));
        var shared = new Dictionary<string, FabricInterface>(StringComparer.Ordinal);
        foreach (var options in Options.Ports)
        {
            FabricInterface? fabric = null;
            IFcoeLink link;
            if (options.Mode == FcoeMode.Fabric && shared.TryGetValue(options.Interface, out fabric))
            {
                link = fabric.Link;
            }
            else
            {
                link = open(options.Interface);
                IEnumerable<string?> captures = options.Mode == FcoeMode.Fabric
                    ? Options.Ports.Where(p => p.Mode == FcoeMode.Fabric && p.Interface == options.Interface).Select(p => p.CapturePath)
                    : [options.CapturePath];
                foreach (string path in captures.OfType<string>().Where(p => p.Length > 0).Distinct(StringComparer.Ordinal))
                {
                    link = new CapturingLink(link, new PcapWriter(File.Create(path), TimeProvider));
                }
            }

            ulong mac = link.Address.ToUInt64();
            ulong portName = options.PortName is null ? (0x2000UL << 48) | mac : ParseWwn(options.PortName);
            ulong nodeName = options.NodeName is null ? (0x1000UL << 48) | mac : ParseWwn(options.NodeName);
            if (options.Mode == FcoeMode.Fabric && fabric is null)
            {
                // The interface's ENode carries the WWNN of its first port in its solicitations.
                fabric = new FabricInterface(link, new FabricOptions { NodeName = nodeName }, TimeProvider, _logger);
                shared.Add(options.Interface, fabric);
                lock (_lock)
                {
                    _interfaces.Add(fabric);
                }

                fabric.Start(ReceiveLoops);
            }

            string name = RemotePort.FormatWwn(portName);

            // As SCST's fcst: a local port is a target; the configuration gives it LUNs (and may have created it already).
            if (FindTarget(name) is null)
            {
                Engine.AddTarget(this, name);
            }

            var settings = new FcoePortSettings(portName, nodeName, (uint?)options.PreferredPortId, Options.MaxExchanges, options.Mode);
            var port = new FcoePort(link, settings, () => FindTarget(name), TimeProvider, _logger, shared: fabric);
            lock (_lock)
            {
                _ports.Add(port);
            }

            port.Start(ReceiveLoops);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        FcoePort[] ports;
        FabricInterface[] interfaces;
        lock (_lock)
        {
            ports = [.. _ports];
            _ports.Clear();
            interfaces = [.. _interfaces];
            _interfaces.Clear();
        }

        foreach (var port in ports)
        {
            await port.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var fabric in interfaces)
        {
            await fabric.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => new(StopAsync(CancellationToken.None));

    private ScsiTarget? FindTarget(string name)
    {
        foreach (var target in Engine.Targets)
        {
            if (target.Driver == this && string.Equals(target.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return target;
            }
        }

        return null;
    }

    /// <inheritdoc/>
    public void OnTargetEnabledChanged(ScsiTarget target, bool enabled)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (enabled)
        {
            return;
        }

        foreach (var port in Ports)
        {
            if (string.Equals(port.Name, target.Name, StringComparison.OrdinalIgnoreCase))
            {
                port.OnTargetDisabled();
            }
        }
    }
}
