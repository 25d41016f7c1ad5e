// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.Handlers;

/// <summary>
/// SCST's vcdrom handler: CD-ROM drives (peripheral device type 05h) that play ISO images, always write-protected and
/// removable, with 2048-byte logical blocks.
/// </summary>
/// <remarks>
/// Parameters: <c>filename</c> (optional: the absolute path of the ISO image loaded at creation; without it the drive
/// starts empty, as SCST's does, and every medium access gets NOT READY, MEDIUM NOT PRESENT); <c>tst</c> (0: one task
/// set shared by every initiator; 1, the default: one per I_T nexus). The <c>filename</c> attribute changes the medium
/// afterwards (an empty value ejects it); a missing file is never created.
/// </remarks>
public sealed class VcdromHandler : IDeviceHandler
{
    /// <summary>The handler's name.</summary>
    public const string HandlerName = "vcdrom";

    /// <inheritdoc />
    public string Name => HandlerName;

    /// <inheritdoc />
    public PeripheralDeviceType DeviceType => PeripheralDeviceType.CdDvd;

    /// <inheritdoc />
    public ScsiDevice CreateDevice(string name, IReadOnlyDictionary<string, string> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var p = new DeviceParameters(name, parameters);
        string? filename = p.GetString("filename");
        int tst = p.GetInt("tst", 1, 0, 1);
        p.RejectUnknown();

        IsoImage? image = string.IsNullOrWhiteSpace(filename) ? null : IsoImage.Open(name, filename);
        return new VcdromDevice(name, image, singleTaskSet: tst == 0);
    }
}
