// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using Scst.Testing.Iscsi;
using Scst.Transport.Iscsi.Protocol;

namespace Scst.Transport.Iscsi.Tests.Fuzz;

/// <summary>
/// Bounded, seeded fuzzing of the parsers an initiator's bytes reach before anything else: the PDU reader and the
/// header views, and the login text (TextKeys, the negotiator, the login state machine). A fixed seed and a fixed
/// number of cases: the run takes about a second and a failure names its case, which the same seed reproduces.
/// None of these may throw for any input (the login state machine only refuses to be driven after it ended).
/// </summary>
public class ProtocolFuzzTests
{
    private const int Seed = 7143;

    private static readonly IscsiPduReaderSettings[] s_settings =
    [
        new(8192),
        new(8192, DigestKind.Crc32C, DigestKind.Crc32C),
        new(512, DigestKind.Crc32C),
        new(262_144, DigestKind.None, DigestKind.Crc32C),
    ];

    [Fact]
    public void PduReader_MutatedStreams_NeverThrowNeverStallAndKeepTheirPromises()
    {
        var fuzzer = new PduFuzzer(Seed);
        var random = fuzzer.Random;
        var results = new Dictionary<PduReadResult, int>();
        for (int i = 0; i < 20_000; i++)
        {
            var kind = PduFuzzer.Kinds[random.Next(PduFuzzer.Kinds.Length)];
            var settings = s_settings[random.Next(s_settings.Length)];
            var valid = PduFuzzer.Build(kind, (uint)random.Next(), (uint)random.Next(), (uint)random.Next());
            var mutated = fuzzer.Mutate(valid);
            var stream = PduFuzzer.AddDigests(mutated, settings.HeaderDigest == DigestKind.Crc32C, settings.DataDigest == DigestKind.Crc32C);
            if (random.Next(2) == 0)
            {
                // A valid PDU behind it: the reader must find it exactly when the mutated one frames correctly.
                stream = [.. stream, .. PduFuzzer.AddDigests(valid, settings.HeaderDigest == DigestKind.Crc32C, settings.DataDigest == DigestKind.Crc32C)];
            }

            var buffer = Segmented(stream, random);
            try
            {
                ReadAll(ref buffer, settings, results);
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"case {i} ({kind}, seed {Seed}) threw {ex}\nbytes: {Convert.ToHexString(stream)}");
            }
        }

        // The mutations reach every outcome, or the test proves less than it claims.
        results.Keys.Should().Contain([PduReadResult.Pdu, PduReadResult.NeedMoreData, PduReadResult.ProtocolError, PduReadResult.DataDigestError]);
    }

    [Fact]
    public void LoginText_MutatedKeys_ParserNegotiatorAndStateMachineNeverThrow()
    {
        var fuzzer = new PduFuzzer(Seed + 1);
        var random = fuzzer.Random;
        var outcomes = new Dictionary<string, int>();
        for (int i = 0; i < 5_000; i++)
        {
            var kind = random.Next(3) == 0 ? FuzzSeedKind.Text : FuzzSeedKind.Login;
            var valid = PduFuzzer.Build(kind, 1, 0, 1);
            var mutated = fuzzer.Mutate(valid);
            try
            {
                string outcome = RunLogin(mutated, random);
                outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"case {i} (seed {Seed + 1}) threw {ex}\nbytes: {Convert.ToHexString(mutated)}");
            }
        }

        outcomes.Keys.Should().Contain(["Completed", "Failed", "bad text"], "the mutations reach success, refusal and malformed text");
    }

    private static string RunLogin(byte[] pdu, Random random)
    {
        if (pdu.Length < Bhs.Length)
        {
            return "short";
        }

        var header = new IscsiPduHeader(pdu);
        var data = pdu.AsSpan(Bhs.Length, Math.Min(pdu.Length - Bhs.Length, header.DataSegmentLengthBytes)).ToArray();
        var pairs = new List<TextKeyValue>();
        var parsed = TextKeys.TryParse(data, pairs);
        if (parsed == TextParseError.None)
        {
            var negotiator = new LoginNegotiator(new TargetNegotiationOptions { HeaderDigests = DigestSet.Any, DataDigests = DigestSet.Crc32C });
            var answers = new List<TextKeyValue>();
            foreach (var stage in new[] { LoginStage.SecurityNegotiation, LoginStage.OperationalNegotiation })
            {
                negotiator.Negotiate(pairs, stage, answers);
            }

            negotiator.CheckDigests();
            negotiator.Complete();
        }

        var login = new LoginStateMachine(
            new TargetNegotiationOptions { HeaderDigests = DigestSet.Any },
            new LoginCallbacks { TargetExists = name => name.EndsWith("itest", StringComparison.Ordinal), BindSession = r => (ushort)(r.Tsih == 0 ? 7 : r.Tsih) },
            commandWindow: 16,
            maxTextLengthBytes: 1024);

        // The same request up to three times, in pieces when its C bit says so: the machine answers each or ends.
        var request = header.AsLoginRequest();
        for (int round = 0; round < 3 && login.Progress == LoginProgress.InProgress; round++)
        {
            var step = login.Process(request, Segmented(data, random));
            step.Header.DataSegmentLength.Should().Be(step.Data.Length);
            if (step.Progress == LoginProgress.InProgress && !step.Data.IsEmpty)
            {
                TextKeys.TryParse(step.Data.Span, []).Should().Be(TextParseError.None, "the target's own answers parse");
            }
        }

        return login.Progress == LoginProgress.InProgress ? (parsed == TextParseError.None ? "in progress" : "bad text")
            : parsed != TextParseError.None && login.Progress == LoginProgress.Failed ? "bad text" : login.Progress.ToString();
    }

    private static void ReadAll(ref ReadOnlySequence<byte> buffer, in IscsiPduReaderSettings settings, Dictionary<PduReadResult, int> results)
    {
        // Each decoded PDU consumes at least its 48-byte header, so this loop ends; the bound is a second guard.
        for (int guard = 0; guard < 1000; guard++)
        {
            long before = buffer.Length;
            var result = IscsiPduReader.TryReadPdu(ref buffer, settings, out var pdu, out var error);
            results[result] = results.GetValueOrDefault(result) + 1;
            switch (result)
            {
                case PduReadResult.Pdu:
                    (before - buffer.Length).Should().Be(pdu.WireLengthBytes).And.BeGreaterThanOrEqualTo(Bhs.Length);
                    pdu.DataSegment.Length.Should().Be(pdu.Header.DataSegmentLengthBytes).And.BeLessThanOrEqualTo(settings.MaxDataSegmentLengthBytes);
                    pdu.Header.Opcode.IsInitiatorOpcode().Should().BeTrue();
                    Decode(pdu);
                    break;
                case PduReadResult.DataDigestError:
                    settings.DataDigest.Should().Be(DigestKind.Crc32C);
                    (before - buffer.Length).Should().Be(pdu.WireLengthBytes);
                    pdu.DataSegment.IsEmpty.Should().BeTrue();
                    Decode(pdu);
                    break;
                case PduReadResult.ProtocolError:
                    buffer.Length.Should().Be(before, "a refused PDU consumes nothing");
                    error.Should().NotBe(PduReadError.None);
                    return;
                default:
                    buffer.Length.Should().Be(before);
                    return;
            }
        }

        Assert.Fail("the reader kept decoding the same bytes");
    }

    // Every view a target takes of a decoded header, as the connection would.
    private static void Decode(in IscsiPdu pdu)
    {
        var header = pdu.Header;
        switch (header.Opcode)
        {
            case IscsiOpcode.ScsiCommand:
                var command = header.AsScsiCommand();
                Span<byte> cdb = stackalloc byte[Scst.Core.ScsiCommand.MaxCdbLength];
                AdditionalHeaderSegment.TryGetCdb(command, pdu.AdditionalHeaderSegments, cdb, out _);
                AdditionalHeaderSegment.TryGetBidirectionalReadLength(pdu.AdditionalHeaderSegments, out _);
                break;
            case IscsiOpcode.DataOut:
                header.AsDataOut();
                break;
            case IscsiOpcode.NopOut:
                header.AsNopOut();
                break;
            case IscsiOpcode.LoginRequest:
                header.AsLoginRequest();
                break;
            case IscsiOpcode.TextRequest:
                header.AsTextRequest();
                TextKeys.TryParse(pdu.DataSegment.ToArray(), []);
                break;
            case IscsiOpcode.LogoutRequest:
                header.AsLogoutRequest();
                break;
            case IscsiOpcode.TaskManagementRequest:
                header.AsTaskManagementRequest();
                break;
            case IscsiOpcode.SnackRequest:
                header.AsSnackRequest();
                break;
        }
    }

    /// <summary>The bytes as a sequence of one to four random segments (the pipe's shape).</summary>
    private static ReadOnlySequence<byte> Segmented(byte[] bytes, Random random)
    {
        int pieces = bytes.Length < 2 ? 1 : 1 + random.Next(4);
        if (pieces == 1)
        {
            return new ReadOnlySequence<byte>(bytes);
        }

        var cuts = Enumerable.Range(0, pieces - 1).Select(_ => random.Next(1, bytes.Length)).Distinct().Order().ToList();
        FuzzSegment? first = null;
        FuzzSegment? last = null;
        int start = 0;
        foreach (int end in cuts.Append(bytes.Length))
        {
            var memory = bytes.AsMemory(start, end - start);
            last = last is null ? first = new FuzzSegment(memory, 0) : last.Append(memory);
            start = end;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class FuzzSegment : ReadOnlySequenceSegment<byte>
    {
        public FuzzSegment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public FuzzSegment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new FuzzSegment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
