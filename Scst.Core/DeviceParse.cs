// Licensed under the Apache License, Version 2.0.

namespace Scst.Core;

/// <summary>
/// Which commands a device decodes itself (SCST's parse types, numbered as SCST numbers them). The core keeps task
/// sets, unit attentions, reservations and the commands it owns (INQUIRY, REPORT LUNS, REQUEST SENSE...) in every mode.
/// </summary>
public enum DeviceParseType
{
    /// <summary>The core's CDB table decides; an operation code it does not know is INVALID COMMAND OPERATION CODE.</summary>
    Standard = 0,

    /// <summary>
    /// The device decodes and executes every command the core does not own, with the core's decoding as a proposal
    /// (<see cref="ScsiDevice.ParseAsync"/>), and the device executes each of them from its CDB; a device that is not a
    /// <see cref="BlockDevice"/> also answers MODE SENSE and MODE SELECT (the core's mode pages are a disk's).
    /// </summary>
    Call = 1,

    /// <summary>
    /// The core decodes and executes what its table has for the device type; the device decodes and executes the rest
    /// (vendor-specific and other operation codes the core does not support for the device).
    /// </summary>
    Exception = 2,
}

/// <summary>
/// A device's decoding of a CDB (<see cref="ScsiDevice.ParseAsync"/>): the direction and length of its data transfer,
/// or the outcome that ends it without execution.
/// </summary>
public readonly record struct CdbParseResult
{
    private CdbParseResult(DataDirection direction, int dataLength, bool writesMedium, CommandOutcome outcome)
    {
        Direction = direction;
        DataLength = dataLength;
        WritesMedium = writesMedium;
        Outcome = outcome;
    }

    /// <summary>The direction of the data transfer; <see cref="DataDirection.None"/> when <see cref="DataLength"/> is 0.</summary>
    public DataDirection Direction { get; }

    /// <summary>The number of bytes the command transfers (for a read, the allocation: the response may be shorter).</summary>
    public int DataLength { get; }

    /// <summary>Whether the command writes the medium: refused on a write-protected logical unit.</summary>
    public bool WritesMedium { get; }

    /// <summary>GOOD for an accepted command; otherwise the outcome that ends it (CHECK CONDITION with its sense...).</summary>
    public CommandOutcome Outcome { get; }

    /// <summary>Whether the command is accepted for execution.</summary>
    public bool IsAccepted => Outcome.IsGood;

    /// <summary>Accepts the command.</summary>
    /// <param name="direction">The direction of its data transfer.</param>
    /// <param name="dataLength">The bytes it transfers; 0 for none.</param>
    /// <param name="writesMedium">Whether it writes the medium.</param>
    /// <returns>The decoding.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dataLength"/> is negative.</exception>
    public static CdbParseResult Accept(DataDirection direction, int dataLength, bool writesMedium = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dataLength);
        return new(dataLength == 0 ? DataDirection.None : direction, direction == DataDirection.None ? 0 : dataLength, writesMedium, CommandOutcome.Good);
    }

    /// <summary>Ends the command without executing it.</summary>
    /// <param name="outcome">The outcome: a CHECK CONDITION with its sense, BUSY...; not GOOD.</param>
    /// <returns>The decoding.</returns>
    /// <exception cref="ArgumentException"><paramref name="outcome"/> is GOOD.</exception>
    public static CdbParseResult Refuse(in CommandOutcome outcome)
    {
        if (outcome.IsGood)
        {
            throw new ArgumentException("A refusal needs a status other than GOOD.", nameof(outcome));
        }

        return new(DataDirection.None, 0, false, outcome);
    }
}
