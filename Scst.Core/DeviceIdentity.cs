// Licensed under the Apache License, Version 2.0.

using System.Numerics;
using System.Text;

namespace Scst.Core;

/// <summary>
/// What a logical unit says about itself in INQUIRY and VPD pages 80h and 83h.
/// </summary>
public sealed record DeviceIdentity
{
    /// <summary>T10 vendor identification, at most 8 ASCII characters. Defaults to "SCST_FIO".</summary>
    public string VendorId { get; init; } = "SCST_FIO";

    /// <summary>Product identification, at most 16 ASCII characters.</summary>
    public string ProductId { get; init; } = "Virtual disk";

    /// <summary>Product revision level, at most 4 ASCII characters.</summary>
    public string ProductRevision { get; init; } = "0100";

    /// <summary>Unit serial number (VPD 80h), printable ASCII.</summary>
    public required string SerialNumber { get; init; }

    /// <summary>The 64-bit device identifier from which the NAA designator is derived.</summary>
    public required ulong DeviceId { get; init; }

    /// <summary>The vendor-specific part of the T10 vendor ID designator (VPD 83h).</summary>
    public required string T10DeviceId { get; init; }

    /// <summary>
    /// Derives identifiers from a device name: the device id is the CRC-32C of the name with its terminating NUL in the
    /// low 32 bits and <paramref name="setupId"/> in the high 32 bits; the serial number is its hexadecimal form.
    /// </summary>
    /// <param name="deviceName">The device name.</param>
    /// <param name="setupId">A number that tells installations apart. Defaults to 0.</param>
    /// <returns>The identity.</returns>
    public static DeviceIdentity FromName(string deviceName, uint setupId = 0)
    {
        ArgumentNullException.ThrowIfNull(deviceName);
        uint crc = 0xFFFFFFFF;
        foreach (byte b in Encoding.UTF8.GetBytes(deviceName))
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        crc = ~BitOperations.Crc32C(crc, (byte)0);
        ulong id = ((ulong)setupId << 32) | crc;
        string hex = id.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        return new DeviceIdentity { DeviceId = id, SerialNumber = hex, T10DeviceId = $"{hex}-{deviceName}" };
    }
}
