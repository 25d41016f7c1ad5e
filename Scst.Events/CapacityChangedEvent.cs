// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Events;

/// <summary>
/// The payload of <see cref="ScstEventCode.CapacityChanged"/>: a device's capacity changed (a resize); initiators
/// learn it through a CAPACITY DATA HAS CHANGED unit attention.
/// </summary>
/// <remarks>
/// Layout (little-endian, 76 bytes, packed: no padding at the end):
/// <code>
/// offset size  field
///      0   64  char device_name[64]   NUL-terminated, at most 63 bytes of text
///     64    8  u64  block_count       the new number of logical blocks
///     72    4  u32  block_size        the logical block size in bytes
///     76       (end)
/// </code>
/// </remarks>
/// <param name="DeviceName">The device's name.</param>
/// <param name="BlockCount">The new number of logical blocks.</param>
/// <param name="BlockSize">The logical block size in bytes.</param>
public readonly record struct CapacityChangedEvent(string DeviceName, ulong BlockCount, uint BlockSize)
{
    /// <summary>The payload size in bytes (76).</summary>
    public const int PayloadSize = 76;

    internal const int DeviceNameOffset = 0;
    internal const int DeviceNameSize = 64;
    internal const int BlockCountOffset = 64;
    internal const int BlockSizeOffset = 72;

    /// <summary>
    /// Writes the payload into the first <see cref="PayloadSize"/> bytes of <paramref name="destination"/>; a name that
    /// does not fit is truncated.
    /// </summary>
    /// <param name="destination">At least <see cref="PayloadSize"/> bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small.</exception>
    public void WriteTo(Span<byte> destination)
    {
        PayloadGuard.EnsureDestination(destination, PayloadSize);
        FixedString.Write(destination.Slice(DeviceNameOffset, DeviceNameSize), DeviceName);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[BlockCountOffset..], BlockCount);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[BlockSizeOffset..], BlockSize);
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
    public static bool TryParse(ReadOnlySpan<byte> payload, out CapacityChangedEvent value)
    {
        if (payload.Length < PayloadSize)
        {
            value = default;
            return false;
        }

        value = new CapacityChangedEvent(
            FixedString.Read(payload.Slice(DeviceNameOffset, DeviceNameSize)),
            BinaryPrimitives.ReadUInt64LittleEndian(payload[BlockCountOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(payload[BlockSizeOffset..]));
        return true;
    }

    /// <summary>Parses a payload written by <see cref="WriteTo"/>.</summary>
    /// <param name="payload">The payload; bytes after the first <see cref="PayloadSize"/> are ignored.</param>
    /// <returns>The parsed event.</returns>
    /// <exception cref="FormatException">The payload is shorter than <see cref="PayloadSize"/>.</exception>
    public static CapacityChangedEvent Parse(ReadOnlySpan<byte> payload)
    {
        if (!TryParse(payload, out var value))
        {
            PayloadGuard.ThrowTooShort(nameof(CapacityChangedEvent), PayloadSize, payload.Length);
        }

        return value;
    }
}
