// Licensed under the Apache License, Version 2.0.

using Scst.Core.Cdb;

namespace Scst.Core.Spc.Reservations;

/// <summary>How a command is treated when another I_T nexus holds a reservation.</summary>
internal enum ReservationAccess : byte
{
    /// <summary>
    /// Conflict for every non-holder under an SPC-2 reservation or a Write/Exclusive Access persistent reservation, and
    /// for unregistered nexuses under registrants-only and all-registrants types. The default for any command.
    /// </summary>
    Conflict = 0,

    /// <summary>Allowed whatever the reservation: INQUIRY, REPORT LUNS, REQUEST SENSE, TEST UNIT READY, READ CAPACITY...</summary>
    Allowed,

    /// <summary>
    /// Reads the medium or the unit's state: allowed under the write-exclusive persistent types, conflict under the
    /// exclusive-access types and under an SPC-2 reservation.
    /// </summary>
    Read,

    /// <summary>The command checks reservations itself (RESERVE, RELEASE, PERSISTENT RESERVE IN and OUT).</summary>
    SelfChecked,

    /// <summary>PREVENT ALLOW MEDIUM REMOVAL: allowed with PREVENT 00b, conflict otherwise.</summary>
    PreventAllow,

    /// <summary>START STOP UNIT: allowed with START=1 and POWER CONDITION 0h, conflict otherwise.</summary>
    StartStop,
}

/// <summary>
/// The one table that decides whether a command conflicts with a reservation held by another I_T nexus: SPC-4 table 66
/// ("SPC commands that are allowed in the presence of various reservations"), SBC-4's counterpart for block commands,
/// and, for SPC-2 RESERVE, SPC-2's column "logical unit reserved by another initiator" (where SCST also lets TEST UNIT
/// READY and READ CAPACITY through).
/// </summary>
/// <remarks>
/// <para>
/// The Read class is the list of ALLOW COMMANDS 100b in REPORT CAPABILITIES: MODE SENSE, READ ATTRIBUTE, READ BUFFER,
/// RECEIVE DIAGNOSTIC RESULTS, REPORT SUPPORTED OPERATION CODES and TASK MANAGEMENT FUNCTIONS, READ DEFECT DATA, with
/// the SBC reads; RECEIVE COPY RESULTS conflicts.
/// </para>
/// <para>
/// The classes, per column of the standards' tables:
/// <code>
///  class        SPC-2 reserved | WE      EA      | registered (RO/AR) | not registered WE-RO/AR  EA-RO/AR
///  Allowed      allowed        | allowed allowed | allowed            | allowed                  allowed
///  Read         conflict       | allowed conflict| allowed            | allowed                  conflict
///  Conflict     conflict       | conflict conflict| allowed           | conflict                 conflict
/// </code>
/// The holder of the reservation is never refused here.
/// </para>
/// </remarks>
internal static class ReservationAccessTable
{
    // (operation code, service action or -1 for every service action, class). Commands not listed conflict.
    private static readonly (byte Opcode, int ServiceAction, ReservationAccess Access)[] s_rows =
    [
        // SPC-4
        (0x00, -1, ReservationAccess.Allowed),       // TEST UNIT READY
        (0x03, -1, ReservationAccess.Allowed),       // REQUEST SENSE
        (0x12, -1, ReservationAccess.Allowed),       // INQUIRY
        (0x16, -1, ReservationAccess.SelfChecked),   // RESERVE(6)
        (0x17, -1, ReservationAccess.SelfChecked),   // RELEASE(6)
        (0x1A, -1, ReservationAccess.Read),          // MODE SENSE(6)
        (0x1C, -1, ReservationAccess.Read),          // RECEIVE DIAGNOSTIC RESULTS
        (0x3C, -1, ReservationAccess.Read),          // READ BUFFER
        (0x4D, -1, ReservationAccess.Allowed),       // LOG SENSE
        (0x56, -1, ReservationAccess.SelfChecked),   // RESERVE(10)
        (0x57, -1, ReservationAccess.SelfChecked),   // RELEASE(10)
        (0x5A, -1, ReservationAccess.Read),          // MODE SENSE(10)
        (0x5E, -1, ReservationAccess.SelfChecked),   // PERSISTENT RESERVE IN
        (0x5F, -1, ReservationAccess.SelfChecked),   // PERSISTENT RESERVE OUT
        (0x8C, -1, ReservationAccess.Read),          // READ ATTRIBUTE
        (0xA0, -1, ReservationAccess.Allowed),       // REPORT LUNS
        (0xA3, 0x05, ReservationAccess.Allowed),     // REPORT IDENTIFYING INFORMATION
        (0xA3, 0x0A, ReservationAccess.Allowed),     // REPORT TARGET PORT GROUPS
        (0xA3, 0x0B, ReservationAccess.Allowed),     // REPORT ALIASES
        (0xA3, 0x0C, ReservationAccess.Read),        // REPORT SUPPORTED OPERATION CODES
        (0xA3, 0x0D, ReservationAccess.Read),        // REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS
        (0xA3, 0x0E, ReservationAccess.Allowed),     // REPORT PRIORITY
        (0xA3, 0x0F, ReservationAccess.Allowed),     // REPORT TIMESTAMP
        (0xAB, 0x01, ReservationAccess.Allowed),     // READ MEDIA SERIAL NUMBER

        // SBC-4
        (0x08, -1, ReservationAccess.Read),          // READ(6)
        (0x1B, -1, ReservationAccess.StartStop),     // START STOP UNIT
        (0x1E, -1, ReservationAccess.PreventAllow),  // PREVENT ALLOW MEDIUM REMOVAL
        (0x25, -1, ReservationAccess.Allowed),       // READ CAPACITY(10)
        (0x28, -1, ReservationAccess.Read),          // READ(10)
        (0x2F, -1, ReservationAccess.Read),          // VERIFY(10)
        (0x34, -1, ReservationAccess.Read),          // PRE-FETCH(10)
        (0x37, -1, ReservationAccess.Read),          // READ DEFECT DATA(10)
        (0x88, -1, ReservationAccess.Read),          // READ(16)
        (0x8F, -1, ReservationAccess.Read),          // VERIFY(16)
        (0x90, -1, ReservationAccess.Read),          // PRE-FETCH(16)
        (0x9E, 0x10, ReservationAccess.Allowed),     // READ CAPACITY(16)
        (0x9E, 0x12, ReservationAccess.Read),        // GET LBA STATUS
        (0xA8, -1, ReservationAccess.Read),          // READ(12)
        (0xAF, -1, ReservationAccess.Read),          // VERIFY(12)
        (0xB7, -1, ReservationAccess.Read),          // READ DEFECT DATA(12)
    ];

    private static readonly ReservationAccess[] s_byOpcode = new ReservationAccess[256];
    private static readonly ReservationAccess[]?[] s_byServiceAction = new ReservationAccess[]?[256];

    static ReservationAccessTable()
    {
        foreach ((byte opcode, int serviceAction, ReservationAccess access) in s_rows)
        {
            if (serviceAction < 0)
            {
                s_byOpcode[opcode] = access;
            }
            else
            {
                (s_byServiceAction[opcode] ??= new ReservationAccess[32])[serviceAction] = access;
            }
        }
    }

    /// <summary>The class of a CDB (its operation code, and service action where the opcode has them).</summary>
    public static ReservationAccess Classify(ReadOnlySpan<byte> cdb)
    {
        byte opcode = cdb[0];
        ReservationAccess[]? actions = s_byServiceAction[opcode];
        return actions is not null && cdb.Length > 1 ? actions[cdb[1] & 0x1F] : s_byOpcode[opcode];
    }

    /// <summary>The class of a table row, for tests and reports.</summary>
    public static ReservationAccess Classify(CdbDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        ReservationAccess[]? actions = s_byServiceAction[descriptor.Opcode];
        return actions is not null && descriptor.ServiceAction >= 0 ? actions[descriptor.ServiceAction] : s_byOpcode[descriptor.Opcode];
    }

    /// <summary>
    /// Whether <paramref name="command"/> from its session conflicts with the reservations of <paramref name="state"/>.
    /// Called only when <see cref="ReservationSnapshot.IsReserved"/>; never allocates.
    /// </summary>
    public static bool Conflicts(ReservationSnapshot state, ScsiCommand command)
    {
        ScsiSession session = command.Session;
        ReadOnlySpan<byte> cdb = command.Cdb;
        ReservationAccess access = Classify(cdb);
        access = access switch
        {
            ReservationAccess.PreventAllow => (cdb[4] & 0x03) == 0 ? ReservationAccess.Allowed : ReservationAccess.Conflict,
            ReservationAccess.StartStop => (cdb[4] & 0x01) != 0 && (cdb[4] >> 4) == 0 ? ReservationAccess.Allowed : ReservationAccess.Conflict,
            _ => access,
        };

        if (access is ReservationAccess.Allowed or ReservationAccess.SelfChecked)
        {
            return false;
        }

        if (state.Spc2Holder is { } spc2Holder)
        {
            return spc2Holder != session;
        }

        PersistentReservationType type = state.Type;
        if (type == PersistentReservationType.None)
        {
            return false;
        }

        Registration? registration = state.Find(session);
        if (state.IsHolder(registration) || (registration is not null && type.AdmitsRegistrants()))
        {
            return false;
        }

        return !(access == ReservationAccess.Read && type.IsWriteExclusive());
    }
}
