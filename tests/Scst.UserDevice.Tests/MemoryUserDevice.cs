// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Scst.Core;
using Scst.UserDevice.Client;

namespace Scst.UserDevice.Tests;

/// <summary>
/// A device process's disk in memory, for tests: it records what the target asks, and can hold reads until a task
/// management function arrives (as a device that finishes the affected commands quickly does).
/// </summary>
internal sealed class MemoryUserDevice(int size) : UserBlockDeviceBase
{
    private const int BlockSize = 512;
    private readonly ConcurrentQueue<TaskCompletionSource<UserDeviceStatus>> _held = new();

    // Per block, whether it is mapped (thin provisioning): written blocks are, unmapped ones and never written ones are not.
    private readonly bool[] _mapped = new bool[size / BlockSize];

    public byte[] Store { get; } = new byte[size];

    /// <summary>The provisioning queries received, as (offset, max length).</summary>
    public ConcurrentQueue<(long Offset, long MaxLength)> ProvisioningQueries { get; } = new();

    /// <summary>When true, reads wait until a task management function arrives or <see cref="ReleaseHeldReads"/>.</summary>
    public bool HoldReads { get; set; }

    public ConcurrentQueue<UserSessionInfo> Attached { get; } = new();

    public ConcurrentQueue<UserSessionInfo> Detached { get; } = new();

    public ConcurrentQueue<UserTaskManagement> Received { get; } = new();

    public ConcurrentQueue<UserTaskManagement> Done { get; } = new();

    /// <summary>Whether every read buffer the target named was memory the connection mapped (not a copy).</summary>
    public bool BuffersAreShared { get; private set; } = true;

    public TaskCompletionSource FirstHeldRead { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int HeldReads => _held.Count;

    public override ValueTask<UserDeviceStatus> ReadAsync(long offset, Memory<byte> buffer)
    {
        BuffersAreShared &= MemoryMarshal.TryGetMemoryManager<byte, System.Buffers.MemoryManager<byte>>(buffer, out _);
        Store.AsSpan((int)offset, buffer.Length).CopyTo(buffer.Span);
        if (!HoldReads)
        {
            return new(UserDeviceStatus.Good);
        }

        var tcs = new TaskCompletionSource<UserDeviceStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        _held.Enqueue(tcs);
        FirstHeldRead.TrySetResult();
        return new(tcs.Task);
    }

    public override ValueTask<UserDeviceStatus> WriteAsync(long offset, ReadOnlyMemory<byte> data, bool forceUnitAccess)
    {
        data.Span.CopyTo(Store.AsSpan((int)offset));
        _mapped.AsSpan((int)(offset / BlockSize), data.Length / BlockSize).Fill(true);
        return new(UserDeviceStatus.Good);
    }

    public override ValueTask<UserDeviceStatus> UnmapAsync(long offset, long length)
    {
        Store.AsSpan((int)offset, (int)length).Clear();
        _mapped.AsSpan((int)(offset / BlockSize), (int)(length / BlockSize)).Clear();
        return new(UserDeviceStatus.Good);
    }

    public override ValueTask<UserProvisioningExtent> GetProvisioningAsync(long offset, long maxLength)
    {
        ProvisioningQueries.Enqueue((offset, maxLength));
        int first = (int)(offset / BlockSize);
        int end = (int)Math.Min(_mapped.Length, first + (maxLength / BlockSize));
        int next = first + 1;
        while (next < end && _mapped[next] == _mapped[first])
        {
            next++;
        }

        return new(new UserProvisioningExtent((long)(next - first) * BlockSize, _mapped[first]));
    }

    public override int OnAttach(UserSessionInfo session)
    {
        Attached.Enqueue(session);
        return 0;
    }

    public override void OnDetach(UserSessionInfo session) => Detached.Enqueue(session);

    public override void OnTaskManagementReceived(UserTaskManagement function)
    {
        Received.Enqueue(function);
        ReleaseHeldReads();
    }

    public override int OnTaskManagementDone(UserTaskManagement function)
    {
        Done.Enqueue(function);
        return 0;
    }

    public void ReleaseHeldReads()
    {
        while (_held.TryDequeue(out TaskCompletionSource<UserDeviceStatus>? tcs))
        {
            tcs.TrySetResult(UserDeviceStatus.Good);
        }
    }
}
