// Licensed under the Apache License, Version 2.0.

using System.Security.Cryptography;
using System.Text;

namespace Scst.Transport.Iscsi.Security;

/// <summary>
/// The CHAP computation (RFC 1994 section 4.1): the response is the digest of the identifier byte, the secret and the
/// challenge, in that order. Also the algorithms' sizes and which of them this platform provides.
/// </summary>
internal static class ChapSecret
{
    /// <summary>
    /// The shortest secret accepted, in bytes: RFC 7143 section 12.1.3 wants CHAP secrets of at least 96 bits, as
    /// shorter ones fall to an offline search of a captured exchange.
    /// </summary>
    public const int MinimumLengthBytes = 12;

    /// <summary>Largest digest of the supported algorithms (SHA-256, SHA3-256).</summary>
    public const int MaxDigestLengthBytes = 32;

    /// <summary>Whether the secret is at least <see cref="MinimumLengthBytes"/> bytes of UTF-8.</summary>
    public static bool IsLongEnough(string secret) => Encoding.UTF8.GetByteCount(secret) >= MinimumLengthBytes;

    /// <summary>Whether this process can compute <paramref name="algorithm"/>.</summary>
    public static bool IsSupported(ChapAlgorithm algorithm) => algorithm switch
    {
        ChapAlgorithm.Md5 or ChapAlgorithm.Sha1 or ChapAlgorithm.Sha256 => true,
        ChapAlgorithm.Sha3_256 => SHA3_256.IsSupported,
        _ => false,
    };

    /// <summary>The digest's length in bytes, which is the length of a response.</summary>
    public static int DigestLength(ChapAlgorithm algorithm) => algorithm switch
    {
        ChapAlgorithm.Md5 => MD5.HashSizeInBytes,
        ChapAlgorithm.Sha1 => SHA1.HashSizeInBytes,
        ChapAlgorithm.Sha256 => SHA256.HashSizeInBytes,
        ChapAlgorithm.Sha3_256 => SHA3_256.HashSizeInBytes,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    /// <summary>
    /// Writes the response to (<paramref name="identifier"/>, <paramref name="challenge"/>) for <paramref name="secret"/>
    /// into <paramref name="response"/>, which must be <see cref="DigestLength"/> long. The bytes that held the secret are
    /// cleared before returning.
    /// </summary>
    public static void ComputeResponse(ChapAlgorithm algorithm, byte identifier, string secret, ReadOnlySpan<byte> challenge, Span<byte> response)
    {
        int length = 1 + Encoding.UTF8.GetByteCount(secret) + challenge.Length;
        byte[] input = new byte[length];
        try
        {
            input[0] = identifier;
            int written = Encoding.UTF8.GetBytes(secret, input.AsSpan(1));
            challenge.CopyTo(input.AsSpan(1 + written));

            // MD5 and SHA-1 are what CHAP_A 5 and 6 mean (RFC 1994, RFC 7143), and ChapOptions.Algorithms decides whether
            // they are accepted. CHAP leans on the digest's preimage resistance, which the known collisions do not break.
#pragma warning disable CA5351, CA5350
            int hashed = algorithm switch
            {
                ChapAlgorithm.Md5 => MD5.HashData(input, response),
                ChapAlgorithm.Sha1 => SHA1.HashData(input, response),
                ChapAlgorithm.Sha256 => SHA256.HashData(input, response),
                ChapAlgorithm.Sha3_256 => SHA3_256.HashData(input, response),
                _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
            };
#pragma warning restore CA5351, CA5350
            if (hashed != response.Length)
            {
                throw new ArgumentException("The response buffer is not the digest's length.", nameof(response));
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(input);
        }
    }
}
