// Licensed under the Apache License, Version 2.0.

using System.Runtime.ExceptionServices;

namespace Scst.Core;

/// <summary>
/// Something that holds messages back while a <see cref="SubmissionBatch"/> is open and sends them when it closes.
/// </summary>
public interface ISubmissionBatchParticipant
{
    /// <summary>
    /// Sends what was held back during the batch. Called once per batch in which the participant joined, on the thread
    /// that opened the batch; it must not throw.
    /// </summary>
    void FlushBatch();
}

/// <summary>
/// The commands a target driver hands to the core together, for example every SCSI command of one receive buffer.
/// While a batch is open on a thread, a device that forwards work to another party (a device process, a remote node)
/// may hold its requests and send them in one message when the batch closes, rather than one system call per
/// command. A batch belongs to the thread that opened it and must not span an await; nothing inside it may wait for
/// the answer to a held request.
/// </summary>
/// <example>
/// <code>
/// using (SubmissionBatch.Open())
/// {
///     while (TryReadNextCommand(ref buffer, out var pdu)) { session.Submit(...); }
/// }   // the held requests leave here
/// </code>
/// </example>
public static class SubmissionBatch
{
    [ThreadStatic]
    private static Batch? t_batch;

    /// <summary>Whether a batch is open on this thread.</summary>
    public static bool IsOpen => t_batch is { Depth: > 0 };

    /// <summary>Opens a batch on this thread; a batch opened inside another joins it. Dispose the scope to close it.</summary>
    public static Scope Open()
    {
        Batch batch = t_batch ??= new Batch();
        batch.Depth++;
        return new Scope(batch);
    }

    /// <summary>
    /// Asks to be flushed when the batch open on this thread closes. Joining twice in one batch flushes once.
    /// </summary>
    /// <param name="participant">The participant holding messages back.</param>
    /// <returns><see langword="false"/> when no batch is open on this thread: send now.</returns>
    public static bool Join(ISubmissionBatchParticipant participant)
    {
        ArgumentNullException.ThrowIfNull(participant);
        Batch? batch = t_batch;
        if (batch is not { Depth: > 0 })
        {
            return false;
        }

        batch.Add(participant);
        return true;
    }

    /// <summary>An open batch; disposing it closes the batch and flushes its participants.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly Batch? _batch;

        internal Scope(Batch batch) => _batch = batch;

        /// <summary>Closes the batch; the outermost scope flushes every participant that joined.</summary>
        public void Dispose()
        {
            if (_batch is { } batch && --batch.Depth == 0)
            {
                batch.Flush();
            }
        }
    }

    internal sealed class Batch
    {
        private ISubmissionBatchParticipant?[] _participants = new ISubmissionBatchParticipant?[4];
        private int _count;

        public int Depth { get; set; }

        public void Add(ISubmissionBatchParticipant participant)
        {
            for (int i = 0; i < _count; i++)
            {
                if (ReferenceEquals(_participants[i], participant))
                {
                    return;
                }
            }

            if (_count == _participants.Length)
            {
                Array.Resize(ref _participants, _count * 2);
            }

            _participants[_count++] = participant;
        }

        // The batch is closed while it flushes: a participant asked to send now sends at once. A participant that
        // breaks its promise and throws does not keep the others from sending; the first exception then goes to the
        // driver, and the batch is empty for the next one.
        public void Flush()
        {
            int count = _count;
            _count = 0;
            ExceptionDispatchInfo? failure = null;
            for (int i = 0; i < count; i++)
            {
                ISubmissionBatchParticipant participant = _participants[i]!;
                _participants[i] = null;
                try
                {
                    participant.FlushBatch();
                }
                catch (Exception ex)
                {
                    failure ??= ExceptionDispatchInfo.Capture(ex);
                }
            }

            failure?.Throw();
        }
    }
}
