// Licensed under the Apache License, Version 2.0.

using System.Collections;
using System.Globalization;

namespace Scst.Transport.Iscsi.Diagnostics;

/// <summary>
/// The logging scope of one iSCSI connection, begun once when the connection starts: every message logged while the
/// connection runs carries who it is. The values are read when a message is written, so the scope shows the initiator,
/// target, ISID, TSIH and CID from the moment the login has bound the session, without a second scope per PDU.
/// </summary>
/// <remarks>
/// The keys (<c>ConnectionId</c>, <c>Remote</c>, <c>Portal</c>, <c>Initiator</c>, <c>Target</c>, <c>Isid</c>,
/// <c>Tsih</c>, <c>Cid</c>) are documented in docs/log-events.md. Before the login names them, <c>Initiator</c> and
/// <c>Target</c> are null and <c>Isid</c>, <c>Tsih</c> and <c>Cid</c> are absent.
/// </remarks>
internal sealed class ConnectionLogScope(long connectionId, IConnectionIdentity connection) : IReadOnlyList<KeyValuePair<string, object?>>
{
    private const int BaseCount = 5;
    private const int SessionCount = 8;

    public int Count => connection.Session is null ? BaseCount : SessionCount;

    public KeyValuePair<string, object?> this[int index] => Entry(index, connection.Session);

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        // One look at the session for the whole enumeration, so that its count and its entries agree.
        SessionIdentity? session = connection.Session;
        int count = session is null ? BaseCount : SessionCount;
        for (int i = 0; i < count; i++)
        {
            yield return Entry(i, session);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private KeyValuePair<string, object?> Entry(int index, SessionIdentity? session) => index switch
    {
        0 => new("ConnectionId", connectionId),
        1 => new("Remote", connection.Remote?.ToString()),
        2 => new("Portal", connection.Portal?.ToString()),
        3 => new("Initiator", session?.Initiator ?? connection.LoginInitiator),
        4 => new("Target", session is null ? null : session.Value.Target ?? "(discovery)"),
        5 => new("Isid", session?.Isid.ToString("x12", CultureInfo.InvariantCulture)),
        6 => new("Tsih", session?.Tsih),
        7 => new("Cid", session?.Cid),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    /// <summary>What a text formatter shows: <c>iSCSI connection 7 from 127.0.0.1:51234, iqn.a to iqn.b, ISID 23d000000001 TSIH 3 CID 0</c>.</summary>
    public override string ToString()
    {
        SessionIdentity? session = connection.Session;
        var text = new System.Text.StringBuilder(128);
        text.Append(CultureInfo.InvariantCulture, $"iSCSI connection {connectionId} from {connection.Remote}");
        if (session is { } s)
        {
            text.Append(CultureInfo.InvariantCulture, $", {s.Initiator} to {s.Target ?? "(discovery)"}, ISID {s.Isid:x12} TSIH {s.Tsih} CID {s.Cid}");
        }
        else if (connection.LoginInitiator is { } initiator)
        {
            text.Append(CultureInfo.InvariantCulture, $", {initiator} logging in");
        }

        return text.ToString();
    }
}

/// <summary>The session a connection belongs to, as its logging scope shows it.</summary>
internal readonly record struct SessionIdentity(string Initiator, string? Target, ulong Isid, ushort Tsih, ushort Cid);

/// <summary>What a connection's logging scope reads, when a message is written.</summary>
internal interface IConnectionIdentity
{
    System.Net.EndPoint? Remote { get; }

    System.Net.EndPoint? Portal { get; }

    /// <summary>The InitiatorName of a login under way, or null.</summary>
    string? LoginInitiator { get; }

    /// <summary>The bound session, or null before the login completed.</summary>
    SessionIdentity? Session { get; }
}
