// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using Scst.Core;
using Scst.Core.Management;

namespace Scst.Handlers;

/// <summary>The identity attributes set by hand (a creation parameter or a write): SCST's <c>*_set</c> bits.</summary>
[Flags]
internal enum IdentityFields
{
    None = 0,
    VendorId = 1 << 0,
    VendorSpecificId = 1 << 1,
    ProductId = 1 << 2,
    ProductRevision = 1 << 3,
    ScsiDeviceName = 1 << 4,
    T10DeviceId = 1 << 5,
    SerialNumber = 1 << 6,
}

/// <summary>
/// The identity attributes every vdisk device has (<c>t10_vend_id</c>, <c>vend_specific_id</c>, <c>prod_id</c>,
/// <c>prod_rev_lvl</c>, <c>scsi_device_name</c>, <c>t10_dev_id</c>, <c>usn</c>, <c>eui64_id</c>, <c>naa_id</c>,
/// <c>inq_vend_specific</c>): their limits, how a value is parsed and shown, and when each is a key attribute. The
/// same rules serve creation parameters and writes, so that what a saved configuration holds applies either way.
/// </summary>
internal static class VdiskIdentity
{
    public const string VendorIdName = "t10_vend_id";
    public const string VendorSpecificIdName = "vend_specific_id";
    public const string ProductIdName = "prod_id";
    public const string ProductRevisionName = "prod_rev_lvl";
    public const string ScsiDeviceNameName = "scsi_device_name";
    public const string T10DeviceIdName = "t10_dev_id";
    public const string SerialNumberName = "usn";
    public const string Eui64IdName = "eui64_id";
    public const string NaaIdName = "naa_id";
    public const string InquiryVendorSpecificName = "inq_vend_specific";

    /// <summary>Every identity attribute, in the order the management tree lists them.</summary>
    public static readonly string[] Names =
    [
        VendorIdName, VendorSpecificIdName, ProductIdName, ProductRevisionName, ScsiDeviceNameName, T10DeviceIdName,
        SerialNumberName, Eui64IdName, NaaIdName, InquiryVendorSpecificName,
    ];

    /// <summary>
    /// The identity of a new device: SCST's defaults derived from the name (setup_id 0; <see cref="Rederive"/> applies
    /// the core's at registration), <paramref name="vendorId"/>, then the identity parameters given.
    /// </summary>
    public static DeviceIdentity Create(string name, string vendorId, DeviceParameters parameters, out IdentityFields set)
    {
        DeviceIdentity identity = DeviceIdentity.FromName(name) with { VendorId = vendorId };
        set = IdentityFields.None;
        foreach (string key in Names)
        {
            if (parameters.GetString(key) is { } value)
            {
                identity = Apply(identity, key, value, ref set, name);
            }
        }

        // vend_specific_id starts as the t10_dev_id the device is created with.
        return (set & IdentityFields.VendorSpecificId) == 0 ? identity with { VendorSpecificId = identity.T10DeviceId } : identity;
    }

    /// <summary>
    /// The identifiers derived from the name again with the core's setup_id, for those not set by hand: SCST derives
    /// them when the device is created, from the setup_id of that moment.
    /// </summary>
    public static DeviceIdentity Rederive(DeviceIdentity identity, string name, uint setupId, IdentityFields set)
    {
        DeviceIdentity derived = DeviceIdentity.FromName(name, setupId);
        identity = identity with
        {
            DeviceId = derived.DeviceId,
            SerialNumber = (set & IdentityFields.SerialNumber) != 0 ? identity.SerialNumber : derived.SerialNumber,
            T10DeviceId = (set & IdentityFields.T10DeviceId) != 0 ? identity.T10DeviceId : derived.T10DeviceId,
        };
        return (set & IdentityFields.VendorSpecificId) != 0 ? identity : identity with { VendorSpecificId = identity.T10DeviceId };
    }

    /// <summary>Applies one identity attribute's new value; throws <see cref="ArgumentException"/> naming it when the value is bad.</summary>
    public static DeviceIdentity Apply(DeviceIdentity identity, string key, string value, ref IdentityFields set, string device)
    {
        switch (key)
        {
            case VendorIdName:
                set |= IdentityFields.VendorId;
                return identity with { VendorId = Ascii(device, key, value, 8) };
            case VendorSpecificIdName:
                set |= IdentityFields.VendorSpecificId;
                return identity with { VendorSpecificId = Ascii(device, key, value, 128) };
            case ProductIdName:
                set |= IdentityFields.ProductId;
                return identity with { ProductId = Ascii(device, key, value, 16) };
            case ProductRevisionName:
                set |= IdentityFields.ProductRevision;
                return identity with { ProductRevision = Ascii(device, key, value, 4) };
            case ScsiDeviceNameName:
                string name = Text(device, key, value, 256);
                set = name.Length > 0 ? set | IdentityFields.ScsiDeviceName : set & ~IdentityFields.ScsiDeviceName;
                return identity with { ScsiDeviceName = name };
            case T10DeviceIdName:
                set |= IdentityFields.T10DeviceId;
                return identity with { T10DeviceId = Ascii(device, key, value, DeviceIdentity.MaxT10DeviceIdLength) };
            case SerialNumberName:
                set |= IdentityFields.SerialNumber;
                return identity with { SerialNumber = Ascii(device, key, value, 20) };
            case Eui64IdName:
                return identity with { Eui64Id = Hex(device, key, value, static bytes => bytes.Length is 8 or 12 or 16, "8, 12 or 16 bytes") };
            case NaaIdName:
                // NAA 2h, 3h or 5h in 8 bytes, 6h in 16 (SPC-4 section 7.8.6.6).
                return identity with
                {
                    NaaId = Hex(device, key, value, static bytes => (bytes.Length == 8 && (bytes[0] >> 4) is 2 or 3 or 5) || (bytes.Length == 16 && bytes[0] >> 4 == 6),
                        "8 bytes starting with NAA 2, 3 or 5, or 16 bytes starting with NAA 6"),
                };
            case InquiryVendorSpecificName:
                return identity with { InquiryVendorSpecific = System.Text.Encoding.ASCII.GetBytes(Ascii(device, key, value, 160)) };
            default:
                throw new ArgumentException($"Device {device}: '{key}' is not an identity attribute.");
        }
    }

    /// <summary>The identity attributes of <paramref name="device"/> for the management tree, each writable.</summary>
    public static IEnumerable<ManagementAttribute> Attributes(VdiskDevice device)
    {
        yield return Attribute(device, VendorIdName, static id => id.VendorId, IdentityFields.VendorId);
        yield return Attribute(device, VendorSpecificIdName, static id => id.EffectiveVendorSpecificId, IdentityFields.VendorSpecificId);
        yield return Attribute(device, ProductIdName, static id => id.ProductId, IdentityFields.ProductId);
        yield return Attribute(device, ProductRevisionName, static id => id.ProductRevision, IdentityFields.ProductRevision);
        yield return Attribute(device, ScsiDeviceNameName, static id => id.ScsiDeviceName, IdentityFields.ScsiDeviceName);
        yield return Attribute(device, T10DeviceIdName, static id => id.T10DeviceId, IdentityFields.T10DeviceId);
        yield return Attribute(device, SerialNumberName, static id => id.SerialNumber, IdentityFields.SerialNumber);
        yield return Attribute(device, Eui64IdName, static id => ShowHex(id.Eui64Id), IdentityFields.None);
        yield return Attribute(device, NaaIdName, static id => ShowHex(id.NaaId), IdentityFields.None);
        yield return Attribute(device, InquiryVendorSpecificName, static id => System.Text.Encoding.ASCII.GetString(id.InquiryVendorSpecific.Span), IdentityFields.None);
    }

    // A key when set by hand; eui64_id, naa_id and inq_vend_specific (field None) whenever they hold something.
    private static ManagementAttribute Attribute(VdiskDevice device, string name, Func<DeviceIdentity, string> read, IdentityFields field) => new()
    {
        Name = name,
        Read = () => read(device.Identity),
        Write = value => device.SetIdentityAttribute(name, value),
        KeyWhen = field == IdentityFields.None ? () => read(device.Identity).Length > 0 : () => (device.IdentitySetFields & field) != 0,
    };

    private static string ShowHex(ReadOnlyMemory<byte> bytes) =>
        bytes.IsEmpty ? string.Empty : "0x" + Convert.ToHexStringLower(bytes.Span);

    private static string Text(string device, string key, string value, int max)
    {
        foreach (char c in value)
        {
            if (char.IsControl(c))
            {
                throw new ArgumentException($"Device {device}: '{key}' must not hold control characters.");
            }
        }

        return value.Length <= max ? value : throw new ArgumentException($"Device {device}: '{key}' is too long ({value.Length} characters; at most {max}).");
    }

    private static string Ascii(string device, string key, string value, int max)
    {
        foreach (char c in value)
        {
            if (c is < ' ' or > '~')
            {
                throw new ArgumentException($"Device {device}: '{key}' must be printable ASCII.");
            }
        }

        return Text(device, key, value, max);
    }

    // Hexadecimal digits with an optional 0x; empty clears.
    private static ReadOnlyMemory<byte> Hex(string device, string key, string value, Func<byte[], bool> valid, string expected)
    {
        string digits = value.Trim();
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            digits = digits[2..];
        }

        if (digits.Length == 0)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        byte[] bytes;
        try
        {
            bytes = digits.Length % 2 == 0 ? Convert.FromHexString(digits) : throw new FormatException();
        }
        catch (FormatException)
        {
            throw new ArgumentException($"Device {device}: '{key}' has value '{value}'; expected hexadecimal digits ({expected}).");
        }

        return valid(bytes) ? bytes : throw new ArgumentException(
            string.Create(CultureInfo.InvariantCulture, $"Device {device}: '{key}' has value '{value}' ({bytes.Length} bytes); expected {expected}."));
    }
}
