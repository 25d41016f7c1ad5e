// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Scst.Core;
using Scst.Testing;
using Scst.Transport.Local;

namespace Scst.Integration.Tests.Spc;

/// <summary>CDBs, parameter lists and checks for the reservation tests, written from SPC-2 and SPC-4 independently of the core.</summary>
internal static class Pr
{
    public const int WriteExclusive = 1;
    public const int ExclusiveAccess = 3;
    public const int WriteExclusiveRegistrantsOnly = 5;
    public const int ExclusiveAccessRegistrantsOnly = 6;
    public const int WriteExclusiveAllRegistrants = 7;
    public const int ExclusiveAccessAllRegistrants = 8;

    public const int Register = 0;
    public const int Reserve = 1;
    public const int Release = 2;
    public const int Clear = 3;
    public const int Preempt = 4;
    public const int PreemptAndAbort = 5;
    public const int RegisterAndIgnore = 6;
    public const int RegisterAndMove = 7;

    public const byte SpecIPt = 0x08;
    public const byte AllTgPt = 0x04;
    public const byte Aptpl = 0x01;

    public const string InitiatorA = "iqn.2026-01.test:a";
    public const string InitiatorB = "iqn.2026-01.test:b";
    public const string InitiatorC = "iqn.2026-01.test:c";

    public static readonly byte[] Reserve6 = [0x16, 0, 0, 0, 0, 0];
    public static readonly byte[] Release6 = [0x17, 0, 0, 0, 0, 0];
    public static readonly byte[] Reserve10 = [0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    public static readonly byte[] Release10 = [0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    public static byte[] InCdb(int serviceAction, int allocation = 8192) =>
        [0x5E, (byte)serviceAction, 0, 0, 0, 0, 0, (byte)(allocation >> 8), (byte)allocation, 0];

    public static byte[] OutCdb(int serviceAction, int type, int listLength, int scope = 0) =>
        [0x5F, (byte)serviceAction, (byte)((scope << 4) | type), 0, 0, (byte)(listLength >> 24), (byte)(listLength >> 16), (byte)(listLength >> 8), (byte)listLength, 0];

    /// <summary>The 24-byte basic parameter list.</summary>
    public static byte[] List(ulong key, ulong serviceActionKey, byte flags = 0)
    {
        var list = new byte[24];
        BinaryPrimitives.WriteUInt64BigEndian(list, key);
        BinaryPrimitives.WriteUInt64BigEndian(list.AsSpan(8), serviceActionKey);
        list[20] = flags;
        return list;
    }

    /// <summary>A basic list with SPEC_I_PT and the given TransportIDs after the TRANSPORTID PARAMETER DATA LENGTH field.</summary>
    public static byte[] SpecifiedPortsList(ulong key, ulong serviceActionKey, byte flags, params byte[][] ids)
    {
        byte[] ports = [.. ids.SelectMany(i => i)];
        byte[] list = [.. List(key, serviceActionKey, (byte)(flags | SpecIPt)), 0, 0, 0, 0, .. ports];
        BinaryPrimitives.WriteUInt32BigEndian(list.AsSpan(24), (uint)ports.Length);
        return list;
    }

    /// <summary>The REGISTER AND MOVE parameter list.</summary>
    public static byte[] MoveList(ulong key, ulong serviceActionKey, ushort relativeTargetPortId, byte[] transportId, bool unregister = false, bool aptpl = false)
    {
        var list = new byte[24 + transportId.Length];
        BinaryPrimitives.WriteUInt64BigEndian(list, key);
        BinaryPrimitives.WriteUInt64BigEndian(list.AsSpan(8), serviceActionKey);
        list[17] = (byte)((unregister ? 0x02 : 0) | (aptpl ? 0x01 : 0));
        BinaryPrimitives.WriteUInt16BigEndian(list.AsSpan(18), relativeTargetPortId);
        BinaryPrimitives.WriteUInt32BigEndian(list.AsSpan(20), (uint)transportId.Length);
        transportId.CopyTo(list, 24);
        return list;
    }

    /// <summary>A name-only TransportID with the Local transport's protocol identifier (0Fh), padded to 4 bytes.</summary>
    public static byte[] LocalTransportId(string name)
    {
        int padded = (Encoding.UTF8.GetByteCount(name) + 1 + 3) & ~3;
        var id = new byte[4 + padded];
        id[0] = 0x0F;
        BinaryPrimitives.WriteUInt16BigEndian(id.AsSpan(2), (ushort)padded);
        Encoding.UTF8.GetBytes(name, id.AsSpan(4));
        return id;
    }

    public static Task<LocalResult> OutAsync(LocalSession session, byte[] cdb, byte[] list) => Spc.WriteAsync(session, cdb, list);

    public static Task<LocalResult> OutAsync(LocalSession session, int serviceAction, int type, ulong key, ulong serviceActionKey, byte flags = 0) =>
        Spc.WriteAsync(session, OutCdb(serviceAction, type, 24), List(key, serviceActionKey, flags));

    public static Task<LocalResult> RegisterAsync(LocalSession session, ulong key, byte flags = 0) => OutAsync(session, RegisterAndIgnore, 0, 0, key, flags);

    public static Task<LocalResult> ReserveAsync(LocalSession session, ulong key, int type) => OutAsync(session, Reserve, type, key, 0);

    public static async Task<(uint Generation, ulong[] Keys)> KeysAsync(LocalSession session)
    {
        (LocalResult r, byte[] d) = await Spc.ReadAsync(session, InCdb(0));
        r.ShouldBeGood();
        int length = (int)BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(4));
        ulong[] keys = [.. Enumerable.Range(0, length / 8).Select(i => BinaryPrimitives.ReadUInt64BigEndian(d.AsSpan(8 + (8 * i))))];
        return (BinaryPrimitives.ReadUInt32BigEndian(d), keys);
    }

    public static async Task<(bool Reserved, ulong Key, int Scope, int Type)> ReservationAsync(LocalSession session)
    {
        (LocalResult r, byte[] d) = await Spc.ReadAsync(session, InCdb(1));
        r.ShouldBeGood();
        uint length = BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(4));
        return length == 0 ? (false, 0, 0, 0) : (true, BinaryPrimitives.ReadUInt64BigEndian(d.AsSpan(8)), d[21] >> 4, d[21] & 0x0F);
    }

    public static Task<LocalResult> ReadBlockAsync(LocalSession session) =>
        session.ExecuteAsync(0, CdbBuilder.Read10(1, 1), DataDirection.Read, new byte[512]).AsTask();

    public static Task<LocalResult> WriteBlockAsync(LocalSession session) =>
        session.ExecuteAsync(0, CdbBuilder.Write10(1, 1), DataDirection.Write, new byte[512]).AsTask();

    public static Task<LocalResult> NoDataAsync(LocalSession session, byte[] cdb) =>
        session.ExecuteAsync(0, cdb, DataDirection.None, Memory<byte>.Empty).AsTask();

    public static void ShouldBeGood(this LocalResult r, string because = "") =>
        SenseAssert.Describe(r.Outcome).Should().Be("GOOD", because);

    public static void ShouldConflict(this LocalResult r, string because = "") =>
        SenseAssert.Describe(r.Outcome).Should().Be(nameof(ScsiStatus.ReservationConflict), because);

    public static void ShouldBeCheckCondition(this LocalResult r, SenseCode sense) => SenseAssert.IsCheckCondition(r, sense);
}

/// <summary>RESERVE and RELEASE (SPC-2): one holder, conflicts for the others, and what ends a reservation.</summary>
public sealed class Spc2ReservationTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Reserve_OtherNexus_ConflictsExceptForTheCommandsSpc2LetsThrough(bool tenByte)
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);

        (await Pr.NoDataAsync(a, tenByte ? Pr.Reserve10 : Pr.Reserve6)).ShouldBeGood();

        (await Pr.ReadBlockAsync(a)).ShouldBeGood();
        (await Pr.WriteBlockAsync(a)).ShouldBeGood();
        (await Pr.ReadBlockAsync(b)).ShouldConflict();
        (await Pr.WriteBlockAsync(b)).ShouldConflict();
        (await Spc.ReadAsync(b, Spc.ModeSense6(0x08))).Result.ShouldConflict();
        (await Pr.NoDataAsync(b, tenByte ? Pr.Reserve10 : Pr.Reserve6)).ShouldConflict();
        (await Spc.ReadAsync(b, CdbBuilder.Inquiry())).Result.ShouldBeGood();
        (await Spc.ReadAsync(b, CdbBuilder.ReportLuns())).Result.ShouldBeGood();
        (await Spc.ReadAsync(b, CdbBuilder.RequestSense())).Result.ShouldBeGood();
        (await Spc.ReadAsync(b, CdbBuilder.ReadCapacity10())).Result.ShouldBeGood();
        (await Pr.NoDataAsync(b, CdbBuilder.TestUnitReady())).ShouldBeGood();
        (await Pr.NoDataAsync(b, [0x1E, 0, 0, 0, 0, 0])).ShouldBeGood(); // PREVENT ALLOW MEDIUM REMOVAL, PREVENT 00b
        (await Pr.NoDataAsync(b, [0x1E, 0, 0, 0, 1, 0])).ShouldConflict();
    }

    [Fact]
    public async Task Release_FromANonHolder_IsGoodAndReleasesNothing()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        (await Pr.NoDataAsync(a, Pr.Reserve6)).ShouldBeGood();

        (await Pr.NoDataAsync(b, Pr.Release6)).ShouldBeGood();
        (await Pr.NoDataAsync(b, Pr.Release10)).ShouldBeGood();

        (await Pr.ReadBlockAsync(b)).ShouldConflict();
        (await Pr.NoDataAsync(a, Pr.Reserve10)).ShouldBeGood("the holder may reserve again");
        (await Pr.NoDataAsync(a, Pr.Release10)).ShouldBeGood();
        (await Pr.ReadBlockAsync(b)).ShouldBeGood();
        (await Pr.NoDataAsync(b, Pr.Reserve6)).ShouldBeGood();
    }

    [Theory]
    [InlineData(new byte[] { 0x56, 0x10, 0, 0, 0, 0, 0, 0, 0, 0 }, 1, 4)]  // RESERVE(10) 3RDPTY
    [InlineData(new byte[] { 0x56, 0x02, 0, 0, 0, 0, 0, 0, 0, 0 }, 1, 1)]  // RESERVE(10) LONGID
    [InlineData(new byte[] { 0x56, 0, 0x05, 0, 0, 0, 0, 0, 0, 0 }, 2, 2)]  // RESERVE(10) THIRD-PARTY DEVICE ID
    [InlineData(new byte[] { 0x57, 0x10, 0, 0, 0, 0, 0, 0, 0, 0 }, 1, 4)]  // RELEASE(10) 3RDPTY
    [InlineData(new byte[] { 0x16, 0x01, 0, 0, 0, 0 }, 1, 0)]              // RESERVE(6) obsolete EXTENT
    [InlineData(new byte[] { 0x17, 0, 0, 0, 0x08, 0 }, 4, 3)]              // RELEASE(6) obsolete field
    public async Task ThirdPartyOrExtentFields_AreRefusedWithTheFieldPointer(byte[] cdb, int byteOffset, int bit)
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);

        LocalResult r = await Pr.NoDataAsync(a, cdb);

        r.ShouldBeInvalidFieldInCdb(byteOffset, bit);
        (await Pr.ReadBlockAsync(b)).ShouldBeGood("nothing was reserved");
    }

    [Fact]
    public async Task SessionClose_ReleasesTheReservation_NexusLoss()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        (await Pr.NoDataAsync(a, Pr.Reserve6)).ShouldBeGood();
        (await Pr.NoDataAsync(b, Pr.Reserve6)).ShouldConflict();

        a.Dispose();

        (await Pr.NoDataAsync(b, Pr.Reserve6)).ShouldBeGood();
        (await Pr.WriteBlockAsync(b)).ShouldBeGood();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task LogicalUnitReset_FromAnyNexus_ReleasesTheReservation(bool fromHolder)
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        (await Pr.NoDataAsync(a, Pr.Reserve6)).ShouldBeGood();

        TaskManagementResponse response = await (fromHolder ? a : b).ResetLogicalUnitAsync(0);

        response.Should().Be(TaskManagementResponse.FunctionComplete);
        SenseAssert.IsCheckCondition((await Pr.NoDataAsync(b, Pr.Reserve6)).Outcome, SenseCode.BusDeviceResetOccurred);
        (await Pr.NoDataAsync(b, Pr.Reserve6)).ShouldBeGood();
    }

    [Fact]
    public async Task TargetReset_ReleasesTheReservation()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        (await Pr.NoDataAsync(a, Pr.Reserve10)).ShouldBeGood();

        TaskManagementResponse response = await b.Session.ResetTargetAsync();

        response.Should().Be(TaskManagementResponse.FunctionComplete);
        SenseAssert.IsCheckCondition((await Pr.WriteBlockAsync(b)).Outcome, SenseCode.PowerOnReset);
        (await Pr.WriteBlockAsync(b)).ShouldBeGood();
    }

    [Fact]
    public async Task PersistentReserveCommands_ConflictForEveryNexusWhileReserved()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        (await Pr.NoDataAsync(a, Pr.Reserve6)).ShouldBeGood();

        (await Spc.ReadAsync(a, Pr.InCdb(0))).Result.ShouldConflict();
        (await Spc.ReadAsync(b, Pr.InCdb(2))).Result.ShouldConflict();
        (await Pr.RegisterAsync(a, 0x1111)).ShouldConflict();
        (await Pr.RegisterAsync(b, 0x2222)).ShouldConflict();

        (await Pr.NoDataAsync(a, Pr.Release6)).ShouldBeGood();
        (await Pr.RegisterAsync(b, 0x2222)).ShouldBeGood();
    }

    [Fact]
    public async Task Reserve_WithRegistrantsPresent_FollowsCompatibleReservationHandling()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        LocalSession c = stack.OpenSession(Pr.InitiatorC);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.RegisterAsync(b, 0xB)).ShouldBeGood();

        // Registrations but no persistent reservation: RESERVE and RELEASE conflict for everyone.
        (await Pr.NoDataAsync(a, Pr.Reserve6)).ShouldConflict();
        (await Pr.NoDataAsync(c, Pr.Release6)).ShouldConflict();

        // The holder's RESERVE and RELEASE are GOOD and change nothing; other registrants of a WE reservation conflict.
        (await Pr.ReserveAsync(a, 0xA, Pr.WriteExclusive)).ShouldBeGood();
        (await Pr.NoDataAsync(a, Pr.Reserve6)).ShouldBeGood();
        (await Pr.NoDataAsync(a, Pr.Release10)).ShouldBeGood();
        (await Pr.NoDataAsync(b, Pr.Reserve6)).ShouldConflict();
        (await Pr.ReservationAsync(c)).Should().Be((true, 0xAUL, 0, Pr.WriteExclusive));
        (await Pr.ReadBlockAsync(c)).ShouldBeGood("no SPC-2 reservation was made");

        // Any registrant of a registrants-only reservation gets the same exemption; unregistered nexuses do not.
        (await Pr.OutAsync(a, Pr.Release, Pr.WriteExclusive, 0xA, 0)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, Pr.WriteExclusiveRegistrantsOnly)).ShouldBeGood();
        (await Pr.NoDataAsync(b, Pr.Reserve10)).ShouldBeGood();
        (await Pr.NoDataAsync(c, Pr.Reserve10)).ShouldConflict();
    }
}

/// <summary>PERSISTENT RESERVE OUT: field checks, keys, and the effect of each service action.</summary>
public sealed class PersistentReserveOutTests
{
    [Theory]
    [InlineData(Pr.Register, 23)]
    [InlineData(Pr.Register, 25)]
    [InlineData(Pr.RegisterAndIgnore, 0)]
    [InlineData(Pr.Reserve, 32)]
    [InlineData(Pr.Clear, 20)]
    [InlineData(Pr.RegisterAndMove, 16)]
    public async Task ParameterListLength_NotTheListsLength_IsParameterListLengthError(int serviceAction, int length)
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        byte[] list = new byte[length];
        if (length >= 16)
        {
            BinaryPrimitives.WriteUInt64BigEndian(list.AsSpan(8), 0x1234);
        }

        LocalResult r = await Pr.OutAsync(a, Pr.OutCdb(serviceAction, Pr.WriteExclusive, length), list);

        r.ShouldBeCheckCondition(SenseCode.ParameterListLengthError);
        (await Pr.KeysAsync(a)).Keys.Should().BeEmpty();
    }

    [Theory]
    [InlineData(Pr.Reserve)]
    [InlineData(Pr.Release)]
    [InlineData(Pr.Preempt)]
    [InlineData(Pr.PreemptAndAbort)]
    public async Task Scope_NotLogicalUnit_IsInvalidFieldInCdb(int serviceAction)
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();

        LocalResult r = await Pr.OutAsync(a, Pr.OutCdb(serviceAction, Pr.WriteExclusive, 24, scope: 2), Pr.List(0xA, 0xA));

        r.ShouldBeInvalidFieldInCdb(2, 7);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(9)]
    [InlineData(15)]
    public async Task Reserve_UnknownType_IsInvalidFieldInCdb(int type)
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();

        LocalResult r = await Pr.ReserveAsync(a, 0xA, type);

        r.ShouldBeInvalidFieldInCdb(2, 3);
        (await Pr.ReservationAsync(a)).Reserved.Should().BeFalse();
    }

    [Theory]
    [InlineData(Pr.Register, 0)]
    [InlineData(Pr.Clear, 15)]
    [InlineData(Pr.RegisterAndIgnore, 9)]
    public async Task ScopeAndType_OfServiceActionsThatIgnoreThem_AreNotChecked(int serviceAction, int type)
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);

        LocalResult r = await Pr.OutAsync(a, Pr.OutCdb(serviceAction, type, 24, scope: 3), Pr.List(0, serviceAction == Pr.Clear ? 0UL : 0xA));

        if (serviceAction == Pr.Clear)
        {
            r.ShouldConflict(); // not registered: the key check decides
        }
        else
        {
            r.ShouldBeGood();
        }
    }

    [Theory]
    [InlineData(Pr.Reserve)]
    [InlineData(Pr.Release)]
    [InlineData(Pr.Clear)]
    [InlineData(Pr.Preempt)]
    [InlineData(Pr.RegisterAndIgnore)]
    public async Task SpecIPt_WithAnyServiceActionButRegister_IsInvalidFieldInParameterList(int serviceAction)
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();

        LocalResult r = await Pr.OutAsync(a, serviceAction, Pr.WriteExclusive, 0xA, 0xB, Pr.SpecIPt);

        r.ShouldBeInvalidFieldInParameterList(20, 3);
    }

    [Theory]
    [InlineData(0x80, 7)]
    [InlineData(0x10, 4)]
    [InlineData(0x02, 1)]
    public async Task ReservedBitOfByte20_IsInvalidFieldInParameterList(byte flags, int bit)
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);

        LocalResult r = await Pr.RegisterAsync(a, 0xA, flags);

        r.ShouldBeInvalidFieldInParameterList(20, bit);
        (await Pr.KeysAsync(a)).Keys.Should().BeEmpty();
    }

    [Fact]
    public async Task Aptpl_WithoutAStateDirectory_IsInvalidFieldInParameterList()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);

        LocalResult r = await Pr.RegisterAsync(a, 0xA, Pr.Aptpl);

        r.ShouldBeInvalidFieldInParameterList(20, 0);
    }

    [Fact]
    public async Task Register_KeysAndGeneration_FollowSpc4()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        uint start = (await Pr.KeysAsync(a)).Generation;

        (await Pr.OutAsync(a, Pr.Register, 0, 0x99, 0xA)).ShouldConflict("an unregistered nexus must send key 0");
        (await Pr.OutAsync(a, Pr.Register, 0, 0, 0)).ShouldBeGood("unregistering an unregistered nexus does nothing");
        (await Pr.KeysAsync(a)).Generation.Should().Be(start);

        (await Pr.OutAsync(a, Pr.Register, 0, 0, 0xA)).ShouldBeGood();
        (await Pr.OutAsync(a, Pr.Register, 0, 0, 0xB)).ShouldConflict("registered with 0xA, the key must be 0xA");
        (await Pr.OutAsync(a, Pr.Register, 0, 0xA, 0xB)).ShouldBeGood();
        (await Pr.OutAsync(a, Pr.RegisterAndIgnore, 0, 0x777, 0xC)).ShouldBeGood("the existing key is ignored");
        (await Pr.KeysAsync(a)).Should().BeEquivalentTo((start + 3, new[] { 0xCUL }));

        (await Pr.OutAsync(a, Pr.Register, 0, 0xC, 0)).ShouldBeGood();
        (await Pr.KeysAsync(a)).Should().BeEquivalentTo((start + 4, Array.Empty<ulong>()));
    }

    [Fact]
    public async Task ServiceActions_WithAWrongKey_ConflictAndChangeNothing()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession c = stack.OpenSession(Pr.InitiatorC);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, Pr.ExclusiveAccess)).ShouldBeGood();
        (uint generation, _) = await Pr.KeysAsync(a);

        (await Pr.OutAsync(a, Pr.Release, Pr.ExclusiveAccess, 0xB, 0)).ShouldConflict();
        (await Pr.OutAsync(a, Pr.Clear, 0, 0xB, 0)).ShouldConflict();
        (await Pr.OutAsync(c, Pr.Clear, 0, 0, 0)).ShouldConflict("c is not registered");
        (await Pr.OutAsync(c, Pr.Preempt, Pr.ExclusiveAccess, 0, 0xA)).ShouldConflict();
        (await Pr.OutAsync(c, Pr.Reserve, Pr.ExclusiveAccess, 0, 0)).ShouldConflict();

        (await Pr.KeysAsync(a)).Should().BeEquivalentTo((generation, new[] { 0xAUL }));
        (await Pr.ReservationAsync(a)).Should().Be((true, 0xAUL, 0, Pr.ExclusiveAccess));
    }

    [Fact]
    public async Task Reserve_ByTheHolder_SameTypeIsGood_OtherTypeConflicts_OtherNexusConflicts()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.RegisterAsync(b, 0xB)).ShouldBeGood();
        (uint generation, _) = await Pr.KeysAsync(a);

        (await Pr.ReserveAsync(a, 0xA, Pr.WriteExclusive)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, Pr.WriteExclusive)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, Pr.ExclusiveAccess)).ShouldConflict();
        (await Pr.ReserveAsync(b, 0xB, Pr.WriteExclusive)).ShouldConflict();

        (await Pr.ReservationAsync(b)).Should().Be((true, 0xAUL, 0, Pr.WriteExclusive));
        (await Pr.KeysAsync(a)).Generation.Should().Be(generation, "RESERVE does not change the generation");
    }

    [Fact]
    public async Task Release_WrongType_IsInvalidReleaseOfPersistentReservation()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, Pr.WriteExclusive)).ShouldBeGood();

        LocalResult r = await Pr.OutAsync(a, Pr.Release, Pr.ExclusiveAccess, 0xA, 0);

        r.ShouldBeCheckCondition(SenseCode.InvalidReleaseOfPersistentReservation);
        (await Pr.ReservationAsync(a)).Reserved.Should().BeTrue();
    }

    [Fact]
    public async Task Release_ByARegistrantThatDoesNotHold_IsGoodAndReleasesNothing()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.RegisterAsync(b, 0xB)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, Pr.WriteExclusive)).ShouldBeGood();

        (await Pr.OutAsync(b, Pr.Release, Pr.WriteExclusive, 0xB, 0)).ShouldBeGood();

        (await Pr.ReservationAsync(b)).Should().Be((true, 0xAUL, 0, Pr.WriteExclusive));
    }

    [Fact]
    public async Task Clear_RemovesEveryRegistrationAndTheReservation_AndCountsOneGeneration()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.RegisterAsync(b, 0xB)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, Pr.ExclusiveAccess)).ShouldBeGood();
        (uint generation, _) = await Pr.KeysAsync(a);

        (await Pr.OutAsync(b, Pr.Clear, 0, 0xB, 0)).ShouldBeGood();

        (await Pr.KeysAsync(b)).Should().BeEquivalentTo((generation + 1, Array.Empty<ulong>()));
        (await Pr.ReservationAsync(b)).Reserved.Should().BeFalse();
        (await Pr.WriteBlockAsync(stack.OpenSession(Pr.InitiatorC))).ShouldBeGood();
    }

    [Fact]
    public async Task Preempt_WithoutReservation_RemovesTheRegistrationsWithThatKey()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        LocalSession c = stack.OpenSession(Pr.InitiatorC);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.RegisterAsync(b, 0x5)).ShouldBeGood();
        (await Pr.RegisterAsync(c, 0x5)).ShouldBeGood();
        (uint generation, _) = await Pr.KeysAsync(a);

        (await Pr.OutAsync(a, Pr.Preempt, Pr.ExclusiveAccess, 0xA, 0x5)).ShouldBeGood();

        (await Pr.KeysAsync(a)).Should().BeEquivalentTo((generation + 1, new[] { 0xAUL }));
        (await Pr.ReservationAsync(a)).Reserved.Should().BeFalse("there was no reservation to take");
        (await Pr.OutAsync(a, Pr.Preempt, Pr.ExclusiveAccess, 0xA, 0x5)).ShouldConflict("no registration has key 5 any more");
        (await Pr.OutAsync(a, Pr.Preempt, Pr.ExclusiveAccess, 0xA, 0)).ShouldBeInvalidFieldInParameterList(8);
    }

    [Fact]
    public async Task Preempt_TheHolder_TakesTheReservationWithTheNewType()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.RegisterAsync(b, 0xB)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, Pr.WriteExclusive)).ShouldBeGood();

        (await Pr.OutAsync(b, Pr.Preempt, Pr.ExclusiveAccess, 0xB, 0xA)).ShouldBeGood();

        (await Pr.ReservationAsync(b)).Should().Be((true, 0xBUL, 0, Pr.ExclusiveAccess));
        (await Pr.KeysAsync(b)).Keys.Should().Equal(0xBUL);
        (await Pr.ReadBlockAsync(a)).Status.Should().NotBe(ScsiStatus.Good, "a lost its registration under an EA reservation");
    }

    [Fact]
    public async Task Preempt_AllRegistrantsWithKeyZero_RemovesEveryOtherRegistration()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        LocalSession c = stack.OpenSession(Pr.InitiatorC);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.RegisterAsync(b, 0xB)).ShouldBeGood();
        (await Pr.RegisterAsync(c, 0xC)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, Pr.WriteExclusiveAllRegistrants)).ShouldBeGood();

        (await Pr.OutAsync(b, Pr.Preempt, Pr.WriteExclusive, 0xB, 0)).ShouldBeGood();

        (await Pr.KeysAsync(b)).Keys.Should().Equal(0xBUL);
        (await Pr.ReservationAsync(b)).Should().Be((true, 0xBUL, 0, Pr.WriteExclusive));
    }

    [Fact]
    public async Task RegistrationAndReservation_OutliveTheSession()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, Pr.WriteExclusive)).ShouldBeGood();

        a.Dispose();
        LocalSession again = stack.OpenSession(Pr.InitiatorA);

        (await Pr.WriteBlockAsync(b)).ShouldConflict("the reservation belongs to the I_T nexus, not to the session");
        (await Pr.WriteBlockAsync(again)).ShouldBeGood("the same initiator port through the same target port is the holder");
        (await Pr.OutAsync(again, Pr.Release, Pr.WriteExclusive, 0xA, 0)).ShouldBeGood();
        (await Pr.WriteBlockAsync(b)).ShouldBeGood();
    }

    [Fact]
    public async Task Unregister_ByTheHolder_ReleasesTheReservation_ButNotAnAllRegistrantsOne()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.RegisterAsync(b, 0xB)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, Pr.ExclusiveAccessAllRegistrants)).ShouldBeGood();

        (await Pr.OutAsync(a, Pr.Register, 0, 0xA, 0)).ShouldBeGood();
        (await Pr.ReservationAsync(b)).Should().Be((true, 0UL, 0, Pr.ExclusiveAccessAllRegistrants), "b still holds it");

        (await Pr.OutAsync(b, Pr.Register, 0, 0xB, 0)).ShouldBeGood();
        (await Pr.ReservationAsync(b)).Reserved.Should().BeFalse("the last registrant is gone");

        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, Pr.ExclusiveAccess)).ShouldBeGood();
        (await Pr.OutAsync(a, Pr.Register, 0, 0xA, 0)).ShouldBeGood();
        (await Pr.ReservationAsync(b)).Reserved.Should().BeFalse();
    }

    [Fact]
    public async Task SpecIPt_RegistersTheNamedInitiatorPortsWithTheSameKey()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        byte[] list = Pr.SpecifiedPortsList(0, 0xAB, 0, Pr.LocalTransportId(Pr.InitiatorB.ToUpperInvariant()), Pr.LocalTransportId(Pr.InitiatorC));

        (await Pr.OutAsync(a, Pr.OutCdb(Pr.Register, 0, list.Length), list)).ShouldBeGood();

        (await Pr.KeysAsync(a)).Keys.Should().Equal(0xABUL, 0xABUL, 0xABUL);
        (await Pr.ReserveAsync(b, 0xAB, Pr.ExclusiveAccess)).ShouldBeGood("b was registered by name, compared ignoring case");
        (await Pr.ReservationAsync(a)).Should().Be((true, 0xABUL, 0, Pr.ExclusiveAccess));
        (await Pr.ReadBlockAsync(a)).ShouldConflict("a registrant that is not the holder of an EA reservation");
    }

    [Fact]
    public async Task SpecIPt_ErrorsInTheTransportIdList()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        byte[] good = Pr.LocalTransportId(Pr.InitiatorB);
        byte[] bad = [.. good];
        bad[0] = 0x07; // an unsupported protocol identifier

        byte[] malformed = Pr.SpecifiedPortsList(0, 0xA, 0, good, bad);
        (await Pr.OutAsync(a, Pr.OutCdb(Pr.Register, 0, malformed.Length), malformed)).ShouldBeInvalidFieldInParameterList(28 + good.Length);

        byte[] tooLong = Pr.SpecifiedPortsList(0, 0xA, 0, good);
        BinaryPrimitives.WriteUInt32BigEndian(tooLong.AsSpan(24), (uint)good.Length + 4);
        (await Pr.OutAsync(a, Pr.OutCdb(Pr.Register, 0, tooLong.Length), tooLong)).ShouldBeCheckCondition(SenseCode.ParameterListLengthError);

        (await Pr.RegisterAsync(b, 0xB)).ShouldBeGood();
        byte[] registered = Pr.SpecifiedPortsList(0, 0xA, 0, good);
        (await Pr.OutAsync(a, Pr.OutCdb(Pr.Register, 0, registered.Length), registered)).ShouldBeInvalidFieldInParameterList(28);

        (await Pr.KeysAsync(a)).Keys.Should().Equal(0xBUL);

        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        byte[] fromRegistered = Pr.SpecifiedPortsList(0xA, 0xA, 0, Pr.LocalTransportId(Pr.InitiatorC));
        (await Pr.OutAsync(a, Pr.OutCdb(Pr.Register, 0, fromRegistered.Length), fromRegistered)).ShouldBeCheckCondition(SenseCode.InvalidFieldInCdb);
    }

    [Fact]
    public async Task Register_BeyondTheRegistrationLimit_IsInsufficientRegistrationResources()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        byte[][] ids = [.. Enumerable.Range(0, 256).Select(i => Pr.LocalTransportId($"iqn.2026-01.test:n{i}"))];
        byte[] list = Pr.SpecifiedPortsList(0, 0xA, 0, ids);

        LocalResult r = await Pr.OutAsync(a, Pr.OutCdb(Pr.Register, 0, list.Length), list);

        r.ShouldBeCheckCondition(SenseCode.InsufficientRegistrationResources);
        (await Pr.KeysAsync(a)).Keys.Should().BeEmpty("a failed registration registers nobody");
        byte[] fits = Pr.SpecifiedPortsList(0, 0xA, 0, ids[..255]);
        (await Pr.OutAsync(a, Pr.OutCdb(Pr.Register, 0, fits.Length), fits)).ShouldBeGood();
        (await Pr.KeysAsync(a)).Keys.Should().HaveCount(256);
    }

    [Fact]
    public async Task RegisterAndMove_MovesTheReservationToTheNamedNexus()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, Pr.WriteExclusive)).ShouldBeGood();
        (uint generation, _) = await Pr.KeysAsync(a);
        ushort port = b.Session.Target.RelativeTargetPortId;
        byte[] list = Pr.MoveList(0xA, 0xB, port, Pr.LocalTransportId(Pr.InitiatorB), unregister: true);

        (await Pr.OutAsync(a, Pr.OutCdb(Pr.RegisterAndMove, Pr.ExclusiveAccess, list.Length), list)).ShouldBeGood();

        (await Pr.ReservationAsync(b)).Should().Be((true, 0xBUL, 0, Pr.ExclusiveAccess));
        (await Pr.KeysAsync(b)).Should().BeEquivalentTo((generation + 1, new[] { 0xBUL }), "UNREG removed a");
        (await Pr.WriteBlockAsync(b)).ShouldBeGood();
        (await Pr.ReadBlockAsync(a)).ShouldConflict();
    }

    [Fact]
    public async Task RegisterAndMove_Errors()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        ushort port = a.Session.Target.RelativeTargetPortId;
        byte[] toB = Pr.LocalTransportId(Pr.InitiatorB);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.RegisterAsync(b, 0xB)).ShouldBeGood();

        async Task<LocalResult> MoveAsync(LocalSession from, byte[] list) =>
            await Pr.OutAsync(from, Pr.OutCdb(Pr.RegisterAndMove, Pr.WriteExclusive, list.Length), list);

        (await MoveAsync(a, Pr.MoveList(0xA, 0xB, port, toB))).ShouldConflict("a holds no reservation");
        (await Pr.ReserveAsync(a, 0xA, Pr.WriteExclusive)).ShouldBeGood();
        (await MoveAsync(b, Pr.MoveList(0xB, 0xC, port, Pr.LocalTransportId(Pr.InitiatorC)))).ShouldConflict("b is not the holder");
        (await MoveAsync(a, Pr.MoveList(0xA, 0, port, toB))).ShouldBeInvalidFieldInParameterList(8);
        (await MoveAsync(a, Pr.MoveList(0xA, 0xB, 999, toB))).ShouldBeInvalidFieldInParameterList(18);
        (await MoveAsync(a, Pr.MoveList(0xA, 0xB, port, Pr.LocalTransportId(Pr.InitiatorA)))).ShouldBeInvalidFieldInParameterList(24);
        (await MoveAsync(a, Pr.MoveList(0xA, 0xB, port, [0x0F, 0, 0, 3, 0x41, 0, 0]))).ShouldBeInvalidFieldInParameterList(24);
        byte[] shortList = Pr.MoveList(0xA, 0xB, port, toB);
        BinaryPrimitives.WriteUInt32BigEndian(shortList.AsSpan(20), (uint)toB.Length + 8);
        (await MoveAsync(a, shortList)).ShouldBeCheckCondition(SenseCode.ParameterListLengthError);

        (await Pr.ReservationAsync(a)).Should().Be((true, 0xAUL, 0, Pr.WriteExclusive), "no failed move changed anything");
    }
}

/// <summary>PERSISTENT RESERVE IN: the four service actions, their layouts and the allocation length.</summary>
public sealed class PersistentReserveInTests
{
    [Theory]
    [InlineData(0x04)]
    [InlineData(0x10)]
    [InlineData(0x1F)]
    public async Task UnknownServiceAction_IsInvalidFieldInCdb(int serviceAction)
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);

        (LocalResult r, _) = await Spc.ReadAsync(a, Pr.InCdb(serviceAction));
        LocalResult o = await Pr.OutAsync(a, Pr.OutCdb(serviceAction is 0x04 ? 0x08 : serviceAction, 0, 24), Pr.List(0, 0xA));

        r.ShouldBeInvalidFieldInCdb(1, 4);
        o.ShouldBeInvalidFieldInCdb(1, 4);
    }

    [Fact]
    public async Task ReservedCdbBits_AreInvalidFieldInCdb()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        byte[] cdb = Pr.InCdb(0);
        cdb[3] = 0x01;

        (LocalResult r, _) = await Spc.ReadAsync(a, cdb);

        r.ShouldBeInvalidFieldInCdb(3, 0);
    }

    [Fact]
    public async Task ReadKeys_AllocationLengthCutsTheListButNotTheLength()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        (await Pr.RegisterAsync(a, 0x0102030405060708)).ShouldBeGood();
        (await Pr.RegisterAsync(b, 0xB)).ShouldBeGood();

        (LocalResult r, byte[] d) = await Spc.ReadAsync(a, Pr.InCdb(0, allocation: 12), 64);

        r.ShouldBeGood();
        d.Length.Should().Be(12);
        BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(4)).Should().Be(16, "ADDITIONAL LENGTH counts both keys");
        d[8..12].Should().Equal(0x01, 0x02, 0x03, 0x04);
        (await Spc.ReadAsync(a, Pr.InCdb(0, allocation: 0), 64)).Data.Should().BeEmpty();
    }

    [Fact]
    public async Task ReadReservation_ReportsKeyScopeAndType_AndKeyZeroForAllRegistrants()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();

        (LocalResult none, byte[] empty) = await Spc.ReadAsync(a, Pr.InCdb(1));
        (await Pr.ReserveAsync(a, 0xA, Pr.WriteExclusiveRegistrantsOnly)).ShouldBeGood();
        (LocalResult r, byte[] d) = await Spc.ReadAsync(a, Pr.InCdb(1));
        (await Pr.OutAsync(a, Pr.Release, Pr.WriteExclusiveRegistrantsOnly, 0xA, 0)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, Pr.ExclusiveAccessAllRegistrants)).ShouldBeGood();

        none.ShouldBeGood();
        empty.Length.Should().Be(8);
        BinaryPrimitives.ReadUInt32BigEndian(empty.AsSpan(4)).Should().Be(0);
        r.ShouldBeGood();
        d.Length.Should().Be(24);
        BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(4)).Should().Be(16);
        BinaryPrimitives.ReadUInt64BigEndian(d.AsSpan(8)).Should().Be(0xA);
        d[21].Should().Be(0x05, "LU_SCOPE and type 5");
        (await Pr.ReservationAsync(a)).Should().Be((true, 0UL, 0, Pr.ExclusiveAccessAllRegistrants));
    }

    [Fact]
    public async Task ReportCapabilities_AdvertisesWhatTheCoreDoes()
    {
        await using var plain = new SpcStack();
        using var directory = new TempDirectory();
        await using var persistent = new SpcStack(directory.Path);
        LocalSession a = plain.OpenSession(Pr.InitiatorA);
        LocalSession p = persistent.OpenSession(Pr.InitiatorA);

        (LocalResult r, byte[] d) = await Spc.ReadAsync(a, Pr.InCdb(2));
        (LocalResult rp, byte[] dp) = await Spc.ReadAsync(p, Pr.InCdb(2));
        (await Pr.RegisterAsync(p, 0xA, Pr.Aptpl)).ShouldBeGood();
        (_, byte[] activated) = await Spc.ReadAsync(p, Pr.InCdb(2));

        r.ShouldBeGood();
        rp.ShouldBeGood();
        d.Should().Equal(0x00, 0x08, 0x1C, 0xC0, 0xEA, 0x01, 0x00, 0x00); // CRH SIP_C ATP_C; TMV, ALLOW COMMANDS 100b; all six types
        dp[2].Should().Be(0x1D, "PTPL_C with a state directory");
        dp[3].Should().Be(0xC0);
        activated[3].Should().Be(0xC1, "PTPL_A follows the last APTPL bit");
    }

    [Fact]
    public async Task ReadFullStatus_DescribesEveryRegistration()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.RegisterAsync(b, 0xB, Pr.AllTgPt)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, Pr.ExclusiveAccess)).ShouldBeGood();
        byte[] idA = Pr.LocalTransportId(Pr.InitiatorA);
        byte[] idB = Pr.LocalTransportId(Pr.InitiatorB);
        ushort port = a.Session.Target.RelativeTargetPortId;
        (uint generation, _) = await Pr.KeysAsync(a);

        (LocalResult r, byte[] d) = await Spc.ReadAsync(b, Pr.InCdb(3));

        r.ShouldBeGood();
        BinaryPrimitives.ReadUInt32BigEndian(d).Should().Be(generation);
        BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(4)).Should().Be((uint)(24 + idA.Length + 24 + idB.Length));
        ReadOnlySpan<byte> first = d.AsSpan(8);
        BinaryPrimitives.ReadUInt64BigEndian(first).Should().Be(0xA);
        first[12].Should().Be(0x01, "R_HOLDER");
        first[13].Should().Be(0x03, "LU_SCOPE, EXCLUSIVE ACCESS");
        BinaryPrimitives.ReadUInt16BigEndian(first[18..]).Should().Be(port);
        BinaryPrimitives.ReadUInt32BigEndian(first[20..]).Should().Be((uint)idA.Length);
        first.Slice(24, idA.Length).ToArray().Should().Equal(idA);
        ReadOnlySpan<byte> second = d.AsSpan(8 + 24 + idA.Length);
        BinaryPrimitives.ReadUInt64BigEndian(second).Should().Be(0xB);
        second[12].Should().Be(0x02, "ALL_TG_PT, not a holder");
        second[13].Should().Be(0);
        second.Slice(24, idB.Length).ToArray().Should().Equal(idB);
    }

    [Fact]
    public async Task ReportSupportedOperationCodes_ListsEachServiceActionWithItsUsage()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);

        (LocalResult all, byte[] list) = await Spc.ReadAsync(a, Spc.ReportOpcodes(0));
        (LocalResult one, byte[] prOut) = await Spc.ReadAsync(a, Spc.ReportOpcodes(2, 0x5F, 0x01));
        (LocalResult reserve, byte[] reserve6) = await Spc.ReadAsync(a, Spc.ReportOpcodes(1, 0x16));
        (LocalResult byOpcode, _) = await Spc.ReadAsync(a, Spc.ReportOpcodes(1, 0x5E));

        all.ShouldBeGood();
        var listed = new List<(byte, int)>();
        for (int at = 4; at < list.Length; at += 8)
        {
            listed.Add((list[at], (list[at + 5] & 0x01) != 0 ? BinaryPrimitives.ReadUInt16BigEndian(list.AsSpan(at + 2)) : -1));
        }

        listed.Should().Contain([(0x16, -1), (0x17, -1), (0x56, -1), (0x57, -1), (0x5E, 0), (0x5E, 3), (0x5F, 0), (0x5F, 7)]);
        listed.Should().NotContain((0x5E, 4));
        one.ShouldBeGood();
        prOut.Should().Equal(0x00, 0x03, 0x00, 0x0A, 0x5F, 0x01, 0xFF, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x04);
        reserve.ShouldBeGood();
        reserve6.Should().Equal(0x00, 0x03, 0x00, 0x06, 0x16, 0x00, 0x00, 0x00, 0x00, 0x04);
        byOpcode.ShouldBeInvalidFieldInCdb(3);
    }
}

/// <summary>
/// The conflict table: for each persistent reservation type, a read and a write from the holder, from a registered
/// I_T nexus and from an unregistered one (SPC-4 table 66, SBC-4's counterpart).
/// </summary>
public sealed class ReservationConflictTests
{
    public static TheoryData<int, bool, bool, bool, bool> Types => new()
    {
        // type, registrant reads, registrant writes, non-registrant reads, non-registrant writes
        { Pr.WriteExclusive, true, false, true, false },
        { Pr.ExclusiveAccess, false, false, false, false },
        { Pr.WriteExclusiveRegistrantsOnly, true, true, true, false },
        { Pr.ExclusiveAccessRegistrantsOnly, true, true, false, false },
        { Pr.WriteExclusiveAllRegistrants, true, true, true, false },
        { Pr.ExclusiveAccessAllRegistrants, true, true, false, false },
    };

    [Theory]
    [MemberData(nameof(Types))]
    public async Task ReadAndWrite_FromHolderRegistrantAndOthers(int type, bool registrantReads, bool registrantWrites, bool otherReads, bool otherWrites)
    {
        await using var stack = new SpcStack();
        LocalSession holder = stack.OpenSession(Pr.InitiatorA);
        LocalSession registrant = stack.OpenSession(Pr.InitiatorB);
        LocalSession other = stack.OpenSession(Pr.InitiatorC);
        (await Pr.RegisterAsync(holder, 0xA)).ShouldBeGood();
        (await Pr.RegisterAsync(registrant, 0xB)).ShouldBeGood();
        (await Pr.ReserveAsync(holder, 0xA, type)).ShouldBeGood();

        Expect(await Pr.ReadBlockAsync(holder), true);
        Expect(await Pr.WriteBlockAsync(holder), true);
        Expect(await Pr.ReadBlockAsync(registrant), registrantReads);
        Expect(await Pr.WriteBlockAsync(registrant), registrantWrites);
        Expect(await Pr.ReadBlockAsync(other), otherReads);
        Expect(await Pr.WriteBlockAsync(other), otherWrites);
        stack.Device.Reservations.Current.Type.Should().Be((Scst.Core.Spc.Reservations.PersistentReservationType)type);
    }

    [Theory]
    [InlineData(Pr.WriteExclusive, true)]
    [InlineData(Pr.ExclusiveAccess, false)]
    [InlineData(Pr.ExclusiveAccessRegistrantsOnly, false)]
    public async Task CommandsOtherThanReadAndWrite_FollowTheirClass(int type, bool readClassAllowed)
    {
        await using var stack = new SpcStack();
        LocalSession holder = stack.OpenSession(Pr.InitiatorA);
        LocalSession other = stack.OpenSession(Pr.InitiatorC);
        (await Pr.RegisterAsync(holder, 0xA)).ShouldBeGood();
        (await Pr.ReserveAsync(holder, 0xA, type)).ShouldBeGood();

        (await Spc.ReadAsync(other, CdbBuilder.Inquiry())).Result.ShouldBeGood();
        (await Spc.ReadAsync(other, CdbBuilder.ReportLuns())).Result.ShouldBeGood();
        (await Spc.ReadAsync(other, CdbBuilder.ReadCapacity16())).Result.ShouldBeGood();
        (await Pr.NoDataAsync(other, CdbBuilder.TestUnitReady())).ShouldBeGood();
        (await Spc.ReadAsync(other, Pr.InCdb(0))).Result.ShouldBeGood();
        Expect((await Spc.ReadAsync(other, Spc.ModeSense6(0x08))).Result, readClassAllowed);
        Expect((await Spc.ReadAsync(other, Spc.ReportOpcodes(0))).Result, readClassAllowed);
        Expect((await Spc.ReadAsync(other, CdbBuilder.Read16(0, 1))).Result, readClassAllowed);
        (await Pr.NoDataAsync(other, CdbBuilder.SynchronizeCache10())).ShouldConflict();
        (await Pr.NoDataAsync(other, [0x1B, 0, 0, 0, 0x01, 0])).ShouldBeGood(); // START STOP UNIT, START=1
        (await Pr.NoDataAsync(other, [0x1B, 0, 0, 0, 0x00, 0])).ShouldConflict();
        (await Spc.WriteAsync(other, Spc.ModeSelect6(0), [])).ShouldConflict();
    }

    [Fact]
    public async Task NothingReserved_RegistrationsAloneBlockNothing()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession c = stack.OpenSession(Pr.InitiatorC);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();

        (await Pr.WriteBlockAsync(c)).ShouldBeGood();
        stack.Device.Reservations.Current.IsReserved.Should().BeFalse("the command path stops at one volatile read");
    }

    private static void Expect(LocalResult r, bool allowed)
    {
        if (allowed)
        {
            r.ShouldBeGood();
        }
        else
        {
            r.ShouldConflict();
        }
    }
}

/// <summary>The unit attentions that reservation changes establish for the other I_T nexuses (SPC-4 5.13.11).</summary>
public sealed class ReservationUnitAttentionTests
{
    [Fact]
    public async Task Preempt_GivesRegistrationsPreemptedToThePreemptedNexusOnly()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        LocalSession c = stack.OpenSession(Pr.InitiatorC);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.RegisterAsync(b, 0xB)).ShouldBeGood();
        (await Pr.RegisterAsync(c, 0xC)).ShouldBeGood();

        (await Pr.OutAsync(b, Pr.Preempt, Pr.WriteExclusive, 0xB, 0xA)).ShouldBeGood();

        (await Pr.NoDataAsync(a, CdbBuilder.TestUnitReady())).ShouldBeCheckCondition(SenseCode.RegistrationsPreempted);
        (await Pr.NoDataAsync(a, CdbBuilder.TestUnitReady())).ShouldBeGood();
        (await Pr.NoDataAsync(b, CdbBuilder.TestUnitReady())).ShouldBeGood();
        (await Pr.NoDataAsync(c, CdbBuilder.TestUnitReady())).ShouldBeGood();
    }

    [Fact]
    public async Task PreemptedNexus_ConflictingCommand_EndsWithReservationConflictAndTheUnitAttentionWaits()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.RegisterAsync(b, 0xB)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, Pr.ExclusiveAccess)).ShouldBeGood();

        (await Pr.OutAsync(b, Pr.Preempt, Pr.ExclusiveAccess, 0xB, 0xA)).ShouldBeGood();

        (await Pr.WriteBlockAsync(a)).ShouldConflict("RESERVATION CONFLICT takes precedence over the pending unit attention");
        (await Pr.ReadBlockAsync(a)).ShouldConflict("a read conflicts under Exclusive Access too");
        (await Pr.NoDataAsync(a, CdbBuilder.TestUnitReady())).ShouldBeCheckCondition(SenseCode.RegistrationsPreempted);
        (await Pr.NoDataAsync(a, CdbBuilder.TestUnitReady())).ShouldBeGood();
        (await Pr.WriteBlockAsync(a)).ShouldConflict();
    }

    [Fact]
    public async Task PreemptOfTheHolder_WithAnotherType_TellsTheRemainingRegistrantsTheReservationWasReleased()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        LocalSession c = stack.OpenSession(Pr.InitiatorC);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.RegisterAsync(b, 0xB)).ShouldBeGood();
        (await Pr.RegisterAsync(c, 0xC)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, Pr.WriteExclusive)).ShouldBeGood();

        (await Pr.OutAsync(b, Pr.Preempt, Pr.ExclusiveAccess, 0xB, 0xA)).ShouldBeGood();

        (await Pr.NoDataAsync(a, CdbBuilder.TestUnitReady())).ShouldBeCheckCondition(SenseCode.RegistrationsPreempted);
        (await Pr.NoDataAsync(c, CdbBuilder.TestUnitReady())).ShouldBeCheckCondition(SenseCode.ReservationsReleased);
        (await Pr.NoDataAsync(b, CdbBuilder.TestUnitReady())).ShouldBeGood();
    }

    [Fact]
    public async Task Clear_GivesReservationsPreemptedToEveryOtherRegistrant()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        LocalSession c = stack.OpenSession(Pr.InitiatorC);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.RegisterAsync(b, 0xB)).ShouldBeGood();

        (await Pr.OutAsync(a, Pr.Clear, 0, 0xA, 0)).ShouldBeGood();

        (await Pr.NoDataAsync(b, CdbBuilder.TestUnitReady())).ShouldBeCheckCondition(SenseCode.ReservationsPreempted);
        (await Pr.NoDataAsync(a, CdbBuilder.TestUnitReady())).ShouldBeGood();
        (await Pr.NoDataAsync(c, CdbBuilder.TestUnitReady())).ShouldBeGood("c was not registered");
    }

    [Theory]
    [InlineData(Pr.WriteExclusive, false)]
    [InlineData(Pr.ExclusiveAccess, false)]
    [InlineData(Pr.WriteExclusiveRegistrantsOnly, true)]
    [InlineData(Pr.ExclusiveAccessRegistrantsOnly, true)]
    [InlineData(Pr.WriteExclusiveAllRegistrants, true)]
    [InlineData(Pr.ExclusiveAccessAllRegistrants, true)]
    public async Task Release_TellsTheOtherRegistrantsOnlyForRegistrantTypes(int type, bool expected)
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.RegisterAsync(b, 0xB)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, type)).ShouldBeGood();

        (await Pr.OutAsync(a, Pr.Release, type, 0xA, 0)).ShouldBeGood();

        LocalResult tur = await Pr.NoDataAsync(b, CdbBuilder.TestUnitReady());
        if (expected)
        {
            tur.ShouldBeCheckCondition(SenseCode.ReservationsReleased);
        }
        else
        {
            tur.ShouldBeGood();
        }

        (await Pr.NoDataAsync(a, CdbBuilder.TestUnitReady())).ShouldBeGood("the releasing nexus gets none");
    }

    [Fact]
    public async Task UnregisterOfARegistrantsOnlyHolder_TellsTheOtherRegistrants()
    {
        await using var stack = new SpcStack();
        LocalSession a = stack.OpenSession(Pr.InitiatorA);
        LocalSession b = stack.OpenSession(Pr.InitiatorB);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.RegisterAsync(b, 0xB)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, Pr.ExclusiveAccessRegistrantsOnly)).ShouldBeGood();

        (await Pr.OutAsync(a, Pr.Register, 0, 0xA, 0)).ShouldBeGood();

        (await Pr.NoDataAsync(b, CdbBuilder.TestUnitReady())).ShouldBeCheckCondition(SenseCode.ReservationsReleased);
        (await Pr.ReservationAsync(b)).Reserved.Should().BeFalse();
    }

    [Fact]
    public async Task PreemptAndAbort_AbortsThePreemptedNexusCommandsAndCompletesWhenTheyAreGone()
    {
        var device = new PendingBlockDevice("pend0");
        await using ScstStack stack = ScstStack.Create(b => b.AddTarget("scst_local", ScstStack.TargetName));
        await stack.StartAsync();
        stack.Engine.RegisterDevice(device);
        stack.Engine.MapLun(stack.Target(), 0, device.Name);
        LocalSession a = stack.OpenSession(initiator: Pr.InitiatorA);
        LocalSession b = stack.OpenSession(initiator: Pr.InitiatorB);
        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.RegisterAsync(b, 0xB)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, Pr.ExclusiveAccess)).ShouldBeGood();
        Task<LocalResult> pending = a.ExecuteAsync(0, CdbBuilder.Read10(0, 1), DataDirection.Read, new byte[512]).AsTask();
        device.PendingReads.Should().Be(1);

        Task<LocalResult> preempting = Pr.OutAsync(b, Pr.PreemptAndAbort, Pr.ExclusiveAccess, 0xB, 0xA);
        preempting.IsCompleted.Should().BeFalse("PREEMPT AND ABORT completes once the commands it aborted are gone, and a's read is in the device");
        device.CompleteNextRead();
        LocalResult preempt = await preempting.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        preempt.ShouldBeGood();
        pending.IsCompleted.Should().BeTrue("a's aborted read ended before b's PREEMPT AND ABORT completed");
        (await pending).Aborted.Should().BeTrue("a's read was aborted by b's PREEMPT AND ABORT");
        (await Pr.ReservationAsync(b)).Should().Be((true, 0xBUL, 0, Pr.ExclusiveAccess));
        (await Pr.NoDataAsync(a, CdbBuilder.TestUnitReady())).ShouldBeCheckCondition(SenseCode.RegistrationsPreempted);
        stack.AssertNoLeaks();
    }
}

/// <summary>APTPL: the persistent reservation state survives a restart of the core, and only with APTPL.</summary>
public sealed class AptplPersistenceTests
{
    [Fact]
    public async Task Aptpl_StateIsRestoredAfterARestart()
    {
        using var directory = new TempDirectory();
        await using (var first = new SpcStack(directory.Path))
        {
            LocalSession a = first.OpenSession(Pr.InitiatorA);
            LocalSession b = first.OpenSession(Pr.InitiatorB);
            (await Pr.RegisterAsync(a, 0xA, Pr.Aptpl)).ShouldBeGood();
            (await Pr.RegisterAsync(b, 0xB, Pr.AllTgPt | Pr.Aptpl)).ShouldBeGood(); // the last APTPL bit governs
            (await Pr.ReserveAsync(a, 0xA, Pr.WriteExclusiveRegistrantsOnly)).ShouldBeGood();
        }

        await using var second = new SpcStack(directory.Path);
        LocalSession a2 = second.OpenSession(Pr.InitiatorA);
        LocalSession c2 = second.OpenSession(Pr.InitiatorC);

        (await Pr.KeysAsync(a2)).Should().BeEquivalentTo((2u, new[] { 0xAUL, 0xBUL }));
        (await Pr.ReservationAsync(a2)).Should().Be((true, 0xAUL, 0, Pr.WriteExclusiveRegistrantsOnly));
        (await Pr.WriteBlockAsync(c2)).ShouldConflict();
        (await Pr.WriteBlockAsync(second.OpenSession(Pr.InitiatorB))).ShouldBeGood("b's registration came back");
        (await Spc.ReadAsync(a2, Pr.InCdb(2))).Data[3].Should().Be(0xC1, "PTPL_A");
        (await Spc.ReadAsync(a2, Pr.InCdb(3))).Data[8 + 12].Should().Be(0x01, "a is still the holder");
        (await Pr.OutAsync(a2, Pr.Release, Pr.WriteExclusiveRegistrantsOnly, 0xA, 0)).ShouldBeGood();
    }

    [Fact]
    public async Task WithoutAptpl_TheFileIsRemovedAndNothingComesBack()
    {
        using var directory = new TempDirectory();
        string file = directory.File("disk1.pr");
        await using (var first = new SpcStack(directory.Path))
        {
            LocalSession a = first.OpenSession(Pr.InitiatorA);
            (await Pr.RegisterAsync(a, 0xA, Pr.Aptpl)).ShouldBeGood();
            File.Exists(file).Should().BeTrue();
            (await Pr.OutAsync(a, Pr.Register, 0, 0xA, 0xAA)).ShouldBeGood(); // APTPL 0 now governs
            File.Exists(file).Should().BeFalse();
        }

        await using var second = new SpcStack(directory.Path);
        (await Pr.KeysAsync(second.OpenSession(Pr.InitiatorA))).Keys.Should().BeEmpty();
    }

    [Fact]
    public async Task NeverAptpl_WritesNoFile()
    {
        using var directory = new TempDirectory();
        await using var stack = new SpcStack(directory.Path);
        LocalSession a = stack.OpenSession(Pr.InitiatorA);

        (await Pr.RegisterAsync(a, 0xA)).ShouldBeGood();
        (await Pr.ReserveAsync(a, 0xA, Pr.ExclusiveAccess)).ShouldBeGood();

        File.Exists(directory.File("disk1.pr")).Should().BeFalse();
    }

    [Theory]
    [InlineData("flip")]
    [InlineData("truncate")]
    [InlineData("garbage")]
    [InlineData("empty")]
    public async Task DamagedFile_IsRefusedAndTheDeviceStartsEmpty(string damage)
    {
        using var directory = new TempDirectory();
        string file = directory.File("disk1.pr");
        await using (var first = new SpcStack(directory.Path))
        {
            LocalSession a = first.OpenSession(Pr.InitiatorA);
            (await Pr.RegisterAsync(a, 0xA, Pr.Aptpl)).ShouldBeGood();
            (await Pr.ReserveAsync(a, 0xA, Pr.ExclusiveAccess)).ShouldBeGood();
        }

        byte[] bytes = await File.ReadAllBytesAsync(file, TestContext.Current.CancellationToken);
        byte[] damaged = damage switch
        {
            "flip" => [.. bytes[..20], (byte)(bytes[20] ^ 0x01), .. bytes[21..]],
            "truncate" => bytes[..(bytes.Length / 2)],
            "garbage" => [0xFF, 0x00, 0x13, 0x37],
            _ => [],
        };
        await File.WriteAllBytesAsync(file, damaged, TestContext.Current.CancellationToken);

        await using var second = new SpcStack(directory.Path);
        LocalSession c = second.OpenSession(Pr.InitiatorC);

        (await Pr.KeysAsync(c)).Keys.Should().BeEmpty();
        (await Pr.ReservationAsync(c)).Reserved.Should().BeFalse();
        (await Pr.WriteBlockAsync(c)).ShouldBeGood();
    }
}
