// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Logging;
using Scst.Transport.Fcoe.Fip;
using Scst.Transport.Fcoe.Link;
using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Port;

/// <summary>
/// The Ethernet interface that the fabric-mode ports on it share: one link, one receive loop and one ENode
/// (<see cref="FabricController"/>), each port a VN_Port of it (the first logged in with FLOGI, the others with FDISC),
/// as an FC HBA with NPIV carries several N_Port_IDs on one physical port. FIP frames go to the ENode; an FCoE frame
/// goes to the port whose FPMA it is sent to, on the receiving thread, without a copy.
/// </summary>
/// <remarks>
/// The ports are made with this interface (<see cref="FcoePort"/>'s <c>shared</c> argument) on <see cref="Link"/>;
/// a port attaches itself when it starts and detaches when it is disposed, its VN_Port logging out alone. The
/// interface owns the link: <see cref="DisposeAsync"/> stops the ENode and the receive loop and closes the link.
/// </remarks>
internal sealed partial class FabricInterface : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly byte[] _receiveBuffer = new byte[FcoeFrame.MaxTaggedFrameLength + 64];
    private readonly CancellationTokenSource _stopping = new();

    // The attached ports, replaced whole under _lock: the receive loop reads it without a lock.
    private volatile FcoePort[] _ports = [];
    private Task? _receiveLoop;
    private long _framesDropped;
    private bool _disposed;

    /// <summary>The interface on <paramref name="link"/>, whose ENode is made from <paramref name="options"/>.</summary>
    public FabricInterface(IFcoeLink link, FabricOptions options, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(link);
        Link = link;
        Controller = new FabricController(link, options, time);
        _logger = logger;
    }

    /// <summary>The link the ports share.</summary>
    public IFcoeLink Link { get; }

    /// <summary>The ENode of the interface.</summary>
    public FabricController Controller { get; }

    /// <summary>The ports attached (started and not disposed).</summary>
    public IReadOnlyList<FcoePort> Ports => _ports;

    /// <summary>FCoE frames no attached port was up to take, and frames too short to read.</summary>
    public long FramesDropped => Interlocked.Read(ref _framesDropped);

    /// <summary>Starts the receive loop, unless told not to (a test that hands frames in itself); once.</summary>
    public void Start(bool receiveLoop = true)
    {
        if (receiveLoop && _receiveLoop is null)
        {
            _receiveLoop = Task.Run(ReceiveLoopAsync);
        }
    }

    /// <summary>Hands one received Ethernet frame to the ENode (FIP) or to its port (FCoE); the receive loop calls it, tests may too.</summary>
    public void HandleFrame(ReadOnlySpan<byte> frame)
    {
        if (!Ethernet.TryReadHeader(frame, out ushort etherType, out _, out _))
        {
            Interlocked.Increment(ref _framesDropped);
            return;
        }

        if (etherType == EtherType.Fip)
        {
            Controller.HandleFip(frame);
            return;
        }

        var destination = MacAddress.Read(frame);
        foreach (var port in _ports)
        {
            if (port.PortId is not null && port.LocalMac == destination)
            {
                port.HandleFrame(frame);
                return;
            }
        }

        Interlocked.Increment(ref _framesDropped);
    }

    internal void Attach(FcoePort port)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (Array.IndexOf(_ports, port) < 0)
            {
                _ports = [.. _ports, port];
            }
        }
    }

    internal void Detach(FcoePort port)
    {
        lock (_lock)
        {
            _ports = Array.FindAll(_ports, p => p != port);
        }
    }

    /// <summary>Stops the ENode (each VN_Port still up logs out) and the receive loop, and closes the link.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        Controller.Dispose();
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Link.DisposeAsync().ConfigureAwait(false);
        if (_receiveLoop is not null)
        {
            try
            {
                await _receiveLoop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _stopping.Dispose();
    }

    private Task ReceiveLoopAsync() =>
        Fcoe.Link.LinkReceiver.RunAsync(Link, _receiveBuffer, HandleFrame, ex => Log.FrameFailed(_logger, Link.Name, ex), _stopping.Token);

    private static partial class Log
    {
        [LoggerMessage(EventId = FcoeEventIds.InterfaceFrameFailed, Level = LogLevel.Error, Message = "FCoE interface {Interface}: handling a frame failed")]
        public static partial void FrameFailed(ILogger logger, string @interface, Exception exception);
    }
}
