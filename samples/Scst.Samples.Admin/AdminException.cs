// Licensed under the Apache License, Version 2.0.

namespace Scst.Samples.Admin;

/// <summary>
/// A failure that ends the command: its message goes to stderr as <c>scst-admin: MESSAGE</c> and the process exits
/// with <see cref="ExitCode"/>.
/// </summary>
internal sealed class AdminException : Exception
{
    public AdminException()
    {
    }

    public AdminException(string message)
        : this(ExitCodes.Refused, message)
    {
    }

    public AdminException(string message, Exception innerException)
        : base(message, innerException)
    {
        ExitCode = ExitCodes.Refused;
    }

    public AdminException(int exitCode, string message)
        : base(message) => ExitCode = exitCode;

    /// <summary>One of <see cref="ExitCodes"/>.</summary>
    public int ExitCode { get; } = ExitCodes.Refused;
}
