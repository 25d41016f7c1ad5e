// Licensed under the Apache License, Version 2.0.

using Scst.Integration.Tests.Fixtures;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Integration.Tests.Iscsi;

/// <summary>
/// Seeded fuzzing of a running target over TCP: each case opens a connection, logs in (or not, for a mutated login),
/// sends one mutated PDU (sometimes with digests recomputed over the mutation, sometimes followed by a valid ping),
/// closes its sending side and reads until the target closes. Meanwhile another session writes and verifies data
/// without pause. Bounded: a fixed seed, a fixed number of cases, and a per-case limit that turns a hang into a failure.
/// </summary>
/// <remarks>
/// What must hold for every case: the target answers only with well-formed PDUs of target opcodes (the test initiator
/// checks framing and digests), during login only with Login Responses, a Reject quotes a 48-byte header, and the
/// connection ends once the initiator's side is closed; nothing is logged at Error level (an exception escaping a
/// connection); the I/O session never sees a wrong byte or an error; and every fuzz connection is gone at the end.
/// A mutated SCSI Command keeps its seed's CDB and a mutated task management function stays within its own I_T nexus
/// (<see cref="PduFuzzer.ConfineToOwnNexus"/>): a LOGICAL UNIT RESET or a WRITE over the other session's blocks would
/// disturb it legitimately, which is not what this test is about.
/// </remarks>
public sealed class IscsiFuzzTests(ScstTargetFixture fixture) : IscsiFuzzTestsBase<ScstTargetFixture>(fixture), IClassFixture<ScstTargetFixture>
{
}

/// <summary>
/// The same fuzzing against sessions at ErrorRecoveryLevel 2 with two connections allowed: the paths of kept responses,
/// SNACK, the CmdSN ordering queue and connection recovery meet the mutated PDUs.
/// </summary>
public sealed class IscsiRecoveryFuzzTests(ErrorRecoveryTargetFixture fixture)
    : IscsiFuzzTestsBase<ErrorRecoveryTargetFixture>(fixture), IClassFixture<ErrorRecoveryTargetFixture>
{
    protected override List<KeyValuePair<string, string>> Negotiate(List<KeyValuePair<string, string>> keys)
    {
        keys.RemoveAll(k => k.Key == "ErrorRecoveryLevel");
        keys.Add(new("ErrorRecoveryLevel", "2"));
        keys.Add(new("MaxConnections", "2"));
        return keys;
    }
}

/// <summary>The fuzzing itself; <see cref="Negotiate"/> adds to the login keys of every session.</summary>
public abstract class IscsiFuzzTestsBase<TFixture>(TFixture fixture)
    where TFixture : ScstTargetFixture
{
    private const int Seed = 3720;
    private const int Cases = 400;
    private const int Block = ScstTargetFixture.BlockSize;
    private const uint IoLba = 50_000;
    private static readonly TimeSpan CaseLimit = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task MutatedPdus_OverTcp_AnsweredRejectedOrClosed_NothingHangs_AnotherSessionKeepsDoingIo()
    {
        await using var io = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        (await io.LoginAsync(Negotiate(IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, $"{IscsiTestInitiator.DefaultInitiatorName}-fuzz-io")), Ct)).Status
            .Should().Be(LoginStatus.Success);
        await io.ClearUnitAttentionAsync(cancellationToken: Ct);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        Task<int> background = Task.Run(() => WriteAndVerifyAsync(io, stop.Token), Ct);

        var fuzzer = new PduFuzzer(Seed);
        var tally = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < Cases && !background.IsCompleted; i++)
        {
            string outcome = await RunCaseAsync(fuzzer, i);
            tally[outcome] = tally.GetValueOrDefault(outcome) + 1;
        }

        background.IsCompleted.Should().BeFalse("the I/O session runs until the fuzzing ends ({0})", background.Exception?.ToString());
        await stop.CancelAsync();
        int verified = await background;
        string summary = $"{Cases} mutated PDUs (seed {Seed}): " + string.Join(", ", tally.Select(t => $"{t.Value} {t.Key}")) +
            $"; the I/O session verified {verified} writes meanwhile";
        TestContext.Current.TestOutputHelper?.WriteLine(summary);
        Console.WriteLine(summary);

        verified.Should().BeGreaterThan(0);
        var data = Cdbs.Pattern(8 * Block, seed: 99);
        (await io.ExecuteAsync(0, Cdbs.Write10(IoLba, 8), writeData: data, cancellationToken: Ct)).Status.Should().Be(ScsiResult.Good);
        (await io.ExecuteAsync(0, Cdbs.Read10(IoLba, 8), readLength: data.Length, cancellationToken: Ct)).Data.Should().Equal(data);
        fixture.Logs.Faults.Where(f => f.Contains(" Error:", StringComparison.Ordinal) || f.Contains(" Critical:", StringComparison.Ordinal))
            .Should().BeEmpty("no exception escapes a connection");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(10));
        while (fixture.IscsiDriver.ConnectionCount > 1)
        {
            await Task.Delay(10, deadline.Token);
        }

        tally.Keys.Should().Contain(["rejected", "login refused", "closed"], "the mutations reach the target's refusals");
    }

    /// <summary>Changes the login keys of the sessions (the I/O session's and each case's).</summary>
    protected virtual List<KeyValuePair<string, string>> Negotiate(List<KeyValuePair<string, string>> keys) => keys;

    private async Task<string> RunCaseAsync(PduFuzzer fuzzer, int index)
    {
        Random random = fuzzer.Random;
        FuzzSeedKind kind = PduFuzzer.Kinds[random.Next(PduFuzzer.Kinds.Length)];
        bool loginPhase = kind == FuzzSeedKind.Login || random.Next(10) == 0;
        bool digests = !loginPhase && random.Next(4) == 0;
        bool trailingPing = !loginPhase && random.Next(2) == 0;
        ulong isid = 0x8000_0000_0000 | (ulong)random.NextInt64(1L << 40);

        await using var initiator = await IscsiTestInitiator.ConnectAsync(fixture.EndPoint, Ct);
        initiator.ReceiveTimeout = CaseLimit;
        if (!loginPhase)
        {
            string offer = digests ? "CRC32C,None" : "None";
            var keys = IscsiTestInitiator.NormalKeys(ScstTargetFixture.TargetName, $"{IscsiTestInitiator.DefaultInitiatorName}-fuzz", headerDigest: offer, dataDigest: offer);
            (await initiator.LoginAsync(Negotiate(keys), Ct)).Status.Should().Be(LoginStatus.Success);
        }

        byte[] seed = PduFuzzer.Build(kind, initiator.CmdSn, initiator.ExpStatSn, 0x100u + (uint)index, isid);
        byte[] mutated = fuzzer.Mutate(seed);
        PduFuzzer.ConfineToOwnNexus(mutated, seed);
        byte[] wire = digests ? PduFuzzer.AddDigests(mutated, initiator.HeaderDigest == DigestKind.Crc32C, initiator.DataDigest == DigestKind.Crc32C) : mutated;
        string Describe() => $"case {index} (seed {Seed}): {kind}, {(loginPhase ? "login phase" : "full feature phase")}, digests {digests}, bytes {Convert.ToHexString(wire)}";

        uint pingTag = 0xf000_0000u + (uint)index;
        try
        {
            await initiator.SendRawAsync(wire, Ct);
            if (trailingPing)
            {
                var bhs = new byte[Bhs.Length];
                new NopOutHeader { Immediate = true, InitiatorTaskTag = pingTag, TargetTransferTag = Bhs.ReservedTag, CmdSn = initiator.CmdSn, ExpStatSn = initiator.ExpStatSn }.WriteTo(bhs);
                await initiator.SendAsync(bhs, ReadOnlyMemory<byte>.Empty, Ct);
            }

            initiator.ShutdownSend();
        }
        catch (IOException)
        {
            // The target already closed (it refused the first bytes): what it sent before is still read below.
        }

        var received = new List<ReceivedPdu>();
        while (true)
        {
            ReceivedPdu? pdu;
            try
            {
                pdu = await initiator.ReceiveAsync(CaseLimit, Ct);
            }
            catch (TimeoutException)
            {
                Assert.Fail($"The target neither answered nor closed within {CaseLimit}: {Describe()}");
                throw;
            }
            catch (IOException ex)
            {
                Assert.Fail($"The target sent a malformed PDU ({ex.Message}): {Describe()}");
                throw;
            }

            if (pdu is null)
            {
                break;
            }

            pdu.Opcode.IsTargetOpcode().Should().BeTrue(Describe());
            if (loginPhase && received.Count == 0)
            {
                pdu.Opcode.Should().Be(IscsiOpcode.LoginResponse, "during login the target answers only with Login Responses: {0}", Describe());
            }

            if (pdu.Opcode == IscsiOpcode.Reject)
            {
                pdu.Data.Length.Should().Be(Bhs.Length, "a Reject quotes the rejected header: {0}", Describe());
            }

            received.Add(pdu);
            received.Count.Should().BeLessThan(10_000, Describe());
        }

        if (loginPhase)
        {
            var responses = received.Where(p => p.Opcode == IscsiOpcode.LoginResponse).Select(p => p.Header.AsLoginResponse()).ToList();
            return responses.Count == 0 ? "closed" : responses.Any(r => r.Status != LoginStatus.Success) ? "login refused" : "login answered";
        }

        return received.Any(p => p.Opcode == IscsiOpcode.Reject) ? "rejected"
            : received.Any(p => p.Opcode == IscsiOpcode.NopIn && p.Header.InitiatorTaskTag == pingTag) ? "answered and carried on"
            : received.Count > 0 ? "answered" : "closed";
    }

    private static async Task<int> WriteAndVerifyAsync(IscsiTestInitiator io, CancellationToken stop)
    {
        int verified = 0;
        while (!stop.IsCancellationRequested)
        {
            var data = Cdbs.Pattern(8 * Block, seed: verified);
            var write = await io.ExecuteAsync(0, Cdbs.Write10(IoLba, 8), writeData: data, cancellationToken: CancellationToken.None);
            write.Status.Should().Be(ScsiResult.Good, "the I/O session is not disturbed (write {0})", verified);
            var read = await io.ExecuteAsync(0, Cdbs.Read10(IoLba, 8), readLength: data.Length, cancellationToken: CancellationToken.None);
            read.Status.Should().Be(ScsiResult.Good);
            read.Data.Should().Equal(data, "the I/O session reads what it wrote (write {0})", verified);
            verified++;
        }

        return verified;
    }
}
