// Licensed under the Apache License, Version 2.0.

using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Scst.Core.Alua;
using Scst.Core.Buffers;
using Scst.Core.Cdb;
using Scst.Core.Spc;

namespace Scst.Core;

/// <summary>
/// Moves commands through their life: LUN translation, CDB decoding and checks, buffer allocation, write data,
/// execution (core-owned or device handler) and the response. Every step runs on the thread that finished the
/// previous one; nothing here hops threads or allocates on the way of a command that completes synchronously.
/// </summary>
internal sealed class CommandProcessor(ScstEngine engine, DataBufferPool pool, ILogger logger)
{
    public void Submit(ScsiCommand command)
    {
        if (engine.Metrics.TimesCommands)
        {
            command.SubmittedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        }

        if (!command.IsPooled)
        {
            // More commands than the session's queue depth: refuse without running (SAM-5 TASK SET FULL).
            command.SetDecoded(default);
            Respond(command, CommandOutcome.FromStatus(ScsiStatus.TaskSetFull));
            return;
        }

        CommandOutcome rejection = Prepare(command, out bool deviceParses, out CdbParseResult proposal);
        if (!rejection.IsGood)
        {
            Respond(command, rejection);
            return;
        }

        if (deviceParses)
        {
            ParseOnDevice(command, proposal);
            return;
        }

        if (!EnterTaskSet(command))
        {
            return;
        }

        if (command.Direction == DataDirection.Write && command.WriteBuffer.Length > 0)
        {
            command.State = CommandState.WaitingForData;
            command.Session.Transport.RequestWriteData(command);
            return;
        }

        ExecuteWhenEnabled(command);
    }

    // The command takes its place in its task set now, in submission order; only its execution waits there. False when
    // it was refused (and has been answered).
    private bool EnterTaskSet(ScsiCommand command)
    {
        if (command.Device is not { } device)
        {
            return true;
        }

        TaskSet set = command.Session.TaskSetFor(device);
        if (set.AcaOwner is not null || command.Attribute == TaskAttribute.Aca)
        {
            CommandOutcome refusal = CheckAca(command, set);
            if (!refusal.IsGood)
            {
                Respond(command, refusal);
                return false;
            }
        }

        ScsiStatus admission = set.Enter(command, device.ModePages.RestrictedReordering, engine.Options.MaxCommandsPerLun, engine.Options.MaxCommandsPerDevice);
        if (admission != ScsiStatus.Good)
        {
            Respond(command, CommandOutcome.FromStatus(admission));
            return false;
        }

        return true;
    }

    // A command its device decodes (ScsiDevice.ParseType). It enters its task set at once, so that its place there is
    // the order of arrival, and asks the device. Write data the initiator sends cannot wait for the answer (a driver
    // takes it while it submits the command): it is received meanwhile into a buffer of the length the initiator
    // announced, and the command goes on when both the answer and the data are in.
    private void ParseOnDevice(ScsiCommand command, CdbParseResult proposal)
    {
        ScsiDevice device = command.Device!;
        int announced = command.ExpectedDirection == DataDirection.Write ? command.ExpectedTransferLength : 0;
        if (announced > pool.MaxBufferSize)
        {
            Respond(command, CommandOutcome.CheckCondition(SenseCode.InvalidFieldInCdb));
            return;
        }

        if (announced > 0)
        {
            command.SetDecoded(command.Decoded with { DataLength = announced, Direction = DataDirection.Write });
            CommandOutcome refusal = AttachBuffer(command, device, announced);
            if (!refusal.IsGood)
            {
                Respond(command, refusal);
                return;
            }
        }

        command.StartDeviceParse(announced > 0 ? 2 : 1);
        if (!EnterTaskSet(command))
        {
            return;
        }

        if (announced > 0)
        {
            command.State = CommandState.WaitingForData;
            command.Session.Transport.RequestWriteData(command);
        }

        ValueTask<CdbParseResult> pending;
        try
        {
            pending = device.ParseAsync(command, proposal);
        }
        catch (Exception ex)
        {
            OnDeviceParsed(command, CdbParseResult.Refuse(HandlerFault(command, ex)));
            return;
        }

        if (!pending.IsCompleted)
        {
            _ = AwaitDeviceParseAsync(command, pending);
            return;
        }

        CdbParseResult parse;
        try
        {
            parse = pending.GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            parse = CdbParseResult.Refuse(HandlerFault(command, ex));
        }

        OnDeviceParsed(command, parse);
    }

    // The device answers later: its task is awaited once, and its answer (or fault) goes on from there.
    private async Task AwaitDeviceParseAsync(ScsiCommand command, ValueTask<CdbParseResult> pending)
    {
        CdbParseResult parse;
        try
        {
            parse = await pending.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            parse = CdbParseResult.Refuse(HandlerFault(command, ex));
        }

        OnDeviceParsed(command, parse);
    }

    private void OnDeviceParsed(ScsiCommand command, in CdbParseResult parse)
    {
        command.ParseResult = parse;
        if (Interlocked.Decrement(ref command.ParseWaits) == 0)
        {
            ContinueAfterDeviceParse(command);
        }
    }

    // Both the device's decoding and the write data (if any) are in.
    private void ContinueAfterDeviceParse(ScsiCommand command)
    {
        if (command.ParseDataFailed)
        {
            Respond(command, CommandOutcome.CheckCondition(SenseCode.DataPhaseError));
            return;
        }

        CdbParseResult parse = command.ParseResult;
        CommandOutcome outcome = parse.IsAccepted ? ApplyDeviceParse(command, parse) : parse.Outcome;
        if (!outcome.IsGood)
        {
            Respond(command, outcome);
            return;
        }

        ExecuteWhenEnabled(command);
    }

    private CommandOutcome ApplyDeviceParse(ScsiCommand command, in CdbParseResult parse)
    {
        LunMapping mapping = command.Mapping!;
        if (parse.WritesMedium && (mapping.IsWriteProtected || mapping.Device.ModePages.SoftwareWriteProtect))
        {
            return CommandOutcome.CheckCondition(SenseCode.WriteProtected);
        }

        if (parse.Direction == DataDirection.Bidirectional || parse.DataLength > pool.MaxBufferSize)
        {
            return CommandOutcome.CheckCondition(SenseCode.InvalidFieldInCdb);
        }

        bool received = command.ExpectedDirection == DataDirection.Write && command.ExpectedTransferLength > 0;
        if (parse.Direction == DataDirection.Write || received)
        {
            // The data came with the command, into a buffer of the announced length: the device must want it, and no
            // more than arrived (an initiator that sent too little, or data to a command that takes none, is refused
            // without effect, as for an overflow of any command but a block transfer).
            if (parse.Direction != DataDirection.Write || parse.DataLength > command.ExpectedTransferLength)
            {
                return CommandOutcome.CheckCondition(SenseCode.InvalidFieldInInformationUnit);
            }
        }

        CdbDescriptor descriptor = command.Descriptor ?? CdbTable.DeviceDefined(command.Cdb[0]);
        command.SetDecoded(new DecodedCdb(descriptor, command.Lba, command.TransferLength, parse.DataLength, parse.Direction, command.ForceUnitAccess));
        return parse.Direction == DataDirection.Read && parse.DataLength > 0 ? AttachBuffer(command, mapping.Device, parse.DataLength) : CommandOutcome.Good;
    }

    public void OnWriteDataReceived(ScsiCommand command, bool success)
    {
        if (command.IsDeviceParsed && Volatile.Read(ref command.ParseWaits) > 0)
        {
            command.ParseDataFailed = !success;
            if (Interlocked.Decrement(ref command.ParseWaits) == 0)
            {
                ContinueAfterDeviceParse(command);
            }

            return;
        }

        if (!success)
        {
            Respond(command, CommandOutcome.CheckCondition(SenseCode.DataPhaseError));
            return;
        }

        ExecuteWhenEnabled(command);
    }

    public void OnWriteDataFailed(ScsiCommand command, SenseCode sense) => Respond(command, CommandOutcome.CheckCondition(sense));

    // SAM-5 section 5.9: under an ACA condition the faulting nexus may send one ACA command at a time and everything
    // else ends with ACA ACTIVE; an ACA command without an ACA condition is an INVALID MESSAGE ERROR.
    private static CommandOutcome CheckAca(ScsiCommand command, TaskSet set)
    {
        ScsiSession? owner = set.AcaOwner;
        if (owner is null)
        {
            return command.Attribute == TaskAttribute.Aca ? CommandOutcome.CheckCondition(SenseCode.InvalidMessageError) : CommandOutcome.Good;
        }

        return owner == command.Session && command.Attribute == TaskAttribute.Aca && !set.HasAcaCommand
            ? CommandOutcome.Good
            : CommandOutcome.FromStatus(ScsiStatus.AcaActive);
    }

    // A CHECK CONDITION establishes an ACA condition when the command's control byte has NACA set, and with the control
    // page's QERR set to 01b or 11b aborts the other commands of the task set (11b: of this nexus only).
    private static void OnCheckCondition(ScsiCommand command, ScsiDevice device)
    {
        ScsiSession session = command.Session;
        if (command.Descriptor is { } d && (command.Cdb[d.CdbLength - 1] & 0x04) != 0)
        {
            (command.TaskSet ?? session.TaskSetFor(device)).EstablishAca(session);
        }

        int qerr = device.ModePages.QueueErrorManagement;
        if (qerr == 1 && device.SingleTaskSet)
        {
            session.Engine.AbortTaskSetAfterError(device, command);
        }
        else if (qerr is 1 or 3)
        {
            session.AbortLunTasks(command.Lun, byAnotherNexus: false, except: command);
        }
    }

    // A command that its task set does not enable yet is parked there; the task set hands it back when an older
    // command leaves (see Respond).
    private void ExecuteWhenEnabled(ScsiCommand command)
    {
        if (command.TaskSet is { } set && !set.TryExecute(command))
        {
            return;
        }

        Execute(command);
    }

    /// <summary>
    /// Ends an aborted command that waits in its task set with everything it needs (it would otherwise wait for the
    /// commands ahead of it). A command in any other state ends through its usual path.
    /// </summary>
    public void EndIfParked(ScsiCommand command)
    {
        if (command.TaskSet is not { } set)
        {
            return;
        }

        ReadyList ready = default;
        if (set.TryRemoveParked(command, ref ready))
        {
            Respond(command, CommandOutcome.CheckCondition(SenseCode.CommandAborted));
        }

        ExecuteAll(ready);
    }

    private CommandOutcome Prepare(ScsiCommand command, out bool deviceParses, out CdbParseResult proposal)
    {
        deviceParses = false;
        proposal = default;
        ScsiSession session = command.Session;
        int lun = LunAddress.Decode(command.Lun);
        LunMapping? mapping = lun < 0 ? null : session.Luns.Find(lun);
        command.SetTarget(mapping);
        ScsiDevice? device = mapping?.Device;

        CdbDecodeResult result = CdbTable.TryDecode(command.Cdb, device?.BlockSize ?? 512, out DecodedCdb decoded);
        if (device is null && (result != CdbDecodeResult.Ok || (decoded.Descriptor.Flags & CdbFlags.AllowedWithoutLun) == 0))
        {
            engine.PublishLunNotFound(command.Lun, session);
            return CommandOutcome.CheckCondition(SenseCode.LunNotSupported);
        }

        // Unit attention (SAM-5 section 5.14): the oldest pending condition ends any command but INQUIRY, REPORT LUNS
        // and REQUEST SENSE (and, on a CD/DVD unit, MMC's GET CONFIGURATION and GET EVENT STATUS NOTIFICATION). Nothing is
        // pending almost always, and that costs one volatile read. RESERVATION CONFLICT is the higher priority status
        // (SAM; SCST checks reservations before unit attentions): a command that conflicts with another nexus's
        // reservation ends with it, and the condition stays for the nexus's next command that does not, so that a
        // preempted initiator's writes are refused as conflicts, the first one included.
        if (session.HasPendingUnitAttention && device is not null &&
            (result != CdbDecodeResult.Ok || (decoded.Descriptor.Flags & CdbFlags.SkipsUnitAttention) == 0 ||
             !decoded.Descriptor.AppliesTo(device.DeviceType)) &&
            !(result == CdbDecodeResult.Ok && device.Reservations.Conflicts(command)) &&
            session.TryTakeUnitAttention(lun, out SenseCode attention))
        {
            return CommandOutcome.CheckCondition(attention);
        }

        // ALUA (SPC-4 section 5.15.2.4): through a target port group in standby, unavailable, offline or transitioning
        // state only the commands of its list run. A device in no device group costs one volatile read.
        if (device?.DeviceGroup is { } deviceGroup && command.Cdb.Length > 0 &&
            deviceGroup.TargetGroupOf(session.Target.Name) is { } targetGroup &&
            AccessStateGate.Refuses(targetGroup.State, command.Cdb, out SenseCode notAccessible))
        {
            return CommandOutcome.CheckCondition(notAccessible);
        }

        CommandOutcome refusal = result switch
        {
            CdbDecodeResult.UnknownOpcode or CdbDecodeResult.TooShort => CommandOutcome.CheckCondition(SenseCode.InvalidOpcode),
            CdbDecodeResult.InvalidServiceAction => CommandOutcome.InvalidFieldInCdb(1, 4),
            CdbDecodeResult.TransferTooLong => CommandOutcome.InvalidFieldInCdb(CdbTable.Find(command.Cdb)!.LengthOffset),
            _ => CommandOutcome.Good,
        };

        if (result == CdbDecodeResult.Ok && device is not null && !CdbTable.IsSupported(decoded.Descriptor, device))
        {
            refusal = CommandOutcome.CheckCondition(SenseCode.InvalidOpcode);
        }

        if (device is not null && device.ParseType != DeviceParseType.Standard && result != CdbDecodeResult.TransferTooLong &&
            (!refusal.IsGood || (device.ParseType == DeviceParseType.Call && DecodesInCallMode(decoded.Descriptor, device))))
        {
            return PrepareDeviceParse(command, device, result == CdbDecodeResult.Ok ? decoded : null, refusal, out deviceParses, out proposal);
        }

        if (!refusal.IsGood)
        {
            return refusal;
        }

        command.SetDecoded(decoded);
        CdbDescriptor d = decoded.Descriptor;

        // Reservations held by another I_T nexus (SPC-2 RESERVE, SPC-4 persistent reservations): nothing is reserved
        // almost always, and that costs one volatile read.
        if (device is not null && device.Reservations.Conflicts(command))
        {
            return CommandOutcome.FromStatus(ScsiStatus.ReservationConflict);
        }

        if (device is { MediumPresent: false } && (d.Flags & CdbFlags.BlockCommand) != 0 && (d.Flags & CdbFlags.WorksWithoutMedium) == 0)
        {
            return CommandOutcome.CheckCondition(SenseCode.MediumNotPresent);
        }

        // A sanitize operation running (NOT READY, with its progress) or failed (its failure mode). One volatile read
        // when no sanitize is in the picture.
        if (device is BlockDevice { Sanitize: { } sanitize } && sanitize.Refuses(d, out CommandOutcome sanitizing))
        {
            return sanitizing;
        }

        if (device is BlockDevice block && d.Unit is not (TransferLengthUnit.None or TransferLengthUnit.Bytes or TransferLengthUnit.Fixed) &&
            BlockDevice.NeedsRangeCheck(d) && !block.IsInRange(decoded.Lba, decoded.TransferLength))
        {
            return CommandOutcome.CheckCondition(SenseCode.LbaOutOfRange);
        }

        // After the LBA check, as SCST orders them: a write beyond the end is LBA OUT OF RANGE even on a read-only LU.
        if (mapping is not null && (d.Flags & CdbFlags.WritesMedium) != 0 && (mapping.IsWriteProtected || mapping.Device.ModePages.SoftwareWriteProtect))
        {
            return CommandOutcome.CheckCondition(SenseCode.WriteProtected);
        }

        if (decoded.DataLength > pool.MaxBufferSize)
        {
            if (d.Unit != TransferLengthUnit.Bytes || d.Direction != DataDirection.Read)
            {
                return CommandOutcome.InvalidFieldInCdb(d.LengthOffset);
            }

            // An allocation length larger than any response is cut to what the core can return.
            decoded = decoded with { DataLength = pool.MaxBufferSize };
            command.SetDecoded(decoded);
        }

        return decoded.DataLength > 0 ? AttachBuffer(command, device, decoded.DataLength) : CommandOutcome.Good;
    }

    // With CALL the device decodes what the core does not own, and a device of a type other than disk its mode pages too
    // (MODE SENSE, MODE SELECT): the core's pages are those of a disk.
    private static bool DecodesInCallMode(CdbDescriptor d, ScsiDevice device) =>
        (d.Flags & CdbFlags.CoreOwned) == 0 || (device is not BlockDevice && d.Opcode is 0x15 or 0x1A or 0x55 or 0x5A);

    // The device decodes the command. The core's own decoding, when its table has the command, is the proposal, and
    // so is its refusal when it has not; the reservation check, which needs only the CDB, is made now.
    private static CommandOutcome PrepareDeviceParse(
        ScsiCommand command, ScsiDevice device, DecodedCdb? known, in CommandOutcome refusal, out bool deviceParses, out CdbParseResult proposal)
    {
        deviceParses = false;
        proposal = default;
        if (command.Cdb.Length == 0)
        {
            return CommandOutcome.CheckCondition(SenseCode.InvalidOpcode);
        }

        if (known is { } k && refusal.IsGood)
        {
            proposal = CdbParseResult.Accept(k.Direction, k.DataLength, (k.Descriptor.Flags & CdbFlags.WritesMedium) != 0);
            command.SetDecoded(k with { DataLength = 0, Direction = DataDirection.None });
        }
        else
        {
            proposal = CdbParseResult.Refuse(refusal);
            command.SetDecoded(new DecodedCdb(CdbTable.DeviceDefined(command.Cdb[0]), 0, 0, 0, DataDirection.None, false));
        }

        if (device.Reservations.Conflicts(command))
        {
            return CommandOutcome.FromStatus(ScsiStatus.ReservationConflict);
        }

        deviceParses = true;
        return CommandOutcome.Good;
    }

    // The command's data buffer: from the device when it supplies its commands' buffers (shared memory with a device
    // process; none free is BUSY), else from the core's pool within the buffer-memory cap.
    private CommandOutcome AttachBuffer(ScsiCommand command, ScsiDevice? device, int length)
    {
        if (device?.BufferSource is { } source)
        {
            if (source.Rent(length) is not { } slot)
            {
                return CommandOutcome.FromStatus(ScsiStatus.Busy);
            }

            command.AttachBuffer(slot, source);
            return CommandOutcome.Good;
        }

        if (pool.TryRent(length) is not { } buffer)
        {
            return CommandOutcome.FromStatus(ScsiStatus.Busy); // the data-buffer memory cap: the initiator retries
        }

        command.AttachBuffer(buffer, null);
        return CommandOutcome.Good;
    }

    private void Execute(ScsiCommand command)
    {
        if (command.IsAborted)
        {
            Respond(command, CommandOutcome.CheckCondition(SenseCode.CommandAborted));
            return;
        }

        if (command.Direction == DataDirection.Write && command.ExpectedTransferLength < command.DataLength)
        {
            // FCP-4 / RFC 7143: the initiator sent fewer bytes than the CDB names. A block command writes the whole
            // blocks it did send and reports the overflow residual; any other command is refused without effect.
            if (command.Descriptor!.Unit != TransferLengthUnit.Blocks || command.Device is not BlockDevice block)
            {
                Respond(command, CommandOutcome.CheckCondition(SenseCode.InvalidFieldInInformationUnit));
                return;
            }

            command.TruncateExecution(command.ExpectedTransferLength / block.BlockSize * block.BlockSize);
        }

        command.State = CommandState.Executing;
        ValueTask<CommandOutcome> pending;
        try
        {
            pending = ((command.Descriptor!.Flags & CdbFlags.CoreOwned) != 0 && !command.IsDeviceParsed) || command.Device is null
                ? SpcCommands.ExecuteAsync(command, engine)
                : command.Device.ExecuteAsync(command);
        }
        catch (Exception ex)
        {
            Respond(command, HandlerFault(command, ex));
            return;
        }

        if (pending.IsCompleted)
        {
            CompleteExecution(command, pending.ConfigureAwait(false).GetAwaiter());
        }
        else
        {
            command.AwaitExecution(pending);
        }
    }

    public void CompleteExecution(ScsiCommand command, ConfiguredValueTaskAwaitable<CommandOutcome>.ConfiguredValueTaskAwaiter awaiter)
    {
        CommandOutcome outcome;
        try
        {
            outcome = awaiter.GetResult();
        }
        catch (Exception ex)
        {
            outcome = HandlerFault(command, ex);
        }

        Respond(command, outcome);
    }

    private CommandOutcome HandlerFault(ScsiCommand command, Exception ex)
    {
        Log.HandlerFault(logger, command.Device?.Name ?? "(core)", command.Cdb[0], ex);
        return CommandOutcome.CheckCondition(SenseCode.InternalTargetFailure);
    }

    private void Respond(ScsiCommand command, in CommandOutcome outcome)
    {
        command.Finish(outcome, command.Device?.DescriptorSense ?? false);
        if (outcome.Status == ScsiStatus.CheckCondition && command.Device is { } device && !command.IsAborted)
        {
            OnCheckCondition(command, device);
        }

        // Leave the task set before the driver sees the command: once it has the response, it may release the command.
        ReadyList ready = default;
        command.TaskSet?.Leave(command, ref ready);
        if (command.IsAborted)
        {
            engine.Metrics.Aborted(command.Session);
        }

        if (command.IsAborted && command.AbortedByAnotherNexus && command.Device is { ModePages.TaskAbortedStatus: true })
        {
            // SAM-5 section 5.6: with TAS set, a command that another nexus's actions aborted ends with TASK ABORTED.
            command.Finish(CommandOutcome.FromStatus(ScsiStatus.TaskAborted), false);
            command.State = CommandState.Responding;
            command.Session.Transport.SendResponse(command);
        }
        else if (command.IsAborted)
        {
            command.State = CommandState.Aborting;
            command.Session.Transport.OnCommandAborted(command);
        }
        else
        {
            command.State = CommandState.Responding;
            command.Session.Transport.SendResponse(command);
        }

        ExecuteAll(ready);
    }

    // Commands a task set enabled when an older one left. A chain of commands that each complete synchronously recurses
    // here once per command, bounded by the task set's depth.
    internal void ExecuteAll(in ReadyList ready)
    {
        for (int i = 0; i < ready.Count; i++)
        {
            Execute(ready[i]);
        }
    }

    /// <summary>
    /// Marks a command aborted; the caller holds the session lock. Returns the source of a task that completes when the command is
    /// released: an aborted command gets no response (<see cref="ISessionTransport.OnCommandAborted"/> instead), unless
    /// its response was already on its way, or another nexus's function aborted it and the control page's TAS bit asks
    /// for TASK ABORTED status.
    /// </summary>
    public static TaskCompletionSource MarkAborted(ScsiCommand command, bool byAnotherNexus)
    {
        if (command.AbortWaiter is { } existing)
        {
            return existing;
        }

        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        command.AbortWaiter = waiter;
        command.AbortedByAnotherNexus = byAnotherNexus;
        command.MarkAborted();
        return waiter;
    }
}
