// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Numerics;
using System.Text;

namespace Scst.Core;

/// <summary>
/// What a logical unit says about itself in standard INQUIRY data and in VPD pages 80h and 83h: SCST's vdisk identity
/// attributes (<c>t10_vend_id</c>, <c>prod_id</c>, <c>prod_rev_lvl</c>, <c>usn</c>, <c>t10_dev_id</c>,
/// <c>vend_specific_id</c>, <c>scsi_device_name</c>, <c>eui64_id</c>, <c>naa_id</c>, <c>inq_vend_specific</c>).
/// </summary>
/// <remarks>
/// VPD page 83h lists, as SCST's vdisk does: a SCSI name string designator when <see cref="ScsiDeviceName"/> is set;
/// the T10 vendor ID designator (<see cref="VendorId"/> then <see cref="VendorSpecificId"/>); the relative target port
/// and target port group; then an EUI-64 designator of <see cref="Eui64Id"/> and an NAA designator of
/// <see cref="NaaId"/> when set. When neither is set, the first eight bytes of <see cref="T10DeviceId"/> are reported
/// as an EUI-64 designator (SCST's compatibility mode), so that an existing installation keeps the identifier its
/// initiators know.
/// </remarks>
public sealed record DeviceIdentity
{
    /// <summary>The product revision level SCST's vdisk reports by default (<c>prod_rev_lvl</c>).</summary>
    public const string DefaultProductRevision = "3110";

    /// <summary>The T10 vendor identification SCST's vdisk_fileio and vdisk_nullio report by default.</summary>
    public const string DefaultVendorId = "SCST_FIO";

    /// <summary>The longest <see cref="T10DeviceId"/> (SCST keeps it in 26 bytes with the terminating NUL).</summary>
    public const int MaxT10DeviceIdLength = 25;

    /// <summary>T10 vendor identification, at most 8 ASCII characters. Defaults to "SCST_FIO".</summary>
    public string VendorId { get; init; } = DefaultVendorId;

    /// <summary>Product identification, at most 16 ASCII characters.</summary>
    public string ProductId { get; init; } = "Virtual disk";

    /// <summary>Product revision level, at most 4 ASCII characters. Defaults to <see cref="DefaultProductRevision"/>.</summary>
    public string ProductRevision { get; init; } = DefaultProductRevision;

    /// <summary>Unit serial number (VPD 80h, SCST's <c>usn</c>), printable ASCII, at most 20 characters.</summary>
    public required string SerialNumber { get; init; }

    /// <summary>The 64-bit identifier derived from the device name: <c>setup_id</c> high, CRC-32C of the name low.</summary>
    public required ulong DeviceId { get; init; }

    /// <summary>SCST's <c>t10_dev_id</c>: by default <c>&lt;hex DeviceId&gt;-&lt;name&gt;</c>, at most 25 characters.</summary>
    public required string T10DeviceId { get; init; }

    /// <summary>
    /// The vendor-specific part of the T10 vendor ID designator (SCST's <c>vend_specific_id</c>, at most 128
    /// characters); null for <see cref="T10DeviceId"/>.
    /// </summary>
    public string? VendorSpecificId { get; init; }

    /// <summary>The SCSI name string designator (SCST's <c>scsi_device_name</c>); empty for none.</summary>
    public string ScsiDeviceName { get; init; } = string.Empty;

    /// <summary>An EUI-64 designator of 8, 12 or 16 bytes (SCST's <c>eui64_id</c>); empty for none.</summary>
    public ReadOnlyMemory<byte> Eui64Id { get; init; }

    /// <summary>An NAA designator of 8 or 16 bytes (SCST's <c>naa_id</c>); empty for none.</summary>
    public ReadOnlyMemory<byte> NaaId { get; init; }

    /// <summary>
    /// Vendor-specific bytes of the standard INQUIRY data (SCST's <c>inq_vend_specific</c>, at most 160): up to 20 fill
    /// bytes 36 to 55, longer ones follow the version descriptors from byte 96.
    /// </summary>
    public ReadOnlyMemory<byte> InquiryVendorSpecific { get; init; }

    /// <summary>The vendor-specific part of the T10 vendor ID designator as reported.</summary>
    public string EffectiveVendorSpecificId => VendorSpecificId ?? T10DeviceId;

    /// <summary>
    /// Derives identifiers from a device name as SCST's vdisk does: the device id holds <paramref name="setupId"/> in
    /// its high 32 bits and, in its low 32 bits, the CRC-32C of the name with its terminating NUL as the Linux kernel's
    /// <c>crc32c(0, name, strlen(name) + 1)</c> computes it (seed 0, no final inversion); the serial number is the id
    /// in lower-case hexadecimal, the T10 device id <c>&lt;serial&gt;-&lt;name&gt;</c> cut to 25 characters, the
    /// product identification the name cut to 16 characters.
    /// </summary>
    /// <param name="deviceName">The device name.</param>
    /// <param name="setupId">SCST's <c>setup_id</c>, which tells installations apart. Defaults to 0.</param>
    /// <returns>The identity.</returns>
    public static DeviceIdentity FromName(string deviceName, uint setupId = 0)
    {
        ArgumentNullException.ThrowIfNull(deviceName);
        ulong id = ((ulong)setupId << 32) | NameChecksum(deviceName);
        string hex = id.ToString("x", CultureInfo.InvariantCulture);
        string t10 = Truncate($"{hex}-{deviceName}", MaxT10DeviceIdLength);
        return new DeviceIdentity
        {
            DeviceId = id,
            SerialNumber = hex,
            T10DeviceId = t10,
            VendorSpecificId = t10,
            ProductId = Truncate(deviceName, 16),
        };
    }

    /// <summary>
    /// The low 32 bits of a derived device id: CRC-32C (Castagnoli, reflected) over the UTF-8 bytes of the name and a
    /// NUL, from a register of 0 and without the final inversion of the usual CRC-32C.
    /// </summary>
    /// <param name="deviceName">The device name.</param>
    /// <returns>The checksum.</returns>
    public static uint NameChecksum(string deviceName)
    {
        ArgumentNullException.ThrowIfNull(deviceName);
        uint crc = 0;
        foreach (byte b in Encoding.UTF8.GetBytes(deviceName))
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return BitOperations.Crc32C(crc, (byte)0);
    }

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];
}
