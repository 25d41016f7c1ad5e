// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.Transport.Local;

/// <summary>
/// The in-process target driver (SCST's scst_local): targets on it are reached by <see cref="LocalSession"/>s opened
/// in the same process, with no fabric in between.
/// </summary>
public sealed class LocalTargetDriver : ITargetDriver
{
    /// <summary>The driver's name.</summary>
    public const string DriverName = "scst_local";

    private readonly ScstEngine _engine;

    /// <summary>Creates the driver.</summary>
    /// <param name="engine">The core.</param>
    public LocalTargetDriver(ScstEngine engine) => _engine = engine;

    /// <inheritdoc />
    public string Name => DriverName;

    /// <inheritdoc />
    public byte ProtocolIdentifier => 0x0F;

    /// <summary>Opens a session on one of this driver's targets.</summary>
    /// <param name="targetName">The target name.</param>
    /// <param name="initiatorName">The initiator name the core sees.</param>
    /// <returns>The session.</returns>
    /// <exception cref="ArgumentException">No such target on this driver.</exception>
    public LocalSession OpenSession(string targetName, string initiatorName)
    {
        ScsiTarget target = _engine.FindTarget(DriverName, targetName)
            ?? throw new ArgumentException($"No {DriverName} target named '{targetName}'.", nameof(targetName));
        return new LocalSession(target, initiatorName);
    }
}
