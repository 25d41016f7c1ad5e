// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Iscsi.Security;

/// <summary>
/// One CHAP name and secret: an <c>IncomingUser</c> (an initiator proves it knows the secret) or the
/// <c>OutgoingUser</c> (the target proves it, in mutual CHAP). Immutable.
/// </summary>
/// <remarks>
/// The secret is used as the UTF-8 bytes of <see cref="Secret"/>. <see cref="ToString"/> gives the name only, so that
/// formatting a user into a log message or an exception never discloses the secret.
/// </remarks>
public sealed class ChapUser
{
    /// <summary>Creates a user.</summary>
    /// <param name="name">The CHAP name (<c>CHAP_N</c>): not empty, no NUL character.</param>
    /// <param name="secret">The secret: not empty. The options validator refuses secrets shorter than 12 bytes.</param>
    /// <exception cref="ArgumentException">The name or the secret is empty, or the name holds a NUL character.</exception>
    public ChapUser(string name, string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(secret);
        if (name.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("A CHAP name cannot hold a NUL character.", nameof(name));
        }

        Name = name;
        Secret = secret;
    }

    /// <summary>The CHAP name.</summary>
    public string Name { get; }

    /// <summary>The secret. Never log it.</summary>
    public string Secret { get; }

    /// <summary>The name only: the secret stays out of every formatted string.</summary>
    /// <returns><see cref="Name"/>.</returns>
    public override string ToString() => Name;
}
