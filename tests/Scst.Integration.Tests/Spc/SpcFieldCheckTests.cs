// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.Integration.Tests.Spc;

public sealed class SpcFieldCheckTests
{
    public static TheoryData<byte[], int, int> ReservedFields => new()
    {
        { new byte[] { 0x00, 0x01, 0, 0, 0, 0 }, 1, 0 },                              // TEST UNIT READY byte 1
        { new byte[] { 0x00, 0, 0, 0, 0x80, 0 }, 4, 7 },                              // TEST UNIT READY byte 4
        { new byte[] { 0x03, 0x02, 0, 0, 18, 0 }, 1, 1 },                             // REQUEST SENSE byte 1 bit 1
        { new byte[] { 0x03, 0, 0x10, 0, 18, 0 }, 2, 4 },                             // REQUEST SENSE byte 2
        { new byte[] { 0x12, 0x04, 0, 0, 96, 0 }, 1, 2 },                             // INQUIRY byte 1 bit 2
        { new byte[] { 0x1A, 0x10, 0x3F, 0, 255, 0 }, 1, 4 },                         // MODE SENSE(6) byte 1 bit 4
        { new byte[] { 0x5A, 0x20, 0x3F, 0, 0, 0, 0, 0, 255, 0 }, 1, 5 },             // MODE SENSE(10) byte 1 bit 5
        { new byte[] { 0x5A, 0, 0x3F, 0, 0x01, 0, 0, 0, 255, 0 }, 4, 0 },             // MODE SENSE(10) byte 4
        { new byte[] { 0xA0, 0x01, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0 }, 1, 0 },          // REPORT LUNS byte 1
        { new byte[] { 0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0x02, 0 }, 10, 1 },         // REPORT LUNS byte 10
        { new byte[] { 0x15, 0x12, 0, 0, 0, 0 }, 1, 1 },                              // MODE SELECT(6) byte 1 bit 1
        { new byte[] { 0x55, 0x10, 0x01, 0, 0, 0, 0, 0, 0, 0 }, 2, 0 },               // MODE SELECT(10) byte 2
    };

    [Theory]
    [MemberData(nameof(ReservedFields))]
    public async Task ReservedBitSet_InvalidFieldInCdbAtThatBit(byte[] cdb, int byteOffset, int bit)
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();

        (var r, _) = await Spc.ReadAsync(session, cdb, 255);

        r.ShouldBeInvalidFieldInCdb(byteOffset, bit);
    }

    [Fact]
    public async Task ModeSense_UnknownPage_InvalidFieldInCdb()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();

        (var r, _) = await Spc.ReadAsync(session, Spc.ModeSense6(0x05), 255);

        r.ShouldBeInvalidFieldInCdb(2, 5);
    }

    [Fact]
    public async Task ModeSense_Subpage_InvalidFieldInCdb()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();

        (var r, _) = await Spc.ReadAsync(session, Spc.ModeSense6(0x0A, subpage: 1), 255);
        (var all, _) = await Spc.ReadAsync(session, Spc.ModeSense6(0x3F, subpage: 0xFF), 255);

        r.ShouldBeInvalidFieldInCdb(3);
        all.Status.Should().Be(ScsiStatus.Good);
    }

    [Fact]
    public async Task VendorBitsOfTheControlByte_AreIgnored()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();

        var r = await Spc.WriteAsync(session, [0x00, 0, 0, 0, 0, 0xC0], []);

        r.Status.Should().Be(ScsiStatus.Good);
    }
}
