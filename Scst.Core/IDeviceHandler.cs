// Licensed under the Apache License, Version 2.0.

namespace Scst.Core;

/// <summary>
/// A device handler as SCST knows it (vdisk_fileio, vdisk_nullio...): makes devices from a name and parameters.
/// Registered in DI with <c>TryAddEnumerable</c>; the core finds it by <see cref="Name"/>.
/// </summary>
public interface IDeviceHandler
{
    /// <summary>The handler's name, as SCST spells it.</summary>
    string Name { get; }

    /// <summary>The SCSI peripheral device type of the devices it makes.</summary>
    PeripheralDeviceType DeviceType { get; }

    /// <summary>
    /// Required. Creates a device. Called on a management path (start-up, the admin endpoint), never on the command
    /// path, so it may block on file opens.
    /// </summary>
    /// <param name="name">The device name.</param>
    /// <param name="parameters">SCST's add_device parameters (filename, blocksize, read_only, nv_cache...).</param>
    /// <returns>The device, not yet registered.</returns>
    /// <exception cref="ArgumentException">A parameter is missing, unknown or malformed; the message names it.</exception>
    ScsiDevice CreateDevice(string name, IReadOnlyDictionary<string, string> parameters);
}
