// Licensed under the Apache License, Version 2.0.

using Scst.Core;
using Scst.Integration.Tests.Fixtures;
using Scst.Testing.Iscsi;
using Scst.Transport.Local;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>What a READ/WRITE scenario needs from a transport: the status, the sense codes and the data.</summary>
internal interface IBlockClient : IAsyncDisposable
{
    string Name { get; }

    /// <summary>Writes; a transport-level protocol violation (iSCSI: Data-In for a write) fails the assertion inside.</summary>
    Task<(byte Status, (byte Key, byte Asc, byte Ascq) Sense)> WriteAsync(uint lba, byte[] data);

    Task<(byte Status, (byte Key, byte Asc, byte Ascq) Sense, byte[] Data)> ReadAsync(uint lba, ushort blocks);
}

internal sealed class IscsiBlockClient(IscsiTestInitiator initiator) : IBlockClient
{
    public string Name => "iscsi";

    public static async Task<IscsiBlockClient> OpenAsync(ScstTargetFixture fixture, string initiatorName)
    {
        var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint);
        var login = await initiator.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, initiatorName));
        login.Status.Should().Be(Scst.Transport.Iscsi.Protocol.LoginStatus.Success);
        await initiator.ClearUnitAttentionAsync();
        return new IscsiBlockClient(initiator);
    }

    public async Task<(byte Status, (byte Key, byte Asc, byte Ascq) Sense)> WriteAsync(uint lba, byte[] data)
    {
        var result = await initiator.ExecuteAsync(0, Cdbs.Write10(lba, (ushort)(data.Length / ScstTargetFixture.BlockSize)), writeData: data);
        result.Violations.Should().BeEmpty("a WRITE is answered by a SCSI Response, never by Data-In");
        return (result.Status, result.SenseCodes);
    }

    public async Task<(byte Status, (byte Key, byte Asc, byte Ascq) Sense, byte[] Data)> ReadAsync(uint lba, ushort blocks)
    {
        var result = await initiator.ExecuteAsync(0, Cdbs.Read10(lba, blocks), readLength: blocks * ScstTargetFixture.BlockSize);
        return (result.Status, result.SenseCodes, result.Data);
    }

    public ValueTask DisposeAsync() => initiator.DisposeAsync();
}

internal sealed class LocalBlockClient(LocalSession session) : IBlockClient
{
    public string Name => "local";

    public static async Task<LocalBlockClient> OpenAsync(ScstTargetFixture fixture, string initiatorName)
    {
        var session = fixture.LocalDriver.OpenSession(ScstTargetFixture.LocalTargetName, initiatorName);
        for (var i = 0; i < 3; i++)
        {
            var result = await session.ExecuteAsync(0, Cdbs.TestUnitReady(), DataDirection.None, Memory<byte>.Empty);
            if (result.Status == ScsiStatus.Good)
            {
                break;
            }
        }

        return new LocalBlockClient(session);
    }

    public async Task<(byte Status, (byte Key, byte Asc, byte Ascq) Sense)> WriteAsync(uint lba, byte[] data)
    {
        var result = await session.ExecuteAsync(0, Cdbs.Write10(lba, (ushort)(data.Length / ScstTargetFixture.BlockSize)), DataDirection.Write, data);
        return ((byte)result.Status, Sense(result));
    }

    public async Task<(byte Status, (byte Key, byte Asc, byte Ascq) Sense, byte[] Data)> ReadAsync(uint lba, ushort blocks)
    {
        var data = new byte[blocks * ScstTargetFixture.BlockSize];
        var result = await session.ExecuteAsync(0, Cdbs.Read10(lba, blocks), DataDirection.Read, data);
        return ((byte)result.Status, Sense(result), data);
    }

    public ValueTask DisposeAsync()
    {
        session.Dispose();
        return ValueTask.CompletedTask;
    }

    private static (byte, byte, byte) Sense(LocalResult result)
    {
        var sense = result.Outcome.Sense;
        return result.Status == ScsiStatus.Good ? default : ((byte)sense.Key, sense.Asc, sense.Ascq);
    }
}
