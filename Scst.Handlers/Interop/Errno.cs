// Licensed under the Apache License, Version 2.0.

namespace Scst.Handlers.Interop;

/// <summary>The Linux errno values the I/O engines test or return (asm-generic/errno-base.h, errno.h).</summary>
internal static class Errno
{
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int EBUSY = 16;
    public const int EINVAL = 22;
    public const int ECANCELED = 125;
}
