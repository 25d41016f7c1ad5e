// Licensed under the Apache License, Version 2.0.

namespace Scst.Core.Spc.Reservations;

/// <summary>
/// RESERVE(6), RESERVE(10), RELEASE(6) and RELEASE(10) (SPC-2 sections 7.21-7.24): a logical unit reservation held by
/// one I_T nexus. Third-party reservations and extents are not supported; their bits are reserved bits of the CDB
/// usage data and get INVALID FIELD IN CDB before this code runs.
/// </summary>
/// <remarks>
/// With persistent reservation registrations present, the compatible reservation handling of SPC-4 section 5.13.3
/// applies (REPORT CAPABILITIES says CRH=1): RESERVE and RELEASE conflict, except that they complete with GOOD and do
/// nothing when they come from the persistent reservation holder, or from any registered I_T nexus while a
/// registrants-only or all-registrants reservation is present.
/// </remarks>
internal static class Spc2Reservations
{
    public static CommandOutcome Execute(ScsiCommand command)
    {
        ScsiSession session = command.Session;
        bool reserve = command.Cdb[0] is 0x16 or 0x56;
        return command.Device!.Reservations.Change(session, draft => reserve ? Reserve(draft, session) : Release(draft, session));
    }

    private static CommandOutcome Reserve(ReservationDraft draft, ScsiSession session)
    {
        if (draft.Registrations.Count > 0)
        {
            return CompatibleNoOp(draft, session);
        }

        if (draft.Spc2Holder is null || draft.Spc2Holder == session)
        {
            draft.Spc2Holder = session;
            return CommandOutcome.Good;
        }

        return CommandOutcome.FromStatus(ScsiStatus.ReservationConflict);
    }

    // RELEASE from an I_T nexus that does not hold the reservation is not an error: it releases nothing (SPC-2 7.23).
    private static CommandOutcome Release(ReservationDraft draft, ScsiSession session)
    {
        if (draft.Registrations.Count > 0)
        {
            return CompatibleNoOp(draft, session);
        }

        if (draft.Spc2Holder == session)
        {
            draft.Spc2Holder = null;
        }

        return CommandOutcome.Good;
    }

    private static CommandOutcome CompatibleNoOp(ReservationDraft draft, ScsiSession session)
    {
        Registration? registration = draft.Find(session);
        bool exempt = registration is not null && (draft.IsHolder(registration) || draft.Type.AdmitsRegistrants());
        return exempt ? CommandOutcome.Good : CommandOutcome.FromStatus(ScsiStatus.ReservationConflict);
    }
}
