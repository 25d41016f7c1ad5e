// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Scst.Core;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.UserDevice.Tests;

/// <summary>A real device process: the UserFileIo sample as a child process, registered, serving I/O, and killed with SIGKILL.</summary>
public sealed class ChildProcessTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task SampleDeviceProcess_RegistersAndServesIO_AndItsSigkillIsSurvived()
    {
        string socket = _dir.File("user.sock");
        string file = _dir.File("disk.img");
        await using ScstStack stack = ScstStack.Create(b => b
            .AddUserDevices(o => o.SocketPath = socket)
            .AddDevice("vdisk_nullio", "null1", new Dictionary<string, string> { ["size"] = "1M" })
            .AddTarget(LocalTargetDriver.DriverName, ScstStack.TargetName, t => t.AddLun(1, "null1")));
        await stack.StartAsync();
        var start = new ProcessStartInfo(SamplePrograms.Find("Scst.Samples.UserFileIo", "Scst.Samples.UserFileIo"), ["--socket", socket, "--size", "4M", "-e", "2", "child0", file])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process child = Process.Start(start)!;
        try
        {
            string? line = await child.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            line.Should().StartWith("child0: registered");
            stack.Engine.FindDevice("child0").Should().NotBeNull();
            stack.Engine.MapLun(stack.Target(), 0, "child0");
            LocalSession session = stack.OpenSession();
            byte[] data = [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 13))];

            SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Write10(8, 8), DataDirection.Write, data));
            byte[] read = new byte[4096];
            SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Read10(8, 8), DataDirection.Read, read));
            read.Should().Equal(data);
            SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.SynchronizeCache10(), DataDirection.None, Memory<byte>.Empty));
            byte[] onDisk = new byte[4096];
            using (FileStream f = File.Open(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            {
                f.Position = 8 * 512;
                f.ReadExactly(onDisk);
            }

            onDisk.Should().Equal(data, "the device process wrote the file");

            child.Kill(); // SIGKILL
            await child.WaitForExitAsync(TestContext.Current.CancellationToken);

            await WaitFor.ConditionAsync(() => stack.Engine.FindDevice("child0") is null, "the killed device to be unregistered");
            stack.Target().Luns.Find(0).Should().BeNull();
            SenseAssert.IsCheckCondition(await session.ExecuteAsync(1, CdbBuilder.TestUnitReady(), DataDirection.None, Memory<byte>.Empty), SenseCode.ReportedLunsDataChanged);
            SenseAssert.IsGood(await session.ExecuteAsync(1, CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[512]));
            stack.Engine.OutstandingBuffers.Should().Be(0);
        }
        finally
        {
            if (!child.HasExited)
            {
                child.Kill();
            }
        }
    }

    [Fact]
    public async Task SampleDeviceProcess_ReadOnlyWithSize_CreatesTheFileAndServesAWriteProtectedDisk()
    {
        string socket = _dir.File("user.sock");
        string file = _dir.File("ro.img");
        await using ScstStack stack = ScstStack.Create(b => b.AddUserDevices(o => o.SocketPath = socket).AddTarget(LocalTargetDriver.DriverName, ScstStack.TargetName));
        await stack.StartAsync();
        var start = new ProcessStartInfo(SamplePrograms.Find("Scst.Samples.UserFileIo", "Scst.Samples.UserFileIo"), ["--socket", socket, "-r", "--size", "4M", "ro0", file])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process child = Process.Start(start)!;
        try
        {
            // Before the fix, ftruncate on the read-only handle failed: "Cannot open ...: Invalid argument", exit 1.
            string? line = await child.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            line.Should().StartWith("ro0: registered", await ErrorsOfAsync(child));
            new FileInfo(file).Length.Should().Be(4 << 20);
            stack.Engine.MapLun(stack.Target(), 0, "ro0");
            LocalSession session = stack.OpenSession();
            SenseAssert.IsCheckCondition(await session.ExecuteAsync(0, CdbBuilder.Write10(0, 1), DataDirection.Write, new byte[512]), SenseCode.WriteProtected);
            byte[] read = [.. Enumerable.Repeat((byte)0xA5, 512)];
            SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Read10(0, 1), DataDirection.Read, read));
            read.Should().OnlyContain(b => b == 0, "the new sparse file reads zeros");
        }
        finally
        {
            if (!child.HasExited)
            {
                child.Kill();
            }
        }
    }

    [Fact]
    public async Task SampleDeviceProcess_Thin_PunchesHolesForUnmap_AndGetLbaStatusFindsThem()
    {
        string socket = _dir.File("user.sock");
        string file = _dir.File("thin.img");
        await using ScstStack stack = ScstStack.Create(b => b.AddUserDevices(o => o.SocketPath = socket).AddTarget(LocalTargetDriver.DriverName, ScstStack.TargetName));
        await stack.StartAsync();
        var start = new ProcessStartInfo(SamplePrograms.Find("Scst.Samples.UserFileIo", "Scst.Samples.UserFileIo"), ["--socket", socket, "--thin", "--size", "4M", "thin0", file])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process child = Process.Start(start)!;
        try
        {
            string? line = await child.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            line.Should().StartWith("thin0: registered", await ErrorsOfAsync(child));
            stack.Engine.MapLun(stack.Target(), 0, "thin0");
            LocalSession session = stack.OpenSession();

            // 64 KiB written at LBA 0, then 32 KiB from LBA 32 unmapped: whole file-system blocks of 4 KiB or less.
            SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Write10(0, 128), DataDirection.Write, Enumerable.Repeat((byte)0x5A, 128 * 512).ToArray()));
            byte[] unmap = new byte[24];
            BinaryPrimitives.WriteUInt16BigEndian(unmap, 22);
            BinaryPrimitives.WriteUInt16BigEndian(unmap.AsSpan(2), 16);
            BinaryPrimitives.WriteUInt64BigEndian(unmap.AsSpan(8), 32);
            BinaryPrimitives.WriteUInt32BigEndian(unmap.AsSpan(16), 64);
            SenseAssert.IsGood(await session.ExecuteAsync(0, [0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], DataDirection.Write, unmap));

            byte[] cdb = new byte[16];
            cdb[0] = 0x9E;
            cdb[1] = 0x12;
            BinaryPrimitives.WriteInt32BigEndian(cdb.AsSpan(10), 8 + (16 * 8));
            byte[] status = new byte[8 + (16 * 8)];
            SenseAssert.IsGood(await session.ExecuteAsync(0, cdb, DataDirection.Read, status));

            BinaryPrimitives.ReadUInt32BigEndian(status).Should().Be(4 + (16 * 4));
            Enumerable.Range(0, 4).Select(i => (
                    BinaryPrimitives.ReadUInt64BigEndian(status.AsSpan(8 + (16 * i))),
                    BinaryPrimitives.ReadUInt32BigEndian(status.AsSpan(16 + (16 * i))),
                    status[20 + (16 * i)]))
                .Should().Equal((0UL, 32U, (byte)0), (32UL, 64U, (byte)1), (96UL, 32U, (byte)0), (128UL, (4U << 11) - 128, (byte)1));
            byte[] read = [.. Enumerable.Repeat((byte)0xA5, 64 * 512)];
            SenseAssert.IsGood(await session.ExecuteAsync(0, CdbBuilder.Read10(32, 64), DataDirection.Read, read));
            read.Should().OnlyContain(b => b == 0, "a punched hole reads zeros");
        }
        finally
        {
            if (!child.HasExited)
            {
                child.Kill();
            }
        }
    }

    private static async Task<string> ErrorsOfAsync(Process child) =>
        child.HasExited ? $"the sample exited with {child.ExitCode}: {await child.StandardError.ReadToEndAsync()}" : "the sample is still running";
}
