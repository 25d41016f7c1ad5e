// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// A bit-at-a-time CRC-32 (IEEE 802.3: reflected polynomial 0xEDB88320, register preset to all ones, result
/// complemented), written independently of the driver's System.IO.Hashing path so that the tests check it.
/// </summary>
internal static class ReferenceCrc32
{
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFF_FFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1;
            }
        }

        return ~crc;
    }
}
