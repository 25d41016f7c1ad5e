// Licensed under the Apache License, Version 2.0.

namespace Scst.Events;

/// <summary>
/// The payload of <see cref="ScstEventCode.NegativeLunsInquiry"/>: an initiator has no LUN at all in a target.
/// </summary>
/// <remarks>
/// Layout (SCST's x86_64 ABI, 512 bytes):
/// <code>
/// offset size  field
///      0  256  char initiator_name[256]   NUL-terminated, at most 255 bytes of text
///    256  256  char target_name[256]      NUL-terminated, at most 255 bytes of text
///    512       (end)
/// </code>
/// </remarks>
/// <param name="InitiatorName">The initiator's name (for iSCSI, its IQN).</param>
/// <param name="TargetName">The target's name.</param>
public readonly record struct NegativeLunsInquiryEvent(string InitiatorName, string TargetName)
{
    /// <summary>The payload size in bytes (512).</summary>
    public const int PayloadSize = 512;

    internal const int InitiatorNameOffset = 0;
    internal const int TargetNameOffset = 256;
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
        FixedString.Write(destination.Slice(InitiatorNameOffset, NameSize), InitiatorName);
        FixedString.Write(destination.Slice(TargetNameOffset, NameSize), TargetName);
    }

    /// <summary>Returns the payload as a new array of <see cref="PayloadSize"/> bytes.</summary>
    /// <returns>The payload bytes.</returns>
    public byte[] ToPayload()
    {
        var payload = new byte[PayloadSize];
        WriteTo(payload);
        return payload;
    }

    /// <summary>Parses a payload written by <see cref="WriteTo"/> or by SCST.</summary>
    /// <param name="payload">The payload; bytes after the first <see cref="PayloadSize"/> are ignored.</param>
    /// <param name="value">The parsed event, or <see langword="default"/> when the payload is too short.</param>
    /// <returns><see langword="true"/> when the payload has at least <see cref="PayloadSize"/> bytes.</returns>
    public static bool TryParse(ReadOnlySpan<byte> payload, out NegativeLunsInquiryEvent value)
    {
        if (payload.Length < PayloadSize)
        {
            value = default;
            return false;
        }

        value = new NegativeLunsInquiryEvent(
            FixedString.Read(payload.Slice(InitiatorNameOffset, NameSize)),
            FixedString.Read(payload.Slice(TargetNameOffset, NameSize)));
        return true;
    }

    /// <summary>Parses a payload written by <see cref="WriteTo"/> or by SCST.</summary>
    /// <param name="payload">The payload; bytes after the first <see cref="PayloadSize"/> are ignored.</param>
    /// <returns>The parsed event.</returns>
    /// <exception cref="FormatException">The payload is shorter than <see cref="PayloadSize"/>.</exception>
    public static NegativeLunsInquiryEvent Parse(ReadOnlySpan<byte> payload)
    {
        if (!TryParse(payload, out var value))
        {
            PayloadGuard.ThrowTooShort(nameof(NegativeLunsInquiryEvent), PayloadSize, payload.Length);
        }

        return value;
    }
}
