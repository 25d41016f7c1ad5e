// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Scst.Transport.Iscsi.Tests;

/// <summary>The digest and keepalive options: SCST's names and defaults, their ranges, and the keepalive's clock.</summary>
public class IscsiTargetOptionsTests
{
    [Fact]
    public void Defaults_AreScstsAndValid()
    {
        var options = new IscsiTargetOptions();

        options.HeaderDigest.Should().Be("CRC32C,None");
        options.DataDigest.Should().Be("CRC32C,None");
        options.NopInInterval.Should().Be(30);
        options.NopInTimeout.Should().Be(30);
        options.RspTimeout.Should().Be(90);
        new IscsiTargetOptionsValidator().Validate(null, options).Succeeded.Should().BeTrue();
    }

    [Theory]
    [InlineData("HeaderDigest", "MD5")]
    [InlineData("DataDigest", "")]
    [InlineData("NopInInterval", "-1")]
    [InlineData("NopInInterval", "65536")]
    [InlineData("NopInTimeout", "1")]
    [InlineData("RspTimeout", "0")]
    public void OutOfRange_FailsValidationNamingTheOption(string option, string value)
    {
        var options = new IscsiTargetOptions();
        switch (option)
        {
            case "HeaderDigest": options.HeaderDigest = value; break;
            case "DataDigest": options.DataDigest = value; break;
            case "NopInInterval": options.NopInInterval = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            case "NopInTimeout": options.NopInTimeout = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            default: options.RspTimeout = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
        }

        var result = new IscsiTargetOptionsValidator().Validate(null, options);

        result.Failed.Should().BeTrue();
        result.FailureMessage.Should().Contain(option);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65535)]
    public void NopInInterval_ZeroOffOrTheMaximum_Valid(int interval)
    {
        new IscsiTargetOptionsValidator().Validate(null, new IscsiTargetOptions { NopInInterval = interval }).Succeeded.Should().BeTrue();
    }

    [Fact]
    public async Task AddIscsiTarget_TwiceWithAClockInTheContainer_OneDriverOnThatClock()
    {
        var clock = new FixedClock();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(clock);
        services.AddScst().AddIscsiTarget().AddIscsiTarget(o => o.NopInInterval = 5);
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        var driver = provider.GetRequiredService<IscsiTargetDriver>();

        provider.GetServices<Scst.Core.ITargetDriver>().Should().ContainSingle().Which.Should().BeSameAs(driver);
        driver.TimeProvider.Should().BeSameAs(clock);
        driver.Options.NopInInterval.Should().Be(5);
        provider.GetRequiredService<IOptions<IscsiTargetOptions>>().Value.Should().BeSameAs(driver.Options);
    }

    private sealed class FixedClock : TimeProvider
    {
    }
}
