// Licensed under the Apache License, Version 2.0.

namespace Scst.Core.Spc.Reservations;

/// <summary>
/// One registration of persistent reservations: an I_T nexus (initiator port TransportID and relative target port
/// identifier, or every target port when <see cref="AllTargetPorts"/>) and its reservation key. Immutable; a new key is
/// a new object.
/// </summary>
/// <remarks>
/// A registration belongs to the I_T nexus identity, not to a session: it survives the session's end and matches the
/// next session of the same initiator port through the same target port.
/// </remarks>
internal sealed class Registration(byte[] transportId, ushort relativeTargetPortId, ulong key, bool allTargetPorts)
{
    /// <summary>The initiator port's TransportID, as the driver or the SPEC_I_PT list gave it.</summary>
    public byte[] TransportId { get; } = transportId;

    /// <summary>The relative target port identifier of the nexus (the port the registration came through for ALL_TG_PT).</summary>
    public ushort RelativeTargetPortId { get; } = relativeTargetPortId;

    /// <summary>The reservation key; never zero.</summary>
    public ulong Key { get; } = key;

    /// <summary>Whether the registration covers every target port (ALL_TG_PT).</summary>
    public bool AllTargetPorts { get; } = allTargetPorts;

    /// <summary>Whether the registration covers the I_T nexus of <paramref name="session"/>.</summary>
    public bool Covers(ScsiSession session) => Covers(session.TransportId.Span, session.Target.RelativeTargetPortId);

    /// <summary>Whether the registration covers the I_T nexus of an initiator port and a target port.</summary>
    public bool Covers(ReadOnlySpan<byte> transportId, ushort relativeTargetPortId) =>
        (AllTargetPorts || RelativeTargetPortId == relativeTargetPortId) && TransportIdentifier.SameInitiatorPort(TransportId, transportId);

    /// <summary>The same nexus with another key.</summary>
    public Registration WithKey(ulong key) => new(TransportId, RelativeTargetPortId, key, AllTargetPorts);
}
