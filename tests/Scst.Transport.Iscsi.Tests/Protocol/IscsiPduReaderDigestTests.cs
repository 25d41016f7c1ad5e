// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Buffers.Binary;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Transport.Iscsi.Tests.Protocol;

/// <summary>The reader with CRC32C header and data digests negotiated.</summary>
public class IscsiPduReaderDigestTests
{
    private const int Max = 8192;
    private static readonly IscsiPduReaderSettings s_digests = new(Max, DigestKind.Crc32C, DigestKind.Crc32C);

    /// <summary>A PDU with both digests: header, header digest, data padded to 4, data digest.</summary>
    private static byte[] WithDigests(ReadOnlySpan<byte> bhs, ReadOnlySpan<byte> data)
    {
        var padded = Bhs.Padded(data.Length);
        var pdu = new byte[48 + 4 + padded + (data.IsEmpty ? 0 : 4)];
        bhs.CopyTo(pdu);
        BinaryPrimitives.WriteUInt32LittleEndian(pdu.AsSpan(48), Crc32C.Compute(pdu.AsSpan(0, 48)));
        data.CopyTo(pdu.AsSpan(52));
        if (!data.IsEmpty)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(pdu.AsSpan(52 + padded), Crc32C.Compute(pdu.AsSpan(52, padded)));
        }

        return pdu;
    }

    private static byte[] DataOut(int length, uint itt = 5)
    {
        var bhs = new byte[48];
        new DataOutHeader { Final = true, DataSegmentLength = length, InitiatorTaskTag = itt, TargetTransferTag = 9 }.WriteTo(bhs);
        return WithDigests(bhs, Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray());
    }

    [Fact]
    public void DataDigestMismatch_SkipsThePduAndHidesItsData()
    {
        var bad = DataOut(10);
        bad[60] ^= 0x40; // a data byte
        var next = DataOut(3, itt: 6);
        var buffer = new ReadOnlySequence<byte>([.. bad, .. next]);

        IscsiPduReader.TryReadPdu(ref buffer, s_digests, out var pdu, out var error).Should().Be(PduReadResult.DataDigestError);

        error.Should().Be(PduReadError.DataDigestMismatch);
        pdu.Header.InitiatorTaskTag.Should().Be(5u);
        pdu.Header.DataSegmentLengthBytes.Should().Be(10);
        pdu.DataSegment.IsEmpty.Should().BeTrue("data that failed its digest is never exposed");
        pdu.WireLengthBytes.Should().Be(bad.Length);
        IscsiPduReader.TryReadPdu(ref buffer, s_digests, out var second, out _).Should().Be(PduReadResult.Pdu);
        second.Header.InitiatorTaskTag.Should().Be(6u);
        buffer.IsEmpty.Should().BeTrue();
    }

    [Fact]
    public void PaddingByteCorrupted_IsADataDigestError()
    {
        var bad = DataOut(10);
        bad[52 + 10] = 1; // the first padding byte is covered by the data digest

        var buffer = new ReadOnlySequence<byte>(bad);

        IscsiPduReader.TryReadPdu(ref buffer, s_digests, out _, out _).Should().Be(PduReadResult.DataDigestError);
    }

    [Fact]
    public void HeaderDigestMismatch_IsReportedBeforeTheOpcodeAndLengthAreTrusted()
    {
        // A header whose opcode and length were both corrupted on the way: the digest says so first.
        var pdu = DataOut(10);
        pdu[0] = 0x1c;                // a vendor-specific opcode
        pdu[5] = 0xff;                // DataSegmentLength far above the limit
        var buffer = new ReadOnlySequence<byte>(pdu);

        IscsiPduReader.TryReadPdu(ref buffer, s_digests, out var read, out var error).Should().Be(PduReadResult.ProtocolError);

        error.Should().Be(PduReadError.HeaderDigestMismatch);
        read.WireLengthBytes.Should().Be(0, "a header that failed its digest gives no length to skip");
        buffer.Length.Should().Be(pdu.Length, "nothing is consumed");
    }

    [Fact]
    public void HeaderDigest_NotYetBuffered_NeedsMoreDataEvenForAnOversizedLength()
    {
        var pdu = DataOut(10);
        var buffer = new ReadOnlySequence<byte>(pdu.AsMemory(0, 50));

        IscsiPduReader.TryReadPdu(ref buffer, new IscsiPduReaderSettings(4, DigestKind.Crc32C), out _, out _).Should().Be(PduReadResult.NeedMoreData);
    }

    [Fact]
    public void InvalidOpcodeWithSoundDigest_ReportsTheWireLengthIncludingDigests()
    {
        var bhs = new byte[48];
        bhs[0] = 0x1d;
        bhs[7] = 5; // DataSegmentLength 5
        var pdu = WithDigests(bhs, [1, 2, 3, 4, 5]);
        var buffer = new ReadOnlySequence<byte>(pdu);

        IscsiPduReader.TryReadPdu(ref buffer, s_digests, out var read, out var error).Should().Be(PduReadResult.ProtocolError);

        error.Should().Be(PduReadError.InvalidOpcode);
        read.WireLengthBytes.Should().Be(pdu.Length);
    }

    [Fact]
    public void EveryTwoSegmentSplit_ReadsTheSamePdu()
    {
        var pdu = DataOut(13);
        for (var split = 1; split < pdu.Length; split++)
        {
            var buffer = Bytes.Split(pdu, split);
            IscsiPduReader.TryReadPdu(ref buffer, s_digests, out var read, out _).Should().Be(PduReadResult.Pdu, $"split at {split}");
            read.DataSegment.Length.Should().Be(13);
        }
    }

    [Fact]
    public void SteadyState_WithDigests_DoesNotAllocate()
    {
        var good = DataOut(4096);
        var bad = DataOut(4096);
        bad[100] ^= 1;
        var both = new ReadOnlySequence<byte>([.. good, .. bad]);
        for (var i = 0; i < 10; i++)
        {
            var copy = both;
            IscsiPduReader.TryReadPdu(ref copy, s_digests, out _, out _);
            IscsiPduReader.TryReadPdu(ref copy, s_digests, out _, out _);
        }

        var expected = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            var copy = both;
            expected += IscsiPduReader.TryReadPdu(ref copy, s_digests, out _, out _) == PduReadResult.Pdu ? 1 : 0;
            expected += IscsiPduReader.TryReadPdu(ref copy, s_digests, out _, out _) == PduReadResult.DataDigestError ? 1 : 0;
        }

        (GC.GetAllocatedBytesForCurrentThread() - before).Should().Be(0);
        expected.Should().Be(2000);
    }

    [Fact]
    public void NoDataSegment_HasNoDataDigest()
    {
        var bhs = new byte[48];
        new NopOutHeader { Immediate = true, InitiatorTaskTag = 1, TargetTransferTag = Bhs.ReservedTag }.WriteTo(bhs);
        var pdu = WithDigests(bhs, []);
        var buffer = new ReadOnlySequence<byte>(pdu);

        IscsiPduReader.TryReadPdu(ref buffer, s_digests, out var read, out _).Should().Be(PduReadResult.Pdu);
        read.WireLengthBytes.Should().Be(52);
    }
}
