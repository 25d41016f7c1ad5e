// Licensed under the Apache License, Version 2.0.

using System.Runtime.InteropServices;

namespace Scst.Handlers.Io;

/// <summary>
/// The gate of a device's backing store: I/O holds it for reading, opening, closing and resizing the store hold it for
/// writing. Built for a read side that runs for every command on every CPU at once.
/// </summary>
/// <remarks>
/// <para>
/// A reader counts itself in a counter of the CPU it runs on, each counter on cache lines of its own, and then checks
/// that no writer holds the gate. Nothing is written that another CPU writes too, so readers on different CPUs never
/// take a cache miss from each other (a single lock word, as in <see cref="ReaderWriterLockSlim"/>, is written by every
/// reader and bounces between CPUs on every command). A writer raises its flag and waits until the counters sum to
/// zero. Both sides write with interlocked operations (full fences) before they read the other side's state, so a
/// reader either sees the writer's flag or is counted before the writer stops waiting.
/// </para>
/// <para>
/// Writers are rare (management) and wait by spinning, then sleeping. A reader that meets a writer waits for it on the
/// writers' lock. The writer's thread may enter again, for reading or writing. A reader must not enter again on the
/// same thread while holding the gate: a writer waiting between the two would wait for the first, and the second for
/// the writer.
/// </para>
/// </remarks>
internal sealed class StoreGate
{
    private readonly Counter[] _readers = new Counter[Math.Clamp(Environment.ProcessorCount, 1, 64)];
    private readonly Lock _writers = new();
    private int _writing;
    private int _writerThread;
    private int _writeDepth;

    /// <summary>Holds the gate for reading until disposed.</summary>
    /// <returns>The hold; dispose it exactly once.</returns>
    public ReadScope EnterRead()
    {
        int slot = Thread.GetCurrentProcessorId() % _readers.Length;
        Interlocked.Increment(ref _readers[slot].Value);
        if (Volatile.Read(ref _writing) != 0)
        {
            EnterReadSlow(slot);
        }

        return new ReadScope(this, slot);
    }

    /// <summary>Holds the gate for reading when no writer holds it or waits for it; never blocks.</summary>
    /// <param name="scope">The hold, to dispose exactly once, when the result is true.</param>
    /// <returns>False when a writer holds the gate or waits for it.</returns>
    public bool TryEnterRead(out ReadScope scope)
    {
        int slot = Thread.GetCurrentProcessorId() % _readers.Length;
        Interlocked.Increment(ref _readers[slot].Value);
        if (Volatile.Read(ref _writing) != 0 && Volatile.Read(ref _writerThread) != Environment.CurrentManagedThreadId)
        {
            Interlocked.Decrement(ref _readers[slot].Value);
            scope = default;
            return false;
        }

        scope = new ReadScope(this, slot);
        return true;
    }

    /// <summary>Holds the gate for writing, once every reader has left, until disposed.</summary>
    /// <returns>The hold; dispose it exactly once, on this thread.</returns>
    public WriteScope EnterWrite()
    {
        _writers.Enter();
        if (_writeDepth++ == 0)
        {
            Volatile.Write(ref _writerThread, Environment.CurrentManagedThreadId);
            Interlocked.Exchange(ref _writing, 1);
            SpinWait spin = default;
            while (ReaderCount() != 0)
            {
                spin.SpinOnce();
            }
        }

        return new WriteScope(this);
    }

    private long ReaderCount()
    {
        long sum = 0;
        for (int i = 0; i < _readers.Length; i++)
        {
            sum += Volatile.Read(ref _readers[i].Value);
        }

        return sum;
    }

    private void EnterReadSlow(int slot)
    {
        while (true)
        {
            if (Volatile.Read(ref _writerThread) == Environment.CurrentManagedThreadId && Volatile.Read(ref _writing) != 0)
            {
                return; // the writer itself reads: it already holds the store
            }

            // Step aside, so that the writer stops waiting, and wait for it to finish.
            Interlocked.Decrement(ref _readers[slot].Value);
            _writers.Enter();
            _writers.Exit();
            Interlocked.Increment(ref _readers[slot].Value);
            if (Volatile.Read(ref _writing) == 0)
            {
                return;
            }
        }
    }

    private void ExitRead(int slot) => Interlocked.Decrement(ref _readers[slot].Value);

    private void ExitWrite()
    {
        if (--_writeDepth == 0)
        {
            Volatile.Write(ref _writerThread, 0);
            Interlocked.Exchange(ref _writing, 0);
        }

        _writers.Exit();
    }

    /// <summary>A hold of the gate for reading.</summary>
    public readonly struct ReadScope : IDisposable
    {
        private readonly StoreGate? _gate;
        private readonly int _slot;

        internal ReadScope(StoreGate gate, int slot)
        {
            _gate = gate;
            _slot = slot;
        }

        /// <summary>Leaves the gate.</summary>
        public void Dispose() => _gate?.ExitRead(_slot);
    }

    /// <summary>A hold of the gate for writing.</summary>
    public readonly struct WriteScope : IDisposable
    {
        private readonly StoreGate _gate;

        internal WriteScope(StoreGate gate) => _gate = gate;

        /// <summary>Leaves the gate.</summary>
        public void Dispose() => _gate.ExitWrite();
    }

    // One CPU's reader count, alone on its cache lines (and their adjacent-line prefetch pair).
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct Counter
    {
        [FieldOffset(64)]
        public long Value;
    }
}
