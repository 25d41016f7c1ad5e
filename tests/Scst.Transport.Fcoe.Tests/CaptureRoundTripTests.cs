// Licensed under the Apache License, Version 2.0.

using Scst.Testing;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// Every frame of both captures is decoded by the readers and written again by the writers from the decoded fields;
/// the result must be the captured frame, byte for byte (the captures carry no Ethernet FCS).
/// </summary>
public class CaptureRoundTripTests
{
    [Theory]
    [InlineData(Captures.AloneFile, 7)]
    [InlineData(Captures.PairFile, 400)]
    public void EveryCapturedFrame_DecodedAndWrittenAgain_IsByteIdentical(string file, int expectedFrames)
    {
        var records = file == Captures.AloneFile ? Captures.Alone : Captures.Pair;
        records.Should().HaveCount(expectedFrames);

        foreach (var record in records)
        {
            byte[] rebuilt;
            try
            {
                rebuilt = FrameRebuilder.Rebuild(record.Data);
            }
            catch (TestAssertionException ex)
            {
                throw new TestAssertionException($"{file} frame {record.Index}: {ex.Message}");
            }

            try
            {
                Bytes.Equal(record.Data, rebuilt);
            }
            catch (TestAssertionException ex)
            {
                throw new TestAssertionException($"{file} frame {record.Index}: {ex.Message}");
            }
        }
    }

    [Fact]
    public void PairCapture_HoldsEveryKindOfFrameTheTestsClaimToCover()
    {
        var kinds = new HashSet<string>();
        foreach (var record in Captures.Pair)
        {
            var frame = record.Data;
            if (FipFrame.TryRead(frame, out var fip) == FipReadResult.Success)
            {
                kinds.Add(fip.Header.Message.ToString());
            }
            else if (FcoeFrame.TryRead(frame, out var fcoe) == FcoeReadResult.Success)
            {
                var h = fcoe.Header;
                string kind = h.RCtl switch
                {
                    RCtl.ElsRequest or RCtl.ElsReply => $"ELS 0x{h.RCtl:x2} code 0x{fcoe.Payload[0]:x2}",
                    RCtl.FcpData => (h.FCtl & FCtl.ExchangeContext) != 0 ? "Data-In" : "Data-Out",
                    RCtl.FcpResponse => (fcoe.Payload[10] & (byte)FcpResponseFlags.SenseValid) != 0 ? "FCP_RSP with sense" : "FCP_RSP",
                    _ => $"R_CTL 0x{h.RCtl:x2}",
                };
                kinds.Add(kind);
            }
            else
            {
                throw new TestAssertionException($"frame {record.Index} is neither FIP nor FCoE");
            }
        }

        kinds.Should().BeEquivalentTo(
        [
            "ProbeRequest", "ClaimNotification", "ClaimResponse", "Beacon", "LinkServiceRequest", "LinkServiceReply",
            "ELS 0x22 code 0x03", "ELS 0x23 code 0x02", "ELS 0x22 code 0x20", "ELS 0x22 code 0x0e", "ELS 0x22 code 0x52",
            "R_CTL 0x06", "R_CTL 0x05", "Data-In", "Data-Out", "FCP_RSP", "FCP_RSP with sense",
        ]);
    }
}
