// Licensed under the Apache License, Version 2.0.

using Microsoft.Win32.SafeHandles;
using static Tmds.Linux.LibC;

namespace Scst.Handlers.Interop;

/// <summary>Space management of backing files: punching holes (UNMAP).</summary>
internal static class FileSpace
{
    /// <summary>Deallocates a byte range without changing the file size; the range then reads as zeros.</summary>
    /// <returns>0, or the errno of the failure.</returns>
    public static int PunchHole(SafeFileHandle file, long offset, long length)
    {
        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            int fd = (int)file.DangerousGetHandle();
            while (true)
            {
                int rc = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
                if (rc == 0)
                {
                    return 0;
                }

                int error = errno;
                if (error != EINTR)
                {
                    return error;
                }
            }
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
