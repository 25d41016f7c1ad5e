// Licensed under the Apache License, Version 2.0.

using System.Net.Sockets;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Scst.UserDevice.Native;

/// <summary>The few Linux calls .NET does not offer: descriptor passing, memfd and mmap.</summary>
internal static unsafe class UnixInterop
{
    /// <summary>The most descriptors accepted with one receive.</summary>
    public const int MaxDescriptorsPerReceive = 4;

    /// <summary>
    /// Sends <paramref name="data"/> in one sendmsg, with <paramref name="descriptor"/> as SCM_RIGHTS when it is not
    /// negative. Blocks (polls) while the socket buffer is full.
    /// </summary>
    public static void SendWithDescriptor(Socket socket, ReadOnlySpan<byte> data, int descriptor)
    {
        int fd = (int)socket.Handle;
        byte* control = stackalloc byte[64];
        new Span<byte>(control, 64).Clear();
        fixed (byte* p = data)
        {
            int sent = 0;
            bool withDescriptor = descriptor >= 0;
            while (sent < data.Length)
            {
                iovec iov = default;
                iov.iov_base = p + sent;
                iov.iov_len = (size_t)(data.Length - sent);
                msghdr msg = default;
                msg.msg_iov = &iov;
                msg.msg_iovlen = 1;
                if (withDescriptor)
                {
                    msg.msg_control = control;
                    msg.msg_controllen = (socklen_t)CMSG_SPACE(sizeof(int));
                    cmsghdr* c = CMSG_FIRSTHDR(&msg);
                    c->cmsg_level = SOL_SOCKET;
                    c->cmsg_type = SCM_RIGHTS;
                    c->cmsg_len = (socklen_t)CMSG_LEN(sizeof(int));
                    *(int*)CMSG_DATA(c) = descriptor;
                }

                long n = sendmsg(fd, &msg, MSG_NOSIGNAL);
                if (n < 0)
                {
                    int error = errno;
                    if (error == EINTR)
                    {
                        continue;
                    }

                    if (error == EAGAIN)
                    {
                        socket.Poll(1_000_000, SelectMode.SelectWrite);
                        continue;
                    }

                    throw new SocketException(error);
                }

                withDescriptor = false; // the descriptor went with the first byte
                sent += (int)n;
            }
        }
    }

    /// <summary>
    /// Receives into <paramref name="buffer"/>, and appends the descriptors that came with it (SCM_RIGHTS) to
    /// <paramref name="descriptors"/>. Without <paramref name="wait"/> it returns at once (MSG_DONTWAIT).
    /// </summary>
    /// <returns>Bytes received; 0 at end of stream; -1 when nothing is there now (only without <paramref name="wait"/>).</returns>
    public static int ReceiveWithDescriptors(Socket socket, Span<byte> buffer, Queue<int> descriptors, bool wait)
    {
        int fd = (int)socket.Handle;
        int space = CMSG_SPACE(sizeof(int) * MaxDescriptorsPerReceive);
        byte* control = stackalloc byte[space];
        fixed (byte* p = buffer)
        {
            while (true)
            {
                iovec iov = default;
                iov.iov_base = p;
                iov.iov_len = (size_t)buffer.Length;
                msghdr msg = default;
                msg.msg_iov = &iov;
                msg.msg_iovlen = 1;
                msg.msg_control = control;
                msg.msg_controllen = (socklen_t)space;
                long n = recvmsg(fd, &msg, (wait ? 0 : MSG_DONTWAIT) | MSG_CMSG_CLOEXEC);
                if (n < 0)
                {
                    int error = errno;
                    if (error == EINTR)
                    {
                        continue;
                    }

                    if (error == EAGAIN && wait)
                    {
                        socket.Poll(-1, SelectMode.SelectRead); // a non-blocking descriptor: wait for data
                        continue;
                    }

                    if (error == EAGAIN)
                    {
                        return -1;
                    }

                    throw new SocketException(error);
                }

                for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != null; c = CMSG_NXTHDR(&msg, c))
                {
                    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                    {
                        int count = ((int)c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        int* fds = (int*)CMSG_DATA(c);
                        for (int i = 0; i < count; i++)
                        {
                            descriptors.Enqueue(fds[i]);
                        }
                    }
                }

                return (int)n;
            }
        }
    }

    /// <summary>Closes a descriptor.</summary>
    public static void Close(int descriptor)
    {
        if (descriptor >= 0)
        {
            _ = close(descriptor);
        }
    }

    /// <summary>Creates an anonymous shared memory file of <paramref name="size"/> bytes (memfd_create + ftruncate).</summary>
    public static int CreateSharedMemory(string name, long size)
    {
        byte[] nameBytes = System.Text.Encoding.UTF8.GetBytes(name + "\0");
        int fd;
        fixed (byte* n = nameBytes)
        {
            fd = memfd_create(n, MFD_CLOEXEC);
        }

        if (fd < 0)
        {
            throw new IOException($"memfd_create failed: errno {errno}.");
        }

        if (ftruncate(fd, size) != 0)
        {
            int error = errno;
            _ = close(fd);
            throw new IOException($"ftruncate of the shared memory to {size} bytes failed: errno {error}.");
        }

        return fd;
    }

    /// <summary>Maps <paramref name="size"/> bytes of a descriptor shared, read-write.</summary>
    public static byte* Map(int descriptor, long size)
    {
        void* p = mmap(null, (size_t)(ulong)size, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0);
        if (p == MAP_FAILED)
        {
            throw new IOException($"mmap of {size} bytes of shared memory failed: errno {errno}.");
        }

        return (byte*)p;
    }

    /// <summary>Unmaps what <see cref="Map"/> mapped.</summary>
    public static void Unmap(byte* address, long size) => _ = munmap(address, (size_t)(ulong)size);

    /// <summary>The size of the file behind a descriptor (fstat), or -1.</summary>
    public static long SizeOf(int descriptor)
    {
        stat st = default;
        return fstat(descriptor, &st) == 0 ? (long)st.st_size : -1;
    }
}
