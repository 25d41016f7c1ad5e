// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Numerics;
using Scst.Core.Cdb;

namespace Scst.Core.Spc;

/// <summary>
/// The SPC-4 commands the core answers for every device: TEST UNIT READY, INQUIRY with its VPD pages, REPORT LUNS,
/// REQUEST SENSE, MODE SENSE, MODE SELECT, REPORT SUPPORTED OPERATION CODES, REPORT SUPPORTED TASK MANAGEMENT
/// FUNCTIONS, REPORT and SET TARGET PORT GROUPS, reservations, and the copy manager's EXTENDED COPY and RECEIVE COPY
/// RESULTS. All but EXTENDED COPY, SET TARGET PORT GROUPS (which waits for its agent) and PERSISTENT RESERVE OUT PREEMPT
/// AND ABORT (which waits for the commands it aborted) run synchronously;
/// responses are built on the stack and copied once into the command's buffer, cut to the allocation length.
/// </summary>
internal static class SpcCommands
{
    private const int MaxResponse = 1024;

    /// <summary>Whether the core implements a core-owned command (the rest of the core-owned rows are refused).</summary>
    public static bool Implements(CdbDescriptor descriptor) => (descriptor.Opcode, descriptor.ServiceAction) switch
    {
        (0x00 or 0x03 or 0x12 or 0x15 or 0x1A or 0x55 or 0x5A or 0xA0, -1) => true,
        (0xA3, 0x0A or 0x0C or 0x0D) => true,
        (0xA4, 0x0A) => true,
        (0x83, 0x00) or (0x84, 0x00 or 0x03 or 0x04) => true,
        (0x16 or 0x17 or 0x56 or 0x57, -1) => true,
        (0x5E, >= 0x00 and <= 0x03) or (0x5F, >= 0x00 and <= 0x07) => true,
        _ => false,
    };

    /// <summary>
    /// Executes a core-owned command. EXTENDED COPY moves data through the devices, SET TARGET PORT GROUPS waits for
    /// the agent that changes the states, and PERSISTENT RESERVE OUT PREEMPT AND ABORT waits while the commands it
    /// aborted are still there: they complete asynchronously. Every other command completes before this returns.
    /// </summary>
    public static ValueTask<CommandOutcome> ExecuteAsync(ScsiCommand command, ScstEngine engine)
    {
        if (command.Cdb[0] is not (0x83 or 0xA4 or 0x5F) || command.Descriptor is not { } descriptor || !Implements(descriptor))
        {
            return new(Execute(command, engine));
        }

        CommandOutcome reserved = CheckReservedBits(command.Cdb, descriptor);
        if (!reserved.IsGood)
        {
            return new(reserved);
        }

        return command.Cdb[0] switch
        {
            0x83 => engine.CopyManager.ExtendedCopyAsync(command),
            0xA4 => Alua.SetTargetPortGroups.ExecuteAsync(command, engine),
            _ => Reservations.PersistentReserveOut.ExecuteAsync(command),
        };
    }

    public static CommandOutcome Execute(ScsiCommand command, ScstEngine engine)
    {
        CdbDescriptor? descriptor = command.Descriptor;
        if (descriptor is null || !Implements(descriptor))
        {
            return CommandOutcome.CheckCondition(SenseCode.InvalidOpcode);
        }

        CommandOutcome reserved = CheckReservedBits(command.Cdb, descriptor);
        if (!reserved.IsGood)
        {
            return reserved;
        }

        return command.Cdb[0] switch
        {
            0x00 => command.Device is { MediumPresent: false } ? CommandOutcome.CheckCondition(SenseCode.MediumNotPresent) : CommandOutcome.Good,
            0x03 => RequestSense(command),
            0x12 => Inquiry.Execute(command),
            0xA0 => ReportLuns(command),
            0x1A or 0x5A => ModeSense.Execute(command),
            0x15 or 0x55 => ModeSense.Select(command, engine),
            0xA3 when (command.Cdb[1] & 0x1F) == 0x0A => ReportTargetPortGroups.Execute(command, engine),
            0xA3 when (command.Cdb[1] & 0x1F) == 0x0C => ReportSupported.OperationCodes(command),
            0xA3 => ReportSupported.TaskManagementFunctions(command),
            0x84 => engine.CopyManager.ReceiveCopyResults(command),
            0x16 or 0x17 or 0x56 or 0x57 => Reservations.Spc2Reservations.Execute(command),
            0x5E => Reservations.PersistentReserveIn.Execute(command),
            _ => CommandOutcome.CheckCondition(SenseCode.InvalidOpcode),
        };
    }

    /// <summary>
    /// Refuses a CDB with a bit set that the command's CDB USAGE DATA marks unused (a reserved bit), pointing at the
    /// most significant such bit. The CONTROL byte is left to the core (NACA) and its vendor-specific bits are ignored.
    /// </summary>
    internal static CommandOutcome CheckReservedBits(ReadOnlySpan<byte> cdb, CdbDescriptor descriptor)
    {
        ReadOnlySpan<byte> usage = descriptor.UsageData;
        for (int i = 1; i < usage.Length - 1; i++)
        {
            int allowed = usage[i];
            if (i == 1 && descriptor.HasServiceAction)
            {
                allowed |= 0x1F;
            }

            int wrong = cdb[i] & ~allowed & 0xFF;
            if (wrong != 0)
            {
                return CommandOutcome.InvalidFieldInCdb(i, 31 - BitOperations.LeadingZeroCount((uint)wrong));
            }
        }

        return CommandOutcome.Good;
    }

    // REQUEST SENSE (SPC-4 section 6.39) reports, and clears, the oldest unit attention of the LUN; otherwise the state of a
    // sanitize operation, or NO SENSE.
    private static CommandOutcome RequestSense(ScsiCommand command)
    {
        bool descriptor = (command.Cdb[1] & 0x01) != 0;
        Span<byte> sense = stackalloc byte[SenseData.MaxLength];
        CommandOutcome pending;
        if (command.Device is null)
        {
            pending = CommandOutcome.CheckCondition(SenseCode.LunNotSupported);
        }
        else if (command.Session.TryTakeUnitAttention(LunAddress.Decode(command.Lun), out SenseCode attention))
        {
            pending = CommandOutcome.CheckCondition(attention);
        }
        else if (command.Device is BlockDevice { Sanitize: { } sanitize })
        {
            // SANITIZE IN PROGRESS with the progress indication, or the sanitize failure mode (SBC-4 4.11).
            pending = sanitize.CurrentSense();
        }
        else
        {
            pending = CommandOutcome.CheckCondition(SenseCode.NoAdditionalInformation);
        }

        int length = SenseData.Write(sense, pending, descriptor);
        command.WriteResponse(sense[..length]);
        return CommandOutcome.Good;
    }

    private static CommandOutcome ReportLuns(ScsiCommand command)
    {
        ReadOnlySpan<byte> cdb = command.Cdb;
        byte select = cdb[2];
        if (select is not (0x00 or 0x01 or 0x02))
        {
            return CommandOutcome.InvalidFieldInCdb(2);
        }

        uint allocation = BinaryPrimitives.ReadUInt32BigEndian(cdb[6..]);
        if (allocation < 16)
        {
            return CommandOutcome.InvalidFieldInCdb(6);
        }

        // SELECT REPORT 01h asks for well-known LUNs only, and this core has none.
        IReadOnlyList<LunMapping> luns = select == 0x01 ? [] : command.Session.Luns.Luns;
        Span<byte> data = command.Data.Span;
        data[..Math.Min(8, data.Length)].Clear();
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)(luns.Count * 8));
        int written = 8;
        foreach (LunMapping lun in luns)
        {
            if (written + 8 > data.Length)
            {
                break;
            }

            BinaryPrimitives.WriteUInt64BigEndian(data[written..], LunAddress.Encode(lun.Lun));
            written += 8;
        }

        command.SetResponseLength(written);
        return CommandOutcome.Good;
    }

    /// <summary>Writes <paramref name="text"/> as a fixed-length, space-padded ASCII field.</summary>
    internal static void WriteAscii(Span<byte> field, string text)
    {
        field.Fill((byte)' ');
        for (int i = 0; i < text.Length && i < field.Length; i++)
        {
            char c = text[i];
            field[i] = c is >= ' ' and <= '~' ? (byte)c : (byte)'_';
        }
    }

    internal static int MaxResponseLength => MaxResponse;
}
