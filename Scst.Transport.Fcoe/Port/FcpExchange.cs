// Licensed under the Apache License, Version 2.0.

using Scst.Core;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Port;

/// <summary>Where an FCP exchange the port responds to stands.</summary>
internal enum ExchangeState : byte
{
    /// <summary>Not in use: its RX_ID may be given out.</summary>
    Free,

    /// <summary>The FCP_CMND is with the core (or a task management function runs).</summary>
    Executing,

    /// <summary>XFER_RDY is out: FCP_DATA frames fill the command's write buffer.</summary>
    ReceivingData,

    /// <summary>Data-In and FCP_RSP are being sent.</summary>
    Responding,

    /// <summary>
    /// ABTS ended the exchange, or its session ended: nothing more is sent on it. The RX_ID and the recovery qualifier
    /// (S_ID, OX_ID, RX_ID) stay held until the command is released and then RRQ or R_A_TOV frees them.
    /// </summary>
    Aborted,
}

/// <summary>
/// One exchange of which the port is the responder: an FCP_CMND, its XFER_RDY and FCP_DATA, its FCP_RSP. Owned by the
/// <see cref="ExchangeTable"/>, one per RX_ID, reused; its fields are guarded by <see cref="Lock"/> except the
/// identity fields, which are set before the exchange is published and not changed until it is free again.
/// </summary>
internal sealed class FcpExchange
{
    /// <summary>Creates the exchange with the fixed RX_ID <paramref name="rxId"/>.</summary>
    public FcpExchange(ushort rxId) => RxId = rxId;

    /// <summary>Guards the state, the byte counts and the command.</summary>
    public Lock Lock { get; } = new();

    /// <summary>Our exchange id: the index in the table and the core's task tag.</summary>
    public ushort RxId { get; }

    /// <summary>The initiator's N_Port_ID.</summary>
    public uint RemoteId { get; set; }

    /// <summary>The initiator's exchange id.</summary>
    public ushort OxId { get; set; }

    /// <summary>The session the command belongs to; null for a frame answered without one.</summary>
    public FcoeSession? Session { get; set; }

    /// <summary>The core's command; null before it is created and after it is released.</summary>
    public ScsiCommand? Command { get; set; }

    /// <summary>Where the exchange stands.</summary>
    public ExchangeState State { get; set; }

    /// <summary>The write data asked for with XFER_RDY.</summary>
    public int ExpectedBytes { get; set; }

    /// <summary>True between XFER_RDY and the call that tells the core its write data came (or never will).</summary>
    public bool AwaitingData { get; set; }

    /// <summary>The write data received so far.</summary>
    public int ReceivedBytes { get; set; }

    /// <summary>The SEQ_ID the next sequence we send on this exchange carries.</summary>
    public byte NextSequenceId { get; set; }

    /// <summary>When the recovery qualifier of an aborted exchange lapses (R_A_TOV after the abort), as a timestamp.</summary>
    public long HeldUntil { get; set; }

    /// <summary>True once the command was released (or never created): an aborted exchange may then be freed.</summary>
    public bool CommandGone { get; set; }

    /// <summary>The FC header of a frame we send on this exchange (we are its responder: EX_CTX is set by the caller's F_CTL).</summary>
    public FcFrameHeader Header(byte rCtl, uint fCtl, uint localId, byte sequenceId, ushort sequenceCount, uint parameter) => new()
    {
        RCtl = rCtl,
        DestinationId = RemoteId,
        SourceId = localId,
        Type = FcType.Fcp,
        FCtl = fCtl,
        SeqId = sequenceId,
        SeqCnt = sequenceCount,
        OxId = OxId,
        RxId = RxId,
        Parameter = parameter,
    };

    /// <summary>Makes the exchange ready for a new FCP_CMND. Called under the table's lock on a free exchange.</summary>
    public void Start(uint remoteId, ushort oxId, FcoeSession? session)
    {
        RemoteId = remoteId;
        OxId = oxId;
        Session = session;
        Command = null;
        State = ExchangeState.Executing;
        ExpectedBytes = 0;
        ReceivedBytes = 0;
        AwaitingData = false;
        NextSequenceId = 0;
        HeldUntil = 0;
        CommandGone = false;
    }
}
