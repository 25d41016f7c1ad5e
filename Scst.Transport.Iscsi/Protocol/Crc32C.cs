// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>
/// CRC32C (Castagnoli) as iSCSI uses it for header and data digests (RFC 7143 section 13.1): initial
/// register all ones, reflected, final complement, sent least significant byte first.
/// <see cref="BitOperations.Crc32C(uint, ulong)"/> uses the SSE4.2/ARMv8 instruction when present.
/// </summary>
internal static class Crc32C
{
    /// <summary>Register value before any byte.</summary>
    public const uint InitialState = 0xffff_ffff;

    /// <summary>Folds <paramref name="data"/> into the running register.</summary>
    public static uint Append(uint state, ReadOnlySpan<byte> data)
    {
        while (data.Length >= sizeof(ulong))
        {
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[sizeof(ulong)..];
        }

        foreach (var b in data)
        {
            state = BitOperations.Crc32C(state, b);
        }

        return state;
    }

    /// <summary>Folds every segment of <paramref name="data"/> into the running register.</summary>
    public static uint Append(uint state, in ReadOnlySequence<byte> data)
    {
        foreach (var segment in data)
        {
            state = Append(state, segment.Span);
        }

        return state;
    }

    /// <summary>Completes the computation.</summary>
    public static uint Finish(uint state) => ~state;

    /// <summary>Computes the digest of one span.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Append(InitialState, data));
}
