// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Fcoe.Link;

/// <summary>Handles one received frame; the span is valid only during the call.</summary>
/// <param name="frame">The frame, from its Ethernet header.</param>
internal delegate void FrameHandler(ReadOnlySpan<byte> frame);

/// <summary>The receive loop of a link's owner: a port serving the link alone, or the interface its fabric ports share.</summary>
internal static class LinkReceiver
{
    /// <summary>
    /// Reads frames into <paramref name="buffer"/> and hands each to <paramref name="handle"/> until the link ends or
    /// <paramref name="token"/> is cancelled. A frame whose handling throws is reported to <paramref name="fault"/> and
    /// the next one is read: one frame that trips a bug must not stop the link.
    /// </summary>
    public static async Task RunAsync(IFcoeLink link, byte[] buffer, FrameHandler handle, Action<Exception> fault, CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await link.ReceiveAsync(buffer, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (ObjectDisposedException)
            {
                break;
            }

            if (length == 0)
            {
                break;
            }

            try
            {
                handle(buffer.AsSpan(0, length));
            }
#pragma warning disable CA1031 // See the summary: the fault is reported, the loop goes on.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                fault(ex);
            }
        }
    }
}
