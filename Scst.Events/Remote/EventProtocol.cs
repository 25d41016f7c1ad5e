// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Text;

namespace Scst.Events.Remote;

/// <summary>
/// The framing of the out-of-process protocol (see README.md, "Out-of-process protocol"). Every message is
/// <c>u32 length | u16 type | u16 reserved | body</c>, little-endian, <c>length</c> counting the whole message.
/// </summary>
internal static class EventProtocol
{
    /// <summary>The protocol version this library speaks.</summary>
    public const uint Version = 1;

    public const int HeaderSize = 8;
    public const int MaxMessageSize = 64 * 1024;
    public const int IssuerSize = 50;
    public const int MaxPrefixLength = 3 * 1024;
    public const int MaxFilters = 2048;
    public const byte ObserverFlag = 0x01;

    // Bodies.
    public const int HelloBodySize = 4;
    public const int FilterBodySize = 58;       // i32 code, char issuer[50], u8 flags, u8 reserved, u16 prefix_len
    public const int NotifyDoneBodySize = 8;    // u32 id, i32 status
    public const int ResultBodySize = 4;        // i32 status
    public const int DroppedBodySize = 8;       // u64 count
    public const int EventHeaderSize = 62;      // i32 payload_len, u32 code, u32 id, char issuer[50]
    public const int MaxEventPayload = MaxMessageSize - HeaderSize - EventHeaderSize;

    // Message types: requests (client to server) below 0x80, answers and notifications (server to client) from 0x80.
    public const ushort Hello = 0x01;
    public const ushort Allow = 0x02;
    public const ushort Disallow = 0x03;
    public const ushort NotifyDone = 0x04;
    public const ushort Result = 0x81;
    public const ushort Event = 0x82;
    public const ushort Dropped = 0x83;

    private const int FilterCodeOffset = 0;
    private const int FilterIssuerOffset = 4;
    private const int FilterFlagsOffset = 54;
    private const int FilterReservedOffset = 55;
    private const int FilterPrefixLengthOffset = 56;

    private const int EventPayloadLengthOffset = 0;
    private const int EventCodeOffset = 4;
    private const int EventIdOffset = 8;
    private const int EventIssuerOffset = 12;

    public static void WriteHeader(Span<byte> destination, int length, ushort type)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)length);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], type);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], 0);
    }

    /// <summary>Validates a header: length within [8, 64 KiB], reserved field zero.</summary>
    public static void ReadHeader(ReadOnlySpan<byte> header, out int length, out ushort type)
    {
        var rawLength = BinaryPrimitives.ReadUInt32LittleEndian(header);
        type = BinaryPrimitives.ReadUInt16LittleEndian(header[4..]);
        if (rawLength < HeaderSize || rawLength > MaxMessageSize)
        {
            throw new EventProtocolException($"message length {rawLength} is outside [{HeaderSize}, {MaxMessageSize}]");
        }

        if (BinaryPrimitives.ReadUInt16LittleEndian(header[6..]) != 0)
        {
            throw new EventProtocolException($"message type 0x{type:X2} has a non-zero reserved field");
        }

        length = (int)rawLength;
    }

    /// <summary>Reads one whole message into <paramref name="buffer"/> (at least <see cref="MaxMessageSize"/> bytes).</summary>
    /// <returns>The message length, or 0 when the peer closed the connection between messages.</returns>
    public static async ValueTask<int> ReadMessageAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        var read = await stream.ReadAtLeastAsync(buffer.AsMemory(0, HeaderSize), HeaderSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            return 0;
        }

        if (read < HeaderSize)
        {
            throw new EventProtocolException("the connection closed inside a message header");
        }

        ReadHeader(buffer, out var length, out _);
        if (length > HeaderSize)
        {
            read = await stream.ReadAtLeastAsync(buffer.AsMemory(HeaderSize, length - HeaderSize), length - HeaderSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (read < length - HeaderSize)
            {
                throw new EventProtocolException("the connection closed inside a message body");
            }
        }

        return length;
    }

    public static int WriteHello(Span<byte> destination, uint version)
    {
        const int length = HeaderSize + HelloBodySize;
        WriteHeader(destination, length, Hello);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[HeaderSize..], version);
        return length;
    }

    public static int WriteResult(Span<byte> destination, int status)
    {
        const int length = HeaderSize + ResultBodySize;
        WriteHeader(destination, length, Result);
        BinaryPrimitives.WriteInt32LittleEndian(destination[HeaderSize..], status);
        return length;
    }

    public static int WriteDropped(Span<byte> destination, ulong count)
    {
        const int length = HeaderSize + DroppedBodySize;
        WriteHeader(destination, length, Dropped);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[HeaderSize..], count);
        return length;
    }

    public static int WriteNotifyDone(Span<byte> destination, uint id, int status)
    {
        const int length = HeaderSize + NotifyDoneBodySize;
        WriteHeader(destination, length, NotifyDone);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[HeaderSize..], id);
        BinaryPrimitives.WriteInt32LittleEndian(destination[(HeaderSize + 4)..], status);
        return length;
    }

    /// <summary>Tells whether a filter can be encoded: issuer at most 49 bytes of UTF-8, prefix at most 3 KiB.</summary>
    public static string? CheckEncodable(ScstEventFilter filter)
    {
        if (Encoding.UTF8.GetByteCount(filter.IssuerName) >= IssuerSize)
        {
            return $"The issuer name must fit {IssuerSize - 1} bytes of UTF-8.";
        }

        return filter.PayloadPrefix.Length > MaxPrefixLength ? $"The payload prefix must be at most {MaxPrefixLength} bytes." : null;
    }

    /// <summary>Writes an ALLOW or DISALLOW message for an encodable filter (see <see cref="CheckEncodable"/>).</summary>
    public static int WriteFilter(Span<byte> destination, ushort type, ScstEventFilter filter, byte flags)
    {
        var prefix = filter.PayloadPrefix.Span;
        var length = HeaderSize + FilterBodySize + prefix.Length;
        WriteHeader(destination, length, type);
        var body = destination[HeaderSize..];
        BinaryPrimitives.WriteInt32LittleEndian(body[FilterCodeOffset..], filter.Code);
        FixedString.Write(body.Slice(FilterIssuerOffset, IssuerSize), filter.IssuerName);
        body[FilterFlagsOffset] = flags;
        body[FilterReservedOffset] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(body[FilterPrefixLengthOffset..], (ushort)prefix.Length);
        prefix.CopyTo(body[FilterBodySize..]);
        return length;
    }

    /// <summary>
    /// Parses an ALLOW or DISALLOW body. A body whose size disagrees with its prefix length, or whose prefix exceeds
    /// 3 KiB, breaks the framing (exception); a well-framed but meaningless filter (negative code, issuer without NUL,
    /// unknown flags, non-zero reserved byte) is answered with -EINVAL (the result is null).
    /// </summary>
    public static ScstEventFilter? ParseFilter(ReadOnlySpan<byte> body, out byte flags)
    {
        if (body.Length < FilterBodySize)
        {
            throw new EventProtocolException($"a filter body has {body.Length} bytes, fewer than {FilterBodySize}");
        }

        var prefixLength = BinaryPrimitives.ReadUInt16LittleEndian(body[FilterPrefixLengthOffset..]);
        if (prefixLength > MaxPrefixLength)
        {
            throw new EventProtocolException($"a filter prefix of {prefixLength} bytes exceeds {MaxPrefixLength}");
        }

        if (body.Length != FilterBodySize + prefixLength)
        {
            throw new EventProtocolException($"a filter body has {body.Length} bytes; its prefix length says {FilterBodySize + prefixLength}");
        }

        flags = body[FilterFlagsOffset];
        var code = BinaryPrimitives.ReadInt32LittleEndian(body[FilterCodeOffset..]);
        var issuer = body.Slice(FilterIssuerOffset, IssuerSize);
        if (code < 0 || issuer.IndexOf((byte)0) < 0 || (flags & ~ObserverFlag) != 0 || body[FilterReservedOffset] != 0)
        {
            return null;
        }

        return new ScstEventFilter(code, FixedString.Read(issuer), body.Slice(FilterBodySize, prefixLength).ToArray());
    }

    /// <summary>Writes an EVENT message; <see langword="false"/> when the payload exceeds <see cref="MaxEventPayload"/>.</summary>
    public static bool TryWriteEvent(Span<byte> destination, ScstEvent scstEvent, out int length)
    {
        var payload = scstEvent.Payload.Span;
        if (payload.Length > MaxEventPayload)
        {
            length = 0;
            return false;
        }

        length = HeaderSize + EventHeaderSize + payload.Length;
        WriteHeader(destination, length, Event);
        var body = destination[HeaderSize..];
        BinaryPrimitives.WriteInt32LittleEndian(body[EventPayloadLengthOffset..], payload.Length);
        BinaryPrimitives.WriteInt32LittleEndian(body[EventCodeOffset..], scstEvent.Code);
        BinaryPrimitives.WriteUInt32LittleEndian(body[EventIdOffset..], scstEvent.Id);
        FixedString.Write(body.Slice(EventIssuerOffset, IssuerSize), scstEvent.IssuerName);
        payload.CopyTo(body[EventHeaderSize..]);
        return true;
    }

    /// <summary>Parses an EVENT body into an event that owns a copy of the payload.</summary>
    public static ScstEvent ParseEvent(ReadOnlySpan<byte> body)
    {
        if (body.Length < EventHeaderSize)
        {
            throw new EventProtocolException($"an event body has {body.Length} bytes, fewer than {EventHeaderSize}");
        }

        var payloadLength = BinaryPrimitives.ReadInt32LittleEndian(body[EventPayloadLengthOffset..]);
        if (payloadLength != body.Length - EventHeaderSize)
        {
            throw new EventProtocolException($"an event says {payloadLength} payload bytes but carries {body.Length - EventHeaderSize}");
        }

        return new ScstEvent(
            BinaryPrimitives.ReadInt32LittleEndian(body[EventCodeOffset..]),
            FixedString.Read(body.Slice(EventIssuerOffset, IssuerSize)),
            body[EventHeaderSize..].ToArray(),
            BinaryPrimitives.ReadUInt32LittleEndian(body[EventIdOffset..]));
    }
}

/// <summary>A peer broke the framing: the connection is closed.</summary>
internal sealed class EventProtocolException(string message) : Exception(message);
