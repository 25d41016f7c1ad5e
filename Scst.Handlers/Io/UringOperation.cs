// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;
using Microsoft.Win32.SafeHandles;
using Scst.Handlers.Interop;
using static Scst.Handlers.Interop.Errno;

namespace Scst.Handlers.Io;

/// <summary>
/// One operation of a <see cref="UringIoEngine"/>: what to submit (and resubmit after a short transfer), the pins and
/// the file reference it holds while the kernel has it, and the pending value its caller awaits. Pooled by its engine;
/// its SQE's user_data is a <see cref="GCHandle"/> to it, made once.
/// </summary>
internal sealed unsafe class UringOperation : IValueTaskSource<int>
{
    private readonly UringIoEngine _engine;
    private GCHandle _self;
    private ManualResetValueTaskSourceCore<int> _core;
    private UringOpcode _opcode;
    private uint _rwFlags;
    private SafeFileHandle? _file;
    private bool _fileAdded;
    private int _fd;
    private byte* _address;
    private int _length;
    private long _offset;
    private int _done;
    private MemoryHandle _pin;
    private MemoryHandle[] _pins = [];
    private int _pinCount;
    private PositionalIo.IoVector* _vectors;
    private int _vectorCapacity;
    private int _vectorCount;
    private int _firstVector;

    public UringOperation(UringIoEngine engine)
    {
        _engine = engine;
        _self = GCHandle.Alloc(this);
    }

    /// <summary>The SQE user_data that names this operation (never 0, which the engine keeps for its wake-ups).</summary>
    public ulong UserData => (ulong)GCHandle.ToIntPtr(_self);

    public short Version => _core.Version;

    /// <summary>The operation a completion's user_data names.</summary>
    public static UringOperation FromUserData(ulong userData) => (UringOperation)GCHandle.FromIntPtr((nint)userData).Target!;

    /// <summary>Prepares a read or write of one buffer: pins it and takes a reference on the file.</summary>
    /// <param name="opcode">Read or write.</param>
    /// <param name="file">The file.</param>
    /// <param name="buffer">The buffer.</param>
    /// <param name="offset">The file offset.</param>
    /// <param name="rwFlags">RWF_* flags of the transfer (RWF_DSYNC: the data is stable when it completes).</param>
    /// <returns>0, or -EBADF when the handle is already closed.</returns>
    public int PrepareTransfer(UringOpcode opcode, SafeFileHandle file, ReadOnlyMemory<byte> buffer, long offset, uint rwFlags = 0)
    {
        _opcode = opcode;
        _rwFlags = rwFlags;
        _offset = offset;
        _length = buffer.Length;
        _done = 0;
        _pin = buffer.Pin();
        _address = (byte*)_pin.Pointer;
        return AddFile(file);
    }

    /// <summary>Prepares a gathered write: pins every buffer and builds the iovec array the kernel reads.</summary>
    /// <returns>0, or -EINVAL (too many buffers, or more than 2 GiB), or -EBADF.</returns>
    public int PrepareGather(SafeFileHandle file, IReadOnlyList<ReadOnlyMemory<byte>> buffers, long offset)
    {
        int count = buffers.Count;
        if (count > PositionalIo.MaxVectors)
        {
            return -EINVAL;
        }

        if (count > _vectorCapacity)
        {
            NativeMemory.Free(_vectors);
            _vectorCapacity = Math.Max(count, 8);
            _vectors = (PositionalIo.IoVector*)NativeMemory.Alloc((nuint)_vectorCapacity, (nuint)sizeof(PositionalIo.IoVector));
            _pins = new MemoryHandle[_vectorCapacity];
        }

        _opcode = UringOpcode.WriteV;
        _rwFlags = 0;
        _offset = offset;
        _done = 0;
        _firstVector = 0;
        _vectorCount = count;
        long total = 0;
        for (_pinCount = 0; _pinCount < count; _pinCount++)
        {
            ReadOnlyMemory<byte> b = buffers[_pinCount];
            _pins[_pinCount] = b.Pin();
            _vectors[_pinCount] = new PositionalIo.IoVector { Base = _pins[_pinCount].Pointer, Length = (nuint)b.Length };
            total += b.Length;
        }

        if (total > int.MaxValue)
        {
            return -EINVAL;
        }

        _length = (int)total;
        return AddFile(file);
    }

    /// <summary>Prepares an fdatasync.</summary>
    /// <returns>0, or -EBADF.</returns>
    public int PrepareFlush(SafeFileHandle file)
    {
        _opcode = UringOpcode.Fsync;
        _rwFlags = 0;
        _length = 0;
        _done = 0;
        return AddFile(file);
    }

    /// <summary>Hands what is left of the operation to <paramref name="ring"/>, or returns false when its submission ring is full.</summary>
    public bool TryPrepare(IoUringRing ring) => _opcode switch
    {
        UringOpcode.Fsync => ring.TryPrepare(_opcode, _fd, 0, 0, 0, UserData),
        UringOpcode.WriteV => ring.TryPrepare(_opcode, _fd, (ulong)(_offset + _done), (ulong)(_vectors + _firstVector), (uint)(_vectorCount - _firstVector), UserData),
        _ => ring.TryPrepare(_opcode, _fd, (ulong)(_offset + _done), (ulong)(_address + _done), (uint)(_length - _done), UserData, _rwFlags),
    };

    /// <summary>
    /// Takes a completion's result: true when a short transfer (or -EINTR, -EAGAIN) must be submitted again, false when
    /// the operation is over with <paramref name="final"/>, which <see cref="Complete"/> then hands to its caller.
    /// </summary>
    public bool TryContinue(int result, out int final)
    {
        final = result;
        if (result == -EINTR || result == -EAGAIN)
        {
            return true;
        }

        if (result < 0)
        {
            return false;
        }

        if (_opcode == UringOpcode.Fsync)
        {
            final = 0;
            return false;
        }

        if (result == 0)
        {
            // A read that returns nothing is the end of the file (or an empty buffer); a write that writes nothing of a
            // non-empty rest would loop forever.
            final = _opcode == UringOpcode.Read || _done >= _length ? _done : -EIO;
            return false;
        }

        _done += result;
        if (_done < _length)
        {
            if (_opcode == UringOpcode.WriteV)
            {
                _firstVector = PositionalIo.Skip(_vectors, _firstVector, _vectorCount, result);
            }

            return true;
        }

        final = _done;
        return false;
    }

    /// <summary>
    /// Ends the operation: drops its pins and file reference and completes its caller, whose continuation may run here
    /// and then (on the completion thread, or at once for an operation that was never submitted).
    /// </summary>
    public void Complete(int result) => Finish(result);

    private int AddFile(SafeFileHandle file)
    {
        try
        {
            file.DangerousAddRef(ref _fileAdded);
            _file = file;
            _fd = (int)file.DangerousGetHandle();
            return 0;
        }
        catch (ObjectDisposedException)
        {
            return -EBADF;
        }
    }

    private void Finish(int result)
    {
        _pin.Dispose();
        _pin = default;
        for (int i = 0; i < _pinCount; i++)
        {
            _pins[i].Dispose();
            _pins[i] = default;
        }

        _pinCount = 0;
        if (_fileAdded)
        {
            _fileAdded = false;
            _file!.DangerousRelease();
        }

        _file = null;
        _core.SetResult(result);
    }

    /// <summary>Releases the native memory and the handle; the operation is unusable after.</summary>
    public void Free()
    {
        NativeMemory.Free(_vectors);
        _vectors = null;
        _vectorCapacity = 0;
        if (_self.IsAllocated)
        {
            _self.Free();
        }
    }

    public int GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            _core.Reset();
            _engine.Return(this);
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
