// Licensed under the Apache License, Version 2.0.

namespace Scst.Testing;

/// <summary>Byte-exact comparison that reports the first differing offset.</summary>
public static class ByteAssert
{
    public static void Equal(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        int common = Math.Min(expected.Length, actual.Length);
        for (int i = 0; i < common; i++)
        {
            if (expected[i] != actual[i])
            {
                throw new TestAssertionException(
                    $"Bytes differ at offset {i}: expected {expected[i]:X2}h, got {actual[i]:X2}h.{Environment.NewLine}" +
                    $"expected {Convert.ToHexString(expected)}{Environment.NewLine}actual   {Convert.ToHexString(actual)}");
            }
        }

        if (expected.Length != actual.Length)
        {
            throw new TestAssertionException(
                $"Lengths differ: expected {expected.Length} bytes, got {actual.Length} (equal up to offset {common}).{Environment.NewLine}" +
                $"expected {Convert.ToHexString(expected)}{Environment.NewLine}actual   {Convert.ToHexString(actual)}");
        }
    }

    /// <summary>Parses hex with optional spaces: "70 00 05".</summary>
    public static byte[] FromHex(string hex) => Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));
}
