// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Fcoe;

/// <summary>How a local FCoE port finds its peers.</summary>
public enum FcoeMode
{
    /// <summary>
    /// VN2VN (FC-BB-6): no FCF; VN_Ports on one Ethernet segment claim their N_Port_IDs with FIP and log in to each
    /// other directly. What the Linux initiator does with <c>mode=vn2vn</c>.
    /// </summary>
    Vn2Vn,

    /// <summary>
    /// Fabric (FC-BB-5): FIP discovers an FCF, which grants the N_Port_ID and the MAC address on FLOGI. The fabric-mode
    /// ports of one interface share one ENode: the first logs in with FLOGI, the others with FDISC (NPIV).
    /// </summary>
    Fabric,
}

/// <summary>Options of the FCoE target driver (<c>fcst</c>): one entry per local port.</summary>
public sealed class FcoeTargetOptions
{
    /// <summary>The local ports: each is an SCST target named by its WWPN (<see cref="FcoePortOptions.PortName"/>).</summary>
    public IList<FcoePortOptions> Ports { get; } = [];

    /// <summary>
    /// The most FCP exchanges a port keeps open at once, over all its initiators (commands in flight and the recovery
    /// qualifiers aborted exchanges hold). A command beyond it gets TASK SET FULL. 16 to 32768; default 4096.
    /// </summary>
    public int MaxExchanges { get; set; } = 4096;
}

/// <summary>One local FCoE port: the Ethernet interface it lives on and the names it carries.</summary>
public sealed class FcoePortOptions
{
    /// <summary>The Ethernet interface (<c>eth0</c>, a VLAN interface such as <c>eth0.100</c>, a tap). Required.</summary>
    public string Interface { get; set; } = "";

    /// <summary>
    /// The port's WWPN in colon form (<c>20:00:52:54:00:12:34:56</c>); also the target's name, as SCST's fcst names
    /// targets. Null: derived from the interface's MAC address as the Linux stack derives it (<c>20:00:</c> + MAC).
    /// </summary>
    public string? PortName { get; set; }

    /// <summary>The WWNN in colon form. Null: <c>10:00:</c> + the interface's MAC address.</summary>
    public string? NodeName { get; set; }

    /// <summary>VN2VN (default) or fabric.</summary>
    public FcoeMode Mode { get; set; } = FcoeMode.Vn2Vn;

    /// <summary>
    /// The N_Port_ID proposed first in VN2VN mode (1 to 0xFFFFEF). Null: the low 16 bits of the WWPN, as Linux does.
    /// </summary>
    public int? PreferredPortId { get; set; }

    /// <summary>
    /// A file that receives every frame the port sends and receives, in pcap format (tshark and Wireshark dissect FIP,
    /// FCoE, FC, FCP and SCSI in it). The fabric-mode ports of one interface share its link, so the file holds the
    /// frames of them all. Off (null) by default: it costs a write per frame.
    /// </summary>
    public string? CapturePath { get; set; }
}
