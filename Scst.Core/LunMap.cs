// Licensed under the Apache License, Version 2.0.

namespace Scst.Core;

/// <summary>
/// A LUN map: which device each LUN number reaches, as a security group (SCST's ini_group or a target's default
/// LUN set) defines it. Lookups are lock-free; changes copy the map.
/// </summary>
public sealed class LunMap
{
    /// <summary>The largest LUN number (flat space addressing, SAM-5 section 4.7.7).</summary>
    public const int MaxLun = 16383;

    private readonly Lock _lock = new();
    private LunMapping?[] _byLun = [];
    private LunMapping[] _all = [];

    /// <summary>Raised after a LUN is added or removed, with the mapping that was added or removed.</summary>
    public event EventHandler<LunMapChangedEventArgs>? Changed;

    /// <summary>The mapped LUNs in ascending order.</summary>
    public IReadOnlyList<LunMapping> Luns => Volatile.Read(ref _all);

    /// <summary>Maps <paramref name="lun"/> to <paramref name="device"/>.</summary>
    /// <param name="lun">The LUN number, 0 to <see cref="MaxLun"/>.</param>
    /// <param name="device">The device.</param>
    /// <param name="readOnly">Whether the LUN is write-protected regardless of the device.</param>
    /// <returns>The mapping.</returns>
    /// <exception cref="InvalidOperationException">The LUN is already mapped.</exception>
    public LunMapping Add(int lun, ScsiDevice device, bool readOnly = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(lun);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(lun, MaxLun);
        ArgumentNullException.ThrowIfNull(device);
        var mapping = new LunMapping(lun, device, readOnly);
        lock (_lock)
        {
            LunMapping?[] current = _byLun;
            if (lun < current.Length && current[lun] is not null)
            {
                throw new InvalidOperationException($"LUN {lun} is already mapped.");
            }

            var next = new LunMapping?[Math.Max(current.Length, lun + 1)];
            current.CopyTo(next, 0);
            next[lun] = mapping;
            Publish(next);
        }

        Changed?.Invoke(this, new LunMapChangedEventArgs(mapping, added: true));
        return mapping;
    }

    /// <summary>Removes a LUN.</summary>
    /// <param name="lun">The LUN number.</param>
    /// <returns>False when the LUN was not mapped.</returns>
    public bool Remove(int lun)
    {
        LunMapping removed;
        lock (_lock)
        {
            LunMapping?[] current = _byLun;
            if ((uint)lun >= (uint)current.Length || current[lun] is null)
            {
                return false;
            }

            removed = current[lun]!;
            var next = (LunMapping?[])current.Clone();
            next[lun] = null;
            Publish(next);
        }

        Changed?.Invoke(this, new LunMapChangedEventArgs(removed, added: false));
        return true;
    }

    /// <summary>
    /// Points a mapped LUN at another device (or changes its write protection) in one step, as SCST's LUN
    /// <c>replace</c> does: the LUN inventory does not change, so no session learns of a LUN added or removed; the
    /// caller raises the unit attention the change calls for. <see cref="Changed"/> reports the new mapping with
    /// <see cref="LunMapChangedEventArgs.Replaced"/> set.
    /// </summary>
    /// <param name="lun">The LUN number, mapped.</param>
    /// <param name="device">The device.</param>
    /// <param name="readOnly">Whether the LUN is read-only.</param>
    /// <returns>The new mapping.</returns>
    /// <exception cref="InvalidOperationException">The LUN is not mapped.</exception>
    public LunMapping Replace(int lun, ScsiDevice device, bool readOnly = false)
    {
        ArgumentNullException.ThrowIfNull(device);
        var mapping = new LunMapping(lun, device, readOnly);
        LunMapping previous;
        lock (_lock)
        {
            LunMapping?[] current = _byLun;
            if ((uint)lun >= (uint)current.Length || current[lun] is null)
            {
                throw new InvalidOperationException($"LUN {lun} is not mapped.");
            }

            previous = current[lun]!;
            var next = (LunMapping?[])current.Clone();
            next[lun] = mapping;
            Publish(next);
        }

        Changed?.Invoke(this, new LunMapChangedEventArgs(mapping, added: true) { Replaced = previous });
        return mapping;
    }

    /// <summary>Finds the mapping of a LUN number.</summary>
    /// <param name="lun">The LUN number.</param>
    /// <returns>The mapping, or null.</returns>
    public LunMapping? Find(int lun)
    {
        LunMapping?[] map = Volatile.Read(ref _byLun);
        return (uint)lun < (uint)map.Length ? map[lun] : null;
    }

    private void Publish(LunMapping?[] next)
    {
        var all = new List<LunMapping>();
        foreach (LunMapping? m in next)
        {
            if (m is not null)
            {
                all.Add(m);
            }
        }

        Volatile.Write(ref _byLun, next);
        Volatile.Write(ref _all, all.ToArray());
    }
}

/// <summary>What changed in a <see cref="LunMap"/>.</summary>
public sealed class LunMapChangedEventArgs : EventArgs
{
    /// <summary>Creates the arguments.</summary>
    /// <param name="mapping">The mapping added or removed.</param>
    /// <param name="added">True when it was added, false when removed.</param>
    public LunMapChangedEventArgs(LunMapping mapping, bool added)
    {
        Mapping = mapping;
        Added = added;
    }

    /// <summary>The mapping that was added or removed.</summary>
    public LunMapping Mapping { get; }

    /// <summary>True when <see cref="Mapping"/> was added, false when it was removed.</summary>
    public bool Added { get; }

    /// <summary>For a replacement (<see cref="LunMap.Replace"/>), the mapping that was replaced; otherwise null.</summary>
    public LunMapping? Replaced { get; init; }
}

/// <summary>One LUN of a <see cref="LunMap"/>.</summary>
public sealed class LunMapping
{
    internal LunMapping(int lun, ScsiDevice device, bool readOnly)
    {
        Lun = lun;
        Device = device;
        ReadOnly = readOnly;
        LunTag = lun;
    }

    /// <summary>The LUN number, boxed once, for metric tags.</summary>
    internal object LunTag { get; }

    /// <summary>The LUN number.</summary>
    public int Lun { get; }

    /// <summary>The device.</summary>
    public ScsiDevice Device { get; }

    /// <summary>Whether the LUN itself is read-only.</summary>
    public bool ReadOnly { get; }

    /// <summary>Whether writes through this LUN are refused (the LUN or the device is read-only).</summary>
    public bool IsWriteProtected => ReadOnly || Device.ReadOnly;
}

/// <summary>Encodes and decodes the 8-byte LUN field (SAM-5 section 4.7).</summary>
public static class LunAddress
{
    /// <summary>Decodes a single-level LUN with peripheral or flat space addressing.</summary>
    /// <param name="lunField">The 8-byte LUN field, first byte most significant.</param>
    /// <returns>The LUN number, or -1 for a format this core does not address (it then does not exist).</returns>
    public static int Decode(ulong lunField)
    {
        if ((lunField & 0x0000_FFFF_FFFF_FFFF) != 0)
        {
            return -1;
        }

        int b0 = (int)(lunField >> 56);
        int b1 = (int)(lunField >> 48) & 0xFF;
        return (b0 >> 6) switch
        {
            0 when b0 == 0 => b1,
            1 => ((b0 & 0x3F) << 8) | b1,
            _ => -1,
        };
    }

    /// <summary>Encodes a LUN number: peripheral addressing below 256, flat space addressing above.</summary>
    /// <param name="lun">The LUN number, 0 to <see cref="LunMap.MaxLun"/>.</param>
    /// <returns>The 8-byte LUN field, first byte most significant.</returns>
    public static ulong Encode(int lun)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(lun);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(lun, LunMap.MaxLun);
        return lun < 256 ? (ulong)lun << 48 : ((ulong)(0x40 | (lun >> 8)) << 56) | ((ulong)(lun & 0xFF) << 48);
    }
}
