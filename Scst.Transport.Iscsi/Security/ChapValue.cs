// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Security;

/// <summary>
/// Binary values of the CHAP keys (RFC 7143 section 6.1): a hex-constant, <c>0x</c> or <c>0X</c> and hexadecimal digits
/// in either case, or a base64-constant, <c>0b</c> or <c>0B</c> and RFC 4648 base64 with its padding. We always answer in
/// hex.
/// </summary>
internal static class ChapValue
{
    /// <summary>
    /// Decodes a binary value. An odd number of hex digits reads as if a 0 led them (the value is a number). Fails on an
    /// empty value, a missing or unknown prefix, a character outside the encoding's alphabet (whitespace included), or
    /// a base64 length that is not a multiple of 4.
    /// </summary>
    public static bool TryDecode(string text, out byte[] value)
    {
        value = [];
        if (text.Length < 3 || text[0] != '0')
        {
            return false;
        }

        ReadOnlySpan<char> digits = text.AsSpan(2);
        return text[1] switch
        {
            'x' or 'X' => TryDecodeHex(digits, out value),
            'b' or 'B' => TryDecodeBase64(digits, out value),
            _ => false,
        };
    }

    /// <summary>Encodes as a hex-constant: <c>0x</c> and two lowercase digits per byte.</summary>
    public static string EncodeHex(ReadOnlySpan<byte> value) => "0x" + Convert.ToHexStringLower(value);

    private static bool TryDecodeHex(ReadOnlySpan<char> digits, out byte[] value)
    {
        value = [];
        foreach (char c in digits)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        if (digits.Length % 2 == 0)
        {
            value = Convert.FromHexString(digits);
            return true;
        }

        value = new byte[(digits.Length + 1) / 2];
        value[0] = (byte)HexValue(digits[0]);
        Convert.FromHexString(digits[1..], value.AsSpan(1), out _, out _);
        return true;
    }

    private static bool TryDecodeBase64(ReadOnlySpan<char> digits, out byte[] value)
    {
        value = [];
        if (digits.Length % 4 != 0)
        {
            return false;
        }

        // Convert skips whitespace inside base64; the RFC's alphabet has none, so refuse it first.
        int padding = 0;
        foreach (char c in digits)
        {
            bool alphabet = char.IsAsciiLetterOrDigit(c) || c is '+' or '/';
            if (c == '=')
            {
                padding++;
            }
            else if (!alphabet || padding > 0)
            {
                return false;
            }
        }

        if (padding > 2)
        {
            return false;
        }

        byte[] decoded = new byte[digits.Length / 4 * 3];
        if (!Convert.TryFromBase64Chars(digits, decoded, out int written) || written == 0)
        {
            return false;
        }

        value = decoded.AsSpan(0, written).ToArray();
        return true;
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        _ => c - 'A' + 10,
    };
}
