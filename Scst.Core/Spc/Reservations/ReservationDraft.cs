// Licensed under the Apache License, Version 2.0.

namespace Scst.Core.Spc.Reservations;

/// <summary>
/// A mutable copy of a <see cref="ReservationSnapshot"/> that one change works on under the state's lock, with the unit
/// attentions and aborts the change causes. Nothing is visible until the change succeeds and the state publishes the
/// new snapshot; a change that fails leaves the state as it was.
/// </summary>
internal sealed class ReservationDraft
{
    private readonly List<Registration> _registrations;
    private readonly List<Notice> _notices = [];

    public ReservationDraft(ReservationSnapshot from)
    {
        Spc2Holder = from.Spc2Holder;
        _registrations = [.. from.RegistrationArray];
        Type = from.Type;
        Holder = from.Holder;
        Generation = from.Generation;
        Aptpl = from.Aptpl;
    }

    public ScsiSession? Spc2Holder { get; set; }

    public IReadOnlyList<Registration> Registrations => _registrations;

    public PersistentReservationType Type { get; private set; }

    public Registration? Holder { get; private set; }

    public uint Generation { get; private set; }

    public bool Aptpl { get; set; }

    /// <summary>Whether the persistent part (registrations, reservation, generation, APTPL) changed: it is saved when APTPL is set.</summary>
    public bool PersistentStateChanged { get; private set; }

    public IReadOnlyList<Notice> Notices => _notices;

    public Registration? Find(ScsiSession session)
    {
        foreach (Registration r in _registrations)
        {
            if (r.Covers(session))
            {
                return r;
            }
        }

        return null;
    }

    public bool IsHolder(Registration? registration) =>
        registration is not null && Type != PersistentReservationType.None && (Type.IsAllRegistrants() || ReferenceEquals(registration, Holder));

    public void Add(Registration registration)
    {
        _registrations.Add(registration);
        PersistentStateChanged = true;
    }

    /// <summary>Gives a registration a new key; the reservation it holds stays with it.</summary>
    public void Replace(Registration old, Registration replacement)
    {
        _registrations[_registrations.IndexOf(old)] = replacement;
        if (ReferenceEquals(Holder, old))
        {
            Holder = replacement;
        }

        PersistentStateChanged = true;
    }

    /// <summary>
    /// Removes a registration. A reservation it held alone is released; an all-registrants reservation ends with its
    /// last registrant.
    /// </summary>
    public void Remove(Registration registration)
    {
        _registrations.Remove(registration);
        if (ReferenceEquals(Holder, registration) || (Type.IsAllRegistrants() && _registrations.Count == 0))
        {
            Release();
        }

        PersistentStateChanged = true;
    }

    public void Reserve(PersistentReservationType type, Registration holder)
    {
        Type = type;
        Holder = type.IsAllRegistrants() ? null : holder;
        PersistentStateChanged = true;
    }

    public void Release()
    {
        Type = PersistentReservationType.None;
        Holder = null;
        PersistentStateChanged = true;
    }

    public void ClearAll()
    {
        _registrations.Clear();
        Release();
    }

    public void IncrementGeneration()
    {
        Generation++;
        PersistentStateChanged = true;
    }

    public void SetAptpl(bool aptpl)
    {
        if (Aptpl != aptpl)
        {
            Aptpl = aptpl;
            PersistentStateChanged = true;
        }
    }

    /// <summary>Establishes <paramref name="sense"/> for the I_T nexuses of <paramref name="registrations"/>, except the issuing one.</summary>
    public void NotifyUnitAttention(IReadOnlyList<Registration> registrations, SenseCode sense)
    {
        if (registrations.Count > 0)
        {
            _notices.Add(new Notice(registrations, sense, Abort: false));
        }
    }

    /// <summary>Aborts the tasks of the I_T nexuses of <paramref name="registrations"/> to this logical unit (PREEMPT AND ABORT).</summary>
    public void AbortTasks(IReadOnlyList<Registration> registrations)
    {
        if (registrations.Count > 0)
        {
            _notices.Add(new Notice(registrations, default, Abort: true));
        }
    }

    public ReservationSnapshot Build() => new(Spc2Holder, [.. _registrations], Type, Holder, Generation, Aptpl);

    /// <summary>Something the other I_T nexuses must learn once the change is published.</summary>
    internal readonly record struct Notice(IReadOnlyList<Registration> Registrations, SenseCode Sense, bool Abort);
}
