// Licensed under the Apache License, Version 2.0.

using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using Scst.Core.Sbc;

namespace Scst.Core;

// SANITIZE (SBC-4 sections 4.11 and 5.30): the operation runs in the background, paced to SanitizeBytesPerSecond, and
// the unit answers NOT READY, SANITIZE IN PROGRESS (with the progress) until it ends.
public abstract partial class BlockDevice
{
    // A sanitize writes the medium in pieces this large; small enough that pacing is smooth and the progress moves.
    private const int SanitizeChunkBytes = 256 << 10;

    // How often a SANITIZE with IMMED=0 looks whether a task management function aborted it while it waits.
    private static readonly TimeSpan s_sanitizeAbortPoll = TimeSpan.FromMilliseconds(50);

    // Cancelled when the device is disposed: a running sanitize stops there (the process or the device goes away).
    private readonly CancellationTokenSource _lifetime = new();

    // The running or failed sanitize operation; null when the unit is ready. Written with interlocked operations.
    private SanitizeOperation? _sanitize;
    private Task? _sanitizeTask;

    /// <summary>The running sanitize operation, or the failed one whose failure mode the unit is in; null otherwise. One volatile read.</summary>
    internal SanitizeOperation? Sanitize => Volatile.Read(ref _sanitize);

    /// <summary>Stops a running sanitize operation (the device goes away), then releases what the device holds.</summary>
    /// <returns>A task that completes when the device is closed.</returns>
    public override async ValueTask DisposeAsync()
    {
        await _lifetime.CancelAsync().ConfigureAwait(false);
        Task? running = Volatile.Read(ref _sanitizeTask);
        if (running is not null)
        {
            await running.ConfigureAwait(false);
        }

        _lifetime.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    // SANITIZE: byte 1 IMMED (7), reserved (6), AUSE (5), SERVICE ACTION (4-0); bytes 2-6 reserved; bytes 7-8
    // PARAMETER LIST LENGTH. Service actions: 01h OVERWRITE, 02h BLOCK ERASE, 03h CRYPTOGRAPHIC ERASE, 1Fh EXIT FAILURE
    // MODE. The core refuses SANITIZE while an operation runs (NOT READY, SANITIZE IN PROGRESS), so here the unit is
    // ready or in the failure mode of a failed operation.
    private ValueTask<CommandOutcome> SanitizeAsync(ScsiCommand command)
    {
        ReadOnlySpan<byte> cdb = command.Cdb;
        if ((cdb[1] & 0x40) != 0)
        {
            return new(CommandOutcome.InvalidFieldInCdb(1, 6));
        }

        for (int i = 2; i <= 6; i++)
        {
            if (cdb[i] != 0)
            {
                return new(CommandOutcome.InvalidFieldInCdb(i));
            }
        }

        bool immediate = (cdb[1] & 0x80) != 0;
        bool unrestricted = (cdb[1] & 0x20) != 0;
        int parameterLength = BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]);
        SanitizeOperation? current = Sanitize;
        if (current is { IsRunning: true })
        {
            return new(SanitizeOperation.InProgress(current.Progress));
        }

        switch (cdb[1] & 0x1F)
        {
            case 0x01:
            case 0x02:
                break;
            case 0x1F:
                return new(parameterLength != 0 ? CommandOutcome.InvalidFieldInCdb(7) : ExitFailureMode(current));
            default:
                // CRYPTOGRAPHIC ERASE (a file has no media encryption key) and reserved service actions.
                return new(CommandOutcome.InvalidFieldInCdb(1, 4));
        }

        byte[]? pattern = null;
        if ((cdb[1] & 0x1F) == 0x01)
        {
            CommandOutcome invalid = ReadOverwriteParameters(command.Data.Span, parameterLength, out pattern);
            if (!invalid.IsGood)
            {
                return new(invalid);
            }
        }
        else if (!ThinProvisioned)
        {
            // Block erase needs logical block provisioning (LBPME); VPD B1h reports WABEREQ 0 here.
            return new(CommandOutcome.InvalidFieldInCdb(1, 4));
        }
        else if (parameterLength != 0)
        {
            return new(CommandOutcome.InvalidFieldInCdb(7));
        }

        if (current is not null && !current.UnrestrictedExit && unrestricted)
        {
            // After a failure in the restricted completion mode, only a sanitize in that mode may follow (SBC-4 5.30.1).
            return new(CommandOutcome.InvalidFieldInCdb(1, 5));
        }

        var operation = new SanitizeOperation(BlockCount * BlockSize, unrestricted);
        if (Interlocked.CompareExchange(ref _sanitize, operation, current) != current)
        {
            // Another SANITIZE won the race to start.
            return new(SanitizeOperation.InProgress(0));
        }

        Volatile.Write(ref _sanitizeTask, Task.Run(() => RunSanitizeAsync(operation, pattern, _lifetime.Token)));
        return immediate ? new(CommandOutcome.Good) : WaitForSanitizeAsync(command, operation);
    }

    // EXIT FAILURE MODE: nothing to do when the unit is not in the failure mode; leaves it when the failed operation
    // allowed an unrestricted exit (AUSE=1), and is refused otherwise.
    private CommandOutcome ExitFailureMode(SanitizeOperation? current)
    {
        if (current is null)
        {
            return CommandOutcome.Good;
        }

        if (!current.UnrestrictedExit)
        {
            return CommandOutcome.InvalidFieldInCdb(1, 4);
        }

        Interlocked.CompareExchange(ref _sanitize, null, current);
        return CommandOutcome.Good;
    }

    // OVERWRITE parameter list: byte 0 INVERT (7), TEST (6-5), OVERWRITE COUNT (4-0); bytes 2-3 INITIALIZATION PATTERN
    // LENGTH; bytes 4- INITIALIZATION PATTERN. Only the final pass is visible on a file, so one pass with the pattern
    // the last pass would write is enough. The result is one block of that pattern.
    private CommandOutcome ReadOverwriteParameters(ReadOnlySpan<byte> list, int parameterLength, out byte[]? block)
    {
        block = null;
        if (parameterLength <= 4 || parameterLength > BlockSize + 4)
        {
            return CommandOutcome.InvalidFieldInCdb(7);
        }

        int count = list[0] & 0x1F;
        int patternLength = BinaryPrimitives.ReadUInt16BigEndian(list[2..]);
        if (count == 0 || patternLength == 0 || patternLength > BlockSize || patternLength + 4 > parameterLength)
        {
            // libiscsi and SCST report these as INVALID FIELD IN CDB, pointing at the PARAMETER LIST LENGTH.
            return CommandOutcome.InvalidFieldInCdb(7);
        }

        if ((list[0] & 0x60) != 0)
        {
            return CommandOutcome.InvalidFieldInParameterList(0, 6);
        }

        bool invert = (list[0] & 0x80) != 0 && count % 2 == 0;
        block = new byte[BlockSize];
        ReadOnlySpan<byte> pattern = list.Slice(4, patternLength);
        for (int i = 0; i < block.Length; i += patternLength)
        {
            pattern[..Math.Min(patternLength, block.Length - i)].CopyTo(block.AsSpan(i));
        }

        if (invert)
        {
            for (int i = 0; i < block.Length; i++)
            {
                block[i] = (byte)~block[i];
            }
        }

        return CommandOutcome.Good;
    }

    // IMMED=0: the status waits for the operation. The wait ends early, without stopping the operation, when a task
    // management function aborts the command or the I_T nexus is lost.
    private static async ValueTask<CommandOutcome> WaitForSanitizeAsync(ScsiCommand command, SanitizeOperation operation)
    {
        Task<CommandOutcome> done = operation.Completion;
        while (!done.IsCompleted)
        {
            if (command.IsAborted || command.Session.IsClosed)
            {
                return CommandOutcome.CheckCondition(SenseCode.CommandAborted);
            }

            await Task.WhenAny(done, Task.Delay(s_sanitizeAbortPoll)).ConfigureAwait(false);
        }

        return await done.ConfigureAwait(false);
    }

    // The background part: overwrite (or deallocate) the whole medium, make it durable, and leave the unit ready, or in
    // the failure mode when anything went wrong.
    private async Task RunSanitizeAsync(SanitizeOperation operation, byte[]? pattern, CancellationToken cancellation)
    {
        long total = BlockCount * BlockSize;
        bool success;
        try
        {
            CommandOutcome outcome = pattern is null
                ? await UnmapAsync(0, total).ConfigureAwait(false)
                : await OverwriteMediumAsync(operation, pattern, total, cancellation).ConfigureAwait(false);
            if (outcome.IsGood)
            {
                outcome = await FlushAsync().ConfigureAwait(false);
            }

            success = outcome.IsGood;
        }
        catch (Exception)
        {
            // Cancelled (the device goes away), or a handler that threw: either way the medium is not sanitized, and a
            // unit left "in progress" for ever would be worse than the failure mode.
            success = false;
        }

        if (success)
        {
            operation.Advance(total); // a block erase has no steps; the progress is clamped at the end anyway
            Interlocked.CompareExchange(ref _sanitize, null, operation);
        }

        operation.Complete(success);
    }

    // Writes one block of pattern over the whole medium, SanitizeChunkBytes at a time, at no more than
    // SanitizeBytesPerSecond: each chunk waits until the bytes written so far are due at that rate.
    private async ValueTask<CommandOutcome> OverwriteMediumAsync(SanitizeOperation operation, byte[] pattern, long total, CancellationToken cancellation)
    {
        int chunk = (int)Math.Min(total, SanitizeChunkBytes / BlockSize * BlockSize);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(chunk);
        try
        {
            for (int i = 0; i < chunk; i += pattern.Length)
            {
                pattern.CopyTo(buffer, i);
            }

            long rate = SanitizeBytesPerSecond;
            long started = Stopwatch.GetTimestamp();
            for (long done = 0; done < total;)
            {
                cancellation.ThrowIfCancellationRequested();
                int n = (int)Math.Min(chunk, total - done);
                CommandOutcome outcome = await WriteBlocksAsync(done, buffer.AsMemory(0, n), forceUnitAccess: false).ConfigureAwait(false);
                if (!outcome.IsGood)
                {
                    return outcome;
                }

                done += n;
                operation.Advance(n);
                if (rate > 0 && done < total)
                {
                    TimeSpan ahead = TimeSpan.FromSeconds((double)done / rate) - Stopwatch.GetElapsedTime(started);
                    if (ahead > TimeSpan.Zero)
                    {
                        await Task.Delay(ahead, cancellation).ConfigureAwait(false);
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
}
