// Licensed under the Apache License, Version 2.0.

using System.Globalization;

namespace Scst.Core.Configuration;

/// <summary>
/// A configuration that cannot be read: scst.conf text that breaks the grammar (<see cref="ScstConfigReader"/>), or a
/// Microsoft.Extensions.Configuration section of the wrong shape (<see cref="ScstConfigurationBinder"/>).
/// </summary>
/// <remarks>
/// The message says where, then what: <c>/etc/scst.conf:12:5: LUN is not allowed in HANDLER vdisk_fileio</c>, in the
/// <c>source:line:column:</c> form that compilers use, so that editors and terminals can jump to the place. The source
/// part is left out when there is no source name (<c>12:5: ...</c>). For a configuration section, the source is the
/// configuration path of the faulty key and there is neither line nor column
/// (<c>Scst:TargetDrivers:iscsi:Targets:t1:Luns:abc: not a LUN number</c>).
/// </remarks>
public sealed class ScstConfigException : FormatException
{
    /// <summary>Creates the exception for a place in a configuration.</summary>
    /// <param name="sourceName">The file name or configuration path, or null when the text has no name.</param>
    /// <param name="line">The 1-based line, or 0 when the source has no lines.</param>
    /// <param name="column">The 1-based column (a tab counts as one column), or 0 when the source has no lines.</param>
    /// <param name="reason">What is wrong, without the place.</param>
    public ScstConfigException(string? sourceName, int line, int column, string reason)
        : base(Format(sourceName, line, column, reason))
    {
        ArgumentOutOfRangeException.ThrowIfNegative(line);
        ArgumentOutOfRangeException.ThrowIfNegative(column);
        SourceName = sourceName;
        Line = line;
        Column = column;
        Reason = reason;
    }

    /// <summary>Creates the exception with a message only (no place).</summary>
    public ScstConfigException()
        : this(null, 0, 0, "the configuration is not valid")
    {
    }

    /// <summary>Creates the exception with a message only (no place).</summary>
    /// <param name="message">What is wrong.</param>
    public ScstConfigException(string message)
        : this(null, 0, 0, message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it (no place).</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public ScstConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Reason = message;
    }

    /// <summary>
    /// The file name given to the reader, or the configuration path of the faulty key; null when the text was parsed
    /// without a name. (Named so because <see cref="Exception.Source"/> already names the assembly that threw.)
    /// </summary>
    public string? SourceName { get; }

    /// <summary>The 1-based line of the fault, or 0 when the source has no lines.</summary>
    public int Line { get; }

    /// <summary>The 1-based column of the fault (a tab counts as one column), or 0 when the source has no lines.</summary>
    public int Column { get; }

    /// <summary>What is wrong, without the place: the message's last part.</summary>
    public string Reason { get; }

    private static string Format(string? sourceName, int line, int column, string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        string place = string.Create(CultureInfo.InvariantCulture, $"{line}:{column}");
        return (string.IsNullOrEmpty(sourceName), line > 0) switch
        {
            (true, true) => $"{place}: {reason}",
            (true, false) => reason,
            (false, true) => $"{sourceName}:{place}: {reason}",
            (false, false) => $"{sourceName}: {reason}",
        };
    }
}
