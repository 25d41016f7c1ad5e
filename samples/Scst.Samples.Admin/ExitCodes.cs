// Licensed under the Apache License, Version 2.0.

namespace Scst.Samples.Admin;

/// <summary>The process exit codes of scst-admin (also in the --help text and README.md).</summary>
internal static class ExitCodes
{
    /// <summary>The command did what it was asked.</summary>
    public const int Success = 0;

    /// <summary>The target refused the request; its message (and errno) was printed.</summary>
    public const int Refused = 1;

    /// <summary>The command line is wrong: an unknown command, a missing or malformed argument or option.</summary>
    public const int BadUsage = 2;

    /// <summary>The management endpoint cannot be reached, or it closed the connection.</summary>
    public const int Unreachable = 3;

    /// <summary>A configuration file cannot be read (or, for <c>config write</c>, written).</summary>
    public const int ConfigFile = 4;

    /// <summary>The exit codes as the --help text and the README give them.</summary>
    public const string Help = """
        Exit codes:
          0  success
          1  the target refused the request (its message is printed)
          2  bad usage (an unknown command, a missing or malformed argument or option)
          3  the management endpoint cannot be reached
          4  a configuration file cannot be read (or, for config write, written)
        """;
}
