// Licensed under the Apache License, Version 2.0.

using Scst.Core.Alua;

namespace Scst.Core.Tests.Alua;

public sealed class AccessStateGateTests
{
    private static readonly byte[] s_readBufferEcho = [0x3C, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0];
    private static readonly byte[] s_readBufferData = [0x3C, 0x02, 0, 0, 0, 0, 0, 0, 0, 0];

    [Theory]
    [InlineData(AluaState.ActiveOptimized)]
    [InlineData(AluaState.ActiveNonOptimized)]
    [InlineData(AluaState.LogicalBlockDependent)]
    public void ActiveStates_RefuseNothing(AluaState state)
    {
        AccessStateGate.Refuses(state, [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], out _).Should().BeFalse();
        AccessStateGate.Refuses(state, [0x00, 0, 0, 0, 0, 0], out _).Should().BeFalse();
        AccessStateGate.Refuses(state, [0xFF], out _).Should().BeFalse();
    }

    [Theory]
    [InlineData(new byte[] { 0x4D, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, true)]      // LOG SENSE
    [InlineData(new byte[] { 0x5E, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, true)]      // PERSISTENT RESERVE IN
    [InlineData(new byte[] { 0x1C, 0, 0, 0, 0, 0 }, true)]                  // RECEIVE DIAGNOSTIC RESULTS
    [InlineData(new byte[] { 0xA4, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, true)] // SET TARGET PORT GROUPS
    [InlineData(new byte[] { 0xA3, 0x0C, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, true)] // REPORT SUPPORTED OPERATION CODES
    [InlineData(new byte[] { 0xA3, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, false)] // REPORT IDENTIFYING INFORMATION
    [InlineData(new byte[] { 0x00, 0, 0, 0, 0, 0 }, false)]                 // TEST UNIT READY
    [InlineData(new byte[] { 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, false)]     // READ CAPACITY(10)
    [InlineData(new byte[] { 0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0 }, false)]     // WRITE(10)
    public void Standby_RunsItsList(byte[] cdb, bool runs)
    {
        bool refused = AccessStateGate.Refuses(AluaState.Standby, cdb, out SenseCode sense);

        refused.Should().Be(!runs);
        if (refused)
        {
            sense.Should().Be(SenseCode.TargetPortInStandbyState);
        }
    }

    [Fact]
    public void ReadBuffer_RunsInTheEchoBufferModesOnly()
    {
        AccessStateGate.Refuses(AluaState.Standby, s_readBufferEcho, out _).Should().BeFalse();
        AccessStateGate.Refuses(AluaState.Transitioning, s_readBufferEcho, out _).Should().BeFalse();
        AccessStateGate.Refuses(AluaState.Standby, s_readBufferData, out _).Should().BeTrue();
        AccessStateGate.Refuses(AluaState.Unavailable, s_readBufferData, out _).Should().BeTrue();
    }

    [Fact]
    public void SetTargetPortGroups_RunsWhenUnavailableOrOffline_NotWhenTransitioning()
    {
        byte[] stpg = [0xA4, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

        AccessStateGate.Refuses(AluaState.Unavailable, stpg, out _).Should().BeFalse();
        AccessStateGate.Refuses(AluaState.Offline, stpg, out _).Should().BeFalse();
        AccessStateGate.Refuses(AluaState.Transitioning, stpg, out SenseCode sense).Should().BeTrue();
        sense.Should().Be(SenseCode.AsymmetricAccessStateTransition);
    }

    [Theory]
    [InlineData(AluaState.Unavailable)]
    [InlineData(AluaState.Offline)]
    [InlineData(AluaState.Transitioning)]
    public void TheShortList_RefusesWhatStandbyRuns(AluaState state)
    {
        AccessStateGate.Refuses(state, [0x1A, 0, 0x3F, 0, 0xFF, 0], out _).Should().BeTrue("MODE SENSE(6)");
        AccessStateGate.Refuses(state, [0x5F, 0, 0, 0, 0, 0, 0, 0, 0, 0], out _).Should().BeTrue("PERSISTENT RESERVE OUT");
        AccessStateGate.Refuses(state, [0x12, 0, 0, 0, 0x60, 0], out _).Should().BeFalse("INQUIRY");
        AccessStateGate.Refuses(state, [0xA3, 0x0A, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0], out _).Should().BeFalse("REPORT TARGET PORT GROUPS");
    }
}
