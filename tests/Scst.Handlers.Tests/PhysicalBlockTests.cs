// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using Scst.Core;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Handlers.Tests;

/// <summary>
/// lb_per_pb_exp (logical blocks per physical block) and sanitize_rate_mb of vdisk_nullio and vdisk_fileio: parsing,
/// and what READ CAPACITY(16) and the Block Limits VPD page report.
/// </summary>
public sealed class PhysicalBlockTests
{
    private static async Task<(byte[] Capacity, byte[] BlockLimits)> QueryAsync(int blockSize, string? exponent, bool thin = true)
    {
        var parameters = new Dictionary<string, string>
        {
            ["size"] = "64M",
            ["blocksize"] = blockSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["thin_provisioned"] = thin ? "1" : "0",
        };
        if (exponent is not null)
        {
            parameters["lb_per_pb_exp"] = exponent;
        }

        await using ScstStack stack = await ScstStack.StartAsync("vdisk_nullio", "null0", parameters);
        LocalSession session = stack.OpenSession();
        var capacity = new byte[32];
        var limits = new byte[64];
        LocalResult rc16 = default;
        for (int i = 0; i < 3; i++)
        {
            // The first commands of a new nexus may meet its power-on unit attention.
            rc16 = await session.ExecuteAsync(0, CdbBuilder.ReadCapacity16(), DataDirection.Read, capacity);
            if (rc16.Status == ScsiStatus.Good)
            {
                break;
            }
        }

        SenseAssert.IsGood(rc16);
        SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Inquiry(64, evpd: true, page: 0xB0), DataDirection.Read, limits));
        return (capacity, limits);
    }

    [Fact]
    public async Task ReadCapacity16_LbPerPbExp3_ReportsEightLogicalBlocksPerPhysicalBlock()
    {
        (byte[] capacity, _) = await QueryAsync(512, "3");

        (capacity[13] & 0x0F).Should().Be(3, "LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT");
        (capacity[13] >> 4).Should().Be(0, "P_I_EXPONENT");
        (BinaryPrimitives.ReadUInt16BigEndian(capacity.AsSpan(14)) & 0x3FFF).Should().Be(0, "LOWEST ALIGNED LOGICAL BLOCK ADDRESS");
        (capacity[14] & 0xC0).Should().Be(0xC0, "LBPME and LBPRZ stay beside the alignment field");
    }

    [Fact]
    public async Task ReadCapacity16_NoLbPerPbExp_ReportsOneLogicalBlockPerPhysicalBlock()
    {
        (byte[] capacity, byte[] limits) = await QueryAsync(512, exponent: null);

        (capacity[13] & 0x0F).Should().Be(0);
        BinaryPrimitives.ReadUInt16BigEndian(limits.AsSpan(6)).Should().Be(8, "the granularity stays one 4 KiB page");
        BinaryPrimitives.ReadUInt32BigEndian(limits.AsSpan(28)).Should().Be(1, "OPTIMAL UNMAP GRANULARITY is one block");
    }

    [Theory]
    [InlineData(512, "3", 8)]
    [InlineData(512, "4", 16)]
    [InlineData(4096, "2", 4)]
    public async Task BlockLimits_LbPerPbExp_GranularitiesAreOnePhysicalBlock(int blockSize, string exponent, int blocksPerPhysical)
    {
        (byte[] capacity, byte[] limits) = await QueryAsync(blockSize, exponent);

        (1 << (capacity[13] & 0x0F)).Should().Be(blocksPerPhysical);
        BinaryPrimitives.ReadUInt16BigEndian(limits.AsSpan(6)).Should().Be((ushort)blocksPerPhysical, "OPTIMAL TRANSFER LENGTH GRANULARITY");
        BinaryPrimitives.ReadUInt32BigEndian(limits.AsSpan(28)).Should().Be((uint)blocksPerPhysical, "OPTIMAL UNMAP GRANULARITY");
        (limits[32] & 0x80).Should().Be(0x80, "UGAVALID");
        (BinaryPrimitives.ReadUInt32BigEndian(limits.AsSpan(32)) & 0x7FFF_FFFF).Should().Be(0u, "UNMAP GRANULARITY ALIGNMENT");
        (BinaryPrimitives.ReadUInt32BigEndian(limits.AsSpan(12)) % (uint)blocksPerPhysical).Should().Be(0u, "the OPTIMAL TRANSFER LENGTH is whole physical blocks");
    }

    [Fact]
    public void CreateDevice_LbPerPbExpAndSanitizeRate_ReachTheDevice()
    {
        var handler = new VdiskNullIoHandler();

        var device = (BlockDevice)handler.CreateDevice("null0", new Dictionary<string, string> { ["lb_per_pb_exp"] = "3", ["sanitize_rate_mb"] = "16" });
        var defaults = (BlockDevice)handler.CreateDevice("null1", new Dictionary<string, string>());

        device.LogicalBlocksPerPhysicalBlockExponent.Should().Be(3);
        device.SanitizeBytesPerSecond.Should().Be(16L << 20);
        defaults.LogicalBlocksPerPhysicalBlockExponent.Should().Be(0);
        defaults.SanitizeBytesPerSecond.Should().Be(64L << 20, "64 MiB/s unless sanitize_rate_mb says otherwise");
    }

    [Fact]
    public async Task CreateDevice_FileIo_LbPerPbExpAndUnpacedSanitize_ReachTheDevice()
    {
        using var dir = new TempDirectory();
        var handler = new VdiskFileIoHandler();

        var device = (BlockDevice)handler.CreateDevice("disk0", new Dictionary<string, string>
        {
            ["filename"] = Path.Combine(dir.Path, "d.img"), ["size"] = "1M", ["lb_per_pb_exp"] = "1", ["sanitize_rate_mb"] = "0",
        });
        await using (device)
        {
            device.LogicalBlocksPerPhysicalBlockExponent.Should().Be(1);
            device.SanitizeBytesPerSecond.Should().Be(0, "0 means no limit");
        }
    }

    [Theory]
    [InlineData("vdisk_nullio", "lb_per_pb_exp", "16")]
    [InlineData("vdisk_nullio", "lb_per_pb_exp", "-1")]
    [InlineData("vdisk_nullio", "lb_per_pb_exp", "three")]
    [InlineData("vdisk_nullio", "sanitize_rate_mb", "-5")]
    [InlineData("vdisk_nullio", "sanitize_rate_mb", "fast")]
    [InlineData("vdisk_fileio", "lb_per_pb_exp", "99")]
    [InlineData("vdisk_fileio", "sanitize_rate_mb", "1.5")]
    public void CreateDevice_BadValue_ThrowsNamingTheParameter(string handlerName, string key, string value)
    {
        using var dir = new TempDirectory();
        IDeviceHandler handler = handlerName == "vdisk_nullio" ? new VdiskNullIoHandler() : new VdiskFileIoHandler();
        var parameters = new Dictionary<string, string> { [key] = value };
        if (handlerName == "vdisk_fileio")
        {
            parameters["filename"] = Path.Combine(dir.Path, "d.img");
            parameters["size"] = "1M";
        }

        Action act = () => handler.CreateDevice("d0", parameters);

        act.Should().Throw<ArgumentException>().WithMessage($"*'{key}'*'{value}'*");
    }
}
