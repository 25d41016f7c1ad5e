// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Iscsi.Protocol;

namespace Scst.Transport.Iscsi.Tests.Protocol;

public class Crc32CTests
{
    // A bit-at-a-time CRC32C (reflected polynomial 0x82F63B78), independent of the implementation under test.
    private static uint Reference(ReadOnlySpan<byte> data)
    {
        uint crc = 0xffff_ffff;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78u : crc >> 1;
            }
        }

        return ~crc;
    }

    // RFC 7143 appendix B.4: 32 bytes of zeros, of ones, incrementing, decrementing; and the usual "123456789" check.
    [Theory]
    [InlineData("zeros", 0x8A91_36AAu)]
    [InlineData("ones", 0x62A8_AB43u)]
    [InlineData("incrementing", 0x46DD_794Eu)]
    [InlineData("decrementing", 0x113F_DB5Cu)]
    [InlineData("123456789", 0xE306_9283u)]
    public void Compute_KnownVectors_MatchRfc7143AppendixB4(string vector, uint expected)
    {
        byte[] data = vector switch
        {
            "zeros" => new byte[32],
            "ones" => Enumerable.Repeat((byte)0xff, 32).ToArray(),
            "incrementing" => Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(),
            "decrementing" => Enumerable.Range(0, 32).Select(i => (byte)(31 - i)).ToArray(),
            _ => System.Text.Encoding.ASCII.GetBytes(vector),
        };

        Crc32C.Compute(data).Should().Be(expected);
    }

    [Fact]
    public void Compute_EveryLengthAroundTheInterleavedChunks_MatchesTheBitwiseReference()
    {
        var random = new Random(7143);
        byte[] data = new byte[(3 * Crc32C.InterleavedChunkLength) + 40];
        random.NextBytes(data);
        int[] lengths = [0, 1, 7, 8, 9, 31, 48, 4095, 4096, 4097, 65536];
        foreach (int length in lengths.Concat(Enumerable.Range(Crc32C.InterleavedChunkLength - 9, 20))
            .Concat(Enumerable.Range((2 * Crc32C.InterleavedChunkLength) - 3, 6)).Where(l => l <= data.Length))
        {
            Crc32C.Compute(data.AsSpan(0, length)).Should().Be(Reference(data.AsSpan(0, length)), $"length {length}");
        }

        byte[] large = new byte[65536 + 13];
        random.NextBytes(large);
        Crc32C.Compute(large).Should().Be(Reference(large));
    }

    [Fact]
    public void Append_InPiecesAndOverSegments_EqualsOneShot()
    {
        var random = new Random(3720);
        byte[] data = new byte[20_000];
        random.NextBytes(data);
        uint expected = Crc32C.Compute(data);
        for (int round = 0; round < 50; round++)
        {
            int split = random.Next(data.Length + 1);
            uint state = Crc32C.Append(Crc32C.Append(Crc32C.InitialState, data.AsSpan(0, split)), data.AsSpan(split));
            Crc32C.Finish(state).Should().Be(expected, $"split at {split}");

            var sequence = Bytes.Split(data, split);
            Crc32C.Finish(Crc32C.Append(Crc32C.InitialState, sequence)).Should().Be(expected, $"segments split at {split}");
        }
    }

    [Fact]
    public void AppendSerial_AgreesWithTheInterleavedPath()
    {
        byte[] data = new byte[5 * Crc32C.InterleavedChunkLength];
        new Random(1).NextBytes(data);

        Crc32C.AppendSerial(Crc32C.InitialState, data).Should().Be(Crc32C.Append(Crc32C.InitialState, data));
    }
}
