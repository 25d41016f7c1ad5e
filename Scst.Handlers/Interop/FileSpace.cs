// Licensed under the Apache License, Version 2.0.

using Microsoft.Win32.SafeHandles;
using static Tmds.Linux.LibC;

namespace Scst.Handlers.Interop;

/// <summary>Space management of backing files: punching holes (UNMAP), finding them (GET LBA STATUS), read-ahead (PRE-FETCH).</summary>
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

    // lseek whence values for sparse files (Linux <unistd.h>); Tmds.LibC has no constants for them.
    private const int SeekData = 3;
    private const int SeekHole = 4;
    private const int NoSuchAddress = 6; // ENXIO: no data (or no hole) at or after the offset
    private const int WillNeedAdvice = 3; // POSIX_FADV_WILLNEED

    /// <summary>
    /// Finds the run of bytes from <paramref name="offset"/> that are all data (mapped) or all hole (deallocated),
    /// with SEEK_DATA and SEEK_HOLE. A file system without hole support reports everything as data.
    /// </summary>
    /// <returns>The run length, capped at <paramref name="maxLength"/>; 0 when lseek failed (the caller then assumes mapped).</returns>
    public static long FindExtent(SafeFileHandle file, long offset, long maxLength, out bool mapped)
    {
        mapped = true;
        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            int fd = (int)file.DangerousGetHandle();
            long data = lseek(fd, offset, SeekData);
            if (data < 0)
            {
                // ENXIO: only a hole remains up to the end of the file (and beyond it, where the device may extend).
                if (errno != NoSuchAddress)
                {
                    return 0;
                }

                mapped = false;
                return maxLength;
            }

            if (data > offset)
            {
                mapped = false;
                return Math.Min(data - offset, maxLength);
            }

            long hole = lseek(fd, offset, SeekHole);
            return hole < 0 ? 0 : Math.Min(hole - offset, maxLength);
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    /// <summary>Asks the kernel to read a byte range into the page cache (POSIX_FADV_WILLNEED); does not wait.</summary>
    public static void WillNeed(SafeFileHandle file, long offset, long length)
    {
        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            _ = posix_fadvise((int)file.DangerousGetHandle(), offset, length, WillNeedAdvice);
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
