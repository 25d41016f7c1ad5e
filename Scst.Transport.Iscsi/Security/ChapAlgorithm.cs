// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Security;

/// <summary>
/// The CHAP digest algorithms a target may select from the initiator's <c>CHAP_A</c> list (RFC 7143 section 12.1.3),
/// numbered as IANA's PPP authentication algorithms registry numbers them; the value is what travels in <c>CHAP_A</c>.
/// </summary>
public enum ChapAlgorithm
{
    /// <summary>5: MD5 (RFC 1994), the one every initiator offers; a 16-byte response.</summary>
    Md5 = 5,

    /// <summary>6: SHA-1, a 20-byte response.</summary>
    Sha1 = 6,

    /// <summary>7: SHA-256, a 32-byte response.</summary>
    Sha256 = 7,

    /// <summary>8: SHA3-256, a 32-byte response; only where the platform's cryptography provides it (SHA3_256.IsSupported).</summary>
    Sha3_256 = 8,
}
