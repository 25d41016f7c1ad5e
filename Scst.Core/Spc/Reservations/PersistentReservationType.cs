// Licensed under the Apache License, Version 2.0.

namespace Scst.Core.Spc.Reservations;

/// <summary>The TYPE field of PERSISTENT RESERVE OUT and of the reservation descriptors (SPC-4 table 212).</summary>
internal enum PersistentReservationType : byte
{
    /// <summary>No persistent reservation.</summary>
    None = 0x0,

    /// <summary>Write Exclusive: only the holder writes.</summary>
    WriteExclusive = 0x1,

    /// <summary>Exclusive Access: only the holder reads or writes.</summary>
    ExclusiveAccess = 0x3,

    /// <summary>Write Exclusive - Registrants Only.</summary>
    WriteExclusiveRegistrantsOnly = 0x5,

    /// <summary>Exclusive Access - Registrants Only.</summary>
    ExclusiveAccessRegistrantsOnly = 0x6,

    /// <summary>Write Exclusive - All Registrants: every registrant is a holder.</summary>
    WriteExclusiveAllRegistrants = 0x7,

    /// <summary>Exclusive Access - All Registrants: every registrant is a holder.</summary>
    ExclusiveAccessAllRegistrants = 0x8,
}

internal static class PersistentReservationTypes
{
    /// <summary>The LU_SCOPE value of the SCOPE field, the only scope SPC-4 keeps.</summary>
    public const byte LogicalUnitScope = 0x0;

    /// <summary>
    /// The PERSISTENT RESERVATION TYPE MASK of REPORT CAPABILITIES (SPC-4 table 192), bytes 4 and 5: WR_EX_AR, EX_AC_RO,
    /// WR_EX_RO, EX_AC, WR_EX in byte 4 and EX_AC_AR in byte 5 — all six types.
    /// </summary>
    public const ushort SupportedMask = 0xEA01;

    public static bool IsSupported(int type) => type is 0x1 or 0x3 or 0x5 or 0x6 or 0x7 or 0x8;

    /// <summary>All-registrants types: every registered I_T nexus holds the reservation.</summary>
    public static bool IsAllRegistrants(this PersistentReservationType type) =>
        type is PersistentReservationType.WriteExclusiveAllRegistrants or PersistentReservationType.ExclusiveAccessAllRegistrants;

    /// <summary>Registrants-only and all-registrants types: registered I_T nexuses get access.</summary>
    public static bool AdmitsRegistrants(this PersistentReservationType type) => type >= PersistentReservationType.WriteExclusiveRegistrantsOnly;

    /// <summary>The write-exclusive family: other I_T nexuses may still read.</summary>
    public static bool IsWriteExclusive(this PersistentReservationType type) =>
        type is PersistentReservationType.WriteExclusive or PersistentReservationType.WriteExclusiveRegistrantsOnly or
            PersistentReservationType.WriteExclusiveAllRegistrants;
}
