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

    private readonly byte _flags;
    private readonly byte _bitPointer;

    private CommandOutcome(ScsiStatus status, SenseCode sense, byte flags, ushort fieldPointer, byte bitPointer, ulong information)
    {
        Status = status;
        Sense = sense;
        _flags = flags;
        FieldPointer = fieldPointer;
        _bitPointer = bitPointer;
        Information = information;
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
    public ulong Information { get; }

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

    /// <summary>An outcome with a status that carries no sense data (BUSY, TASK SET FULL, RESERVATION CONFLICT...).</summary>
    /// <param name="status">The status.</param>
    /// <returns>The outcome.</returns>
    public static CommandOutcome FromStatus(ScsiStatus status) => new(status, default, 0, 0, 0, 0);

    /// <inheritdoc />
    public bool Equals(CommandOutcome other) =>
        Status == other.Status && Sense == other.Sense && _flags == other._flags && FieldPointer == other.FieldPointer &&
        _bitPointer == other._bitPointer && Information == other.Information;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is CommandOutcome other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Status, Sense, _flags, FieldPointer, Information);

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
