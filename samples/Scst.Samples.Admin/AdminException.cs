// Licensed under the Apache License, Version 2.0.

namespace Scst.Samples.Admin;

/// <summary>
/// A failure that ends the command: its message goes to stderr as <c>scst-admin: MESSAGE</c> and the process exits
/// with <see cref="ExitCode"/>.
/// </summary>
internal sealed class AdminException(int exitCode, string message) : Exception(message)
{
    /// <summary>The target refused a request: exit 1.</summary>
    public AdminException(string message)
        : this(ExitCodes.Refused, message)
    {
    }

    /// <summary>One of <see cref="ExitCodes"/>.</summary>
    public int ExitCode { get; } = exitCode;
}
