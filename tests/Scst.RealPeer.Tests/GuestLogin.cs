// Licensed under the Apache License, Version 2.0.

namespace Scst.RealPeer.Tests;

/// <summary>
/// How the guest's initiator logs in, and what the sample target is started with to match: authentication (none, or
/// mutual CHAP, which the target also demands of discovery sessions) and digests (None, or CRC32C on headers and
/// data, which both sides then insist on).
/// </summary>
/// <param name="MutualChap">CHAP both ways: the initiator proves itself as <see cref="InitiatorUser"/>, the target as <see cref="TargetUser"/>.</param>
/// <param name="Crc32CDigests">HeaderDigest=CRC32C and DataDigest=CRC32C, required by both sides.</param>
internal sealed record GuestLogin(bool MutualChap, bool Crc32CDigests)
{
    /// <summary>AuthMethod None, digests None.</summary>
    public static readonly GuestLogin Plain = new(MutualChap: false, Crc32CDigests: false);

    /// <summary>Mutual CHAP and CRC32C header and data digests.</summary>
    public static readonly GuestLogin MutualChapWithDigests = new(MutualChap: true, Crc32CDigests: true);

    public const string InitiatorUser = "linux-initiator";
    public const string TargetUser = "scst-target";

    // At least 12 bytes each (the target refuses shorter ones), and different from each other (mutual CHAP).
    private const string InitiatorSecret = "initiator-secret-17";
    private const string TargetSecret = "target-secret-42";

    /// <summary>The digest the guest asks for, as open-iscsi spells it.</summary>
    public string Digest => Crc32CDigests ? "CRC32C" : "None";

    /// <summary>What the guest's sysfs shows in header_digest and data_digest after the login (0 or 1).</summary>
    public int NegotiatedDigest => Crc32CDigests ? 1 : 0;

    /// <summary>The sample target's options that demand this login.</summary>
    public IEnumerable<string> TargetArguments()
    {
        if (MutualChap)
        {
            yield return "--chap-user";
            yield return InitiatorUser;
            yield return "--chap-secret";
            yield return InitiatorSecret;
            yield return "--chap-target-user";
            yield return TargetUser;
            yield return "--chap-target-secret";
            yield return TargetSecret;
        }

        if (Crc32CDigests)
        {
            yield return "--header-digest";
            yield return "CRC32C";
            yield return "--data-digest";
            yield return "CRC32C";
        }
    }

    /// <summary>The guest script's settings for this login (shell assignments for params.sh).</summary>
    public IEnumerable<string> GuestParameters()
    {
        yield return $"DIGEST={Digest}";
        yield return $"CHAP_USER={(MutualChap ? InitiatorUser : string.Empty)}";
        yield return $"CHAP_SECRET={(MutualChap ? InitiatorSecret : string.Empty)}";
        yield return $"CHAP_TARGET_USER={(MutualChap ? TargetUser : string.Empty)}";
        yield return $"CHAP_TARGET_SECRET={(MutualChap ? TargetSecret : string.Empty)}";
    }

    public override string ToString() => $"{(MutualChap ? "mutual CHAP" : "AuthMethod None")}, digests {Digest}";
}
