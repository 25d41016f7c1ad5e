// Licensed under the Apache License, Version 2.0.

using System.Net.Sockets;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Scst.Transport.Iscsi.Interop;

/// <summary>
/// Sends a PDU's header, header digest, data, padding and data digest with one <c>sendmsg</c> (a gather write), so that
/// read data goes from the command's buffer to the kernel without a staging copy. Each call is non-blocking
/// (<c>MSG_DONTWAIT</c>, whether or not the socket is): when the send buffer is full, it waits in <c>poll</c> for
/// room, at most the given timeout for the whole PDU (SCST's RspTimeout).
/// </summary>
internal static unsafe class GatherSender
{
    /// <summary>Sends every byte of the five parts, in order; empty parts are left out of the gather list.</summary>
    /// <param name="socket">The connection's socket.</param>
    /// <param name="header">The BHS (and AHS).</param>
    /// <param name="headerDigest">The header digest, or empty.</param>
    /// <param name="data">The data segment, or empty.</param>
    /// <param name="padding">Zero bytes up to a multiple of 4, or empty.</param>
    /// <param name="dataDigest">The data digest, or empty.</param>
    /// <param name="stallTimeoutMilliseconds">How long, in all, the send may wait for room in the socket's send buffer.</param>
    /// <param name="more">More PDUs follow at once: the kernel may hold this one back (MSG_MORE) until <see cref="Push"/> or a send without it.</param>
    /// <returns>False when the connection is broken or stalled for longer than the timeout.</returns>
    public static bool Send(
        Socket socket,
        ReadOnlySpan<byte> header,
        ReadOnlySpan<byte> headerDigest,
        ReadOnlySpan<byte> data,
        ReadOnlySpan<byte> padding,
        ReadOnlySpan<byte> dataDigest,
        int stallTimeoutMilliseconds,
        bool more = false)
    {
        bool added = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref added);
            int fd = (int)socket.SafeHandle.DangerousGetHandle();
            fixed (byte* h = header)
            fixed (byte* hd = headerDigest)
            fixed (byte* d = data)
            fixed (byte* p = padding)
            fixed (byte* dd = dataDigest)
            {
                iovec* iov = stackalloc iovec[5];
                int count = 0;
                Add(iov, ref count, h, header.Length);
                Add(iov, ref count, hd, headerDigest.Length);
                Add(iov, ref count, d, data.Length);
                Add(iov, ref count, p, padding.Length);
                Add(iov, ref count, dd, dataDigest.Length);
                return SendAll(fd, iov, count, stallTimeoutMilliseconds, more ? MSG_MORE : 0);
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

    /// <summary>
    /// Sends at once what PDUs sent with <c>more</c> left in the socket (TCP_NODELAY set again pushes the pending
    /// frames); false when the socket is closed.
    /// </summary>
    public static bool Push(Socket socket)
    {
        bool added = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref added);
            int on = 1;
            return setsockopt((int)socket.SafeHandle.DangerousGetHandle(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(int)) == 0;
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

    private static bool SendAll(int fd, iovec* iov, int count, int stallTimeoutMilliseconds, int more)
    {
        msghdr message = default;
        long deadline = 0;
        while (count > 0)
        {
            message.msg_iov = iov;
            message.msg_iovlen = count;
            long sent = sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT | more);
            if (sent < 0)
            {
                int error = errno;
                if (error == EINTR)
                {
                    continue;
                }

                if (error == EAGAIN)
                {
                    // The clock is read only once the send buffer is full: never on the common path.
                    long now = Environment.TickCount64;
                    deadline = deadline == 0 ? now + stallTimeoutMilliseconds : deadline;
                    if (now < deadline && WaitWritable(fd, (int)(deadline - now)))
                    {
                        continue;
                    }
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

    private static bool WaitWritable(int fd, int timeoutMilliseconds)
    {
        pollfd pfd = default;
        pfd.fd = fd;
        pfd.events = POLLOUT;
        while (true)
        {
            int n = poll(&pfd, 1, timeoutMilliseconds);
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
