// Licensed under the Apache License, Version 2.0.

using System.Net;
using Microsoft.Extensions.Time.Testing;
using Scst.Transport.Iscsi.Security;

namespace Scst.Transport.Iscsi.Tests.Security;

public class AuthenticationThrottleTests
{
    private static readonly IPAddress s_attacker = IPAddress.Parse("192.0.2.7");
    private static readonly IPAddress s_other = IPAddress.Parse("192.0.2.8");

    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void RepeatedFailures_FirstIsNotDelayed_ThenTheDelayDoublesUpTo16Seconds()
    {
        var throttle = new AuthenticationThrottle(_time);

        var delays = Enumerable.Range(0, 8).Select(_ =>
        {
            var delay = throttle.RegisterFailure(s_attacker);
            _time.Advance(delay + TimeSpan.FromSeconds(1));
            return delay.TotalSeconds;
        }).ToList();

        delays.Should().Equal(0, 1, 2, 4, 8, 16, 16, 16);
    }

    [Fact]
    public void QuietMinute_ForgetsTheAddress()
    {
        var throttle = new AuthenticationThrottle(_time);
        throttle.RegisterFailure(s_attacker);
        throttle.RegisterFailure(s_attacker);
        throttle.RegisterFailure(s_attacker);

        _time.Advance(TimeSpan.FromSeconds(59));
        var stillRemembered = throttle.RegisterFailure(s_attacker);
        _time.Advance(TimeSpan.FromMinutes(1));
        var forgotten = throttle.RegisterFailure(s_attacker);

        stillRemembered.Should().Be(TimeSpan.FromSeconds(4));
        forgotten.Should().Be(TimeSpan.Zero);
    }

    [Fact]
    public void FailuresFromOneAddress_DoNotDelayAnother()
    {
        var throttle = new AuthenticationThrottle(_time);
        for (int i = 0; i < 5; i++)
        {
            throttle.RegisterFailure(s_attacker);
        }

        throttle.RegisterFailure(s_other).Should().Be(TimeSpan.Zero);
        throttle.RegisterFailure(s_attacker).Should().Be(TimeSpan.FromSeconds(16));
    }

    [Fact]
    public void Ipv4MappedAddress_CountsAsTheIpv4Address()
    {
        var throttle = new AuthenticationThrottle(_time);
        throttle.RegisterFailure(s_attacker);

        throttle.RegisterFailure(s_attacker.MapToIPv6()).Should().Be(TimeSpan.FromSeconds(1));
        throttle.TrackedCount.Should().Be(1);
    }

    [Fact]
    public void ManyAddressesAtOnce_TrackingIsCapped_AndUntrackedAddressesWaitTheLongest()
    {
        var throttle = new AuthenticationThrottle(_time);
        for (int i = 0; i < AuthenticationThrottle.MaxTrackedAddresses; i++)
        {
            throttle.RegisterFailure(new IPAddress(0x0a000000 + i));
        }

        var untracked = throttle.RegisterFailure(s_attacker);
        _time.Advance(AuthenticationThrottle.QuietPeriod);
        var afterQuiet = throttle.RegisterFailure(s_attacker);

        untracked.Should().Be(AuthenticationThrottle.MaxDelay);
        throttle.TrackedCount.Should().Be(1, "a quiet minute lets the old entries go when room is needed");
        afterQuiet.Should().Be(TimeSpan.Zero);
    }

    [Fact]
    public async Task DelayAsync_CompletesOnlyWhenTheClockHasAdvanced()
    {
        var throttle = new AuthenticationThrottle(_time);

        var delay = throttle.DelayAsync(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromSeconds(1));
        var early = delay.IsCompleted;
        _time.Advance(TimeSpan.FromSeconds(1));
        await delay;

        early.Should().BeFalse();
    }
}
