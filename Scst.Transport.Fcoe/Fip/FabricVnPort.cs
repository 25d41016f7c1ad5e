// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Fip;

/// <summary>The states of a <see cref="FabricVnPort"/>.</summary>
internal enum VnPortState
{
    /// <summary>Not started, or stopped.</summary>
    Stopped,

    /// <summary>Started, waiting for its turn: the ENode has no FCF yet, another VN_Port's FLOGI is out, or a retry is due later.</summary>
    Waiting,

    /// <summary>Its FLOGI or FDISC is out to the FCF.</summary>
    LoggingIn,

    /// <summary>The FCF granted it an N_Port_ID and an FPMA.</summary>
    Up,
}

/// <summary>
/// One VN_Port (one WWPN) of a fabric-mode ENode (<see cref="FabricController"/>): it logs in with FIP FLOGI when no
/// other VN_Port of the ENode is logged in, with FIP FDISC otherwise, and gets its own N_Port_ID and FPMA. Made by
/// <see cref="FabricController.AddPort"/>; nothing is sent for it before <see cref="Start"/>.
/// </summary>
/// <remarks>
/// The fields below the public members are the controller's bookkeeping: guarded by the controller's lock and written
/// by the controller only. Events are raised without that lock held, so a handler may call back into the controller.
/// </remarks>
internal sealed class FabricVnPort
{
    internal FabricVnPort(FabricController controller, ulong portName, ulong nodeName)
    {
        Controller = controller;
        PortName = portName;
        NodeName = nodeName;
    }

    /// <summary>The FCF granted the VN_Port its N_Port_ID and FPMA (now a unicast address of the link); the FCF-MAC is the third.</summary>
    public event Action<uint, MacAddress, MacAddress>? PortUp;

    /// <summary>
    /// The VN_Port lost its virtual link (a Clear Virtual Links naming it or its ENode, or the FCF fell silent): the
    /// N_Port_ID it had. It logs in again by itself. <see cref="Stop"/> raises none.
    /// </summary>
    public event Action<uint>? PortDown;

    /// <summary>The ENode the VN_Port belongs to.</summary>
    public FabricController Controller { get; }

    /// <summary>The WWPN, sent in its FLOGI or FDISC.</summary>
    public ulong PortName { get; }

    /// <summary>The WWNN, sent in its FLOGI or FDISC.</summary>
    public ulong NodeName { get; }

    /// <summary>Where the VN_Port is.</summary>
    public VnPortState State
    {
        get
        {
            lock (Controller.SyncRoot)
            {
                return CurrentState;
            }
        }
    }

    /// <summary>The N_Port_ID the FCF granted; 0 unless <see cref="VnPortState.Up"/>.</summary>
    public uint PortId
    {
        get
        {
            lock (Controller.SyncRoot)
            {
                return Id;
            }
        }
    }

    /// <summary>The FPMA the FCF granted (FC-MAP || N_Port_ID); all zero unless <see cref="VnPortState.Up"/>.</summary>
    public MacAddress PortMac
    {
        get
        {
            lock (Controller.SyncRoot)
            {
                return Mac;
            }
        }
    }

    /// <summary>True when the VN_Port is up through an FDISC, false through an FLOGI (or not up).</summary>
    public bool LoggedInByFdisc
    {
        get
        {
            lock (Controller.SyncRoot)
            {
                return CurrentState == VnPortState.Up && ByFdisc;
            }
        }
    }

    /// <summary>The service parameters of the FCF's FLOGI or FDISC accept (its E_D_TOV, R_A_TOV, names); null unless up.</summary>
    public ServiceParameters? FabricParameters
    {
        get
        {
            lock (Controller.SyncRoot)
            {
                return Parameters;
            }
        }
    }

    /// <summary>
    /// Starts the VN_Port: it logs in as soon as the ENode has an FCF (starting the ENode's discovery when it is the
    /// first VN_Port started).
    /// </summary>
    /// <exception cref="InvalidOperationException">Already started, or another started VN_Port has the same WWPN.</exception>
    public void Start() => Controller.StartPort(this);

    /// <summary>
    /// Stops the VN_Port: when up, a LOGO inside FIP logs its N_Port_ID out and its FPMA is removed from the link. The
    /// other VN_Ports of the ENode stay logged in; the ENode stops with its last VN_Port. Raises no <see cref="PortDown"/>.
    /// </summary>
    public void Stop() => Controller.StopPort(this);

    // ---- the controller's bookkeeping (under its lock) ----

    internal VnPortState CurrentState { get; set; }

    internal uint Id { get; set; }

    internal MacAddress Mac { get; set; }

    internal ServiceParameters? Parameters { get; set; }

    /// <summary>The login out (or done) is an FDISC rather than an FLOGI.</summary>
    internal bool ByFdisc { get; set; }

    /// <summary>The OX_ID of the FLOGI or FDISC out.</summary>
    internal ushort OxId { get; set; }

    /// <summary>FDISCs sent in this round.</summary>
    internal int Tries { get; set; }

    /// <summary>When the FDISC out times out (LoggingIn), or when the next round of FDISCs is due (Waiting); null: none.</summary>
    internal DateTimeOffset? Due { get; set; }

    /// <summary>When the next VN_Port keep-alive is due (Up).</summary>
    internal DateTimeOffset NextKeepAlive { get; set; }

    internal void Forget(VnPortState state)
    {
        CurrentState = state;
        Id = 0;
        Mac = default;
        Parameters = null;
        ByFdisc = false;
        OxId = 0;
        Tries = 0;
        Due = null;
    }

    internal void RaisePortUp(uint portId, MacAddress mac, MacAddress fcfMac) => PortUp?.Invoke(portId, mac, fcfMac);

    internal void RaisePortDown(uint portId) => PortDown?.Invoke(portId);
}
