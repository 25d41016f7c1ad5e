// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// Seeded mutation of every captured frame (bit flips, byte overwrites, truncation, extension): every reader, fed the
/// mutated frame or any slice of it, returns without throwing. A fixed seed and a fixed number of cases; a failure
/// names its case and the bytes.
/// </summary>
public class ProtocolFuzzTests
{
    private const int Seed = 0x8906;
    private const int MutationsPerFrame = 40;

    [Fact]
    public void MutatedCapturedFrames_NeverMakeAReaderThrow()
    {
        var random = new Random(Seed);
        var fcoeResults = new HashSet<FcoeReadResult>();
        var fipResults = new HashSet<FipReadResult>();
        var descriptorErrors = new HashSet<FipDescriptorError>();
        int cases = 0;
        foreach (var record in Captures.All)
        {
            for (int i = 0; i < MutationsPerFrame; i++)
            {
                var mutated = Mutate(record.Data, random);
                cases++;
                try
                {
                    fcoeResults.Add(ReadAsFcoe(mutated));
                    fipResults.Add(ReadAsFip(mutated, descriptorErrors));
                    int start = random.Next(mutated.Length + 1);
                    ReadPayload(mutated.AsSpan(start, random.Next(mutated.Length - start + 1)));
                    if (mutated.Length > 52)
                    {
                        ReadPayload(mutated.AsSpan(52, Math.Max(0, mutated.Length - 60)));
                    }
                }
                catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
                {
                    Assert.Fail($"frame {record.Index} mutation {i} (seed {Seed}) threw {ex}\nbytes: {Convert.ToHexString(mutated)}");
                }
            }
        }

        cases.Should().Be(407 * MutationsPerFrame);
        // The mutations reach the outcomes, or the test proves less than it claims.
        fcoeResults.Should().Contain([FcoeReadResult.Success, FcoeReadResult.CrcError, FcoeReadResult.Truncated, FcoeReadResult.NotFcoe,
            FcoeReadResult.InvalidEof, FcoeReadResult.InvalidSof, FcoeReadResult.InvalidLength, FcoeReadResult.UnsupportedVersion]);
        fipResults.Should().Contain([FipReadResult.Success, FipReadResult.NotFip, FipReadResult.Truncated, FipReadResult.InvalidDescriptorListLength,
            FipReadResult.UnsupportedVersion]);
        descriptorErrors.Should().Contain([FipDescriptorError.None, FipDescriptorError.ZeroLength, FipDescriptorError.Overrun]);
    }

    private static byte[] Mutate(byte[] frame, Random random)
    {
        var data = (byte[])frame.Clone();
        switch (random.Next(5))
        {
            case 0:
                int bit = random.Next(data.Length * 8);
                data[bit / 8] ^= (byte)(1 << (bit % 8));
                return data;
            case 1:
                for (int n = random.Next(1, 6); n > 0; n--)
                {
                    data[random.Next(Math.Min(data.Length, 64))] = (byte)random.Next(256);
                }

                return data;
            case 2:
                return data[..random.Next(data.Length)];
            case 3:
                var longer = new byte[data.Length + random.Next(1, 9)];
                data.CopyTo(longer, 0);
                random.NextBytes(longer.AsSpan(data.Length));
                return longer;
            default:
                for (int n = random.Next(1, 4); n > 0; n--)
                {
                    data[random.Next(data.Length)] = (byte)random.Next(256);
                }

                return data;
        }
    }

    private static FcoeReadResult ReadAsFcoe(byte[] frame)
    {
        var result = FcoeFrame.TryRead(frame, out var view);
        if (result == FcoeReadResult.Success)
        {
            _ = view.Destination;
            _ = view.Source;
            _ = view.VlanId;
            ReadPayload(view.Payload);
        }

        return result;
    }

    private static FipReadResult ReadAsFip(byte[] frame, HashSet<FipDescriptorError> errors)
    {
        var result = FipFrame.TryRead(frame, out var view);
        if (result == FipReadResult.Success)
        {
            _ = view.Header.Message;
            var reader = view.GetDescriptorReader();
            while (reader.TryReadNext(out var d))
            {
                d.TryReadPriority(out _);
                d.TryReadMacAddress(out _);
                d.TryReadFcMap(out _);
                d.TryReadName(out _);
                d.TryReadFabric(out _, out _, out _);
                d.TryReadMaxFcoeSize(out _);
                if (d.TryReadEncapsulatedEls(out _, out var els))
                {
                    ReadPayload(els);
                }

                d.TryReadVnPortId(out _);
                d.TryReadFkaAdvPeriod(out _, out _);
                d.TryReadVendorId(out _);
                d.TryReadVlan(out _);
                if (d.TryReadFc4Features(out var types, out var features))
                {
                    for (int t = 0; t < 256; t++)
                    {
                        Fc4Bitmap.IsTypeSet(types, (byte)t);
                        Fc4Bitmap.GetFeatures(features, (byte)t);
                    }
                }
            }

            errors.Add(reader.Error);
        }

        return result;
    }

    /// <summary>Every payload reader over the same bytes, whatever they are.</summary>
    private static void ReadPayload(ReadOnlySpan<byte> payload)
    {
        FcFrameHeader.TryRead(payload, out _);
        FipHeader.TryRead(payload, out _);
        Els.TryReadCode(payload, out _);
        ServiceParameters.TryRead(payload, out _);
        if (Prli.TryReadHeader(payload, out _, out int pages))
        {
            for (int i = 0; i <= pages; i++)
            {
                Prli.TryReadPage(payload, i, out _);
            }
        }

        Prli.TryRead(payload, out _, out _);
        LsRjt.TryRead(payload, out _);
        LogoPayload.TryRead(payload, out _);
        AdiscPayload.TryRead(payload, out _);
        RrqPayload.TryRead(payload, out _);
        RtvAccept.TryRead(payload, out _);
        Echo.GetData(payload);
        Rls.TryReadRequest(payload, out _);
        Rls.TryReadAccept(payload, out _);
        Scr.TryRead(payload, out _);
        if (Rscn.TryReadHeader(payload, out int rscnPages))
        {
            for (int i = 0; i <= rscnPages; i++)
            {
                Rscn.TryReadPage(payload, i, out _, out _);
            }
        }

        CtHeader.TryRead(payload, out _);
        NameServer.TryReadRftId(payload, out _, out _);
        NameServer.TryReadRffId(payload, out _, out _, out _);
        NameServer.TryReadGpnFtEntry(payload, 0, out _, out _, out _);
        BaAcc.TryRead(payload, out _);
        BaRjt.TryRead(payload, out _);
        if (FcpCommand.TryRead(payload, out var command))
        {
            command.TryGetTaskAttribute(out _);
            _ = command.Cdb.Length;
        }

        FcpTransferReady.TryRead(payload, out _, out _);
        if (FcpResponse.TryRead(payload, out var response))
        {
            _ = response.Sense.Length;
        }

        var reader = new FipDescriptorReader(payload);
        while (reader.TryReadNext(out _))
        {
        }
    }
}
