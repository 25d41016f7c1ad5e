// Licensed under the Apache License, Version 2.0.

namespace Scst.Testing;

/// <summary>Thrown by the helpers of this library when an assertion fails; any test framework reports it as a failure.</summary>
public sealed class TestAssertionException : Exception
{
    public TestAssertionException()
    {
    }

    public TestAssertionException(string message)
        : base(message)
    {
    }

    public TestAssertionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
