// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Buffers.Binary;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Transport.Iscsi.Tests.Protocol;

public class IscsiPduReaderTests
{
    private const int Max = 8192;

    /// <summary>A Text Request with 5 data bytes (3 bytes of padding) followed by a NOP-Out.</summary>
    private static byte[] TextThenNop()
    {
        var text = new byte[48 + 8];
        new TextRequestHeader { Final = true, DataSegmentLength = 5, InitiatorTaskTag = 1, TargetTransferTag = Bhs.ReservedTag, CmdSn = 2 }.WriteTo(text);
        "a=b\0c"u8.CopyTo(text.AsSpan(48));
        var nop = new byte[48];
        new NopOutHeader { Immediate = true, InitiatorTaskTag = 2, TargetTransferTag = Bhs.ReservedTag }.WriteTo(nop);
        return [.. text, .. nop];
    }

    [Fact]
    public void TryReadPdu_TwoPdusInOneBuffer_ReadsBothAndConsumesPadding()
    {
        var buffer = new ReadOnlySequence<byte>(TextThenNop());

        var first = IscsiPduReader.TryReadPdu(ref buffer, Max, out var text, out _);
        var second = IscsiPduReader.TryReadPdu(ref buffer, Max, out var nop, out _);

        first.Should().Be(PduReadResult.Pdu);
        text.Header.Opcode.Should().Be(IscsiOpcode.TextRequest);
        Bytes.Equal("a=b\0c"u8, text.DataSegment.ToArray());
        text.WireLengthBytes.Should().Be(56);
        second.Should().Be(PduReadResult.Pdu);
        nop.Header.Opcode.Should().Be(IscsiOpcode.NopOut);
        buffer.IsEmpty.Should().BeTrue();
    }

    [Fact]
    public void TryReadPdu_EveryTwoSegmentSplit_GivesTheSameResult()
    {
        var bytes = TextThenNop();
        for (var split = 1; split < bytes.Length; split++)
        {
            var buffer = Bytes.Split(bytes, split);

            IscsiPduReader.TryReadPdu(ref buffer, Max, out var text, out _).Should().Be(PduReadResult.Pdu, $"split at {split}");
            IscsiPduReader.TryReadPdu(ref buffer, Max, out var nop, out _).Should().Be(PduReadResult.Pdu, $"split at {split}");

            text.Header.AsTextRequest().CmdSn.Should().Be(2);
            Bytes.Equal("a=b\0c"u8, text.DataSegment.ToArray());
            nop.Header.AsNopOut().InitiatorTaskTag.Should().Be(2);
            buffer.IsEmpty.Should().BeTrue();
        }
    }

    [Fact]
    public void TryReadPdu_OneSegmentPerByte_Decodes()
    {
        var buffer = Bytes.PerByte(TextThenNop());

        IscsiPduReader.TryReadPdu(ref buffer, Max, out var text, out _).Should().Be(PduReadResult.Pdu);

        Bytes.Equal("a=b\0c"u8, text.DataSegment.ToArray());
    }

    [Fact]
    public void TryReadPdu_EveryTruncation_NeedsMoreDataAndConsumesNothing()
    {
        var bytes = TextThenNop()[..56];
        for (var length = 0; length < bytes.Length; length++)
        {
            var buffer = new ReadOnlySequence<byte>(bytes, 0, length);

            IscsiPduReader.TryReadPdu(ref buffer, Max, out _, out _).Should().Be(PduReadResult.NeedMoreData, $"length {length}");

            buffer.Length.Should().Be(length);
        }
    }

    [Fact]
    public void TryReadPdu_DataSegmentAboveLimit_ReportedBeforePayloadArrives()
    {
        var bhs = new byte[48];
        new DataOutHeader { DataSegmentLength = Max + 1 }.WriteTo(bhs);
        var buffer = new ReadOnlySequence<byte>(bhs);

        var result = IscsiPduReader.TryReadPdu(ref buffer, Max, out var pdu, out var error);

        result.Should().Be(PduReadResult.ProtocolError);
        error.Should().Be(PduReadError.DataSegmentTooLong);
        pdu.Header.Opcode.Should().Be(IscsiOpcode.DataOut);
        buffer.Length.Should().Be(48);
    }

    [Theory]
    [InlineData(0x07)]
    [InlineData(0x1c)]
    [InlineData(0x3f)]
    [InlineData(0x21)]
    public void TryReadPdu_OpcodeNotFromAnInitiator_ReportedAsInvalidOpcode(byte opcode)
    {
        var bhs = new byte[48];
        bhs[0] = opcode;
        var buffer = new ReadOnlySequence<byte>(bhs);

        var result = IscsiPduReader.TryReadPdu(ref buffer, Max, out var pdu, out var error);

        result.Should().Be(PduReadResult.ProtocolError);
        error.Should().Be(PduReadError.InvalidOpcode);
        Bytes.Equal(bhs, pdu.Header.Bytes);
    }

    [Fact]
    public void TryReadPdu_InitiatorSettings_AcceptTargetOpcodes()
    {
        var bhs = new byte[48];
        new ScsiResponseHeader { Status = 2 }.WriteTo(bhs);
        var buffer = new ReadOnlySequence<byte>(bhs);

        var result = IscsiPduReader.TryReadPdu(ref buffer, new IscsiPduReaderSettings(Max, AcceptTargetOpcodes: true), out var pdu, out _);

        result.Should().Be(PduReadResult.Pdu);
        pdu.Header.AsScsiResponse().Status.Should().Be(2);
    }

    [Fact]
    public void TryReadPdu_AhsLength_CountedInWords()
    {
        var cdb = new byte[32];
        cdb[0] = 0x7f;
        cdb[31] = 0xee;
        var ahs = new byte[20];
        var ahsLength = AdditionalHeaderSegment.WriteExtendedCdb(ahs, cdb);
        var pdu = new byte[48 + ahsLength];
        new ScsiCommandHeader { Final = true, TotalAhsLengthWords = ahsLength / 4, Cdb = Cdb16.From(cdb.AsSpan(0, 16)) }.WriteTo(pdu);
        ahs.AsSpan(0, ahsLength).CopyTo(pdu.AsSpan(48));
        var buffer = new ReadOnlySequence<byte>(pdu);

        IscsiPduReader.TryReadPdu(ref buffer, Max, out var read, out _).Should().Be(PduReadResult.Pdu);

        ahsLength.Should().Be(20);
        read.AdditionalHeaderSegments.Length.Should().Be(20);
        Span<byte> full = stackalloc byte[64];
        AdditionalHeaderSegment.TryGetCdb(read.Header.AsScsiCommand(), read.AdditionalHeaderSegments, full, out var cdbLength).Should().BeTrue();
        cdbLength.Should().Be(32);
        Bytes.Equal(cdb, full[..32]);
    }

    [Fact]
    public void TryGetCdb_NoAhs_Returns16Bytes()
    {
        var command = new ScsiCommandHeader { Cdb = Cdb16.From([0x12, 0, 0, 0, 0x24, 0]) };
        Span<byte> cdb = stackalloc byte[16];

        AdditionalHeaderSegment.TryGetCdb(command, default, cdb, out var length).Should().BeTrue();

        length.Should().Be(16);
        cdb[0].Should().Be(0x12);
    }

    [Fact]
    public void TryGetBidirectionalReadLength_PresentAhs_ReturnsLength()
    {
        var ahs = Bytes.Hex("00 05 02 00  00 00 40 00");

        AdditionalHeaderSegment.TryGetBidirectionalReadLength(new(ahs), out var length).Should().BeTrue();

        length.Should().Be(0x4000);
    }

    [Fact]
    public void Crc32C_ThirtyTwoZeroBytes_MatchesRfcVector()
    {
        // RFC 3720 appendix B.4: 32 bytes of zeros give the digest bytes aa 36 91 8a on the wire.
        var crc = Crc32C.Compute(new byte[32]);
        var wire = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(wire, crc);

        Bytes.Equal(Bytes.Hex("aa 36 91 8a"), wire);
    }

    [Fact]
    public void TryReadPdu_WithDigests_VerifiesAndStripsThem()
    {
        var bhs = new byte[48];
        new NopOutHeader { DataSegmentLength = 2, InitiatorTaskTag = 1, TargetTransferTag = Bhs.ReservedTag }.WriteTo(bhs);
        var data = new byte[] { 0xab, 0xcd, 0, 0 };
        var headerDigest = new byte[4];
        var dataDigest = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(headerDigest, Crc32C.Compute(bhs));
        BinaryPrimitives.WriteUInt32LittleEndian(dataDigest, Crc32C.Compute(data));
        byte[] pdu = [.. bhs, .. headerDigest, .. data, .. dataDigest];
        var settings = new IscsiPduReaderSettings(Max, DigestKind.Crc32C, DigestKind.Crc32C);
        var buffer = new ReadOnlySequence<byte>(pdu);

        IscsiPduReader.TryReadPdu(ref buffer, settings, out var read, out _).Should().Be(PduReadResult.Pdu);
        Bytes.Equal([0xab, 0xcd], read.DataSegment.ToArray());

        pdu[49] ^= 1;
        buffer = new ReadOnlySequence<byte>(pdu);
        IscsiPduReader.TryReadPdu(ref buffer, settings, out _, out var error).Should().Be(PduReadResult.ProtocolError);
        error.Should().Be(PduReadError.HeaderDigestMismatch);
    }

    [Fact]
    public void TryReadPdu_SteadyState_DoesNotAllocate()
    {
        var bytes = TextThenNop();
        var buffer = new ReadOnlySequence<byte>(bytes);
        for (var i = 0; i < 10; i++)
        {
            var copy = buffer;
            IscsiPduReader.TryReadPdu(ref copy, Max, out _, out _);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            var copy = buffer;
            IscsiPduReader.TryReadPdu(ref copy, Max, out _, out _);
            IscsiPduReader.TryReadPdu(ref copy, Max, out _, out _);
        }

        (GC.GetAllocatedBytesForCurrentThread() - before).Should().Be(0);
    }
}
