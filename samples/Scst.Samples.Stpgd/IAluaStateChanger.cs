// Licensed under the Apache License, Version 2.0.

using Scst.Events;

namespace Scst.Samples.Stpgd;

/// <summary>Carries out the target group state changes of one STPG event.</summary>
internal interface IAluaStateChanger
{
    /// <summary>How the changes are made, for the log.</summary>
    string Description { get; }

    /// <summary>
    /// Changes the state of every target group the event names and returns the status to report: 0 when every change
    /// was made, otherwise a helper's non-zero exit code or a negated errno (see <see cref="Errno"/>). Never throws.
    /// </summary>
    /// <param name="stpg">The event's payload.</param>
    /// <param name="stopping">Signalled when the agent stops: work still running is abandoned (a helper is killed)
    /// and <see cref="Errno.Interrupted"/> is returned.</param>
    /// <returns>The status.</returns>
    Task<int> ChangeAsync(StpgUserInvokeEvent stpg, CancellationToken stopping);
}
