// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using Scst.Integration.Tests.Fixtures;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>
/// Two hundred iSCSI sessions at once on one target process over loopback, each writing and reading back its own
/// blocks: every session works, the data of each is its own, and the target does not spend a thread per session.
/// </summary>
public sealed class ManySessionsTests(ScstTargetFixture fixture) : IClassFixture<ScstTargetFixture>
{
    private const int Sessions = 200;
    private const int Blocks = 8;
    private const int Rounds = 4;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public Task TwoHundredSessions_DoIoConcurrently_EachReadsBackItsOwnData_WithoutAThreadPerSession() => RunAsync(fixture);

    /// <summary>The test, against a fixture whose iSCSI driver may receive in another mode.</summary>
    internal static async Task RunAsync(ScstTargetFixture fixture)
    {
        int threadsBefore = Process.GetCurrentProcess().Threads.Count;
        var initiators = new IscsiTestInitiator[Sessions];
        try
        {
            // Log every session in first, so that all of them are open while the I/O runs.
            await Parallel.ForAsync(0, Sessions, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = Ct }, async (i, ct) =>
            {
                IscsiTestInitiator initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, ct);
                initiators[i] = initiator;
                Scst.Testing.Iscsi.LoginResult login = await initiator.LoginAsync(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, $"iqn.2026-11.org.scst-dotnet:many-{i}"), ct);
                login.Status.Should().Be(LoginStatus.Success);
                await initiator.ClearUnitAttentionAsync(cancellationToken: ct);
            });
            fixture.IscsiDriver.ConnectionCount.Should().BeGreaterThanOrEqualTo(Sessions);

            await Task.WhenAll(Enumerable.Range(0, Sessions).Select(i => ExerciseAsync(initiators[i], i)));

            int threadsDuring = Process.GetCurrentProcess().Threads.Count;
            (threadsDuring - threadsBefore).Should().BeLessThan(Sessions / 2, "sessions are served by asynchronous I/O, not a thread each");
        }
        finally
        {
            foreach (IscsiTestInitiator? initiator in initiators)
            {
                if (initiator is not null)
                {
                    await initiator.DisposeAsync();
                }
            }
        }
    }

    // Rounds of a write of the session's own pattern to its own blocks and a read that must return it.
    private static async Task ExerciseAsync(IscsiTestInitiator initiator, int session)
    {
        uint lba = 1_000_000 + (uint)(session * Blocks);
        for (int round = 0; round < Rounds; round++)
        {
            byte[] data = new byte[Blocks * ScstTargetFixture.BlockSize];
            for (int k = 0; k < data.Length; k++)
            {
                data[k] = (byte)((k * 31) + session + (round * 7));
            }

            ScsiResult written = await initiator.ExecuteAsync(0, Cdbs.Write10(lba, Blocks), writeData: data, cancellationToken: Ct);
            written.Status.Should().Be(ScsiResult.Good, $"session {session} round {round} wrote");
            ScsiResult read = await initiator.ExecuteAsync(0, Cdbs.Read10(lba, Blocks), readLength: data.Length, cancellationToken: Ct);
            read.Status.Should().Be(ScsiResult.Good);
            read.Data.Should().Equal(data, $"session {session} reads back its own round {round}");
        }
    }
}

/// <summary>
/// The same two hundred sessions with the driver's own receive threads (<see cref="Scst.Transport.Iscsi.IscsiReceiveMode.ReceiveThreads"/>):
/// one thread per CPU serves them all.
/// </summary>
public sealed class ManySessionsOnReceiveThreadsTests(ManySessionsOnReceiveThreadsTests.ReceiveThreadsFixture fixture)
    : IClassFixture<ManySessionsOnReceiveThreadsTests.ReceiveThreadsFixture>
{
    [Fact]
    public Task TwoHundredSessions_DoIoConcurrently_EachReadsBackItsOwnData_WithoutAThreadPerSession() => ManySessionsTests.RunAsync(fixture);

    public sealed class ReceiveThreadsFixture : ScstTargetFixture
    {
        protected override void ConfigureIscsi(Scst.Transport.Iscsi.IscsiTargetOptions options) => options.ReceiveMode = Scst.Transport.Iscsi.IscsiReceiveMode.ReceiveThreads;
    }
}
