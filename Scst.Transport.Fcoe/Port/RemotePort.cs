// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Fcoe.Protocol;

namespace Scst.Transport.Fcoe.Port;

/// <summary>
/// What the local N_Port knows of one remote N_Port: its names and address, whether it is logged in (PLOGI done) with
/// the receive size and class-3 parameters agreed, and whether an FCP image pair is established (PRLI done) with the
/// FCP service parameters it asked for. Immutable: the <see cref="RemotePortTable"/> replaces an entry to change it,
/// so a reader never sees half an update.
/// </summary>
internal sealed record RemotePort
{
    /// <summary>The remote N_Port_ID (24 bits).</summary>
    public required uint PortId { get; init; }

    /// <summary>The remote WWPN.</summary>
    public required ulong PortName { get; init; }

    /// <summary>The remote WWNN.</summary>
    public required ulong NodeName { get; init; }

    /// <summary>The MAC address the remote port sends from (its VN_Port MAC in VN2VN).</summary>
    public required MacAddress Mac { get; init; }

    /// <summary>True once a PLOGI has been accepted (either way).</summary>
    public bool LoggedIn { get; init; }

    /// <summary>The largest payload we may send to this port: the smaller of its receive sizes and ours.</summary>
    public int MaxPayload { get; init; }

    /// <summary>The service parameters the port sent in its PLOGI (class 3 among them).</summary>
    public ServiceParameters LoginParameters { get; init; }

    /// <summary>True while an FCP image pair is established (PRLI with EST_IMG_PAIR accepted, no PRLO/LOGO since).</summary>
    public bool ImagePairEstablished { get; init; }

    /// <summary>The FCP service parameters of the port's PRLI page (initiator function, READ XFER_RDY disabled, ...).</summary>
    public uint FcpParameters { get; init; }

    /// <summary>When the last link service frame from this port was handled.</summary>
    public DateTimeOffset LastActivity { get; init; }

    /// <summary>The SCST session name of this port: its WWPN in colon form, e.g. <c>21:00:00:24:ff:31:4c:5a</c>.</summary>
    public string SessionName => FormatWwn(PortName);

    /// <summary>A WWN as eight lower-case hex bytes separated by colons, the form SCST names FC sessions with.</summary>
    public static string FormatWwn(ulong wwn) => string.Create(23, wwn, static (chars, value) =>
    {
        for (int i = 0; i < 8; i++)
        {
            byte b = (byte)(value >> (56 - (8 * i)));
            int at = i * 3;
            chars[at] = ToHex(b >> 4);
            chars[at + 1] = ToHex(b & 0xF);
            if (i < 7)
            {
                chars[at + 2] = ':';
            }
        }
    });

    private static char ToHex(int nibble) => (char)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);
}
