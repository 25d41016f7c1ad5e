// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.DependencyInjection;
using Scst.Core;
using Scst.Transport.Local;

namespace Scst.Integration.Tests.Spc;

/// <summary>
/// A core with the Local transport and one vdisk_nullio LUN, built the way an application builds it; disposing it is a
/// "power off", and a new stack over the same state directory is the restart.
/// </summary>
internal sealed class SpcStack : IAsyncDisposable
{
    public const string TargetName = "spc-test";

    private readonly ServiceProvider _services;
    private readonly List<LocalSession> _sessions = [];

    public SpcStack(string? stateDirectory = null, bool thin = false)
    {
        var services = new ServiceCollection();
        services.AddScst(o =>
            {
                o.StateDirectory = stateDirectory;
                o.UnitAttentionOnNewNexus = false; // tests of other things; NewNexusUnitAttentionTests turn it on
            })
            .AddVdiskHandlers()
            .AddLocalTransport()
            .AddDevice("vdisk_nullio", "disk1", new Dictionary<string, string> { ["size"] = "64M", ["thin_provisioned"] = thin ? "1" : "0" })
            .AddTarget(LocalTargetDriver.DriverName, TargetName, t => t.AddLun(0, "disk1"));
        _services = services.BuildServiceProvider();
        Engine = _services.GetRequiredService<ScstEngine>();
        Driver = _services.GetRequiredService<LocalTargetDriver>();
        Engine.RegisterDriver(Driver);
        Engine.ApplyConfiguration();
    }

    public ScstEngine Engine { get; }

    public LocalTargetDriver Driver { get; }

    public ScsiDevice Device => Engine.FindDevice("disk1")!;

    public LocalSession OpenSession(string initiator = "iqn.2026-01.test:initiator")
    {
        LocalSession s = Driver.OpenSession(TargetName, initiator);
        _sessions.Add(s);
        return s;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (LocalSession s in _sessions)
        {
            s.Dispose();
        }

        await Engine.DisposeAsync();
        await _services.DisposeAsync();
    }
}

/// <summary>CDB builders and result checks for the SPC tests.</summary>
internal static class Spc
{
    public static byte[] ModeSense6(byte pageCode, int pc = 0, bool dbd = true, int allocation = 255, byte subpage = 0) =>
        [0x1A, (byte)(dbd ? 0x08 : 0), (byte)((pc << 6) | pageCode), subpage, (byte)allocation, 0];

    public static byte[] ModeSense10(byte pageCode, int pc = 0, bool dbd = false, bool llbaa = false, int allocation = 1024) =>
        [0x5A, (byte)((dbd ? 0x08 : 0) | (llbaa ? 0x10 : 0)), (byte)((pc << 6) | pageCode), 0, 0, 0, 0, (byte)(allocation >> 8), (byte)allocation, 0];

    public static byte[] ModeSelect6(int length, bool pf = true, bool sp = false) =>
        [0x15, (byte)((pf ? 0x10 : 0) | (sp ? 0x01 : 0)), 0, 0, (byte)length, 0];

    public static byte[] ModeSelect10(int length, bool pf = true, bool sp = false) =>
        [0x55, (byte)((pf ? 0x10 : 0) | (sp ? 0x01 : 0)), 0, 0, 0, 0, 0, (byte)(length >> 8), (byte)length, 0];

    public static byte[] ReportOpcodes(int options, byte opcode = 0, int serviceAction = 0, bool rctd = false, int allocation = 8192) =>
        [0xA3, 0x0C, (byte)((rctd ? 0x80 : 0) | options), opcode, (byte)(serviceAction >> 8), (byte)serviceAction,
         (byte)(allocation >> 24), (byte)(allocation >> 16), (byte)(allocation >> 8), (byte)allocation, 0, 0];

    public static byte[] ReportTmfs(bool repd, int allocation = 64) =>
        [0xA3, 0x0D, (byte)(repd ? 0x80 : 0), 0, 0, 0, 0, 0, (byte)(allocation >> 8), (byte)allocation, 0, 0];

    public static readonly byte[] TestUnitReady = [0x00, 0, 0, 0, 0, 0];

    public static async Task<(LocalResult Result, byte[] Data)> ReadAsync(LocalSession session, byte[] cdb, int length = 8192)
    {
        byte[] buffer = new byte[length];
        LocalResult r = await session.ExecuteAsync(0, cdb, DataDirection.Read, buffer);
        return (r, buffer[..r.TransferredLength]);
    }

    public static async Task<LocalResult> WriteAsync(LocalSession session, byte[] cdb, byte[] data) =>
        await session.ExecuteAsync(0, cdb, data.Length == 0 ? DataDirection.None : DataDirection.Write, data);

    /// <summary>Reads the current value of one page with MODE SENSE(6), DBD set; returns the page bytes with PS cleared.</summary>
    public static async Task<byte[]> CurrentPageAsync(LocalSession session, byte pageCode, int pc = 0)
    {
        (LocalResult r, byte[] d) = await ReadAsync(session, ModeSense6(pageCode, pc), 255);
        r.Status.Should().Be(ScsiStatus.Good);
        byte[] page = d[4..];
        page[0] &= 0x7F;
        return page[..(page[1] + 2)];
    }

    /// <summary>A MODE SELECT(6) parameter list with no block descriptor carrying <paramref name="page"/>.</summary>
    public static byte[] SelectList(byte[] page) => [0, 0, 0, 0, .. page];

    public static void ShouldBeInvalidField(this LocalResult r, SenseCode sense, bool inCdb, int byteOffset, int bit = -1)
    {
        r.Status.Should().Be(ScsiStatus.CheckCondition);
        r.Outcome.Sense.Should().Be(sense);
        r.Outcome.HasFieldPointer.Should().BeTrue();
        r.Outcome.FieldInCdb.Should().Be(inCdb);
        r.Outcome.FieldPointer.Should().Be((ushort)byteOffset);
        r.Outcome.BitPointer.Should().Be(bit);
    }

    public static void ShouldBeInvalidFieldInCdb(this LocalResult r, int byteOffset, int bit = -1) =>
        r.ShouldBeInvalidField(SenseCode.InvalidFieldInCdb, inCdb: true, byteOffset, bit);

    public static void ShouldBeInvalidFieldInParameterList(this LocalResult r, int byteOffset, int bit = -1) =>
        r.ShouldBeInvalidField(SenseCode.InvalidFieldInParameterList, inCdb: false, byteOffset, bit);
}
