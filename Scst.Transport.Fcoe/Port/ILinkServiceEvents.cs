// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Fcoe.Port;

/// <summary>
/// What the link service responder asks of, and tells, the driver: the exchange manager's view of exchanges (for ABTS
/// and RRQ) and the start and end of FCP image pairs (the driver opens and closes a core session per initiator, named
/// by <see cref="RemotePort.SessionName"/>). Called on the thread that calls
/// <see cref="LinkServiceResponder.Respond"/>, outside the remote port table's lock.
/// </summary>
internal interface ILinkServiceEvents
{
    /// <summary>An FCP image pair with <paramref name="port"/> was established (PRLI accepted with EST_IMG_PAIR).</summary>
    void ImagePairEstablished(RemotePort port);

    /// <summary>
    /// The FCP image pair with <paramref name="port"/> ended (PRLO, LOGO, or the implicit logout of a second PLOGI):
    /// the driver aborts the port's commands and closes its session.
    /// </summary>
    void ImagePairEnded(RemotePort port);

    /// <summary>
    /// An ABTS from <paramref name="sourceId"/> for the exchange OX_ID/RX_ID: true when the exchange is known, so it is
    /// aborted (its tasks aborted, its recovery qualifier held until RRQ or R_A_TOV) and BA_ACC is sent; false gives BA_RJT.
    /// </summary>
    bool AbortExchange(uint sourceId, ushort oxId, ushort rxId);

    /// <summary>
    /// An RRQ from <paramref name="sourceId"/> for the recovery qualifier of the exchange originated by
    /// <paramref name="originatorId"/>: true when the qualifier was held and is now free, false gives LS_RJT.
    /// </summary>
    bool ReleaseRecoveryQualifier(uint sourceId, uint originatorId, ushort oxId, ushort rxId);
}
