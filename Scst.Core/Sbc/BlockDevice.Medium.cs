// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;

namespace Scst.Core;

// START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL, PRE-FETCH, READ DEFECT DATA and GET LBA STATUS (SBC-4 sections 5.9,
// 5.15, 5.16, 5.20, 5.21, 5.27).
public abstract partial class BlockDevice
{
    // Largest run of blocks one GET LBA STATUS answer may return in total (keeps the answer within 64 KiB).
    private const int MaxLbaStatusDescriptors = 4096;

    // The sessions (I_T nexuses) that prevent medium removal. SBC-4 keeps the prevention per I_T nexus: removal is
    // prevented while any nexus that asked for it lives. Guarded by itself; only touched by these rare commands.
    private readonly List<ScsiSession> _preventingSessions = [];
    private volatile bool _ejected;

    /// <summary>
    /// Whether a medium is loaded: false after START STOP UNIT ejected it (LOEJ=1, START=0) and until it loads it
    /// again (LOEJ=1, START=1). Only removable devices eject.
    /// </summary>
    public override bool MediumPresent => !_ejected;

    /// <summary>
    /// Bytes of cache the device pretends to have for PRE-FETCH: a range that fits gets CONDITION MET. Defaults to
    /// 64 MiB.
    /// </summary>
    public virtual long PrefetchCacheBytes => 64L << 20;

    /// <summary>
    /// Optional. Reports the provisioning state of the bytes from <paramref name="offset"/>: whether they are mapped,
    /// and how many bytes (at most <paramref name="maxLength"/>, at least one block) share that state. Called by GET
    /// LBA STATUS (through the default <see cref="GetProvisioningExtentAsync"/>) on the command's thread; must not
    /// block for long. The default reports everything mapped, or
    /// everything deallocated on a thin-provisioned device that overrides nothing.
    /// </summary>
    /// <param name="offset">Byte offset, block aligned and in range.</param>
    /// <param name="maxLength">The bytes from <paramref name="offset"/> to the end of the device.</param>
    /// <param name="mapped">Whether the run is mapped.</param>
    /// <returns>The length of the run in bytes.</returns>
    protected virtual long GetProvisioningExtent(long offset, long maxLength, out bool mapped)
    {
        mapped = !ThinProvisioned;
        return maxLength;
    }

    /// <summary>
    /// Optional. The asynchronous form of <see cref="GetProvisioningExtent"/>, for a device whose provisioning state
    /// lives elsewhere (another process, a remote store). GET LBA STATUS awaits it once per descriptor; the default
    /// calls <see cref="GetProvisioningExtent"/> synchronously. A failure is an outcome other than GOOD, which ends the
    /// command with it; on GOOD the length must be at least one block and at most <paramref name="maxLength"/>
    /// (longer is cut to it, shorter counts as one block).
    /// </summary>
    /// <param name="offset">Byte offset, block aligned and in range.</param>
    /// <param name="maxLength">The bytes from <paramref name="offset"/> to the end of the device.</param>
    /// <returns>GOOD or an error outcome, the length of the run in bytes and whether it is mapped.</returns>
    protected virtual ValueTask<(CommandOutcome Outcome, long Length, bool Mapped)> GetProvisioningExtentAsync(long offset, long maxLength)
    {
        long length = GetProvisioningExtent(offset, maxLength, out bool mapped);
        return new((CommandOutcome.Good, length, mapped));
    }

    /// <summary>Optional. Starts reading a byte range into the cache (PRE-FETCH); must not block. Does nothing by default.</summary>
    /// <param name="offset">Byte offset, block aligned and in range.</param>
    /// <param name="length">Byte count.</param>
    protected virtual void Prefetch(long offset, long length)
    {
    }

    /// <summary>
    /// Clears the state a LOGICAL UNIT RESET, a target reset or a power on clears: medium removal prevention of every
    /// I_T nexus. The medium stays where it is.
    /// </summary>
    internal override void ResetLogicalUnitState()
    {
        base.ResetLogicalUnitState();
        ResetMediumRemovalPrevention();
    }

    /// <summary>A lost I_T nexus no longer prevents medium removal.</summary>
    internal override void OnNexusLoss(ScsiSession session)
    {
        base.OnNexusLoss(session);
        lock (_preventingSessions)
        {
            _preventingSessions.RemoveAll(s => s == session);
        }
    }

    private void ResetMediumRemovalPrevention()
    {
        lock (_preventingSessions)
        {
            _preventingSessions.Clear();
        }
    }

    /// <summary>
    /// Whether removal of the medium is prevented: an I_T nexus that still exists sent PREVENT ALLOW MEDIUM REMOVAL
    /// with PREVENT=1 and has not allowed removal since (a logical unit reset allows it). START STOP UNIT then refuses to
    /// eject, and a device that changes its medium by other means (an administrator's request) should refuse too.
    /// </summary>
    /// <returns>True while removal is prevented.</returns>
    protected bool IsMediumRemovalPrevented()
    {
        lock (_preventingSessions)
        {
            // A nexus that was lost (logout, connection drop, reinstatement) no longer prevents anything.
            _preventingSessions.RemoveAll(static s => s.IsClosed);
            return _preventingSessions.Count != 0;
        }
    }

    /// <summary>
    /// Optional. Loads the medium of a removable device: START STOP UNIT with LOEJ=1 and START=1, after the check that
    /// removal is not prevented. Called on the command's thread; must not block. The default puts back the medium that
    /// <see cref="EjectMediumAsync"/> took out.
    /// </summary>
    /// <param name="session">The I_T nexus that sent the command.</param>
    /// <returns>GOOD, or the outcome that refuses the load.</returns>
    protected virtual CommandOutcome LoadMedium(ScsiSession session)
    {
        _ejected = false;
        return CommandOutcome.Good;
    }

    /// <summary>
    /// Optional. Ejects the medium of a removable device: START STOP UNIT with LOEJ=1 and START=0, after the check that
    /// removal is not prevented. The default flushes the cache first (unless <paramref name="flush"/> is false) and then
    /// reports the medium absent until <see cref="LoadMedium"/>.
    /// </summary>
    /// <param name="session">The I_T nexus that sent the command.</param>
    /// <param name="flush">Whether cached writes must reach the backing store (NO_FLUSH was 0).</param>
    /// <returns>GOOD, or the outcome of the flush.</returns>
    protected virtual ValueTask<CommandOutcome> EjectMediumAsync(ScsiSession session, bool flush)
    {
        if (_ejected)
        {
            return new(CommandOutcome.Good);
        }

        // The data reaches the backing store before the medium goes away.
        _ejected = true;
        return flush ? FlushAsync() : new(CommandOutcome.Good);
    }

    // START STOP UNIT: byte 1 reserved (7-1), IMMED (0); byte 2 reserved; byte 3 reserved (7-4), POWER CONDITION
    // MODIFIER (3-0); byte 4 POWER CONDITION (7-4), reserved (3), NO_FLUSH (2), LOEJ (1), START (0).
    private ValueTask<CommandOutcome> StartStopUnitAsync(ScsiCommand command)
    {
        ReadOnlySpan<byte> cdb = command.Cdb;
        if ((cdb[1] & 0xFE) != 0)
        {
            return new(CommandOutcome.InvalidFieldInCdb(1, HighestBit(cdb[1] & 0xFE)));
        }

        if (cdb[2] != 0)
        {
            return new(CommandOutcome.InvalidFieldInCdb(2));
        }

        if ((cdb[3] & 0xF0) != 0)
        {
            return new(CommandOutcome.InvalidFieldInCdb(3, HighestBit(cdb[3] & 0xF0)));
        }

        if ((cdb[4] & 0x08) != 0)
        {
            return new(CommandOutcome.InvalidFieldInCdb(4, 3));
        }

        int powerCondition = cdb[4] >> 4;
        bool noFlush = (cdb[4] & 0x04) != 0;
        bool loadEject = (cdb[4] & 0x02) != 0;
        bool start = (cdb[4] & 0x01) != 0;
        if (powerCondition != 0)
        {
            // A file has no power states. START and LOEJ are ignored with a power condition (SBC-4 5.27); like SCST,
            // every POWER CONDITION value is accepted (libiscsi checks 1-15) and the medium stays where it is.
            return new(CommandOutcome.Good);
        }

        if (loadEject)
        {
            if (!Removable)
            {
                return new(CommandOutcome.InvalidFieldInCdb(4, 1));
            }

            if (IsMediumRemovalPrevented())
            {
                return new(CommandOutcome.CheckCondition(SenseCode.MediumRemovalPrevented));
            }

            return start ? new(LoadMedium(command.Session)) : EjectMediumAsync(command.Session, flush: !noFlush);
        }

        // Stopping flushes the cache (SCST does the same); the unit stays ready, as SCST's does.
        return start || noFlush || !MediumPresent ? new(CommandOutcome.Good) : FlushAsync();
    }

    // PREVENT ALLOW MEDIUM REMOVAL: bytes 1-3 reserved; byte 4 reserved (7-2), PREVENT (1-0): 00b allow, 01b prevent,
    // 10b and 11b obsolete.
    private CommandOutcome PreventAllowMediumRemoval(ScsiCommand command)
    {
        ReadOnlySpan<byte> cdb = command.Cdb;
        for (int i = 1; i <= 3; i++)
        {
            if (cdb[i] != 0)
            {
                return CommandOutcome.InvalidFieldInCdb(i);
            }
        }

        if ((cdb[4] & 0xFE) != 0)
        {
            return CommandOutcome.InvalidFieldInCdb(4, HighestBit(cdb[4] & 0xFE));
        }

        bool prevent = (cdb[4] & 0x01) != 0;
        lock (_preventingSessions)
        {
            bool present = _preventingSessions.Contains(command.Session);
            if (prevent && !present)
            {
                _preventingSessions.Add(command.Session);
            }
            else if (!prevent && present)
            {
                _preventingSessions.Remove(command.Session);
            }
        }

        return CommandOutcome.Good;
    }

    // PRE-FETCH(10): byte 1 reserved (7-2), IMMED (1), reserved (0); bytes 2-5 LBA; byte 6 GROUP NUMBER; bytes 7-8
    // PREFETCH LENGTH. PRE-FETCH(16): bytes 2-9 LBA, 10-13 PREFETCH LENGTH, 14 GROUP NUMBER. A length of 0 means to the
    // end of the medium. CONDITION MET says the blocks fit in the cache (SBC-4 5.9), GOOD that they do not.
    private CommandOutcome PreFetch(ScsiCommand command)
    {
        byte b1 = command.Cdb[1];
        if ((b1 & 0xFD) != 0)
        {
            return CommandOutcome.InvalidFieldInCdb(1, HighestBit(b1 & 0xFD));
        }

        long offset = (long)command.Lba * BlockSize;
        long blocks = command.TransferLength == 0 ? BlockCount - (long)command.Lba : command.TransferLength;
        long length = blocks * BlockSize;
        if (length > PrefetchCacheBytes)
        {
            return CommandOutcome.Good;
        }

        if (length > 0)
        {
            Prefetch(offset, length);
        }

        return CommandOutcome.FromStatus(ScsiStatus.ConditionMet);
    }

    // READ DEFECT DATA(10): byte 2 reserved (7-5), REQ_PLIST (4), REQ_GLIST (3), DEFECT LIST FORMAT (2-0); bytes 7-8
    // ALLOCATION LENGTH. READ DEFECT DATA(12): the same bits in byte 1, ADDRESS DESCRIPTOR INDEX in bytes 2-5,
    // ALLOCATION LENGTH in 6-9. A file has no defects: the answer is a header with an empty list in the format asked.
    private CommandOutcome ReadDefectData(ScsiCommand command)
    {
        ReadOnlySpan<byte> cdb = command.Cdb;
        bool twelve = cdb[0] == 0xB7;
        int flagsOffset = twelve ? 1 : 2;
        byte flags = cdb[flagsOffset];
        if ((flags & 0xE0) != 0)
        {
            return CommandOutcome.InvalidFieldInCdb(flagsOffset, HighestBit(flags & 0xE0));
        }

        if (!twelve && cdb[1] != 0)
        {
            return CommandOutcome.InvalidFieldInCdb(1);
        }

        Span<byte> header = stackalloc byte[8];
        header.Clear();
        header[1] = (byte)(flags & 0x1F); // PLISTV, GLISTV and the format echo what was asked; the list is empty
        command.WriteResponse(twelve ? header : header[..4]);
        return CommandOutcome.Good;
    }

    // GET LBA STATUS: bytes 2-9 STARTING LOGICAL BLOCK ADDRESS, 10-13 ALLOCATION LENGTH, 14 REPORT TYPE.
    // Parameter data (SBC-4 5.20.2): bytes 0-3 PARAMETER DATA LENGTH (n - 3), 4-7 reserved, then 16-byte descriptors:
    // LBA (8), NUMBER OF LOGICAL BLOCKS (4), PROVISIONING STATUS (byte 12, bits 3-0: 0 mapped, 1 deallocated).
    private async ValueTask<CommandOutcome> GetLbaStatusAsync(ScsiCommand command)
    {
        ulong lba = command.Lba;
        if (lba >= (ulong)BlockCount)
        {
            return CommandOutcome.CheckCondition(SenseCode.LbaOutOfRange);
        }

        int allocation = command.DataLength;
        if (allocation == 0)
        {
            return CommandOutcome.Good;
        }

        // Enough descriptors to fill the allocation length, and at least one (a short allocation gets it truncated).
        int wanted = Math.Clamp((allocation - 8) / 16, 1, MaxLbaStatusDescriptors);
        Memory<byte> data = command.Data;
        long end = BlockCount * BlockSize;
        long offset = (long)lba * BlockSize;
        int count = 0;
        while (count < wanted && offset < end)
        {
            (CommandOutcome outcome, long run, bool mapped) = await GetProvisioningExtentAsync(offset, end - offset).ConfigureAwait(false);
            if (!outcome.IsGood)
            {
                return outcome;
            }

            long blocks = Math.Max(1, run / BlockSize);
            blocks = Math.Min(blocks, Math.Min(uint.MaxValue, (end - offset) / BlockSize));
            WriteLbaStatusDescriptor(data.Span, count, offset / BlockSize, blocks, mapped);
            count++;
            offset += blocks * BlockSize;
        }

        WriteLbaStatusHeader(data.Span, count);
        command.SetResponseLength(Math.Min(data.Length, 8 + (16 * count)));
        return CommandOutcome.Good;
    }

    // Descriptor index of the parameter data: LBA (8), NUMBER OF LOGICAL BLOCKS (4), PROVISIONING STATUS (byte 12);
    // the part beyond the buffer (a short allocation length) is dropped.
    private static void WriteLbaStatusDescriptor(Span<byte> data, int index, long lba, long blocks, bool mapped)
    {
        Span<byte> one = stackalloc byte[16];
        one.Clear();
        BinaryPrimitives.WriteUInt64BigEndian(one, (ulong)lba);
        BinaryPrimitives.WriteUInt32BigEndian(one[8..], (uint)blocks);
        one[12] = mapped ? (byte)0 : (byte)1;
        int at = 8 + (16 * index);
        if (at < data.Length)
        {
            one[..Math.Min(16, data.Length - at)].CopyTo(data[at..]);
        }
    }

    private static void WriteLbaStatusHeader(Span<byte> data, int count)
    {
        Span<byte> header = stackalloc byte[8];
        header.Clear();
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)(4 + (16 * count)));
        header[..Math.Min(8, data.Length)].CopyTo(data);
    }

    private static int HighestBit(int value) => 31 - int.LeadingZeroCount(value);
}
