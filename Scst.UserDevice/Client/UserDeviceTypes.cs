// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.UserDevice.Client;

/// <summary>The outcome of a device primitive: GOOD, or a SCSI status with sense key, ASC and ASCQ.</summary>
/// <param name="Status">The SCSI status: 0 GOOD, 2 CHECK CONDITION, 8 BUSY...</param>
/// <param name="Key">The sense key of a CHECK CONDITION.</param>
/// <param name="Asc">The additional sense code.</param>
/// <param name="Ascq">The additional sense code qualifier.</param>
public readonly record struct UserDeviceStatus(ScsiStatus Status, SenseKey Key, byte Asc, byte Ascq)
{
    /// <summary>GOOD.</summary>
    public static UserDeviceStatus Good => default;

    /// <summary>BUSY: the initiator retries.</summary>
    public static UserDeviceStatus Busy => new(ScsiStatus.Busy, SenseKey.NoSense, 0, 0);

    /// <summary>MEDIUM ERROR, UNRECOVERED READ ERROR (03/11/00).</summary>
    public static UserDeviceStatus ReadError => CheckCondition(SenseKey.MediumError, 0x11, 0x00);

    /// <summary>MEDIUM ERROR, WRITE ERROR (03/0C/00).</summary>
    public static UserDeviceStatus WriteError => CheckCondition(SenseKey.MediumError, 0x0C, 0x00);

    /// <summary>Whether the status is GOOD.</summary>
    public bool IsGood => Status == ScsiStatus.Good;

    /// <summary>CHECK CONDITION with the given sense.</summary>
    /// <param name="key">Sense key.</param>
    /// <param name="asc">Additional sense code.</param>
    /// <param name="ascq">Additional sense code qualifier.</param>
    /// <returns>The status.</returns>
    public static UserDeviceStatus CheckCondition(SenseKey key, byte asc, byte ascq) => new(ScsiStatus.CheckCondition, key, asc, ascq);
}

/// <summary>
/// The provisioning state of a run of bytes (GET_PROVISIONING): its length from the asked offset and whether it is
/// mapped, or the error status the query ended with.
/// </summary>
/// <param name="Length">Bytes from the asked offset that share its state: a multiple of the block size, at least one
/// block and at most the asked maximum.</param>
/// <param name="Mapped">Whether the run is mapped (false: deallocated, reads as zeros).</param>
public readonly record struct UserProvisioningExtent(long Length, bool Mapped)
{
    /// <summary>GOOD, or the error the query ended with (then the extent is ignored).</summary>
    public UserDeviceStatus Status { get; init; }

    /// <summary>A failed query.</summary>
    /// <param name="status">The error status.</param>
    /// <returns>The extent carrying it.</returns>
    public static UserProvisioningExtent Failed(UserDeviceStatus status) => new(0, true) { Status = status };
}

/// <summary>A command the target passes to the device (PARSE, EXECUTE_CDB).</summary>
/// <param name="Cdb">The CDB (at most 16 bytes).</param>
/// <param name="SessionHandle">The I_T nexus and LUN it came through (see <see cref="UserSessionInfo.Handle"/>), or 0.</param>
/// <param name="Attribute">Its task attribute.</param>
/// <param name="Handle">The request's handle (an EXEC handle names the command in ABORT TASK and ON_FREE_CMD).</param>
public readonly record struct UserCommand(ReadOnlyMemory<byte> Cdb, ulong SessionHandle, TaskAttribute Attribute, ulong Handle);

/// <summary>A command to decode (PARSE): the target's proposal and what the initiator announced.</summary>
/// <param name="Command">The command.</param>
/// <param name="Known">Whether the target knows the command; without it, the target would refuse it.</param>
/// <param name="Direction">The target's decoding: the direction of the data.</param>
/// <param name="DataLength">The target's decoding: the bytes transferred.</param>
/// <param name="WritesMedium">The target's decoding: whether the command writes the medium.</param>
/// <param name="ExpectedDirection">The direction the initiator announced.</param>
/// <param name="ExpectedTransferLength">The bytes the initiator announced. Write data the initiator sends is received
/// while the device decodes, so a write must not take more than this.</param>
public readonly record struct UserParseRequest(
    UserCommand Command, bool Known, DataDirection Direction, int DataLength, bool WritesMedium, DataDirection ExpectedDirection, int ExpectedTransferLength);

/// <summary>The device's decoding of a command (PARSE_REPLY).</summary>
/// <param name="Direction">The direction of its data; <see cref="DataDirection.None"/> exactly when <paramref name="DataLength"/> is 0.</param>
/// <param name="DataLength">The bytes it transfers (for a read, the allocation: the response may be shorter).</param>
/// <param name="WritesMedium">Whether it writes the medium (refused through a write-protected LUN).</param>
public readonly record struct UserParseResult(DataDirection Direction, int DataLength, bool WritesMedium)
{
    /// <summary>GOOD for an accepted command; otherwise the status that ends it.</summary>
    public UserDeviceStatus Status { get; init; }

    /// <summary>Accepts a command.</summary>
    /// <param name="direction">The direction of its data.</param>
    /// <param name="dataLength">The bytes it transfers; 0 for none.</param>
    /// <param name="writesMedium">Whether it writes the medium.</param>
    /// <returns>The decoding.</returns>
    public static UserParseResult Accept(DataDirection direction, int dataLength, bool writesMedium = false) =>
        new(dataLength == 0 ? DataDirection.None : direction, direction == DataDirection.None ? 0 : dataLength, writesMedium);

    /// <summary>Refuses a command: it ends with <paramref name="status"/> and is not executed.</summary>
    /// <param name="status">The status (not GOOD).</param>
    /// <returns>The decoding.</returns>
    public static UserParseResult Refuse(UserDeviceStatus status) => new(DataDirection.None, 0, false) { Status = status };
}

/// <summary>The outcome of a command executed from its CDB (EXECUTE_CDB).</summary>
/// <param name="Status">GOOD or an error status.</param>
/// <param name="ResponseLength">For a read, the bytes of the response in the buffer (at most its length).</param>
public readonly record struct UserCdbResult(UserDeviceStatus Status, int ResponseLength);

/// <summary>What a device process registers: the device and its options (SCST's scst_user_dev_desc and scst_user_opt).</summary>
public sealed record UserDeviceDescriptor
{
    /// <summary>
    /// The SCSI peripheral device type. Defaults to <see cref="PeripheralDeviceType.DirectAccess"/> (a disk, a
    /// <see cref="UserBlockDeviceBase"/>); any other type needs a <see cref="ParseType"/> other than STANDARD.
    /// </summary>
    public PeripheralDeviceType DeviceType { get; init; } = PeripheralDeviceType.DirectAccess;

    /// <summary>
    /// Which commands the device decodes itself (SCST's parse_type): STANDARD (the default) none, EXCEPTION those the
    /// target does not support for the device type, CALL every command the target does not own.
    /// </summary>
    public DeviceParseType ParseType { get; init; }

    /// <summary>The device name: 1 to 64 bytes, no '/' and no '.'; unique in the target.</summary>
    public required string Name { get; init; }

    /// <summary>The logical block size: a power of two from 512. Defaults to 512.</summary>
    public int BlockSize { get; init; } = 512;

    /// <summary>The number of logical blocks of a disk; 0 for a device type without blocks.</summary>
    public required long BlockCount { get; init; }

    /// <summary>The shared region to ask for, in bytes; 0 (the default) for the target's default (64 MiB unless configured).</summary>
    public long RegionSize { get; init; }

    /// <summary>The whole device is write-protected.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>Every write is made stable before it is acknowledged: the write cache starts disabled (WCE=0).</summary>
    public bool WriteThrough { get; init; }

    /// <summary>The storage survives power loss: SYNCHRONIZE CACHE does nothing and WCE cannot be changed.</summary>
    public bool NvCache { get; init; }

    /// <summary>Removable medium (INQUIRY RMB).</summary>
    public bool Removable { get; init; }

    /// <summary>Rotational medium (VPD B1h).</summary>
    public bool Rotational { get; init; }

    /// <summary>Thin provisioned: UNMAP is supported and reaches <see cref="UserBlockDeviceBase.UnmapAsync"/>.</summary>
    public bool ThinProvisioned { get; init; }

    /// <summary>Send ON_FREE_CMD when a command whose EXEC carried a buffer is released (SCST's on_free_cmd CALL).</summary>
    public bool OnFreeCommandCall { get; init; }

    /// <summary>
    /// Offer the device the EXTENDED COPY segments within itself (SCST's ext_copy_remap):
    /// <see cref="UserBlockDeviceBase.CopyWithinAsync"/> is called for each, and may decline.
    /// </summary>
    public bool ExtCopyRemap { get; init; }

    /// <summary>Control page TST: 0 one task set for every nexus, 1 (default) one per nexus.</summary>
    public int Tst { get; init; } = 1;

    /// <summary>Control page QUEUE ALGORITHM MODIFIER: 0 restricted, 1 (default) unrestricted reordering.</summary>
    public int QueueAlgorithm { get; init; } = 1;

    /// <summary>Control page QERR: 0 (default), 1 or 3.</summary>
    public int Qerr { get; init; }

    /// <summary>Control page TAS.</summary>
    public bool Tas { get; init; }

    /// <summary>Control page SWP (software write protect).</summary>
    public bool Swp { get; init; }

    /// <summary>Control page D_SENSE (descriptor format sense data).</summary>
    public bool DescriptorSense { get; init; }

    /// <summary>INQUIRY vendor (8 ASCII characters at most); null for "SCST_USR".</summary>
    public string? Vendor { get; init; }

    /// <summary>INQUIRY product (16 at most); null for the device name.</summary>
    public string? Product { get; init; }

    /// <summary>INQUIRY revision (4 at most); null for the target's default.</summary>
    public string? Revision { get; init; }

    /// <summary>Unit serial number (VPD 80h); null to derive it from the name.</summary>
    public string? Serial { get; init; }
}

/// <summary>An I_T nexus that reaches the device through a LUN (ATTACH_SESS).</summary>
/// <param name="Handle">The session handle EXECs of this nexus and LUN carry.</param>
/// <param name="Lun">The LUN.</param>
/// <param name="ReadOnly">Whether writes through this LUN are refused.</param>
/// <param name="InitiatorName">The initiator port name.</param>
/// <param name="TargetName">The target name.</param>
public sealed record UserSessionInfo(ulong Handle, int Lun, bool ReadOnly, string InitiatorName, string TargetName);

/// <summary>A task management function touching the device (TASK_MGMT_RECEIVED, TASK_MGMT_DONE).</summary>
/// <param name="Function">The function.</param>
/// <param name="SessionHandle">The handle of the nexus that sent it, or 0.</param>
/// <param name="CommandHandle">For ABORT TASK, the EXEC handle of the command to abort, or 0.</param>
/// <param name="Lun">The LUN, or -1.</param>
public readonly record struct UserTaskManagement(TaskManagementFunction Function, ulong SessionHandle, ulong CommandHandle, int Lun);

/// <summary>The target refused a registration.</summary>
public sealed class UserDeviceRegistrationException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errno">The negative errno the target answered.</param>
    /// <param name="reason">The target's reason.</param>
    public UserDeviceRegistrationException(int errno, string reason)
        : base($"The target refused the registration ({errno}): {reason}")
    {
        Errno = errno;
        Reason = reason;
    }

    /// <summary>Creates the exception.</summary>
    public UserDeviceRegistrationException()
    {
        Reason = string.Empty;
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public UserDeviceRegistrationException(string message)
        : base(message)
    {
        Reason = message;
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public UserDeviceRegistrationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Reason = message;
    }

    /// <summary>The negative errno: -17 (EEXIST) when the name is taken, -22 (EINVAL) for a bad field.</summary>
    public int Errno { get; }

    /// <summary>The target's reason.</summary>
    public string Reason { get; }

    /// <summary>Whether the name is taken (-EEXIST): the device may retry after the other device is gone.</summary>
    public bool NameTaken => Errno == -17;
}
