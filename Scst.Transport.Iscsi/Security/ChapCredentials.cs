// Licensed under the Apache License, Version 2.0.

using System.Collections.ObjectModel;

namespace Scst.Transport.Iscsi.Security;

/// <summary>
/// The CHAP credentials of one iSCSI target, or of discovery sessions: SCST's <c>IncomingUser</c> (any number) and
/// <c>OutgoingUser</c> (at most one) attributes. When at least one IncomingUser is set, logins must authenticate with
/// CHAP as one of them and AuthMethod=None is refused; the OutgoingUser answers an initiator that asks the target to
/// authenticate too (mutual CHAP).
/// </summary>
/// <remarks>
/// Thread-safe: changes swap an immutable snapshot under a lock, and each login reads the snapshot once when it starts
/// authenticating, so a change applies to the next login and never to a login half-way through. The rules that need the
/// whole picture (secrets of at least 12 bytes, never the same secret both ways) are checked by the options validator at
/// start, and again by each login, which refuses credentials that break them.
/// </remarks>
public sealed class ChapCredentials
{
    private readonly Lock _lock = new();
    private volatile Snapshot _current = Snapshot.Empty;

    /// <summary>The users an initiator may authenticate as, in the order they were first set.</summary>
    public IReadOnlyList<ChapUser> IncomingUsers => _current.Incoming;

    /// <summary>The name and secret the target answers with in mutual CHAP, or null.</summary>
    public ChapUser? OutgoingUser => _current.Outgoing;

    /// <summary>Whether logins must authenticate with CHAP: true when at least one IncomingUser is set.</summary>
    public bool AuthenticationRequired => _current.Incoming.Count > 0;

    /// <summary>The current credentials, as one immutable snapshot.</summary>
    internal Snapshot Current => _current;

    /// <summary>Adds an IncomingUser, or replaces the secret of the one with that name.</summary>
    /// <param name="name">The CHAP name the initiator sends (<c>CHAP_N</c>).</param>
    /// <param name="secret">Its secret.</param>
    /// <exception cref="ArgumentException">The name or the secret is empty, or the name holds a NUL character.</exception>
    public void SetIncomingUser(string name, string secret)
    {
        var user = new ChapUser(name, secret);
        lock (_lock)
        {
            List<ChapUser> users = [.. _current.Incoming];
            int index = users.FindIndex(u => string.Equals(u.Name, name, StringComparison.Ordinal));
            if (index >= 0)
            {
                users[index] = user;
            }
            else
            {
                users.Add(user);
            }

            _current = _current with { Incoming = users.AsReadOnly() };
        }
    }

    /// <summary>Removes the IncomingUser with this name.</summary>
    /// <param name="name">The CHAP name.</param>
    /// <returns>Whether there was one.</returns>
    public bool RemoveIncomingUser(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (_lock)
        {
            List<ChapUser> users = [.. _current.Incoming];
            if (users.RemoveAll(u => string.Equals(u.Name, name, StringComparison.Ordinal)) == 0)
            {
                return false;
            }

            _current = _current with { Incoming = users.AsReadOnly() };
            return true;
        }
    }

    /// <summary>Removes every IncomingUser: logins no longer have to authenticate.</summary>
    public void ClearIncomingUsers()
    {
        lock (_lock)
        {
            _current = _current with { Incoming = Snapshot.Empty.Incoming };
        }
    }

    /// <summary>Sets the OutgoingUser, replacing any.</summary>
    /// <param name="name">The CHAP name the target answers with.</param>
    /// <param name="secret">Its secret; must differ from every IncomingUser's secret.</param>
    /// <exception cref="ArgumentException">The name or the secret is empty, or the name holds a NUL character.</exception>
    public void SetOutgoingUser(string name, string secret)
    {
        var user = new ChapUser(name, secret);
        lock (_lock)
        {
            _current = _current with { Outgoing = user };
        }
    }

    /// <summary>Removes the OutgoingUser: initiators asking for mutual CHAP are refused.</summary>
    public void ClearOutgoingUser()
    {
        lock (_lock)
        {
            _current = _current with { Outgoing = null };
        }
    }

    /// <summary>
    /// What is wrong with these credentials, one sentence per problem, each starting with <paramref name="owner"/>
    /// (e.g. <c>iSCSI target 'iqn...'</c>); empty when nothing is. Names users, never secrets.
    /// </summary>
    internal static IEnumerable<string> Problems(Snapshot credentials, string owner)
    {
        foreach (ChapUser user in credentials.Incoming)
        {
            if (!ChapSecret.IsLongEnough(user.Secret))
            {
                yield return $"{owner}: the secret of IncomingUser '{user.Name}' is shorter than {ChapSecret.MinimumLengthBytes} bytes.";
            }
        }

        if (credentials.Outgoing is { } outgoing)
        {
            if (!ChapSecret.IsLongEnough(outgoing.Secret))
            {
                yield return $"{owner}: the secret of OutgoingUser '{outgoing.Name}' is shorter than {ChapSecret.MinimumLengthBytes} bytes.";
            }

            if (credentials.Incoming.Count == 0)
            {
                yield return $"{owner}: OutgoingUser '{outgoing.Name}' is set without an IncomingUser; mutual CHAP needs the initiator to authenticate first.";
            }

            foreach (ChapUser user in credentials.Incoming)
            {
                if (string.Equals(user.Secret, outgoing.Secret, StringComparison.Ordinal))
                {
                    yield return $"{owner}: OutgoingUser '{outgoing.Name}' has the same secret as IncomingUser '{user.Name}'; " +
                        "RFC 7143 section 12.1.3 forbids one secret for both directions.";
                }
            }
        }
    }

    /// <summary>One immutable state of the credentials.</summary>
    /// <param name="Incoming">The IncomingUsers.</param>
    /// <param name="Outgoing">The OutgoingUser, or null.</param>
    internal sealed record Snapshot(ReadOnlyCollection<ChapUser> Incoming, ChapUser? Outgoing)
    {
        public static Snapshot Empty { get; } = new(new ReadOnlyCollection<ChapUser>([]), null);

        /// <summary>The IncomingUser with this name, or null.</summary>
        public ChapUser? FindIncoming(string name)
        {
            foreach (ChapUser user in Incoming)
            {
                if (string.Equals(user.Name, name, StringComparison.Ordinal))
                {
                    return user;
                }
            }

            return null;
        }
    }
}
