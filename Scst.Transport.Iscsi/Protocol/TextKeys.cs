// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Globalization;
using System.Text;

namespace Scst.Transport.Iscsi.Protocol;

/// <summary>One <c>key=value</c> pair of a Login or Text data segment (RFC 7143 section 6.1).</summary>
/// <param name="Key">The key name, case-sensitive.</param>
/// <param name="Value">The value as sent (a single value, or a comma-separated list for list keys).</param>
internal readonly record struct TextKeyValue(string Key, string Value);

/// <summary>Why a text data segment was refused.</summary>
internal enum TextParseError
{
    /// <summary>No error.</summary>
    None,

    /// <summary>A pair has no '='.</summary>
    MissingEquals,

    /// <summary>A key is empty.</summary>
    EmptyKey,

    /// <summary>A key is longer than 63 bytes.</summary>
    KeyTooLong,

    /// <summary>A key holds a character outside the RFC's key alphabet.</summary>
    InvalidKeyCharacter,

    /// <summary>A value is longer than its key allows.</summary>
    ValueTooLong,

    /// <summary>The last pair is not terminated by a null byte.</summary>
    MissingTerminator,

    /// <summary>A value is not valid UTF-8.</summary>
    InvalidUtf8,
}

/// <summary>
/// Parser and writer of the <c>key=value\0</c> text of Login and Text PDUs (RFC 7143 sections 6.1 and 6.2).
/// Login is not the hot path: this code allocates strings freely.
/// </summary>
internal static class TextKeys
{
    /// <summary>Longest key name in bytes (RFC 7143 section 6.1).</summary>
    public const int MaxKeyLengthBytes = 63;

    /// <summary>Longest value in bytes unless the key says otherwise (RFC 7143 section 6.1).</summary>
    public const int MaxValueLengthBytes = 255;

    /// <summary>
    /// Longest value we accept for the keys whose values may be longer than 255 bytes: the authentication
    /// keys (large binary values such as CHAP challenges), TargetAddress and SendTargets.
    /// </summary>
    public const int MaxLongValueLengthBytes = 8192;

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Parses a complete text segment (all continuation PDUs joined) into <paramref name="pairs"/>.
    /// Empty entries (a stray null byte, as some initiators send before padding) are skipped.
    /// </summary>
    public static TextParseError TryParse(ReadOnlySpan<byte> text, List<TextKeyValue> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        while (!text.IsEmpty)
        {
            var end = text.IndexOf((byte)0);
            if (end < 0)
            {
                return TextParseError.MissingTerminator;
            }

            var pair = text[..end];
            text = text[(end + 1)..];
            if (pair.IsEmpty)
            {
                continue;
            }

            var equals = pair.IndexOf((byte)'=');
            if (equals < 0)
            {
                return TextParseError.MissingEquals;
            }

            var keyBytes = pair[..equals];
            var valueBytes = pair[(equals + 1)..];
            var keyError = ValidateKey(keyBytes);
            if (keyError != TextParseError.None)
            {
                return keyError;
            }

            var key = Encoding.ASCII.GetString(keyBytes);
            if (valueBytes.Length > MaxValueLength(key))
            {
                return TextParseError.ValueTooLong;
            }

            string value;
            try
            {
                value = s_strictUtf8.GetString(valueBytes);
            }
            catch (DecoderFallbackException)
            {
                return TextParseError.InvalidUtf8;
            }

            pairs.Add(new TextKeyValue(key, value));
        }

        return TextParseError.None;
    }

    /// <summary>Appends <c>key=value\0</c> to <paramref name="writer"/>.</summary>
    public static void Write(IBufferWriter<byte> writer, string key, string value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        var length = Encoding.ASCII.GetByteCount(key) + 1 + Encoding.UTF8.GetByteCount(value) + 1;
        var span = writer.GetSpan(length);
        var written = Encoding.ASCII.GetBytes(key, span);
        span[written++] = (byte)'=';
        written += Encoding.UTF8.GetBytes(value, span[written..]);
        span[written++] = 0;
        writer.Advance(written);
    }

    /// <summary>Appends <c>key=number\0</c>.</summary>
    public static void Write(IBufferWriter<byte> writer, string key, long value) =>
        Write(writer, key, value.ToString(CultureInfo.InvariantCulture));

    /// <summary>Appends <c>key=Yes\0</c> or <c>key=No\0</c>.</summary>
    public static void Write(IBufferWriter<byte> writer, string key, bool value) => Write(writer, key, value ? "Yes" : "No");

    /// <summary>Appends every pair in order.</summary>
    public static void Write(IBufferWriter<byte> writer, IEnumerable<TextKeyValue> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        foreach (var (key, value) in pairs)
        {
            Write(writer, key, value);
        }
    }

    private static int MaxValueLength(string key) =>
        key.StartsWith("CHAP_", StringComparison.Ordinal) || key.StartsWith("SRP_", StringComparison.Ordinal)
            || key.StartsWith("KRB_", StringComparison.Ordinal) || key.StartsWith("SPKM_", StringComparison.Ordinal)
            || key is "TargetAddress" or "SendTargets"
            ? MaxLongValueLengthBytes
            : MaxValueLengthBytes;

    private static TextParseError ValidateKey(ReadOnlySpan<byte> key)
    {
        if (key.IsEmpty)
        {
            return TextParseError.EmptyKey;
        }

        if (key.Length > MaxKeyLengthBytes)
        {
            return TextParseError.KeyTooLong;
        }

        // key-name alphabet of RFC 7143 section 6.1: letters, digits, '.', '-', '+', '@', '_' (and '#' in X# keys).
        foreach (var c in key)
        {
            var ok = c is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
                or (byte)'.' or (byte)'-' or (byte)'+' or (byte)'@' or (byte)'_' or (byte)'#';
            if (!ok)
            {
                return TextParseError.InvalidKeyCharacter;
            }
        }

        return TextParseError.None;
    }
}

/// <summary>
/// Joins the text of a Login or Text request sent over several PDUs with the C (continue) bit
/// (RFC 7143 section 6.1: a key=value pair may straddle PDUs). Owns its buffer; one per connection.
/// </summary>
internal sealed class TextSegmentAccumulator
{
    /// <summary>Default cap on the joined text: 64 KiB.</summary>
    public const int DefaultMaxLengthBytes = 64 * 1024;

    private readonly ArrayBufferWriter<byte> _buffer = new();

    /// <summary>Creates an accumulator that refuses text longer than <paramref name="maxLengthBytes"/>.</summary>
    public TextSegmentAccumulator(int maxLengthBytes = DefaultMaxLengthBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLengthBytes);
        MaxLengthBytes = maxLengthBytes;
    }

    /// <summary>The cap on the joined text.</summary>
    public int MaxLengthBytes { get; }

    /// <summary>The text joined so far.</summary>
    public ReadOnlySpan<byte> Text => _buffer.WrittenSpan;

    /// <summary>Appends one PDU's data segment (copied: the pipe memory is not kept).</summary>
    /// <returns>False, appending nothing, when the cap would be exceeded.</returns>
    public bool TryAppend(in ReadOnlySequence<byte> segment)
    {
        if (_buffer.WrittenCount + segment.Length > MaxLengthBytes)
        {
            return false;
        }

        foreach (var memory in segment)
        {
            _buffer.Write(memory.Span);
        }

        return true;
    }

    /// <summary>Forgets the joined text (after the final PDU has been processed).</summary>
    public void Reset() => _buffer.ResetWrittenCount();
}
