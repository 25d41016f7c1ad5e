// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Events.Tests;

public class TaskManagementFunctionReceivedEventTests
{
    private static readonly byte[] s_read10 = [0x28, 0, 0, 0, 0x10, 0, 0, 0, 8, 0];

    private static TaskManagementFunctionReceivedEvent AbortTask() => new(
        Function: 0,
        Lun: 0x1122334455667788,
        DeviceName: "disk1",
        InitiatorName: "iqn.init",
        TargetName: "iqn.target",
        SessionSysfsName: "iqn.init-1",
        CommandToAbortTag: 0xA1A2A3A4A5A6A7A8,
        Cdb: s_read10);

    [Fact]
    public void WriteTo_DirtyBuffer_PlacesFieldsAtScstOffsets()
    {
        var payload = PayloadAssert.Dirty(TaskManagementFunctionReceivedEvent.PayloadSize);

        (AbortTask() with { Function = 0xCAFEBABE }).WriteTo(payload);

        TaskManagementFunctionReceivedEvent.PayloadSize.Should().Be(1064);
        BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(0)).Should().Be(0xCAFEBABE);
        PayloadAssert.Equal([0, 0, 0, 0], payload.AsSpan(4, 4)); // alignment padding before the u64
        PayloadAssert.Equal([0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11], payload.AsSpan(8, 8));
        PayloadAssert.FixedString(payload, 16, 256, "disk1");
        PayloadAssert.FixedString(payload, 272, 256, "iqn.init");
        PayloadAssert.FixedString(payload, 528, 256, "iqn.target");
        PayloadAssert.FixedString(payload, 784, 256, "iqn.init-1");
        PayloadAssert.Equal([0xA8, 0xA7, 0xA6, 0xA5, 0xA4, 0xA3, 0xA2, 0xA1], payload.AsSpan(1040, 8));
        PayloadAssert.Equal([.. s_read10, 0, 0, 0, 0, 0, 0], payload.AsSpan(1048, 16));
    }

    [Fact]
    public void Parse_WrittenPayload_RoundTripsAllFields()
    {
        var value = AbortTask();

        var parsed = TaskManagementFunctionReceivedEvent.Parse(value.ToPayload());

        parsed.Function.Should().Be(value.Function);
        parsed.Lun.Should().Be(value.Lun);
        parsed.DeviceName.Should().Be(value.DeviceName);
        parsed.InitiatorName.Should().Be(value.InitiatorName);
        parsed.TargetName.Should().Be(value.TargetName);
        parsed.SessionSysfsName.Should().Be(value.SessionSysfsName);
        parsed.CommandToAbortTag.Should().Be(value.CommandToAbortTag);
        parsed.Cdb.ToArray().Should().Equal([.. s_read10, 0, 0, 0, 0, 0, 0]);
    }

    [Fact]
    public void WriteTo_CdbLongerThan16Bytes_CarriesFirst16()
    {
        var cdb32 = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

        var payload = (AbortTask() with { Cdb = cdb32 }).ToPayload();

        PayloadAssert.Equal(cdb32.AsSpan(0, 16), payload.AsSpan(1048, 16));
        payload.Should().HaveCount(1064);
    }

    [Fact]
    public void WriteTo_UnresolvedLunWithoutCdb_LeavesDeviceNameAndCdbZero()
    {
        var value = new TaskManagementFunctionReceivedEvent(4, 7, string.Empty, "i", "t", "s", 0, ReadOnlyMemory<byte>.Empty);
        var payload = PayloadAssert.Dirty(TaskManagementFunctionReceivedEvent.PayloadSize);

        value.WriteTo(payload);

        payload.AsSpan(16, 256).ToArray().Should().OnlyContain(b => b == 0);
        payload.AsSpan(1040, 24).ToArray().Should().OnlyContain(b => b == 0);
    }

    [Fact]
    public void WriteTo_LongSessionName_TruncatesTo255Bytes()
    {
        var parsed = TaskManagementFunctionReceivedEvent.Parse(
            (AbortTask() with { SessionSysfsName = new string('s', 400) }).ToPayload());

        parsed.SessionSysfsName.Should().Be(new string('s', 255));
        parsed.CommandToAbortTag.Should().Be(0xA1A2A3A4A5A6A7A8); // the truncation did not spill into the next field
    }

    [Fact]
    public void TryParse_ShortPayload_ReturnsFalse()
    {
        TaskManagementFunctionReceivedEvent.TryParse(new byte[1063], out _).Should().BeFalse();
    }
}
