// Licensed under the Apache License, Version 2.0.

using System.Net.Sockets;
using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Scst.Events.Remote.Interop;

/// <summary>The few Linux calls the endpoint needs beyond System.Net.Sockets: peer credentials, ownership, file type.</summary>
internal static unsafe class UnixSocketInterop
{
    /// <summary>Reads the connected peer's credentials (SO_PEERCRED: the uid and gid it had when it connected).</summary>
    /// <returns>0, or the errno of the failure.</returns>
    public static int GetPeerCredentials(Socket socket, out int pid, out uint uid, out uint gid)
    {
        pid = 0;
        uid = uint.MaxValue;
        gid = uint.MaxValue;
        var handle = socket.SafeHandle;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            ucred credentials = default;
            socklen_t length = sizeof(ucred);
            if (getsockopt((int)handle.DangerousGetHandle(), SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0)
            {
                return errno;
            }

            pid = credentials.pid;
            uid = credentials.uid;
            gid = credentials.gid;
            return 0;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>Gets this process's effective uid.</summary>
    public static uint GetEffectiveUserId() => geteuid();

    /// <summary>Changes the group of <paramref name="path"/> (not following a symbolic link); the owner stays.</summary>
    /// <returns>0, or the errno of the failure.</returns>
    public static int ChangeGroup(string path, uint gid)
    {
        var bytes = NulTerminated(path);
        fixed (byte* p = bytes)
        {
            return lchown(p, uint.MaxValue, gid) == 0 ? 0 : errno;
        }
    }

    /// <summary>Tells whether <paramref name="path"/> names a socket (not following a symbolic link).</summary>
    /// <returns><see langword="null"/> when nothing is there; otherwise whether it is a socket.</returns>
    public static bool? IsSocket(string path)
    {
        var bytes = NulTerminated(path);
        statx status = default;
        fixed (byte* p = bytes)
        {
            if (statx(AT_FDCWD, p, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &status) != 0)
            {
                return errno == ENOENT ? null : false;
            }
        }

        return (status.stx_mode & S_IFMT) == S_IFSOCK;
    }

    private static byte[] NulTerminated(string value)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, bytes);
        return bytes;
    }
}
