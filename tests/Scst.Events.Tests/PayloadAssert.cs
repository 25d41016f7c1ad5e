// Licensed under the Apache License, Version 2.0.

using System.Text;

namespace Scst.Events.Tests;

/// <summary>Byte assertions that name the offset where a payload goes wrong.</summary>
internal static class PayloadAssert
{
    public static void Equal(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        var common = Math.Min(expected.Length, actual.Length);
        for (var i = 0; i < common; i++)
        {
            if (expected[i] != actual[i])
            {
                Assert.Fail($"Payloads differ at offset {i}: expected 0x{expected[i]:X2}, got 0x{actual[i]:X2}.");
            }
        }

        Assert.True(expected.Length == actual.Length, $"Expected {expected.Length} bytes, got {actual.Length}.");
    }

    /// <summary>Asserts a NUL-terminated ASCII string at <paramref name="offset"/> with zeros to the field's end.</summary>
    public static void FixedString(ReadOnlySpan<byte> payload, int offset, int size, string expected)
    {
        var field = payload.Slice(offset, size);
        var bytes = Encoding.UTF8.GetBytes(expected);
        Assert.True(bytes.Length < size, "Test data must fit the field.");
        Equal(bytes, field[..bytes.Length]);
        for (var i = bytes.Length; i < size; i++)
        {
            if (field[i] != 0)
            {
                Assert.Fail($"Byte {offset + i} (field offset {i}) should be NUL, is 0x{field[i]:X2}.");
            }
        }
    }

    /// <summary>A buffer pre-filled with 0xFF, so that bytes a writer forgets to set show up.</summary>
    public static byte[] Dirty(int length)
    {
        var buffer = new byte[length];
        buffer.AsSpan().Fill(0xFF);
        return buffer;
    }
}
