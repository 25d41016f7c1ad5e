// Licensed under the Apache License, Version 2.0.

namespace Scst.Events;

/// <summary>
/// The payload of <see cref="ScstEventCode.SessionAdded"/> and <see cref="ScstEventCode.SessionRemoved"/>: an
/// initiator's session (I_T nexus) with a target began or ended.
/// </summary>
/// <remarks>
/// Layout (little-endian, 800 bytes, no padding):
/// <code>
/// offset size  field
///      0   32  char target_driver[32]     NUL-terminated, at most 31 bytes of text (e.g. "iscsi")
///     32  256  char target_name[256]      NUL-terminated, at most 255 bytes of text
///    288  256  char initiator_name[256]   NUL-terminated, at most 255 bytes of text
///    544  256  char session_name[256]     the session's name in the management tree
///    800       (end)
/// </code>
/// </remarks>
/// <param name="TargetDriver">The target driver's name (for example <c>"iscsi"</c>).</param>
/// <param name="TargetName">The target's name.</param>
/// <param name="InitiatorName">The initiator's name (for iSCSI, its IQN).</param>
/// <param name="SessionName">The session's name in the management tree.</param>
public readonly record struct SessionEvent(string TargetDriver, string TargetName, string InitiatorName, string SessionName)
{
    /// <summary>The payload size in bytes (800).</summary>
    public const int PayloadSize = 800;

    internal const int TargetDriverOffset = 0;
    internal const int TargetDriverSize = 32;
    internal const int TargetNameOffset = 32;
    internal const int InitiatorNameOffset = 288;
    internal const int SessionNameOffset = 544;
    internal const int NameSize = 256;

    /// <summary>
    /// Writes the payload into the first <see cref="PayloadSize"/> bytes of <paramref name="destination"/>; names that
    /// do not fit are truncated.
    /// </summary>
    /// <param name="destination">At least <see cref="PayloadSize"/> bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small.</exception>
    public void WriteTo(Span<byte> destination)
    {
        PayloadGuard.EnsureDestination(destination, PayloadSize);
        FixedString.Write(destination.Slice(TargetDriverOffset, TargetDriverSize), TargetDriver);
        FixedString.Write(destination.Slice(TargetNameOffset, NameSize), TargetName);
        FixedString.Write(destination.Slice(InitiatorNameOffset, NameSize), InitiatorName);
        FixedString.Write(destination.Slice(SessionNameOffset, NameSize), SessionName);
    }

    /// <summary>Returns the payload as a new array of <see cref="PayloadSize"/> bytes.</summary>
    /// <returns>The payload bytes.</returns>
    public byte[] ToPayload()
    {
        var payload = new byte[PayloadSize];
        WriteTo(payload);
        return payload;
    }

    /// <summary>Parses a payload written by <see cref="WriteTo"/>.</summary>
    /// <param name="payload">The payload; bytes after the first <see cref="PayloadSize"/> are ignored.</param>
    /// <param name="value">The parsed event, or <see langword="default"/> when the payload is too short.</param>
    /// <returns><see langword="true"/> when the payload has at least <see cref="PayloadSize"/> bytes.</returns>
    public static bool TryParse(ReadOnlySpan<byte> payload, out SessionEvent value)
    {
        if (payload.Length < PayloadSize)
        {
            value = default;
            return false;
        }

        value = new SessionEvent(
            FixedString.Read(payload.Slice(TargetDriverOffset, TargetDriverSize)),
            FixedString.Read(payload.Slice(TargetNameOffset, NameSize)),
            FixedString.Read(payload.Slice(InitiatorNameOffset, NameSize)),
            FixedString.Read(payload.Slice(SessionNameOffset, NameSize)));
        return true;
    }

    /// <summary>Parses a payload written by <see cref="WriteTo"/>.</summary>
    /// <param name="payload">The payload; bytes after the first <see cref="PayloadSize"/> are ignored.</param>
    /// <returns>The parsed event.</returns>
    /// <exception cref="FormatException">The payload is shorter than <see cref="PayloadSize"/>.</exception>
    public static SessionEvent Parse(ReadOnlySpan<byte> payload)
    {
        if (!TryParse(payload, out var value))
        {
            PayloadGuard.ThrowTooShort(nameof(SessionEvent), PayloadSize, payload.Length);
        }

        return value;
    }
}
