// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Scst.Testing;

/// <summary>One log entry as the logger received it: the formatted message, and the structured values of its state.</summary>
/// <param name="Category">The logger's category.</param>
/// <param name="Level">The entry's level.</param>
/// <param name="EventId">The entry's event id.</param>
/// <param name="Message">The formatted message.</param>
/// <param name="Values">The state's name/value pairs (a LoggerMessage state's parameters and {OriginalFormat}); empty for other states.</param>
/// <param name="Exception">The exception logged with it, or null.</param>
public sealed record RecordedLogEntry(
    string Category, LogLevel Level, EventId EventId, string Message, IReadOnlyList<KeyValuePair<string, object?>> Values, Exception? Exception);

/// <summary>One scope begun on a logger: its state as text, and its name/value pairs when it has them.</summary>
/// <param name="Category">The logger's category.</param>
/// <param name="Text">The state's <see cref="object.ToString"/>.</param>
/// <param name="Values">The state's name/value pairs; empty when it is not a list of them.</param>
public sealed record RecordedLogScope(string Category, string Text, IReadOnlyList<KeyValuePair<string, object?>> Values);

/// <summary>
/// Keeps the log entries at or above <see cref="MinimumLevel"/> (the latest <see cref="Capacity"/> of them), so that a
/// test which sees a wrong answer can show what the stack logged before it. <see cref="Entries"/> and
/// <see cref="Scopes"/> keep them whole (structured values, scope states), for tests of what reaches a log.
/// </summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _faults = new();
    private readonly ConcurrentQueue<RecordedLogEntry> _entries = new();
    private readonly ConcurrentQueue<RecordedLogScope> _scopes = new();

    /// <summary>The lowest level recorded.</summary>
    public LogLevel MinimumLevel { get; init; } = LogLevel.Warning;

    /// <summary>How many entries are kept; older ones are dropped.</summary>
    public int Capacity { get; init; } = 500;

    /// <summary>The recorded entries, oldest first: category, level, message and the exception with its stack.</summary>
    public IReadOnlyCollection<string> Faults => _faults;

    /// <summary>The recorded entries, oldest first, with their structured values (the latest <see cref="Capacity"/>).</summary>
    public IReadOnlyCollection<RecordedLogEntry> Entries => _entries;

    /// <summary>Every scope begun on a logger of this provider, whatever the level (the latest <see cref="Capacity"/>).</summary>
    public IReadOnlyCollection<RecordedLogScope> Scopes => _scopes;

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private sealed class Recorder(RecordingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            owner._scopes.Enqueue(new RecordedLogScope(category, state.ToString() ?? string.Empty, ValuesOf(state)));
            Trim(owner._scopes, owner.Capacity);
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => logLevel >= owner.MinimumLevel;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                string message = formatter(state, exception);
                owner._faults.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {category} {logLevel}: {message}{(exception is null ? string.Empty : Environment.NewLine + exception)}");
                Trim(owner._faults, owner.Capacity);
                owner._entries.Enqueue(new RecordedLogEntry(category, logLevel, eventId, message, ValuesOf(state), exception));
                Trim(owner._entries, owner.Capacity);
            }
        }

        private static KeyValuePair<string, object?>[] ValuesOf<TState>(TState state) =>
            state is IEnumerable<KeyValuePair<string, object?>> values ? [.. values] : [];

        private static void Trim<T>(ConcurrentQueue<T> queue, int capacity)
        {
            while (queue.Count > capacity)
            {
                queue.TryDequeue(out _);
            }
        }
    }
}
