// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.Transport.Fcoe.Port;

/// <summary>
/// The I_T nexus of one FCP image pair: an initiator N_Port logged in to a local port with PRLI. Carries the core's
/// callbacks to the port's exchanges: XFER_RDY for write data, Data-In and FCP_RSP for responses.
/// </summary>
internal sealed class FcoeSession : ISessionTransport
{
    private readonly FcoePort _port;
    private int _ended;

    /// <summary>A session for <paramref name="remote"/> on <paramref name="port"/>; <see cref="Open"/> makes it a nexus.</summary>
    public FcoeSession(FcoePort port, RemotePort remote)
    {
        _port = port;
        Remote = remote;
    }

    /// <summary>The initiator port as it was when the image pair was established (its MAC, its receive size).</summary>
    public RemotePort Remote { get; }

    /// <summary>The core's nexus; set by <see cref="Open"/>.</summary>
    public ScsiSession Scsi { get; private set; } = null!;

    /// <summary>True once <see cref="End"/> ran: commands still in the core finish without frames.</summary>
    public bool IsEnded => Volatile.Read(ref _ended) != 0;

    /// <summary>
    /// The SPC-4 TransportID of an FC initiator port (SPC-4 section 7.6.4.2): 24 bytes, protocol identifier 0, the
    /// N_Port_Name at bytes 8 to 15.
    /// </summary>
    public static byte[] TransportIdOf(ulong portName)
    {
        byte[] id = new byte[24];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(id.AsSpan(8), portName);
        return id;
    }

    /// <summary>Opens the nexus on <paramref name="target"/>.</summary>
    public void Open(ScsiTarget target) => Scsi = target.OpenSession(Remote.SessionName, TransportIdOf(Remote.PortName), this);

    /// <summary>Ends the nexus once: the session's exchanges send nothing more and its commands end in the core.</summary>
    public bool End() => Interlocked.Exchange(ref _ended, 1) == 0;

    /// <inheritdoc/>
    public void RequestWriteData(ScsiCommand command) => _port.RequestWriteData(this, command);

    /// <inheritdoc/>
    public void SendResponse(ScsiCommand command) => _port.SendResponse(this, command);

    /// <inheritdoc/>
    public void OnCommandAborted(ScsiCommand command) => _port.OnCommandAborted(command);

    /// <inheritdoc/>
    public void OnAbortWhileReceiving(ScsiCommand command) => FcoePort.OnAbortWhileReceiving(command);
}
