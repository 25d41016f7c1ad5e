// Licensed under the Apache License, Version 2.0.

using System.Runtime.CompilerServices;
using Scst.Core.Buffers;

namespace Scst.Core.Spc.ExtendedCopy;

/// <summary>
/// The copy manager (SCST's copy_manager): EXTENDED COPY(LID1) between block devices that the issuing I_T nexus
/// reaches, and RECEIVE COPY RESULTS about those copies. Every logical unit of the core is a copy manager; the LU the
/// command is addressed to need not be a source or a destination.
/// </summary>
/// <remarks>
/// A copy runs through the devices' own read path and the ordinary WRITE path (<see cref="BlockDevice.CopyReadAsync"/>
/// and <see cref="BlockDevice.CopyWriteAsync"/>), one chunk of at most <see cref="CopyLimits.ChunkBytes"/> at a time in
/// one buffer rented from the core's <see cref="DataBufferPool"/> for the whole command and returned before it
/// completes. The first chunk runs on the thread that submitted the command; a longer copy then leaves that thread (a
/// driver's receive loop) and awaits each read and write. Abort is checked before every read and every write, so an
/// aborted EXTENDED COPY stops at the next chunk. Everything the parameter list asks for is checked before the first byte moves.
/// </remarks>
internal sealed class CopyManager(DataBufferPool pool, Func<long>? clock = null)
{
    private readonly ConditionalWeakTable<ScsiSession, CopyListRegistry> _lists = new();
    private readonly Func<long> _clock = clock ?? (static () => Environment.TickCount64);

    /// <summary>
    /// The one place where reservations will gate a copy: may <paramref name="session"/> read
    /// <paramref name="source"/> and write <paramref name="destination"/>? Returns GOOD, or the outcome that ends the
    /// EXTENDED COPY before any data moves (RESERVATION CONFLICT once persistent reservations exist).
    /// </summary>
    internal static CommandOutcome CheckReservationAccess(ScsiSession session, BlockDevice source, BlockDevice destination)
    {
        _ = session;
        _ = source;
        _ = destination;
        return CommandOutcome.Good;
    }

    /// <summary>The list identifiers of <paramref name="session"/>'s copies (tests look at them).</summary>
    internal CopyListRegistry ListsOf(ScsiSession session) => _lists.GetValue(session, _ => new CopyListRegistry(_clock));

    /// <summary>EXTENDED COPY(LID1): checks the parameter list in the command's buffer, then copies.</summary>
    public ValueTask<CommandOutcome> ExtendedCopyAsync(ScsiCommand command)
    {
        ReadOnlySpan<byte> list = command.Data.Span;
        if (list.IsEmpty)
        {
            // A PARAMETER LIST LENGTH of zero is not an error: nothing is copied (SPC-4 section 6.4.1).
            return new(CommandOutcome.Good);
        }

        CommandOutcome outcome = CopyParameterList.ParseHeader(list, out CopyHeader header);
        if (!outcome.IsGood)
        {
            return new(outcome);
        }

        CopyListRegistry? lists = null;
        CopyListState? state = null;
        if (header.IsTracked)
        {
            lists = ListsOf(command.Session);
            state = lists.TryStart(header.ListId);
            if (state is null)
            {
                return new(CommandOutcome.CheckCondition(SenseCode.OperationInProgress));
            }
        }

        if (header.CscdListLength == 0)
        {
            // No descriptors at all: nothing to do and nothing to report.
            lists?.Remove(state!);
            return new(CommandOutcome.Good);
        }

        outcome = CopyParameterList.ParseDescriptors(list, header, command.Session, out CopySegment[] segments);
        if (!outcome.IsGood)
        {
            if (lists is not null)
            {
                // A malformed list never became a copy; a copy refused in a segment keeps its results (SCST does the
                // same, so that FAILED SEGMENT DETAILS can tell why).
                if (outcome.Sense.Key == SenseKey.IllegalRequest)
                {
                    lists.Remove(state!);
                }
                else
                {
                    state!.SetSegmentsProcessed(outcome.HasCommandSpecificInformation ? (int)(outcome.CommandSpecificInformation & 0xFFFF) + 1 : 0);
                    lists.Finish(state, outcome);
                }
            }

            return new(outcome);
        }

        return RunAsync(command, segments, lists, state);
    }

    // Copies the segments in order, chunk by chunk. When source and destination overlap on one device with the
    // destination above the source, a segment's chunks go from its end backwards, so that every source byte is read
    // before it is overwritten (memmove semantics).
    private async ValueTask<CommandOutcome> RunAsync(ScsiCommand command, CopySegment[] segments, CopyListRegistry? lists, CopyListState? state)
    {
        long largest = 0;
        foreach (CopySegment s in segments)
        {
            largest = Math.Max(largest, s.Length);
        }

        int chunk = Math.Min(CopyLimits.ChunkBytes, pool.MaxBufferSize);
        CommandOutcome outcome = CommandOutcome.CheckCondition(SenseCode.InternalTargetFailure);
        DataBuffer? buffer = largest > 0 ? pool.Rent((int)Math.Min(chunk, largest)) : null;
        bool started = false;
        bool leftSubmitter = false;
        try
        {
            for (int i = 0; i < segments.Length; i++)
            {
                CopySegment s = segments[i];
                state?.SetSegmentsProcessed(i + 1);
                if (s.Source == s.Destination && s.Length > 0)
                {
                    // A copy within one device may be the device's to make (ext_copy_remap); null: it declined.
                    CommandOutcome? offloaded = await s.Destination.CopyWithinDeviceAsync(s.SourceOffset, s.DestinationOffset, s.Length).ConfigureAwait(false);
                    if (offloaded is { } done)
                    {
                        if (!done.IsGood)
                        {
                            return CopyParameterList.CopyAborted(SenseCode.CopyAborted, s.Number, s.DescriptorOffset + 6);
                        }

                        state?.AddTransferred(s.Length);
                        continue;
                    }
                }

                bool backwards = s.Source == s.Destination && s.DestinationOffset > s.SourceOffset && s.DestinationOffset < s.SourceOffset + s.Length;
                for (long done = 0; done < s.Length; done += chunk)
                {
                    if (started && !leftSubmitter)
                    {
                        // The first chunk runs on the thread that submitted the command, as a WRITE of that size would;
                        // the rest of a long copy does not hold that thread (a driver's receive loop), even when the
                        // handler completes every read and write synchronously.
                        leftSubmitter = true;
                        await Task.Yield();
                    }

                    started = true;
                    int n = (int)Math.Min(chunk, s.Length - done);
                    long at = backwards ? s.Length - done - n : done;
                    outcome = await CopyChunkAsync(command, s, at, buffer!.Memory[..n]).ConfigureAwait(false);
                    if (!outcome.IsGood)
                    {
                        return outcome;
                    }

                    state?.AddTransferred(n);
                }
            }

            outcome = CommandOutcome.Good;
            return outcome;
        }
        finally
        {
            if (buffer is not null)
            {
                pool.Return(buffer);
            }

            if (state is not null)
            {
                lists!.Finish(state, outcome);
            }
        }
    }

    // One read and one write; an abort is noticed before each of them.
    private static async ValueTask<CommandOutcome> CopyChunkAsync(ScsiCommand command, CopySegment s, long at, Memory<byte> data)
    {
        if (command.IsAborted)
        {
            return CommandOutcome.CheckCondition(SenseCode.CommandAborted);
        }

        CommandOutcome read = await s.Source.CopyReadAsync(s.SourceOffset + at, data).ConfigureAwait(false);
        if (!read.IsGood)
        {
            return CopyParameterList.CopyAborted(SenseCode.CopyAborted, s.Number, s.DescriptorOffset + 4);
        }

        if (command.IsAborted)
        {
            return CommandOutcome.CheckCondition(SenseCode.CommandAborted);
        }

        CommandOutcome written = await s.Destination.CopyWriteAsync(s.DestinationOffset + at, data).ConfigureAwait(false);
        return written.IsGood ? CommandOutcome.Good : CopyParameterList.CopyAborted(SenseCode.CopyAborted, s.Number, s.DescriptorOffset + 6);
    }

    /// <summary>RECEIVE COPY RESULTS: COPY STATUS, OPERATING PARAMETERS or FAILED SEGMENT DETAILS (LID1).</summary>
    public CommandOutcome ReceiveCopyResults(ScsiCommand command)
    {
        ReadOnlySpan<byte> cdb = command.Cdb;
        Span<byte> d = stackalloc byte[CopyResults.FailedSegmentDetailsHeaderLength + SenseData.MaxLength];
        d.Clear();
        int serviceAction = cdb[1] & 0x1F;
        int length;
        if (serviceAction == 0x03)
        {
            length = CopyResults.OperatingParameters(d);
        }
        else if (serviceAction is 0x00 or 0x04)
        {
            CopyListRegistry? lists = _lists.TryGetValue(command.Session, out CopyListRegistry? found) ? found : null;
            CopyListState? state = lists?.Find(cdb[2]);
            if (state is null || (serviceAction == 0x04 && !state.IsDone))
            {
                // No copy of this I_T nexus has that list identifier (or, for failure details, it is still running).
                return CommandOutcome.InvalidFieldInCdb(2);
            }

            length = serviceAction == 0x00
                ? CopyResults.CopyStatus(d, state)
                : CopyResults.FailedSegmentDetails(d, state, command.Device?.DescriptorSense ?? false);
            if (state.IsDone)
            {
                // Retrieved: the results of a finished copy are not held any longer (as SCST does).
                lists!.Remove(state);
            }
        }
        else
        {
            return CommandOutcome.InvalidFieldInCdb(1, 4);
        }

        command.WriteResponse(d[..length]);
        return CommandOutcome.Good;
    }
}
