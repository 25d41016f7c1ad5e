// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using static Tmds.Linux.LibC;

namespace Scst.Handlers.Interop;

/// <summary>
/// Positional system calls that return <c>-errno</c> instead of throwing: pwritev(2) (which Tmds.LibC does not bind)
/// and fdatasync(2). Reads and single-buffer writes are <see cref="DirectFile.Read(int, Span{byte}, long)"/> and <see cref="DirectFile.Write(int, ReadOnlySpan{byte}, long)"/>,
/// which work on any descriptor.
/// </summary>
internal static unsafe partial class PositionalIo
{
    /// <summary>struct iovec: a buffer's address and length.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct IoVector
    {
        public void* Base;
        public nuint Length;
    }

    // glibc's pwritev takes a 64-bit offset on 64-bit targets (the only ones Tmds.LibC's linux-glibc builds serve).
    [LibraryImport("libc.so.6", EntryPoint = "pwritev", SetLastError = true)]
    private static partial nint PWriteV(int fd, IoVector* vectors, int count, long offset);

    /// <summary>The most vectors one pwritev takes (IOV_MAX on Linux).</summary>
    public const int MaxVectors = 1024;

    /// <summary>Writes <paramref name="buffers"/> one after another from <paramref name="offset"/>, continuing short writes.</summary>
    /// <returns>The total length, or -errno (-EINVAL for more than <see cref="MaxVectors"/> buffers).</returns>
    public static int WriteGather(SafeFileHandle file, IReadOnlyList<ReadOnlyMemory<byte>> buffers, long offset)
    {
        int count = buffers.Count;
        if (count > MaxVectors)
        {
            return -EINVAL;
        }

        MemoryHandle[] pins = ArrayPool<MemoryHandle>.Shared.Rent(Math.Max(count, 1));
        IoVector* vectors = stackalloc IoVector[count];
        long total = 0;
        bool added = false;
        int pinned = 0;
        try
        {
            for (; pinned < count; pinned++)
            {
                ReadOnlyMemory<byte> b = buffers[pinned];
                pins[pinned] = b.Pin();
                vectors[pinned] = new IoVector { Base = pins[pinned].Pointer, Length = (nuint)b.Length };
                total += b.Length;
            }

            if (total > int.MaxValue)
            {
                return -EINVAL;
            }

            file.DangerousAddRef(ref added);
            int fd = (int)file.DangerousGetHandle();
            long done = 0;
            int first = 0;
            while (done < total)
            {
                nint n = PWriteV(fd, vectors + first, count - first, offset + done);
                if (n < 0)
                {
                    int error = Marshal.GetLastPInvokeError();
                    if (error == EINTR || error == EAGAIN)
                    {
                        continue;
                    }

                    return -error;
                }

                if (n == 0)
                {
                    return -EIO;
                }

                done += n;
                first = Skip(vectors, first, count, n);
            }

            return (int)total;
        }
        catch (ObjectDisposedException)
        {
            return -EBADF;
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }

            for (int i = 0; i < pinned; i++)
            {
                pins[i].Dispose();
            }

            ArrayPool<MemoryHandle>.Shared.Return(pins, clearArray: true);
        }
    }

    /// <summary>
    /// Moves past <paramref name="written"/> bytes of the vectors from <paramref name="first"/>: whole vectors are
    /// skipped, a partly written one is shortened in place.
    /// </summary>
    /// <returns>The index of the first vector left to write.</returns>
    public static int Skip(IoVector* vectors, int first, int count, long written)
    {
        while (first < count && written >= (long)vectors[first].Length)
        {
            written -= (long)vectors[first].Length;
            first++;
        }

        if (written > 0)
        {
            vectors[first].Base = (byte*)vectors[first].Base + written;
            vectors[first].Length -= (nuint)written;
        }

        return first;
    }

    /// <summary>fdatasync(2).</summary>
    /// <returns>0, or -errno.</returns>
    public static int DataSync(SafeFileHandle file)
    {
        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            while (true)
            {
                if (fdatasync((int)file.DangerousGetHandle()) == 0)
                {
                    return 0;
                }

                int error = errno;
                if (error != EINTR)
                {
                    return -error;
                }
            }
        }
        catch (ObjectDisposedException)
        {
            return -EBADF;
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }
}
