// Licensed under the Apache License, Version 2.0.

using System.Runtime.CompilerServices;

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>The 16-byte CDB field of a SCSI Command BHS, held inline.</summary>
[InlineArray(ScsiCommandHeader.CdbLength)]
internal struct Cdb16 : IEquatable<Cdb16>
{
    private byte _element0;

    /// <summary>Compares two CDB fields byte by byte.</summary>
    public static bool operator ==(Cdb16 left, Cdb16 right) => left.Equals(right);

    /// <summary>Compares two CDB fields byte by byte.</summary>
    public static bool operator !=(Cdb16 left, Cdb16 right) => !left.Equals(right);

    /// <inheritdoc/>
    public readonly bool Equals(Cdb16 other) => ((ReadOnlySpan<byte>)this).SequenceEqual(other);

    /// <inheritdoc/>
    public override readonly bool Equals(object? obj) => obj is Cdb16 other && Equals(other);

    /// <inheritdoc/>
    public override readonly int GetHashCode()
    {
        var hash = default(HashCode);
        hash.AddBytes(this);
        return hash.ToHashCode();
    }

    /// <summary>Builds a CDB field from up to 16 bytes; the rest is zero.</summary>
    public static Cdb16 From(ReadOnlySpan<byte> cdb)
    {
        if (cdb.Length > ScsiCommandHeader.CdbLength)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(cdb));
        }

        var value = default(Cdb16);
        cdb.CopyTo(value);
        return value;
    }
}

/// <summary>Task attribute of a SCSI Command (the ATTR field, RFC 7143 section 11.3.1.1).</summary>
internal enum TaskAttribute : byte
{
    /// <summary>Untagged.</summary>
    Untagged = 0,

    /// <summary>Simple.</summary>
    Simple = 1,

    /// <summary>Ordered.</summary>
    Ordered = 2,

    /// <summary>Head of queue.</summary>
    HeadOfQueue = 3,

    /// <summary>ACA.</summary>
    AutoContingentAllegiance = 4,
}

/// <summary>
/// SCSI Command (opcode 0x01), RFC 7143 section 11.3.
/// <code>
///  Byte/      0       |       1       |       2       |       3       |
///      +---------------+---------------+---------------+---------------+
///     0|.|I| 0x01      |F|R|W|. .|ATTR | Reserved                      |
///     4|TotalAHSLength | DataSegmentLength                             |
///     8| Logical Unit Number (LUN)                                     |
///    12|                                                               |
///    16| Initiator Task Tag                                            |
///    20| Expected Data Transfer Length                                 |
///    24| CmdSN                                                         |
///    28| ExpStatSN                                                     |
///    32| SCSI Command Descriptor Block (16 bytes; longer CDBs continue  |
///    ..| in an Extended CDB AHS: AdditionalHeaderSegment.TryGetCdb)      |
///    48+---------------------------------------------------------------+
/// </code>
/// </summary>
internal readonly record struct ScsiCommandHeader
{
    /// <summary>Size of the CDB field in the BHS.</summary>
    public const int CdbLength = 16;

    private const byte ReadBit = 0x40;
    private const byte WriteBit = 0x20;
    private const byte AttributeMask = 0x07;
    private const int ExpectedDataTransferLengthOffset = 20;
    private const int CmdSnOffset = 24;
    private const int ExpStatSnOffset = 28;
    private const int CdbOffset = 32;

    /// <summary>Immediate delivery (I bit).</summary>
    public bool Immediate { get; init; }

    /// <summary>F bit: no unsolicited Data-Out PDUs follow.</summary>
    public bool Final { get; init; }

    /// <summary>R bit: data flows from target to initiator.</summary>
    public bool IsRead { get; init; }

    /// <summary>W bit: data flows from initiator to target.</summary>
    public bool IsWrite { get; init; }

    /// <summary>ATTR field.</summary>
    public TaskAttribute Attribute { get; init; }

    /// <summary>TotalAHSLength in 4-byte words.</summary>
    public int TotalAhsLengthWords { get; init; }

    /// <summary>Length of the immediate data in bytes.</summary>
    public int DataSegmentLength { get; init; }

    /// <summary>LUN field, 8 bytes big-endian.</summary>
    public ulong Lun { get; init; }

    /// <summary>Initiator Task Tag.</summary>
    public uint InitiatorTaskTag { get; init; }

    /// <summary>Expected Data Transfer Length in bytes (for bidirectional commands, the write length).</summary>
    public uint ExpectedDataTransferLength { get; init; }

    /// <summary>CmdSN.</summary>
    public uint CmdSn { get; init; }

    /// <summary>ExpStatSN.</summary>
    public uint ExpStatSn { get; init; }

    /// <summary>The first 16 bytes of the CDB.</summary>
    public Cdb16 Cdb { get; init; }

    /// <summary>Writes this header into the first 48 bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        var flags = (byte)((Final ? Bhs.FinalBit : 0) | (IsRead ? ReadBit : 0) | (IsWrite ? WriteBit : 0)
            | ((byte)Attribute & AttributeMask));
        var bhs = Bhs.Begin(destination, IscsiOpcode.ScsiCommand, Immediate, flags, DataSegmentLength, TotalAhsLengthWords);
        Bhs.WriteUInt64(bhs, Bhs.LunOffset, Lun);
        Bhs.WriteUInt32(bhs, Bhs.InitiatorTaskTagOffset, InitiatorTaskTag);
        Bhs.WriteUInt32(bhs, ExpectedDataTransferLengthOffset, ExpectedDataTransferLength);
        Bhs.WriteUInt32(bhs, CmdSnOffset, CmdSn);
        Bhs.WriteUInt32(bhs, ExpStatSnOffset, ExpStatSn);
        var cdb = Cdb;
        ((ReadOnlySpan<byte>)cdb).CopyTo(bhs.Slice(CdbOffset, CdbLength));
    }

    /// <summary>Decodes a SCSI Command BHS.</summary>
    public static ScsiCommandHeader Read(ReadOnlySpan<byte> bhs)
    {
        Bhs.AssertOpcode(bhs, IscsiOpcode.ScsiCommand);
        var flags = bhs[Bhs.FlagsOffset];
        return new ScsiCommandHeader
        {
            Immediate = (bhs[Bhs.OpcodeOffset] & Bhs.ImmediateBit) != 0,
            Final = (flags & Bhs.FinalBit) != 0,
            IsRead = (flags & ReadBit) != 0,
            IsWrite = (flags & WriteBit) != 0,
            Attribute = (TaskAttribute)(flags & AttributeMask),
            TotalAhsLengthWords = bhs[Bhs.TotalAhsLengthWordsOffset],
            DataSegmentLength = Bhs.ReadDataSegmentLength(bhs),
            Lun = Bhs.ReadUInt64(bhs, Bhs.LunOffset),
            InitiatorTaskTag = Bhs.ReadUInt32(bhs, Bhs.InitiatorTaskTagOffset),
            ExpectedDataTransferLength = Bhs.ReadUInt32(bhs, ExpectedDataTransferLengthOffset),
            CmdSn = Bhs.ReadUInt32(bhs, CmdSnOffset),
            ExpStatSn = Bhs.ReadUInt32(bhs, ExpStatSnOffset),
            Cdb = Cdb16.From(bhs.Slice(CdbOffset, CdbLength)),
        };
    }
}
