// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;

namespace Scst.Transport.Iscsi.Security;

/// <summary>
/// CHAP authentication of the iSCSI driver (RFC 7143 section 12.1.3): the credentials of discovery sessions and of each
/// target, and the digest algorithms offered. With no IncomingUser anywhere (the default) no login authenticates.
/// </summary>
/// <example>
/// <code>
/// .AddIscsiTarget(o =>
/// {
///     o.Chap.ForTarget("iqn.2026-11.org.example:disk1").SetIncomingUser("host1", "host1-secret-of-16");
///     o.Chap.ForTarget("iqn.2026-11.org.example:disk1").SetOutgoingUser("disk1", "target-secret-of-16");
///     o.Chap.Discovery.SetIncomingUser("host1", "discovery-secret");
/// })
/// </code>
/// </example>
public sealed class ChapOptions
{
    private readonly ConcurrentDictionary<string, ChapCredentials> _targets = new(StringComparer.Ordinal);

    /// <summary>
    /// Credentials of discovery sessions (SessionType=Discovery), which SCST keeps on the iSCSI target driver. Defaults
    /// to none: discovery needs no authentication.
    /// </summary>
    public ChapCredentials Discovery { get; } = new();

    /// <summary>The targets that have credentials, by target name (compared ordinally, as the core compares target names).</summary>
    public IReadOnlyDictionary<string, ChapCredentials> Targets => _targets;

    /// <summary>
    /// The algorithms the target accepts in <c>CHAP_A</c>; it selects the first of the initiator's list that is here and
    /// that the platform provides (SHA3-256 needs <c>SHA3_256.IsSupported</c>). Read at each login; set it before the
    /// driver starts. Defaults to all four: MD5, SHA-1, SHA-256 and SHA3-256. MD5 is the only one most initiators offer.
    /// </summary>
    public IList<ChapAlgorithm> Algorithms { get; } = [ChapAlgorithm.Md5, ChapAlgorithm.Sha1, ChapAlgorithm.Sha256, ChapAlgorithm.Sha3_256];

    /// <summary>The credentials of the target with this name, created empty if it has none yet.</summary>
    /// <param name="targetName">The target's iSCSI name.</param>
    /// <returns>The target's credentials; changes apply to its next login.</returns>
    public ChapCredentials ForTarget(string targetName)
    {
        ArgumentException.ThrowIfNullOrEmpty(targetName);
        return _targets.GetOrAdd(targetName, static _ => new ChapCredentials());
    }

    /// <summary>Forgets the credentials of a target (its logins no longer authenticate).</summary>
    /// <param name="targetName">The target's iSCSI name.</param>
    /// <returns>Whether it had any.</returns>
    public bool RemoveTarget(string targetName)
    {
        ArgumentNullException.ThrowIfNull(targetName);
        return _targets.TryRemove(targetName, out _);
    }

    /// <summary>The credentials a login of this kind must satisfy, or null when none are configured.</summary>
    internal ChapCredentials? Find(bool discovery, string? targetName) =>
        discovery ? Discovery : targetName is not null && _targets.TryGetValue(targetName, out ChapCredentials? credentials) ? credentials : null;
}
