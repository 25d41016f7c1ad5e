// Licensed under the Apache License, Version 2.0.

using Scst.Core.Buffers;

namespace Scst.Core;

// WRITE SAME(10/16) (SBC-4 sections 5.50-5.52).
public abstract partial class BlockDevice
{
    /// <summary>
    /// The most blocks one WRITE SAME may name (VPD B0h MAXIMUM WRITE SAME LENGTH); a NUMBER OF LOGICAL BLOCKS of 0
    /// (to the end of the medium) counts as the blocks it covers. Defaults to 16 MiB worth of blocks (32768 blocks of
    /// 512 bytes): libiscsi checks a limit of 65536 blocks or more with a WRITE(16) of as many blocks, which exceeds the
    /// default maximum transfer length.
    /// </summary>
    public virtual uint MaxWriteSameBlockCount => (uint)((16L << 20) / BlockSize);

    // Byte 1 of WRITE SAME(10): WRPROTECT (7-5), ANCHOR (4), UNMAP (3), reserved (2-1, formerly PBDATA/LBDATA),
    // reserved (0). WRITE SAME(16) has NDOB in bit 0. Byte 6 (10) or 14 (16) is the GROUP NUMBER, ignored.
    private ValueTask<CommandOutcome> WriteSameAsync(ScsiCommand command)
    {
        ReadOnlySpan<byte> cdb = command.Cdb;
        bool sixteen = cdb[0] == 0x93;
        byte b1 = cdb[1];
        if ((b1 & 0xE0) != 0)
        {
            return new(CommandOutcome.InvalidFieldInCdb(1, 7));
        }

        if ((b1 & 0x10) != 0)
        {
            return new(CommandOutcome.InvalidFieldInCdb(1, 4)); // ANCHOR: anchored blocks are not supported
        }

        bool unmap = (b1 & 0x08) != 0;
        if (unmap && !ThinProvisioned)
        {
            return new(CommandOutcome.InvalidFieldInCdb(1, 3));
        }

        if ((b1 & 0x06) != 0)
        {
            return new(CommandOutcome.InvalidFieldInCdb(1, (b1 & 0x04) != 0 ? 2 : 1));
        }

        bool noDataOut = sixteen && (b1 & 0x01) != 0;
        if (!sixteen && (b1 & 0x01) != 0)
        {
            return new(CommandOutcome.InvalidFieldInCdb(1, 0));
        }

        if (!noDataOut && command.ExpectedTransferLength > command.DataLength)
        {
            // More than one block of data-out: the initiator and the CDB disagree (the core refuses less than one).
            return new(CommandOutcome.InvalidFieldInCdb(sixteen ? 10 : 7));
        }

        ulong blocks = ReadNumberOfBlocks(cdb);
        if (blocks == 0)
        {
            blocks = (ulong)BlockCount - command.Lba; // WSNZ is 0: zero means to the end of the medium
        }

        if (blocks > MaxWriteSameBlockCount)
        {
            return new(CommandOutcome.InvalidFieldInCdb(sixteen ? 10 : 7));
        }

        if (blocks == 0)
        {
            return new(CommandOutcome.Good);
        }

        long offset = (long)command.Lba * BlockSize;
        long length = (long)blocks * BlockSize;
        if (unmap)
        {
            // SCST deallocates whatever the data-out block holds; with LBPRZ the blocks then read as zeros.
            return UnmapAsync(offset, length);
        }

        return FillAsync(offset, length, noDataOut ? ReadOnlyMemory<byte>.Empty : command.Data[..BlockSize]);
    }

    /// <summary>
    /// Optional. Zeroes a byte range by the device's own means (a WRITE ZEROES offload, BLKZEROOUT, a range of a
    /// sparse store marked as zeros) for a WRITE SAME whose block is all zeros and that does not ask to unmap: the
    /// blocks must read as zeros afterwards and stay mapped. The range is block aligned and in range, and the write
    /// exclusion of a WRITE of the range is held. Returns null (the default) to decline: the core then writes the zeros
    /// through <see cref="WriteAsync"/>.
    /// </summary>
    /// <param name="offset">Byte offset.</param>
    /// <param name="length">Byte count.</param>
    /// <returns>GOOD or an error outcome when the device zeroed (or failed to zero) the range; null when it declines.</returns>
    protected virtual ValueTask<CommandOutcome?> WriteZerosAsync(long offset, long length) => new((CommandOutcome?)null);

    // Writes `pattern` (one block, or zeros when empty) over a byte range: through the device's WriteZerosAsync when the
    // block is all zeros and the device takes it, else 1 MiB at a time from a buffer aligned for O_DIRECT.
    private async ValueTask<CommandOutcome> FillAsync(long offset, long length, ReadOnlyMemory<byte> pattern)
    {
        if (!pattern.Span.ContainsAnyExcept((byte)0))
        {
            CommandOutcome? zeroed;
            await _exclusion.EnterAsync(offset, length, exclusive: false).ConfigureAwait(false);
            try
            {
                zeroed = await WriteZerosAsync(offset, length).ConfigureAwait(false);
            }
            finally
            {
                _exclusion.Exit(offset, length, exclusive: false);
            }

            if (zeroed is { } outcome)
            {
                return outcome;
            }
        }

        int chunk = (int)Math.Min(length, ChunkBytes);
        var buffer = new DataBuffer(chunk, sizeClass: -1);
        try
        {
            Span<byte> span = buffer.GetSpan();
            if (pattern.IsEmpty)
            {
                span.Clear();
            }
            else
            {
                for (int i = 0; i < chunk; i += pattern.Length)
                {
                    pattern.Span.CopyTo(span[i..]);
                }
            }

            for (long done = 0; done < length; done += chunk)
            {
                int n = (int)Math.Min(chunk, length - done);
                CommandOutcome outcome = await WriteBlocksAsync(offset + done, buffer.Memory[..n], forceUnitAccess: false).ConfigureAwait(false);
                if (!outcome.IsGood)
                {
                    return outcome;
                }
            }

            return CommandOutcome.Good;
        }
        finally
        {
            // Not pooled: the buffer is native memory aligned to 4096 bytes, freed here once every write above is done.
            buffer.Free();
        }
    }
}
