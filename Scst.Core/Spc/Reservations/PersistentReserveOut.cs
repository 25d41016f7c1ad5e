// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Core.Spc.Reservations;

/// <summary>
/// PERSISTENT RESERVE OUT (SPC-4 sections 5.13 and 6.17): REGISTER, RESERVE, RELEASE, CLEAR, PREEMPT, PREEMPT AND
/// ABORT, REGISTER AND IGNORE EXISTING KEY and REGISTER AND MOVE, logical unit scope, all six reservation types.
/// </summary>
/// <remarks>
/// <para>
/// The CDB and the parameter list are checked first (INVALID FIELD IN CDB, PARAMETER LIST LENGTH ERROR, INVALID FIELD
/// IN PARAMETER LIST with a field pointer); then the service action runs on a draft of the state under its lock, where
/// a reservation key that does not match the I_T nexus's registration is RESERVATION CONFLICT. A command that fails
/// changes nothing.
/// </para>
/// <para>
/// The basic parameter list (24 bytes, 28 and more with SPEC_I_PT):
/// <code>
///  bytes 0-7    RESERVATION KEY
///  bytes 8-15   SERVICE ACTION RESERVATION KEY
///  byte 20      SPEC_I_PT(3) ALL_TG_PT(2) APTPL(0)
///  bytes 24-27  TRANSPORTID PARAMETER DATA LENGTH, then the TransportIDs (SPEC_I_PT only)
/// </code>
/// The REGISTER AND MOVE parameter list:
/// <code>
///  bytes 0-7    RESERVATION KEY
///  bytes 8-15   SERVICE ACTION RESERVATION KEY
///  byte 17      UNREG(1) APTPL(0)
///  bytes 18-19  RELATIVE TARGET PORT IDENTIFIER
///  bytes 20-23  TRANSPORTID PARAMETER DATA LENGTH, then one TransportID
/// </code>
/// </para>
/// </remarks>
internal static class PersistentReserveOut
{
    public const int Register = 0x00;
    public const int Reserve = 0x01;
    public const int Release = 0x02;
    public const int Clear = 0x03;
    public const int Preempt = 0x04;
    public const int PreemptAndAbort = 0x05;
    public const int RegisterAndIgnoreExistingKey = 0x06;
    public const int RegisterAndMove = 0x07;

    private const int BasicListLength = 24;
    private const int SpecifiedPortsHeaderLength = 28;
    private const int MoveListHeaderLength = 24;

    private const byte SpecIPt = 0x08;
    private const byte AllTgPt = 0x04;
    private const byte Aptpl = 0x01;
    private const byte Unreg = 0x02;

    private static CommandOutcome Conflict => CommandOutcome.FromStatus(ScsiStatus.ReservationConflict);

    private static CommandOutcome ListLengthError => CommandOutcome.CheckCondition(SenseCode.ParameterListLengthError);

    /// <summary>
    /// Runs the command. PREEMPT AND ABORT completes once the commands it aborted are gone, as a task management
    /// function that aborts commands does (and as SCST does): no command of a preempted initiator answers, or reaches
    /// the medium, after the preempting initiator has its GOOD.
    /// </summary>
    public static ValueTask<CommandOutcome> ExecuteAsync(ScsiCommand command)
    {
        bool aborts = command.Cdb.Length > 1 && (command.Cdb[1] & 0x1F) == PreemptAndAbort;
        List<Task>? aborted = aborts ? [] : null;
        CommandOutcome outcome = Execute(command, aborted);
        return aborted is not { Count: > 0 } ? new(outcome) : WhenGoneAsync(outcome, aborted);
    }

    private static async ValueTask<CommandOutcome> WhenGoneAsync(CommandOutcome outcome, List<Task> aborted)
    {
        await Task.WhenAll(aborted).ConfigureAwait(false);
        return outcome;
    }

    private static CommandOutcome Execute(ScsiCommand command, List<Task>? aborted)
    {
        ReservationState reservations = command.Device!.Reservations;

        // SPC-4 5.13.3 (SPC-2 5.5.1): while a RESERVE is in effect, PERSISTENT RESERVE OUT conflicts for every nexus.
        if (reservations.Current.Spc2Holder is not null)
        {
            return Conflict;
        }

        ReadOnlySpan<byte> cdb = command.Cdb;
        int serviceAction = cdb[1] & 0x1F;
        int scope = cdb[2] >> 4;
        int type = cdb[2] & 0x0F;
        if (serviceAction is Reserve or Release or Preempt or PreemptAndAbort or RegisterAndMove)
        {
            if (scope != PersistentReservationTypes.LogicalUnitScope)
            {
                return CommandOutcome.InvalidFieldInCdb(2, 7);
            }

            if (!PersistentReservationTypes.IsSupported(type))
            {
                return CommandOutcome.InvalidFieldInCdb(2, 3);
            }
        }

        ReadOnlySpan<byte> list = command.Data.Span;
        return serviceAction == RegisterAndMove
            ? ExecuteRegisterAndMove(command, reservations, list, (PersistentReservationType)type)
            : ExecuteBasic(command, reservations, list, serviceAction, (PersistentReservationType)type, aborted);
    }

    private static CommandOutcome ExecuteBasic(
        ScsiCommand command, ReservationState reservations, ReadOnlySpan<byte> list, int serviceAction, PersistentReservationType type, List<Task>? aborted)
    {
        if (list.Length < BasicListLength)
        {
            return ListLengthError;
        }

        ulong key = BinaryPrimitives.ReadUInt64BigEndian(list);
        ulong serviceActionKey = BinaryPrimitives.ReadUInt64BigEndian(list[8..]);
        byte flags = list[20];
        if ((flags & 0xF2) != 0)
        {
            return CommandOutcome.InvalidFieldInParameterList(20, 31 - System.Numerics.BitOperations.LeadingZeroCount((uint)(flags & 0xF2)));
        }

        bool specifiedPorts = (flags & SpecIPt) != 0;
        bool registers = serviceAction is Register or RegisterAndIgnoreExistingKey;
        bool allTargetPorts = registers && (flags & AllTgPt) != 0;
        bool aptpl = (flags & Aptpl) != 0;
        if (specifiedPorts && serviceAction != Register)
        {
            return CommandOutcome.InvalidFieldInParameterList(20, 3);
        }

        byte[][] specified = [];
        if (specifiedPorts)
        {
            CommandOutcome parsed = ParseSpecifiedPorts(list, out specified);
            if (!parsed.IsGood)
            {
                return parsed;
            }
        }
        else if (list.Length != BasicListLength)
        {
            return ListLengthError;
        }

        if (registers && aptpl && !reservations.PersistenceSupported)
        {
            return CommandOutcome.InvalidFieldInParameterList(20, 0);
        }

        ScsiSession session = command.Session;
        return reservations.Change(session, draft =>
        {
            if (draft.Spc2Holder is not null)
            {
                return Conflict;
            }

            Registration? mine = draft.Find(session);
            if (serviceAction is Register or RegisterAndIgnoreExistingKey)
            {
                return DoRegister(draft, session, mine, key, serviceActionKey, ignoreKey: serviceAction == RegisterAndIgnoreExistingKey, allTargetPorts, aptpl, specified, specifiedPorts);
            }

            if (mine is null || mine.Key != key)
            {
                return Conflict;
            }

            return serviceAction switch
            {
                Reserve => DoReserve(draft, mine, type),
                Release => DoRelease(draft, mine, type),
                Clear => DoClear(draft),
                _ => DoPreempt(draft, mine, serviceActionKey, type, abort: serviceAction == PreemptAndAbort),
            };
        }, aborted);
    }

    // SPEC_I_PT: bytes 24-27 give the length of the TransportIDs that follow; each must be well formed.
    private static CommandOutcome ParseSpecifiedPorts(ReadOnlySpan<byte> list, out byte[][] specified)
    {
        specified = [];
        if (list.Length < SpecifiedPortsHeaderLength)
        {
            return ListLengthError;
        }

        uint length = BinaryPrimitives.ReadUInt32BigEndian(list[BasicListLength..]);
        if (length > (uint)(list.Length - SpecifiedPortsHeaderLength))
        {
            return ListLengthError;
        }

        ReadOnlySpan<byte> ids = list.Slice(SpecifiedPortsHeaderLength, (int)length);
        var parsed = new List<byte[]>();
        int at = 0;
        while (at < ids.Length)
        {
            int n = TransportIdentifier.Measure(ids[at..]);
            if (n == 0)
            {
                return CommandOutcome.InvalidFieldInParameterList(SpecifiedPortsHeaderLength + at);
            }

            parsed.Add(ids.Slice(at, n).ToArray());
            at += n;
        }

        if (parsed.Count == 0)
        {
            return CommandOutcome.InvalidFieldInParameterList(BasicListLength);
        }

        specified = [.. parsed];
        return CommandOutcome.Good;
    }

    // REGISTER and REGISTER AND IGNORE EXISTING KEY (SPC-4 5.13.7): register, change the key, or unregister (key 0).
    private static CommandOutcome DoRegister(
        ReservationDraft draft, ScsiSession session, Registration? mine, ulong key, ulong serviceActionKey, bool ignoreKey,
        bool allTargetPorts, bool aptpl, byte[][] specified, bool specifiedPorts)
    {
        if (mine is null)
        {
            if (!ignoreKey && key != 0)
            {
                return Conflict;
            }

            if (serviceActionKey == 0)
            {
                return CommandOutcome.Good; // unregistering a nexus that is not registered does nothing
            }

            ushort port = session.Target.RelativeTargetPortId;
            var added = new List<Registration> { new(session.TransportId.ToArray(), port, serviceActionKey, allTargetPorts) };
            for (int i = 0; i < specified.Length; i++)
            {
                byte[] id = specified[i];
                if (added[0].Covers(id, port))
                {
                    continue; // the issuing nexus named again: registered once
                }

                if (CoveredBy(draft.Registrations, id, port) || CoveredBy(added, id, port))
                {
                    return CommandOutcome.InvalidFieldInParameterList(OffsetOf(specified, i));
                }

                added.Add(new Registration(id, port, serviceActionKey, allTargetPorts));
            }

            if (draft.Registrations.Count + added.Count > ReservationState.MaxRegistrations)
            {
                return CommandOutcome.CheckCondition(SenseCode.InsufficientRegistrationResources);
            }

            foreach (Registration r in added)
            {
                draft.Add(r);
            }
        }
        else
        {
            if (!ignoreKey && key != mine.Key)
            {
                return Conflict;
            }

            if (specifiedPorts)
            {
                return CommandOutcome.CheckCondition(SenseCode.InvalidFieldInCdb); // SPC-4 5.13.7: SPEC_I_PT from a registered nexus
            }

            if (serviceActionKey == 0)
            {
                Unregister(draft, mine);
            }
            else
            {
                draft.Replace(mine, mine.WithKey(serviceActionKey));
            }
        }

        draft.SetAptpl(aptpl);
        draft.IncrementGeneration();
        return CommandOutcome.Good;
    }

    // The holder of a registrants-only reservation that unregisters releases it, and the other registrants learn it.
    private static void Unregister(ReservationDraft draft, Registration mine)
    {
        PersistentReservationType type = draft.Type;
        bool wasHolder = ReferenceEquals(draft.Holder, mine);
        draft.Remove(mine);
        if (wasHolder && type is PersistentReservationType.WriteExclusiveRegistrantsOnly or PersistentReservationType.ExclusiveAccessRegistrantsOnly)
        {
            draft.NotifyUnitAttention([.. draft.Registrations], SenseCode.ReservationsReleased);
        }
    }

    private static CommandOutcome DoReserve(ReservationDraft draft, Registration mine, PersistentReservationType type)
    {
        if (draft.Type == PersistentReservationType.None)
        {
            draft.Reserve(type, mine);
            return CommandOutcome.Good;
        }

        // The holder may repeat its reservation; changing its type or scope, or reserving over another holder, conflicts.
        return draft.IsHolder(mine) && draft.Type == type ? CommandOutcome.Good : Conflict;
    }

    private static CommandOutcome DoRelease(ReservationDraft draft, Registration mine, PersistentReservationType type)
    {
        if (draft.Type == PersistentReservationType.None || !draft.IsHolder(mine))
        {
            return CommandOutcome.Good; // nothing this nexus holds: GOOD, nothing released
        }

        if (draft.Type != type)
        {
            return CommandOutcome.CheckCondition(SenseCode.InvalidReleaseOfPersistentReservation);
        }

        bool notify = draft.Type.AdmitsRegistrants();
        draft.Release();
        if (notify)
        {
            draft.NotifyUnitAttention([.. draft.Registrations], SenseCode.ReservationsReleased);
        }

        return CommandOutcome.Good;
    }

    private static CommandOutcome DoClear(ReservationDraft draft)
    {
        Registration[] all = [.. draft.Registrations];
        draft.ClearAll();
        draft.IncrementGeneration();
        draft.NotifyUnitAttention(all, SenseCode.ReservationsPreempted);
        return CommandOutcome.Good;
    }

    // PREEMPT and PREEMPT AND ABORT (SPC-4 5.13.11.4): remove the registrations with the service action reservation key
    // (never the issuer's own) and, when that key is the holder's, take over the reservation with the CDB's type.
    private static CommandOutcome DoPreempt(ReservationDraft draft, Registration mine, ulong serviceActionKey, PersistentReservationType type, bool abort)
    {
        PersistentReservationType current = draft.Type;
        bool allRegistrants = current.IsAllRegistrants();
        if (serviceActionKey == 0 && !allRegistrants)
        {
            return CommandOutcome.InvalidFieldInParameterList(8);
        }

        bool takesReservation = current != PersistentReservationType.None &&
            (allRegistrants ? serviceActionKey == 0 : draft.Holder!.Key == serviceActionKey);
        var removed = new List<Registration>();
        foreach (Registration r in draft.Registrations)
        {
            if (!ReferenceEquals(r, mine) && (r.Key == serviceActionKey || (allRegistrants && serviceActionKey == 0)))
            {
                removed.Add(r);
            }
        }

        if (removed.Count == 0 && !takesReservation)
        {
            return Conflict; // no registration has that key
        }

        foreach (Registration r in removed)
        {
            draft.Remove(r);
        }

        if (takesReservation)
        {
            draft.Release();
            draft.Reserve(type, mine);
            if (type != current)
            {
                draft.NotifyUnitAttention([.. draft.Registrations], SenseCode.ReservationsReleased);
            }
        }

        draft.IncrementGeneration();
        draft.NotifyUnitAttention(removed, SenseCode.RegistrationsPreempted);
        if (abort)
        {
            draft.AbortTasks(removed);
        }

        return CommandOutcome.Good;
    }

    private static CommandOutcome ExecuteRegisterAndMove(ScsiCommand command, ReservationState reservations, ReadOnlySpan<byte> list, PersistentReservationType type)
    {
        if (list.Length < MoveListHeaderLength)
        {
            return ListLengthError;
        }

        ulong key = BinaryPrimitives.ReadUInt64BigEndian(list);
        ulong serviceActionKey = BinaryPrimitives.ReadUInt64BigEndian(list[8..]);
        if (list[16] != 0)
        {
            return CommandOutcome.InvalidFieldInParameterList(16, 31 - System.Numerics.BitOperations.LeadingZeroCount(list[16]));
        }

        if ((list[17] & 0xFC) != 0)
        {
            return CommandOutcome.InvalidFieldInParameterList(17, 31 - System.Numerics.BitOperations.LeadingZeroCount((uint)(list[17] & 0xFC)));
        }

        bool unregister = (list[17] & Unreg) != 0;
        bool aptpl = (list[17] & Aptpl) != 0;
        ushort port = BinaryPrimitives.ReadUInt16BigEndian(list[18..]);
        uint length = BinaryPrimitives.ReadUInt32BigEndian(list[20..]);
        if (length > (uint)(list.Length - MoveListHeaderLength))
        {
            return ListLengthError;
        }

        ReadOnlySpan<byte> id = list.Slice(MoveListHeaderLength, (int)length);
        if (!TransportIdentifier.IsValid(id))
        {
            return CommandOutcome.InvalidFieldInParameterList(MoveListHeaderLength);
        }

        if (serviceActionKey == 0)
        {
            return CommandOutcome.InvalidFieldInParameterList(8);
        }

        if (aptpl && !reservations.PersistenceSupported)
        {
            return CommandOutcome.InvalidFieldInParameterList(17, 0);
        }

        ScsiSession session = command.Session;
        if (!TargetPortExists(session.Engine, port))
        {
            return CommandOutcome.InvalidFieldInParameterList(18);
        }

        if (port == session.Target.RelativeTargetPortId && TransportIdentifier.SameInitiatorPort(id, session.TransportId.Span))
        {
            return CommandOutcome.InvalidFieldInParameterList(MoveListHeaderLength); // the move names the issuing nexus itself
        }

        byte[] destinationId = id.ToArray();
        return reservations.Change(session, draft =>
        {
            if (draft.Spc2Holder is not null)
            {
                return Conflict;
            }

            Registration? mine = draft.Find(session);
            if (mine is null || mine.Key != key)
            {
                return Conflict;
            }

            // Only the holder of a reservation that has one holder can move it.
            if (draft.Type == PersistentReservationType.None || draft.Type.IsAllRegistrants() || !draft.IsHolder(mine))
            {
                return Conflict;
            }

            Registration? destination = null;
            foreach (Registration r in draft.Registrations)
            {
                if (r.Covers(destinationId, port))
                {
                    destination = r;
                    break;
                }
            }

            if (destination is null)
            {
                if (draft.Registrations.Count >= ReservationState.MaxRegistrations)
                {
                    return CommandOutcome.CheckCondition(SenseCode.InsufficientRegistrationResources);
                }

                destination = new Registration(destinationId, port, serviceActionKey, allTargetPorts: false);
                draft.Add(destination);
            }
            else if (destination.Key != serviceActionKey)
            {
                Registration rekeyed = destination.WithKey(serviceActionKey);
                draft.Replace(destination, rekeyed);
                destination = rekeyed;
            }

            draft.Reserve(type, destination);
            if (unregister)
            {
                draft.Remove(mine);
            }

            draft.SetAptpl(aptpl);
            draft.IncrementGeneration();
            return CommandOutcome.Good;
        });
    }

    private static bool TargetPortExists(ScstEngine engine, ushort relativeTargetPortId)
    {
        foreach (ScsiTarget t in engine.Targets)
        {
            if (t.RelativeTargetPortId == relativeTargetPortId)
            {
                return true;
            }
        }

        return false;
    }

    private static bool CoveredBy(IReadOnlyList<Registration> registrations, ReadOnlySpan<byte> transportId, ushort port)
    {
        foreach (Registration r in registrations)
        {
            if (r.Covers(transportId, port))
            {
                return true;
            }
        }

        return false;
    }

    // The parameter list offset of the i-th TransportID of a SPEC_I_PT list, for the field pointer.
    private static int OffsetOf(byte[][] specified, int index)
    {
        int offset = SpecifiedPortsHeaderLength;
        for (int i = 0; i < index; i++)
        {
            offset += specified[i].Length;
        }

        return offset;
    }
}
