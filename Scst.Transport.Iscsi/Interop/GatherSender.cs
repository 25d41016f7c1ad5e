// Licensed under the Apache License, Version 2.0.

using System.Net.Sockets;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Scst.Transport.Iscsi.Interop;

/// <summary>
/// Sends a PDU's header, data and padding with one <c>sendmsg</c> (a gather write), so that read data goes from the
/// command's buffer to the kernel without a staging copy. The socket is non-blocking (the runtime made it so for
/// its asynchronous receives): when the send buffer is full, the call waits in <c>poll</c> for room.
/// </summary>
internal static unsafe class GatherSender
{
    private const int PollTimeoutMilliseconds = 30_000;

    /// <summary>Sends every byte of the three parts, in order.</summary>
    /// <returns>False when the connection is broken or stalled for longer than the poll timeout.</returns>
    public static bool Send(Socket socket, ReadOnlySpan<byte> header, ReadOnlySpan<byte> data, ReadOnlySpan<byte> padding)
    {
        bool added = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref added);
            int fd = (int)socket.SafeHandle.DangerousGetHandle();
            fixed (byte* h = header)
            fixed (byte* d = data)
            fixed (byte* p = padding)
            {
                iovec* iov = stackalloc iovec[3];
                int count = 0;
                Add(iov, ref count, h, header.Length);
                Add(iov, ref count, d, data.Length);
                Add(iov, ref count, p, padding.Length);
                return SendAll(fd, iov, count);
            }
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            if (added)
            {
                socket.SafeHandle.DangerousRelease();
            }
        }
    }

    private static void Add(iovec* iov, ref int count, byte* start, int length)
    {
        if (length > 0)
        {
            iov[count].iov_base = start;
            iov[count].iov_len = (size_t)length;
            count++;
        }
    }

    private static bool SendAll(int fd, iovec* iov, int count)
    {
        msghdr message = default;
        while (count > 0)
        {
            message.msg_iov = iov;
            message.msg_iovlen = count;
            long sent = sendmsg(fd, &message, MSG_NOSIGNAL);
            if (sent < 0)
            {
                int error = errno;
                if (error == EINTR)
                {
                    continue;
                }

                if (error == EAGAIN && WaitWritable(fd))
                {
                    continue;
                }

                return false;
            }

            // Drop the fully sent entries, then trim the partly sent one.
            while (count > 0 && sent >= (long)(ulong)iov->iov_len)
            {
                sent -= (long)(ulong)iov->iov_len;
                iov++;
                count--;
            }

            if (count > 0)
            {
                iov->iov_base = (byte*)iov->iov_base + sent;
                iov->iov_len = (size_t)(ulong)((long)(ulong)iov->iov_len - sent);
            }
        }

        return true;
    }

    private static bool WaitWritable(int fd)
    {
        pollfd pfd = default;
        pfd.fd = fd;
        pfd.events = POLLOUT;
        while (true)
        {
            int n = poll(&pfd, 1, PollTimeoutMilliseconds);
            if (n > 0)
            {
                return (pfd.revents & POLLOUT) != 0;
            }

            if (n == 0 || errno != EINTR)
            {
                return false;
            }
        }
    }
}
