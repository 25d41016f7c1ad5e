// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Fcoe;

/// <summary>
/// Event ids of Scst.Transport.Fcoe's log messages (range 5000-5499): 5400-5409 the AF_PACKET link, 5410-5428 the
/// ports, 5429 the fabric-mode interfaces. Never reuse an id.
/// </summary>
public static class FcoeEventIds
{
    /// <summary>A port's AF_PACKET link opened on its interface.</summary>
    public const int LinkOpened = 5400;

    /// <summary>The interface's MTU is below what full-size FCoE frames need.</summary>
    public const int MtuTooSmall = 5401;

    /// <summary>A frame could not be sent on the link (it is not retried).</summary>
    public const int SendFailed = 5402;

    /// <summary>A port starts on its interface, in VN2VN or fabric mode.</summary>
    public const int PortStarted = 5410;

    /// <summary>A port holds an N_Port_ID (claimed in VN2VN, granted by the FCF in fabric mode).</summary>
    public const int PortUp = 5411;

    /// <summary>A port lost its N_Port_ID; its initiators are logged out.</summary>
    public const int PortDown = 5412;

    /// <summary>An initiator's PRLI established an image pair: a session opened.</summary>
    public const int SessionOpened = 5413;

    /// <summary>An initiator's session closed (PRLO, LOGO, port down).</summary>
    public const int SessionClosed = 5414;

    /// <summary>The core refused to open a session for an initiator.</summary>
    public const int SessionRefused = 5415;

    /// <summary>A received frame was malformed or unexpected and was dropped.</summary>
    public const int FrameDropped = 5416;

    /// <summary>An FCP command came from a port without an image pair; it was answered with LOGO.</summary>
    public const int UnknownSender = 5417;

    /// <summary>An FCP_CMND reused an OX_ID that is still open; it was dropped.</summary>
    public const int DuplicateExchange = 5418;

    /// <summary>An initiator aborted an exchange with ABTS.</summary>
    public const int ExchangeAborted = 5419;

    /// <summary>A task management function was performed, with its response.</summary>
    public const int TaskManagement = 5420;

    /// <summary>Write data did not fit what XFER_RDY asked for.</summary>
    public const int DataMismatch = 5421;

    /// <summary>The port's own login (FLOGI inside FIP, PLOGI) to a peer was accepted.</summary>
    public const int LoggedIn = 5422;

    /// <summary>A peer or the fabric rejected the port's login request.</summary>
    public const int LoginRejected = 5423;

    /// <summary>A peer did not answer the port's login.</summary>
    public const int LoginTimedOut = 5424;

    /// <summary>Handling a frame received by a port threw (a bug); the port goes on.</summary>
    public const int PortFrameFailed = 5425;

    /// <summary>A call into the core (session open or close, task management) threw; the port goes on.</summary>
    public const int CoreCallFailed = 5426;

    /// <summary>Fabric mode: the port registered with the name server.</summary>
    public const int Registered = 5427;

    /// <summary>Fabric mode: registering with the name server or SCR failed.</summary>
    public const int RegistrationFailed = 5428;

    /// <summary>Handling a frame received on a fabric-mode interface threw (a bug); the interface goes on.</summary>
    public const int InterfaceFrameFailed = 5429;
}
