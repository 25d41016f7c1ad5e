// Licensed under the Apache License, Version 2.0.

using Microsoft.Win32.SafeHandles;

namespace Scst.Handlers;

/// <summary>
/// The medium of a vcdrom drive: an image file opened read-only, seen as whole 2048-byte sectors. The contents are not
/// parsed (any file of at least one sector plays); a partial sector at the end is not part of the medium, as in SCST.
/// </summary>
internal sealed class IsoImage : IDisposable
{
    /// <summary>The logical block size of a CD-ROM (MMC mode 1 data sectors).</summary>
    public const int SectorSize = 2048;

    private IsoImage(string path, SafeFileHandle file, long sectorCount)
    {
        Path = path;
        File = file;
        SectorCount = sectorCount;
    }

    /// <summary>The image's absolute path, as given.</summary>
    public string Path { get; }

    /// <summary>The open file; the handle keeps the image readable until it is disposed.</summary>
    public SafeFileHandle File { get; }

    /// <summary>The number of whole sectors.</summary>
    public long SectorCount { get; }

    /// <summary>Opens an image for a device (a creation parameter or a medium change).</summary>
    /// <param name="device">The device name, for messages.</param>
    /// <param name="path">An absolute path.</param>
    /// <returns>The opened image.</returns>
    /// <exception cref="ArgumentException">The path is relative, or names no readable file of at least one sector.</exception>
    public static IsoImage Open(string device, string path)
    {
        if (!System.IO.Path.IsPathFullyQualified(path))
        {
            throw new ArgumentException($"Device {device}: file path '{path}' is not absolute.");
        }

        if (!System.IO.File.Exists(path))
        {
            throw new ArgumentException($"Device {device}: image file '{path}' does not exist.");
        }

        SafeFileHandle file;
        try
        {
            file = System.IO.File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"Device {device}: image file '{path}' cannot be opened for reading: {ex.Message}", ex);
        }

        long length = RandomAccess.GetLength(file);
        if (length < SectorSize)
        {
            file.Dispose();
            throw new ArgumentException($"Device {device}: image file '{path}' holds {length} bytes, less than one {SectorSize}-byte sector.");
        }

        return new IsoImage(path, file, length / SectorSize);
    }

    /// <inheritdoc />
    public void Dispose() => File.Dispose();
}
