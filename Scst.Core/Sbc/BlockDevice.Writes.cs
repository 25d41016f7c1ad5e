// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Scst.Core.Sbc;

namespace Scst.Core;

// VERIFY, WRITE AND VERIFY, ORWRITE, COMPARE AND WRITE and WRITE ATOMIC (SBC-4 sections 5.3, 5.32-5.35, 5.40-5.44).
public abstract partial class BlockDevice
{
    // Chunk size for commands that walk a large range with a temporary buffer (VERIFY, WRITE SAME, SANITIZE).
    private const int ChunkBytes = 1 << 20;

    private readonly WriteExclusion _exclusion = new();

    /// <summary>
    /// The most blocks one COMPARE AND WRITE may name (VPD B0h MAXIMUM COMPARE AND WRITE LENGTH). Defaults to 255, or
    /// fewer when twice that many blocks exceed the core's maximum transfer length.
    /// </summary>
    public virtual int MaxCompareAndWriteBlockCount => 255;

    /// <summary>
    /// The most blocks one WRITE ATOMIC(16) may write (VPD B0h MAXIMUM ATOMIC TRANSFER LENGTH). Defaults to 128 KiB worth,
    /// and at least 256 blocks.
    /// </summary>
    public virtual int MaxAtomicTransferBlockCount => Math.Max(256, (128 << 10) / BlockSize);

    /// <summary>
    /// The alignment (in blocks) of a WRITE ATOMIC(16) LBA and the granularity of its length (VPD B0h ATOMIC ALIGNMENT
    /// and ATOMIC TRANSFER LENGTH GRANULARITY). Defaults to one 4 KiB page worth of blocks, and at least 2.
    /// </summary>
    public virtual int AtomicGranularityBlockCount => Math.Max(2, 4096 / BlockSize);

    // The ordinary WRITE path: no lock and no allocation unless an atomic command is in flight.
    private ValueTask<CommandOutcome> WriteBlocksAsync(long offset, ReadOnlyMemory<byte> data, bool forceUnitAccess)
    {
        if (!_exclusion.TryEnterFast())
        {
            return WriteLockedAsync(offset, data, forceUnitAccess);
        }

        ValueTask<CommandOutcome> pending;
        try
        {
            pending = WriteAsync(offset, data, forceUnitAccess);
        }
        catch
        {
            _exclusion.ExitFast();
            throw;
        }

        if (pending.IsCompleted)
        {
            _exclusion.ExitFast();
            return pending;
        }

        return ExitFastWhenDoneAsync(pending);
    }

    // Runs once per write that completes later (async=1, io_uring): the pooled builder keeps it from allocating a state
    // machine per command.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<CommandOutcome> ExitFastWhenDoneAsync(ValueTask<CommandOutcome> pending)
    {
        try
        {
            return await pending.ConfigureAwait(false);
        }
        finally
        {
            _exclusion.ExitFast();
        }
    }

    private async ValueTask<CommandOutcome> WriteLockedAsync(long offset, ReadOnlyMemory<byte> data, bool forceUnitAccess)
    {
        await _exclusion.EnterAsync(offset, data.Length, exclusive: false).ConfigureAwait(false);
        try
        {
            return await WriteAsync(offset, data, forceUnitAccess).ConfigureAwait(false);
        }
        finally
        {
            _exclusion.Exit(offset, data.Length, exclusive: false);
        }
    }

    // Byte 1 of the block commands with a protection field: RDPROTECT/WRPROTECT/VRPROTECT/ORPROTECT in bits 7-5 must be
    // 000b on a LU without protection information, and the command's reserved bits must be 0. The pointer names the
    // protection field, else the highest reserved bit set.
    private static bool InvalidByte1(byte b1, byte reserved, out CommandOutcome outcome)
    {
        if ((b1 & 0xE0) != 0)
        {
            outcome = CommandOutcome.InvalidFieldInCdb(1, 7);
            return true;
        }

        int bad = b1 & reserved;
        outcome = bad != 0 ? CommandOutcome.InvalidFieldInCdb(1, System.Numerics.BitOperations.Log2((uint)bad)) : default;
        return bad != 0;
    }

    // Byte 1 of VERIFY(10/12/16): VRPROTECT (7-5), DPO (4), reserved (3), BYTCHK (2-1), reserved (0).
    private ValueTask<CommandOutcome> VerifyAsync(ScsiCommand command)
    {
        byte b1 = command.Cdb[1];
        if (InvalidByte1(b1, reserved: 0x09, out CommandOutcome invalid))
        {
            return new(invalid);
        }

        int byteCheck = (b1 >> 1) & 0x03;
        if (byteCheck == 2)
        {
            return new(CommandOutcome.InvalidFieldInCdb(1, 2));
        }

        if (command.TransferLength == 0)
        {
            return new(CommandOutcome.Good);
        }

        long offset = (long)command.Lba * BlockSize;
        long length = (long)command.TransferLength * BlockSize;
        return VerifyRangeAsync(offset, length, byteCheck == 0 ? ReadOnlyMemory<byte>.Empty : command.Data, repeat: byteCheck == 3);
    }

    // Reads the range chunk by chunk; compares it with `expected` (or with one block repeated) unless that is empty.
    private async ValueTask<CommandOutcome> VerifyRangeAsync(long offset, long length, ReadOnlyMemory<byte> expected, bool repeat)
    {
        int chunk = (int)Math.Min(length, ChunkBytes);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(chunk);
        try
        {
            for (long done = 0; done < length; done += chunk)
            {
                int n = (int)Math.Min(chunk, length - done);
                CommandOutcome read = await ReadAsync(offset + done, buffer.AsMemory(0, n)).ConfigureAwait(false);
                if (!read.IsGood)
                {
                    return read;
                }

                if (expected.IsEmpty)
                {
                    continue;
                }

                for (int i = 0; i < n; i += repeat ? BlockSize : n)
                {
                    int size = repeat ? BlockSize : n;
                    ReadOnlySpan<byte> want = repeat ? expected.Span[..BlockSize] : expected.Span.Slice((int)done, n);
                    ReadOnlySpan<byte> have = buffer.AsSpan(i, size);
                    int same = have.CommonPrefixLength(want);
                    if (same < size)
                    {
                        return CommandOutcome.WithInformation(SenseCode.MiscompareDuringVerify, (ulong)(done + i + same));
                    }
                }
            }

            return CommandOutcome.Good;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // Byte 1 of WRITE AND VERIFY(10/12/16): WRPROTECT (7-5), DPO (4), reserved (3), BYTCHK (2-1), reserved (0).
    private ValueTask<CommandOutcome> WriteAndVerifyAsync(ScsiCommand command)
    {
        byte b1 = command.Cdb[1];
        if (InvalidByte1(b1, reserved: 0x0D, out CommandOutcome invalid))
        {
            return new(invalid);
        }

        if (command.Data.IsEmpty)
        {
            return new(CommandOutcome.Good);
        }

        return WriteThenVerifyAsync((long)command.Lba * BlockSize, command.Data, (b1 & 0x02) != 0);
    }

    private async ValueTask<CommandOutcome> WriteThenVerifyAsync(long offset, ReadOnlyMemory<byte> data, bool compare)
    {
        CommandOutcome written = await WriteBlocksAsync(offset, data, forceUnitAccess: false).ConfigureAwait(false);
        if (!written.IsGood)
        {
            return written;
        }

        // The medium verification reads the blocks back; with BYTCHK=1 it also compares them with what was sent.
        return await VerifyRangeAsync(offset, data.Length, compare ? data : ReadOnlyMemory<byte>.Empty, repeat: false).ConfigureAwait(false);
    }

    // Byte 1 of ORWRITE(16): ORPROTECT (7-5), DPO (4), FUA (3), reserved (2), FUA_NV (1), reserved (0).
    private ValueTask<CommandOutcome> OrWriteAsync(ScsiCommand command)
    {
        byte b1 = command.Cdb[1];
        if (InvalidByte1(b1, reserved: 0x05, out CommandOutcome invalid))
        {
            return new(invalid);
        }

        if (command.Data.IsEmpty)
        {
            return new(CommandOutcome.Good);
        }

        return OrWriteLockedAsync((long)command.Lba * BlockSize, command.Data, (b1 & 0x08) != 0);
    }

    private async ValueTask<CommandOutcome> OrWriteLockedAsync(long offset, Memory<byte> data, bool forceUnitAccess)
    {
        byte[] current = ArrayPool<byte>.Shared.Rent(data.Length);
        await _exclusion.EnterAsync(offset, data.Length, exclusive: true).ConfigureAwait(false);
        try
        {
            CommandOutcome read = await ReadAsync(offset, current.AsMemory(0, data.Length)).ConfigureAwait(false);
            if (!read.IsGood)
            {
                return read;
            }

            // The result is built in the command's own buffer: the initiator's data is not needed afterwards.
            Span<byte> span = data.Span;
            ReadOnlySpan<byte> old = current.AsSpan(0, span.Length);
            for (int i = 0; i < span.Length; i++)
            {
                span[i] |= old[i];
            }

            return await WriteAsync(offset, data, forceUnitAccess).ConfigureAwait(false);
        }
        finally
        {
            _exclusion.Exit(offset, data.Length, exclusive: true);
            ArrayPool<byte>.Shared.Return(current);
        }
    }

    // COMPARE AND WRITE: byte 1 WRPROTECT (7-5), DPO (4), FUA (3), reserved (2), FUA_NV (1), reserved (0); bytes 10-12
    // reserved; byte 13 NUMBER OF LOGICAL BLOCKS. The Data-Out buffer holds the verify blocks, then the write blocks.
    private ValueTask<CommandOutcome> CompareAndWriteAsync(ScsiCommand command)
    {
        ReadOnlySpan<byte> cdb = command.Cdb;
        byte b1 = cdb[1];
        if (InvalidByte1(b1, reserved: 0x05, out CommandOutcome invalid))
        {
            return new(invalid);
        }

        for (int i = 10; i <= 12; i++)
        {
            if (cdb[i] != 0)
            {
                return new(CommandOutcome.InvalidFieldInCdb(i));
            }
        }

        int blocks = (int)command.TransferLength;
        if (blocks > MaxCompareAndWriteBlockCount)
        {
            return new(CommandOutcome.InvalidFieldInCdb(13));
        }

        if (command.ExpectedTransferLength > command.DataLength)
        {
            // The initiator sends more than the verify and write blocks: the CDB and the transfer disagree.
            return new(CommandOutcome.InvalidFieldInCdb(13));
        }

        if (blocks == 0)
        {
            return new(CommandOutcome.Good);
        }

        return CompareAndWriteLockedAsync((long)command.Lba * BlockSize, command.Data, blocks * BlockSize, (b1 & 0x08) != 0);
    }

    private async ValueTask<CommandOutcome> CompareAndWriteLockedAsync(long offset, ReadOnlyMemory<byte> data, int length, bool forceUnitAccess)
    {
        byte[] current = ArrayPool<byte>.Shared.Rent(length);
        await _exclusion.EnterAsync(offset, length, exclusive: true).ConfigureAwait(false);
        try
        {
            CommandOutcome read = await ReadAsync(offset, current.AsMemory(0, length)).ConfigureAwait(false);
            if (!read.IsGood)
            {
                return read;
            }

            int same = current.AsSpan(0, length).CommonPrefixLength(data.Span[..length]);
            if (same < length)
            {
                return CommandOutcome.WithInformation(SenseCode.MiscompareDuringVerify, (ulong)same);
            }

            return await WriteAsync(offset, data.Slice(length, length), forceUnitAccess).ConfigureAwait(false);
        }
        finally
        {
            _exclusion.Exit(offset, length, exclusive: true);
            ArrayPool<byte>.Shared.Return(current);
        }
    }

    // WRITE ATOMIC(16): byte 1 WRPROTECT (7-5), DPO (4), FUA (3), reserved (2-0); bytes 10-11 reserved; bytes 12-13
    // TRANSFER LENGTH; byte 14 GROUP NUMBER.
    private ValueTask<CommandOutcome> WriteAtomicAsync(ScsiCommand command)
    {
        ReadOnlySpan<byte> cdb = command.Cdb;
        byte b1 = cdb[1];
        if (InvalidByte1(b1, reserved: 0x07, out CommandOutcome invalid))
        {
            return new(invalid);
        }

        if (cdb[10] != 0 || cdb[11] != 0)
        {
            return new(CommandOutcome.InvalidFieldInCdb(cdb[10] != 0 ? 10 : 11));
        }

        uint blocks = command.TransferLength;
        if (blocks == 0)
        {
            return new(CommandOutcome.Good);
        }

        int granularity = AtomicGranularityBlockCount;
        if (command.Lba % (uint)granularity != 0)
        {
            return new(CommandOutcome.InvalidFieldInCdb(2));
        }

        if (blocks > (uint)MaxAtomicTransferBlockCount || blocks % (uint)granularity != 0)
        {
            return new(CommandOutcome.InvalidFieldInCdb(12));
        }

        if (command.Data.Length != (int)blocks * BlockSize)
        {
            // An atomic write is all or nothing: a transfer cut short by the initiator is refused.
            return new(CommandOutcome.CheckCondition(SenseCode.InvalidFieldInInformationUnit));
        }

        return WriteExclusiveAsync((long)command.Lba * BlockSize, command.Data, command.ForceUnitAccess);
    }

    private async ValueTask<CommandOutcome> WriteExclusiveAsync(long offset, ReadOnlyMemory<byte> data, bool forceUnitAccess)
    {
        await _exclusion.EnterAsync(offset, data.Length, exclusive: true).ConfigureAwait(false);
        try
        {
            return await WriteAsync(offset, data, forceUnitAccess).ConfigureAwait(false);
        }
        finally
        {
            _exclusion.Exit(offset, data.Length, exclusive: true);
        }
    }

    private static uint ReadNumberOfBlocks(ReadOnlySpan<byte> cdb) =>
        cdb[0] == 0x41 ? BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]) : BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]);
}
