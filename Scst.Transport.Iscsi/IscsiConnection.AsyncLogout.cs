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

    /// <summary>
    /// Sends the logout request on a full-feature-phase connection of a Normal session; false when the connection has
    /// none (login, Discovery), was asked already, or is gone.
    /// </summary>
    /// <param name="seconds">Parameter3: the seconds the initiator has to log out.</param>
    public bool RequestLogout(ushort seconds)
    {
        if (Scsi is null || Interlocked.Exchange(ref _logoutRequested, 1) != 0)
        {
            return false;
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
