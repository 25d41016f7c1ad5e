// Licensed under the Apache License, Version 2.0.

namespace Scst.Events;

/// <summary>
/// The payload of <see cref="ScstEventCode.VirtualDeviceUnregistered"/>: a virtual device was unregistered (this
/// suite's counterpart of SCST's <see cref="ScstEventCode.VirtualDeviceRegistered"/>, which SCST lacks).
/// </summary>
/// <remarks>
/// Layout (little-endian, 96 bytes, no padding):
/// <code>
/// offset size  field
///      0   64  char device_name[64]    NUL-terminated, at most 63 bytes of text
///     64   32  char handler_name[32]   NUL-terminated, at most 31 bytes of text (e.g. "vdisk_fileio")
///     96       (end)
/// </code>
/// </remarks>
/// <param name="DeviceName">The device's name.</param>
/// <param name="HandlerName">The name of the handler that served the device.</param>
public readonly record struct VirtualDeviceUnregisteredEvent(string DeviceName, string HandlerName)
{
    /// <summary>The payload size in bytes (96).</summary>
    public const int PayloadSize = 96;

    internal const int DeviceNameOffset = 0;
    internal const int DeviceNameSize = 64;
    internal const int HandlerNameOffset = 64;
    internal const int HandlerNameSize = 32;

    /// <summary>
    /// Writes the payload into the first <see cref="PayloadSize"/> bytes of <paramref name="destination"/>; names that
    /// do not fit are truncated.
    /// </summary>
    /// <param name="destination">At least <see cref="PayloadSize"/> bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small.</exception>
    public void WriteTo(Span<byte> destination)
    {
        PayloadGuard.EnsureDestination(destination, PayloadSize);
        FixedString.Write(destination.Slice(DeviceNameOffset, DeviceNameSize), DeviceName);
        FixedString.Write(destination.Slice(HandlerNameOffset, HandlerNameSize), HandlerName);
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
    public static bool TryParse(ReadOnlySpan<byte> payload, out VirtualDeviceUnregisteredEvent value)
    {
        if (payload.Length < PayloadSize)
        {
            value = default;
            return false;
        }

        value = new VirtualDeviceUnregisteredEvent(
            FixedString.Read(payload.Slice(DeviceNameOffset, DeviceNameSize)),
            FixedString.Read(payload.Slice(HandlerNameOffset, HandlerNameSize)));
        return true;
    }

    /// <summary>Parses a payload written by <see cref="WriteTo"/>.</summary>
    /// <param name="payload">The payload; bytes after the first <see cref="PayloadSize"/> are ignored.</param>
    /// <returns>The parsed event.</returns>
    /// <exception cref="FormatException">The payload is shorter than <see cref="PayloadSize"/>.</exception>
    public static VirtualDeviceUnregisteredEvent Parse(ReadOnlySpan<byte> payload)
    {
        if (!TryParse(payload, out var value))
        {
            PayloadGuard.ThrowTooShort(nameof(VirtualDeviceUnregisteredEvent), PayloadSize, payload.Length);
        }

        return value;
    }
}
