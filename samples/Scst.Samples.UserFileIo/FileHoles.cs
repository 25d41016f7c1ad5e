// Licensed under the Apache License, Version 2.0.

using Microsoft.Win32.SafeHandles;
using static Tmds.Linux.LibC;

namespace Scst.Samples.UserFileIo;

/// <summary>Holes in the backing file: punched for UNMAP, found for the provisioning query.</summary>
internal static class FileHoles
{
    // lseek's whence values for sparse files (Linux) and ENXIO, which Tmds.LibC does not name.
    private const int SeekData = 3;
    private const int SeekHole = 4;
    private const int NoDataOrHoleAfter = 6;

    /// <summary>Deallocates a byte range, keeping the file size; the range then reads as zeros.</summary>
    /// <returns>0, or the errno of the failure.</returns>
    public static int PunchHole(SafeFileHandle file, long offset, long length)
    {
        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            int fd = (int)file.DangerousGetHandle();
            int rc;
            do
            {
                rc = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
            }
            while (rc != 0 && errno == EINTR);

            return rc == 0 ? 0 : errno;
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// The run of bytes from <paramref name="offset"/> that are all data or all hole, at most
    /// <paramref name="maxLength"/>. A file system without holes reports data everywhere.
    /// </summary>
    /// <returns>The run's length, or 0 when lseek failed (then <paramref name="mapped"/> is true).</returns>
    public static long FindExtent(SafeFileHandle file, long offset, long maxLength, out bool mapped)
    {
        mapped = true;
        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            int fd = (int)file.DangerousGetHandle();
            long nextData = lseek(fd, offset, SeekData);
            if (nextData < 0)
            {
                // No data at or after the offset (ENXIO): the rest of the file, and the device beyond it, is a hole.
                mapped = errno != NoDataOrHoleAfter;
                return mapped ? 0 : maxLength;
            }

            if (nextData > offset)
            {
                mapped = false;
                return Math.Min(nextData - offset, maxLength);
            }

            long nextHole = lseek(fd, offset, SeekHole);
            return nextHole < 0 ? 0 : Math.Min(nextHole - offset, maxLength);
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
