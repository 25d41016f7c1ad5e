// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using Scst.Core;
using Scst.Core.Cdb;

namespace Scst.Integration.Tests.Spc;

public sealed class ReportSupportedTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ReportOpcodes_All_ListsExactlyTheCommandsTheLogicalUnitSupports(bool thin)
    {
        await using var stack = new SpcStack(thin: thin);
        var session = stack.OpenSession();

        (var r, byte[] d) = await Spc.ReadAsync(session, Spc.ReportOpcodes(0));

        r.Status.Should().Be(ScsiStatus.Good);
        int length = (int)BinaryPrimitives.ReadUInt32BigEndian(d);
        length.Should().Be(d.Length - 4);
        var listed = new List<(byte, int, int)>();
        for (int at = 4; at < d.Length; at += 8)
        {
            bool servactv = (d[at + 5] & 0x01) != 0;
            listed.Add((d[at], servactv ? BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(at + 2)) : -1, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(at + 6))));
        }

        var expected = CdbTable.All.Where(c => CdbTable.IsSupported(c, stack.Device)).Select(c => (c.Opcode, c.ServiceAction, c.CdbLength)).ToList();
        listed.Should().Equal(expected);
        listed.Any(e => e.Item1 == 0x42).Should().Be(thin, "UNMAP is listed only on a thin-provisioned LUN");
        listed.Should().Contain((0xA3, 0x0C, 12)).And.Contain((0x15, -1, 6)).And.Contain((0x28, -1, 10));
        listed.Should().NotContain(e => e.Item1 == 0x3B, "WRITE BUFFER is not implemented");
    }

    [Fact]
    public async Task ReportOpcodes_AllWithRctd_EveryDescriptorCarriesATimeoutsDescriptor()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();

        (var r, byte[] d) = await Spc.ReadAsync(session, Spc.ReportOpcodes(0, rctd: true));

        r.Status.Should().Be(ScsiStatus.Good);
        int count = 0;
        for (int at = 4; at < d.Length; at += 20, count++)
        {
            (d[at + 5] & 0x02).Should().Be(0x02, "CTDP is set");
            BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(at + 8)).Should().Be(0x0A);
        }

        count.Should().Be(CdbTable.All.Count(c => CdbTable.IsSupported(c, stack.Device)));
    }

    [Fact]
    public async Task ReportOpcodes_OneCommand_ReturnsTheTableUsageData()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();

        (var r, byte[] d) = await Spc.ReadAsync(session, Spc.ReportOpcodes(1, 0x28));

        r.Status.Should().Be(ScsiStatus.Good);
        (d[1] & 0x07).Should().Be(3, "SUPPORT 011b: supported as the standard says");
        BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(2)).Should().Be(10);
        d[4..14].Should().Equal(CdbTable.Find(0x28, -1)!.UsageData.ToArray());
        d[4].Should().Be(0x28);
        d[13].Should().Be(0x04, "NACA is evaluated");
        d.Length.Should().Be(14);
    }

    [Fact]
    public async Task ReportOpcodes_OneServiceAction_WithRctd_AppendsTimeouts()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();

        (var r, byte[] d) = await Spc.ReadAsync(session, Spc.ReportOpcodes(2, 0x9E, 0x10, rctd: true));

        r.Status.Should().Be(ScsiStatus.Good);
        d[1].Should().Be(0x83, "CTDP and SUPPORT 011b");
        d[4].Should().Be(0x9E);
        (d[5] & 0x1F).Should().Be(0x10, "the service action sits in its field of the usage data");
        d.Length.Should().Be(4 + 16 + 12);
        BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(20)).Should().Be(0x0A);
    }

    [Theory]
    [InlineData(1, 0x3B, 0)]     // WRITE BUFFER: in the table, not implemented
    [InlineData(1, 0xFF, 0)]     // unknown opcode
    [InlineData(2, 0xA3, 0x0A)]  // REPORT TARGET PORT GROUPS: not implemented
    [InlineData(2, 0xA3, 0x1F)]  // unknown service action
    [InlineData(1, 0x42, 0)]     // UNMAP on a fully provisioned LUN
    public async Task ReportOpcodes_OneUnsupportedCommand_ReportsSupport001b(int options, byte opcode, int serviceAction)
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();

        (var r, byte[] d) = await Spc.ReadAsync(session, Spc.ReportOpcodes(options, opcode, serviceAction));

        r.Status.Should().Be(ScsiStatus.Good);
        d.Should().Equal(0, 1, 0, 0);
    }

    [Fact]
    public async Task UnsupportedCommand_IsRefusedWithInvalidOpcode_AsReported()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();

        var r = await Spc.WriteAsync(session, [0x3B, 0, 0, 0, 0, 0, 0, 0, 0, 0], []);

        r.Status.Should().Be(ScsiStatus.CheckCondition);
        r.Outcome.Sense.Should().Be(SenseCode.InvalidOpcode);
    }

    [Theory]
    [InlineData(1, 0x9E, 0)] // the opcode has service actions: option 1 is invalid
    [InlineData(2, 0x28, 0)] // the opcode has none: option 2 is invalid
    public async Task ReportOpcodes_OptionDoesNotFitTheOpcode_InvalidFieldInCdb(int options, byte opcode, int serviceAction)
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();

        (var r, _) = await Spc.ReadAsync(session, Spc.ReportOpcodes(options, opcode, serviceAction));

        r.ShouldBeInvalidFieldInCdb(3);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(7)]
    public async Task ReportOpcodes_ReservedReportingOptions_InvalidFieldInCdb(int options)
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();

        (var r, _) = await Spc.ReadAsync(session, Spc.ReportOpcodes(options));

        r.ShouldBeInvalidFieldInCdb(2, 2);
    }

    [Fact]
    public async Task ReportOpcodes_ReservedBit_InvalidFieldInCdb()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();
        byte[] cdb = Spc.ReportOpcodes(0);
        cdb[2] |= 0x40;

        (var r, _) = await Spc.ReadAsync(session, cdb);

        r.ShouldBeInvalidFieldInCdb(2, 6);
    }

    [Fact]
    public async Task ReportOpcodes_ShortAllocation_CutsTheAnswer()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();

        (var r, byte[] d) = await Spc.ReadAsync(session, Spc.ReportOpcodes(0, allocation: 10), 10);

        r.Status.Should().Be(ScsiStatus.Good);
        d.Length.Should().Be(10);
        BinaryPrimitives.ReadUInt32BigEndian(d).Should().BeGreaterThan(100, "the length field still counts every descriptor");
    }

    [Fact]
    public async Task ReportTmfs_ListsTheFunctionsTheSessionPerforms()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();

        (var r, byte[] d) = await Spc.ReadAsync(session, Spc.ReportTmfs(repd: false));

        r.Status.Should().Be(ScsiStatus.Good);
        d.Should().Equal(0x80 | 0x40 | 0x20 | 0x10 | 0x08 | 0x04 | 0x02, 0x04 | 0x02 | 0x01, 0, 0); // ATS, ATSS, CACAS, CTSS, LURS, QTS, TRS; QAES, QTSS, ITNRS
        ScsiSession.SupportsTaskManagementFunction(TaskManagementFunction.AbortTask).Should().BeTrue();
        ScsiSession.SupportsTaskManagementFunction(TaskManagementFunction.ClearAca).Should().BeTrue();
        ScsiSession.SupportsTaskManagementFunction(TaskManagementFunction.TargetReset).Should().BeTrue();
    }

    [Fact]
    public async Task ReportTmfs_Repd_ReturnsTheExtendedFormat()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();

        (var r, byte[] d) = await Spc.ReadAsync(session, Spc.ReportTmfs(repd: true));

        r.Status.Should().Be(ScsiStatus.Good);
        d.Length.Should().Be(16);
        d[0].Should().Be(0xFE);
        d[1].Should().Be(0x07);
        d[3].Should().Be(0x0C);
    }

    [Fact]
    public async Task ReportTmfs_ReservedBit_InvalidFieldInCdb()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();
        byte[] cdb = Spc.ReportTmfs(repd: false);
        cdb[2] = 0x01;

        (var r, _) = await Spc.ReadAsync(session, cdb);

        r.ShouldBeInvalidFieldInCdb(2, 0);
    }
}
