// Licensed under the Apache License, Version 2.0.

using System.Buffers;

namespace Scst.Transport.Iscsi.Tests;

/// <summary>Byte helpers for codec tests: hex, dirty buffers, segmented sequences, offset-reporting compare.</summary>
internal static class Bytes
{
    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal)
        .Replace("\n", string.Empty, StringComparison.Ordinal));

    /// <summary>A buffer pre-filled with 0xFF so a forgotten reserved field shows up.</summary>
    public static byte[] Dirty(int length)
    {
        var buffer = new byte[length];
        buffer.AsSpan().Fill(0xff);
        return buffer;
    }

    public static void Equal(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        var common = Math.Min(expected.Length, actual.Length);
        for (var i = 0; i < common; i++)
        {
            if (expected[i] != actual[i])
            {
                Assert.Fail($"First difference at offset {i}: expected 0x{expected[i]:x2}, actual 0x{actual[i]:x2}.");
            }
        }

        Assert.Equal(expected.Length, actual.Length);
    }

    /// <summary>Splits <paramref name="data"/> into two linked segments at <paramref name="split"/>.</summary>
    public static ReadOnlySequence<byte> Split(byte[] data, int split)
    {
        var first = new Segment(data.AsMemory(0, split), 0);
        var last = first.Append(data.AsMemory(split));
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>Splits <paramref name="data"/> into one segment per byte.</summary>
    public static ReadOnlySequence<byte> PerByte(byte[] data)
    {
        var first = new Segment(data.AsMemory(0, 1), 0);
        var last = first;
        for (var i = 1; i < data.Length; i++)
        {
            last = last.Append(data.AsMemory(i, 1));
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
