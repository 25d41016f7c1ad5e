// Licensed under the Apache License, Version 2.0.

namespace Scst.Core;

/// <summary>
/// A sense key with its additional sense code and qualifier: the part of sense data that says what went wrong.
/// </summary>
/// <param name="Key">The sense key.</param>
/// <param name="Asc">The additional sense code.</param>
/// <param name="Ascq">The additional sense code qualifier.</param>
public readonly record struct SenseCode(SenseKey Key, byte Asc, byte Ascq)
{
    /// <summary>NO SENSE, no additional information (00/00).</summary>
    public static SenseCode NoAdditionalInformation => new(SenseKey.NoSense, 0x00, 0x00);

    /// <summary>ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE (20/00).</summary>
    public static SenseCode InvalidOpcode => new(SenseKey.IllegalRequest, 0x20, 0x00);

    /// <summary>ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE (21/00).</summary>
    public static SenseCode LbaOutOfRange => new(SenseKey.IllegalRequest, 0x21, 0x00);

    /// <summary>ILLEGAL REQUEST, INVALID FIELD IN CDB (24/00).</summary>
    public static SenseCode InvalidFieldInCdb => new(SenseKey.IllegalRequest, 0x24, 0x00);

    /// <summary>ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED (25/00).</summary>
    public static SenseCode LunNotSupported => new(SenseKey.IllegalRequest, 0x25, 0x00);

    /// <summary>ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST (26/00).</summary>
    public static SenseCode InvalidFieldInParameterList => new(SenseKey.IllegalRequest, 0x26, 0x00);

    /// <summary>ILLEGAL REQUEST, PARAMETER LIST LENGTH ERROR (1A/00).</summary>
    public static SenseCode ParameterListLengthError => new(SenseKey.IllegalRequest, 0x1A, 0x00);

    /// <summary>ILLEGAL REQUEST, SAVING PARAMETERS NOT SUPPORTED (39/00).</summary>
    public static SenseCode SavingParametersNotSupported => new(SenseKey.IllegalRequest, 0x39, 0x00);

    /// <summary>ILLEGAL REQUEST, INVALID FIELD IN COMMAND INFORMATION UNIT (0E/03): the expected transfer length is shorter than the CDB's.</summary>
    public static SenseCode InvalidFieldInInformationUnit => new(SenseKey.IllegalRequest, 0x0E, 0x03);

    /// <summary>DATA PROTECT, WRITE PROTECTED (27/00).</summary>
    public static SenseCode WriteProtected => new(SenseKey.DataProtect, 0x27, 0x00);

    /// <summary>MEDIUM ERROR, UNRECOVERED READ ERROR (11/00).</summary>
    public static SenseCode UnrecoveredReadError => new(SenseKey.MediumError, 0x11, 0x00);

    /// <summary>MEDIUM ERROR, WRITE ERROR (0C/00).</summary>
    public static SenseCode WriteError => new(SenseKey.MediumError, 0x0C, 0x00);

    /// <summary>HARDWARE ERROR, INTERNAL TARGET FAILURE (44/00).</summary>
    public static SenseCode InternalTargetFailure => new(SenseKey.HardwareError, 0x44, 0x00);

    /// <summary>HARDWARE ERROR, SET TARGET PORT GROUPS COMMAND FAILED: the requested access states were not all reached.</summary>
    public static SenseCode SetTargetPortGroupsFailed => new(SenseKey.HardwareError, 0x67, 0x0A);

    /// <summary>ABORTED COMMAND, no additional information (00/00).</summary>
    public static SenseCode CommandAborted => new(SenseKey.AbortedCommand, 0x00, 0x00);

    /// <summary>ABORTED COMMAND, DATA PHASE ERROR (4B/00): the write data could not be received.</summary>
    public static SenseCode DataPhaseError => new(SenseKey.AbortedCommand, 0x4B, 0x00);

    /// <summary>
    /// ABORTED COMMAND, PROTOCOL SERVICE CRC ERROR (47/05): the transport's CRC (an iSCSI data digest) failed on the
    /// command's data, which was discarded.
    /// </summary>
    public static SenseCode ProtocolServiceCrcError => new(SenseKey.AbortedCommand, 0x47, 0x05);

    /// <summary>NOT READY, MEDIUM NOT PRESENT (3A/00).</summary>
    public static SenseCode MediumNotPresent => new(SenseKey.NotReady, 0x3A, 0x00);

    /// <summary>
    /// NOT READY, LOGICAL UNIT NOT READY, SANITIZE IN PROGRESS (04/1B): a sanitize operation runs; the sense-key-specific
    /// bytes carry its progress.
    /// </summary>
    public static SenseCode SanitizeInProgress => new(SenseKey.NotReady, 0x04, 0x1B);

    /// <summary>NOT READY, LOGICAL UNIT NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE TRANSITION (04/0A).</summary>
    public static SenseCode AsymmetricAccessStateTransition => new(SenseKey.NotReady, 0x04, 0x0A);

    /// <summary>NOT READY, LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE (04/0B).</summary>
    public static SenseCode TargetPortInStandbyState => new(SenseKey.NotReady, 0x04, 0x0B);

    /// <summary>NOT READY, LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE (04/0C).</summary>
    public static SenseCode TargetPortInUnavailableState => new(SenseKey.NotReady, 0x04, 0x0C);

    /// <summary>NOT READY, LOGICAL UNIT NOT READY, OFFLINE (04/12): the target port group is in the offline state.</summary>
    public static SenseCode LogicalUnitOffline => new(SenseKey.NotReady, 0x04, 0x12);

    /// <summary>MEDIUM ERROR, SANITIZE COMMAND FAILED (31/03): the last sanitize operation failed (sanitize failure mode).</summary>
    public static SenseCode SanitizeCommandFailed => new(SenseKey.MediumError, 0x31, 0x03);

    /// <summary>
    /// UNIT ATTENTION, NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED (28/00): a medium was loaded into a removable
    /// unit.
    /// </summary>
    public static SenseCode MediumMayHaveChanged => new(SenseKey.UnitAttention, 0x28, 0x00);

    /// <summary>UNIT ATTENTION, POWER ON, RESET, OR BUS DEVICE RESET OCCURRED (29/00).</summary>
    public static SenseCode PowerOnReset => new(SenseKey.UnitAttention, 0x29, 0x00);

    /// <summary>ILLEGAL REQUEST, INVALID MESSAGE ERROR (49/00): an ACA command arrived with no ACA condition.</summary>
    public static SenseCode InvalidMessageError => new(SenseKey.IllegalRequest, 0x49, 0x00);

    /// <summary>UNIT ATTENTION, BUS DEVICE RESET FUNCTION OCCURRED (29/03): a LOGICAL UNIT RESET reset the LU.</summary>
    public static SenseCode BusDeviceResetOccurred => new(SenseKey.UnitAttention, 0x29, 0x03);

    /// <summary>UNIT ATTENTION, I_T NEXUS LOSS OCCURRED (29/07).</summary>
    public static SenseCode NexusLossOccurred => new(SenseKey.UnitAttention, 0x29, 0x07);

    /// <summary>UNIT ATTENTION, COMMANDS CLEARED BY ANOTHER INITIATOR (2F/00): another nexus cleared this nexus's commands (TAS=0).</summary>
    public static SenseCode CommandsClearedByAnotherInitiator => new(SenseKey.UnitAttention, 0x2F, 0x00);

    /// <summary>UNIT ATTENTION, MODE PARAMETERS CHANGED (2A/01): another I_T nexus changed shared mode pages.</summary>
    public static SenseCode ModeParametersChanged => new(SenseKey.UnitAttention, 0x2A, 0x01);

    /// <summary>UNIT ATTENTION, ASYMMETRIC ACCESS STATE CHANGED (2A/06): a target port group of the LU changed its ALUA state.</summary>
    public static SenseCode AsymmetricAccessStateChanged => new(SenseKey.UnitAttention, 0x2A, 0x06);

    /// <summary>
    /// UNIT ATTENTION, THIN PROVISIONING SOFT THRESHOLD REACHED (38/07): the storage behind a thin-provisioned unit is
    /// running out (SBC-3 section 4.7.3.7).
    /// </summary>
    public static SenseCode ThinProvisioningSoftThresholdReached => new(SenseKey.UnitAttention, 0x38, 0x07);

    /// <summary>UNIT ATTENTION, CAPACITY DATA HAS CHANGED (2A/09).</summary>
    public static SenseCode CapacityDataChanged => new(SenseKey.UnitAttention, 0x2A, 0x09);

    /// <summary>UNIT ATTENTION, INQUIRY DATA HAS CHANGED (3F/03).</summary>
    public static SenseCode InquiryDataChanged => new(SenseKey.UnitAttention, 0x3F, 0x03);

    /// <summary>UNIT ATTENTION, RESERVATIONS PREEMPTED (2A/03): another I_T nexus cleared the persistent reservations.</summary>
    public static SenseCode ReservationsPreempted => new(SenseKey.UnitAttention, 0x2A, 0x03);

    /// <summary>UNIT ATTENTION, RESERVATIONS RELEASED (2A/04): a registrants-only or all-registrants reservation was released.</summary>
    public static SenseCode ReservationsReleased => new(SenseKey.UnitAttention, 0x2A, 0x04);

    /// <summary>UNIT ATTENTION, REGISTRATIONS PREEMPTED (2A/05): another I_T nexus removed this nexus's registration.</summary>
    public static SenseCode RegistrationsPreempted => new(SenseKey.UnitAttention, 0x2A, 0x05);

    /// <summary>ILLEGAL REQUEST, INVALID RELEASE OF PERSISTENT RESERVATION (26/04): RELEASE named another scope or type.</summary>
    public static SenseCode InvalidReleaseOfPersistentReservation => new(SenseKey.IllegalRequest, 0x26, 0x04);

    /// <summary>ILLEGAL REQUEST, INSUFFICIENT REGISTRATION RESOURCES (55/04): no room for another registration.</summary>
    public static SenseCode InsufficientRegistrationResources => new(SenseKey.IllegalRequest, 0x55, 0x04);

    /// <summary>UNIT ATTENTION, REPORTED LUNS DATA HAS CHANGED (3F/0E).</summary>
    public static SenseCode ReportedLunsDataChanged => new(SenseKey.UnitAttention, 0x3F, 0x0E);

    /// <summary>MISCOMPARE, MISCOMPARE DURING VERIFY OPERATION (1D/00); the information field holds the offset of the first differing byte.</summary>
    public static SenseCode MiscompareDuringVerify => new(SenseKey.Miscompare, 0x1D, 0x00);

    /// <summary>ILLEGAL REQUEST, MEDIUM REMOVAL PREVENTED (53/02).</summary>
    public static SenseCode MediumRemovalPrevented => new(SenseKey.IllegalRequest, 0x53, 0x02);

    /// <summary>ILLEGAL REQUEST, OPERATION IN PROGRESS (00/16): an EXTENDED COPY names a list identifier still in use.</summary>
    public static SenseCode OperationInProgress => new(SenseKey.IllegalRequest, 0x00, 0x16);

    /// <summary>ILLEGAL REQUEST, TOO MANY TARGET DESCRIPTORS (26/06): more CSCD descriptors than the copy manager takes.</summary>
    public static SenseCode TooManyTargetDescriptors => new(SenseKey.IllegalRequest, 0x26, 0x06);

    /// <summary>ILLEGAL REQUEST, UNSUPPORTED TARGET DESCRIPTOR TYPE CODE (26/07).</summary>
    public static SenseCode UnsupportedTargetDescriptorTypeCode => new(SenseKey.IllegalRequest, 0x26, 0x07);

    /// <summary>ILLEGAL REQUEST, TOO MANY SEGMENT DESCRIPTORS (26/08).</summary>
    public static SenseCode TooManySegmentDescriptors => new(SenseKey.IllegalRequest, 0x26, 0x08);

    /// <summary>ILLEGAL REQUEST, UNSUPPORTED SEGMENT DESCRIPTOR TYPE CODE (26/09).</summary>
    public static SenseCode UnsupportedSegmentDescriptorTypeCode => new(SenseKey.IllegalRequest, 0x26, 0x09);

    /// <summary>ILLEGAL REQUEST, INLINE DATA LENGTH EXCEEDED (26/0B): the copy manager takes no inline data.</summary>
    public static SenseCode InlineDataLengthExceeded => new(SenseKey.IllegalRequest, 0x26, 0x0B);

    /// <summary>COPY ABORTED, no additional sense information (00/00): a copy failed in a segment.</summary>
    public static SenseCode CopyAborted => new(SenseKey.CopyAborted, 0x00, 0x00);

    /// <summary>COPY ABORTED, COPY TARGET DEVICE NOT REACHABLE (0D/02): a segment names a CSCD the copy manager cannot use.</summary>
    public static SenseCode CopyTargetDeviceNotReachable => new(SenseKey.CopyAborted, 0x0D, 0x02);

    /// <inheritdoc />
    public override string ToString() => $"{Key} {Asc:X2}/{Ascq:X2}";
}
