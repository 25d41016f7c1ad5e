// Licensed under the Apache License, Version 2.0.

using Scst.Testing;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Tests;

/// <summary>
/// Decodes a captured frame with the readers and writes it again with the writers, field by field: the frame writers
/// of FIP and FCoE, and the payload codec that its R_CTL, TYPE and ELS code call for. Any field a reader drops or a
/// writer forgets makes the result differ from the capture. Throws <see cref="TestAssertionException"/> when a frame
/// does not decode.
/// </summary>
internal static class FrameRebuilder
{
    public static byte[] Rebuild(ReadOnlySpan<byte> frame)
    {
        if (!Ethernet.TryReadHeader(frame, out var etherType, out _, out _))
        {
            throw new TestAssertionException("Not an Ethernet frame.");
        }

        return etherType switch
        {
            EtherType.Fip => RebuildFip(frame),
            EtherType.Fcoe => RebuildFcoe(frame),
            _ => throw new TestAssertionException($"Ethertype 0x{etherType:x4} is neither FIP nor FCoE."),
        };
    }

    public static byte[] RebuildFcoe(ReadOnlySpan<byte> frame)
    {
        var result = FcoeFrame.TryRead(frame, out var view);
        if (!(result == FcoeReadResult.Success))
        {
            throw Failed($"FcoeFrame.TryRead: {result}");
        }

        var payload = Bytes.Dirty(FcoeFrame.MaxPayloadLength);
        int payloadLength = RebuildPayload(view.Header, view.Payload, payload);
        var output = Bytes.Dirty(FcoeFrame.MaxTaggedFrameLength);
        int length = FcoeFrame.Write(output, view.Destination, view.Source, view.VlanTag, view.Sof, view.Header, payload.AsSpan(0, payloadLength), view.Eof);
        return output[..length];
    }

    public static byte[] RebuildFip(ReadOnlySpan<byte> frame)
    {
        var result = FipFrame.TryRead(frame, out var view);
        if (!(result == FipReadResult.Success))
        {
            throw Failed($"FipFrame.TryRead: {result}");
        }

        var header = view.Header;
        var reader = view.GetDescriptorReader();
        var output = Bytes.Dirty(Math.Max(frame.Length, 2200));
        int length;
        switch (header.Message)
        {
            case FipMessage.ProbeRequest or FipMessage.ProbeReply or FipMessage.Beacon:
            {
                if (!(reader.TryReadNext(out var d) && d.TryReadMacAddress(out var enode)))
                {
                    throw Failed("MAC descriptor");
                }

                if (!(reader.TryReadNext(out d) && d.TryReadName(out ulong nodeName)))
                {
                    throw Failed("name descriptor");
                }

                if (!(reader.TryReadNext(out d) && d.TryReadVnPortId(out var vnPort)))
                {
                    throw Failed("VN_Port descriptor");
                }

                if (!(!reader.TryReadNext(out _) && reader.Error == FipDescriptorError.None))
                {
                    throw Failed("end of descriptors");
                }

                length = header.Message switch
                {
                    FipMessage.ProbeRequest => FipFrame.WriteProbeRequest(output, view.Destination, view.Source, view.VlanTag, header.Flags, enode, nodeName, vnPort),
                    FipMessage.ProbeReply => FipFrame.WriteProbeReply(output, view.Destination, view.Source, view.VlanTag, header.Flags, enode, nodeName, vnPort),
                    _ => FipFrame.WriteBeacon(output, view.Destination, view.Source, view.VlanTag, header.Flags, enode, nodeName, vnPort),
                };
                break;
            }

            case FipMessage.ClaimNotification or FipMessage.ClaimResponse:
            {
                if (!(reader.TryReadNext(out var d) && d.TryReadMacAddress(out var enode)))
                {
                    throw Failed("MAC descriptor");
                }

                if (!(reader.TryReadNext(out d) && d.TryReadName(out ulong nodeName)))
                {
                    throw Failed("name descriptor");
                }

                if (!(reader.TryReadNext(out d) && d.TryReadVnPortId(out var vnPort)))
                {
                    throw Failed("VN_Port descriptor");
                }

                if (!(reader.TryReadNext(out d) && d.TryReadFc4Features(out var types, out var features)))
                {
                    throw Failed("FC-4 features descriptor");
                }

                var list = Fc4List(types, features);
                if (!(reader.TryReadNext(out d) && d.TryReadMaxFcoeSize(out ushort maxFcoeSize)))
                {
                    throw Failed("max FCoE size descriptor");
                }

                if (!(!reader.TryReadNext(out _) && reader.Error == FipDescriptorError.None))
                {
                    throw Failed("end of descriptors");
                }

                length = header.Message == FipMessage.ClaimNotification
                    ? FipFrame.WriteClaimNotification(output, view.Destination, view.Source, view.VlanTag, header.Flags, enode, nodeName, vnPort, list, maxFcoeSize)
                    : FipFrame.WriteClaimResponse(output, view.Destination, view.Source, view.VlanTag, header.Flags, enode, nodeName, vnPort, list, maxFcoeSize, frame.Length);
                break;
            }

            case FipMessage.LinkServiceRequest or FipMessage.LinkServiceReply:
            {
                if (!(reader.TryReadNext(out var d) && d.TryReadEncapsulatedEls(out var elsHeader, out var els)))
                {
                    throw Failed("encapsulated ELS");
                }

                var type = d.Type;
                var payload = Bytes.Dirty(FcoeFrame.MaxPayloadLength);
                int payloadLength = RebuildPayload(elsHeader, els, payload);
                if (!(reader.TryReadNext(out d) && d.TryReadMacAddress(out var mac)))
                {
                    throw Failed("MAC descriptor");
                }

                if (!(!reader.TryReadNext(out _) && reader.Error == FipDescriptorError.None))
                {
                    throw Failed("end of descriptors");
                }

                length = header.Message == FipMessage.LinkServiceRequest
                    ? FipFrame.WriteLinkServiceRequest(output, view.Destination, view.Source, view.VlanTag, header.Flags, type, elsHeader, payload.AsSpan(0, payloadLength), mac)
                    : FipFrame.WriteLinkServiceReply(output, view.Destination, view.Source, view.VlanTag, header.Flags, type, elsHeader, payload.AsSpan(0, payloadLength), mac);
                break;
            }

            default:
                throw new TestAssertionException($"No rebuilder for FIP message {header.Message}.");
        }

        return output[..length];
    }

    /// <summary>Writes the payload of an FC frame again from what its codec decoded; returns its length.</summary>
    public static int RebuildPayload(FcFrameHeader header, ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        switch (header.RCtl)
        {
            case RCtl.ElsRequest or RCtl.ElsReply:
                if (!(header.Type == FcType.Els))
                {
                    throw Failed("ELS TYPE");
                }

                return RebuildEls(payload, destination);

            case RCtl.FcpCommand:
            {
                if (!(FcpCommand.TryRead(payload, out var command)))
                {
                    throw Failed("FcpCommand.TryRead");
                }

                return FcpCommand.Write(destination, command.Lun, command.Cdb, command.DataLength, command.ReadData, command.WriteData,
                    command.TaskAttribute, command.CommandReferenceNumber, command.Priority, command.TaskManagementFlags,
                    command.BidirectionalReadDataLength);
            }

            case RCtl.FcpTransferReady:
                if (!(FcpTransferReady.TryRead(payload, out uint offset, out uint burst)))
                {
                    throw Failed("FcpTransferReady.TryRead");
                }

                return FcpTransferReady.Write(destination, offset, burst);

            case RCtl.FcpResponse:
            {
                if (!(FcpResponse.TryRead(payload, out var response)))
                {
                    throw Failed("FcpResponse.TryRead");
                }

                int length = FcpResponse.Write(destination, response.Status, response.Flags, response.Residual, response.Sense,
                    response.ResponseCode, response.StatusQualifier);
                if (!(length == payload.Length))
                {
                    throw Failed("FCP_RSP length");
                }

                return length;
            }

            case RCtl.FcpData:
                payload.CopyTo(destination);
                return payload.Length;

            case RCtl.BaAcc:
                if (!(BaAcc.TryRead(payload, out var baAcc)))
                {
                    throw Failed("BaAcc.TryRead");
                }

                return baAcc.WriteTo(destination);

            case RCtl.BaRjt:
                if (!(BaRjt.TryRead(payload, out var baRjt)))
                {
                    throw Failed("BaRjt.TryRead");
                }

                return baRjt.WriteTo(destination);

            case RCtl.Abts:
                return 0;

            default:
                throw new TestAssertionException($"No rebuilder for R_CTL 0x{header.RCtl:x2}.");
        }
    }

    private static int RebuildEls(ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        if (!(Els.TryReadCode(payload, out byte code)))
        {
            throw Failed("ELS code");
        }

        switch (code)
        {
            case ElsCode.Plogi or ElsCode.Flogi or ElsCode.Fdisc or ElsCode.LsAcc when payload.Length == ServiceParameters.Length:
                if (!(ServiceParameters.TryRead(payload, out var parameters)))
                {
                    throw Failed("ServiceParameters.TryRead");
                }

                return parameters.WriteTo(destination, code);

            case ElsCode.Prli or ElsCode.Prlo or ElsCode.LsAcc when payload.Length >= Prli.SinglePageLength && payload[1] == PrliPage.Length:
            {
                if (!(Prli.TryReadHeader(payload, out _, out int pages)))
                {
                    throw Failed("Prli.TryReadHeader");
                }

                int at = Prli.WriteHeader(destination, code, pages);
                for (int i = 0; i < pages; i++)
                {
                    if (!(Prli.TryReadPage(payload, i, out var page)))
                    {
                        throw Failed("Prli.TryReadPage");
                    }

                    at += page.WriteTo(destination[at..]);
                }

                return at;
            }

            case ElsCode.Adisc or ElsCode.LsAcc when payload.Length == AdiscPayload.Length:
                if (!(AdiscPayload.TryRead(payload, out var adisc)))
                {
                    throw Failed("AdiscPayload.TryRead");
                }

                return adisc.WriteTo(destination, code);

            case ElsCode.LsAcc when payload.Length == RtvAccept.Length:
                if (!(RtvAccept.TryRead(payload, out var rtv)))
                {
                    throw Failed("RtvAccept.TryRead");
                }

                return rtv.WriteTo(destination);

            case ElsCode.Rtv or ElsCode.LsAcc when payload.Length == Els.CommandLength:
                return Els.WriteCommand(destination, code);

            case ElsCode.LsRjt:
                if (!(LsRjt.TryRead(payload, out var reject)))
                {
                    throw Failed("LsRjt.TryRead");
                }

                return reject.WriteTo(destination);

            case ElsCode.Logo:
                if (!(LogoPayload.TryRead(payload, out var logo)))
                {
                    throw Failed("LogoPayload.TryRead");
                }

                return logo.WriteTo(destination);

            case ElsCode.Rrq:
                if (!(RrqPayload.TryRead(payload, out var rrq)))
                {
                    throw Failed("RrqPayload.TryRead");
                }

                return rrq.WriteTo(destination);

            default:
                throw new TestAssertionException($"No rebuilder for ELS 0x{code:x2} of {payload.Length} bytes.");
        }
    }

    /// <summary>The (TYPE, features) list of an FC-4 features descriptor's bitmaps.</summary>
    public static Fc4Feature[] Fc4List(ReadOnlySpan<byte> types, ReadOnlySpan<byte> features)
    {
        var list = new List<Fc4Feature>();
        for (int t = 0; t < 256; t++)
        {
            if (Fc4Bitmap.IsTypeSet(types, (byte)t))
            {
                list.Add(new Fc4Feature((byte)t, Fc4Bitmap.GetFeatures(features, (byte)t)));
            }
            else if (Fc4Bitmap.GetFeatures(features, (byte)t) != 0)
            {
                throw new TestAssertionException($"Features for TYPE {t} that is not in the TYPEs bitmap.");
            }
        }

        return [.. list];
    }

    private static TestAssertionException Failed(string what) => new($"Rebuild failed: {what}.");
}
