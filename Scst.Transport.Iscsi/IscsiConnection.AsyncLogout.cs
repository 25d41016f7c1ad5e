// Licensed under the Apache License, Version 2.0.

using Scst.Transport.Iscsi.Protocol;

namespace Scst.Transport.Iscsi;

/// <summary>
/// The target asks the initiator to log out (Asynchronous Message, AsyncEvent 1, RFC 7143 section 11.9.1) when the
/// driver stops: the initiator logs out within Parameter3 seconds, or the connection is dropped.
/// </summary>
internal sealed partial class IscsiConnection
{
    private int _logoutRequested;
    private volatile bool _fullFeature;

    /// <summary>
    /// Sends the logout request on a full-feature-phase connection of a Normal session; true also when it was asked
    /// already; false when the connection has no SCSI session (login, Discovery) or is gone.
    /// </summary>
    /// <param name="seconds">Parameter3: the seconds the initiator has to log out.</param>
    public bool RequestLogout(ushort seconds)
    {
        if (Scsi is null)
        {
            return false;
        }

        if (Interlocked.Exchange(ref _logoutRequested, 1) != 0)
        {
            return true; // asked already: that request stands
        }

        try
        {
            lock (_sendLock)
            {
                uint exp = ExpCmdSnNow;
                var message = new AsyncMessageHeader
                {
                    Event = AsyncEvent.LogoutRequested,
                    StatSn = NextStatSnLocked(),
                    ExpCmdSn = exp,
                    MaxCmdSn = MaxCmdSn(exp),
                    Parameter3 = seconds,
                };
                message.WriteTo(_sendHeader);
                SendLocked(default);
            }
        }
        catch (ObjectDisposedException)
        {
            return false;
        }

        return true;
    }
}
