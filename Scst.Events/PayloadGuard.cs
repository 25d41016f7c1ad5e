// Licensed under the Apache License, Version 2.0.

using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Scst.Events;

/// <summary>Length checks and throw helpers shared by the payload codecs.</summary>
internal static class PayloadGuard
{
    public static void EnsureDestination(
        Span<byte> destination,
        int required,
        [CallerArgumentExpression(nameof(destination))] string? paramName = null)
    {
        if (destination.Length < required)
        {
            ThrowDestinationTooSmall(required, destination.Length, paramName);
        }
    }

    [DoesNotReturn]
    public static void ThrowDestinationTooSmall(int required, int actual, string? paramName) =>
        throw new ArgumentException($"The destination has {actual} bytes; the payload needs {required}.", paramName);

    [DoesNotReturn]
    public static void ThrowTooShort(string payloadName, int required, int actual) =>
        throw new FormatException($"A {payloadName} payload has at least {required} bytes; got {actual}.");
}
