// Licensed under the Apache License, Version 2.0.

namespace Scst.Events;

/// <summary>
/// One event: an immutable notification that something happened in the target (SCST's <c>struct scst_event</c>).
/// </summary>
/// <remarks>
/// <para>
/// Events are not log records: they are product signals that other components (a management plane, an ALUA daemon, a
/// provisioning agent) react to. The same instance is handed to every matching subscriber, so neither the publisher nor
/// any subscriber may modify the memory behind <see cref="Payload"/> after the event has been published.
/// </para>
/// <para>
/// SCST carries the issuer name in a <c>char[50]</c> field; keep <see cref="IssuerName"/> to at most 49 bytes of UTF-8
/// so that the event stays representable outside the process.
/// </para>
/// </remarks>
public sealed class ScstEvent
{
    /// <summary>Creates an event.</summary>
    /// <param name="code">The event code: one of <see cref="ScstEventCode"/>'s SCST codes, or a custom code from
    /// <see cref="ScstEventCode.FirstCustomCode"/> up.</param>
    /// <param name="issuerName">Who raised the event; <see cref="ScstEvents.CoreIssuerName"/> for core events.</param>
    /// <param name="payload">The code-specific payload; the event keeps a reference to it, it is not copied.
    /// Defaults to an empty payload.</param>
    /// <param name="id">The completion id, or 0 (the default) when the issuer expects no completion.</param>
    /// <exception cref="ArgumentNullException"><paramref name="issuerName"/> is <see langword="null"/>.</exception>
    public ScstEvent(int code, string issuerName, ReadOnlyMemory<byte> payload = default, uint id = 0)
    {
        ArgumentNullException.ThrowIfNull(issuerName);
        Code = code;
        IssuerName = issuerName;
        Payload = payload;
        Id = id;
    }

    /// <summary>Gets the event code (see <see cref="ScstEventCode"/>).</summary>
    public int Code { get; }

    /// <summary>
    /// Gets the completion id: non-zero when the issuer waits for a subscriber to report that it handled the event
    /// (SCST's STPG case), 0 when no completion is expected.
    /// </summary>
    public uint Id { get; }

    /// <summary>Gets the name of the component that raised the event (<c>"SCST core"</c> for core events).</summary>
    public string IssuerName { get; }

    /// <summary>
    /// Gets the code-specific payload, laid out as SCST lays it out for the SCST codes (see the <c>*Event</c> structs
    /// such as <see cref="LunNotFoundEvent"/> for the layouts and parsers). Must not be modified.
    /// </summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>Gets a value indicating whether the issuer expects a completion (<see cref="Id"/> is not 0).</summary>
    public bool ExpectsCompletion => Id != 0;

    /// <inheritdoc />
    public override string ToString()
    {
        var name = ScstEventCode.GetName(Code) ?? "Custom";
        return $"{name} ({Code}) from '{IssuerName}', id {Id}, {Payload.Length} payload bytes";
    }
}
