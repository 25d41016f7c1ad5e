// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Buffers.Binary;

namespace Scst.Core.Spc.Reservations;

/// <summary>
/// PERSISTENT RESERVE IN (SPC-4 section 6.16): READ KEYS, READ RESERVATION, REPORT CAPABILITIES and READ FULL STATUS.
/// Each builds its whole response from one snapshot of the state and returns as much as the allocation length allows;
/// the length fields always describe the whole response.
/// </summary>
internal static class PersistentReserveIn
{
    public const int ReadKeys = 0x00;
    public const int ReadReservation = 0x01;
    public const int ReportCapabilities = 0x02;
    public const int ReadFullStatus = 0x03;

    private const int HeaderLength = 8;
    private const int ReservationDescriptorLength = 16;
    private const int FullStatusDescriptorLength = 24;

    // REPORT CAPABILITIES byte 2: CRH, SIP_C, ATP_C; PTPL_C when the core has a state directory.
    private const byte CompatibleReservationHandling = 0x10;
    private const byte SpecifyInitiatorPortsCapable = 0x08;
    private const byte AllTargetPortsCapable = 0x04;
    private const byte PersistThroughPowerLossCapable = 0x01;

    // Byte 3: TMV (the type mask is valid), ALLOW COMMANDS 100b (see ReservationAccessTable), PTPL_A.
    private const byte TypeMaskValid = 0x80;
    private const byte AllowCommands = 0x4 << 4;
    private const byte PersistThroughPowerLossActivated = 0x01;

    public static CommandOutcome Execute(ScsiCommand command)
    {
        ReservationState reservations = command.Device!.Reservations;
        ReservationSnapshot state = reservations.Current;

        // SPC-4 5.13.3 (SPC-2 5.5.1): while a RESERVE is in effect, PERSISTENT RESERVE IN conflicts for every nexus.
        if (state.Spc2Holder is not null)
        {
            return CommandOutcome.FromStatus(ScsiStatus.ReservationConflict);
        }

        int serviceAction = command.Cdb[1] & 0x1F;
        int length = serviceAction switch
        {
            ReadKeys => HeaderLength + (8 * state.Registrations.Length),
            ReadReservation => HeaderLength + (state.Type == PersistentReservationType.None ? 0 : ReservationDescriptorLength),
            ReportCapabilities => 8,
            _ => FullStatusLength(state),
        };

        byte[] rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            Span<byte> d = rented.AsSpan(0, length);
            d.Clear();
            switch (serviceAction)
            {
                case ReadKeys:
                    WriteKeys(d, state);
                    break;
                case ReadReservation:
                    WriteReservation(d, state);
                    break;
                case ReportCapabilities:
                    WriteCapabilities(d, state, reservations.PersistenceSupported);
                    break;
                default:
                    WriteFullStatus(d, state);
                    break;
            }

            command.WriteResponse(d);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return CommandOutcome.Good;
    }

    /// <summary>
    /// READ KEYS:
    /// <code>
    ///  bytes 0-3  PRGENERATION
    ///  bytes 4-7  ADDITIONAL LENGTH (8 x registrations)
    ///  then one 8-byte RESERVATION KEY per registered I_T nexus
    /// </code>
    /// </summary>
    private static void WriteKeys(Span<byte> d, ReservationSnapshot state)
    {
        BinaryPrimitives.WriteUInt32BigEndian(d, state.Generation);
        BinaryPrimitives.WriteUInt32BigEndian(d[4..], (uint)(d.Length - HeaderLength));
        int at = HeaderLength;
        foreach (Registration r in state.Registrations)
        {
            BinaryPrimitives.WriteUInt64BigEndian(d[at..], r.Key);
            at += 8;
        }
    }

    /// <summary>
    /// READ RESERVATION: the header, then when reserved
    /// <code>
    ///  bytes 8-15  RESERVATION KEY (zero for all-registrants types)
    ///  byte 21     SCOPE (7-4) | TYPE (3-0)
    /// </code>
    /// </summary>
    private static void WriteReservation(Span<byte> d, ReservationSnapshot state)
    {
        BinaryPrimitives.WriteUInt32BigEndian(d, state.Generation);
        BinaryPrimitives.WriteUInt32BigEndian(d[4..], (uint)(d.Length - HeaderLength));
        if (state.Type != PersistentReservationType.None)
        {
            BinaryPrimitives.WriteUInt64BigEndian(d[8..], state.Holder?.Key ?? 0);
            d[21] = (byte)((PersistentReservationTypes.LogicalUnitScope << 4) | (byte)state.Type);
        }
    }

    /// <summary>
    /// REPORT CAPABILITIES:
    /// <code>
    ///  bytes 0-1  LENGTH (8)
    ///  byte 2     RLR_C(7) CRH(4) SIP_C(3) ATP_C(2) PTPL_C(0)
    ///  byte 3     TMV(7) ALLOW COMMANDS(6-4) PTPL_A(0)
    ///  bytes 4-5  PERSISTENT RESERVATION TYPE MASK
    /// </code>
    /// </summary>
    private static void WriteCapabilities(Span<byte> d, ReservationSnapshot state, bool persistenceSupported)
    {
        BinaryPrimitives.WriteUInt16BigEndian(d, 8);
        d[2] = (byte)(CompatibleReservationHandling | SpecifyInitiatorPortsCapable | AllTargetPortsCapable |
            (persistenceSupported ? PersistThroughPowerLossCapable : 0));
        d[3] = (byte)(TypeMaskValid | AllowCommands | (state.Aptpl ? PersistThroughPowerLossActivated : 0));
        BinaryPrimitives.WriteUInt16BigEndian(d[4..], PersistentReservationTypes.SupportedMask);
    }

    private static int FullStatusLength(ReservationSnapshot state)
    {
        int length = HeaderLength;
        foreach (Registration r in state.Registrations)
        {
            length += FullStatusDescriptorLength + r.TransportId.Length;
        }

        return length;
    }

    /// <summary>
    /// READ FULL STATUS: the header, then per registered I_T nexus
    /// <code>
    ///  bytes 0-7    RESERVATION KEY
    ///  byte 12      ALL_TG_PT(1) R_HOLDER(0)
    ///  byte 13      SCOPE(7-4) TYPE(3-0), when R_HOLDER
    ///  bytes 18-19  RELATIVE TARGET PORT IDENTIFIER
    ///  bytes 20-23  ADDITIONAL DESCRIPTOR LENGTH (the TransportID's)
    ///  bytes 24-    TransportID
    /// </code>
    /// </summary>
    private static void WriteFullStatus(Span<byte> d, ReservationSnapshot state)
    {
        BinaryPrimitives.WriteUInt32BigEndian(d, state.Generation);
        BinaryPrimitives.WriteUInt32BigEndian(d[4..], (uint)(d.Length - HeaderLength));
        int at = HeaderLength;
        foreach (Registration r in state.Registrations)
        {
            Span<byte> e = d[at..];
            BinaryPrimitives.WriteUInt64BigEndian(e, r.Key);
            bool holder = state.IsHolder(r);
            e[12] = (byte)((r.AllTargetPorts ? 0x02 : 0) | (holder ? 0x01 : 0));
            if (holder)
            {
                e[13] = (byte)((PersistentReservationTypes.LogicalUnitScope << 4) | (byte)state.Type);
            }

            BinaryPrimitives.WriteUInt16BigEndian(e[18..], r.RelativeTargetPortId);
            BinaryPrimitives.WriteUInt32BigEndian(e[20..], (uint)r.TransportId.Length);
            r.TransportId.CopyTo(e[FullStatusDescriptorLength..]);
            at += FullStatusDescriptorLength + r.TransportId.Length;
        }
    }
}
