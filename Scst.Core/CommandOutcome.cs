// Licensed under the Apache License, Version 2.0.

using System.Runtime.InteropServices;

namespace Scst.Core;

/// <summary>
/// How a command ended: its status and, for CHECK CONDITION, what the sense data must say. Device handlers and the
/// core return outcomes as values; an exception from a handler is a bug that the core turns into HARDWARE ERROR.
/// </summary>
/// <remarks>
/// The sense-key-specific field pointer (SPC-4 section 4.5.2.4.2) tells the initiator which byte (and bit) of the CDB
/// or of the parameter list was wrong. The information field carries an LBA or an offset, depending on the command.
/// </remarks>
[StructLayout(LayoutKind.Auto)]
public readonly struct CommandOutcome : IEquatable<CommandOutcome>
{
    private const byte FieldPointerValidFlag = 0x01;
    private const byte InCdbFlag = 0x02;
    private const byte BitPointerValidFlag = 0x04;
    private const byte InformationValidFlag = 0x08;
    private const byte CommandSpecificValidFlag = 0x10;

    private readonly byte _flags;
    private readonly byte _bitPointer;

    // The INFORMATION field, or the COMMAND-SPECIFIC INFORMATION field when CommandSpecificValidFlag is set: no outcome
    // needs both, and sharing the slot keeps the struct at 16 bytes.
    private readonly ulong _value;

    private CommandOutcome(ScsiStatus status, SenseCode sense, byte flags, ushort fieldPointer, byte bitPointer, ulong value)
    {
        Status = status;
        Sense = sense;
        _flags = flags;
        FieldPointer = fieldPointer;
        _bitPointer = bitPointer;
        _value = value;
    }

    /// <summary>GOOD status.</summary>
    public static CommandOutcome Good => default;

    /// <summary>The status of the command.</summary>
    public ScsiStatus Status { get; }

    /// <summary>The sense code; meaningful when <see cref="Status"/> is CHECK CONDITION.</summary>
    public SenseCode Sense { get; }

    /// <summary>The byte offset of the faulty field, when <see cref="HasFieldPointer"/> is set.</summary>
    public ushort FieldPointer { get; }

    /// <summary>The bit (0-7) of the faulty field, or -1 when only the byte is known.</summary>
    public int BitPointer => (_flags & BitPointerValidFlag) != 0 ? _bitPointer : -1;

    /// <summary>Whether the sense data carries a field pointer.</summary>
    public bool HasFieldPointer => (_flags & FieldPointerValidFlag) != 0;

    /// <summary>Whether the field pointer points into the CDB (true) or into the parameter list (false).</summary>
    public bool FieldInCdb => (_flags & InCdbFlag) != 0;

    /// <summary>Whether <see cref="Information"/> is valid.</summary>
    public bool HasInformation => (_flags & InformationValidFlag) != 0;

    /// <summary>The information field of the sense data (an LBA, an offset or a residue).</summary>
    public ulong Information => HasInformation ? _value : 0;

    /// <summary>Whether <see cref="CommandSpecificInformation"/> is set.</summary>
    public bool HasCommandSpecificInformation => (_flags & CommandSpecificValidFlag) != 0;

    /// <summary>
    /// The COMMAND-SPECIFIC INFORMATION field of the sense data: for EXTENDED COPY, the source and destination sense
    /// data offsets (bits 31-24 and 23-16) and the number of the segment being processed (bits 15-0).
    /// </summary>
    public uint CommandSpecificInformation => HasCommandSpecificInformation ? (uint)_value : 0;

    /// <summary>Whether this outcome is GOOD.</summary>
    public bool IsGood => Status == ScsiStatus.Good;

    /// <summary>A CHECK CONDITION outcome with the given sense code.</summary>
    /// <param name="sense">What the sense data says.</param>
    /// <returns>The outcome.</returns>
    public static CommandOutcome CheckCondition(SenseCode sense) => new(ScsiStatus.CheckCondition, sense, 0, 0, 0, 0);

    /// <summary>CHECK CONDITION, ILLEGAL REQUEST, INVALID FIELD IN CDB, pointing at the faulty CDB byte (and bit).</summary>
    /// <param name="byteOffset">Offset of the faulty byte in the CDB.</param>
    /// <param name="bit">The faulty bit (0-7), or -1 for the whole byte.</param>
    /// <returns>The outcome.</returns>
    public static CommandOutcome InvalidFieldInCdb(int byteOffset, int bit = -1) =>
        WithFieldPointer(SenseCode.InvalidFieldInCdb, inCdb: true, byteOffset, bit);

    /// <summary>CHECK CONDITION, ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST, pointing at the faulty byte.</summary>
    /// <param name="byteOffset">Offset of the faulty byte in the parameter list.</param>
    /// <param name="bit">The faulty bit (0-7), or -1 for the whole byte.</param>
    /// <returns>The outcome.</returns>
    public static CommandOutcome InvalidFieldInParameterList(int byteOffset, int bit = -1) =>
        WithFieldPointer(SenseCode.InvalidFieldInParameterList, inCdb: false, byteOffset, bit);

    /// <summary>CHECK CONDITION with a field pointer into the CDB or the parameter list.</summary>
    /// <param name="sense">What the sense data says.</param>
    /// <param name="inCdb">True when the offset is into the CDB.</param>
    /// <param name="byteOffset">Offset of the faulty byte.</param>
    /// <param name="bit">The faulty bit (0-7), or -1 for the whole byte.</param>
    /// <returns>The outcome.</returns>
    public static CommandOutcome WithFieldPointer(SenseCode sense, bool inCdb, int byteOffset, int bit = -1)
    {
        byte flags = FieldPointerValidFlag;
        if (inCdb)
        {
            flags |= InCdbFlag;
        }

        if (bit >= 0)
        {
            flags |= BitPointerValidFlag;
        }

        return new(ScsiStatus.CheckCondition, sense, flags, (ushort)byteOffset, (byte)Math.Max(bit, 0), 0);
    }

    /// <summary>CHECK CONDITION with the information field set (for example the failing LBA).</summary>
    /// <param name="sense">What the sense data says.</param>
    /// <param name="information">The information field.</param>
    /// <returns>The outcome.</returns>
    public static CommandOutcome WithInformation(SenseCode sense, ulong information) =>
        new(ScsiStatus.CheckCondition, sense, InformationValidFlag, 0, 0, information);

    /// <summary>
    /// CHECK CONDITION with the COMMAND-SPECIFIC INFORMATION field set and, optionally, a field pointer into the
    /// parameter list (for COPY ABORTED, the segment pointer of SPC-4 section 4.5.2.4.5 with SD=0).
    /// </summary>
    /// <remarks>
    /// Fixed-format sense data carries the value in bytes 8-11; descriptor-format sense data in the first four bytes of
    /// the command-specific information descriptor's 8-byte field, the layout EXTENDED COPY gives those bytes.
    /// </remarks>
    /// <param name="sense">What the sense data says.</param>
    /// <param name="commandSpecificInformation">The command-specific information.</param>
    /// <param name="fieldPointer">Offset of the faulty byte in the parameter list, or -1 for none.</param>
    /// <returns>The outcome.</returns>
    public static CommandOutcome WithCommandSpecificInformation(SenseCode sense, uint commandSpecificInformation, int fieldPointer = -1)
    {
        byte flags = CommandSpecificValidFlag;
        if (fieldPointer >= 0)
        {
            flags |= FieldPointerValidFlag;
        }

        return new(ScsiStatus.CheckCondition, sense, flags, (ushort)Math.Max(fieldPointer, 0), 0, commandSpecificInformation);
    }

    /// <summary>An outcome with a status that carries no sense data (BUSY, TASK SET FULL, RESERVATION CONFLICT...).</summary>
    /// <param name="status">The status.</param>
    /// <returns>The outcome.</returns>
    public static CommandOutcome FromStatus(ScsiStatus status) => new(status, default, 0, 0, 0, 0);

    /// <inheritdoc />
    public bool Equals(CommandOutcome other) =>
        Status == other.Status && Sense == other.Sense && _flags == other._flags && FieldPointer == other.FieldPointer &&
        _bitPointer == other._bitPointer && _value == other._value;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is CommandOutcome other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Status, Sense, _flags, FieldPointer, _value);

    /// <summary>Equality.</summary>
    /// <param name="left">Left operand.</param>
    /// <param name="right">Right operand.</param>
    /// <returns>Whether both are equal.</returns>
    public static bool operator ==(CommandOutcome left, CommandOutcome right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    /// <param name="left">Left operand.</param>
    /// <param name="right">Right operand.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(CommandOutcome left, CommandOutcome right) => !left.Equals(right);

    /// <inheritdoc />
    public override string ToString() => Status == ScsiStatus.CheckCondition ? $"CHECK CONDITION {Sense}" : Status.ToString();
}
