// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Fcoe.Protocol;

/// <summary>R_CTL values (FC-FS-3 table 31): routing bits 7-4 and information category bits 3-0.</summary>
internal static class RCtl
{
    /// <summary>Device data, solicited data: FCP_DATA.</summary>
    public const byte SolicitedData = 0x01;

    /// <summary>Device data, unsolicited control: an FC-CT request.</summary>
    public const byte UnsolicitedControl = 0x02;

    /// <summary>Device data, solicited control: an FC-CT reply.</summary>
    public const byte SolicitedControl = 0x03;

    /// <summary>Device data, data descriptor: FCP_XFER_RDY.</summary>
    public const byte DataDescriptor = 0x05;

    /// <summary>Device data, unsolicited command: FCP_CMND.</summary>
    public const byte UnsolicitedCommand = 0x06;

    /// <summary>Device data, command status: FCP_RSP.</summary>
    public const byte CommandStatus = 0x07;

    /// <summary>Extended link service request.</summary>
    public const byte ElsRequest = 0x22;

    /// <summary>Extended link service reply (LS_ACC, LS_RJT).</summary>
    public const byte ElsReply = 0x23;

    /// <summary>FC-4 link service request (FCP's SRR, REC).</summary>
    public const byte Fc4ElsRequest = 0x32;

    /// <summary>FC-4 link service reply.</summary>
    public const byte Fc4ElsReply = 0x33;

    /// <summary>Basic link service: no operation.</summary>
    public const byte BasicNoOperation = 0x80;

    /// <summary>Basic link service: ABTS (abort sequence).</summary>
    public const byte Abts = 0x81;

    /// <summary>Basic link service: RMC (remove connection).</summary>
    public const byte RemoveConnection = 0x82;

    /// <summary>Basic link service: BA_ACC.</summary>
    public const byte BaAcc = 0x84;

    /// <summary>Basic link service: BA_RJT.</summary>
    public const byte BaRjt = 0x85;

    /// <summary>FCP_DATA (<see cref="SolicitedData"/>).</summary>
    public const byte FcpData = SolicitedData;

    /// <summary>FCP_XFER_RDY (<see cref="DataDescriptor"/>).</summary>
    public const byte FcpTransferReady = DataDescriptor;

    /// <summary>FCP_CMND (<see cref="UnsolicitedCommand"/>).</summary>
    public const byte FcpCommand = UnsolicitedCommand;

    /// <summary>FCP_RSP (<see cref="CommandStatus"/>).</summary>
    public const byte FcpResponse = CommandStatus;

    /// <summary>FC-CT request (<see cref="UnsolicitedControl"/>).</summary>
    public const byte CtRequest = UnsolicitedControl;

    /// <summary>FC-CT reply (<see cref="SolicitedControl"/>).</summary>
    public const byte CtReply = SolicitedControl;
}

/// <summary>TYPE values of the FC frame header (FC-FS-3 table 36).</summary>
internal static class FcType
{
    /// <summary>Basic link service (ABTS, BA_ACC, BA_RJT).</summary>
    public const byte Bls = 0x00;

    /// <summary>Extended link service.</summary>
    public const byte Els = 0x01;

    /// <summary>SCSI FCP (FCP-4).</summary>
    public const byte Fcp = 0x08;

    /// <summary>Fibre Channel services (FC-CT: name server, management server).</summary>
    public const byte Ct = 0x20;
}

/// <summary>F_CTL bits of the FC frame header (FC-FS-3 table 37), as a 24-bit number.</summary>
internal static class FCtl
{
    /// <summary>Bit 23: the frame is sent by the exchange responder.</summary>
    public const uint ExchangeContext = 0x80_0000;

    /// <summary>Bit 22: the frame is sent by the sequence recipient.</summary>
    public const uint SequenceContext = 0x40_0000;

    /// <summary>Bit 21: the frame belongs to the first sequence of the exchange.</summary>
    public const uint FirstSequence = 0x20_0000;

    /// <summary>Bit 20: the frame belongs to the last sequence of the exchange.</summary>
    public const uint LastSequence = 0x10_0000;

    /// <summary>Bit 19: the last frame of its sequence.</summary>
    public const uint EndSequence = 0x08_0000;

    /// <summary>Bit 18: end connection (class 1, obsolete).</summary>
    public const uint EndConnection = 0x04_0000;

    /// <summary>Bit 17: CS_CTL holds a priority.</summary>
    public const uint PriorityEnable = 0x02_0000;

    /// <summary>Bit 16: sequence initiative is transferred with the last frame of the sequence.</summary>
    public const uint SequenceInitiative = 0x01_0000;

    /// <summary>Bits 13-12: ACK form.</summary>
    public const uint AckFormMask = 0x00_3000;

    /// <summary>Bit 9: retransmitted sequence.</summary>
    public const uint RetransmittedSequence = 0x00_0200;

    /// <summary>Bits 7-6: continue sequence condition.</summary>
    public const uint ContinueSequenceMask = 0x00_00C0;

    /// <summary>Bits 5-4: abort sequence condition.</summary>
    public const uint AbortSequenceMask = 0x00_0030;

    /// <summary>Bit 3: the parameter field holds the payload's relative offset.</summary>
    public const uint RelativeOffset = 0x00_0008;

    /// <summary>Bit 2: exchange reassembly.</summary>
    public const uint ExchangeReassembly = 0x00_0004;

    /// <summary>Bits 1-0: how many fill bytes end the payload (0-3).</summary>
    public const uint FillMask = 0x00_0003;

    /// <summary>An unsolicited request that opens an exchange and passes the initiative: FCP_CMND, ELS request (0x290000).</summary>
    public const uint Request = FirstSequence | EndSequence | SequenceInitiative;

    /// <summary>The responder's last frame of the exchange: ELS reply, FCP_RSP, BA_ACC (0x980000).</summary>
    public const uint LastReply = ExchangeContext | LastSequence | EndSequence;

    /// <summary>
    /// <see cref="LastReply"/> with the sequence initiative passed back (0x990000), what the Linux initiator and LIO send
    /// for an ELS reply.
    /// </summary>
    public const uint LastReplyWithInitiative = LastReply | SequenceInitiative;

    /// <summary>FCP_XFER_RDY: responder, end of sequence, initiative to the initiator (0x890000).</summary>
    public const uint TransferReady = ExchangeContext | EndSequence | SequenceInitiative;

    /// <summary>A Data-In frame that is not the last of its sequence (0x800008).</summary>
    public const uint DataIn = ExchangeContext | RelativeOffset;

    /// <summary>The last Data-In frame of its sequence (0x880008).</summary>
    public const uint DataInLast = ExchangeContext | EndSequence | RelativeOffset;

    /// <summary>A Data-Out frame that is not the last of its sequence (0x000008).</summary>
    public const uint DataOut = RelativeOffset;

    /// <summary>The last Data-Out frame of its sequence, passing the initiative back (0x090008).</summary>
    public const uint DataOutLast = EndSequence | SequenceInitiative | RelativeOffset;

    /// <summary>ABTS from the exchange originator (0x090000).</summary>
    public const uint Abts = EndSequence | SequenceInitiative;
}

/// <summary>Well-known Fibre Channel addresses (FC-FS-3 table 44).</summary>
internal static class WellKnownAddress
{
    /// <summary>Broadcast alias.</summary>
    public const uint Broadcast = 0xFF_FFFF;

    /// <summary>F_Port controller / fabric login server (FLOGI, FDISC).</summary>
    public const uint FabricLogin = 0xFF_FFFE;

    /// <summary>Fabric controller (SCR, RSCN).</summary>
    public const uint FabricController = 0xFF_FFFD;

    /// <summary>Directory server (name server, FC-GS).</summary>
    public const uint DirectoryServer = 0xFF_FFFC;

    /// <summary>Time server.</summary>
    public const uint TimeServer = 0xFF_FFFB;

    /// <summary>Management server.</summary>
    public const uint ManagementServer = 0xFF_FFFA;
}
