// Licensed under the Apache License, Version 2.0.

using System.Text;

namespace Scst.Core.Management;

/// <summary>
/// Reads the management protocol's frames from a stream: lines ended by '\n' (at most a given length) and byte
/// payloads of a length given beforehand.
/// </summary>
internal sealed class FramedStream(Stream stream)
{
    private readonly byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;

    /// <summary>Reads one line without its '\n' (and '\r'); null at the end of the stream before any byte.</summary>
    /// <exception cref="InvalidDataException">The line is longer than <paramref name="maxLength"/> bytes, or the stream ends inside it.</exception>
    public async ValueTask<string?> ReadLineAsync(int maxLength, CancellationToken cancellationToken)
    {
        var line = new MemoryStream();
        while (true)
        {
            int newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            int take = (newline < 0 ? _end : newline) - _start;
            if (line.Length + take > maxLength)
            {
                throw new InvalidDataException($"a line is longer than {maxLength} bytes");
            }

            line.Write(_buffer, _start, take);
            if (newline >= 0)
            {
                _start = newline + 1;
                return Encoding.UTF8.GetString(line.GetBuffer(), 0, (int)line.Length).TrimEnd('\r');
            }

            _start = _end = 0;
            int n = await stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return line.Length == 0 ? null : throw new InvalidDataException("the stream ended inside a line");
            }

            _end = n;
        }
    }

    /// <summary>Reads exactly <paramref name="length"/> bytes.</summary>
    /// <exception cref="EndOfStreamException">The stream ended first.</exception>
    public async ValueTask<byte[]> ReadBytesAsync(int length, CancellationToken cancellationToken)
    {
        byte[] payload = new byte[length];
        int have = Math.Min(length, _end - _start);
        Array.Copy(_buffer, _start, payload, 0, have);
        _start += have;
        if (have < length)
        {
            await stream.ReadExactlyAsync(payload.AsMemory(have), cancellationToken).ConfigureAwait(false);
        }

        return payload;
    }
}
