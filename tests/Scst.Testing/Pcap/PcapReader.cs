// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Testing.Pcap;

/// <summary>One record of a capture: when, the captured bytes, and the frame's length on the wire.</summary>
public sealed record PcapRecord(DateTimeOffset Timestamp, byte[] Data, int OriginalLength)
{
    /// <summary>The record's position in the file, from 0.</summary>
    public int Index { get; init; }
}

/// <summary>
/// Reads classic pcap files (not pcapng) with Ethernet frames (linktype 1): either byte order, microsecond or
/// nanosecond timestamps. Anything else is refused with <see cref="InvalidDataException"/>, as is a truncated file.
/// </summary>
public static class PcapReader
{
    private const uint MagicMicroseconds = 0xA1B2_C3D4;
    private const uint MagicNanoseconds = 0xA1B2_3C4D;
    private const uint LinkTypeEthernet = 1;
    private const int FileHeaderLength = 24;
    private const int RecordHeaderLength = 16;

    /// <summary>Reads every record of the file at <paramref name="path"/>.</summary>
    public static IReadOnlyList<PcapRecord> ReadFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Read(stream);
    }

    /// <summary>Reads every record from <paramref name="stream"/> to its end.</summary>
    public static IReadOnlyList<PcapRecord> Read(Stream stream)
    {
        Span<byte> header = stackalloc byte[FileHeaderLength];
        if (!ReadExactly(stream, header))
        {
            throw new InvalidDataException("The file is shorter than a pcap file header.");
        }

        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(header);
        bool bigEndian;
        bool nanoseconds;
        if (magic is MagicMicroseconds or MagicNanoseconds)
        {
            bigEndian = false;
            nanoseconds = magic == MagicNanoseconds;
        }
        else if (BinaryPrimitives.ReverseEndianness(magic) is MagicMicroseconds or MagicNanoseconds)
        {
            bigEndian = true;
            nanoseconds = BinaryPrimitives.ReverseEndianness(magic) == MagicNanoseconds;
        }
        else
        {
            throw new InvalidDataException($"Not a classic pcap file (magic 0x{magic:x8}).");
        }

        uint linkType = ReadUInt32(header[20..], bigEndian) & 0x0FFF_FFFF;
        if (linkType != LinkTypeEthernet)
        {
            throw new InvalidDataException($"Link type {linkType} is not Ethernet (1).");
        }

        var records = new List<PcapRecord>();
        Span<byte> recordHeader = stackalloc byte[RecordHeaderLength];
        while (true)
        {
            int got = stream.ReadAtLeast(recordHeader, RecordHeaderLength, throwOnEndOfStream: false);
            if (got == 0)
            {
                return records;
            }

            if (got < RecordHeaderLength)
            {
                throw new InvalidDataException($"Record {records.Count} has a truncated header.");
            }

            uint seconds = ReadUInt32(recordHeader, bigEndian);
            uint fraction = ReadUInt32(recordHeader[4..], bigEndian);
            int included = checked((int)ReadUInt32(recordHeader[8..], bigEndian));
            int original = checked((int)ReadUInt32(recordHeader[12..], bigEndian));
            var data = new byte[included];
            if (!ReadExactly(stream, data))
            {
                throw new InvalidDataException($"Record {records.Count} is truncated ({included} bytes announced).");
            }

            long ticks = nanoseconds ? fraction / 100 : fraction * TimeSpan.TicksPerMicrosecond;
            var timestamp = DateTimeOffset.UnixEpoch.AddSeconds(seconds).AddTicks(ticks);
            records.Add(new PcapRecord(timestamp, data, original) { Index = records.Count });
        }
    }

    private static uint ReadUInt32(ReadOnlySpan<byte> source, bool bigEndian) =>
        bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(source) : BinaryPrimitives.ReadUInt32LittleEndian(source);

    private static bool ReadExactly(Stream stream, Span<byte> buffer) =>
        stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false) == buffer.Length;
}
