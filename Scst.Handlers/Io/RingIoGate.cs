// Licensed under the Apache License, Version 2.0.

using System.Runtime.CompilerServices;

namespace Scst.Handlers.Io;

/// <summary>
/// Admission of a device's operations to an io_uring, beside the device's gate (a <see cref="StoreGate"/> held for
/// reading by I/O and for writing while the backing store is opened, closed or resized). An operation on the ring ends
/// on the ring's completion thread, long after it started, so the gate is held only while an operation is admitted;
/// the operations admitted are counted, and a section that holds the gate for writing waits for the count to reach
/// zero (<see cref="WaitForNone"/>) before it touches the store.
/// </summary>
/// <param name="gate">The device's gate.</param>
internal sealed class RingIoGate(StoreGate gate)
{
    private readonly object _drainLock = new();
    private int _inFlight;
    private int _draining;

    /// <summary>
    /// Runs <paramref name="admit"/> with the gate held for reading; it calls <see cref="Enter"/> when it lets the
    /// operation start. Never blocks the calling thread, which may be the ring's completion thread (a command started
    /// from another's continuation): while a section holds the gate for writing, admission waits on the thread pool,
    /// because that section waits for the ring's operations, whose completions need the completion thread.
    /// </summary>
    /// <typeparam name="T">What admission gives the operation (its descriptors, or why it cannot start).</typeparam>
    /// <param name="admit">The admission, a delegate the device keeps (so that none is made per operation).</param>
    /// <param name="end">The argument of <paramref name="admit"/> (for a write, the byte offset it ends at).</param>
    /// <returns>What <paramref name="admit"/> returned.</returns>
    public ValueTask<T> AdmitAsync<T>(Func<long, T> admit, long end)
    {
        if (gate.TryEnterRead(out StoreGate.ReadScope held))
        {
            try
            {
                return new(admit(end));
            }
            finally
            {
                held.Dispose();
            }
        }

        return AdmitSlowAsync(admit, end);
    }

    /// <summary>Counts an admitted operation; called by the admission, with the gate held.</summary>
    public void Enter() => Interlocked.Increment(ref _inFlight);

    /// <summary>Counts an operation out when it has completed.</summary>
    public void Exit()
    {
        if (Interlocked.Decrement(ref _inFlight) == 0 && Volatile.Read(ref _draining) != 0)
        {
            lock (_drainLock)
            {
                Monitor.PulseAll(_drainLock);
            }
        }
    }

    /// <summary>
    /// With the gate held for writing: waits until no admitted operation is left. Management runs on its own threads;
    /// called from the ring's completion thread with operations of the device in flight, it would wait for itself.
    /// </summary>
    public void WaitForNone()
    {
        Interlocked.Increment(ref _draining);
        try
        {
            lock (_drainLock)
            {
                while (Volatile.Read(ref _inFlight) != 0)
                {
                    Monitor.Wait(_drainLock, 100);
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _draining);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<T> AdmitSlowAsync<T>(Func<long, T> admit, long end)
    {
        await Task.Yield();
        StoreGate.ReadScope held = gate.EnterRead();
        try
        {
            return admit(end);
        }
        finally
        {
            held.Dispose();
        }
    }
}
