// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Scst.Testing;

/// <summary>
/// Keeps the log entries at or above <see cref="MinimumLevel"/> (the latest <see cref="Capacity"/> of them), so that a
/// test which sees a wrong answer can show what the stack logged before it.
/// </summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _faults = new();

    /// <summary>The lowest level recorded.</summary>
    public LogLevel MinimumLevel { get; init; } = LogLevel.Warning;

    /// <summary>How many entries are kept; older ones are dropped.</summary>
    public int Capacity { get; init; } = 500;

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
            if (IsEnabled(logLevel))
            {
                owner._faults.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {category} {logLevel}: {formatter(state, exception)}{(exception is null ? string.Empty : Environment.NewLine + exception)}");
                while (owner._faults.Count > owner.Capacity)
                {
                    owner._faults.TryDequeue(out _);
                }
            }
        }
    }
}
