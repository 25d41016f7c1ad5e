// Licensed under the Apache License, Version 2.0.

namespace Scst.Events.Tests;

public class ScstEventCodeTests
{
    [Fact]
    public void Codes_Always_HaveScstNumbers()
    {
        ScstEventCode.LunNotFound.Should().Be(1);
        ScstEventCode.NegativeLunsInquiry.Should().Be(2);
        ScstEventCode.ExternalBlockingDone.Should().Be(3);
        ScstEventCode.TaskManagementFunctionReceived.Should().Be(4);
        ScstEventCode.StpgUserInvoke.Should().Be(5);
        ScstEventCode.VirtualDeviceRegistered.Should().Be(6);
        ScstEventCode.FirstCustomCode.Should().Be(100);
    }

    [Theory]
    [InlineData(1, "LunNotFound")]
    [InlineData(6, "VirtualDeviceRegistered")]
    [InlineData(100, "VirtualDeviceUnregistered")]
    [InlineData(105, "CapacityChanged")]
    [InlineData(106, null)]
    [InlineData(0, null)]
    public void GetName_Code_ReturnsConstantNameOrNull(int code, string? expected)
    {
        ScstEventCode.GetName(code).Should().Be(expected);
    }
}
