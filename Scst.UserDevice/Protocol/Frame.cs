// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Text;

namespace Scst.UserDevice.Protocol;

/// <summary>
/// The framing of the user-device protocol. Every message is little-endian:
/// <c>u32 length (whole message, header included) | u16 type | u16 flags | u64 handle | body</c>. Several messages may
/// share one send. A message is at most <see cref="MaxMessageLength"/> bytes.
/// </summary>
internal static class Frame
{
    /// <summary>The protocol version a REGISTER carries.</summary>
    public const uint ProtocolVersion = 1;

    /// <summary>Header length in bytes.</summary>
    public const int HeaderLength = 16;

    /// <summary>The longest message.</summary>
    public const int MaxMessageLength = 64 * 1024;

    /// <summary>The longest sense data an EXEC_REPLY carries.</summary>
    public const int MaxSenseLength = 252;

    /// <summary>Writes a header at the start of <paramref name="destination"/>.</summary>
    public static void WriteHeader(Span<byte> destination, int length, MessageType type, MessageFlags flags, ulong handle)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)length);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], (ushort)type);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], (ushort)flags);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], handle);
    }

    /// <summary>
    /// Finds the next whole message at the start of <paramref name="input"/>.
    /// </summary>
    /// <returns>
    /// The message length when a whole message is there; 0 when more bytes are needed; -1 when the header is malformed
    /// (<paramref name="error"/> says how).
    /// </returns>
    public static int TryRead(ReadOnlySpan<byte> input, out MessageHeader header, out string? error)
    {
        header = default;
        error = null;
        if (input.Length < HeaderLength)
        {
            return 0;
        }

        uint length = BinaryPrimitives.ReadUInt32LittleEndian(input);
        if (length is < HeaderLength or > MaxMessageLength)
        {
            error = $"message length {length} is outside {HeaderLength}..{MaxMessageLength}";
            return -1;
        }

        header = new MessageHeader(
            (int)length,
            (MessageType)BinaryPrimitives.ReadUInt16LittleEndian(input[4..]),
            (MessageFlags)BinaryPrimitives.ReadUInt16LittleEndian(input[6..]),
            BinaryPrimitives.ReadUInt64LittleEndian(input[8..]));
        return input.Length < length ? 0 : (int)length;
    }

    /// <summary>Writes a length-prefixed UTF-8 string (u16 length).</summary>
    public static int WriteString(Span<byte> destination, string? value)
    {
        int n = Encoding.UTF8.GetBytes(value ?? string.Empty, destination[2..]);
        BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)n);
        return 2 + n;
    }

    /// <summary>Reads a length-prefixed UTF-8 string; false when it runs past the body.</summary>
    public static bool TryReadString(ReadOnlySpan<byte> body, ref int offset, out string value)
    {
        value = string.Empty;
        if (offset + 2 > body.Length)
        {
            return false;
        }

        int n = BinaryPrimitives.ReadUInt16LittleEndian(body[offset..]);
        if (offset + 2 + n > body.Length)
        {
            return false;
        }

        value = Encoding.UTF8.GetString(body.Slice(offset + 2, n));
        offset += 2 + n;
        return true;
    }
}

/// <summary>A message header.</summary>
internal readonly record struct MessageHeader(int Length, MessageType Type, MessageFlags Flags, ulong Handle);
