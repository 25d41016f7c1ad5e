// Licensed under the Apache License, Version 2.0.

using Microsoft.Win32.SafeHandles;
using Scst.UserDevice.Client;

namespace Scst.Samples.UserFileIo;

/// <summary>
/// A file served as a disk. Through the page cache, I/O runs synchronously on the connection's receive thread (a hit
/// costs a copy, far less than a hop to another thread); with O_DIRECT and several threads, each primitive runs on the
/// thread pool so that the device's latencies overlap. Thin (<c>--thin</c>): UNMAP punches holes in the file and the
/// provisioning query finds them with SEEK_DATA / SEEK_HOLE.
/// </summary>
internal sealed class FileDevice(SafeFileHandle? file, bool asynchronous, bool nvCache, int blockSize) : UserBlockDeviceBase
{
    public override ValueTask<UserDeviceStatus> ReadAsync(long offset, Memory<byte> buffer)
    {
        if (file is null)
        {
            return new(UserDeviceStatus.Good); // nullio: the buffer's content is what it is
        }

        return asynchronous ? ReadOnPoolAsync(file, offset, buffer) : new(Read(file, offset, buffer.Span));
    }

    public override ValueTask<UserDeviceStatus> WriteAsync(long offset, ReadOnlyMemory<byte> data, bool forceUnitAccess)
    {
        if (file is null)
        {
            return new(UserDeviceStatus.Good);
        }

        bool sync = forceUnitAccess && !nvCache;
        return asynchronous ? WriteOnPoolAsync(file, offset, data, sync) : new(Write(file, offset, data.Span, sync));
    }

    public override ValueTask<UserDeviceStatus> FlushAsync()
    {
        if (file is null || nvCache)
        {
            return new(UserDeviceStatus.Good);
        }

        try
        {
            RandomAccess.FlushToDisk(file);
            return new(UserDeviceStatus.Good);
        }
        catch (IOException)
        {
            return new(UserDeviceStatus.WriteError);
        }
    }

    public override ValueTask<UserDeviceStatus> UnmapAsync(long offset, long length)
    {
        if (file is null || length == 0)
        {
            return new(UserDeviceStatus.Good);
        }

        int error = FileHoles.PunchHole(file, offset, length);
        return new(error == 0 ? UserDeviceStatus.Good : UserDeviceStatus.WriteError);
    }

    public override ValueTask<UserProvisioningExtent> GetProvisioningAsync(long offset, long maxLength)
    {
        if (file is null)
        {
            return new(new UserProvisioningExtent(maxLength, Mapped: true));
        }

        // The file system's extents are whole blocks of its own (at least the device's on any usual geometry); a run
        // is cut to whole device blocks and never reported shorter than one.
        long run = FileHoles.FindExtent(file, offset, maxLength, out bool mapped);
        run = run <= 0 ? maxLength : Math.Max(blockSize, run / blockSize * blockSize);
        return new(new UserProvisioningExtent(run, mapped));
    }

    private static UserDeviceStatus Read(SafeFileHandle file, long offset, Span<byte> span)
    {
        try
        {
            while (!span.IsEmpty)
            {
                int n = RandomAccess.Read(file, span, offset);
                if (n == 0)
                {
                    span.Clear(); // past the end of a file shorter than the device: zeros
                    break;
                }

                span = span[n..];
                offset += n;
            }

            return UserDeviceStatus.Good;
        }
        catch (IOException)
        {
            return UserDeviceStatus.ReadError;
        }
    }

    private static UserDeviceStatus Write(SafeFileHandle file, long offset, ReadOnlySpan<byte> data, bool sync)
    {
        try
        {
            RandomAccess.Write(file, data, offset);
            if (sync)
            {
                RandomAccess.FlushToDisk(file);
            }

            return UserDeviceStatus.Good;
        }
        catch (IOException)
        {
            return UserDeviceStatus.WriteError;
        }
    }

    private static async ValueTask<UserDeviceStatus> ReadOnPoolAsync(SafeFileHandle file, long offset, Memory<byte> buffer)
    {
        await Task.Yield();
        return Read(file, offset, buffer.Span);
    }

    private static async ValueTask<UserDeviceStatus> WriteOnPoolAsync(SafeFileHandle file, long offset, ReadOnlyMemory<byte> data, bool sync)
    {
        await Task.Yield();
        return Write(file, offset, data.Span, sync);
    }
}
