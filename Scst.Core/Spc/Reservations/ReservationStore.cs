// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Scst.Core.Spc.Reservations;

/// <summary>
/// The APTPL file of a device: the persistent reservation state that must survive a power loss, written atomically and
/// read back at registration.
/// </summary>
/// <remarks>
/// A versioned text format, one record per line, closed by a SHA-256 of everything before it:
/// <code>
///  scst-pr 1
///  generation 7
///  reservation 1 0                       type, index of the holder registration (-1 for all-registrants types)
///  registrant 1 0123456789ABCDEF 0 05...  relative target port id, key, ALL_TG_PT, TransportID in hex
///  sha256 9F86D0...
/// </code>
/// "reservation 0 -1" means no reservation. The file exists only while APTPL is set, so APTPL is implied. It is written
/// to a temporary file that is flushed to disk, renamed over the old one, and the directory is flushed, so a crash leaves
/// the old file or the new one. A file that is torn, has a bad checksum, an unknown version or any malformed record is
/// refused as a whole.
/// </remarks>
internal static partial class ReservationStore
{
    public const string FileExtension = ".pr";
    private const string Magic = "scst-pr";
    private const int Version = 1;
    private const string ChecksumTag = "sha256 ";

    /// <summary>Writes <paramref name="state"/> to <paramref name="path"/> atomically.</summary>
    /// <exception cref="IOException">The file could not be written.</exception>
    public static void Save(string path, ReservationSnapshot state)
    {
        string body = Format(state);
        byte[] text = Encoding.ASCII.GetBytes(body + ChecksumTag + Checksum(body) + "\n");
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        bool created = CreateDirectory(directory);
        string temp = path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(text);
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
        SyncDirectory(directory);
        if (created)
        {
            SyncDirectory(Path.GetDirectoryName(directory)!);
        }
    }

    /// <summary>
    /// Creates <paramref name="directory"/> when it is missing. Returns true when it did: the parent directory must then
    /// be flushed too, or a power loss could lose the new directory with the file in it.
    /// </summary>
    internal static bool CreateDirectory(string directory)
    {
        if (Directory.Exists(directory))
        {
            return false;
        }

        Directory.CreateDirectory(directory);
        return true;
    }

    /// <summary>Removes the file, if any, and makes the removal durable.</summary>
    public static void Delete(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
            SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        }
    }

    /// <summary>
    /// Reads a saved state. Returns null with no error when there is no file; null with <paramref name="error"/> set when
    /// the file cannot be read or is damaged.
    /// </summary>
    public static ReservationSnapshot? TryLoad(string path, out string? error)
    {
        error = null;
        string text;
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }

            byte[] bytes = File.ReadAllBytes(path);
            if (Array.Exists(bytes, b => b > 0x7F))
            {
                error = "not an ASCII text file";
                return null;
            }

            text = Encoding.ASCII.GetString(bytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error = ex.Message;
            return null;
        }

        ReservationSnapshot? state = Parse(text, out error);
        return error is null ? state : null;
    }

    internal static string Format(ReservationSnapshot state)
    {
        var b = new StringBuilder();
        ReadOnlySpan<Registration> registrations = state.Registrations;
        int holder = -1;
        for (int i = 0; i < registrations.Length; i++)
        {
            if (ReferenceEquals(registrations[i], state.Holder))
            {
                holder = i;
            }
        }

        b.Append(CultureInfo.InvariantCulture, $"{Magic} {Version}\n");
        b.Append(CultureInfo.InvariantCulture, $"generation {state.Generation}\n");
        b.Append(CultureInfo.InvariantCulture, $"reservation {(int)state.Type} {holder}\n");
        foreach (Registration r in registrations)
        {
            b.Append(CultureInfo.InvariantCulture, $"registrant {r.RelativeTargetPortId} {r.Key:X16} {(r.AllTargetPorts ? 1 : 0)} {Convert.ToHexString(r.TransportId)}\n");
        }

        return b.ToString();
    }

    internal static ReservationSnapshot? Parse(string text, out string? error)
    {
        error = null;
        int checksumAt = text.LastIndexOf(ChecksumTag, StringComparison.Ordinal);
        if (checksumAt <= 0 || text[checksumAt - 1] != '\n' || !text.EndsWith('\n'))
        {
            error = "no checksum line (the file is torn)";
            return null;
        }

        string body = text[..checksumAt];
        string stored = text[(checksumAt + ChecksumTag.Length)..^1];
        if (!string.Equals(stored, Checksum(body), StringComparison.OrdinalIgnoreCase))
        {
            error = "checksum mismatch";
            return null;
        }

        string[] lines = body.Split('\n');
        if (lines.Length < 4 || lines[^1].Length != 0)
        {
            error = "too few records";
            return null;
        }

        if (lines[0] != $"{Magic} {Version}")
        {
            error = $"unknown format '{lines[0]}'";
            return null;
        }

        string[] generation = lines[1].Split(' ');
        string[] reservation = lines[2].Split(' ');
        if (generation.Length != 2 || generation[0] != "generation" || !uint.TryParse(generation[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint gen) ||
            reservation.Length != 3 || reservation[0] != "reservation" ||
            !int.TryParse(reservation[1], NumberStyles.None, CultureInfo.InvariantCulture, out int type) ||
            !int.TryParse(reservation[2], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int holder))
        {
            error = "malformed generation or reservation record";
            return null;
        }

        var registrations = new List<Registration>();
        for (int i = 3; i < lines.Length - 1; i++)
        {
            Registration? r = ParseRegistrant(lines[i]);
            if (r is null)
            {
                error = $"malformed registrant record {i - 2}";
                return null;
            }

            registrations.Add(r);
        }

        if (registrations.Count > ReservationState.MaxRegistrations)
        {
            error = "too many registrations";
            return null;
        }

        var reservationType = (PersistentReservationType)type;
        bool consistent = type == 0
            ? holder == -1
            : PersistentReservationTypes.IsSupported(type) && registrations.Count > 0 &&
              (reservationType.IsAllRegistrants() ? holder == -1 : holder >= 0 && holder < registrations.Count);
        if (!consistent)
        {
            error = "the reservation does not fit the registrations";
            return null;
        }

        Registration? holderRegistration = holder >= 0 ? registrations[holder] : null;
        return new ReservationSnapshot(null, [.. registrations], reservationType, holderRegistration, gen, aptpl: true);
    }

    private static Registration? ParseRegistrant(string line)
    {
        string[] f = line.Split(' ');
        if (f.Length != 5 || f[0] != "registrant" ||
            !ushort.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out ushort port) ||
            f[2].Length != 16 || !ulong.TryParse(f[2], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong key) || key == 0 ||
            f[3] is not ("0" or "1") || f[4].Length % 2 != 0)
        {
            return null;
        }

        byte[] transportId;
        try
        {
            transportId = Convert.FromHexString(f[4]);
        }
        catch (FormatException)
        {
            return null;
        }

        return TransportIdentifier.IsValid(transportId) ? new Registration(transportId, port, key, f[3] == "1") : null;
    }

    private static string Checksum(string body) => Convert.ToHexString(SHA256.HashData(Encoding.ASCII.GetBytes(body)));

    // A rename is durable only once the directory that holds the name is flushed; .NET cannot open a directory, so
    // this goes to libc.
    /// <summary>Flushes a directory's entries to disk (a rename or a new file in it becomes durable).</summary>
    internal static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        int fd = Interop.Open(directory, Interop.ReadOnly);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory {directory} to flush it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Interop.FSync(fd) != 0)
            {
                throw new IOException($"Cannot flush directory {directory} (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Interop.Close(fd);
        }
    }

    private static partial class Interop
    {
        public const int ReadOnly = 0; // O_RDONLY; a directory opens read-only without O_DIRECTORY, whose value differs by architecture

        [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static partial int FSync(int fd);

        [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
        public static partial int Close(int fd);
    }
}
