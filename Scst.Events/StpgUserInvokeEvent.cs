// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Events;

/// <summary>
/// The payload of <see cref="ScstEventCode.StpgUserInvoke"/>: an explicit ALUA SET TARGET PORT GROUPS that a
/// user-space agent must carry out. The event expects a completion (status 0 lets the STPG succeed).
/// </summary>
/// <remarks>
/// Layout (SCST's x86_64 ABI, little-endian, 74 bytes plus 194 per descriptor, no padding):
/// <code>
/// offset size  field
///      0    8  u64  stpg_cmd_tag
///      8   64  char device_name[64]          NUL-terminated, at most 63 bytes of text
///     72    2  u16  stpg_descriptors_cnt
///     74  194  struct descriptor[cnt]        see <see cref="StpgDescriptor"/>; only groups whose state changes
/// </code>
/// </remarks>
/// <param name="StpgCommandTag">The tag of the STPG command.</param>
/// <param name="DeviceName">The device the STPG was received for.</param>
/// <param name="Descriptors">The groups whose state changes; at most 65535.</param>
public readonly record struct StpgUserInvokeEvent(
    ulong StpgCommandTag,
    string DeviceName,
    IReadOnlyList<StpgDescriptor> Descriptors)
{
    /// <summary>The size of the fixed part of the payload in bytes (74); the descriptors follow it.</summary>
    public const int HeaderSize = 74;

    internal const int StpgCommandTagOffset = 0;
    internal const int DeviceNameOffset = 8;
    internal const int DeviceNameSize = 64;
    internal const int DescriptorCountOffset = 72;
    internal const int DescriptorsOffset = 74;

    /// <summary>Gets the size of this event's payload in bytes: <see cref="HeaderSize"/> plus 194 per descriptor.</summary>
    public int PayloadSize => HeaderSize + (DescriptorCount * StpgDescriptor.Size);

    private int DescriptorCount => Descriptors?.Count ?? 0;

    /// <summary>
    /// Writes the payload into the first <see cref="PayloadSize"/> bytes of <paramref name="destination"/>; names that
    /// do not fit are truncated.
    /// </summary>
    /// <param name="destination">At least <see cref="PayloadSize"/> bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small, or there are more than 65535
    /// descriptors.</exception>
    public void WriteTo(Span<byte> destination)
    {
        var count = DescriptorCount;
        if (count > ushort.MaxValue)
        {
            throw new ArgumentException($"An STPG event carries at most {ushort.MaxValue} descriptors; got {count}.", nameof(destination));
        }

        PayloadGuard.EnsureDestination(destination, HeaderSize + (count * StpgDescriptor.Size));
        BinaryPrimitives.WriteUInt64LittleEndian(destination[StpgCommandTagOffset..], StpgCommandTag);
        FixedString.Write(destination.Slice(DeviceNameOffset, DeviceNameSize), DeviceName);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[DescriptorCountOffset..], (ushort)count);
        for (var i = 0; i < count; i++)
        {
            var descriptor = Descriptors[i];
            var field = destination.Slice(DescriptorsOffset + (i * StpgDescriptor.Size), StpgDescriptor.Size);
            BinaryPrimitives.WriteUInt16LittleEndian(field[StpgDescriptor.GroupIdOffset..], descriptor.GroupId);
            FixedString.Write(field.Slice(StpgDescriptor.PreviousStateOffset, StpgDescriptor.StateSize), descriptor.PreviousState);
            FixedString.Write(field.Slice(StpgDescriptor.NewStateOffset, StpgDescriptor.StateSize), descriptor.NewState);
            FixedString.Write(field.Slice(StpgDescriptor.DeviceGroupNameOffset, StpgDescriptor.GroupNameSize), descriptor.DeviceGroupName);
            FixedString.Write(field.Slice(StpgDescriptor.TargetGroupNameOffset, StpgDescriptor.GroupNameSize), descriptor.TargetGroupName);
        }
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
    /// <param name="payload">The payload; bytes after the last descriptor are ignored.</param>
    /// <param name="value">The parsed event, or <see langword="default"/> when the payload is too short for its header
    /// or for the descriptor count it declares.</param>
    /// <returns><see langword="true"/> when the payload is complete.</returns>
    public static bool TryParse(ReadOnlySpan<byte> payload, out StpgUserInvokeEvent value)
    {
        if (payload.Length < HeaderSize)
        {
            value = default;
            return false;
        }

        int count = BinaryPrimitives.ReadUInt16LittleEndian(payload[DescriptorCountOffset..]);
        if (payload.Length < HeaderSize + (count * StpgDescriptor.Size))
        {
            value = default;
            return false;
        }

        var descriptors = new StpgDescriptor[count];
        for (var i = 0; i < count; i++)
        {
            var field = payload.Slice(DescriptorsOffset + (i * StpgDescriptor.Size), StpgDescriptor.Size);
            descriptors[i] = new StpgDescriptor(
                BinaryPrimitives.ReadUInt16LittleEndian(field[StpgDescriptor.GroupIdOffset..]),
                FixedString.Read(field.Slice(StpgDescriptor.PreviousStateOffset, StpgDescriptor.StateSize)),
                FixedString.Read(field.Slice(StpgDescriptor.NewStateOffset, StpgDescriptor.StateSize)),
                FixedString.Read(field.Slice(StpgDescriptor.DeviceGroupNameOffset, StpgDescriptor.GroupNameSize)),
                FixedString.Read(field.Slice(StpgDescriptor.TargetGroupNameOffset, StpgDescriptor.GroupNameSize)));
        }

        value = new StpgUserInvokeEvent(
            BinaryPrimitives.ReadUInt64LittleEndian(payload[StpgCommandTagOffset..]),
            FixedString.Read(payload.Slice(DeviceNameOffset, DeviceNameSize)),
            descriptors);
        return true;
    }

    /// <summary>Parses a payload written by <see cref="WriteTo"/> or by SCST.</summary>
    /// <param name="payload">The payload; bytes after the last descriptor are ignored.</param>
    /// <returns>The parsed event.</returns>
    /// <exception cref="FormatException">The payload is too short for its header or its declared descriptors.</exception>
    public static StpgUserInvokeEvent Parse(ReadOnlySpan<byte> payload)
    {
        if (!TryParse(payload, out var value))
        {
            var required = payload.Length < HeaderSize
                ? HeaderSize
                : HeaderSize + (BinaryPrimitives.ReadUInt16LittleEndian(payload[DescriptorCountOffset..]) * StpgDescriptor.Size);
            PayloadGuard.ThrowTooShort(nameof(StpgUserInvokeEvent), required, payload.Length);
        }

        return value;
    }
}
