// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Events;

/// <summary>
/// The payload of <see cref="ScstEventCode.LunAdded"/> and <see cref="ScstEventCode.LunRemoved"/>: a LUN was mapped
/// to a device in a target's LUN map, or unmapped.
/// </summary>
/// <remarks>
/// Layout (little-endian, 421 bytes, packed: no padding before <c>lun</c> nor at the end):
/// <code>
/// offset size  field
///      0   32  char target_driver[32]    NUL-terminated, at most 31 bytes of text (e.g. "iscsi")
///     32  256  char target_name[256]     NUL-terminated, at most 255 bytes of text
///    288   64  char group_name[64]       initiator group; empty = the target's default LUN map
///    352    4  u32  lun
///    356   64  char device_name[64]      NUL-terminated, at most 63 bytes of text
///    420    1  u8   read_only            1 when the LUN is mapped read-only, else 0 (a removal may carry 0)
///    421       (end)
/// </code>
/// </remarks>
/// <param name="TargetDriver">The target driver's name (for example <c>"iscsi"</c>).</param>
/// <param name="TargetName">The target's name.</param>
/// <param name="GroupName">The initiator group whose LUN map changed, or an empty string for the target's default
/// LUN map.</param>
/// <param name="Lun">The LUN.</param>
/// <param name="DeviceName">The device behind the LUN.</param>
/// <param name="ReadOnly">Whether the LUN is mapped read-only.</param>
public readonly record struct LunEvent(
    string TargetDriver,
    string TargetName,
    string GroupName,
    uint Lun,
    string DeviceName,
    bool ReadOnly)
{
    /// <summary>The payload size in bytes (421).</summary>
    public const int PayloadSize = 421;

    internal const int TargetDriverOffset = 0;
    internal const int TargetDriverSize = 32;
    internal const int TargetNameOffset = 32;
    internal const int TargetNameSize = 256;
    internal const int GroupNameOffset = 288;
    internal const int GroupNameSize = 64;
    internal const int LunOffset = 352;
    internal const int DeviceNameOffset = 356;
    internal const int DeviceNameSize = 64;
    internal const int ReadOnlyOffset = 420;

    /// <summary>
    /// Writes the payload into the first <see cref="PayloadSize"/> bytes of <paramref name="destination"/>; names that
    /// do not fit are truncated.
    /// </summary>
    /// <param name="destination">At least <see cref="PayloadSize"/> bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small.</exception>
    public void WriteTo(Span<byte> destination)
    {
        PayloadGuard.EnsureDestination(destination, PayloadSize);
        FixedString.Write(destination.Slice(TargetDriverOffset, TargetDriverSize), TargetDriver);
        FixedString.Write(destination.Slice(TargetNameOffset, TargetNameSize), TargetName);
        FixedString.Write(destination.Slice(GroupNameOffset, GroupNameSize), GroupName);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[LunOffset..], Lun);
        FixedString.Write(destination.Slice(DeviceNameOffset, DeviceNameSize), DeviceName);
        destination[ReadOnlyOffset] = ReadOnly ? (byte)1 : (byte)0;
    }

    /// <summary>Returns the payload as a new array of <see cref="PayloadSize"/> bytes.</summary>
    /// <returns>The payload bytes.</returns>
    public byte[] ToPayload()
    {
        var payload = new byte[PayloadSize];
        WriteTo(payload);
        return payload;
    }

    /// <summary>Parses a payload written by <see cref="WriteTo"/>.</summary>
    /// <param name="payload">The payload; bytes after the first <see cref="PayloadSize"/> are ignored.</param>
    /// <param name="value">The parsed event, or <see langword="default"/> when the payload is too short.</param>
    /// <returns><see langword="true"/> when the payload has at least <see cref="PayloadSize"/> bytes.</returns>
    public static bool TryParse(ReadOnlySpan<byte> payload, out LunEvent value)
    {
        if (payload.Length < PayloadSize)
        {
            value = default;
            return false;
        }

        value = new LunEvent(
            FixedString.Read(payload.Slice(TargetDriverOffset, TargetDriverSize)),
            FixedString.Read(payload.Slice(TargetNameOffset, TargetNameSize)),
            FixedString.Read(payload.Slice(GroupNameOffset, GroupNameSize)),
            BinaryPrimitives.ReadUInt32LittleEndian(payload[LunOffset..]),
            FixedString.Read(payload.Slice(DeviceNameOffset, DeviceNameSize)),
            payload[ReadOnlyOffset] != 0);
        return true;
    }

    /// <summary>Parses a payload written by <see cref="WriteTo"/>.</summary>
    /// <param name="payload">The payload; bytes after the first <see cref="PayloadSize"/> are ignored.</param>
    /// <returns>The parsed event.</returns>
    /// <exception cref="FormatException">The payload is shorter than <see cref="PayloadSize"/>.</exception>
    public static LunEvent Parse(ReadOnlySpan<byte> payload)
    {
        if (!TryParse(payload, out var value))
        {
            PayloadGuard.ThrowTooShort(nameof(LunEvent), PayloadSize, payload.Length);
        }

        return value;
    }
}
