// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Core.Spc;

/// <summary>
/// The SPC-4 commands the core answers for every device: TEST UNIT READY, INQUIRY with its VPD pages, REPORT LUNS,
/// REQUEST SENSE and MODE SENSE. All run synchronously; responses are built on the stack and copied once into the
/// command's buffer, cut to the allocation length.
/// </summary>
internal static class SpcCommands
{
    private const int MaxResponse = 1024;

    public static CommandOutcome Execute(ScsiCommand command, ScstEngine engine)
    {
        return command.Cdb[0] switch
        {
            0x00 => command.Device is { MediumPresent: false } ? CommandOutcome.CheckCondition(SenseCode.MediumNotPresent) : CommandOutcome.Good,
            0x03 => RequestSense(command),
            0x12 => Inquiry.Execute(command),
            0xA0 => ReportLuns(command),
            0x1A or 0x5A => ModeSense.Execute(command),
            _ => CommandOutcome.CheckCondition(SenseCode.InvalidOpcode),
        };
    }

    private static CommandOutcome RequestSense(ScsiCommand command)
    {
        bool descriptor = (command.Cdb[1] & 0x01) != 0;
        Span<byte> sense = stackalloc byte[SenseData.MaxLength];
        CommandOutcome pending = command.Device is null
            ? CommandOutcome.CheckCondition(SenseCode.LunNotSupported)
            : CommandOutcome.CheckCondition(SenseCode.NoAdditionalInformation);
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
