// Licensed under the Apache License, Version 2.0.

namespace Scst.Core.Spc.Reservations;

/// <summary>
/// The reservation state of one logical unit at one moment, immutable: the SPC-2 reservation holder, the persistent
/// reservation registrations, the persistent reservation (type and holder), the generation and APTPL. The command path
/// reads the current snapshot with one volatile read and never locks; changes build a new snapshot under the state's lock.
/// </summary>
internal sealed class ReservationSnapshot
{
    private readonly Registration[] _registrations;

    public ReservationSnapshot(ScsiSession? spc2Holder, Registration[] registrations, PersistentReservationType type, Registration? holder, uint generation, bool aptpl)
    {
        Spc2Holder = spc2Holder;
        _registrations = registrations;
        Type = type;
        Holder = type.IsAllRegistrants() ? null : holder;
        Generation = generation;
        Aptpl = aptpl;
        IsReserved = spc2Holder is not null || type != PersistentReservationType.None;
    }

    /// <summary>No reservation, no registration, generation 0.</summary>
    public static ReservationSnapshot Empty { get; } = new(null, [], PersistentReservationType.None, null, 0, aptpl: false);

    /// <summary>Whether any reservation (SPC-2 or persistent) may make a command conflict. A field: the fast path reads only it.</summary>
    public readonly bool IsReserved;

    /// <summary>The I_T nexus holding an SPC-2 RESERVE, or null.</summary>
    public ScsiSession? Spc2Holder { get; }

    /// <summary>The registrations, in the order they were made.</summary>
    public ReadOnlySpan<Registration> Registrations => _registrations;

    /// <summary>The persistent reservation's type, or <see cref="PersistentReservationType.None"/>.</summary>
    public PersistentReservationType Type { get; }

    /// <summary>The holder of a persistent reservation that is not of an all-registrants type; null otherwise.</summary>
    public Registration? Holder { get; }

    /// <summary>PRGENERATION.</summary>
    public uint Generation { get; }

    /// <summary>Activate Persist Through Power Loss: the last APTPL bit a registration sent.</summary>
    public bool Aptpl { get; }

    /// <summary>The registration covering the I_T nexus of <paramref name="session"/>, or null. Never allocates.</summary>
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

    /// <summary>Whether <paramref name="registration"/> holds the persistent reservation (every registrant does for all-registrants types).</summary>
    public bool IsHolder(Registration? registration) =>
        registration is not null && Type != PersistentReservationType.None && (Type.IsAllRegistrants() || ReferenceEquals(registration, Holder));

    internal Registration[] RegistrationArray => _registrations;
}
