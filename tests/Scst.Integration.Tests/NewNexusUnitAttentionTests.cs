// Licensed under the Apache License, Version 2.0.

using Scst.Core;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests;

/// <summary>A new I_T nexus starts with POWER ON, RESET, OR BUS DEVICE RESET OCCURRED on each LUN, as in SCST.</summary>
public sealed class NewNexusUnitAttentionTests
{
    [Fact]
    public void TheCoreDefault_IsTheUnitAttention() => new ScstOptions().UnitAttentionOnNewNexus.Should().BeTrue();

    [Fact]
    public async Task EachNewNexus_GetsPowerOnReset_Once_AfterInquiryPassedThrough()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync(options: o => o.UnitAttentionOnNewNexus = true);
        LocalSession first = stack.OpenSession();

        SenseAssert.IsGood(await first.ExecuteAsync(0, CdbBuilder.Inquiry(), DataDirection.Read, new byte[255]));
        SenseAssert.IsCheckCondition(await first.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty), SenseCode.PowerOnReset);
        SenseAssert.IsGood(await first.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty));

        // Another initiator's nexus has its own; the first one's does not come back.
        LocalSession second = stack.OpenSession(initiator: "iqn.2026-11.test:second");
        SenseAssert.IsCheckCondition(await second.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty), SenseCode.PowerOnReset);
        SenseAssert.IsGood(await second.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty));
        SenseAssert.IsGood(await first.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty));
    }

    [Fact]
    public async Task TurnedOff_ANewNexusStartsClean()
    {
        await using ScstStack stack = await ScstStack.StartNullIoAsync(options: o => o.UnitAttentionOnNewNexus = false);
        LocalSession session = stack.OpenSession();

        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty));
    }
}
