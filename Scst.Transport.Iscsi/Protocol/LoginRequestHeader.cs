// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>Login stages carried in the CSG and NSG fields (RFC 7143 section 11.12.3).</summary>
internal enum LoginStage : byte
{
    /// <summary>SecurityNegotiation (0).</summary>
    SecurityNegotiation = 0,

    /// <summary>LoginOperationalNegotiation (1).</summary>
    OperationalNegotiation = 1,

    /// <summary>Value 2 is reserved.</summary>
    Reserved = 2,

    /// <summary>FullFeaturePhase (3).</summary>
    FullFeaturePhase = 3,
}

/// <summary>Encoding of the T/C/CSG/NSG byte shared by Login Request and Login Response.</summary>
internal static class LoginFlags
{
    /// <summary>T (Transit) bit.</summary>
    public const byte TransitBit = 0x80;

    /// <summary>C (Continue) bit.</summary>
    public const byte ContinueBit = 0x40;

    private const int CurrentStageShift = 2;
    private const byte StageMask = 0x03;

    /// <summary>Builds byte 1 of a login PDU.</summary>
    public static byte Encode(bool transit, bool @continue, LoginStage current, LoginStage next) =>
        (byte)((transit ? TransitBit : 0) | (@continue ? ContinueBit : 0)
            | (((byte)current & StageMask) << CurrentStageShift) | ((byte)next & StageMask));

    /// <summary>Reads CSG from byte 1.</summary>
    public static LoginStage Current(byte flags) => (LoginStage)((flags >> CurrentStageShift) & StageMask);

    /// <summary>Reads NSG from byte 1.</summary>
    public static LoginStage Next(byte flags) => (LoginStage)(flags & StageMask);
}

/// <summary>
/// Login Request (opcode 0x03, always immediate), RFC 7143 section 11.12.
/// <code>
///  Byte/      0       |       1       |       2       |       3       |
///      +---------------+---------------+---------------+---------------+
///     0|.|1| 0x03      |T|C|.|.|CSG|NSG| Version-max   | Version-min   |
///     4|TotalAHSLength | DataSegmentLength                             |
///     8| ISID (6 bytes)                                                |
///    12|                               | TSIH                          |
///    16| Initiator Task Tag                                            |
///    20| CID                           | Reserved                      |
///    24| CmdSN                                                         |
///    28| ExpStatSN or Reserved                                         |
///    32| Reserved (16 bytes)                                           |
///    48+---------------------------------------------------------------+
/// </code>
/// </summary>
internal readonly record struct LoginRequestHeader
{
    private const int VersionMaxOffset = 2;
    private const int VersionMinOffset = 3;
    private const int TsihOffset = 14;
    private const int CidOffset = 20;
    private const int CmdSnOffset = 24;
    private const int ExpStatSnOffset = 28;

    /// <summary>T bit: the initiator wants to move to <see cref="NextStage"/>.</summary>
    public bool Transit { get; init; }

    /// <summary>C bit: the text in this PDU continues in the next one.</summary>
    public bool Continue { get; init; }

    /// <summary>CSG.</summary>
    public LoginStage CurrentStage { get; init; }

    /// <summary>NSG (meaningful only with <see cref="Transit"/>).</summary>
    public LoginStage NextStage { get; init; }

    /// <summary>Version-max.</summary>
    public byte VersionMax { get; init; }

    /// <summary>Version-min.</summary>
    public byte VersionMin { get; init; }

    /// <summary>Length of the text in bytes.</summary>
    public int DataSegmentLength { get; init; }

    /// <summary>ISID, the 48-bit initiator part of the session id (low 48 bits).</summary>
    public ulong Isid { get; init; }

    /// <summary>TSIH: 0 for a new session.</summary>
    public ushort Tsih { get; init; }

    /// <summary>Initiator Task Tag.</summary>
    public uint InitiatorTaskTag { get; init; }

    /// <summary>Connection id.</summary>
    public ushort Cid { get; init; }

    /// <summary>CmdSN.</summary>
    public uint CmdSn { get; init; }

    /// <summary>ExpStatSN.</summary>
    public uint ExpStatSn { get; init; }

    /// <summary>Writes this header into the first 48 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        var bhs = Bhs.Begin(destination, IscsiOpcode.LoginRequest, immediate: true,
            LoginFlags.Encode(Transit, Continue, CurrentStage, NextStage), DataSegmentLength);
        bhs[VersionMaxOffset] = VersionMax;
        bhs[VersionMinOffset] = VersionMin;
        Bhs.WriteIsidAndTsih(bhs, Isid, Tsih);
        Bhs.WriteUInt32(bhs, Bhs.InitiatorTaskTagOffset, InitiatorTaskTag);
        Bhs.WriteUInt16(bhs, CidOffset, Cid);
        Bhs.WriteUInt32(bhs, CmdSnOffset, CmdSn);
        Bhs.WriteUInt32(bhs, ExpStatSnOffset, ExpStatSn);
    }

    /// <summary>Decodes a Login Request BHS.</summary>
    public static LoginRequestHeader Read(ReadOnlySpan<byte> bhs)
    {
        Bhs.AssertOpcode(bhs, IscsiOpcode.LoginRequest);
        var flags = bhs[Bhs.FlagsOffset];
        return new LoginRequestHeader
        {
            Transit = (flags & LoginFlags.TransitBit) != 0,
            Continue = (flags & LoginFlags.ContinueBit) != 0,
            CurrentStage = LoginFlags.Current(flags),
            NextStage = LoginFlags.Next(flags),
            VersionMax = bhs[VersionMaxOffset],
            VersionMin = bhs[VersionMinOffset],
            DataSegmentLength = Bhs.ReadDataSegmentLength(bhs),
            Isid = Bhs.ReadIsid(bhs),
            Tsih = Bhs.ReadUInt16(bhs, TsihOffset),
            InitiatorTaskTag = Bhs.ReadUInt32(bhs, Bhs.InitiatorTaskTagOffset),
            Cid = Bhs.ReadUInt16(bhs, CidOffset),
            CmdSn = Bhs.ReadUInt32(bhs, CmdSnOffset),
            ExpStatSn = Bhs.ReadUInt32(bhs, ExpStatSnOffset),
        };
    }
}
