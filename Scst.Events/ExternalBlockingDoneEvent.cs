// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Events;

/// <summary>
/// The payload of <see cref="ScstEventCode.ExternalBlockingDone"/>: an asynchronous device blocking requested by an
/// administrator has completed; <see cref="Data"/> is the text the administrator attached to the request.
/// </summary>
/// <remarks>
/// Layout (SCST's x86_64 ABI, little-endian, 260 bytes plus the data):
/// <code>
/// offset size      field
///      0  256      char device_name[256]   NUL-terminated, at most 255 bytes of text
///    256    4      u32  data_len
///    260  data_len u8   data[]
/// </code>
/// </remarks>
/// <param name="DeviceName">The blocked device's name.</param>
/// <param name="Data">The caller's data, passed through unchanged.</param>
public readonly record struct ExternalBlockingDoneEvent(string DeviceName, ReadOnlyMemory<byte> Data)
{
    /// <summary>The size of the fixed part of the payload in bytes (260); the data follows it.</summary>
    public const int HeaderSize = 260;

    internal const int DeviceNameOffset = 0;
    internal const int DeviceNameSize = 256;
    internal const int DataLengthOffset = 256;
    internal const int DataOffset = 260;

    /// <summary>Gets the size of this event's payload in bytes: <see cref="HeaderSize"/> plus the data length.</summary>
    public int PayloadSize => HeaderSize + Data.Length;

    /// <summary>
    /// Writes the payload into the first <see cref="PayloadSize"/> bytes of <paramref name="destination"/>; a name that
    /// does not fit is truncated.
    /// </summary>
    /// <param name="destination">At least <see cref="PayloadSize"/> bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small.</exception>
    public void WriteTo(Span<byte> destination)
    {
        var data = Data.Span;
        PayloadGuard.EnsureDestination(destination, HeaderSize + data.Length);
        FixedString.Write(destination.Slice(DeviceNameOffset, DeviceNameSize), DeviceName);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[DataLengthOffset..], (uint)data.Length);
        data.CopyTo(destination[DataOffset..]);
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
    /// <param name="payload">The payload; bytes after the data are ignored.</param>
    /// <param name="value">The parsed event with a copy of the data, or <see langword="default"/> when the payload is
    /// too short for its header or for the data length it declares.</param>
    /// <returns><see langword="true"/> when the payload is complete.</returns>
    public static bool TryParse(ReadOnlySpan<byte> payload, out ExternalBlockingDoneEvent value)
    {
        if (payload.Length < HeaderSize)
        {
            value = default;
            return false;
        }

        var dataLength = BinaryPrimitives.ReadUInt32LittleEndian(payload[DataLengthOffset..]);
        if (dataLength > (uint)(payload.Length - DataOffset))
        {
            value = default;
            return false;
        }

        value = new ExternalBlockingDoneEvent(
            FixedString.Read(payload.Slice(DeviceNameOffset, DeviceNameSize)),
            payload.Slice(DataOffset, (int)dataLength).ToArray());
        return true;
    }

    /// <summary>Parses a payload written by <see cref="WriteTo"/> or by SCST.</summary>
    /// <param name="payload">The payload; bytes after the data are ignored.</param>
    /// <returns>The parsed event, with a copy of the data.</returns>
    /// <exception cref="FormatException">The payload is too short for its header or for its declared data
    /// length.</exception>
    public static ExternalBlockingDoneEvent Parse(ReadOnlySpan<byte> payload)
    {
        if (!TryParse(payload, out var value))
        {
            var required = payload.Length < HeaderSize
                ? HeaderSize
                : DataOffset + (long)BinaryPrimitives.ReadUInt32LittleEndian(payload[DataLengthOffset..]);
            PayloadGuard.ThrowTooShort(nameof(ExternalBlockingDoneEvent), (int)Math.Min(required, int.MaxValue), payload.Length);
        }

        return value;
    }
}
