// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>
/// Login Response (opcode 0x23), RFC 7143 section 11.13.
/// <code>
///  Byte/      0       |       1       |       2       |       3       |
///      +---------------+---------------+---------------+---------------+
///     0|.|.| 0x23      |T|C|.|.|CSG|NSG| Version-max   | Version-active|
///     4|TotalAHSLength | DataSegmentLength                             |
///     8| ISID (6 bytes)                                                |
///    12|                               | TSIH                          |
///    16| Initiator Task Tag                                            |
///    20| Reserved                                                      |
///    24| StatSN                                                        |
///    28| ExpCmdSN                                                      |
///    32| MaxCmdSN                                                      |
///    36| Status-Class  | Status-Detail | Reserved                      |
///    40| Reserved (8 bytes)                                            |
///    48+---------------------------------------------------------------+
/// </code>
/// </summary>
internal readonly record struct LoginResponseHeader
{
    private const int VersionMaxOffset = 2;
    private const int VersionActiveOffset = 3;
    private const int TsihOffset = 14;
    private const int StatSnOffset = 24;
    private const int ExpCmdSnOffset = 28;
    private const int MaxCmdSnOffset = 32;
    private const int StatusClassOffset = 36;
    private const int StatusDetailOffset = 37;

    /// <summary>T bit: the target agrees to move to <see cref="NextStage"/>.</summary>
    public bool Transit { get; init; }

    /// <summary>C bit: the target's text continues in the next response.</summary>
    public bool Continue { get; init; }

    /// <summary>CSG.</summary>
    public LoginStage CurrentStage { get; init; }

    /// <summary>NSG.</summary>
    public LoginStage NextStage { get; init; }

    /// <summary>Version-max.</summary>
    public byte VersionMax { get; init; }

    /// <summary>Version-active.</summary>
    public byte VersionActive { get; init; }

    /// <summary>Length of the text in bytes.</summary>
    public int DataSegmentLength { get; init; }

    /// <summary>ISID echoed from the request (low 48 bits).</summary>
    public ulong Isid { get; init; }

    /// <summary>TSIH: assigned by the target in the final response of a new session.</summary>
    public ushort Tsih { get; init; }

    /// <summary>Initiator Task Tag echoed from the request.</summary>
    public uint InitiatorTaskTag { get; init; }

    /// <summary>StatSN.</summary>
    public uint StatSn { get; init; }

    /// <summary>ExpCmdSN.</summary>
    public uint ExpCmdSn { get; init; }

    /// <summary>MaxCmdSN.</summary>
    public uint MaxCmdSn { get; init; }

    /// <summary>Status-Class and Status-Detail together (RFC 7143 section 11.13.5).</summary>
    public LoginStatus Status { get; init; }

    /// <summary>Writes this header into the first 48 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        var bhs = Bhs.Begin(destination, IscsiOpcode.LoginResponse, immediate: false,
            LoginFlags.Encode(Transit, Continue, CurrentStage, NextStage), DataSegmentLength);
        bhs[VersionMaxOffset] = VersionMax;
        bhs[VersionActiveOffset] = VersionActive;
        Bhs.WriteIsidAndTsih(bhs, Isid, Tsih);
        Bhs.WriteUInt32(bhs, Bhs.InitiatorTaskTagOffset, InitiatorTaskTag);
        Bhs.WriteUInt32(bhs, StatSnOffset, StatSn);
        Bhs.WriteUInt32(bhs, ExpCmdSnOffset, ExpCmdSn);
        Bhs.WriteUInt32(bhs, MaxCmdSnOffset, MaxCmdSn);
        bhs[StatusClassOffset] = (byte)((ushort)Status >> 8);
        bhs[StatusDetailOffset] = (byte)Status;
    }

    /// <summary>Decodes a Login Response BHS.</summary>
    public static LoginResponseHeader Read(ReadOnlySpan<byte> bhs)
    {
        Bhs.AssertOpcode(bhs, IscsiOpcode.LoginResponse);
        var flags = bhs[Bhs.FlagsOffset];
        return new LoginResponseHeader
        {
            Transit = (flags & LoginFlags.TransitBit) != 0,
            Continue = (flags & LoginFlags.ContinueBit) != 0,
            CurrentStage = LoginFlags.Current(flags),
            NextStage = LoginFlags.Next(flags),
            VersionMax = bhs[VersionMaxOffset],
            VersionActive = bhs[VersionActiveOffset],
            DataSegmentLength = Bhs.ReadDataSegmentLength(bhs),
            Isid = Bhs.ReadIsid(bhs),
            Tsih = Bhs.ReadUInt16(bhs, TsihOffset),
            InitiatorTaskTag = Bhs.ReadUInt32(bhs, Bhs.InitiatorTaskTagOffset),
            StatSn = Bhs.ReadUInt32(bhs, StatSnOffset),
            ExpCmdSn = Bhs.ReadUInt32(bhs, ExpCmdSnOffset),
            MaxCmdSn = Bhs.ReadUInt32(bhs, MaxCmdSnOffset),
            Status = (LoginStatus)((bhs[StatusClassOffset] << 8) | bhs[StatusDetailOffset]),
        };
    }
}
