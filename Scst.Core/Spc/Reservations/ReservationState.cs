// Licensed under the Apache License, Version 2.0.

using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Scst.Core.Spc.Reservations;

/// <summary>
/// The reservations of one logical unit: the SPC-2 RESERVE holder and the SPC-4 persistent reservation state, shared by
/// every I_T nexus that reaches the device.
/// </summary>
/// <remarks>
/// Reads go through <see cref="Current"/>, an immutable snapshot read with one volatile read; the command path
/// (<see cref="Conflicts"/>) stops there when nothing is reserved. Every change runs under one lock on a
/// <see cref="ReservationDraft"/>: when it succeeds, the new state is written to the state directory first (APTPL),
/// then published, and the unit attentions and aborts it causes are delivered to the other I_T nexuses.
/// </remarks>
internal sealed class ReservationState
{
    /// <summary>The most registrations one logical unit keeps; one more is INSUFFICIENT REGISTRATION RESOURCES.</summary>
    public const int MaxRegistrations = 256;

    private readonly Lock _lock = new();
    private readonly ScsiDevice _device;
    private ReservationSnapshot _current = ReservationSnapshot.Empty;
    private string? _path;
    private ILogger _logger = NullLogger.Instance;

    public ReservationState(ScsiDevice device) => _device = device;

    /// <summary>The state now.</summary>
    public ReservationSnapshot Current => Volatile.Read(ref _current);

    /// <summary>Whether APTPL can be honoured: the core has a state directory (REPORT CAPABILITIES PTPL_C).</summary>
    public bool PersistenceSupported => Volatile.Read(ref _path) is not null;

    /// <summary>The file APTPL state is written to, or null.</summary>
    internal string? SavePath => Volatile.Read(ref _path);

    /// <summary>
    /// Whether a command conflicts with a reservation held by another I_T nexus (RESERVATION CONFLICT). When nothing is
    /// reserved this is one volatile read and one field read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Conflicts(ScsiCommand command)
    {
        ReservationSnapshot state = Volatile.Read(ref _current);
        return state.IsReserved && ReservationAccessTable.Conflicts(state, command);
    }

    /// <summary>
    /// Applies a change made by a command of <paramref name="issuer"/>: <paramref name="change"/> edits a draft of the
    /// current state and returns the command's outcome. Nothing changes unless the outcome is GOOD; with APTPL the new
    /// state is on disk before it is published (a failed write fails the command and changes nothing). The commands a
    /// change aborts (PREEMPT AND ABORT) are marked before this returns; <paramref name="aborted"/>, when given,
    /// receives one task per aborted command that completes when the command is gone.
    /// </summary>
    public CommandOutcome Change(ScsiSession issuer, Func<ReservationDraft, CommandOutcome> change, List<Task>? aborted = null)
    {
        ReservationDraft draft;
        lock (_lock)
        {
            ReservationSnapshot current = _current;
            draft = new ReservationDraft(current);
            CommandOutcome outcome = change(draft);
            if (!outcome.IsGood)
            {
                return outcome;
            }

            ReservationSnapshot next = draft.Build();
            if (draft.PersistentStateChanged && !Persist(current, next))
            {
                return CommandOutcome.CheckCondition(SenseCode.InternalTargetFailure);
            }

            Volatile.Write(ref _current, next);
        }

        Deliver(issuer, draft.Notices, aborted);
        return CommandOutcome.Good;
    }

    /// <summary>I_T nexus loss: an SPC-2 reservation held by <paramref name="session"/> ends. Registrations stay.</summary>
    public void ReleaseSpc2(ScsiSession session)
    {
        lock (_lock)
        {
            ReservationSnapshot current = _current;
            if (current.Spc2Holder == session)
            {
                Volatile.Write(ref _current, WithoutSpc2(current));
            }
        }
    }

    /// <summary>LOGICAL UNIT RESET and TARGET RESET: the SPC-2 reservation ends, whoever held it. Persistent reservations stay.</summary>
    public void ResetSpc2()
    {
        lock (_lock)
        {
            ReservationSnapshot current = _current;
            if (current.Spc2Holder is not null)
            {
                Volatile.Write(ref _current, WithoutSpc2(current));
            }
        }
    }

    /// <summary>
    /// Called when the device is registered: enables APTPL files in <paramref name="stateDirectory"/> and restores the
    /// state an earlier run saved there. A damaged file is refused with an error in the log and the state stays empty.
    /// </summary>
    public void Load(string? stateDirectory, ILogger? logger)
    {
        _logger = logger ?? NullLogger.Instance;
        if (stateDirectory is null)
        {
            return;
        }

        string path = Path.Combine(stateDirectory, _device.Name + ReservationStore.FileExtension);
        Volatile.Write(ref _path, path);
        ReservationSnapshot? saved = ReservationStore.TryLoad(path, out string? error);
        if (error is not null)
        {
            ReservationLog.StateFileRefused(_logger, _device.Name, path, error);
            return;
        }

        if (saved is not null)
        {
            lock (_lock)
            {
                Volatile.Write(ref _current, saved);
            }

            ReservationLog.StateRestored(_logger, _device.Name, saved.Registrations.Length, saved.Type != PersistentReservationType.None);
        }
    }

    private static ReservationSnapshot WithoutSpc2(ReservationSnapshot s) =>
        new(null, s.RegistrationArray, s.Type, s.Holder, s.Generation, s.Aptpl);

    // With APTPL the new state replaces the file; without it, a file left by an earlier APTPL setting is removed, so
    // that a restart cannot bring back state that no longer persists.
    private bool Persist(ReservationSnapshot previous, ReservationSnapshot next)
    {
        string? path = SavePath;
        if (path is null)
        {
            return !next.Aptpl;
        }

        try
        {
            if (next.Aptpl)
            {
                ReservationStore.Save(path, next);
            }
            else if (previous.Aptpl || File.Exists(path))
            {
                ReservationStore.Delete(path);
            }

            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ReservationLog.StateFileWriteFailed(_logger, _device.Name, path, ex);
            return false;
        }
    }

    // Unit attentions and PREEMPT AND ABORT reach every session of the named I_T nexuses that maps this device, except
    // the issuing session, on every LUN through which it sees the device.
    private void Deliver(ScsiSession issuer, IReadOnlyList<ReservationDraft.Notice> notices, List<Task>? aborted)
    {
        if (notices.Count == 0)
        {
            return;
        }

        foreach (ScsiTarget target in issuer.Engine.Targets)
        {
            foreach (ScsiSession session in target.Sessions)
            {
                if (session == issuer)
                {
                    continue;
                }

                foreach (ReservationDraft.Notice notice in notices)
                {
                    if (!CoversAny(notice.Registrations, session))
                    {
                        continue;
                    }

                    foreach (LunMapping mapping in session.Luns.Luns)
                    {
                        if (mapping.Device != _device)
                        {
                            continue;
                        }

                        if (notice.Abort)
                        {
                            List<Task> gone = session.AbortLunTasksForAnotherNexus(mapping);
                            aborted?.AddRange(gone);
                        }
                        else
                        {
                            session.EstablishUnitAttention(mapping.Lun, notice.Sense);
                        }
                    }
                }
            }
        }
    }

    private static bool CoversAny(IReadOnlyList<Registration> registrations, ScsiSession session)
    {
        foreach (Registration r in registrations)
        {
            if (r.Covers(session))
            {
                return true;
            }
        }

        return false;
    }
}
