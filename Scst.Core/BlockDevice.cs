// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using Scst.Core.Cdb;

namespace Scst.Core;

/// <summary>
/// A direct-access block device (SBC-3). The core decodes and range-checks READ, WRITE, READ CAPACITY and SYNCHRONIZE
/// CACHE here; a handler only moves bytes through <see cref="ReadAsync"/>, <see cref="WriteAsync"/> and
/// <see cref="FlushAsync"/>. A CD/DVD device (MMC) is a block device of another peripheral type: the commands MMC shares
/// with SBC run here, and the device executes its own (READ TOC/PMA/ATIP...) before handing the rest to this class.
/// </summary>
public abstract partial class BlockDevice : ScsiDevice
{
    /// <summary>Creates a block device.</summary>
    /// <param name="name">The device name.</param>
    /// <param name="handlerName">The handler's name.</param>
    /// <param name="identity">Identifiers; derived from the name when null.</param>
    protected BlockDevice(string name, string handlerName, DeviceIdentity? identity = null)
        : base(name, handlerName, PeripheralDeviceType.DirectAccess, identity)
    {
    }

    /// <summary>
    /// Creates a block device of another peripheral device type than direct access: a CD/DVD device. The commands it
    /// accepts are the rows of the CDB table for that type (<see cref="Cdb.CdbDescriptor.DeviceTypes"/>).
    /// </summary>
    /// <param name="name">The device name.</param>
    /// <param name="handlerName">The handler's name.</param>
    /// <param name="deviceType">The peripheral device type.</param>
    /// <param name="identity">Identifiers; derived from the name when null.</param>
    protected BlockDevice(string name, string handlerName, PeripheralDeviceType deviceType, DeviceIdentity? identity = null)
        : base(name, handlerName, deviceType, identity)
    {
    }

    /// <summary>The number of logical blocks.</summary>
    public abstract long BlockCount { get; }

    /// <inheritdoc />
    public override IReadOnlyList<Management.ManagementAttribute> ManagementAttributes =>
    [
        .. base.ManagementAttributes,
        Management.ManagementAttribute.ReadOnly("size", () => (BlockCount * BlockSize).ToString(System.Globalization.CultureInfo.InvariantCulture), Management.ManagementAttributeType.Integer),
        Management.ManagementAttribute.ReadOnly("size_mb", () => (BlockCount * BlockSize >> 20).ToString(System.Globalization.CultureInfo.InvariantCulture), Management.ManagementAttributeType.Integer),
    ];

    /// <summary>
    /// Whether the device is thin provisioned: READ CAPACITY(16) reports LBPME and LBPRZ, VPD B2h reports UNMAP support,
    /// and UNMAP deallocates blocks through <see cref="UnmapAsync"/>. Defaults to false.
    /// </summary>
    public virtual bool ThinProvisioned => false;

    /// <summary>
    /// The OPTIMAL TRANSFER LENGTH of VPD B0h in bytes (reported in blocks, and no more than the core's maximum
    /// transfer length). Defaults to 1 MiB.
    /// </summary>
    public virtual int OptimalTransferLengthBytes => 1 << 20;

    /// <summary>The most blocks one UNMAP may name (VPD B0h). Defaults to 256 MiB worth of blocks.</summary>
    public virtual uint MaxUnmapBlockCount => (uint)((256L << 20) / BlockSize);

    /// <summary>The most block descriptors one UNMAP may carry (VPD B0h). Defaults to 256.</summary>
    public virtual uint MaxUnmapDescriptorCount => 256;

    /// <summary>
    /// LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT: the physical block holds 2^n logical blocks, aligned from LBA 0.
    /// Reported in READ CAPACITY(16); VPD B0h reports the physical block as the OPTIMAL TRANSFER LENGTH GRANULARITY
    /// (at least one 4 KiB page) and the OPTIMAL UNMAP GRANULARITY. 0 to 15; defaults to 0 (one logical block per
    /// physical block).
    /// </summary>
    public virtual int LogicalBlocksPerPhysicalBlockExponent => 0;

    /// <summary>
    /// The most bytes per second a SANITIZE operation writes, so that it runs in the background without starving
    /// foreground I/O on the same backing store; 0 for no limit. Defaults to 64 MiB/s (a 1 GiB unit takes 16 s).
    /// </summary>
    public virtual long SanitizeBytesPerSecond => 64L << 20;

    /// <summary>Whether <paramref name="blocks"/> blocks starting at <paramref name="lba"/> lie on the device.</summary>
    /// <param name="lba">First block.</param>
    /// <param name="blocks">Number of blocks.</param>
    /// <returns>True when the whole range exists.</returns>
    public bool IsInRange(ulong lba, ulong blocks)
    {
        ulong count = (ulong)BlockCount;
        return lba <= count && blocks <= count - lba;
    }

    /// <summary>Required. Reads <c>destination.Length</c> bytes at byte offset <paramref name="offset"/>.</summary>
    /// <param name="offset">Byte offset, a multiple of the block size, in range.</param>
    /// <param name="destination">The command's buffer; owned by the core.</param>
    /// <returns>GOOD or a MEDIUM ERROR outcome.</returns>
    protected abstract ValueTask<CommandOutcome> ReadAsync(long offset, Memory<byte> destination);

    /// <summary>Required. Writes <paramref name="source"/> at byte offset <paramref name="offset"/>.</summary>
    /// <param name="offset">Byte offset, a multiple of the block size, in range.</param>
    /// <param name="source">The command's write data; owned by the core.</param>
    /// <param name="forceUnitAccess">FUA: the data must be on stable storage before the outcome is returned.</param>
    /// <returns>GOOD or a MEDIUM ERROR outcome.</returns>
    protected abstract ValueTask<CommandOutcome> WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess);

    /// <summary>Required. Makes every acknowledged write stable (SYNCHRONIZE CACHE).</summary>
    /// <returns>GOOD or an error outcome.</returns>
    protected abstract ValueTask<CommandOutcome> FlushAsync();

    /// <summary>
    /// Optional, required when <see cref="ThinProvisioned"/> is true. Deallocates a byte range, which then reads as
    /// zeros (LBPRZ). The range is block aligned and in range.
    /// </summary>
    /// <param name="offset">Byte offset.</param>
    /// <param name="length">Byte count.</param>
    /// <returns>GOOD or an error outcome.</returns>
    protected virtual ValueTask<CommandOutcome> UnmapAsync(long offset, long length) =>
        new(CommandOutcome.CheckCondition(SenseCode.InvalidOpcode));

    /// <summary>
    /// Optional. Copies a byte range within this device by the device's own means (a reflink, a remap of its metadata,
    /// a copy inside the backing store) for a segment of EXTENDED COPY whose source and destination are both this
    /// device: SCST's ext_copy_remap. The ranges are block aligned and in range, and may overlap (the result must be that
    /// of reading all of the source before writing any of the destination). Returns null (the default) to decline: the
    /// copy manager then reads and writes the segment through <see cref="ReadAsync"/> and <see cref="WriteAsync"/>.
    /// </summary>
    /// <param name="sourceOffset">Byte offset of the source.</param>
    /// <param name="destinationOffset">Byte offset of the destination.</param>
    /// <param name="length">Byte count.</param>
    /// <returns>GOOD or an error outcome when the device made (or failed) the copy; null when it declines.</returns>
    protected virtual ValueTask<CommandOutcome?> CopyWithinAsync(long sourceOffset, long destinationOffset, long length) => new((CommandOutcome?)null);

    /// <summary>
    /// The copy manager's offload of a segment within this device (<see cref="CopyWithinAsync"/>), taking the write
    /// exclusion of the destination as a WRITE of the range would.
    /// </summary>
    internal async ValueTask<CommandOutcome?> CopyWithinDeviceAsync(long sourceOffset, long destinationOffset, long length)
    {
        await _exclusion.EnterAsync(destinationOffset, length, exclusive: false).ConfigureAwait(false);
        try
        {
            return await CopyWithinAsync(sourceOffset, destinationOffset, length).ConfigureAwait(false);
        }
        finally
        {
            _exclusion.Exit(destinationOffset, length, exclusive: false);
        }
    }

    /// <summary>
    /// The copy manager's read: the handler's own read path, for EXTENDED COPY. The range is block aligned and in range.
    /// </summary>
    internal ValueTask<CommandOutcome> CopyReadAsync(long offset, Memory<byte> destination) => ReadAsync(offset, destination);

    /// <summary>
    /// The copy manager's write: the ordinary WRITE path, so that it is excluded from COMPARE AND WRITE, ORWRITE and
    /// WRITE ATOMIC on the same blocks as any WRITE is. The range is block aligned and in range.
    /// </summary>
    internal ValueTask<CommandOutcome> CopyWriteAsync(long offset, ReadOnlyMemory<byte> source) =>
        WriteBlocksAsync(offset, source, forceUnitAccess: false);

    /// <inheritdoc />
    public override ValueTask<CommandOutcome> ExecuteAsync(ScsiCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        ReadOnlySpan<byte> cdb = command.Cdb;
        if (cdb[0] is 0x28 or 0xA8 or 0x88 or 0x2A or 0xAA or 0x8A && (cdb[1] & 0xE0) != 0)
        {
            // RDPROTECT / WRPROTECT on a logical unit formatted without protection information (SBC-3 5.16).
            return new(CommandOutcome.InvalidFieldInCdb(1, 7));
        }

        switch (cdb[0])
        {
            case 0x08 or 0x28 or 0xA8 or 0x88:
                return command.Data.IsEmpty
                    ? new(CommandOutcome.Good)
                    : ReadAsync((long)command.Lba * BlockSize, command.Data);
            case 0x0A or 0x2A or 0xAA or 0x8A:
                return command.Data.IsEmpty
                    ? new(CommandOutcome.Good)
                    : WriteBlocksAsync((long)command.Lba * BlockSize, command.Data, command.ForceUnitAccess);
            case 0x25:
                return new(ReadCapacity10(command));
            case 0x9E when (command.Cdb[1] & 0x1F) == 0x10:
                return new(ReadCapacity16(command));
            case 0x9E when (command.Cdb[1] & 0x1F) == 0x12:
                return GetLbaStatusAsync(command);
            case 0x35 or 0x91:
                return SynchronizeCacheAsync(command);
            case 0x42:
                return ThinProvisioned ? UnmapListAsync(command) : new(CommandOutcome.CheckCondition(SenseCode.InvalidOpcode));
            case 0x2F or 0xAF or 0x8F:
                return VerifyAsync(command);
            case 0x2E or 0xAE or 0x8E:
                return WriteAndVerifyAsync(command);
            case 0x8B:
                return OrWriteAsync(command);
            case 0x89:
                return CompareAndWriteAsync(command);
            case 0x9C:
                return WriteAtomicAsync(command);
            case 0x41 or 0x93:
                return WriteSameAsync(command);
            case 0x48:
                return SanitizeAsync(command);
            case 0x34 or 0x90:
                return new(PreFetch(command));
            case 0x37 or 0xB7:
                return new(ReadDefectData(command));
            case 0x1B:
                return StartStopUnitAsync(command);
            case 0x1E:
                return new(PreventAllowMediumRemoval(command));
            case 0x1D:
                // SEND DIAGNOSTIC: accepted without effect (SCST does the same).
                return new(CommandOutcome.Good);
            default:
                return new(CommandOutcome.CheckCondition(SenseCode.InvalidOpcode));
        }
    }

    private CommandOutcome ReadCapacity10(ScsiCommand command)
    {
        ReadOnlySpan<byte> cdb = command.Cdb;
        bool pmi = (cdb[8] & 0x01) != 0;
        if (!pmi && BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]) != 0)
        {
            return CommandOutcome.InvalidFieldInCdb(2);
        }

        Span<byte> data = command.Data.Span;
        ulong last = (ulong)BlockCount - 1;
        BinaryPrimitives.WriteUInt32BigEndian(data, last > uint.MaxValue ? uint.MaxValue : (uint)last);
        BinaryPrimitives.WriteUInt32BigEndian(data[4..], (uint)BlockSize);
        command.SetResponseLength(8);
        return CommandOutcome.Good;
    }

    private CommandOutcome ReadCapacity16(ScsiCommand command)
    {
        Span<byte> data = stackalloc byte[32];
        data.Clear();
        BinaryPrimitives.WriteUInt64BigEndian(data, (ulong)BlockCount - 1);
        BinaryPrimitives.WriteUInt32BigEndian(data[8..], (uint)BlockSize);
        data[13] = (byte)(LogicalBlocksPerPhysicalBlockExponent & 0x0F); // P_I_EXPONENT 0; LOWEST ALIGNED LBA (14-15) 0
        FillReadCapacity16(data);
        command.WriteResponse(data);
        return CommandOutcome.Good;
    }

    /// <summary>Optional. Lets a device set the provisioning and protection bits of READ CAPACITY(16) data.</summary>
    /// <param name="data">The 32-byte parameter data, with the LBA and block length already written.</param>
    protected virtual void FillReadCapacity16(Span<byte> data)
    {
        if (ThinProvisioned)
        {
            data[14] |= 0x80 | 0x40; // LBPME, LBPRZ
        }
    }

    // UNMAP parameter list (SBC-3 section 5.28.2):
    //   bytes 0-1  UNMAP DATA LENGTH (n - 1)
    //   bytes 2-3  UNMAP BLOCK DESCRIPTOR DATA LENGTH (n - 7)
    //   bytes 8-   descriptors of 16 bytes: LBA (8), NUMBER OF LOGICAL BLOCKS (4), reserved (4)
    private async ValueTask<CommandOutcome> UnmapListAsync(ScsiCommand command)
    {
        if ((command.Cdb[1] & 0x01) != 0)
        {
            return CommandOutcome.InvalidFieldInCdb(1, 0); // ANCHOR is not supported
        }

        ReadOnlyMemory<byte> list = command.Data;
        if (list.Length == 0)
        {
            return CommandOutcome.Good;
        }

        if (list.Length < 8)
        {
            return CommandOutcome.CheckCondition(SenseCode.ParameterListLengthError);
        }

        int dataLength = BinaryPrimitives.ReadUInt16BigEndian(list.Span);
        int descriptorLength = BinaryPrimitives.ReadUInt16BigEndian(list.Span[2..]);
        if (dataLength < 6 || descriptorLength % 16 != 0 || descriptorLength + 8 > list.Length || descriptorLength > dataLength - 6)
        {
            return CommandOutcome.CheckCondition(SenseCode.ParameterListLengthError);
        }

        int count = descriptorLength / 16;
        if ((uint)count > MaxUnmapDescriptorCount)
        {
            return CommandOutcome.InvalidFieldInParameterList(2);
        }

        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> d = list.Span.Slice(8 + (16 * i), 16);
            ulong lba = BinaryPrimitives.ReadUInt64BigEndian(d);
            uint blocks = BinaryPrimitives.ReadUInt32BigEndian(d[8..]);
            if (!IsInRange(lba, blocks))
            {
                return CommandOutcome.CheckCondition(SenseCode.LbaOutOfRange);
            }

            if (blocks > MaxUnmapBlockCount)
            {
                return CommandOutcome.InvalidFieldInParameterList(8 + (16 * i) + 8);
            }
        }

        for (int i = 0; i < count; i++)
        {
            ReadOnlyMemory<byte> d = list.Slice(8 + (16 * i), 16);
            ulong lba = BinaryPrimitives.ReadUInt64BigEndian(d.Span);
            uint blocks = BinaryPrimitives.ReadUInt32BigEndian(d.Span[8..]);
            if (blocks == 0)
            {
                continue;
            }

            CommandOutcome outcome = await UnmapAsync((long)lba * BlockSize, (long)blocks * BlockSize).ConfigureAwait(false);
            if (!outcome.IsGood)
            {
                return outcome;
            }
        }

        return CommandOutcome.Good;
    }

    private ValueTask<CommandOutcome> SynchronizeCacheAsync(ScsiCommand command)
    {
        // The core has range-checked LBA and NUMBER OF BLOCKS; the whole cache is flushed.
        _ = command;
        return FlushAsync();
    }

    /// <summary>The number of blocks a block-transfer CDB names (used by the core's range check).</summary>
    internal static bool NeedsRangeCheck(CdbDescriptor descriptor) =>
        descriptor.LbaLength != 0 && (descriptor.Flags & CdbFlags.BlockCommand) != 0;
}
