// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Scst.Transport.Iscsi.Isns;

/// <summary>iSNSP function ids (RFC 4171 section 6.1); a response is its request's id with bit 15 set.</summary>
internal enum IsnsFunction : ushort
{
    DevAttrReg = 0x0001,
    DevAttrQry = 0x0002,
    DevDereg = 0x0004,
    ScnReg = 0x0005,
    Scn = 0x0008,
    Esi = 0x000D,
    Response = 0x8000,
}

/// <summary>iSNS attribute tags used here (RFC 4171 section 6.1).</summary>
internal static class IsnsTag
{
    public const uint Delimiter = 0;
    public const uint EntityIdentifier = 1;
    public const uint EntityProtocol = 2;
    public const uint RegistrationPeriod = 6;
    public const uint PortalIpAddress = 16;
    public const uint PortalPort = 17;
    public const uint EsiPort = 20;
    public const uint ScnPort = 23;
    public const uint IscsiName = 32;
    public const uint IscsiNodeType = 33;
    public const uint IscsiAlias = 34;
    public const uint IscsiScnBitmap = 35;
    public const uint PgIscsiName = 48;
    public const uint PgPortalIpAddress = 49;
    public const uint PgPortalPort = 50;
    public const uint PgTag = 51;
}

/// <summary>
/// One iSNSP message (RFC 4171 section 5): a 12-byte header (version 1, function id, PDU length, flags, transaction id,
/// sequence id) and TLV attributes, each value padded to four bytes. Strings are UTF-8 with a terminating NUL;
/// addresses are 16 bytes, IPv4 as IPv4-mapped IPv6.
/// </summary>
internal sealed class IsnsMessage
{
    public const int HeaderLength = 12;
    public const int MaxPayload = 65_532;
    public const ushort FlagClient = 0x8000;
    public const ushort FlagServer = 0x4000;
    public const ushort FlagReplace = 0x1000;
    public const ushort FlagLastPdu = 0x0800;
    public const ushort FlagFirstPdu = 0x0400;

    private readonly ArrayBufferWriter<byte> _payload = new();

    public IsnsMessage(IsnsFunction function, ushort transactionId, ushort flags)
    {
        Function = function;
        TransactionId = transactionId;
        Flags = flags;
    }

    public IsnsFunction Function { get; }

    public ushort TransactionId { get; }

    public ushort Flags { get; }

    public int PayloadLength => _payload.WrittenCount;

    /// <summary>Appends a response's 4-byte error code (first in every response payload).</summary>
    public IsnsMessage ErrorCode(uint code)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, code);
        _payload.Write(b);
        return this;
    }

    public IsnsMessage Add(uint tag, ReadOnlySpan<byte> value)
    {
        int padded = (value.Length + 3) & ~3;
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(head, tag);
        BinaryPrimitives.WriteUInt32BigEndian(head[4..], (uint)padded);
        _payload.Write(head);
        _payload.Write(value);
        _payload.Write(new byte[padded - value.Length]);

        return this;
    }

    public IsnsMessage Add(uint tag, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        return Add(tag, b);
    }

    public IsnsMessage Add(uint tag, string value)
    {
        byte[] text = Encoding.UTF8.GetBytes(value + "\0");
        return Add(tag, text);
    }

    public IsnsMessage Add(uint tag, IPAddress address)
    {
        IPAddress v6 = address.AddressFamily == AddressFamily.InterNetwork ? address.MapToIPv6() : address;
        return Add(tag, v6.GetAddressBytes());
    }

    public IsnsMessage Delimiter() => Add(IsnsTag.Delimiter, ReadOnlySpan<byte>.Empty);

    /// <summary>The whole message as one PDU.</summary>
    /// <exception cref="InvalidOperationException">The payload does not fit one PDU.</exception>
    public byte[] ToPdu()
    {
        if (_payload.WrittenCount > MaxPayload)
        {
            throw new InvalidOperationException($"An iSNS message of {_payload.WrittenCount} bytes does not fit one PDU.");
        }

        byte[] pdu = new byte[HeaderLength + _payload.WrittenCount];
        Span<byte> h = pdu;
        BinaryPrimitives.WriteUInt16BigEndian(h, 1);
        BinaryPrimitives.WriteUInt16BigEndian(h[2..], (ushort)Function);
        BinaryPrimitives.WriteUInt16BigEndian(h[4..], (ushort)_payload.WrittenCount);
        BinaryPrimitives.WriteUInt16BigEndian(h[6..], (ushort)(Flags | FlagFirstPdu | FlagLastPdu));
        BinaryPrimitives.WriteUInt16BigEndian(h[8..], TransactionId);
        BinaryPrimitives.WriteUInt16BigEndian(h[10..], 0);
        _payload.WrittenSpan.CopyTo(pdu.AsSpan(HeaderLength));
        return pdu;
    }
}

/// <summary>A received iSNSP PDU: its header and payload.</summary>
internal readonly record struct IsnsPdu(ushort Function, ushort Flags, ushort TransactionId, ushort SequenceId, byte[] Payload)
{
    /// <summary>Reads one PDU from a stream; null at the end of the stream.</summary>
    /// <exception cref="InvalidDataException">A header with a version other than 1.</exception>
    public static async Task<IsnsPdu?> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        byte[] header = new byte[IsnsMessage.HeaderLength];
        if (!await ReadExactlyOrEndAsync(stream, header, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        if (BinaryPrimitives.ReadUInt16BigEndian(header) != 1)
        {
            throw new InvalidDataException($"iSNSP version {BinaryPrimitives.ReadUInt16BigEndian(header)} is not 1.");
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(4));
        byte[] payload = new byte[length];
        if (length > 0 && !await ReadExactlyOrEndAsync(stream, payload, cancellationToken).ConfigureAwait(false))
        {
            throw new InvalidDataException("The iSNS connection ended inside a PDU.");
        }

        return new IsnsPdu(
            BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2)), BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(6)),
            BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(8)), BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(10)), payload);
    }

    /// <summary>The TLV attributes of the payload, from <paramref name="offset"/> (4 in a response, after its error code).</summary>
    /// <exception cref="InvalidDataException">An attribute runs past the payload.</exception>
    public List<(uint Tag, byte[] Value)> Attributes(int offset)
    {
        var list = new List<(uint, byte[])>();
        for (int at = offset; at < Payload.Length;)
        {
            if (Payload.Length - at < 8)
            {
                throw new InvalidDataException("An iSNS attribute header runs past the payload.");
            }

            uint tag = BinaryPrimitives.ReadUInt32BigEndian(Payload.AsSpan(at));
            uint length = BinaryPrimitives.ReadUInt32BigEndian(Payload.AsSpan(at + 4));
            if (length > (uint)(Payload.Length - at - 8))
            {
                throw new InvalidDataException($"iSNS attribute {tag} of {length} bytes runs past the payload.");
            }

            list.Add((tag, Payload.AsSpan(at + 8, (int)length).ToArray()));
            at += 8 + (int)length;
        }

        return list;
    }

    /// <summary>The error code of a response (the first four payload bytes).</summary>
    public uint ErrorCode => Payload.Length >= 4 ? BinaryPrimitives.ReadUInt32BigEndian(Payload) : uint.MaxValue;

    private static async Task<bool> ReadExactlyOrEndAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        int read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            return false;
        }

        return read == buffer.Length ? true : throw new InvalidDataException("The iSNS connection ended inside a PDU.");
    }
}
