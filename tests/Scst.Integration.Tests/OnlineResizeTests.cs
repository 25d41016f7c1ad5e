// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using Scst.Core;
using Scst.Core.Management;
using Scst.Integration.Tests.Fixtures;
using Scst.Integration.Tests.Iscsi;
using Scst.Testing;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi.Protocol;
using Scst.Transport.Local;

namespace Scst.Integration.Tests;

/// <summary>
/// A vdisk_fileio LUN resized online through its <c>size</c> attribute, seen by initiators of both transports of the
/// whole stack (<see cref="ScstTargetFixture"/>): every I_T nexus gets CAPACITY DATA HAS CHANGED once, READ CAPACITY
/// then reports the new size, and the blocks beyond the old end read (grow) or are out of range (shrink). Each test
/// has its own target, since it changes the disk.
/// </summary>
public sealed class OnlineResizeTests
{
    private const string Device = "disk1";
    private const long Blocks = ScstTargetFixture.DiskBytes / ScstTargetFixture.BlockSize;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task GrowThenShrink_OverTheLocalTransport_RaisesCapacityDataChangedAndReportsTheNewSize()
    {
        var fixture = new ScstTargetFixture();
        await fixture.InitializeAsync();
        try
        {
            LocalSession session = fixture.LocalDriver.OpenSession(ScstTargetFixture.LocalTargetName, "iqn.2026-11.test:resize-local");
            var tree = new ManagementTree(fixture.Engine);
            SenseAssert.IsGood(await RunAsync(session, CdbBuilder.TestUnitReady()));

            (await tree.WriteAsync($"devices/{Device}/size", "2G")).Should().Be(ManagementResult.Ok);

            SenseAssert.IsCheckCondition(await RunAsync(session, CdbBuilder.TestUnitReady()), SenseCode.CapacityDataChanged);
            SenseAssert.IsGood(await RunAsync(session, CdbBuilder.TestUnitReady()));
            (await LastLba10Async(session)).Should().Be((uint)(2 * Blocks - 1));
            (await LastLba16Async(session)).Should().Be((ulong)(2 * Blocks - 1));
            new FileInfo(fixture.ImagePath).Length.Should().Be(2 * ScstTargetFixture.DiskBytes);
            byte[] pattern = Cdbs.Pattern(4096, 7);
            SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Write16((ulong)(2 * Blocks - 8), 8), DataDirection.Write, pattern));
            var back = new byte[4096];
            SenseAssert.IsGood(await RunAsync(session, CdbBuilder.Read16((ulong)(2 * Blocks - 8), 8), DataDirection.Read, back));
            back.Should().Equal(pattern, "the blocks beyond the old end are part of the disk now");

            (await tree.WriteAsync($"devices/{Device}/size_mb", "512")).Should().Be(ManagementResult.Ok);

            SenseAssert.IsCheckCondition(await RunAsync(session, CdbBuilder.TestUnitReady()), SenseCode.CapacityDataChanged);
            (await LastLba16Async(session)).Should().Be((ulong)(Blocks / 2 - 1));
            SenseAssert.IsCheckCondition(await RunAsync(session, CdbBuilder.Read16((ulong)(Blocks / 2), 1), DataDirection.Read, new byte[512]), SenseCode.LbaOutOfRange);
            new FileInfo(fixture.ImagePath).Length.Should().Be(ScstTargetFixture.DiskBytes / 2);
            session.Dispose();
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }

    [Fact]
    public async Task Grow_OverIscsi_TheInitiatorGetsCapacityDataChangedAndReadCapacityShowsTheNewSize()
    {
        var fixture = new ScstTargetFixture();
        await fixture.InitializeAsync();
        try
        {
            await using IscsiTestInitiator initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
            (await initiator.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, "iqn.2026-11.test:resize-iscsi"), Ct)).Status.Should().Be(LoginStatus.Success);
            await initiator.ClearUnitAttentionAsync(cancellationToken: Ct);
            LocalSession local = fixture.LocalDriver.OpenSession(ScstTargetFixture.LocalTargetName, "iqn.2026-11.test:resize-beside");

            (await new ManagementTree(fixture.Engine).WriteAsync($"devices/{Device}/size", "1536M")).Should().Be(ManagementResult.Ok);

            ScsiResult ua = await initiator.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct);
            ua.Status.Should().Be(ScsiResult.CheckCondition);
            ua.SenseCodes.Should().Be(((byte)0x06, (byte)0x2A, (byte)0x09), "UNIT ATTENTION, CAPACITY DATA HAS CHANGED");
            (await initiator.ExecuteAsync(0, Cdbs.TestUnitReady(), cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good, "reported once");
            ScsiResult capacity = await initiator.ExecuteAsync(0, CdbBuilder.ReadCapacity16(), readLength: 32, cancellationToken: Ct);
            capacity.Status.Should().Be(ScsiResult.Good);
            BinaryPrimitives.ReadUInt64BigEndian(capacity.Data).Should().Be((ulong)(Blocks * 3 / 2 - 1));
            BinaryPrimitives.ReadUInt32BigEndian(capacity.Data.AsSpan(8)).Should().Be(ScstTargetFixture.BlockSize);
            ScsiResult capacity10 = await initiator.ExecuteAsync(0, CdbBuilder.ReadCapacity10(), readLength: 8, cancellationToken: Ct);
            BinaryPrimitives.ReadUInt32BigEndian(capacity10.Data).Should().Be((uint)(Blocks * 3 / 2 - 1));
            SenseAssert.IsCheckCondition(await RunAsync(local, CdbBuilder.TestUnitReady()), SenseCode.CapacityDataChanged);
            local.Dispose();
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }

    [Fact]
    public async Task ResizeWhileIoRuns_EveryCommandEndsGoodOrOutOfRange_AndNothingLeaks()
    {
        var fixture = new ScstTargetFixture();
        await fixture.InitializeAsync();
        try
        {
            LocalSession session = fixture.LocalDriver.OpenSession(ScstTargetFixture.LocalTargetName, "iqn.2026-11.test:resize-busy");
            var tree = new ManagementTree(fixture.Engine);
            using var stop = new CancellationTokenSource();
            var outcomes = new System.Collections.Concurrent.ConcurrentBag<ScsiStatus>();
            Task io = Task.Run(async () =>
            {
                var data = new byte[4096];
                for (ulong lba = 0; !stop.IsCancellationRequested; lba = (lba + 4099) % (ulong)Blocks)
                {
                    LocalResult r = await session.ExecuteAsync(0, CdbBuilder.Write16(lba, 8), DataDirection.Write, data);
                    if (r.Status == ScsiStatus.CheckCondition)
                    {
                        SenseCode code = r.Outcome.Sense;
                        (code == SenseCode.CapacityDataChanged || code == SenseCode.LbaOutOfRange).Should().BeTrue(SenseAssert.Describe(code));
                    }

                    outcomes.Add(r.Status);
                }
            }, Ct);

            foreach (string size in new[] { "256M", "2G", "1G", "128M" })
            {
                await Task.Delay(50, Ct);
                (await tree.WriteAsync($"devices/{Device}/size", size)).Should().Be(ManagementResult.Ok);
            }

            await Task.Delay(50, Ct);
            await stop.CancelAsync();
            await io;

            outcomes.Should().Contain(ScsiStatus.Good);
            outcomes.Should().Contain(ScsiStatus.CheckCondition, "writes beyond 128 MiB are out of range after the last shrink");
            new FileInfo(fixture.ImagePath).Length.Should().Be(128L << 20, "no write admitted before a shrink grew the file again");
            fixture.Engine.OutstandingBuffers.Should().Be(0);
            session.Dispose();
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }

    private static Task<LocalResult> RunAsync(LocalSession session, byte[] cdb, DataDirection direction = DataDirection.None, byte[]? data = null) =>
        session.ExecuteAsync(0, cdb, direction, data ?? Memory<byte>.Empty).AsTask();

    private static async Task<uint> LastLba10Async(LocalSession session)
    {
        var data = new byte[8];
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.ReadCapacity10(), DataDirection.Read, data));
        return BinaryPrimitives.ReadUInt32BigEndian(data);
    }

    private static async Task<ulong> LastLba16Async(LocalSession session)
    {
        var data = new byte[32];
        SenseAssert.IsGood(await RunAsync(session, CdbBuilder.ReadCapacity16(), DataDirection.Read, data));
        return BinaryPrimitives.ReadUInt64BigEndian(data);
    }
}
