// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.Transport.Local;

/// <summary>What a command submitted through a <see cref="LocalSession"/> returned.</summary>
/// <param name="Outcome">Status and, for CHECK CONDITION, the sense code and fields.</param>
/// <param name="TransferredLength">Bytes moved between the caller's buffer and the target.</param>
/// <param name="ResidualCount">The residual count.</param>
/// <param name="Overflow">The CDB asked for more data than the caller's buffer held.</param>
/// <param name="Underflow">Less data moved than the caller's buffer held.</param>
/// <param name="Aborted">A task management function aborted the command; no status was returned.</param>
public readonly record struct LocalResult(CommandOutcome Outcome, int TransferredLength, int ResidualCount, bool Overflow, bool Underflow, bool Aborted)
{
    /// <summary>The status.</summary>
    public ScsiStatus Status => Outcome.Status;
}
