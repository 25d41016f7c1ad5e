// Licensed under the Apache License, Version 2.0.

using Scst.Core.Cdb;

namespace Scst.Core.Tests.Spc;

public sealed class CdbUsageTests
{
    public static TheoryData<string> Commands()
    {
        var data = new TheoryData<string>();
        foreach (CdbDescriptor d in CdbTable.All)
        {
            data.Add(d.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void UsageData_FitsTheCdbLayout(string name)
    {
        CdbDescriptor d = CdbTable.All.Single(c => c.Name == name);

        ReadOnlySpan<byte> usage = d.UsageData;

        usage.Length.Should().Be(d.CdbLength);
        usage[0].Should().Be(d.Opcode);
        usage[^1].Should().Be(0x04, "NACA is the evaluated bit of the CONTROL byte");
        if (d.HasServiceAction)
        {
            (usage[1] & 0x1F).Should().Be(d.ServiceAction);
        }

        CdbUsage.Lookup(d.Opcode, d.ServiceAction).Should().NotBeNull("every command has a mask written from its standard");
        for (int i = 0; i < d.LengthLength; i++)
        {
            usage[d.LengthOffset + i].Should().Be(0xFF, "the length field is evaluated");
        }

        for (int i = d.LbaLength == 3 ? 1 : 0; i < d.LbaLength; i++)
        {
            usage[d.LbaOffset + i].Should().Be(0xFF, "the LBA field is evaluated");
        }
    }

    [Fact]
    public void ReservedBitCheck_PointsAtTheMostSignificantReservedBit()
    {
        CdbDescriptor inquiry = CdbTable.Find(0x12, -1)!;

        CommandOutcome ok = Scst.Core.Spc.SpcCommands.CheckReservedBits([0x12, 0x01, 0x83, 0x00, 0xFF, 0x00], inquiry);
        CommandOutcome bad = Scst.Core.Spc.SpcCommands.CheckReservedBits([0x12, 0x61, 0x00, 0x00, 0xFF, 0x00], inquiry);

        ok.IsGood.Should().BeTrue();
        bad.Should().Be(CommandOutcome.InvalidFieldInCdb(1, 6));
    }
}
