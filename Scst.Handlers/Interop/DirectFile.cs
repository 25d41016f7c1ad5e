// Licensed under the Apache License, Version 2.0.

using System.Text;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Scst.Handlers.Interop;

/// <summary>
/// A backing file opened with O_DIRECT (SCST's <c>o_direct</c>): reads and writes bypass the page cache. The kernel
/// wants the buffer address, the file offset and the length aligned to the logical block size of the file system's
/// device; <see cref="IsAligned"/> says whether a request can go this way, and a request the kernel still refuses
/// with EINVAL goes through the buffered descriptor instead (<see cref="Read(int, Span{byte}, long)"/> and <see cref="Write(int, ReadOnlySpan{byte}, long)"/> return -EINVAL).
/// </summary>
internal static unsafe class DirectFile
{
    /// <summary>The alignment asked of every direct request: 512 bytes, the smallest logical block a device has.</summary>
    public const int Alignment = 512;

    /// <summary>Opens <paramref name="path"/> with O_DIRECT.</summary>
    /// <returns>The handle, or null with the errno in <paramref name="error"/>.</returns>
    public static SafeFileHandle? Open(string path, bool readOnly, out int error)
    {
        byte[] name = new byte[Encoding.UTF8.GetByteCount(path) + 1];
        Encoding.UTF8.GetBytes(path, name);
        int flags = (readOnly ? O_RDONLY : O_RDWR) | O_DIRECT | O_CLOEXEC;
        fixed (byte* p = name)
        {
            while (true)
            {
                int fd = open(p, flags, 0);
                if (fd >= 0)
                {
                    error = 0;
                    return new SafeFileHandle((nint)fd, ownsHandle: true);
                }

                error = errno;
                if (error != EINTR)
                {
                    return null;
                }
            }
        }
    }

    /// <summary>Whether a request at <paramref name="offset"/> over <paramref name="buffer"/> meets the alignment.</summary>
    public static bool IsAligned(ReadOnlySpan<byte> buffer, long offset)
    {
        fixed (byte* p = buffer)
        {
            return ((nuint)p % Alignment) == 0 && offset % Alignment == 0 && buffer.Length % Alignment == 0;
        }
    }

    /// <summary>Whether a result of <see cref="Read(int, Span{byte}, long)"/> or <see cref="Write(int, ReadOnlySpan{byte}, long)"/> is the kernel refusing the request as unaligned (EINVAL).</summary>
    public static bool IsRefused(long result) => result == -EINVAL;

    /// <summary>Reads until <paramref name="buffer"/> is full or the end of the file.</summary>
    /// <returns>The bytes read, or -errno.</returns>
    public static long Read(SafeFileHandle file, Span<byte> buffer, long offset)
    {
        using var held = new HeldDescriptor(file);
        return Read(held.Fd, buffer, offset);
    }

    /// <summary>
    /// Reads until <paramref name="buffer"/> is full or the end of the file, from a descriptor that the caller keeps
    /// open (a device reads under its gate, which closing the file takes for writing: no reference count is taken).
    /// </summary>
    /// <returns>The bytes read, or -errno.</returns>
    public static long Read(int fd, Span<byte> buffer, long offset)
    {
        long done = 0;
        fixed (byte* p = buffer)
        {
            while (done < buffer.Length)
            {
                long n = pread(fd, p + done, (size_t)(int)(buffer.Length - done), offset + done);
                if (n < 0)
                {
                    int error = errno;
                    if (error == EINTR)
                    {
                        continue;
                    }

                    return -error;
                }

                if (n == 0)
                {
                    break;
                }

                done += n;
            }
        }

        return done;
    }

    /// <summary>Writes all of <paramref name="buffer"/>.</summary>
    /// <returns>0, or -errno.</returns>
    public static int Write(SafeFileHandle file, ReadOnlySpan<byte> buffer, long offset)
    {
        using var held = new HeldDescriptor(file);
        return Write(held.Fd, buffer, offset);
    }

    /// <summary>Writes all of <paramref name="buffer"/> to a descriptor that the caller keeps open.</summary>
    /// <returns>0, or -errno.</returns>
    public static int Write(int fd, ReadOnlySpan<byte> buffer, long offset)
    {
        long done = 0;
        fixed (byte* p = buffer)
        {
            while (done < buffer.Length)
            {
                long n = pwrite(fd, p + done, (size_t)(int)(buffer.Length - done), offset + done);
                if (n < 0)
                {
                    int error = errno;
                    if (error == EINTR)
                    {
                        continue;
                    }

                    return -error;
                }

                done += n;
            }
        }

        return 0;
    }

    /// <summary>A handle's descriptor, with a reference on the handle so that it is not closed while in use.</summary>
    private ref struct HeldDescriptor
    {
        private readonly SafeFileHandle _file;
        private bool _added;

        public HeldDescriptor(SafeFileHandle file)
        {
            _file = file;
            file.DangerousAddRef(ref _added);
            Fd = (int)file.DangerousGetHandle();
        }

        public int Fd { get; }

        public void Dispose()
        {
            if (_added)
            {
                _file.DangerousRelease();
                _added = false;
            }
        }
    }
}
