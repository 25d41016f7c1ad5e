// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Transport.Fcoe.Protocol;

/// <summary>FCP_RSP flags, byte 10 (FCP-4 table 33).</summary>
[Flags]
internal enum FcpResponseFlags : byte
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary>FCP_RSP_LEN_VALID: response information follows.</summary>
    ResponseInfoValid = 0x01,

    /// <summary>FCP_SNS_LEN_VALID: sense data follows.</summary>
    SenseValid = 0x02,

    /// <summary>FCP_RESID_OVER: the command wanted to move more than FCP_DL; the residual says how much more.</summary>
    ResidualOver = 0x04,

    /// <summary>FCP_RESID_UNDER: fewer bytes than FCP_DL were moved; the residual says how many fewer.</summary>
    ResidualUnder = 0x08,

    /// <summary>FCP_CONF_REQ: the target asks for an FCP_CONF.</summary>
    ConfirmationRequested = 0x10,

    /// <summary>FCP_BIDI_READ_RESID_OVER.</summary>
    BidirectionalReadResidualOver = 0x20,

    /// <summary>FCP_BIDI_READ_RESID_UNDER.</summary>
    BidirectionalReadResidualUnder = 0x40,

    /// <summary>FCP_BIDI_RSP: the response of a bidirectional command.</summary>
    Bidirectional = 0x80,
}

/// <summary>RSP_CODE values of the FCP_RSP response information (FCP-4 table 35).</summary>
internal static class FcpResponseCode
{
    /// <summary>Task management function complete.</summary>
    public const byte TaskManagementComplete = 0x00;

    /// <summary>FCP_DATA length different than FCP_BURST_LEN.</summary>
    public const byte DataLengthMismatch = 0x01;

    /// <summary>FCP_CMND fields invalid.</summary>
    public const byte InvalidCommandFields = 0x02;

    /// <summary>FCP_DATA parameter value not the same as FCP_DATA_RO.</summary>
    public const byte DataOffsetMismatch = 0x03;

    /// <summary>Task management function not supported.</summary>
    public const byte TaskManagementNotSupported = 0x04;

    /// <summary>Task management function failed.</summary>
    public const byte TaskManagementFailed = 0x05;

    /// <summary>Task management function succeeded.</summary>
    public const byte TaskManagementSucceeded = 0x08;

    /// <summary>Incorrect logical unit number.</summary>
    public const byte IncorrectLun = 0x09;
}

/// <summary>
/// The FCP_RSP IU (FCP-4 section 9.5):
/// <code>
///  0-7   reserved
///  8-9   retry delay timer / status qualifier
/// 10     flags (<see cref="FcpResponseFlags"/>)   11  SCSI status
/// 12-15  FCP_RESID   16-19  FCP_SNS_LEN   20-23  FCP_RSP_LEN
/// 24..   response information (FCP_RSP_LEN bytes: 3 reserved, RSP_CODE, 4 reserved), then sense data
/// </code>
/// </summary>
internal static class FcpResponse
{
    /// <summary>Bytes before the response information.</summary>
    public const int HeaderLength = 24;

    /// <summary>Bytes of the response information this writer sends (the 8-byte form).</summary>
    public const int ResponseInfoLength = 8;

    private const int FlagsOffset = 10;
    private const int StatusOffset = 11;
    private const int ResidualOffset = 12;
    private const int SenseLengthOffset = 16;
    private const int ResponseLengthOffset = 20;
    private const int ResponseCodeOffset = 3;

    /// <summary>The length of an FCP_RSP with <paramref name="senseLength"/> sense bytes and optional response information.</summary>
    public static int GetLength(int senseLength, bool hasResponseInfo) => HeaderLength + (hasResponseInfo ? ResponseInfoLength : 0) + senseLength;

    /// <summary>
    /// Writes an FCP_RSP. <see cref="FcpResponseFlags.SenseValid"/> and <see cref="FcpResponseFlags.ResponseInfoValid"/>
    /// are set from <paramref name="sense"/> and <paramref name="responseCode"/>, whatever <paramref name="flags"/> says;
    /// the residual flags and the others are the caller's.
    /// </summary>
    /// <param name="destination">Receives the IU.</param>
    /// <param name="status">SCSI status.</param>
    /// <param name="flags">Residual over/under, confirmation and bidirectional flags.</param>
    /// <param name="residual">FCP_RESID.</param>
    /// <param name="sense">Sense data, empty for none.</param>
    /// <param name="responseCode">RSP_CODE (<see cref="FcpResponseCode"/>) of a task management or FCP error answer, or null.</param>
    /// <param name="statusQualifier">Retry delay timer / status qualifier.</param>
    /// <returns>The IU length.</returns>
    public static int Write(Span<byte> destination, byte status, FcpResponseFlags flags, uint residual, ReadOnlySpan<byte> sense,
        byte? responseCode = null, ushort statusQualifier = 0)
    {
        int infoLength = responseCode.HasValue ? ResponseInfoLength : 0;
        int length = HeaderLength + infoLength + sense.Length;
        WireFormat.EnsureLength(destination, length);
        var iu = destination[..length];
        iu[..(HeaderLength + infoLength)].Clear();
        flags &= ~(FcpResponseFlags.SenseValid | FcpResponseFlags.ResponseInfoValid);
        if (!sense.IsEmpty)
        {
            flags |= FcpResponseFlags.SenseValid;
        }

        if (responseCode is byte code)
        {
            flags |= FcpResponseFlags.ResponseInfoValid;
            iu[HeaderLength + ResponseCodeOffset] = code;
        }

        BinaryPrimitives.WriteUInt16BigEndian(iu[8..], statusQualifier);
        iu[FlagsOffset] = (byte)flags;
        iu[StatusOffset] = status;
        BinaryPrimitives.WriteUInt32BigEndian(iu[ResidualOffset..], residual);
        BinaryPrimitives.WriteUInt32BigEndian(iu[SenseLengthOffset..], (uint)sense.Length);
        BinaryPrimitives.WriteUInt32BigEndian(iu[ResponseLengthOffset..], (uint)infoLength);
        sense.CopyTo(iu[(HeaderLength + infoLength)..]);
        return length;
    }

    /// <summary>
    /// Decodes an FCP_RSP (for test initiators and round trips); false when the lengths the valid flags announce do not
    /// fit in <paramref name="payload"/>. Never throws.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out FcpResponseView response)
    {
        response = default;
        if (payload.Length < HeaderLength)
        {
            return false;
        }

        var flags = (FcpResponseFlags)payload[FlagsOffset];
        uint senseLength = (flags & FcpResponseFlags.SenseValid) != 0 ? BinaryPrimitives.ReadUInt32BigEndian(payload[SenseLengthOffset..]) : 0;
        uint infoLength = (flags & FcpResponseFlags.ResponseInfoValid) != 0 ? BinaryPrimitives.ReadUInt32BigEndian(payload[ResponseLengthOffset..]) : 0;
        if (infoLength > (uint)(payload.Length - HeaderLength) || senseLength > (uint)(payload.Length - HeaderLength) - infoLength)
        {
            return false;
        }

        var info = payload.Slice(HeaderLength, (int)infoLength);
        response = new FcpResponseView(
            BinaryPrimitives.ReadUInt16BigEndian(payload[8..]),
            flags,
            payload[StatusOffset],
            BinaryPrimitives.ReadUInt32BigEndian(payload[ResidualOffset..]),
            info.Length > ResponseCodeOffset ? info[ResponseCodeOffset] : null,
            payload.Slice(HeaderLength + (int)infoLength, (int)senseLength));
        return true;
    }
}

/// <summary>A decoded FCP_RSP.</summary>
internal readonly ref struct FcpResponseView
{
    internal FcpResponseView(ushort statusQualifier, FcpResponseFlags flags, byte status, uint residual, byte? responseCode, ReadOnlySpan<byte> sense)
    {
        StatusQualifier = statusQualifier;
        Flags = flags;
        Status = status;
        Residual = residual;
        ResponseCode = responseCode;
        Sense = sense;
    }

    /// <summary>Retry delay timer / status qualifier.</summary>
    public ushort StatusQualifier { get; }

    /// <summary>The flags.</summary>
    public FcpResponseFlags Flags { get; }

    /// <summary>SCSI status.</summary>
    public byte Status { get; }

    /// <summary>FCP_RESID.</summary>
    public uint Residual { get; }

    /// <summary>RSP_CODE when response information is present.</summary>
    public byte? ResponseCode { get; }

    /// <summary>The sense data (empty when none).</summary>
    public ReadOnlySpan<byte> Sense { get; }
}
