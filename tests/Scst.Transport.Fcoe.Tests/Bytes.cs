// Licensed under the Apache License, Version 2.0.

using Scst.Testing;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>Byte helpers for codec tests: hex, dirty buffers, offset-reporting compare.</summary>
internal static class Bytes
{
    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal)
        .Replace("\n", string.Empty, StringComparison.Ordinal));

    /// <summary>A buffer pre-filled with 0xFF so that a forgotten reserved field shows up.</summary>
    public static byte[] Dirty(int length)
    {
        var buffer = new byte[length];
        buffer.AsSpan().Fill(0xff);
        return buffer;
    }

    public static void Equal(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual) => ByteAssert.Equal(expected, actual);
}
