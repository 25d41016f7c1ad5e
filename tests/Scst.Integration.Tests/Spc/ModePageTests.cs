// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.Integration.Tests.Spc;

public sealed class ModePageTests
{
    [Fact]
    public async Task ModeSense_AllPages_ReturnsEveryPageOfADisk()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();

        (var r, byte[] d) = await Spc.ReadAsync(session, Spc.ModeSense6(0x3F), 255);

        r.Status.Should().Be(ScsiStatus.Good);
        d[0].Should().Be((byte)(d.Length - 1));
        var codes = new List<(int Code, int Length)>();
        for (int at = 4; at < d.Length; at += d[at + 1] + 2)
        {
            codes.Add((d[at] & 0x3F, d[at + 1]));
        }

        codes.Should().Equal((0x01, 0x0A), (0x02, 0x0E), (0x03, 0x16), (0x04, 0x16), (0x08, 0x12), (0x0A, 0x0A), (0x1C, 0x0A));
    }

    [Fact]
    public async Task ModeSense_ControlPage_DefaultsAndChangeableBits()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();

        byte[] current = await Spc.CurrentPageAsync(session, 0x0A);
        byte[] changeable = await Spc.CurrentPageAsync(session, 0x0A, pc: 1);

        (current[2] >> 5).Should().Be(1, "TST=1");
        (current[3] >> 4).Should().Be(1, "QAM=1");
        changeable[2].Should().Be(0x1C, "TMF_ONLY, DPICZ, D_SENSE");
        changeable[3].Should().Be(0xF6, "QUEUE ALGORITHM MODIFIER, QERR");
        changeable[4].Should().Be(0x08, "SWP");
        changeable[5].Should().Be(0x40, "TAS");
    }

    [Fact]
    public async Task ModeSense10_WithBlockDescriptor_DescribesTheCapacity()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();

        (var r, byte[] d) = await Spc.ReadAsync(session, Spc.ModeSense10(0x08, llbaa: true), 1024);

        r.Status.Should().Be(ScsiStatus.Good);
        d[4].Should().Be(1, "LONGLBA");
        d[7].Should().Be(16);
        System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(d.AsSpan(8)).Should().Be((64UL << 20) / 512);
        d[8 + 16].Should().Be(0x08);
    }

    [Fact]
    public async Task ModeSelect_Wce_ChangesTheCachingPageAndTheDevice()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();
        byte[] caching = await Spc.CurrentPageAsync(session, 0x08);
        caching[2] |= 0x04;

        var r = await Spc.WriteAsync(session, Spc.ModeSelect6(4 + caching.Length), Spc.SelectList(caching));

        r.Status.Should().Be(ScsiStatus.Good);
        stack.Device.WriteCacheEnabled.Should().BeTrue();
        (await Spc.CurrentPageAsync(session, 0x08))[2].Should().Be(0x04);
        (await Spc.CurrentPageAsync(session, 0x08, pc: 2))[2].Should().Be(0, "the default does not change");
    }

    [Fact]
    public async Task ModeSelect10_DSense_SwitchesTheSenseFormat()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();
        byte[] control = await Spc.CurrentPageAsync(session, 0x0A);
        control[2] |= 0x04;
        byte[] list = [0, 0, 0, 0, 0, 0, 0, 0, .. control];

        var r = await Spc.WriteAsync(session, Spc.ModeSelect10(list.Length), list);

        r.Status.Should().Be(ScsiStatus.Good);
        stack.Device.DescriptorSense.Should().BeTrue();
        (var rs, byte[] sense) = await Spc.ReadAsync(session, [0x03, 0, 0, 0, 252, 0], 252);
        rs.Status.Should().Be(ScsiStatus.Good);
        sense[0].Should().Be(0x70, "REQUEST SENSE follows its own DESC bit");
    }

    [Fact]
    public async Task ModeSelect_Swp_WriteProtectsTheLogicalUnit()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();
        byte[] control = await Spc.CurrentPageAsync(session, 0x0A);
        control[4] |= 0x08;

        (await Spc.WriteAsync(session, Spc.ModeSelect6(4 + control.Length), Spc.SelectList(control))).Status.Should().Be(ScsiStatus.Good);
        var write = await Spc.WriteAsync(session, [0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0], new byte[512]);
        (var ms, byte[] header) = await Spc.ReadAsync(session, Spc.ModeSense6(0x0A), 255);

        write.Outcome.Sense.Should().Be(SenseCode.WriteProtected);
        (header[2] & 0x80).Should().Be(0x80, "WP in the device-specific parameter");
        ms.Status.Should().Be(ScsiStatus.Good);
    }

    [Fact]
    public async Task ModeSelect_NonChangeableBit_InvalidFieldInParameterListAtThatBit()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();
        byte[] control = await Spc.CurrentPageAsync(session, 0x0A);
        control[2] = (byte)((control[2] & 0x1F) | (2 << 5)); // TST 001b -> 010b: bits 6 and 5 differ

        var r = await Spc.WriteAsync(session, Spc.ModeSelect6(4 + control.Length), Spc.SelectList(control));

        r.ShouldBeInvalidFieldInParameterList(4 + 2, 6);
        (await Spc.CurrentPageAsync(session, 0x0A))[2].Should().Be(0x20, "nothing changed");
    }

    [Fact]
    public async Task ModeSelect_OneBadPage_ChangesNoPage()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();
        byte[] caching = await Spc.CurrentPageAsync(session, 0x08);
        caching[2] |= 0x04;
        byte[] control = await Spc.CurrentPageAsync(session, 0x0A);
        control[8] = 0; // BUSY TIMEOUT PERIOD is not changeable
        byte[] list = [0, 0, 0, 0, .. caching, .. control];

        var r = await Spc.WriteAsync(session, Spc.ModeSelect6(list.Length), list);

        r.ShouldBeInvalidFieldInParameterList(4 + caching.Length + 8, 7);
        stack.Device.WriteCacheEnabled.Should().BeFalse();
    }

    [Theory]
    [InlineData(0, 0x80, 4, 7)]   // PS is reserved in MODE SELECT
    [InlineData(0, 0x40, 4, 6)]   // SPF: no subpages
    [InlineData(1, 0x01, 5, -1)]  // page length does not match
    public async Task ModeSelect_BadPageHeader_InvalidFieldInParameterList(int index, byte bits, int pointer, int bit)
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();
        byte[] caching = await Spc.CurrentPageAsync(session, 0x08);
        caching[index] ^= bits;

        var r = await Spc.WriteAsync(session, Spc.ModeSelect6(4 + caching.Length), Spc.SelectList(caching));

        r.ShouldBeInvalidFieldInParameterList(pointer, bit);
    }

    [Fact]
    public async Task ModeSelect_UnknownPage_InvalidFieldInParameterList()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();
        byte[] list = [0, 0, 0, 0, 0x07, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

        var r = await Spc.WriteAsync(session, Spc.ModeSelect6(list.Length), list);

        r.ShouldBeInvalidFieldInParameterList(4);
    }

    [Fact]
    public async Task ModeSelect_TruncatedPage_ParameterListLengthError()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();
        byte[] caching = await Spc.CurrentPageAsync(session, 0x08);
        byte[] list = Spc.SelectList(caching)[..10];

        var r = await Spc.WriteAsync(session, Spc.ModeSelect6(list.Length), list);

        r.Outcome.Sense.Should().Be(SenseCode.ParameterListLengthError);
    }

    [Fact]
    public async Task ModeSelect_ReservedQErrValue_InvalidFieldInParameterList()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();
        byte[] control = await Spc.CurrentPageAsync(session, 0x0A);
        control[3] = (byte)((control[3] & 0xF9) | (2 << 1));

        var r = await Spc.WriteAsync(session, Spc.ModeSelect6(4 + control.Length), Spc.SelectList(control));

        r.ShouldBeInvalidFieldInParameterList(4 + 3, 2);
    }

    [Fact]
    public async Task ModeSelect_BlockDescriptorRestatingTheFormat_IsAccepted_ButNotAChange()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();
        byte[] same = [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0x02, 0x00];
        byte[] other = [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0x10, 0x00];

        var ok = await Spc.WriteAsync(session, Spc.ModeSelect6(same.Length), same);
        var bad = await Spc.WriteAsync(session, Spc.ModeSelect6(other.Length), other);

        ok.Status.Should().Be(ScsiStatus.Good);
        bad.ShouldBeInvalidFieldInParameterList(4 + 5);
    }

    [Fact]
    public async Task ModeSelect_PfZeroWithPages_InvalidFieldInCdb()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();
        byte[] caching = await Spc.CurrentPageAsync(session, 0x08);

        var r = await Spc.WriteAsync(session, Spc.ModeSelect6(4 + caching.Length, pf: false), Spc.SelectList(caching));

        r.ShouldBeInvalidFieldInCdb(1, 4);
    }

    [Fact]
    public async Task SavedValues_WithoutStateDirectory_AreNotSupported()
    {
        await using var stack = new SpcStack();
        var session = stack.OpenSession();
        byte[] caching = await Spc.CurrentPageAsync(session, 0x08);

        var select = await Spc.WriteAsync(session, Spc.ModeSelect6(4 + caching.Length, sp: true), Spc.SelectList(caching));
        (var sense, byte[] _) = await Spc.ReadAsync(session, Spc.ModeSense6(0x08, pc: 3), 255);
        (var plain, byte[] d) = await Spc.ReadAsync(session, Spc.ModeSense6(0x08), 255);

        select.ShouldBeInvalidFieldInCdb(1, 0);
        sense.Outcome.Sense.Should().Be(SenseCode.SavingParametersNotSupported);
        (d[4] & 0x80).Should().Be(0, "PS is clear when nothing can be saved");
        plain.Status.Should().Be(ScsiStatus.Good);
    }

    [Fact]
    public async Task SavedValues_SurviveARestart()
    {
        string dir = Path.Combine(Path.GetTempPath(), "scst-spc-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (var first = new SpcStack(dir))
            {
                var session = first.OpenSession();
                byte[] caching = await Spc.CurrentPageAsync(session, 0x08);
                caching[2] |= 0x04;
                byte[] control = await Spc.CurrentPageAsync(session, 0x0A);
                control[2] |= 0x04;
                byte[] list = [0, 0, 0, 0, .. caching, .. control];
                (await Spc.WriteAsync(session, Spc.ModeSelect6(list.Length, sp: true), list)).Status.Should().Be(ScsiStatus.Good);

                // A change without SP=1 is current only.
                control[4] |= 0x08;
                (await Spc.WriteAsync(session, Spc.ModeSelect6(4 + control.Length), Spc.SelectList(control))).Status.Should().Be(ScsiStatus.Good);
            }

            Directory.GetFiles(Path.Combine(dir, "mode_pages")).Select(Path.GetFileName).Should().Equal("disk1");

            await using var second = new SpcStack(dir);
            var again = second.OpenSession();
            (var r, byte[] d) = await Spc.ReadAsync(again, Spc.ModeSense6(0x08), 255);
            r.Status.Should().Be(ScsiStatus.Good);
            d[4].Should().Be(0x88, "PS is set on a savable page");
            d[6].Should().Be(0x04, "WCE was saved");
            second.Device.WriteCacheEnabled.Should().BeTrue();
            second.Device.DescriptorSense.Should().BeTrue("D_SENSE was saved");
            (await Spc.CurrentPageAsync(again, 0x0A))[4].Should().Be(0, "SWP was not saved");
            (await Spc.CurrentPageAsync(again, 0x08, pc: 3))[2].Should().Be(0x04);
            (await Spc.CurrentPageAsync(again, 0x08, pc: 2))[2].Should().Be(0);
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Fact]
    public async Task ModeSelect_Change_RaisesModeParametersChangedForOtherSessionsOnly()
    {
        await using var stack = new SpcStack();
        var changer = stack.OpenSession("iqn.2026-01.test:a");
        var other = stack.OpenSession("iqn.2026-01.test:b");
        byte[] caching = await Spc.CurrentPageAsync(changer, 0x08);
        caching[2] |= 0x04;

        (await Spc.WriteAsync(changer, Spc.ModeSelect6(4 + caching.Length), Spc.SelectList(caching))).Status.Should().Be(ScsiStatus.Good);

        (await Spc.WriteAsync(changer, Spc.TestUnitReady, [])).Status.Should().Be(ScsiStatus.Good);
        (var inquiry, _) = await Spc.ReadAsync(other, [0x12, 0, 0, 0, 96, 0], 96);
        inquiry.Status.Should().Be(ScsiStatus.Good, "INQUIRY does not report a unit attention");
        var tur = await Spc.WriteAsync(other, Spc.TestUnitReady, []);
        tur.Status.Should().Be(ScsiStatus.CheckCondition);
        tur.Outcome.Sense.Should().Be(SenseCode.ModeParametersChanged);
        (await Spc.WriteAsync(other, Spc.TestUnitReady, [])).Status.Should().Be(ScsiStatus.Good, "reporting clears it");
    }

    [Fact]
    public async Task RequestSense_ReturnsAndClearsThePendingUnitAttention()
    {
        await using var stack = new SpcStack();
        var changer = stack.OpenSession("iqn.2026-01.test:a");
        var other = stack.OpenSession("iqn.2026-01.test:b");
        byte[] control = await Spc.CurrentPageAsync(changer, 0x0A);
        control[5] |= 0x40;
        (await Spc.WriteAsync(changer, Spc.ModeSelect6(4 + control.Length), Spc.SelectList(control))).Status.Should().Be(ScsiStatus.Good);

        (var r, byte[] sense) = await Spc.ReadAsync(other, [0x03, 0, 0, 0, 252, 0], 252);
        (var again, byte[] none) = await Spc.ReadAsync(other, [0x03, 0, 0, 0, 252, 0], 252);

        r.Status.Should().Be(ScsiStatus.Good);
        sense[0].Should().Be(0x70);
        (sense[2] & 0x0F).Should().Be(0x06);
        sense[12].Should().Be(0x2A);
        sense[13].Should().Be(0x01);
        again.Status.Should().Be(ScsiStatus.Good);
        (none[2] & 0x0F).Should().Be(0);
        (await Spc.WriteAsync(other, Spc.TestUnitReady, [])).Status.Should().Be(ScsiStatus.Good);
    }

    [Fact]
    public async Task ModeSelect_NoChange_RaisesNoUnitAttention()
    {
        await using var stack = new SpcStack();
        var changer = stack.OpenSession("iqn.2026-01.test:a");
        var other = stack.OpenSession("iqn.2026-01.test:b");
        byte[] caching = await Spc.CurrentPageAsync(changer, 0x08);

        (await Spc.WriteAsync(changer, Spc.ModeSelect6(4 + caching.Length), Spc.SelectList(caching))).Status.Should().Be(ScsiStatus.Good);

        (await Spc.WriteAsync(other, Spc.TestUnitReady, [])).Status.Should().Be(ScsiStatus.Good);
    }
}
