// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using Scst.Core;

namespace Scst.Testing;

/// <summary>
/// A block device whose reads do not complete until the test says so: each read returns an incomplete
/// <see cref="ValueTask{TResult}"/> queued in <see cref="PendingReads"/>. Writes and flushes complete at once.
/// </summary>
/// <param name="name">The device name.</param>
/// <param name="blockCount">The number of 512-byte blocks.</param>
/// <param name="singleTaskSet">One task set for every I_T nexus (TST=0) rather than one per nexus.</param>
public sealed class PendingBlockDevice(string name, long blockCount = 2048, bool singleTaskSet = false) : BlockDevice(name, "test_pending")
{
    private readonly ConcurrentQueue<TaskCompletionSource<CommandOutcome>> _pending = new();

    public override long BlockCount => blockCount;

    public override bool SingleTaskSet => singleTaskSet;

    /// <summary>Reads started and not yet completed by <see cref="CompleteNextRead"/>.</summary>
    public int PendingReads => _pending.Count;

    /// <summary>Completes the oldest pending read with <paramref name="outcome"/> (GOOD by default).</summary>
    public void CompleteNextRead(CommandOutcome outcome = default)
    {
        if (!_pending.TryDequeue(out TaskCompletionSource<CommandOutcome>? tcs))
        {
            throw new TestAssertionException("No read is pending.");
        }

        tcs.SetResult(outcome);
    }

    protected override ValueTask<CommandOutcome> ReadAsync(long offset, Memory<byte> destination)
    {
        destination.Span.Fill(0xA5);
        var tcs = new TaskCompletionSource<CommandOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending.Enqueue(tcs);
        return new(tcs.Task);
    }

    protected override ValueTask<CommandOutcome> WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess) => new(CommandOutcome.Good);

    protected override ValueTask<CommandOutcome> FlushAsync() => new(CommandOutcome.Good);
}
