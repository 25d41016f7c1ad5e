// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Scst.Core;
using Scst.Transport.Local;

namespace Scst.Handlers.Tests;

/// <summary>SBC commands of vdisk_fileio over the local transport: field checks and behaviour.</summary>
public sealed class SbcCommandTests : IAsyncLifetime
{
    private const int Block = 512;
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"sbc-{Guid.NewGuid():N}.img");
    private ServiceProvider? _provider;
    private IHostedService[] _hosted = [];
    private LocalSession _session = null!;
    private LocalSession _other = null!;

    public async ValueTask InitializeAsync()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddScst().AddVdiskHandlers().AddLocalTransport()
            .AddDevice("vdisk_fileio", "disk0", new Dictionary<string, string>
            {
                ["filename"] = _path, ["size"] = "4M", ["thin_provisioned"] = "1", ["removable"] = "1",
            })
            .AddTarget(LocalTargetDriver.DriverName, "tgt", t => t.AddLun(0, "disk0"));
        _provider = services.BuildServiceProvider();
        _hosted = [.. _provider.GetServices<IHostedService>()];
        foreach (IHostedService h in _hosted)
        {
            await h.StartAsync(CancellationToken.None);
        }

        LocalTargetDriver driver = _provider.GetRequiredService<LocalTargetDriver>();
        _session = driver.OpenSession("tgt", "iqn.2026-01.test:a");
        _other = driver.OpenSession("tgt", "iqn.2026-01.test:b");

        // Clear the power-on unit attentions, if the core raises them.
        for (int i = 0; i < 3; i++)
        {
            await RunAsync(_session, [0x00, 0, 0, 0, 0, 0]);
            await RunAsync(_other, [0x00, 0, 0, 0, 0, 0]);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _session.Dispose();
        _other.Dispose();
        for (int i = _hosted.Length - 1; i >= 0; i--)
        {
            await _hosted[i].StopAsync(CancellationToken.None);
        }

        if (_provider is not null)
        {
            await _provider.DisposeAsync();
        }

        File.Delete(_path);
    }

    private static ValueTask<LocalResult> RunAsync(LocalSession s, byte[] cdb, DataDirection direction = DataDirection.None, byte[]? data = null) =>
        s.ExecuteAsync(0, cdb, direction, data ?? Memory<byte>.Empty);

    private ValueTask<LocalResult> RunAsync(byte[] cdb, DataDirection direction = DataDirection.None, byte[]? data = null) =>
        RunAsync(_session, cdb, direction, data);

    private static byte[] Cdb16(byte opcode, byte b1, ulong lba, uint length)
    {
        byte[] cdb = new byte[16];
        cdb[0] = opcode;
        cdb[1] = b1;
        BinaryPrimitives.WriteUInt64BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(10), length);
        return cdb;
    }

    private static byte[] Cdb10(byte opcode, byte b1, uint lba, ushort length)
    {
        byte[] cdb = new byte[10];
        cdb[0] = opcode;
        cdb[1] = b1;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), length);
        return cdb;
    }

    private async Task WriteAsync(ulong lba, byte[] data) =>
        (await RunAsync(Cdb16(0x8A, 0, lba, (uint)(data.Length / Block)), DataDirection.Write, data)).Status.Should().Be(ScsiStatus.Good);

    private async Task<byte[]> ReadAsync(ulong lba, int blocks)
    {
        byte[] data = new byte[blocks * Block];
        (await RunAsync(Cdb16(0x88, 0, lba, (uint)blocks), DataDirection.Read, data)).Status.Should().Be(ScsiStatus.Good);
        return data;
    }

    private static void ShouldBeInvalidField(LocalResult r, int byteOffset, int bit = -1)
    {
        r.Status.Should().Be(ScsiStatus.CheckCondition);
        r.Outcome.Sense.Should().Be(SenseCode.InvalidFieldInCdb);
        r.Outcome.FieldPointer.Should().Be((ushort)byteOffset);
        r.Outcome.BitPointer.Should().Be(bit);
    }

    private static byte[] Filled(int blocks, byte value) => Enumerable.Repeat(value, blocks * Block).ToArray();

    [Fact]
    public async Task Verify_compares_data_and_reports_the_first_differing_byte()
    {
        await WriteAsync(10, Filled(2, 0x5A));
        byte[] expected = Filled(2, 0x5A);
        (await RunAsync(Cdb16(0x8F, 0x02, 10, 2), DataDirection.Write, expected)).Status.Should().Be(ScsiStatus.Good);

        expected[Block + 7] = 0;
        LocalResult r = await RunAsync(Cdb16(0x8F, 0x02, 10, 2), DataDirection.Write, expected);
        r.Outcome.Sense.Should().Be(SenseCode.MiscompareDuringVerify);
        r.Outcome.Information.Should().Be((ulong)(Block + 7));

        // BYTCHK 3: one block against every block; BYTCHK 0: medium only.
        (await RunAsync(Cdb10(0x2F, 0x06, 10, 2), DataDirection.Write, Filled(1, 0x5A))).Status.Should().Be(ScsiStatus.Good);
        (await RunAsync(Cdb10(0x2F, 0x00, 10, 2))).Status.Should().Be(ScsiStatus.Good);
    }

    [Theory]
    [InlineData(0x04, 1, 2)] // BYTCHK 10b
    [InlineData(0x20, 1, 7)] // VRPROTECT
    [InlineData(0x08, 1, 3)] // reserved
    public async Task Verify_field_checks(byte b1, int byteOffset, int bit) =>
        ShouldBeInvalidField(await RunAsync(Cdb10(0x2F, b1, 0, 1), b1 == 0x04 ? DataDirection.Write : DataDirection.None, b1 == 0x04 ? Filled(1, 0) : null), byteOffset, bit);

    [Fact]
    public async Task Write_and_verify_writes_and_checks_fields()
    {
        (await RunAsync(Cdb10(0x2E, 0x02, 20, 1), DataDirection.Write, Filled(1, 0x33))).Status.Should().Be(ScsiStatus.Good);
        (await ReadAsync(20, 1)).Should().OnlyContain(b => b == 0x33);
        ShouldBeInvalidField(await RunAsync(Cdb10(0x2E, 0x40, 20, 1), DataDirection.Write, Filled(1, 0)), 1, 7);
    }

    [Fact]
    public async Task OrWrite_ors_the_data_into_the_blocks()
    {
        await WriteAsync(30, Filled(1, 0x0F));
        (await RunAsync(Cdb16(0x8B, 0x08, 30, 1), DataDirection.Write, Filled(1, 0xF0))).Status.Should().Be(ScsiStatus.Good);
        (await ReadAsync(30, 1)).Should().OnlyContain(b => b == 0xFF);
        ShouldBeInvalidField(await RunAsync(Cdb16(0x8B, 0x20, 30, 1), DataDirection.Write, Filled(1, 0)), 1, 7);
    }

    [Fact]
    public async Task Compare_and_write_writes_on_match_and_reports_miscompare_offset()
    {
        await WriteAsync(40, Filled(1, 0x11));
        byte[] cdb = Cdb16(0x89, 0, 40, 0);
        cdb[10] = 0;
        cdb[13] = 1;
        byte[] data = [.. Filled(1, 0x11), .. Filled(1, 0x22)];
        (await RunAsync(cdb, DataDirection.Write, data)).Status.Should().Be(ScsiStatus.Good);
        (await ReadAsync(40, 1)).Should().OnlyContain(b => b == 0x22);

        data[5] = 0x99; // the verify half no longer matches at byte 0 (0x11 vs 0x22)
        LocalResult r = await RunAsync(cdb, DataDirection.Write, data);
        r.Outcome.Sense.Should().Be(SenseCode.MiscompareDuringVerify);
        r.Outcome.Information.Should().Be(0UL);
        (await ReadAsync(40, 1)).Should().OnlyContain(b => b == 0x22);

        byte[] verify = [.. Filled(1, 0x22), .. Filled(1, 0x44)];
        verify[100] = 0x23;
        r = await RunAsync(cdb, DataDirection.Write, verify);
        r.Outcome.Information.Should().Be(100UL);
    }

    [Fact]
    public async Task Concurrent_compare_and_write_is_atomic()
    {
        await WriteAsync(50, new byte[Block]);
        int successes = 0;
        var tasks = new List<Task>();
        for (int i = 0; i < 8; i++)
        {
            LocalSession s = i % 2 == 0 ? _session : _other;
            tasks.Add(Task.Run(async () =>
            {
                byte[] cdb = Cdb16(0x89, 0, 50, 0);
                cdb[10] = 0;
                cdb[13] = 1;
                byte[] data = [.. new byte[Block], .. Filled(1, 1)];
                LocalResult r = await RunAsync(s, cdb, DataDirection.Write, data);
                if (r.Status == ScsiStatus.Good)
                {
                    Interlocked.Increment(ref successes);
                }
            }, TestContext.Current.CancellationToken));
        }

        await Task.WhenAll(tasks);
        successes.Should().Be(1);
    }

    [Fact]
    public async Task Write_atomic_checks_alignment_and_granularity()
    {
        (await RunAsync(AtomicCdb(0, 8), DataDirection.Write, Filled(8, 7))).Status.Should().Be(ScsiStatus.Good);
        ShouldBeInvalidField(await RunAsync(AtomicCdb(1, 8), DataDirection.Write, Filled(8, 7)), 2);
        ShouldBeInvalidField(await RunAsync(AtomicCdb(0, 1), DataDirection.Write, Filled(1, 7)), 12);

        static byte[] AtomicCdb(ulong lba, ushort blocks)
        {
            byte[] cdb = Cdb16(0x9C, 0, lba, 0);
            BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(12), blocks);
            return cdb;
        }
    }

    [Fact]
    public async Task Write_same_replicates_unmaps_and_checks_fields()
    {
        (await RunAsync(Cdb10(0x41, 0, 60, 4), DataDirection.Write, Filled(1, 0x77))).Status.Should().Be(ScsiStatus.Good);
        (await ReadAsync(60, 4)).Should().OnlyContain(b => b == 0x77);

        (await RunAsync(Cdb16(0x93, 0x08, 60, 4), DataDirection.Write, Filled(1, 0x77))).Status.Should().Be(ScsiStatus.Good);
        (await ReadAsync(60, 4)).Should().OnlyContain(b => b == 0);

        await WriteAsync(64, Filled(1, 0x55));
        (await RunAsync(Cdb16(0x93, 0x01, 64, 1))).Status.Should().Be(ScsiStatus.Good); // NDOB: zeros
        (await ReadAsync(64, 1)).Should().OnlyContain(b => b == 0);

        ShouldBeInvalidField(await RunAsync(Cdb10(0x41, 0x10, 60, 1), DataDirection.Write, Filled(1, 0)), 1, 4); // ANCHOR
        ShouldBeInvalidField(await RunAsync(Cdb10(0x41, 0x20, 60, 1), DataDirection.Write, Filled(1, 0)), 1, 7); // WRPROTECT
        (await RunAsync(Cdb16(0x93, 0, 0, 40000), DataDirection.Write, Filled(1, 0))).Outcome.Sense.Should().Be(SenseCode.LbaOutOfRange);
        (await RunAsync(Cdb16(0x93, 0, 8000, 0), DataDirection.Write, Filled(1, 0x66))).Status.Should().Be(ScsiStatus.Good); // 0 = to the end
        (await ReadAsync(8191, 1)).Should().OnlyContain(b => b == 0x66);
    }

    [Fact]
    public async Task Get_lba_status_reports_mapped_and_deallocated_runs()
    {
        await WriteAsync(0, Filled(16, 0xAB));
        byte[] unmap = new byte[24];
        BinaryPrimitives.WriteUInt16BigEndian(unmap, 22);
        BinaryPrimitives.WriteUInt16BigEndian(unmap.AsSpan(2), 16);
        BinaryPrimitives.WriteUInt64BigEndian(unmap.AsSpan(8), 8);
        BinaryPrimitives.WriteUInt32BigEndian(unmap.AsSpan(16), 8);
        (await RunAsync(Cdb10(0x42, 0, 0, 24), DataDirection.Write, unmap)).Status.Should().Be(ScsiStatus.Good);

        byte[] cdb = Cdb16(0x9E, 0x12, 0, 64);
        byte[] data = new byte[64];
        (await RunAsync(cdb, DataDirection.Read, data)).Status.Should().Be(ScsiStatus.Good);
        BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(8)).Should().Be(0UL);
        BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(16)).Should().Be(8u);
        data[20].Should().Be(0); // mapped
        BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(24)).Should().Be(8UL);
        data[36].Should().Be(1); // deallocated

        LocalResult beyond = await RunAsync(Cdb16(0x9E, 0x12, 8192, 64), DataDirection.Read, new byte[64]);
        beyond.Outcome.Sense.Should().Be(SenseCode.LbaOutOfRange);
    }

    [Fact]
    public async Task Eject_load_and_prevention()
    {
        byte[] eject = [0x1B, 0, 0, 0, 0x02, 0];
        byte[] load = [0x1B, 0, 0, 0, 0x03, 0];
        byte[] prevent = [0x1E, 0, 0, 0, 0x01, 0];
        byte[] allow = [0x1E, 0, 0, 0, 0x00, 0];

        (await RunAsync(prevent)).Status.Should().Be(ScsiStatus.Good);
        (await RunAsync(_other, eject)).Outcome.Sense.Should().Be(SenseCode.MediumRemovalPrevented);
        (await RunAsync(allow)).Status.Should().Be(ScsiStatus.Good);

        (await RunAsync(eject)).Status.Should().Be(ScsiStatus.Good);
        (await RunAsync(Cdb16(0x88, 0, 0, 1), DataDirection.Read, new byte[Block])).Outcome.Sense.Should().Be(SenseCode.MediumNotPresent);
        (await RunAsync(load)).Status.Should().Be(ScsiStatus.Good);
        (await RunAsync(Cdb16(0x88, 0, 0, 1), DataDirection.Read, new byte[Block])).Status.Should().Be(ScsiStatus.Good);

        ShouldBeInvalidField(await RunAsync([0x1B, 0x80, 0, 0, 0, 0]), 1, 7);
        ShouldBeInvalidField(await RunAsync([0x1E, 0, 0, 0, 0x04, 0]), 4, 2);
    }

    [Fact]
    public async Task Prefetch_read_defect_data_and_sanitize()
    {
        (await RunAsync(Cdb10(0x34, 0x02, 0, 8))).Status.Should().Be(ScsiStatus.ConditionMet);
        ShouldBeInvalidField(await RunAsync(Cdb10(0x34, 0x04, 0, 8)), 1, 2);

        byte[] rdd = [0x37, 0, 0x18, 0, 0, 0, 0, 0, 4, 0];
        byte[] header = new byte[4];
        (await RunAsync(rdd, DataDirection.Read, header)).Status.Should().Be(ScsiStatus.Good);
        header.Should().Equal(0, 0x18, 0, 0);

        // OVERWRITE with a 4-byte pattern, then BLOCK ERASE (thin: holes), EXIT FAILURE MODE, CRYPTO ERASE refused.
        byte[] parameters = [0x01, 0, 0, 4, 1, 2, 3, 4];
        (await RunAsync([0x48, 0x01, 0, 0, 0, 0, 0, 0, 8, 0], DataDirection.Write, parameters)).Status.Should().Be(ScsiStatus.Good);
        (await ReadAsync(8191, 1)).Take(8).Should().Equal(1, 2, 3, 4, 1, 2, 3, 4);
        ShouldBeInvalidField(await RunAsync([0x48, 0x01, 0, 0, 0, 0, 0, 0, 4, 0], DataDirection.Write, new byte[4]), 7);
        (await RunAsync([0x48, 0x02, 0, 0, 0, 0, 0, 0, 0, 0])).Status.Should().Be(ScsiStatus.Good);
        (await ReadAsync(8191, 1)).Should().OnlyContain(b => b == 0);
        (await RunAsync([0x48, 0x1F, 0, 0, 0, 0, 0, 0, 0, 0])).Status.Should().Be(ScsiStatus.Good);
        ShouldBeInvalidField(await RunAsync([0x48, 0x03, 0, 0, 0, 0, 0, 0, 0, 0]), 1, 4);
        ShouldBeInvalidField(await RunAsync([0x48, 0x41, 0, 0, 0, 0, 0, 0, 8, 0], DataDirection.Write, parameters), 1, 6);
    }
}
