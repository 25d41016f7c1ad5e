// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Fcoe.Protocol;

/// <summary>LS_RJT reason codes (FC-LS-3 table 12).</summary>
internal static class LsRjtReason
{
    /// <summary>Invalid ELS command code.</summary>
    public const byte InvalidCommand = 0x01;

    /// <summary>Logical error: the request is not valid in the present state.</summary>
    public const byte LogicalError = 0x03;

    /// <summary>Logical busy: try again later.</summary>
    public const byte LogicalBusy = 0x05;

    /// <summary>Protocol error.</summary>
    public const byte ProtocolError = 0x07;

    /// <summary>Unable to perform the command request.</summary>
    public const byte UnableToPerform = 0x09;

    /// <summary>Command not supported.</summary>
    public const byte CommandNotSupported = 0x0B;

    /// <summary>Command already in progress.</summary>
    public const byte CommandInProgress = 0x0E;

    /// <summary>FIP error (FC-BB-6).</summary>
    public const byte FipError = 0x20;

    /// <summary>Vendor specific error; the vendor byte tells which.</summary>
    public const byte VendorUnique = 0xFF;
}

/// <summary>LS_RJT reason code explanations (FC-LS-3 table 13).</summary>
internal static class LsRjtExplanation
{
    /// <summary>No additional explanation.</summary>
    public const byte None = 0x00;

    /// <summary>Service parameter error: options.</summary>
    public const byte ServiceParameterOptions = 0x01;

    /// <summary>Service parameter error: initiator control.</summary>
    public const byte ServiceParameterInitiatorControl = 0x03;

    /// <summary>Service parameter error: recipient control.</summary>
    public const byte ServiceParameterRecipientControl = 0x05;

    /// <summary>Service parameter error: receive data field size.</summary>
    public const byte ServiceParameterReceiveSize = 0x07;

    /// <summary>Service parameter error: concurrent sequences.</summary>
    public const byte ServiceParameterConcurrentSequences = 0x09;

    /// <summary>Service parameter error: credit.</summary>
    public const byte ServiceParameterCredit = 0x0B;

    /// <summary>Invalid N_Port/F_Port name.</summary>
    public const byte InvalidPortName = 0x0D;

    /// <summary>Invalid node/fabric name.</summary>
    public const byte InvalidNodeName = 0x0E;

    /// <summary>Invalid common service parameters.</summary>
    public const byte InvalidCommonServiceParameters = 0x0F;

    /// <summary>Invalid association header.</summary>
    public const byte InvalidAssociationHeader = 0x11;

    /// <summary>Association header required.</summary>
    public const byte AssociationHeaderRequired = 0x13;

    /// <summary>Invalid originator S_ID.</summary>
    public const byte InvalidOriginatorSourceId = 0x15;

    /// <summary>Invalid OX_ID-RX_ID combination.</summary>
    public const byte InvalidExchangeIds = 0x17;

    /// <summary>Command (request) already in progress.</summary>
    public const byte CommandInProgress = 0x19;

    /// <summary>N_Port login required.</summary>
    public const byte LoginRequired = 0x1E;

    /// <summary>Insufficient resources.</summary>
    public const byte InsufficientResources = 0x29;

    /// <summary>Unable to supply requested data.</summary>
    public const byte UnableToSupplyData = 0x2A;

    /// <summary>Request not supported.</summary>
    public const byte RequestNotSupported = 0x2C;

    /// <summary>Invalid payload length.</summary>
    public const byte InvalidPayloadLength = 0x2D;
}

/// <summary>
/// The 8-byte LS_RJT payload (FC-LS-3 section 4.2.2): 0 code 0x01, 1-3 reserved, 4 reserved, 5 reason code,
/// 6 reason code explanation, 7 vendor unique.
/// </summary>
/// <param name="Reason">The reason code (<see cref="LsRjtReason"/>).</param>
/// <param name="Explanation">The explanation (<see cref="LsRjtExplanation"/>).</param>
/// <param name="Vendor">The vendor unique byte.</param>
internal readonly record struct LsRjt(byte Reason, byte Explanation, byte Vendor = 0)
{
    /// <summary>Bytes of the payload.</summary>
    public const int Length = 8;

    /// <summary>Decodes an LS_RJT payload; false when too short or not an LS_RJT.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out LsRjt reject)
    {
        reject = default;
        if (payload.Length < Length || payload[0] != ElsCode.LsRjt)
        {
            return false;
        }

        reject = new LsRjt(payload[5], payload[6], payload[7]);
        return true;
    }

    /// <summary>Writes the payload; returns <see cref="Length"/>.</summary>
    public int WriteTo(Span<byte> destination)
    {
        var payload = Els.Begin(destination, ElsCode.LsRjt, Length);
        payload[5] = Reason;
        payload[6] = Explanation;
        payload[7] = Vendor;
        return Length;
    }
}
