// Licensed under the Apache License, Version 2.0.

namespace Scst.Events;

/// <summary>
/// Selects events for a subscription, as SCST's <c>SCST_EVENT_ALLOW_EVENT</c> filters do: by code, by issuer and by
/// payload. Immutable.
/// </summary>
/// <remarks>
/// An event matches when all three hold: the filter's code is <see cref="AnyCode"/> or equals the event's code; the
/// filter's issuer is <see cref="AnyIssuer"/> or equals the event's issuer (ordinal, case-sensitive, like
/// <c>strcmp</c>); the event's payload starts with <see cref="PayloadPrefix"/> (an empty prefix matches any payload).
/// SCST compares the whole payload; a prefix is more useful here (for example, match
/// <see cref="ScstEventCode.LunNotFound"/> for one LUN by giving the 8 little-endian LUN bytes) and still expresses an
/// exact match when the prefix is the whole payload of a fixed-size event.
/// </remarks>
public sealed class ScstEventFilter : IEquatable<ScstEventFilter>
{
    /// <summary>The code that matches every event code (0).</summary>
    public const int AnyCode = 0;

    /// <summary>The issuer name that matches every issuer (<c>"*"</c>).</summary>
    public const string AnyIssuer = "*";

    private readonly byte[] _payloadPrefix;

    /// <summary>Creates a filter.</summary>
    /// <param name="code">The event code to match, or <see cref="AnyCode"/> (the default) for every code.</param>
    /// <param name="issuerName">The issuer to match, or <see cref="AnyIssuer"/> (the default) for every issuer.</param>
    /// <param name="payloadPrefix">The bytes the payload must start with; copied. Defaults to empty (any payload).</param>
    /// <exception cref="ArgumentNullException"><paramref name="issuerName"/> is <see langword="null"/>.</exception>
    public ScstEventFilter(int code = AnyCode, string issuerName = AnyIssuer, ReadOnlyMemory<byte> payloadPrefix = default)
    {
        ArgumentNullException.ThrowIfNull(issuerName);
        Code = code;
        IssuerName = issuerName;
        _payloadPrefix = payloadPrefix.IsEmpty ? [] : payloadPrefix.ToArray();
    }

    /// <summary>Gets a filter that matches every event.</summary>
    public static ScstEventFilter All { get; } = new();

    /// <summary>Gets the code to match, or <see cref="AnyCode"/>.</summary>
    public int Code { get; }

    /// <summary>Gets the issuer to match, or <see cref="AnyIssuer"/>.</summary>
    public string IssuerName { get; }

    /// <summary>Gets the bytes an event's payload must start with; empty matches any payload.</summary>
    public ReadOnlyMemory<byte> PayloadPrefix => _payloadPrefix;

    /// <summary>Tells whether <paramref name="scstEvent"/> passes this filter.</summary>
    /// <param name="scstEvent">The event.</param>
    /// <returns><see langword="true"/> when the event matches.</returns>
    public bool Matches(ScstEvent scstEvent)
    {
        ArgumentNullException.ThrowIfNull(scstEvent);
        return (Code == AnyCode || Code == scstEvent.Code)
            && (IsAnyIssuer || string.Equals(IssuerName, scstEvent.IssuerName, StringComparison.Ordinal))
            && scstEvent.Payload.Span.StartsWith(_payloadPrefix);
    }

    /// <summary>
    /// Tells whether this filter, used as a removal pattern, covers <paramref name="other"/>: the same rules as
    /// <see cref="Matches"/> applied to the other filter's code, issuer and prefix (SCST's DISALLOW semantics).
    /// </summary>
    internal bool Covers(ScstEventFilter other) =>
        (Code == AnyCode || Code == other.Code)
        && (IsAnyIssuer || string.Equals(IssuerName, other.IssuerName, StringComparison.Ordinal))
        && other._payloadPrefix.AsSpan().StartsWith(_payloadPrefix);

    private bool IsAnyIssuer => string.Equals(IssuerName, AnyIssuer, StringComparison.Ordinal);

    /// <inheritdoc />
    public bool Equals(ScstEventFilter? other) =>
        other is not null
        && Code == other.Code
        && string.Equals(IssuerName, other.IssuerName, StringComparison.Ordinal)
        && _payloadPrefix.AsSpan().SequenceEqual(other._payloadPrefix);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as ScstEventFilter);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Code);
        hash.Add(IssuerName, StringComparer.Ordinal);
        hash.AddBytes(_payloadPrefix);
        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"code {(Code == AnyCode ? "*" : Code.ToString(System.Globalization.CultureInfo.InvariantCulture))}, issuer '{IssuerName}', {_payloadPrefix.Length}-byte payload prefix";
}
