// Licensed under the Apache License, Version 2.0.

using Scst.Core;
using Scst.Transport.Local;

namespace Scst.Testing;

/// <summary>
/// Assertions on sense data and command outcomes that say what was wrong in SCSI terms (key, ASC/ASCQ, field pointer).
/// Sense bytes are parsed here, independently of the core's reader.
/// </summary>
public static class SenseAssert
{
    /// <summary>Parses the key, ASC and ASCQ of fixed (70h/71h) or descriptor (72h/73h) sense data.</summary>
    public static SenseCode Parse(ReadOnlySpan<byte> sense)
    {
        if (sense.Length < 8)
        {
            throw new TestAssertionException($"Sense data is {sense.Length} bytes long: {Hex(sense)}.");
        }

        return (sense[0] & 0x7F) switch
        {
            0x70 or 0x71 when sense.Length >= 14 => new SenseCode((SenseKey)(sense[2] & 0x0F), sense[12], sense[13]),
            0x72 or 0x73 => new SenseCode((SenseKey)(sense[1] & 0x0F), sense[2], sense[3]),
            _ => throw new TestAssertionException($"Sense data has response code {sense[0]:X2}h: {Hex(sense)}."),
        };
    }

    /// <summary>Asserts that sense bytes carry <paramref name="expected"/>.</summary>
    public static void HasCode(ReadOnlySpan<byte> sense, SenseCode expected)
    {
        SenseCode actual = Parse(sense);
        if (actual != expected)
        {
            throw new TestAssertionException($"Expected sense {Describe(expected)} but got {Describe(actual)} in {Hex(sense)}.");
        }
    }

    /// <summary>Asserts a CHECK CONDITION outcome with the given sense code.</summary>
    public static void IsCheckCondition(in CommandOutcome outcome, SenseCode expected)
    {
        if (outcome.Status != ScsiStatus.CheckCondition || outcome.Sense != expected)
        {
            throw new TestAssertionException($"Expected CHECK CONDITION {Describe(expected)} but got {Describe(outcome)}.");
        }
    }

    /// <summary>Asserts a CHECK CONDITION result with the given sense code.</summary>
    public static void IsCheckCondition(in LocalResult result, SenseCode expected) => IsCheckCondition(result.Outcome, expected);

    /// <summary>Asserts CHECK CONDITION, ILLEGAL REQUEST, INVALID FIELD IN CDB pointing at <paramref name="byteOffset"/> (and bit).</summary>
    public static void IsInvalidFieldInCdb(in LocalResult result, int byteOffset, int bit = -1)
    {
        CommandOutcome o = result.Outcome;
        IsCheckCondition(o, SenseCode.InvalidFieldInCdb);
        if (!o.HasFieldPointer || !o.FieldInCdb || o.FieldPointer != byteOffset || o.BitPointer != bit)
        {
            throw new TestAssertionException(
                $"Expected a field pointer to CDB byte {byteOffset}, bit {bit}, but got {(o.HasFieldPointer ? $"{(o.FieldInCdb ? "CDB" : "parameter list")} byte {o.FieldPointer}, bit {o.BitPointer}" : "none")}.");
        }
    }

    /// <summary>Asserts GOOD status.</summary>
    public static void IsGood(in LocalResult result)
    {
        if (result.Status != ScsiStatus.Good || result.Outcome != CommandOutcome.Good)
        {
            throw new TestAssertionException($"Expected GOOD but got {Describe(result.Outcome)}.");
        }
    }

    public static string Describe(SenseCode code) => $"{KeyName(code.Key)} {code.Asc:X2}/{code.Ascq:X2}";

    public static string Describe(in CommandOutcome outcome) => outcome.Status switch
    {
        ScsiStatus.CheckCondition => $"CHECK CONDITION {Describe(outcome.Sense)}",
        ScsiStatus.Good => "GOOD",
        _ => outcome.Status.ToString(),
    };

    private static string KeyName(SenseKey key) => key switch
    {
        SenseKey.NoSense => "NO SENSE",
        SenseKey.RecoveredError => "RECOVERED ERROR",
        SenseKey.NotReady => "NOT READY",
        SenseKey.MediumError => "MEDIUM ERROR",
        SenseKey.HardwareError => "HARDWARE ERROR",
        SenseKey.IllegalRequest => "ILLEGAL REQUEST",
        SenseKey.UnitAttention => "UNIT ATTENTION",
        SenseKey.DataProtect => "DATA PROTECT",
        SenseKey.AbortedCommand => "ABORTED COMMAND",
        _ => $"key {(int)key:X}h",
    };

    private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes);
}
