// Licensed under the Apache License, Version 2.0.

using System.Text;
using Scst.Core.Spc.Reservations;
using Scst.Testing;

namespace Scst.Core.Tests.Spc;

public sealed class ReservationsStoreTests
{
    private static readonly byte[] IdA = [0x0F, 0, 0, 8, .. "iqn.a\0\0\0"u8];
    private static readonly byte[] IdB = [0x45, 0, 0, 24, .. "iqn.b,i,0x0123456789ab\0\0"u8];

    private static ReservationSnapshot Sample(PersistentReservationType type = PersistentReservationType.WriteExclusiveRegistrantsOnly)
    {
        var a = new Registration(IdA, 1, 0x0123456789ABCDEF, allTargetPorts: false);
        var b = new Registration(IdB, 2, 0xB, allTargetPorts: true);
        return new ReservationSnapshot(null, [a, b], type, b, 41, aptpl: true);
    }

    [Fact]
    public void SaveThenLoad_GivesBackTheSameState()
    {
        using var directory = new TempDirectory();
        string path = directory.File("d.pr");

        ReservationStore.Save(path, Sample());
        ReservationSnapshot? loaded = ReservationStore.TryLoad(path, out string? error);

        error.Should().BeNull();
        loaded.Should().NotBeNull();
        loaded!.Generation.Should().Be(41);
        loaded.Aptpl.Should().BeTrue();
        loaded.Type.Should().Be(PersistentReservationType.WriteExclusiveRegistrantsOnly);
        loaded.Registrations.Length.Should().Be(2);
        loaded.Registrations[0].Key.Should().Be(0x0123456789ABCDEF);
        loaded.Registrations[0].TransportId.Should().Equal(IdA);
        loaded.Registrations[0].RelativeTargetPortId.Should().Be(1);
        loaded.Registrations[1].AllTargetPorts.Should().BeTrue();
        loaded.Holder.Should().BeSameAs(loaded.Registrations[1]);
        File.Exists(path + ".tmp").Should().BeFalse("the temporary file was renamed over the real one");
    }

    [Fact]
    public void AllRegistrantsReservation_HasNoHolderIndex()
    {
        string text = ReservationStore.Format(Sample(PersistentReservationType.ExclusiveAccessAllRegistrants));

        text.Should().Contain("reservation 8 -1\n");
    }

    [Fact]
    public void MissingFile_IsNoStateAndNoError()
    {
        using var directory = new TempDirectory();

        ReservationStore.TryLoad(directory.File("none.pr"), out string? error).Should().BeNull();
        error.Should().BeNull();
    }

    [Theory]
    [InlineData("scst-pr 1\ngeneration 1\n", "torn")]                                  // no checksum line
    [InlineData("scst-pr 2\ngeneration 1\nreservation 0 -1\n", "version")]              // checksum fixed up below
    [InlineData("scst-pr 1\ngeneration x\nreservation 0 -1\n", "generation")]
    [InlineData("scst-pr 1\ngeneration 1\nreservation 1 5\nregistrant 1 000000000000000A 0 0F00000869716E2E61000000\n", "holder index")]
    [InlineData("scst-pr 1\ngeneration 1\nreservation 2 0\nregistrant 1 000000000000000A 0 0F00000869716E2E61000000\n", "type")]
    [InlineData("scst-pr 1\ngeneration 1\nreservation 0 -1\nregistrant 1 0000000000000000 0 0F00000869716E2E61000000\n", "zero key")]
    [InlineData("scst-pr 1\ngeneration 1\nreservation 0 -1\nregistrant 1 000000000000000A 0 0700000869716E2E61000000\n", "transport id")]
    [InlineData("scst-pr 1\ngeneration 1\nreservation 0 -1\nregistrant 1 000000000000000A 0\n", "fields")]
    public void DamagedContent_IsRefusedWithAReason(string body, string what)
    {
        string text = what == "torn" ? body : body + "sha256 " + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.ASCII.GetBytes(body))) + "\n";

        ReservationSnapshot? state = ReservationStore.Parse(text, out string? error);

        state.Should().BeNull(what);
        error.Should().NotBeNullOrEmpty();
    }

    [Fact]
    public void ChangedByte_FailsTheChecksum()
    {
        using var directory = new TempDirectory();
        string path = directory.File("d.pr");
        ReservationStore.Save(path, Sample());
        string text = File.ReadAllText(path).Replace("generation 41", "generation 42", StringComparison.Ordinal);

        ReservationSnapshot? state = ReservationStore.Parse(text, out string? error);

        state.Should().BeNull();
        error.Should().Contain("checksum");
    }

    [Fact]
    public void Delete_RemovesTheFile()
    {
        using var directory = new TempDirectory();
        string path = directory.File("d.pr");
        ReservationStore.Save(path, Sample());

        ReservationStore.Delete(path);
        ReservationStore.Delete(path);

        File.Exists(path).Should().BeFalse();
    }
}
