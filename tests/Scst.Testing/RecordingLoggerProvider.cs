// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Scst.Testing;

/// <summary>
/// Keeps every log entry at or above <see cref="MinimumLevel"/> that carries an exception, so that a test which sees a
/// wrong answer can show the fault behind it.
/// </summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _faults = new();

    /// <summary>The lowest level recorded.</summary>
    public LogLevel MinimumLevel { get; init; } = LogLevel.Warning;

    /// <summary>The recorded entries, oldest first: category, level, message and the exception with its stack.</summary>
    public IReadOnlyCollection<string> Faults => _faults;

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private sealed class Recorder(RecordingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= owner.MinimumLevel;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (exception is not null && IsEnabled(logLevel))
            {
                owner._faults.Enqueue($"{category} {logLevel}: {formatter(state, exception)}{Environment.NewLine}{exception}");
            }
        }
    }
}
