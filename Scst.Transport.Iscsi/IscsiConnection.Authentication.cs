// Licensed under the Apache License, Version 2.0.

using System.Net;
using Scst.Transport.Iscsi.Protocol;
using Scst.Transport.Iscsi.Security;

namespace Scst.Transport.Iscsi;

internal sealed partial class IscsiConnection
{
    // The failure response of a login that failed authentication, held back by the driver's throttle. Set by the receive
    // loop, which then stops reading and sends it after the delay (SendHeldLoginFailureAsync).
    private (LoginStep Step, TimeSpan Delay)? _heldLoginFailure;

    /// <summary>Where the login finds the credentials: the driver's options, read at each login.</summary>
    private LoginSecurity CreateLoginSecurity()
    {
        ChapOptions chap = _driver.Options.Chap;
        return new LoginSecurity
        {
            FindCredentials = (type, target) => chap.Find(type == SessionType.Discovery, target),
            Algorithms = [.. chap.Algorithms],
        };
    }

    /// <summary>
    /// Logs the authentication outcome of a login step and registers a failure with the throttle. Returns true when the
    /// failure response must be held back: it is then sent by <see cref="SendHeldLoginFailureAsync"/>, not now.
    /// </summary>
    private bool HoldBackLoginResponse(LoginStep step)
    {
        LoginAuthentication authentication = _login!.Authentication;
        if (step.Progress == LoginProgress.Completed && authentication.Authenticated)
        {
            Log.Authenticated(_logger, _login.InitiatorName, _remote, authentication.UserName, authentication.Algorithm, authentication.Mutual);
            return false;
        }

        if (step.Progress != LoginProgress.Failed || step.Header.Status != LoginStatus.AuthenticationFailure)
        {
            return false;
        }

        Log.AuthenticationFailed(_logger, _login.InitiatorName, _remote, authentication.UserName, authentication.Failure.Describe());
        if (_remote is not IPEndPoint remote)
        {
            return false;
        }

        TimeSpan delay = _driver.AuthenticationThrottle.RegisterFailure(remote.Address);
        if (delay <= TimeSpan.Zero)
        {
            return false;
        }

        Log.AuthenticationFailureDelayed(_logger, _remote, delay, remote.Address);
        _heldLoginFailure = (step, delay);
        return true;
    }

    /// <summary>Sends the held-back failure response, if any, once its delay has passed; the connection then closes.</summary>
    private async Task SendHeldLoginFailureAsync()
    {
        if (_heldLoginFailure is not { } held)
        {
            return;
        }

        _heldLoginFailure = null;
        await _driver.AuthenticationThrottle.DelayAsync(held.Delay, _abort.Token).ConfigureAwait(false);
        lock (_sendLock)
        {
            held.Step.Header.WriteTo(_sendHeader);
            SendLocked(held.Step.Data.Span);
        }
    }
}
