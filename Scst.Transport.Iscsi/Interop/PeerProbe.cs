// Licensed under the Apache License, Version 2.0.

using System.Net.Sockets;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Scst.Transport.Iscsi.Interop;

/// <summary>Tells whether the peer of a TCP connection has closed it, without taking any byte off the socket.</summary>
internal static unsafe class PeerProbe
{
    /// <summary>
    /// True when the peer's FIN is queued (a non-blocking peek reads end of stream) or the socket is broken; false when
    /// bytes are waiting or nothing is. One atomic call: unlike polling for readability and then asking how many bytes
    /// are available, it cannot mistake bytes that the receive loop takes in between for a close.
    /// </summary>
    public static bool HasClosed(Socket socket)
    {
        bool added = false;
        try
        {
            socket.SafeHandle.DangerousAddRef(ref added);
            int fd = (int)socket.SafeHandle.DangerousGetHandle();
            byte b;
            ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
            if (n > 0)
            {
                return false;
            }

            if (n == 0)
            {
                return true;
            }

            int error = errno;
            return error != EAGAIN && error != EINTR;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
        finally
        {
            if (added)
            {
                socket.SafeHandle.DangerousRelease();
            }
        }
    }
}
