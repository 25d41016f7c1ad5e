// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>Reason code of a Logout Request (RFC 7143 section 11.14.1).</summary>
internal enum LogoutReason : byte
{
    /// <summary>Close the session.</summary>
    CloseSession = 0,

    /// <summary>Close the connection named by CID.</summary>
    CloseConnection = 1,

    /// <summary>Remove the connection for recovery.</summary>
    RemoveConnectionForRecovery = 2,
}

/// <summary>
/// Logout Request (opcode 0x06), RFC 7143 section 11.14.
/// <code>
///  Byte/      0       |       1       |       2       |       3       |
///      +---------------+---------------+---------------+---------------+
///     0|.|I| 0x06      |1| Reason Code | Reserved                      |
///     4|TotalAHSLength | DataSegmentLength                             |
///     8| Reserved (8 bytes)                                            |
///    16| Initiator Task Tag                                            |
///    20| CID or Reserved               | Reserved                      |
///    24| CmdSN                                                         |
///    28| ExpStatSN                                                     |
///    32| Reserved (16 bytes)                                           |
///    48+---------------------------------------------------------------+
/// </code>
/// </summary>
internal readonly record struct LogoutRequestHeader
{
    private const byte ReasonMask = 0x7f;
    private const int CidOffset = 20;
    private const int CmdSnOffset = 24;
    private const int ExpStatSnOffset = 28;

    /// <summary>Immediate delivery (I bit).</summary>
    public bool Immediate { get; init; }

    /// <summary>Reason code.</summary>
    public LogoutReason Reason { get; init; }

    /// <summary>Initiator Task Tag.</summary>
    public uint InitiatorTaskTag { get; init; }

    /// <summary>Connection to close (reasons 1 and 2).</summary>
    public ushort Cid { get; init; }

    /// <summary>CmdSN.</summary>
    public uint CmdSn { get; init; }

    /// <summary>ExpStatSN.</summary>
    public uint ExpStatSn { get; init; }

    /// <summary>Writes this header into the first 48 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        var bhs = Bhs.Begin(destination, IscsiOpcode.LogoutRequest, Immediate,
            (byte)(Bhs.FinalBit | ((byte)Reason & ReasonMask)), dataSegmentLengthBytes: 0);
        Bhs.WriteUInt32(bhs, Bhs.InitiatorTaskTagOffset, InitiatorTaskTag);
        Bhs.WriteUInt16(bhs, CidOffset, Cid);
        Bhs.WriteUInt32(bhs, CmdSnOffset, CmdSn);
        Bhs.WriteUInt32(bhs, ExpStatSnOffset, ExpStatSn);
    }

    /// <summary>Decodes a Logout Request BHS.</summary>
    public static LogoutRequestHeader Read(ReadOnlySpan<byte> bhs)
    {
        Bhs.AssertOpcode(bhs, IscsiOpcode.LogoutRequest);
        return new LogoutRequestHeader
        {
            Immediate = (bhs[Bhs.OpcodeOffset] & Bhs.ImmediateBit) != 0,
            Reason = (LogoutReason)(bhs[Bhs.FlagsOffset] & ReasonMask),
            InitiatorTaskTag = Bhs.ReadUInt32(bhs, Bhs.InitiatorTaskTagOffset),
            Cid = Bhs.ReadUInt16(bhs, CidOffset),
            CmdSn = Bhs.ReadUInt32(bhs, CmdSnOffset),
            ExpStatSn = Bhs.ReadUInt32(bhs, ExpStatSnOffset),
        };
    }
}
