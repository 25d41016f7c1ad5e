// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.Core.Tests;

public sealed class CommandOutcomeTests
{
    [Fact]
    public void Good_IsDefaultWithGoodStatusAndNoSense()
    {
        CommandOutcome good = CommandOutcome.Good;

        good.Should().Be(default(CommandOutcome));
        good.IsGood.Should().BeTrue();
        good.Status.Should().Be(ScsiStatus.Good);
        good.HasFieldPointer.Should().BeFalse();
        good.HasInformation.Should().BeFalse();
        good.BitPointer.Should().Be(-1);
        good.ToString().Should().Be("Good");
    }

    [Fact]
    public void CheckCondition_CarriesSenseOnly()
    {
        CommandOutcome o = CommandOutcome.CheckCondition(SenseCode.LbaOutOfRange);

        o.Status.Should().Be(ScsiStatus.CheckCondition);
        o.IsGood.Should().BeFalse();
        o.Sense.Should().Be(new SenseCode(SenseKey.IllegalRequest, 0x21, 0x00));
        o.HasFieldPointer.Should().BeFalse();
        o.HasInformation.Should().BeFalse();
        o.ToString().Should().Be("CHECK CONDITION IllegalRequest 21/00");
    }

    [Fact]
    public void InvalidFieldInCdb_WithoutBit_PointsAtByteInCdb()
    {
        CommandOutcome o = CommandOutcome.InvalidFieldInCdb(2);

        o.Status.Should().Be(ScsiStatus.CheckCondition);
        o.Sense.Should().Be(SenseCode.InvalidFieldInCdb);
        o.HasFieldPointer.Should().BeTrue();
        o.FieldInCdb.Should().BeTrue();
        o.FieldPointer.Should().Be(2);
        o.BitPointer.Should().Be(-1);
    }

    [Fact]
    public void InvalidFieldInCdb_WithBit_KeepsBitPointer()
    {
        CommandOutcome o = CommandOutcome.InvalidFieldInCdb(1, 0);

        o.FieldPointer.Should().Be(1);
        o.BitPointer.Should().Be(0, "bit 0 is a valid bit pointer, distinct from 'no bit'");
    }

    [Fact]
    public void InvalidFieldInParameterList_PointsOutsideTheCdb()
    {
        CommandOutcome o = CommandOutcome.InvalidFieldInParameterList(300, 6);

        o.Sense.Should().Be(SenseCode.InvalidFieldInParameterList);
        o.HasFieldPointer.Should().BeTrue();
        o.FieldInCdb.Should().BeFalse();
        o.FieldPointer.Should().Be(300);
        o.BitPointer.Should().Be(6);
    }

    [Fact]
    public void WithInformation_SetsInformationWithoutFieldPointer()
    {
        CommandOutcome o = CommandOutcome.WithInformation(SenseCode.UnrecoveredReadError, 0xFFFF_FFFF_0000_0001);

        o.Status.Should().Be(ScsiStatus.CheckCondition);
        o.HasInformation.Should().BeTrue();
        o.Information.Should().Be(0xFFFF_FFFF_0000_0001);
        o.HasFieldPointer.Should().BeFalse();
    }

    [Theory]
    [InlineData(ScsiStatus.TaskSetFull)]
    [InlineData(ScsiStatus.Busy)]
    [InlineData(ScsiStatus.ReservationConflict)]
    public void FromStatus_HasStatusAndNoSense(ScsiStatus status)
    {
        CommandOutcome o = CommandOutcome.FromStatus(status);

        o.Status.Should().Be(status);
        o.IsGood.Should().BeFalse();
        o.Sense.Should().Be(default(SenseCode));
        o.ToString().Should().Be(status.ToString());
    }

    [Fact]
    public void Equality_ComparesEveryField()
    {
        CommandOutcome a = CommandOutcome.InvalidFieldInCdb(2, 5);
        CommandOutcome same = CommandOutcome.InvalidFieldInCdb(2, 5);

        (a == same).Should().BeTrue();
        a.GetHashCode().Should().Be(same.GetHashCode());
        (a != CommandOutcome.InvalidFieldInCdb(2)).Should().BeTrue("the bit pointer differs");
        (a != CommandOutcome.InvalidFieldInCdb(3, 5)).Should().BeTrue("the byte differs");
        (a != CommandOutcome.WithFieldPointer(SenseCode.InvalidFieldInCdb, inCdb: false, 2, 5)).Should().BeTrue("C/D differs");
        (CommandOutcome.CheckCondition(SenseCode.InvalidFieldInCdb) != CommandOutcome.InvalidFieldInCdb(0)).Should().BeTrue();
        a.Equals((object)same).Should().BeTrue();
        a.Equals("not an outcome").Should().BeFalse();
    }
}
