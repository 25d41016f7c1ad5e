// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Transport.Fcoe.Diagnostics;

/// <summary>
/// Writes Ethernet frames to a stream in the classic pcap format (linktype 1, microsecond timestamps, little-endian),
/// so that tshark or Wireshark can dissect what the driver sent and received. Thread-safe: the receive loop and the
/// senders may write at once; each record is written whole under a lock. Off the hot path unless enabled.
/// </summary>
internal sealed class PcapWriter : IDisposable
{
    /// <summary>The classic pcap magic number with microsecond timestamps.</summary>
    public const uint Magic = 0xA1B2_C3D4;

    /// <summary>LINKTYPE_ETHERNET.</summary>
    public const uint LinkTypeEthernet = 1;

    /// <summary>Bytes of the file header.</summary>
    public const int FileHeaderLength = 24;

    /// <summary>Bytes of a record header.</summary>
    public const int RecordHeaderLength = 16;

    /// <summary>The default snapshot length: any jumbo frame whole.</summary>
    public const int DefaultSnapLength = 65_535;

    private readonly Stream _stream;
    private readonly TimeProvider _timeProvider;
    private readonly bool _leaveOpen;
    private readonly Lock _lock = new();
    private bool _disposed;

    /// <summary>Starts a capture on <paramref name="stream"/> by writing the file header.</summary>
    /// <param name="stream">A writable stream, usually a new file.</param>
    /// <param name="timeProvider">The clock of the record timestamps; the system clock when null.</param>
    /// <param name="snapLength">Frames longer than this are cut to it (their original length is kept in the record).</param>
    /// <param name="leaveOpen">Whether <see cref="Dispose"/> leaves <paramref name="stream"/> open.</param>
    public PcapWriter(Stream stream, TimeProvider? timeProvider = null, int snapLength = DefaultSnapLength, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(snapLength, 1);
        _stream = stream;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _leaveOpen = leaveOpen;
        SnapLength = snapLength;

        Span<byte> header = stackalloc byte[FileHeaderLength];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);  // version 2.4
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], 0);   // thiszone: timestamps are UTC
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], 0); // sigfigs
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], (uint)snapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], LinkTypeEthernet);
        _stream.Write(header);
    }

    /// <summary>The snapshot length written in the file header.</summary>
    public int SnapLength { get; }

    /// <summary>Appends one frame stamped with the current time.</summary>
    public void WriteFrame(ReadOnlySpan<byte> frame) => WriteFrame(frame, _timeProvider.GetUtcNow());

    /// <summary>Appends one frame with the given timestamp.</summary>
    public void WriteFrame(ReadOnlySpan<byte> frame, DateTimeOffset timestamp)
    {
        long ticks = (timestamp.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks);
        long seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long remainder);
        int included = Math.Min(frame.Length, SnapLength);

        Span<byte> record = stackalloc byte[RecordHeaderLength];
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)(remainder / TimeSpan.TicksPerMicrosecond));
        BinaryPrimitives.WriteUInt32LittleEndian(record[8..], (uint)included);
        BinaryPrimitives.WriteUInt32LittleEndian(record[12..], (uint)frame.Length);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _stream.Write(record);
            _stream.Write(frame[..included]);
        }
    }

    /// <summary>Flushes the stream.</summary>
    public void Flush()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _stream.Flush();
        }
    }

    /// <summary>Flushes and, unless told to leave it open, closes the stream.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _stream.Flush();
            if (!_leaveOpen)
            {
                _stream.Dispose();
            }
        }
    }
}
