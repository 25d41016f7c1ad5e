// Licensed under the Apache License, Version 2.0.

namespace Scst.Events;

/// <summary>
/// The payload of <see cref="ScstEventCode.VirtualDeviceRegistered"/>: a virtual device was registered.
/// </summary>
/// <remarks>
/// Layout (SCST's x86_64 ABI, 60 bytes):
/// <code>
/// offset size  field
///      0   60  char device_name[60]   NUL-terminated, at most 59 bytes of text
///     60       (end)
/// </code>
/// SCST allows longer device names than fit here (up to 64 characters); those arrive truncated to 59 bytes, so a
/// subscriber must not treat the name as a unique key without checking the device list.
/// </remarks>
/// <param name="DeviceName">The device's name, possibly truncated.</param>
public readonly record struct VirtualDeviceRegisteredEvent(string DeviceName)
{
    /// <summary>The payload size in bytes (60).</summary>
    public const int PayloadSize = 60;

    internal const int DeviceNameOffset = 0;

    /// <summary>
    /// Writes the payload into the first <see cref="PayloadSize"/> bytes of <paramref name="destination"/>; a name
    /// longer than 59 bytes is truncated.
    /// </summary>
    /// <param name="destination">At least <see cref="PayloadSize"/> bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small.</exception>
    public void WriteTo(Span<byte> destination)
    {
        PayloadGuard.EnsureDestination(destination, PayloadSize);
        FixedString.Write(destination.Slice(DeviceNameOffset, PayloadSize), DeviceName);
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
    /// <param name="value">The parsed event, or <see langword="default"/> when the payload is too short.</param>
    /// <returns><see langword="true"/> when the payload has at least <see cref="PayloadSize"/> bytes.</returns>
    public static bool TryParse(ReadOnlySpan<byte> payload, out VirtualDeviceRegisteredEvent value)
    {
        if (payload.Length < PayloadSize)
        {
            value = default;
            return false;
        }

        value = new VirtualDeviceRegisteredEvent(FixedString.Read(payload.Slice(DeviceNameOffset, PayloadSize)));
        return true;
    }

    /// <summary>Parses a payload written by <see cref="WriteTo"/> or by SCST.</summary>
    /// <param name="payload">The payload; bytes after the first <see cref="PayloadSize"/> are ignored.</param>
    /// <returns>The parsed event.</returns>
    /// <exception cref="FormatException">The payload is shorter than <see cref="PayloadSize"/>.</exception>
    public static VirtualDeviceRegisteredEvent Parse(ReadOnlySpan<byte> payload)
    {
        if (!TryParse(payload, out var value))
        {
            PayloadGuard.ThrowTooShort(nameof(VirtualDeviceRegisteredEvent), PayloadSize, payload.Length);
        }

        return value;
    }
}
