// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using Microsoft.Extensions.Time.Testing;
using Scst.Testing.Pcap;
using Scst.Transport.Fcoe.Diagnostics;

namespace Scst.Transport.Fcoe.Tests;

public class PcapTests
{
    [Fact]
    public void PcapReader_ReadsTheCapturesRecordedOnTheVmHarness()
    {
        Captures.Alone.Should().HaveCount(7);
        Captures.Pair.Should().HaveCount(400);
        Captures.Pair[0].Data.Should().HaveCount(64);
        Captures.Pair[9].OriginalLength.Should().Be(2172);
        Captures.Pair[399].Index.Should().Be(399);
        (Captures.Pair[1].Timestamp - Captures.Pair[0].Timestamp).TotalMilliseconds.Should().BeApproximately(123.2, 0.1);
    }

    [Fact]
    public void PcapReader_ReadsBigEndianFilesWithNanosecondTimestamps()
    {
        var file = Bytes.Hex("A1B23C4D 0002 0004 00000000 00000000 0000FFFF 00000001"
            + "00000064 0000012C 00000003 0000003C" + "AABBCC");

        var records = PcapReader.Read(new MemoryStream(file));

        records.Should().ContainSingle();
        records[0].Timestamp.Should().Be(DateTimeOffset.UnixEpoch.AddSeconds(100).AddTicks(3));
        records[0].Data.Should().Equal(0xAA, 0xBB, 0xCC);
        records[0].OriginalLength.Should().Be(60);
    }

    [Fact]
    public void PcapReader_RefusesOtherLinkTypesPcapngAndTruncatedRecords()
    {
        var rawIp = Bytes.Hex("D4C3B2A1 0200 0400 00000000 00000000 FFFF0000 65000000");
        var pcapng = Bytes.Hex("0A0D0D0A 1C000000 4D3C2B1A 01000000 FFFFFFFFFFFFFFFF 1C000000");
        var truncated = Bytes.Hex("D4C3B2A1 0200 0400 00000000 00000000 FFFF0000 01000000" + "00000000 00000000 10000000 10000000" + "0102");

        FluentActions.Invoking(() => PcapReader.Read(new MemoryStream(rawIp))).Should().Throw<InvalidDataException>();
        FluentActions.Invoking(() => PcapReader.Read(new MemoryStream(pcapng))).Should().Throw<InvalidDataException>();
        FluentActions.Invoking(() => PcapReader.Read(new MemoryStream(truncated))).Should().Throw<InvalidDataException>();
        FluentActions.Invoking(() => PcapReader.Read(new MemoryStream(rawIp[..10]))).Should().Throw<InvalidDataException>();
    }

    [Fact]
    public void PcapWriter_WritesAClassicLittleEndianEthernetCapture_ThatReadsBack()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 7, 15, 0, TimeSpan.Zero));
        var stream = new MemoryStream();
        var first = Captures.PairFrame(0);
        var second = Captures.PairFrame(69);

        using (var writer = new PcapWriter(stream, clock, leaveOpen: true))
        {
            writer.WriteFrame(first);
            clock.Advance(TimeSpan.FromTicks(1_234_567));
            writer.WriteFrame(second);
        }

        var bytes = stream.ToArray();
        Bytes.Equal(Bytes.Hex("D4C3B2A1 0200 0400 00000000 00000000 FFFF0000 01000000"), bytes.AsSpan(0, 24));
        bytes.Length.Should().Be(24 + 16 + first.Length + 16 + second.Length);
        stream.Position = 0;
        var records = PcapReader.Read(stream);
        records.Should().HaveCount(2);
        records[0].Data.Should().Equal(first);
        records[0].Timestamp.Should().Be(new DateTimeOffset(2026, 11, 26, 7, 15, 0, TimeSpan.Zero));
        records[1].Data.Should().Equal(second);
        records[1].OriginalLength.Should().Be(2172);
        (records[1].Timestamp - records[0].Timestamp).Should().Be(TimeSpan.FromTicks(1_234_560), "timestamps keep microseconds");
    }

    [Fact]
    public void PcapWriter_CutsFramesToTheSnapLength_AndKeepsTheirOriginalLength()
    {
        var stream = new MemoryStream();
        using (var writer = new PcapWriter(stream, new FakeTimeProvider(), snapLength: 96, leaveOpen: true))
        {
            writer.WriteFrame(Captures.PairFrame(69));
        }

        stream.Position = 0;
        var record = PcapReader.Read(stream).Single();
        record.Data.Should().Equal(Captures.PairFrame(69).Take(96));
        record.OriginalLength.Should().Be(2172);
        BinaryPrimitives.ReadUInt32LittleEndian(stream.ToArray().AsSpan(16)).Should().Be(96);
    }

    [Fact]
    public void PcapWriter_FromManyThreadsAtOnce_WritesEveryRecordWhole()
    {
        const int Threads = 8;
        const int FramesPerThread = 250;
        var stream = new MemoryStream();
        using (var writer = new PcapWriter(stream, new FakeTimeProvider(), leaveOpen: true))
        {
            Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, thread =>
            {
                for (int i = 0; i < FramesPerThread; i++)
                {
                    writer.WriteFrame(FrameOf(thread, i));
                }
            });
        }

        stream.Position = 0;
        var records = PcapReader.Read(stream);
        records.Should().HaveCount(Threads * FramesPerThread);
        var seen = new HashSet<(int, int)>();
        foreach (var record in records)
        {
            int thread = record.Data[0];
            int i = BinaryPrimitives.ReadUInt16BigEndian(record.Data.AsSpan(1));
            record.Data.Should().Equal(FrameOf(thread, i));
            seen.Add((thread, i)).Should().BeTrue();
        }
    }

    [Fact]
    public void PcapWriter_AfterDispose_RefusesFramesAndClosesTheStream()
    {
        var stream = new MemoryStream();
        var writer = new PcapWriter(stream, new FakeTimeProvider());

        writer.Dispose();
        writer.Dispose();

        FluentActions.Invoking(() => writer.WriteFrame(new byte[60])).Should().Throw<ObjectDisposedException>();
        stream.CanWrite.Should().BeFalse();
    }

    private static byte[] FrameOf(int thread, int index)
    {
        // Lengths differ per frame, so that an interleaved write would misalign every record after it.
        var frame = new byte[60 + ((thread * 31 + index) % 200)];
        frame[0] = (byte)thread;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(1), (ushort)index);
        for (int i = 3; i < frame.Length; i++)
        {
            frame[i] = (byte)(thread + index + i);
        }

        return frame;
    }
}
