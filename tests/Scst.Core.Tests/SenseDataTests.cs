// Licensed under the Apache License, Version 2.0.

using Scst.Core;
using Scst.Testing;

namespace Scst.Core.Tests;

public sealed class SenseDataTests
{
    private static byte[] Write(in CommandOutcome outcome, bool descriptor)
    {
        // A dirty destination: every byte the writer does not set must come out as zero.
        var buffer = new byte[SenseData.MaxLength];
        buffer.AsSpan().Fill(0xFF);
        int n = SenseData.Write(buffer, outcome, descriptor);
        return buffer[..n];
    }

    [Fact]
    public void Write_FixedPlain_Is18BytesWithKeyAscAscq()
    {
        byte[] sense = Write(CommandOutcome.CheckCondition(SenseCode.LbaOutOfRange), descriptor: false);

        ByteAssert.Equal(ByteAssert.FromHex("70 00 05 00000000 0A 00000000 21 00 00 000000"), sense);
    }

    [Fact]
    public void Write_FixedWithFieldPointer_SetsSksvAndCommandDataBit()
    {
        byte[] sense = Write(CommandOutcome.InvalidFieldInCdb(2), descriptor: false);

        ByteAssert.Equal(ByteAssert.FromHex("70 00 05 00000000 0A 00000000 24 00 00 C0 0002"), sense);
    }

    [Fact]
    public void Write_FixedWithBitPointer_SetsBpvAndBit()
    {
        byte[] sense = Write(CommandOutcome.InvalidFieldInCdb(1, 4), descriptor: false);

        ByteAssert.Equal(ByteAssert.FromHex("70 00 05 00000000 0A 00000000 24 00 00 CC 0001"), sense);
    }

    [Fact]
    public void Write_FixedWithParameterListPointer_LeavesCommandDataBitClear()
    {
        byte[] sense = Write(CommandOutcome.InvalidFieldInParameterList(0x0102, 7), descriptor: false);

        ByteAssert.Equal(ByteAssert.FromHex("70 00 05 00000000 0A 00000000 26 00 00 8F 0102"), sense);
    }

    [Fact]
    public void Write_FixedWithInformation_SetsValidBitAndInformation()
    {
        byte[] sense = Write(CommandOutcome.WithInformation(SenseCode.UnrecoveredReadError, 0x1234_5678), descriptor: false);

        ByteAssert.Equal(ByteAssert.FromHex("F0 00 03 12345678 0A 00000000 11 00 00 000000"), sense);
    }

    [Fact]
    public void Write_DescriptorPlain_IsEightByteHeader()
    {
        byte[] sense = Write(CommandOutcome.CheckCondition(SenseCode.WriteProtected), descriptor: true);

        ByteAssert.Equal(ByteAssert.FromHex("72 07 27 00 000000 00"), sense);
    }

    [Fact]
    public void Write_DescriptorWithFieldPointer_AppendsSenseKeySpecificDescriptor()
    {
        byte[] sense = Write(CommandOutcome.InvalidFieldInCdb(2), descriptor: true);

        ByteAssert.Equal(ByteAssert.FromHex("72 05 24 00 000000 08" + "02 06 0000 C0 0002 00"), sense);
    }

    [Fact]
    public void Write_DescriptorWithBitPointer_SetsBpvAndBit()
    {
        byte[] sense = Write(CommandOutcome.InvalidFieldInCdb(2, 5), descriptor: true);

        ByteAssert.Equal(ByteAssert.FromHex("72 05 24 00 000000 08" + "02 06 0000 CD 0002 00"), sense);
    }

    [Fact]
    public void Write_DescriptorWithInformation_AppendsInformationDescriptor()
    {
        byte[] sense = Write(CommandOutcome.WithInformation(SenseCode.UnrecoveredReadError, 0x0123_4567_89AB_CDEF), descriptor: true);

        ByteAssert.Equal(ByteAssert.FromHex("72 03 11 00 000000 0C" + "00 0A 80 00 0123456789ABCDEF"), sense);
    }

    [Fact]
    public void Write_HardwareError_CarriesKey4Asc44()
    {
        byte[] sense = Write(CommandOutcome.CheckCondition(SenseCode.InternalTargetFailure), descriptor: false);

        sense[2].Should().Be(0x04);
        sense[12].Should().Be(0x44);
        sense[13].Should().Be(0x00);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TryReadCode_WhatWriteProduced_RoundTrips(bool descriptor)
    {
        SenseCode[] codes =
        [
            SenseCode.InvalidOpcode, SenseCode.LbaOutOfRange, SenseCode.LunNotSupported, SenseCode.WriteProtected,
            SenseCode.InvalidFieldInInformationUnit, SenseCode.ReportedLunsDataChanged, SenseCode.DataPhaseError,
        ];
        foreach (SenseCode code in codes)
        {
            byte[] sense = Write(CommandOutcome.CheckCondition(code), descriptor);

            bool ok = SenseData.TryReadCode(sense, out SenseCode read);

            ok.Should().BeTrue();
            read.Should().Be(code);
            SenseAssert.Parse(sense).Should().Be(code, "the helper's independent parser agrees");
        }
    }

    [Theory]
    [InlineData("71 00 06 00000000 0A 00000000 29 00")]
    [InlineData("73 06 29 00")]
    public void TryReadCode_DeferredErrors_AreRead(string hex)
    {
        bool ok = SenseData.TryReadCode(ByteAssert.FromHex(hex), out SenseCode code);

        ok.Should().BeTrue();
        code.Should().Be(SenseCode.PowerOnReset);
    }

    [Theory]
    [InlineData("")]
    [InlineData("72 05 24")]
    [InlineData("70 00 05 00000000 0A 00000000")]
    [InlineData("7F 00 05 00000000 0A 00000000 24 00")]
    [InlineData("00 05 24 00 00 00 00 00")]
    public void TryReadCode_TooShortOrUnknownFormat_ReturnsFalse(string hex)
    {
        bool ok = SenseData.TryReadCode(ByteAssert.FromHex(hex), out SenseCode code);

        ok.Should().BeFalse();
        code.Should().Be(default(SenseCode));
    }
}
