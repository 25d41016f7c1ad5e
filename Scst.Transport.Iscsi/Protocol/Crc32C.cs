// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ArmCrc32 = System.Runtime.Intrinsics.Arm.Crc32;
using X86Sse42 = System.Runtime.Intrinsics.X86.Sse42;

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>
/// CRC32C (Castagnoli) as iSCSI uses it for header and data digests (RFC 7143 section 13.1): initial register all
/// ones, reflected, final complement, sent least significant byte first.
/// </summary>
/// <remarks>
/// <para><see cref="BitOperations.Crc32C(uint, ulong)"/> is the SSE4.2 <c>crc32</c> instruction on x64 and the ARMv8
/// CRC32C instruction on Arm64, and a table-driven software CRC on processors that have neither.</para>
/// <para>One <c>crc32</c> chain is bound by the instruction's latency (3 cycles for 8 bytes on x64) while the processor
/// could start one per cycle. With the instruction present, a span of at least <see cref="InterleavedChunkLength"/>
/// bytes is therefore cut into chunks of three blocks whose CRCs run as three independent chains, and the three
/// registers are joined with the CRC's linearity: the register after A then B is the register after A, moved over
/// |B| zero bytes, XOR the register of B alone (from 0). Moving a register over a block of zeros is a linear map of
/// its 32 bits, applied with four 256-entry tables built once.</para>
/// </remarks>
internal static class Crc32C
{
    /// <summary>Register value before any byte.</summary>
    public const uint InitialState = 0xffff_ffff;

    /// <summary>Bytes of one of the three interleaved blocks (a multiple of 8).</summary>
    private const int BlockLength = 1360;

    /// <summary>Bytes of one interleaved chunk: 4080, so that a 4 KiB buffer is one chunk and 16 bytes.</summary>
    internal const int InterleavedChunkLength = 3 * BlockLength;

    // ShiftTable[k * 256 + v]: the register v << 8k moved over BlockLength zero bytes.
    private static readonly uint[] s_shiftTable = BuildShiftTable();

    private static bool HasInstruction => X86Sse42.X64.IsSupported || ArmCrc32.Arm64.IsSupported;

    /// <summary>Folds <paramref name="data"/> into the running register.</summary>
    public static uint Append(uint state, ReadOnlySpan<byte> data)
    {
        if (HasInstruction && data.Length >= InterleavedChunkLength)
        {
            int whole = data.Length - (data.Length % InterleavedChunkLength);
            state = AppendInterleaved(state, ref MemoryMarshal.GetReference(data), whole / InterleavedChunkLength);
            data = data[whole..];
        }

        return AppendSerial(state, data);
    }

    /// <summary>Folds every segment of <paramref name="data"/> into the running register.</summary>
    public static uint Append(uint state, in ReadOnlySequence<byte> data)
    {
        if (data.IsSingleSegment)
        {
            return Append(state, data.FirstSpan);
        }

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

    /// <summary>One chain, 8 bytes at a time (the instruction, or the runtime's table when it is missing).</summary>
    internal static uint AppendSerial(uint state, ReadOnlySpan<byte> data)
    {
        ref byte p = ref MemoryMarshal.GetReference(data);
        int length = data.Length;
        int i = 0;
        for (; i <= length - sizeof(ulong); i += sizeof(ulong))
        {
            state = BitOperations.Crc32C(state, ReadUInt64(ref p, i));
        }

        for (; i < length; i++)
        {
            state = BitOperations.Crc32C(state, Unsafe.Add(ref p, i));
        }

        return state;
    }

    private static uint AppendInterleaved(uint state, ref byte p, int chunks)
    {
        for (int chunk = 0; chunk < chunks; chunk++)
        {
            uint a = state;
            uint b = 0;
            uint c = 0;
            for (int i = 0; i < BlockLength; i += sizeof(ulong))
            {
                a = BitOperations.Crc32C(a, ReadUInt64(ref p, i));
                b = BitOperations.Crc32C(b, ReadUInt64(ref p, BlockLength + i));
                c = BitOperations.Crc32C(c, ReadUInt64(ref p, (2 * BlockLength) + i));
            }

            state = Shift(Shift(a) ^ b) ^ c;
            p = ref Unsafe.Add(ref p, InterleavedChunkLength);
        }

        return state;
    }

    /// <summary>The register <paramref name="state"/> moved over <see cref="BlockLength"/> zero bytes.</summary>
    private static uint Shift(uint state)
    {
        ref uint table = ref MemoryMarshal.GetArrayDataReference(s_shiftTable);
        return Unsafe.Add(ref table, (int)(state & 0xff))
            ^ Unsafe.Add(ref table, 256 + (int)((state >> 8) & 0xff))
            ^ Unsafe.Add(ref table, 512 + (int)((state >> 16) & 0xff))
            ^ Unsafe.Add(ref table, 768 + (int)(state >> 24));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ReadUInt64(ref byte p, int offset)
    {
        ulong value = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, offset));
        return BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value);
    }

    private static uint[] BuildShiftTable()
    {
        // The map is linear over GF(2): move each of the 32 one-bit registers over the zeros once, then XOR the images.
        Span<byte> zeros = stackalloc byte[BlockLength];
        zeros.Clear();
        Span<uint> basis = stackalloc uint[32];
        for (int bit = 0; bit < 32; bit++)
        {
            basis[bit] = AppendSerial(1u << bit, zeros);
        }

        var table = new uint[4 * 256];
        for (int k = 0; k < 4; k++)
        {
            for (int v = 0; v < 256; v++)
            {
                uint image = 0;
                for (int bit = 0; bit < 8; bit++)
                {
                    if ((v & (1 << bit)) != 0)
                    {
                        image ^= basis[(8 * k) + bit];
                    }
                }

                table[(k * 256) + v] = image;
            }
        }

        return table;
    }
}
