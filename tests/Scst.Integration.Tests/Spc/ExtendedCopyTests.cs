// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Globalization;
using Scst.Core;
using Scst.Core.Spc.ExtendedCopy;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests.Spc;

/// <summary>
/// EXTENDED COPY(LID1) and RECEIVE COPY RESULTS over the Local transport, between two vdisk_fileio LUNs (LUN 0 "disk0"
/// and LUN 1 "disk1", 8 MiB each). Parameter lists are built byte by byte from SPC-4, with CSCD descriptors made from
/// the designators the LUNs report in VPD page 83h, as an initiator builds them.
/// </summary>
public sealed class ExtendedCopyTests : IDisposable
{
    private const int BlockSize = 512;
    private const int Header = 16;
    private const int Cscd = 32;
    private const int FirstSegment = Header + Cscd; // with one CSCD descriptor

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    // ---- copies that work ----

    [Fact]
    public async Task Copy_BetweenTwoLuns_CopiesTheBlocksAndNothingElse()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();
        const int Blocks = 6145; // three chunks of 1 MiB and one block: the last chunk is short
        byte[] pattern = Pattern(Blocks * BlockSize, seed: 1);
        await WriteAsync(session, 0, 10, pattern);
        byte[] before = await ReadBlocksAsync(session, 1, 0, 8192);

        LocalResult result = await CopyAsync(session, List(0, 3, [await CscdAsync(session, 0), await CscdAsync(session, 1)], [Segment(0, 1, Blocks, 10, 100)]));

        SenseAssert.IsGood(result);
        byte[] after = await ReadBlocksAsync(session, 1, 0, 8192);
        ByteAssert.Equal(pattern, after.AsSpan(100 * BlockSize, Blocks * BlockSize));
        ByteAssert.Equal(before.AsSpan(0, 100 * BlockSize), after.AsSpan(0, 100 * BlockSize));
        ByteAssert.Equal(before.AsSpan((100 + Blocks) * BlockSize), after.AsSpan((100 + Blocks) * BlockSize));
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData(0, 1000)] // destination above the source: copied from the end backwards
    [InlineData(1000, 0)] // destination below the source
    public async Task Copy_WithinOneLunOverlapping_BehavesLikeMemmove(int sourceLba, int destinationLba)
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();
        const int Blocks = 4096; // 2 MiB: two chunks, which overlap each other's ranges
        byte[] original = Pattern(8192 * BlockSize, seed: 2);
        await WriteAsync(session, 0, 0, original);

        LocalResult result = await CopyAsync(session, List(0, 3, [await CscdAsync(session, 0)], [Segment(0, 0, Blocks, (ulong)sourceLba, (ulong)destinationLba)]));

        SenseAssert.IsGood(result);
        byte[] expected = (byte[])original.Clone();
        Buffer.BlockCopy(original, sourceLba * BlockSize, expected, destinationLba * BlockSize, Blocks * BlockSize);
        byte[] after = await ReadBlocksAsync(session, 0, 0, 8192);
        ByteAssert.Equal(expected, after);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Copy_SeveralSegments_RunsThemInOrder()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();
        byte[] a = Pattern(8 * BlockSize, seed: 3);
        await WriteAsync(session, 0, 0, a);
        byte[][] cscds = [await CscdAsync(session, 0), await CscdAsync(session, 1)];

        // Segment 0 copies LUN 0 to LUN 1; segment 1 copies that copy back to another place of LUN 0.
        LocalResult result = await CopyAsync(session, List(0, 3, cscds, [Segment(0, 1, 8, 0, 40), Segment(1, 0, 8, 40, 500)]));

        SenseAssert.IsGood(result);
        byte[] onLun1 = await ReadBlocksAsync(session, 1, 40, 8);
        ByteAssert.Equal(a, onLun1);
        byte[] backOnLun0 = await ReadBlocksAsync(session, 0, 500, 8);
        ByteAssert.Equal(a, backOnLun0);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Copy_ToLargerBlocksWithDestinationCount_CountsDestinationBlocks()
    {
        await using ScstStack stack = await StartAsync(secondBlockSize: 4096);
        LocalSession session = stack.OpenSession();
        byte[] a = Pattern(3 * 4096, seed: 4);
        await WriteAsync(session, 0, 16, a);

        // DC=1: NUMBER OF BLOCKS (3) counts 4096-byte destination blocks, that is 24 source blocks.
        LocalResult result = await CopyAsync(session, List(0, 3, [await CscdAsync(session, 0), await CscdAsync(session, 1, blockSize: 4096)], [Segment(0, 1, 3, 16, 2, dc: true)]));

        SenseAssert.IsGood(result);
        byte[] copied = await ReadBlocksAsync(session, 1, 2, 3, 4096);
        ByteAssert.Equal(a, copied);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Copy_WithTruncatedT10Designator_FindsTheLogicalUnitByPrefix()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();
        byte[] a = Pattern(4 * BlockSize, seed: 5);
        await WriteAsync(session, 0, 0, a);

        // The T10 vendor ID designator is longer than the 20 bytes a CSCD descriptor holds: its first 20 bytes name it.
        byte[] source = await CscdAsync(session, 0, designatorType: 1);
        LocalResult result = await CopyAsync(session, List(0, 3, [source, await CscdAsync(session, 1)], [Segment(0, 1, 4, 0, 0)]));

        SenseAssert.IsGood(result);
        source[7].Should().Be(20);
        byte[] copied = await ReadBlocksAsync(session, 1, 0, 4);
        ByteAssert.Equal(a, copied);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Copy_FromReadOnlyLun_IsAllowed()
    {
        await using ScstStack stack = await StartAsync(secondReadOnly: true);
        LocalSession session = stack.OpenSession();
        byte[] expected = await ReadBlocksAsync(session, 1, 0, 4);

        LocalResult result = await CopyAsync(session, List(0, 3, [await CscdAsync(session, 1), await CscdAsync(session, 0)], [Segment(0, 1, 4, 0, 7)]));

        SenseAssert.IsGood(result);
        byte[] copied = await ReadBlocksAsync(session, 0, 7, 4);
        ByteAssert.Equal(expected, copied);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Copy_ZeroParameterListLength_IsGoodAndDoesNothing()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();

        LocalResult result = await session.ExecuteAsync(0, ExtendedCopyCdb(0), DataDirection.None, Memory<byte>.Empty);

        SenseAssert.IsGood(result);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Copy_ZeroBlocks_IsGood()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();

        LocalResult result = await CopyAsync(session, List(0, 3, [await CscdAsync(session, 0)], [Segment(0, 0, 0, 0, 1)]));

        SenseAssert.IsGood(result);
        stack.AssertNoLeaks();
    }

    // ---- errors in the parameter list: ILLEGAL REQUEST, nothing copied ----

    [Fact]
    public async Task Header_ShorterThan16Bytes_IsParameterListLengthError()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();

        LocalResult result = await CopyAsync(session, new byte[15]);

        SenseAssert.IsCheckCondition(result, SenseCode.ParameterListLengthError);
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData(-1)]  // the CSCD descriptor is cut
    [InlineData(-29)] // the segment descriptor is missing
    public async Task List_ShorterThanItsDescriptorLists_IsParameterListLengthError(int cut)
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();
        byte[] list = List(1, 0, [await CscdAsync(session, 0)], [Segment(0, 0, 8, 0, 100)]);

        LocalResult result = await CopyAsync(session, list[..(list.Length + cut)]);

        SenseAssert.IsCheckCondition(result, SenseCode.ParameterListLengthError);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task List_LongerThanItsDescriptorLists_IsInlineDataLengthExceeded()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();

        LocalResult result = await CopyAsync(session, [.. List(1, 0, [await CscdAsync(session, 0)], [Segment(0, 0, 8, 0, 100)]), 0, 0, 0, 0]);

        SenseAssert.IsCheckCondition(result, SenseCode.InlineDataLengthExceeded);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Header_InlineDataLength_IsInlineDataLengthExceeded()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();
        byte[] list = List(1, 0, [await CscdAsync(session, 0)], [Segment(0, 0, 8, 0, 100)]);
        BinaryPrimitives.WriteUInt32BigEndian(list.AsSpan(12), 4);

        LocalResult result = await CopyAsync(session, [.. list, 1, 2, 3, 4]);

        SenseAssert.IsCheckCondition(result, SenseCode.InlineDataLengthExceeded);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Header_ListIdUsage01b_IsInvalidFieldAtByte1Bit4()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();

        LocalResult result = await CopyAsync(session, List(1, 1, [await CscdAsync(session, 0)], [Segment(0, 0, 8, 0, 100)]));

        result.ShouldBeInvalidFieldInParameterList(1, 4);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Header_NoListIdUsageWithNonzeroListId_IsInvalidFieldAtByte0()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();

        LocalResult result = await CopyAsync(session, List(9, 3, [await CscdAsync(session, 0)], [Segment(0, 0, 8, 0, 100)]));

        result.ShouldBeInvalidFieldInParameterList(0);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Header_SegmentsWithoutCscds_IsInvalidFieldAtByte2()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();

        LocalResult result = await CopyAsync(session, List(1, 0, [], [Segment(0, 0, 8, 0, 100)]));

        result.ShouldBeInvalidFieldInParameterList(2);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Header_CscdListLengthNotAMultipleOf32_IsInvalidFieldAtByte2()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();
        byte[] cscd = await CscdAsync(session, 0);

        LocalResult result = await CopyAsync(session, List(1, 0, [cscd[..31]], []));

        result.ShouldBeInvalidFieldInParameterList(2);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Cscds_MoreThanTheMaximum_IsTooManyTargetDescriptors()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();
        byte[] cscd = await CscdAsync(session, 0);

        LocalResult result = await CopyAsync(session, List(1, 0, [.. Enumerable.Repeat(cscd, 6)], [Segment(0, 0, 8, 0, 100)]));

        SenseAssert.IsCheckCondition(result, SenseCode.TooManyTargetDescriptors);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Cscd_FibreChannelType_IsUnsupportedTargetDescriptorTypeCode()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();
        byte[] cscd = await CscdAsync(session, 0);
        cscd[0] = 0xE0;

        LocalResult result = await CopyAsync(session, List(1, 0, [cscd], [Segment(0, 0, 8, 0, 100)]));

        result.ShouldBeInvalidField(SenseCode.UnsupportedTargetDescriptorTypeCode, inCdb: false, Header);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Cscd_PeripheralDeviceTypeNotBlock_IsInvalidFieldAtIt()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();
        byte[] cscd = await CscdAsync(session, 0);
        cscd[1] = 0x05;

        LocalResult result = await CopyAsync(session, List(1, 0, [cscd], [Segment(0, 0, 8, 0, 100)]));

        result.ShouldBeInvalidFieldInParameterList(Header + 1, 4);
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData(0x80)] // SPC-3 LU ID TYPE 10b (reserved there)
    [InlineData(0x40)] // SPC-3 LU ID TYPE 01b (proxy token)
    [InlineData(0x20)] // SPC-3 NUL
    public async Task Cscd_ObsoleteBitsOfByte1_AreIgnored(byte byte1)
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();
        byte[] a = Pattern(8 * BlockSize, seed: 8);
        await WriteAsync(session, 0, 0, a);
        byte[] cscd = await CscdAsync(session, 0);
        cscd[1] = byte1;

        LocalResult result = await CopyAsync(session, List(1, 0, [cscd], [Segment(0, 0, 8, 0, 100)]));

        SenseAssert.IsGood(result);
        byte[] copied = await ReadBlocksAsync(session, 0, 100, 8);
        ByteAssert.Equal(a, copied);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Cscd_DesignatorLongerThan20Bytes_IsInvalidFieldAtItsLength()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();
        byte[] cscd = await CscdAsync(session, 0);
        cscd[7] = 21;

        LocalResult result = await CopyAsync(session, List(1, 0, [cscd], [Segment(0, 0, 8, 0, 100)]));

        result.ShouldBeInvalidFieldInParameterList(Header + 7);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Cscd_WrongDiskBlockLength_IsInvalidFieldAtIt()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();

        LocalResult result = await CopyAsync(session, List(1, 0, [await CscdAsync(session, 0, blockSize: 4096)], [Segment(0, 0, 8, 0, 100)]));

        result.ShouldBeInvalidFieldInParameterList(Header + 29);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Segment_StreamToStream_IsUnsupportedSegmentDescriptorTypeCode()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();
        byte[] segment = new byte[20];
        segment[0] = 0x03;
        segment[3] = 16;

        LocalResult result = await CopyAsync(session, List(1, 0, [await CscdAsync(session, 0)], [segment]));

        result.ShouldBeInvalidField(SenseCode.UnsupportedSegmentDescriptorTypeCode, inCdb: false, FirstSegment);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Segments_MoreThanTheMaximum_IsTooManySegmentDescriptors()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();
        byte[] segment = Segment(0, 0, 1, 0, 100);

        LocalResult result = await CopyAsync(session, List(1, 0, [await CscdAsync(session, 0)], [.. Enumerable.Repeat(segment, CopyLimits.MaxSegmentDescriptors + 1)]));

        SenseAssert.IsCheckCondition(result, SenseCode.TooManySegmentDescriptors);
        result.Outcome.FieldPointer.Should().Be((ushort)(FirstSegment + (28 * CopyLimits.MaxSegmentDescriptors)));
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Segment_WrongDescriptorLength_IsInvalidFieldAtIt()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();
        byte[] segment = Segment(0, 0, 8, 0, 100);
        segment[3] = 0x14;

        LocalResult result = await CopyAsync(session, List(1, 0, [await CscdAsync(session, 0)], [segment]));

        result.ShouldBeInvalidFieldInParameterList(FirstSegment + 2);
        stack.AssertNoLeaks();
    }

    // ---- segments that cannot be performed: COPY ABORTED with the segment number, nothing copied ----

    [Fact]
    public async Task Segment_CscdIndexBeyondTheList_IsCopyAbortedPointingAtTheIndex()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();

        LocalResult result = await CopyAsync(session, List(1, 0, [await CscdAsync(session, 0)], [Segment(0, 1, 8, 0, 100)]));

        ShouldBeCopyAborted(result, SenseCode.CopyAborted, segment: 0, FirstSegment + 6);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Segment_UsingUnknownDesignator_IsCopyTargetDeviceNotReachable()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();
        byte[] cscd = await CscdAsync(session, 0);
        cscd[11] ^= 0xFF;

        LocalResult result = await CopyAsync(session, List(1, 0, [cscd], [Segment(0, 0, 8, 0, 100)]));

        ShouldBeCopyAborted(result, SenseCode.CopyTargetDeviceNotReachable, segment: 0, FirstSegment + 4);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Segment_UsingDeviceTheSessionDoesNotReach_IsCopyTargetDeviceNotReachable()
    {
        await using ScstStack stack = await StartAsync();
        stack.Engine.AddDevice("vdisk_fileio", "hidden", FileIo(_dir.File("hidden.img"), BlockSize));
        LocalSession session = stack.OpenSession();
        byte[] hidden = Cscd0(NaaDesignator(DeviceIdentity.FromName("hidden").DeviceId), BlockSize);

        LocalResult result = await CopyAsync(session, List(1, 0, [await CscdAsync(session, 0), hidden], [Segment(0, 1, 8, 0, 100)]));

        ShouldBeCopyAborted(result, SenseCode.CopyTargetDeviceNotReachable, segment: 0, FirstSegment + Cscd + 6);
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData(16377UL, 0UL, 12)]        // source beyond the end
    [InlineData(0UL, 16377UL, 20)]        // destination beyond the end (the libiscsi ValidSegDescr case)
    [InlineData(ulong.MaxValue, 0UL, 12)] // LBA + blocks overflows
    public async Task Segment_BlocksBeyondTheEnd_IsCopyAbortedPointingAtTheLba(ulong sourceLba, ulong destinationLba, int field)
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();
        byte[] before = await ReadBlocksAsync(session, 0, 0, 16);

        LocalResult result = await CopyAsync(session, List(1, 0, [await CscdAsync(session, 0)], [Segment(0, 0, 8, sourceLba, destinationLba)]));

        ShouldBeCopyAborted(result, SenseCode.CopyAborted, segment: 0, FirstSegment + field);
        byte[] after = await ReadBlocksAsync(session, 0, 0, 16);
        ByteAssert.Equal(before, after);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Segment_SecondFails_ReportsSegment1AndCopiesNothing()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();
        await WriteAsync(session, 0, 0, Pattern(8 * BlockSize, seed: 6));
        byte[] before = await ReadBlocksAsync(session, 1, 0, 8);

        LocalResult result = await CopyAsync(session, List(1, 0, [await CscdAsync(session, 0), await CscdAsync(session, 1)], [Segment(0, 1, 8, 0, 0), Segment(0, 1, 8, 0, 16380)]));

        ShouldBeCopyAborted(result, SenseCode.CopyAborted, segment: 1, FirstSegment + Cscd + 28 + 20);
        byte[] after = await ReadBlocksAsync(session, 1, 0, 8);
        ByteAssert.Equal(before, after);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Copy_ToReadOnlyLun_IsDataProtectAndLeavesItUnchanged()
    {
        await using ScstStack stack = await StartAsync(secondReadOnly: true);
        LocalSession session = stack.OpenSession();
        await WriteAsync(session, 0, 0, Pattern(8 * BlockSize, seed: 7));
        byte[] before = await ReadBlocksAsync(session, 1, 0, 8);

        LocalResult result = await CopyAsync(session, List(0, 3, [await CscdAsync(session, 0), await CscdAsync(session, 1)], [Segment(0, 1, 8, 0, 0)]));

        SenseAssert.IsCheckCondition(result, SenseCode.WriteProtected);
        byte[] after = await ReadBlocksAsync(session, 1, 0, 8);
        ByteAssert.Equal(before, after);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Copy_ToReadOnlyDevice_IsDataProtect()
    {
        await using ScstStack stack = await StartAsync(secondDeviceReadOnly: true);
        LocalSession session = stack.OpenSession();

        LocalResult result = await CopyAsync(session, List(0, 3, [await CscdAsync(session, 0), await CscdAsync(session, 1)], [Segment(0, 1, 8, 0, 0)]));

        SenseAssert.IsCheckCondition(result, SenseCode.WriteProtected);
        stack.AssertNoLeaks();
    }

    // ---- RECEIVE COPY RESULTS ----

    [Fact]
    public async Task CopyStatus_AfterACopy_ReportsCompletionOnceThenForgetsIt()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();

        SenseAssert.IsGood(await CopyAsync(session, List(7, 0, [await CscdAsync(session, 0), await CscdAsync(session, 1)], [Segment(0, 1, 8, 0, 0)])));
        (LocalResult status, byte[] d) = await ReceiveAsync(session, 0x00, 7);

        SenseAssert.IsGood(status);
        ByteAssert.Equal(ByteAssert.FromHex("00000008 01 0001 00 00001000"), d);
        (LocalResult again, _) = await ReceiveAsync(session, 0x00, 7);
        SenseAssert.IsInvalidFieldInCdb(again, 2);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task CopyStatus_UnknownListId_IsInvalidFieldAtByte2()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult status, _) = await ReceiveAsync(session, 0x00, 1);

        SenseAssert.IsInvalidFieldInCdb(status, 2);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task CopyStatus_CopyWithoutListId_IsNotKept()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();

        SenseAssert.IsGood(await CopyAsync(session, List(0, 3, [await CscdAsync(session, 0)], [Segment(0, 0, 8, 0, 64)])));
        (LocalResult status, _) = await ReceiveAsync(session, 0x00, 0);

        SenseAssert.IsInvalidFieldInCdb(status, 2);
        stack.Engine.CopyManager.ListsOf(session.Session).Count.Should().Be(0);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task CopyStatus_IsPerNexus()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();
        LocalSession other = stack.OpenSession(initiator: "iqn.2024-01.test:other");

        SenseAssert.IsGood(await CopyAsync(session, List(7, 0, [await CscdAsync(session, 0)], [Segment(0, 0, 8, 0, 64)])));
        (LocalResult status, _) = await ReceiveAsync(other, 0x00, 7);

        SenseAssert.IsInvalidFieldInCdb(status, 2);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task FailedSegmentDetails_AfterARefusedSegment_ReturnsItsSenseData()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();
        LocalResult copy = await CopyAsync(session, List(4, 0, [await CscdAsync(session, 0)], [Segment(0, 0, 8, 0, 100), Segment(0, 0, 8, 16383, 100)]));
        ShouldBeCopyAborted(copy, SenseCode.CopyAborted, segment: 1, FirstSegment + 28 + 12);

        (LocalResult status, byte[] s) = await ReceiveAsync(session, 0x00, 4);
        SenseAssert.IsGood(status);
        s[4].Should().Be(0x02, "completed with an error");
        BinaryPrimitives.ReadUInt16BigEndian(s.AsSpan(5)).Should().Be(2, "the failing segment is counted");
        BinaryPrimitives.ReadUInt32BigEndian(s.AsSpan(8)).Should().Be(0, "nothing was copied");

        ShouldBeCopyAborted(await CopyAsync(session, List(5, 0, [await CscdAsync(session, 0)], [Segment(0, 0, 8, 16383, 100)])), SenseCode.CopyAborted, segment: 0, FirstSegment + 12);
        (LocalResult details, byte[] d) = await ReceiveAsync(session, 0x04, 5);

        SenseAssert.IsGood(details);
        d.Length.Should().Be(60 + 18);
        BinaryPrimitives.ReadUInt32BigEndian(d).Should().Be(60 + 18 - 4, "AVAILABLE DATA");
        d[56].Should().Be((byte)ScsiStatus.CheckCondition);
        BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(58)).Should().Be(18);
        SenseAssert.HasCode(d.AsSpan(60), SenseCode.CopyAborted);
        BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(60 + 8)).Should().Be(0, "segment 0 in the COMMAND-SPECIFIC INFORMATION field");
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task OperatingParameters_ReportSctsLimits()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await ReceiveAsync(session, 0x03, 0);

        SenseAssert.IsGood(result);
        ByteAssert.Equal(
            ByteAssert.FromHex(
                "0000002A 01 000000 0005 0100 0000FFFF 10000000" +  // SNLID; 5 CSCDs; 256 segments; 65535 bytes; 256 MiB
                "00000000 00000000 00000000 0000" +                // no inline data, held data or stream devices
                "FFFF FF 10 00 00 000000 02 02 E4"),               // copies; granularity 2^16; codes 02h and E4h
            d);
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task ReceiveCopyResults_UnknownServiceAction_IsInvalidFieldInCdb()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, _) = await ReceiveAsync(session, 0x01, 0);

        SenseAssert.IsInvalidFieldInCdb(result, 1, 4);
        stack.AssertNoLeaks();
    }

    // ---- running copies: list identifiers in use, abort ----

    [Fact]
    public async Task ListId_OfARunningCopy_IsOperationInProgressAndStatusShowsItRunning()
    {
        var pending = new PendingBlockDevice("pend0", blockCount: 8192);
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(pending);
        LocalSession session = stack.OpenSession();
        byte[] list = List(3, 0, [await CscdAsync(session, 0)], [Segment(0, 0, 8, 0, 100)]);

        ValueTask<LocalResult> first = CopyAsync(session, list);
        pending.PendingReads.Should().Be(1, "the copy waits for its first read");
        LocalResult second = await CopyAsync(session, list);
        (LocalResult status, byte[] d) = await ReceiveAsync(session, 0x00, 3);
        pending.CompleteNextRead();

        SenseAssert.IsCheckCondition(second, SenseCode.OperationInProgress);
        SenseAssert.IsGood(status);
        d[4].Should().Be(0x00, "in progress");
        BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(5)).Should().Be(1);
        SenseAssert.IsGood(await first.AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Abort_MidCopy_StopsBeforeTheNextChunk()
    {
        var pending = new PendingBlockDevice("pend0", blockCount: 8192);
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(pending);
        LocalSession session = stack.OpenSession();
        byte[] list = List(0, 3, [await CscdAsync(session, 0)], [Segment(0, 0, 4096, 0, 4096)]); // two chunks
        const ulong CopyTag = 2; // the INQUIRY that built the CSCD was tag 1

        ValueTask<LocalResult> copy = CopyAsync(session, list);
        pending.PendingReads.Should().Be(1);
        ValueTask<TaskManagementResponse> abort = session.AbortTaskAsync(CopyTag);
        pending.CompleteNextRead();

        (await abort.AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Should().Be(TaskManagementResponse.FunctionComplete);
        LocalResult result = await copy.AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        result.Aborted.Should().BeTrue();
        pending.PendingReads.Should().Be(0, "the second chunk was never read");
        stack.AssertNoLeaks();
    }

    [Fact]
    public void ListIds_FinishedCopy_IsKeptFiveSeconds()
    {
        long now = 1000;
        var lists = new CopyListRegistry(() => now);
        CopyListState state = lists.TryStart(9)!;
        lists.TryStart(9).Should().BeNull("the copy is running");

        lists.Finish(state, CommandOutcome.Good);
        now += CopyLimits.ListIdRetentionMilliseconds - 1;
        lists.Find(9).Should().BeSameAs(state);
        now += 1;
        lists.Find(9).Should().BeNull();
    }

    // ---- what the logical unit reports about the copy manager ----

    [Fact]
    public async Task Inquiry_Standard_Has3pc()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await InquiryAsync(session, CdbBuilder.Inquiry(255));

        SenseAssert.IsGood(result);
        (d[5] & 0x08).Should().Be(0x08, "3PC");
        stack.AssertNoLeaks();
    }

    [Fact]
    public async Task Inquiry_Vpd8F_DescribesTheCopyManagerAsOperatingParametersDo()
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await InquiryAsync(session, CdbBuilder.Inquiry(1024, evpd: true, page: 0x8F));

        SenseAssert.IsGood(result);
        d[1].Should().Be(0x8F);
        BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(2)).Should().Be((ushort)(d.Length - 4));
        List<int> types = [];
        Dictionary<int, byte[]> descriptors = [];
        for (int n = 4; n < d.Length;)
        {
            int type = BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(n));
            int length = BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(n + 2));
            (length % 4).Should().Be(0, "descriptors are padded to 4 bytes");
            types.Add(type);
            descriptors[type] = d[n..(n + 4 + length)];
            n += 4 + length;
        }

        types.Should().Equal(0x0001, 0x0004, 0x0008, 0x000C, 0x8001);
        ByteAssert.Equal(ByteAssert.FromHex("0001 000C 08 83 01 00 84 03 00 03 04 000000"), descriptors[0x0001]);
        BinaryPrimitives.ReadUInt16BigEndian(descriptors[0x0004].AsSpan(8)).Should().Be(CopyLimits.MaxCscdDescriptors);
        BinaryPrimitives.ReadUInt16BigEndian(descriptors[0x0004].AsSpan(10)).Should().Be(CopyLimits.MaxSegmentDescriptors);
        BinaryPrimitives.ReadUInt32BigEndian(descriptors[0x0004].AsSpan(12)).Should().Be(0xFFFF);
        ByteAssert.Equal(ByteAssert.FromHex("0008 0004 02 02 E4 00"), descriptors[0x0008]);
        ByteAssert.Equal(ByteAssert.FromHex("000C 0004 0000 0000"), descriptors[0x000C]);
        BinaryPrimitives.ReadUInt32BigEndian(descriptors[0x8001].AsSpan(4)).Should().Be(0xFFFF);
        BinaryPrimitives.ReadUInt32BigEndian(descriptors[0x8001].AsSpan(8)).Should().Be(0xFF);
        BinaryPrimitives.ReadUInt32BigEndian(descriptors[0x8001].AsSpan(12)).Should().Be(256u << 20);
        descriptors[0x8001][16].Should().Be(16);
        stack.AssertNoLeaks();
    }

    [Theory]
    [InlineData(0x83, 0x00, 0x03)]
    [InlineData(0x84, 0x00, 0x03)]
    [InlineData(0x84, 0x03, 0x03)]
    [InlineData(0x84, 0x04, 0x03)]
    [InlineData(0x84, 0x01, 0x01)] // RECEIVE COPY DATA(LID1): no held data
    [InlineData(0x83, 0x01, 0x01)] // EXTENDED COPY(LID4)
    public async Task ReportSupportedOperationCodes_ReportsTheCopyCommands(byte opcode, int serviceAction, int support)
    {
        await using ScstStack stack = await StartAsync();
        LocalSession session = stack.OpenSession();

        (LocalResult result, byte[] d) = await InquiryAsync(session, Spc.ReportOpcodes(2, opcode, serviceAction));

        SenseAssert.IsGood(result);
        (d[1] & 0x07).Should().Be(support);
        if (support == 0x03)
        {
            BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(2)).Should().Be(16);
            d[4].Should().Be(opcode);
            d[5].Should().Be((byte)serviceAction);
            BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(4 + 10)).Should().Be(0xFFFFFFFF, "the length field is evaluated");
        }

        stack.AssertNoLeaks();
    }

    [Fact]
    public void CopyAbortedSense_DescriptorFormat_CarriesSegmentNumberAndSegmentPointer()
    {
        CommandOutcome outcome = CommandOutcome.WithCommandSpecificInformation(SenseCode.CopyAborted, 3, 54);
        Span<byte> fixedSense = stackalloc byte[SenseData.MaxLength];
        Span<byte> descriptor = stackalloc byte[SenseData.MaxLength];

        int fixedLength = SenseData.Write(fixedSense, outcome, descriptorFormat: false);
        int descriptorLength = SenseData.Write(descriptor, outcome, descriptorFormat: true);

        ByteAssert.Equal(ByteAssert.FromHex("70 00 0A 00000000 0A 00000003 00 00 00 80 0036"), fixedSense[..fixedLength]);
        ByteAssert.Equal(ByteAssert.FromHex("72 0A 00 00 000000 14" + "01 0A 0000 00000003 00000000" + "02 06 0000 80 0036 00"), descriptor[..descriptorLength]);
    }

    // ---- helpers ----

    private Task<ScstStack> StartAsync(int secondBlockSize = BlockSize, bool secondReadOnly = false, bool secondDeviceReadOnly = false) =>
        StartAsync(stack =>
        {
            stack.Engine.AddDevice("vdisk_fileio", "disk1", FileIo(_dir.File("disk1.img"), secondBlockSize, secondDeviceReadOnly));
            stack.Engine.MapLun(stack.Target(), 1, "disk1", secondReadOnly);
        });

    // ---- copies within one device, offered to the device (ext_copy_remap) ----

    [Theory]
    [InlineData(RemapDisk.Mode.Copies)]
    [InlineData(RemapDisk.Mode.Declines)]
    public async Task CopyWithinOneLun_IsOfferedToTheDevice_WhoseCopyStands_OrWhoDeclinesAndTheBlocksMoveThroughReadAndWrite(RemapDisk.Mode mode)
    {
        var disk = new RemapDisk("remap0", mode);
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(disk);
        LocalSession session = stack.OpenSession();
        byte[] pattern = Pattern(16 * BlockSize, seed: 5);
        await WriteAsync(session, 0, 8, pattern);
        int writesBefore = disk.Writes;

        LocalResult result = await CopyAsync(session, List(0, 3, [await CscdAsync(session, 0)], [Segment(0, 0, 16, 8, 12)]));

        SenseAssert.IsGood(result);
        disk.Offered.Should().Equal([(8L * BlockSize, 12L * BlockSize, 16L * BlockSize)], "one segment within the device, offered whole");
        disk.Store.AsSpan(12 * BlockSize, pattern.Length).ToArray().Should().Equal(pattern, "overlapping ranges copy as if the source were read first");
        (disk.Writes - writesBefore).Should().Be(mode == RemapDisk.Mode.Copies ? 0 : 1, "only a declined segment goes through the write path");
    }

    [Fact]
    public async Task CopyWithinOneLun_ThatTheDeviceFails_IsCopyAbortedAtTheDestinationField()
    {
        var disk = new RemapDisk("remap0", RemapDisk.Mode.Fails);
        await using ScstStack stack = await ScstStack.StartWithDeviceAsync(disk);
        LocalSession session = stack.OpenSession();

        LocalResult result = await CopyAsync(session, List(0, 3, [await CscdAsync(session, 0)], [Segment(0, 0, 4, 0, 100)]));

        ShouldBeCopyAborted(result, SenseCode.CopyAborted, 0, FirstSegment + 6);
    }

    // A disk in memory that is offered copies within itself; it makes them (memmove), declines them or fails them.
    public sealed class RemapDisk(string name, RemapDisk.Mode mode) : BlockDevice(name, "test_remap")
    {
        public enum Mode
        {
            Copies,
            Declines,
            Fails,
        }

        public byte[] Store { get; } = new byte[1024 * 512];

        public List<(long Source, long Destination, long Length)> Offered { get; } = [];

        public int Writes { get; private set; }

        public override long BlockCount => 1024;

        protected override ValueTask<CommandOutcome?> CopyWithinAsync(long sourceOffset, long destinationOffset, long length)
        {
            Offered.Add((sourceOffset, destinationOffset, length));
            switch (mode)
            {
                case Mode.Copies:
                    Store.AsSpan((int)sourceOffset, (int)length).CopyTo(Store.AsSpan((int)destinationOffset));
                    return new(CommandOutcome.Good);
                case Mode.Fails:
                    return new(CommandOutcome.CheckCondition(new SenseCode(SenseKey.MediumError, 0x0C, 0x00)));
                default:
                    return new((CommandOutcome?)null);
            }
        }

        protected override ValueTask<CommandOutcome> ReadAsync(long offset, Memory<byte> destination)
        {
            Store.AsSpan((int)offset, destination.Length).CopyTo(destination.Span);
            return new(CommandOutcome.Good);
        }

        protected override ValueTask<CommandOutcome> WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess)
        {
            Writes++;
            source.Span.CopyTo(Store.AsSpan((int)offset));
            return new(CommandOutcome.Good);
        }

        protected override ValueTask<CommandOutcome> FlushAsync() => new(CommandOutcome.Good);
    }

    private async Task<ScstStack> StartAsync(Action<ScstStack> addSecond)
    {
        ScstStack stack = await ScstStack.StartFileIoAsync(_dir.File("disk0.img"), size: "8M");
        addSecond(stack);
        return stack;
    }

    private static Dictionary<string, string> FileIo(string path, int blockSize, bool readOnly = false) => new()
    {
        ["filename"] = path,
        ["size"] = "8M",
        ["blocksize"] = blockSize.ToString(CultureInfo.InvariantCulture),
        ["read_only"] = readOnly ? "1" : "0",
    };

    private static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static byte[] ExtendedCopyCdb(int length)
    {
        var cdb = new byte[16];
        cdb[0] = 0x83;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(10), (uint)length);
        return cdb;
    }

    private static ValueTask<LocalResult> CopyAsync(LocalSession session, byte[] list) =>
        session.ExecuteAsync(0, ExtendedCopyCdb(list.Length), DataDirection.Write, list);

    private static async Task<(LocalResult Result, byte[] Data)> ReceiveAsync(LocalSession session, byte serviceAction, byte listId, int allocation = 1024)
    {
        var cdb = new byte[16];
        cdb[0] = 0x84;
        cdb[1] = serviceAction;
        cdb[2] = listId;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(10), (uint)allocation);
        return await InquiryAsync(session, cdb, allocation);
    }

    private static async Task<(LocalResult Result, byte[] Data)> InquiryAsync(LocalSession session, byte[] cdb, int allocation = 8192)
    {
        var data = new byte[allocation];
        LocalResult r = await session.ExecuteAsync(0, cdb, DataDirection.Read, data);
        return (r, data[..r.TransferredLength]);
    }

    private static async Task WriteAsync(LocalSession session, int lun, ulong lba, byte[] data)
    {
        for (int done = 0; done < data.Length;)
        {
            int n = Math.Min(data.Length - done, 1 << 20);
            LocalResult r = await session.ExecuteAsync(lun, CdbBuilder.Write16(lba + (ulong)(done / BlockSize), (uint)(n / BlockSize)), DataDirection.Write, data.AsMemory(done, n));
            SenseAssert.IsGood(r);
            done += n;
        }
    }

    private static async Task<byte[]> ReadBlocksAsync(LocalSession session, int lun, ulong lba, int blocks, int blockSize = BlockSize)
    {
        var data = new byte[blocks * blockSize];
        for (int done = 0; done < data.Length;)
        {
            int n = Math.Min(data.Length - done, 1 << 20);
            LocalResult r = await session.ExecuteAsync(lun, CdbBuilder.Read16(lba + (ulong)(done / blockSize), (uint)(n / blockSize)), DataDirection.Read, data.AsMemory(done, n));
            SenseAssert.IsGood(r);
            done += n;
        }

        return data;
    }

    /// <summary>
    /// An identification CSCD descriptor for <paramref name="lun"/>, made from the logical unit designator of type
    /// <paramref name="designatorType"/> (2 EUI-64, the one libiscsi picks from SCST's designators; 1 T10 vendor ID)
    /// that VPD page 83h reports, cut to 20 bytes.
    /// </summary>
    private static async Task<byte[]> CscdAsync(LocalSession session, int lun, int blockSize = BlockSize, int designatorType = 2)
    {
        var data = new byte[1024];
        LocalResult r = await session.ExecuteAsync(lun, CdbBuilder.Inquiry(1024, evpd: true, page: 0x83), DataDirection.Read, data);
        SenseAssert.IsGood(r);
        int end = 4 + BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(2));
        for (int n = 4; n < end; n += 4 + data[n + 3])
        {
            if ((data[n + 1] & 0x30) == 0 && (data[n + 1] & 0x0F) == designatorType)
            {
                byte[] designator = data[n..(n + 4 + data[n + 3])];
                designator[0] &= 0x0F;
                designator[1] &= 0x3F;
                if (designator.Length > 24)
                {
                    designator = designator[..24];
                    designator[3] = 20;
                }

                return Cscd0(designator, blockSize);
            }
        }

        throw new TestAssertionException($"LUN {lun} reports no designator of type {designatorType}.");
    }

    private static byte[] NaaDesignator(ulong deviceId)
    {
        var d = new byte[12];
        d[0] = 0x01;
        d[1] = 0x03;
        d[3] = 8;
        BinaryPrimitives.WriteUInt64BigEndian(d.AsSpan(4), (0x3UL << 60) | (deviceId & 0x0FFF_FFFF_FFFF_FFFF));
        return d;
    }

    // E4h, LU ID TYPE 00b, NUL 0, PERIPHERAL DEVICE TYPE 00h; the designation descriptor in bytes 4-27; DISK BLOCK
    // LENGTH in bytes 29-31.
    private static byte[] Cscd0(byte[] designator, int blockSize)
    {
        var d = new byte[Cscd];
        d[0] = 0xE4;
        designator.CopyTo(d, 4);
        d[29] = (byte)(blockSize >> 16);
        d[30] = (byte)(blockSize >> 8);
        d[31] = (byte)blockSize;
        return d;
    }

    private static byte[] Segment(int source, int destination, int blocks, ulong sourceLba, ulong destinationLba, bool dc = false)
    {
        var d = new byte[28];
        d[0] = 0x02;
        d[1] = dc ? (byte)0x02 : (byte)0;
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), 0x18);
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(4), (ushort)source);
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(6), (ushort)destination);
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(10), (ushort)blocks);
        BinaryPrimitives.WriteUInt64BigEndian(d.AsSpan(12), sourceLba);
        BinaryPrimitives.WriteUInt64BigEndian(d.AsSpan(20), destinationLba);
        return d;
    }

    private static byte[] List(byte listId, int usage, byte[][] cscds, byte[][] segments)
    {
        int cscdLength = cscds.Sum(c => c.Length);
        int segmentLength = segments.Sum(s => s.Length);
        var list = new byte[Header + cscdLength + segmentLength];
        list[0] = listId;
        list[1] = (byte)(usage << 3);
        BinaryPrimitives.WriteUInt16BigEndian(list.AsSpan(2), (ushort)cscdLength);
        BinaryPrimitives.WriteUInt32BigEndian(list.AsSpan(8), (uint)segmentLength);
        int n = Header;
        foreach (byte[] part in cscds.Concat(segments))
        {
            part.CopyTo(list, n);
            n += part.Length;
        }

        return list;
    }

    private static void ShouldBeCopyAborted(LocalResult result, SenseCode sense, int segment, int field)
    {
        SenseAssert.IsCheckCondition(result, sense);
        result.Outcome.HasCommandSpecificInformation.Should().BeTrue();
        result.Outcome.CommandSpecificInformation.Should().Be((uint)segment, "the segment number sits in bytes 2-3 of the field");
        result.Outcome.HasFieldPointer.Should().BeTrue();
        result.Outcome.FieldInCdb.Should().BeFalse();
        result.Outcome.FieldPointer.Should().Be((ushort)field);
    }
}
