// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Scst.Transport.Fcoe.Protocol;

/// <summary>The 24-bit big-endian fields of Fibre Channel (D_ID, S_ID, F_CTL, port identifiers) and shared helpers.</summary>
internal static class WireFormat
{
    /// <summary>The largest 24-bit value: an N_Port_ID, D_ID, S_ID or F_CTL.</summary>
    public const uint UInt24Mask = 0xFF_FFFF;

    /// <summary>Reads three bytes as a big-endian number.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint ReadUInt24(ReadOnlySpan<byte> source) => ((uint)source[0] << 16) | ((uint)source[1] << 8) | source[2];

    /// <summary>Writes the low 24 bits of <paramref name="value"/> as three big-endian bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteUInt24(Span<byte> destination, uint value)
    {
        destination[2] = (byte)value;
        destination[1] = (byte)(value >> 8);
        destination[0] = (byte)(value >> 16);
    }

    /// <summary>Reads a 64-bit World Wide Name.</summary>
    public static ulong ReadWwn(ReadOnlySpan<byte> source) => BinaryPrimitives.ReadUInt64BigEndian(source);

    /// <summary>Writes a 64-bit World Wide Name.</summary>
    public static void WriteWwn(Span<byte> destination, ulong wwn) => BinaryPrimitives.WriteUInt64BigEndian(destination, wwn);

    /// <summary>Rounds <paramref name="length"/> up to a multiple of 4.</summary>
    public static int PadToWord(int length) => (length + 3) & ~3;

    /// <summary>Throws when <paramref name="destination"/> cannot hold <paramref name="needed"/> bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void EnsureLength(Span<byte> destination, int needed, [CallerArgumentExpression(nameof(destination))] string? name = null)
    {
        if (destination.Length < needed)
        {
            ThrowTooShort(name, needed, destination.Length);
        }
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowTooShort(string? name, int needed, int actual) =>
        throw new ArgumentException($"The destination holds {actual} bytes; {needed} are needed.", name);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for a value a writer cannot encode.</summary>
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowOutOfRange(string name, string message) => throw new ArgumentOutOfRangeException(name, message);
}
