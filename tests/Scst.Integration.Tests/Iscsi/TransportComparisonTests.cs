// Licensed under the Apache License, Version 2.0.

using Scst.Integration.Tests.Fixtures;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>
/// The same READ/WRITE scenarios over iSCSI (TCP) and scst_local, on the same device: both transports must give the
/// same statuses, sense and bytes, and each must read what the other wrote.
/// </summary>
public sealed class TransportComparisonTests(ScstTargetFixture fixture) : IClassFixture<ScstTargetFixture>
{
    private const int Block = ScstTargetFixture.BlockSize;
    private const uint LastLba = (uint)(ScstTargetFixture.DiskBytes / Block) - 1;

    public static TheoryData<string> Transports => new("iscsi", "local");

    private async Task<IBlockClient> OpenAsync(string transport, string initiator) => transport switch
    {
        "iscsi" => await IscsiBlockClient.OpenAsync(fixture, initiator),
        _ => await LocalBlockClient.OpenAsync(fixture, initiator),
    };

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task WriteThenRead_RoundTrips(string transport)
    {
        await using var client = await OpenAsync(transport, $"iqn.2026-11.org.scst-dotnet:cmp-{transport}");
        var lba = transport == "iscsi" ? 20_000u : 30_000u;
        var data = Cdbs.Pattern(64 * Block, seed: lba.GetHashCode());

        var write = await client.WriteAsync(lba, data);
        var read = await client.ReadAsync(lba, 64);

        write.Status.Should().Be(0);
        read.Status.Should().Be(0);
        read.Data.Should().Equal(data);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task ReadPastTheEnd_SameCheckCondition(string transport)
    {
        await using var client = await OpenAsync(transport, $"iqn.2026-11.org.scst-dotnet:cmp-eol-{transport}");

        var read = await client.ReadAsync(LastLba, 2);

        read.Status.Should().Be(0x02);
        read.Sense.Should().Be(((byte)0x05, (byte)0x21, (byte)0x00));
    }

    [Fact]
    public async Task WrittenOverOneTransport_ReadsTheSameOverTheOther()
    {
        await using var iscsi = await OpenAsync("iscsi", "iqn.2026-11.org.scst-dotnet:cmp-cross-iscsi");
        await using var local = await OpenAsync("local", "iqn.2026-11.org.scst-dotnet:cmp-cross-local");
        var viaIscsi = Cdbs.Pattern(40 * Block, seed: 7);
        var viaLocal = Cdbs.Pattern(40 * Block, seed: 8);

        (await iscsi.WriteAsync(40_000, viaIscsi)).Status.Should().Be(0);
        (await local.WriteAsync(40_100, viaLocal)).Status.Should().Be(0);

        (await local.ReadAsync(40_000, 40)).Data.Should().Equal(viaIscsi);
        (await iscsi.ReadAsync(40_100, 40)).Data.Should().Equal(viaLocal);
        (await iscsi.ReadAsync(40_000, 240)).Data.Should().Equal((await local.ReadAsync(40_000, 240)).Data);
    }
}
