// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Buffers.Binary;
using Scst.Core.Alua;

namespace Scst.Core.Spc;

/// <summary>
/// REPORT TARGET PORT GROUPS (SPC-4 section 6.36): one descriptor per target group of the device's ALUA device group,
/// with its state, preference, the states the core supports and the relative port ids of its members.
/// </summary>
internal static class ReportTargetPortGroups
{
    private const int HeaderLength = 4;
    private const int ExtendedHeaderLength = 8;
    private const int DescriptorLength = 8;
    private const int PortLength = 4;

    // T_SUP, O_SUP, U_SUP, S_SUP, AN_SUP, AO_SUP: every state but logical block dependent.
    private const byte SupportedStates = 0x80 | 0x40 | 0x08 | 0x04 | 0x02 | 0x01;

    public static CommandOutcome Execute(ScsiCommand command, ScstEngine engine)
    {
        // The command is supported only for a device in a device group (CdbTable.IsSupported).
        if (command.Device?.DeviceGroup is not { } deviceGroup)
        {
            return CommandOutcome.CheckCondition(SenseCode.InvalidOpcode);
        }

        int format = command.Cdb[1] >> 5;
        if (format > 1)
        {
            return CommandOutcome.InvalidFieldInCdb(1, 7);
        }

        IReadOnlyList<TargetGroup> groups = deviceGroup.TargetGroups;
        int length = format == 1 ? ExtendedHeaderLength : HeaderLength;
        foreach (TargetGroup group in groups)
        {
            length += DescriptorLength + (group.Targets.Count * PortLength);
        }

        // A device group with many ports may not fit on the stack; the rare case rents its buffer.
        byte[]? rented = length > SpcCommands.MaxResponseLength ? ArrayPool<byte>.Shared.Rent(length) : null;
        Span<byte> data = rented is null ? stackalloc byte[SpcCommands.MaxResponseLength] : rented;
        data = data[..length];
        data.Clear();
        try
        {
            int n = Write(data, format, groups, engine);
            command.WriteResponse(data[..n]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        return CommandOutcome.Good;
    }

    private static int Write(Span<byte> d, int format, IReadOnlyList<TargetGroup> groups, ScstEngine engine)
    {
        int n = HeaderLength;
        if (format == 1)
        {
            d[4] = 0x10; // FORMAT TYPE 001b; IMPLICIT TRANSITION TIME 0: a state change takes effect at once
            n = ExtendedHeaderLength;
        }

        foreach (TargetGroup group in groups)
        {
            // Members may change meanwhile: never more ports than the length reserved for this group.
            IReadOnlyList<TargetGroupMember> members = group.Targets;
            int count = Math.Min(members.Count, (d.Length - n - DescriptorLength) / PortLength);
            d[n] = (byte)((group.Preferred ? 0x80 : 0) | ((byte)group.State & 0x0F));
            d[n + 1] = SupportedStates;
            BinaryPrimitives.WriteUInt16BigEndian(d[(n + 2)..], (ushort)group.GroupId);
            d[n + 5] = group.StatusCode;
            d[n + 7] = (byte)Math.Min(count, 255);
            n += DescriptorLength;
            for (int i = 0; i < count; i++)
            {
                BinaryPrimitives.WriteUInt16BigEndian(d[(n + 2)..], RelativeTargetPortId(members[i], engine));
                n += PortLength;
            }
        }

        // RETURN DATA LENGTH: the bytes after the field.
        BinaryPrimitives.WriteUInt32BigEndian(d, (uint)(n - HeaderLength));
        return n;
    }

    // A local target's relative port id; a target of another node carries its own.
    private static ushort RelativeTargetPortId(TargetGroupMember member, ScstEngine engine)
    {
        foreach (ScsiTarget target in engine.Targets)
        {
            if (string.Equals(target.Name, member.Name, StringComparison.Ordinal))
            {
                return target.RelativeTargetPortId;
            }
        }

        return (ushort)member.RelativeTargetPortId;
    }
}
