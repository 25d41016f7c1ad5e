// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>SessionType key (RFC 7143 section 13.21).</summary>
internal enum SessionType
{
    /// <summary>A session that carries SCSI commands (the default).</summary>
    Normal,

    /// <summary>A session limited to SendTargets.</summary>
    Discovery,
}

/// <summary>
/// What the target is willing to negotiate, and what it declares (RFC 7143 section 13). Each property's
/// default is the RFC's default except <see cref="MaxRecvDataSegmentLength"/>.
/// </summary>
internal sealed record TargetNegotiationOptions
{
    /// <summary>Our declared receive limit for data segments. Defaults to 262144 (RFC default 8192); 512..16777215.</summary>
    public int MaxRecvDataSegmentLength { get; init; } = 262_144;

    /// <summary>Largest MaxBurstLength we accept (numerical minimum). Defaults to 262144.</summary>
    public int MaxBurstLength { get; init; } = 262_144;

    /// <summary>Largest FirstBurstLength we accept (numerical minimum). Defaults to 65536.</summary>
    public int FirstBurstLength { get; init; } = 65_536;

    /// <summary>Largest MaxConnections we accept. Defaults to 1.</summary>
    public int MaxConnections { get; init; } = 1;

    /// <summary>Largest MaxOutstandingR2T we accept. Defaults to 1.</summary>
    public int MaxOutstandingR2T { get; init; } = 1;

    /// <summary>Our DefaultTime2Wait (numerical maximum: the answer is never below it). Defaults to 2 seconds.</summary>
    public int DefaultTime2Wait { get; init; } = 2;

    /// <summary>Largest DefaultTime2Retain we accept. Defaults to 20 seconds.</summary>
    public int DefaultTime2Retain { get; init; } = 20;

    /// <summary>Highest ErrorRecoveryLevel we implement. Defaults to 0.</summary>
    public int ErrorRecoveryLevel { get; init; }

    /// <summary>Our InitialR2T (Boolean OR: Yes here forces Yes). Defaults to true.</summary>
    public bool InitialR2T { get; init; } = true;

    /// <summary>Our ImmediateData (Boolean AND: No here forces No). Defaults to true.</summary>
    public bool ImmediateData { get; init; } = true;

    /// <summary>Our DataPDUInOrder (Boolean OR). Defaults to true: out-of-order Data-Out is not supported.</summary>
    public bool DataPduInOrder { get; init; } = true;

    /// <summary>Our DataSequenceInOrder (Boolean OR). Defaults to true.</summary>
    public bool DataSequenceInOrder { get; init; } = true;

    /// <summary>
    /// HeaderDigest values we accept. Defaults to None only. A Normal session whose outcome is not in the set fails
    /// to log in; a Discovery session may always fall back to None.
    /// </summary>
    public DigestSet HeaderDigests { get; init; } = DigestSet.None;

    /// <summary>DataDigest values we accept; as <see cref="HeaderDigests"/>. Defaults to None only.</summary>
    public DigestSet DataDigests { get; init; } = DigestSet.None;

    /// <summary>Target portal group tag declared in the first response of a Normal session. Defaults to 1.</summary>
    public ushort TargetPortalGroupTag { get; init; } = 1;

    /// <summary>Optional TargetAlias declared in the first response. Defaults to none.</summary>
    public string? TargetAlias { get; init; }

    /// <summary>The CmdSN window of a session of this target (MaxCmdSN - ExpCmdSN + 1 in the login responses); 0 keeps the login's own.</summary>
    public int CommandWindow { get; init; }

    /// <summary>
    /// The iSCSIProtocolLevel we implement: 1, the level RFC 7143 section 13.24 assigns to itself. RFC 7144
    /// features (level 2) are not implemented.
    /// </summary>
    public int ProtocolLevel { get; init; } = 1;
}

/// <summary>
/// Session and connection parameters in force after login. Defaults are those of RFC 7143 section 13,
/// which apply to every key that was not negotiated.
/// </summary>
internal sealed record NegotiatedParameters
{
    /// <summary>Normal or Discovery.</summary>
    public SessionType SessionType { get; init; } = SessionType.Normal;

    /// <summary>InitiatorName declared by the initiator.</summary>
    public string InitiatorName { get; init; } = string.Empty;

    /// <summary>InitiatorAlias, if declared.</summary>
    public string? InitiatorAlias { get; init; }

    /// <summary>TargetName (Normal sessions), if declared.</summary>
    public string? TargetName { get; init; }

    /// <summary>HeaderDigest.</summary>
    public DigestKind HeaderDigest { get; init; } = DigestKind.None;

    /// <summary>DataDigest.</summary>
    public DigestKind DataDigest { get; init; } = DigestKind.None;

    /// <summary>MaxConnections.</summary>
    public int MaxConnections { get; init; } = 1;

    /// <summary>InitialR2T.</summary>
    public bool InitialR2T { get; init; } = true;

    /// <summary>ImmediateData.</summary>
    public bool ImmediateData { get; init; } = true;

    /// <summary>FirstBurstLength in bytes (never above <see cref="MaxBurstLength"/>).</summary>
    public int FirstBurstLength { get; init; } = 65_536;

    /// <summary>MaxBurstLength in bytes.</summary>
    public int MaxBurstLength { get; init; } = 262_144;

    /// <summary>MaxOutstandingR2T.</summary>
    public int MaxOutstandingR2T { get; init; } = 1;

    /// <summary>The initiator's declared receive limit: bounds the data segment of every PDU we send (Data-In, Text).</summary>
    public int InitiatorMaxRecvDataSegmentLength { get; init; } = 8192;

    /// <summary>Our declared receive limit (8192 if we never declared ours): the reader's limit after login.</summary>
    public int TargetMaxRecvDataSegmentLength { get; init; } = 8192;

    /// <summary>DataPDUInOrder.</summary>
    public bool DataPduInOrder { get; init; } = true;

    /// <summary>DataSequenceInOrder.</summary>
    public bool DataSequenceInOrder { get; init; } = true;

    /// <summary>ErrorRecoveryLevel.</summary>
    public int ErrorRecoveryLevel { get; init; }

    /// <summary>DefaultTime2Wait in seconds.</summary>
    public int DefaultTime2Wait { get; init; } = 2;

    /// <summary>DefaultTime2Retain in seconds.</summary>
    public int DefaultTime2Retain { get; init; } = 20;

    /// <summary>iSCSIProtocolLevel (RFC 7144); 0 when not negotiated.</summary>
    public int ProtocolLevel { get; init; }
}
