// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Numerics;
using Scst.Core;
using Scst.UserDevice.Native;

namespace Scst.UserDevice.Target;

/// <summary>
/// The memory a device shares with its device process (a memfd mapped on both sides), cut into command buffers: size
/// classes from 4 KiB to the core's maximum transfer length, each slot preallocated, free lists per class. This is the
/// core's <see cref="IDeviceBufferSource"/> for the device, so a READ or WRITE moves its data straight between the
/// initiator's connection and the region: the device process reads and writes the same bytes, no copy in between.
/// </summary>
/// <remarks>
/// Ownership: the core rents a slot per command and returns it when the command is released. The mapping is removed
/// when <see cref="Close"/> was called and every slot has come back (commands still holding one finish first).
/// </remarks>
internal sealed unsafe class SharedRegion : IDeviceBufferSource
{
    public const int MinSlotSize = 4096;

    private readonly SizeClass[] _classes;
    private readonly Lock _lock = new();
    private byte* _base;
    private int _outstanding;
    private bool _closing;

    /// <summary>Creates the memfd, maps it and cuts it into slots.</summary>
    /// <param name="name">A name for the memfd (shows in /proc/PID/fd).</param>
    /// <param name="size">Requested size; rounded up to whole largest slots' worth as needed.</param>
    /// <param name="maxSlotSize">The largest slot: the core's maximum transfer length.</param>
    public SharedRegion(string name, long size, int maxSlotSize)
    {
        maxSlotSize = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(maxSlotSize, MinSlotSize));
        int classCount = BitOperations.Log2((uint)maxSlotSize) - BitOperations.Log2(MinSlotSize) + 1;

        // Each class gets an equal share of the region, at least one slot; a class without a free slot borrows from the
        // next larger one, so a small region still serves every transfer length.
        long share = Math.Max(size / classCount, 0);
        var counts = new int[classCount];
        long total = 0;
        for (int i = 0; i < classCount; i++)
        {
            long slotSize = (long)MinSlotSize << i;
            counts[i] = (int)Math.Clamp(share / slotSize, 1, 65536);
            total += counts[i] * slotSize;
        }

        Size = total;
        Descriptor = UnixInterop.CreateSharedMemory(name, total);
        try
        {
            _base = UnixInterop.Map(Descriptor, total);
        }
        catch
        {
            UnixInterop.Close(Descriptor);
            throw;
        }

        _classes = new SizeClass[classCount];
        long offset = 0;
        for (int i = 0; i < classCount; i++)
        {
            int slotSize = MinSlotSize << i;
            var slots = new RegionSlot[counts[i]];
            for (int j = 0; j < slots.Length; j++)
            {
                slots[j] = new RegionSlot(this, _base + offset, offset, slotSize, i);
                offset += slotSize;
            }

            _classes[i] = new SizeClass(slots);
        }

        SlotCount = counts.Sum();
        MaxSlotSize = maxSlotSize;
    }

    /// <summary>The region's size in bytes.</summary>
    public long Size { get; }

    /// <summary>The memfd; sent to the device process, closed by <see cref="Close"/>.</summary>
    public int Descriptor { get; private set; }

    /// <summary>The number of slots.</summary>
    public int SlotCount { get; }

    /// <summary>The largest slot.</summary>
    public int MaxSlotSize { get; }

    /// <summary>Called when a slot that an EXEC used for its command comes back (ON_FREE_CMD), before it is reused.</summary>
    public Action<RegionSlot>? OnFree { get; set; }

    /// <summary>Slots rented and not yet returned.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>Whether the mapping is gone.</summary>
    public bool IsUnmapped => _base == null;

    /// <inheritdoc />
    public MemoryManager<byte>? Rent(int size) => RentSlot(size);

    /// <summary>Rents a slot of at least <paramref name="size"/> bytes, or null when none is free (or the region is closing).</summary>
    public RegionSlot? RentSlot(int size)
    {
        if (size > MaxSlotSize || Volatile.Read(ref _closing))
        {
            return null;
        }

        int index = size <= MinSlotSize ? 0 : BitOperations.Log2(BitOperations.RoundUpToPowerOf2((uint)size)) - BitOperations.Log2(MinSlotSize);
        for (int i = index; i < _classes.Length; i++)
        {
            if (_classes[i].TryRent(out RegionSlot? slot))
            {
                Interlocked.Increment(ref _outstanding);
                return slot;
            }
        }

        return null;
    }

    /// <inheritdoc />
    public void Return(MemoryManager<byte> buffer)
    {
        var slot = (RegionSlot)buffer;
        if (slot.Command is not null)
        {
            OnFree?.Invoke(slot);
            slot.Command = null;
            slot.ExecHandle = 0;
        }

        _classes[slot.SizeClass].Return(slot);
        if (Interlocked.Decrement(ref _outstanding) == 0 && Volatile.Read(ref _closing))
        {
            UnmapIfIdle();
        }
    }

    /// <summary>Whether <paramref name="memory"/> lies in a slot of this region; gives its offset in the region.</summary>
    public bool TryLocate(ReadOnlyMemory<byte> memory, out long offset, out RegionSlot? slot)
    {
        if (System.Runtime.InteropServices.MemoryMarshal.TryGetMemoryManager(memory, out RegionSlot? s, out int start, out int _) && s.Region == this)
        {
            slot = s;
            offset = s.Offset + start;
            return true;
        }

        slot = null;
        offset = 0;
        return false;
    }

    /// <summary>No more rents; the mapping goes once every slot is back. The memfd is closed now.</summary>
    public void Close()
    {
        Volatile.Write(ref _closing, true);
        lock (_lock)
        {
            UnixInterop.Close(Descriptor);
            Descriptor = -1;
        }

        if (Outstanding == 0)
        {
            UnmapIfIdle();
        }
    }

    private void UnmapIfIdle()
    {
        lock (_lock)
        {
            if (_base != null && Volatile.Read(ref _outstanding) == 0)
            {
                UnixInterop.Unmap(_base, Size);
                _base = null;
            }
        }
    }

    private sealed class SizeClass(RegionSlot[] slots)
    {
        private readonly Lock _lock = new();
        private readonly RegionSlot[] _free = slots.ToArray();
        private int _count = slots.Length;

        public bool TryRent(out RegionSlot? slot)
        {
            lock (_lock)
            {
                if (_count > 0)
                {
                    slot = _free[--_count];
                    return true;
                }
            }

            slot = null;
            return false;
        }

        public void Return(RegionSlot slot)
        {
            lock (_lock)
            {
                _free[_count++] = slot;
            }
        }
    }
}

/// <summary>One command buffer in a <see cref="SharedRegion"/>.</summary>
internal sealed unsafe class RegionSlot : MemoryManager<byte>
{
    private readonly byte* _pointer;

    public RegionSlot(SharedRegion region, byte* pointer, long offset, int capacity, int sizeClass)
    {
        Region = region;
        _pointer = pointer;
        Offset = offset;
        Capacity = capacity;
        SizeClass = sizeClass;
    }

    public SharedRegion Region { get; }

    /// <summary>Where the slot starts in the region.</summary>
    public long Offset { get; }

    public int Capacity { get; }

    public int SizeClass { get; }

    /// <summary>The command whose EXEC used the slot last, for ON_FREE_CMD; cleared on return.</summary>
    public ScsiCommand? Command { get; set; }

    /// <summary>The handle of that EXEC.</summary>
    public ulong ExecHandle { get; set; }

    public override Span<byte> GetSpan() => new(_pointer, Capacity);

    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
