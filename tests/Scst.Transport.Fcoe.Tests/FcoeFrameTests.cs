// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Text;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>FCoE framing: fill bytes and the CRC over them, the trailer's byte order, VLAN tags, and refused frames.</summary>
public class FcoeFrameTests
{
    private static readonly MacAddress s_initiator = MacAddress.FromVn2VnPortId(0x000001);
    private static readonly MacAddress s_target = MacAddress.FromVn2VnPortId(0x000002);

    private static readonly FcFrameHeader s_dataIn = new()
    {
        RCtl = RCtl.FcpData,
        DestinationId = 0x000001,
        SourceId = 0x000002,
        Type = FcType.Fcp,
        FCtl = FCtl.DataInLast,
        SeqId = 1,
        RxId = 0x0007,
    };

    [Fact]
    public void ReferenceCrc_HasTheStandardCheckValue()
    {
        ReferenceCrc32.Compute(Encoding.ASCII.GetBytes("123456789")).Should().Be(0xCBF4_3926);
    }

    [Theory]
    [InlineData(6, 2)]
    [InlineData(8, 0)]
    [InlineData(5, 3)]
    [InlineData(7, 1)]
    [InlineData(0, 0)]
    public void Write_PadsThePayloadToAWord_PutsTheFillCountInFCtl_AndComputesTheCrcOverTheFill(int payloadLength, int expectedFill)
    {
        var payload = Enumerable.Range(0x41, payloadLength).Select(i => (byte)i).ToArray();
        var frame = Bytes.Dirty(128);

        int length = FcoeFrame.Write(frame, s_initiator, s_target, null, Sof.SofI3, s_dataIn, payload, Eof.EofT);

        length.Should().Be(14 + 14 + 24 + payloadLength + expectedFill + 8);
        int fcStart = 28;
        uint fCtl = (uint)((frame[fcStart + 9] << 16) | (frame[fcStart + 10] << 8) | frame[fcStart + 11]);
        (fCtl & FCtl.FillMask).Should().Be((uint)expectedFill);
        (fCtl & ~FCtl.FillMask).Should().Be(FCtl.DataInLast);
        int payloadStart = fcStart + FcFrameHeader.Length;
        Bytes.Equal(payload, frame.AsSpan(payloadStart, payloadLength));
        frame.AsSpan(payloadStart + payloadLength, expectedFill).ToArray().Should().Equal(new byte[expectedFill]);
        int crcOffset = payloadStart + payloadLength + expectedFill;
        uint expectedCrc = ReferenceCrc32.Compute(frame.AsSpan(fcStart, crcOffset - fcStart));
        BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(crcOffset)).Should().Be(expectedCrc);
        frame.AsSpan(crcOffset + 4, 4).ToArray().Should().Equal(Eof.EofT, 0, 0, 0);
        frame.AsSpan(14, 14).ToArray().Should().Equal(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, Sof.SofI3);
        BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)).Should().Be(EtherType.Fcoe);
    }

    [Fact]
    public void Write_ThenRead_ReturnsThePayloadWithoutItsFill()
    {
        byte[] vpd = [0x00, 0x80, 0x00, 0x02, 0x31, 0x32];
        var frame = Bytes.Dirty(128);
        int length = FcoeFrame.Write(frame, s_initiator, s_target, null, Sof.SofI3, s_dataIn, vpd, Eof.EofT);

        FcoeFrame.TryRead(frame.AsSpan(0, length), out var view).Should().Be(FcoeReadResult.Success);

        view.Payload.ToArray().Should().Equal(vpd);
        view.Header.FillCount.Should().Be(2);
        view.Header.Should().Be(s_dataIn with { FCtl = FCtl.DataInLast | 2 });
        view.FcContent.Length.Should().Be(24 + 8);
        view.Destination.Should().Be(s_initiator);
        view.Source.Should().Be(s_target);
        view.VlanTag.Should().BeNull();
        view.Crc.Should().Be(ReferenceCrc32.Compute(view.FcContent));
    }

    [Fact]
    public void CapturedFrames_StoreTheCrcLeastSignificantByteFirst()
    {
        var captured = Captures.PairFrame(23);
        int crcOffset = captured.Length - 8;

        uint crc = ReferenceCrc32.Compute(captured.AsSpan(28, crcOffset - 28));

        BinaryPrimitives.ReadUInt32LittleEndian(captured.AsSpan(crcOffset)).Should().Be(crc);
        BinaryPrimitives.ReadUInt32BigEndian(captured.AsSpan(crcOffset)).Should().NotBe(crc);
    }

    [Fact]
    public void Write_WithAVlanTag_InsertsTheTag_AndReadGivesItBack()
    {
        ushort tag = (3 << 13) | 100;
        var frame = Bytes.Dirty(128);

        int length = FcoeFrame.Write(frame, s_initiator, s_target, tag, Sof.SofI3, s_dataIn, [1, 2, 3, 4], Eof.EofT);

        length.Should().Be(FcoeFrame.GetFrameLength(tagged: true, 4));
        frame.AsSpan(12, 6).ToArray().Should().Equal(0x81, 0x00, 0x60, 0x64, 0x89, 0x06);
        FcoeFrame.TryRead(frame.AsSpan(0, length), out var view).Should().Be(FcoeReadResult.Success);
        view.VlanTag.Should().Be(tag);
        view.VlanId.Should().Be((ushort)100);
        view.Payload.ToArray().Should().Equal(1, 2, 3, 4);
        FcoeFrame.GetPayloadOffset(tagged: true).Should().Be(56);
    }

    [Fact]
    public void Constants_MatchFcBb5()
    {
        FcoeFrame.MaxFrameLength.Should().Be(2172);
        FcoeFrame.MaxTaggedFrameLength.Should().Be(2176);
        FcoeFrame.MaxFcoeSize.Should().Be(2158);
        FcoeFrame.MinFrameLength.Should().Be(60);
        FcoeFrame.GetPayloadOffset(tagged: false).Should().Be(52);
    }

    [Fact]
    public void Write_RefusesAPayloadLongerThan2112Bytes()
    {
        var frame = new byte[4096];

        var act = () => FcoeFrame.Write(frame, s_initiator, s_target, null, Sof.SofI3, s_dataIn, new byte[2113], Eof.EofT);

        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Write_RefusesADestinationTooShort()
    {
        var frame = new byte[67];

        var act = () => FcoeFrame.Write(frame, s_initiator, s_target, null, Sof.SofI3, s_dataIn, new byte[6], Eof.EofT);

        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void TryRead_WrongCrc_IsACrcError()
    {
        var frame = (byte[])Captures.PairFrame(24).Clone();
        frame[60] ^= 0x01;

        FcoeFrame.TryRead(frame, out _).Should().Be(FcoeReadResult.CrcError);
    }

    [Fact]
    public void TryRead_WrongCrcByteOrder_IsACrcError()
    {
        var frame = (byte[])Captures.PairFrame(24).Clone();
        frame.AsSpan(frame.Length - 8, 4).Reverse();

        FcoeFrame.TryRead(frame, out _).Should().Be(FcoeReadResult.CrcError);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(13)]
    [InlineData(14)]
    [InlineData(40)]
    [InlineData(59)]
    public void TryRead_TruncatedFrame_IsTruncated(int length)
    {
        var frame = Captures.PairFrame(24).AsSpan(0, length);

        FcoeFrame.TryRead(frame, out _).Should().Be(FcoeReadResult.Truncated);
    }

    [Fact]
    public void TryRead_FrameCutByAWord_IsRefused()
    {
        var frame = Captures.PairFrame(24).AsSpan(0, 92);

        FcoeFrame.TryRead(frame, out _).Should().NotBe(FcoeReadResult.Success);
    }

    [Fact]
    public void TryRead_WrongVersion_IsUnsupportedVersion()
    {
        var frame = (byte[])Captures.PairFrame(24).Clone();
        frame[14] = 0x10;

        FcoeFrame.TryRead(frame, out _).Should().Be(FcoeReadResult.UnsupportedVersion);
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x43)]
    [InlineData(0x51)]
    public void TryRead_BadEof_IsInvalidEof(byte eof)
    {
        var frame = (byte[])Captures.PairFrame(24).Clone();
        frame[^4] = eof;

        FcoeFrame.TryRead(frame, out _).Should().Be(FcoeReadResult.InvalidEof);
    }

    [Fact]
    public void TryRead_BadSof_IsInvalidSof()
    {
        var frame = (byte[])Captures.PairFrame(24).Clone();
        frame[27] = 0x2F;

        FcoeFrame.TryRead(frame, out _).Should().Be(FcoeReadResult.InvalidSof);
    }

    [Fact]
    public void TryRead_FipFrame_IsNotFcoe()
    {
        FcoeFrame.TryRead(Captures.PairFrame(0), out _).Should().Be(FcoeReadResult.NotFcoe);
    }

    [Fact]
    public void TryRead_ContentNotAWholeNumberOfWords_IsInvalidLength()
    {
        var captured = Captures.PairFrame(24);
        var frame = new byte[captured.Length + 1];
        captured.AsSpan(0, captured.Length - 8).CopyTo(frame);
        captured.AsSpan(captured.Length - 8).CopyTo(frame.AsSpan(frame.Length - 8));

        FcoeFrame.TryRead(frame, out _).Should().Be(FcoeReadResult.InvalidLength);
    }

    [Fact]
    public void TryRead_PayloadLongerThan2112Bytes_IsTooLong()
    {
        var frame = new byte[FcoeFrame.MaxFrameLength + 4];
        FcoeFrame.Write(frame, s_initiator, s_target, null, Sof.SofI3, s_dataIn, new byte[2112], Eof.EofT);
        frame.AsSpan(FcoeFrame.MaxFrameLength - 8, 8).CopyTo(frame.AsSpan(FcoeFrame.MaxFrameLength - 4));
        Reseal(frame);

        FcoeFrame.TryRead(frame, out _).Should().Be(FcoeReadResult.TooLong);
    }

    [Fact]
    public void TryRead_FillCountLargerThanThePayload_IsInvalidFill()
    {
        var frame = new byte[FcoeFrame.MinFrameLength];
        FcoeFrame.Write(frame, s_initiator, s_target, null, Sof.SofI3, s_dataIn, [], Eof.EofT);
        frame[28 + 11] |= 3;
        Reseal(frame);

        FcoeFrame.TryRead(frame, out _).Should().Be(FcoeReadResult.InvalidFill);
    }

    [Fact]
    public void TryRead_EveryFcoeFrameOfTheCaptures_IsCrcGood()
    {
        int count = 0;
        foreach (var record in Captures.All)
        {
            var result = FcoeFrame.TryRead(record.Data, out _);
            if (result != FcoeReadResult.NotFcoe)
            {
                result.Should().Be(FcoeReadResult.Success, $"frame {record.Index}");
                count++;
            }
        }

        count.Should().Be(385);
    }

    /// <summary>Recomputes the CRC of an untagged frame after a test edited it.</summary>
    private static void Reseal(byte[] frame)
    {
        int crcOffset = frame.Length - 8;
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(crcOffset), ReferenceCrc32.Compute(frame.AsSpan(28, crcOffset - 28)));
    }
}
