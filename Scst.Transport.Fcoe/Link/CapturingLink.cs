// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Fcoe.Diagnostics;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Link;

/// <summary>
/// A link that records every frame it sends and receives to a pcap file, around another link. Frames are written
/// under a lock in the order they pass; the file is flushed when the link is disposed.
/// </summary>
internal sealed class CapturingLink : IFcoeLink
{
    private readonly IFcoeLink _inner;
    private readonly PcapWriter _writer;
    private readonly Lock _lock = new();
    private bool _closed;

    /// <summary>Wraps <paramref name="inner"/>; the capture goes to <paramref name="writer"/>, which this link disposes.</summary>
    public CapturingLink(IFcoeLink inner, PcapWriter writer)
    {
        _inner = inner;
        _writer = writer;
    }

    /// <inheritdoc/>
    public string Name => _inner.Name;

    /// <inheritdoc/>
    public MacAddress Address => _inner.Address;

    /// <inheritdoc/>
    public int Mtu => _inner.Mtu;

    /// <inheritdoc/>
    public void AddUnicastAddress(MacAddress address) => _inner.AddUnicastAddress(address);

    /// <inheritdoc/>
    public void RemoveUnicastAddress(MacAddress address) => _inner.RemoveUnicastAddress(address);

    /// <inheritdoc/>
    public void JoinMulticast(MacAddress group) => _inner.JoinMulticast(group);

    /// <inheritdoc/>
    public bool Send(ReadOnlySpan<byte> frame)
    {
        bool sent = _inner.Send(frame);
        if (sent)
        {
            Record(frame);
        }

        return sent;
    }

    /// <inheritdoc/>
    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int length = await _inner.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (length > 0)
        {
            Record(buffer.Span[..length]);
        }

        return length;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _inner.DisposeAsync().ConfigureAwait(false);
        lock (_lock)
        {
            _closed = true;
            _writer.Dispose();
        }
    }

    private void Record(ReadOnlySpan<byte> frame)
    {
        lock (_lock)
        {
            if (!_closed)
            {
                _writer.WriteFrame(frame);
            }
        }
    }
}
