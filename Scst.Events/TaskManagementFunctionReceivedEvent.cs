// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Events;

/// <summary>
/// The payload of <see cref="ScstEventCode.TaskManagementFunctionReceived"/>: a task management function was received
/// and initially processed.
/// </summary>
/// <remarks>
/// <para>
/// Layout (SCST's x86_64 ABI, little-endian, 1064 bytes). The C struct starts with a <c>u32</c> followed by a
/// <c>u64</c>, so the compiler inserts 4 bytes of padding to align <c>lun</c> to 8; the four name arrays then run
/// contiguously, and the final <c>u64</c> lands on 1040, already 8-aligned, so there is no padding before it and
/// none at the end (1064 is a multiple of 8):
/// </para>
/// <code>
/// offset size  field
///      0    4  u32  fn                        task management function code (SCST's numbering, 0 = ABORT TASK)
///      4    4  (padding, written as zero)
///      8    8  u64  lun
///     16  256  char device_name[256]          empty when the LUN did not resolve to a device
///    272  256  char initiator_name[256]
///    528  256  char target_name[256]
///    784  256  char session_sysfs_name[256]
///   1040    8  u64  cmd_to_abort_tag          ABORT TASK only, else 0
///   1048   16  u8   cdb[16]                   CDB of the command to abort (ABORT TASK only), else zeros
///   1064       (end)
/// </code>
/// <para>Every name is NUL-terminated and holds at most 255 bytes of text.</para>
/// </remarks>
/// <param name="Function">The function code in SCST's numbering: 0 ABORT TASK, 1 ABORT TASK SET, 2 CLEAR ACA,
/// 3 CLEAR TASK SET, 4 LUN RESET, 5 TARGET RESET, 6 NEXUS LOSS (session), 7 ABORT ALL TASKS (session), 8 NEXUS LOSS,
/// 9 ABORT ALL TASKS, 10 and 11 internal; 12 QUERY TASK, 13 QUERY TASK SET, 14 QUERY ASYNCHRONOUS EVENT (which SCST does
/// not have). SCST's 6 is what SAM-5 calls I_T NEXUS RESET.</param>
/// <param name="Lun">The LUN the function addresses.</param>
/// <param name="DeviceName">The device behind the LUN, or an empty string when the LUN did not resolve.</param>
/// <param name="InitiatorName">The initiator's name.</param>
/// <param name="TargetName">The target's name.</param>
/// <param name="SessionSysfsName">The session's name in the management tree (SCST's sysfs session directory).</param>
/// <param name="CommandToAbortTag">The tag of the command to abort (ABORT TASK), else 0.</param>
/// <param name="Cdb">The CDB of the command to abort (ABORT TASK), else empty. Only the first 16 bytes are carried;
/// a shorter CDB is padded with zeros, so a parsed value always has 16 bytes.</param>
public readonly record struct TaskManagementFunctionReceivedEvent(
    uint Function,
    ulong Lun,
    string DeviceName,
    string InitiatorName,
    string TargetName,
    string SessionSysfsName,
    ulong CommandToAbortTag,
    ReadOnlyMemory<byte> Cdb)
{
    /// <summary>The payload size in bytes (1064).</summary>
    public const int PayloadSize = 1064;

    /// <summary>The number of CDB bytes the payload carries (16).</summary>
    public const int CdbSize = 16;

    internal const int FunctionOffset = 0;
    internal const int PaddingOffset = 4;
    internal const int LunOffset = 8;
    internal const int DeviceNameOffset = 16;
    internal const int InitiatorNameOffset = 272;
    internal const int TargetNameOffset = 528;
    internal const int SessionSysfsNameOffset = 784;
    internal const int CommandToAbortTagOffset = 1040;
    internal const int CdbOffset = 1048;
    internal const int NameSize = 256;

    /// <summary>
    /// Writes the payload into the first <see cref="PayloadSize"/> bytes of <paramref name="destination"/>; names that
    /// do not fit are truncated, a CDB longer than <see cref="CdbSize"/> bytes is cut to its first 16 bytes.
    /// </summary>
    /// <param name="destination">At least <see cref="PayloadSize"/> bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small.</exception>
    public void WriteTo(Span<byte> destination)
    {
        PayloadGuard.EnsureDestination(destination, PayloadSize);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[FunctionOffset..], Function);
        destination.Slice(PaddingOffset, LunOffset - PaddingOffset).Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(destination[LunOffset..], Lun);
        FixedString.Write(destination.Slice(DeviceNameOffset, NameSize), DeviceName);
        FixedString.Write(destination.Slice(InitiatorNameOffset, NameSize), InitiatorName);
        FixedString.Write(destination.Slice(TargetNameOffset, NameSize), TargetName);
        FixedString.Write(destination.Slice(SessionSysfsNameOffset, NameSize), SessionSysfsName);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[CommandToAbortTagOffset..], CommandToAbortTag);

        var cdbField = destination.Slice(CdbOffset, CdbSize);
        cdbField.Clear();
        var cdb = Cdb.Span;
        cdb[..Math.Min(cdb.Length, CdbSize)].CopyTo(cdbField);
    }

    /// <summary>Returns the payload as a new array of <see cref="PayloadSize"/> bytes.</summary>
    /// <returns>The payload bytes.</returns>
    public byte[] ToPayload()
    {
        var payload = new byte[PayloadSize];
        WriteTo(payload);
        return payload;
    }

    /// <summary>Parses a payload written by <see cref="WriteTo"/> or by SCST.</summary>
    /// <param name="payload">The payload; bytes after the first <see cref="PayloadSize"/> are ignored.</param>
    /// <param name="value">The parsed event, or <see langword="default"/> when the payload is too short. Its
    /// <see cref="Cdb"/> is a copy of the 16 CDB bytes.</param>
    /// <returns><see langword="true"/> when the payload has at least <see cref="PayloadSize"/> bytes.</returns>
    public static bool TryParse(ReadOnlySpan<byte> payload, out TaskManagementFunctionReceivedEvent value)
    {
        if (payload.Length < PayloadSize)
        {
            value = default;
            return false;
        }

        value = new TaskManagementFunctionReceivedEvent(
            BinaryPrimitives.ReadUInt32LittleEndian(payload[FunctionOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(payload[LunOffset..]),
            FixedString.Read(payload.Slice(DeviceNameOffset, NameSize)),
            FixedString.Read(payload.Slice(InitiatorNameOffset, NameSize)),
            FixedString.Read(payload.Slice(TargetNameOffset, NameSize)),
            FixedString.Read(payload.Slice(SessionSysfsNameOffset, NameSize)),
            BinaryPrimitives.ReadUInt64LittleEndian(payload[CommandToAbortTagOffset..]),
            payload.Slice(CdbOffset, CdbSize).ToArray());
        return true;
    }

    /// <summary>Parses a payload written by <see cref="WriteTo"/> or by SCST.</summary>
    /// <param name="payload">The payload; bytes after the first <see cref="PayloadSize"/> are ignored.</param>
    /// <returns>The parsed event.</returns>
    /// <exception cref="FormatException">The payload is shorter than <see cref="PayloadSize"/>.</exception>
    public static TaskManagementFunctionReceivedEvent Parse(ReadOnlySpan<byte> payload)
    {
        if (!TryParse(payload, out var value))
        {
            PayloadGuard.ThrowTooShort(nameof(TaskManagementFunctionReceivedEvent), PayloadSize, payload.Length);
        }

        return value;
    }
}
